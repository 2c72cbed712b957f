"""Validate service specs; report every error at file:line:col."""

from __future__ import annotations

import json

from ._common import add_diag_format, add_names, print_warnings

HELP = "validate specs (no files written)"


def configure(p) -> None:
    add_names(p)
    add_diag_format(p)
    p.add_argument("--no-cache", action="store_true",
                   help="validate every spec again, ignoring .shipspec/cache/ (same result)")


def run(args, console) -> int:
    from ...build.incremental import Session

    session = Session.open(console.root, enabled=not args.no_cache)
    project = session.load_project(args.names)
    session.save()
    pairs = len(project.services)
    names = len(project.names())
    if args.format == "json":
        console.print(json.dumps([d.as_dict() for d in project.warnings], indent=2) if project.warnings else "[]")
    else:
        print_warnings(console, args, project)
        console.error(f"{names} service{'s' if names != 1 else ''}, {pairs} environment"
                      f"{'s' if pairs != 1 else ''}: valid")
    return 0
