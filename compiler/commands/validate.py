"""Validate service specs; report every error at file:line:col."""

from __future__ import annotations

from ._common import add_diag_format, add_names

HELP = "validate specs (no files written)"


def configure(p) -> None:
    add_names(p)
    add_diag_format(p)


def run(args, console) -> int:
    from ..validate import load_project

    project = load_project(console.root, args.names)
    pairs = len(project.services)
    names = len(project.names())
    if args.format == "json":
        console.print("[]")
    else:
        console.error(f"{names} service{'s' if names != 1 else ''}, {pairs} environment"
                      f"{'s' if pairs != 1 else ''}: valid")
    return 0
