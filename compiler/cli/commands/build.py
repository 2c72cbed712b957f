"""Generate every artifact into generated/ (validates first; writes nothing if invalid)."""

from __future__ import annotations

from ._common import add_diag_format, print_warnings

HELP = "generate generated/ from the specs"


def configure(p) -> None:
    add_diag_format(p)
    p.add_argument("--no-cache", action="store_true",
                   help="validate and render every spec again, ignoring .shipspec/cache/ (same output)")


def run(args, console) -> int:
    from ...build.compile import compile_project
    from ...build.incremental import Session
    from ...build.writer import write_tree

    session = Session.open(console.root, enabled=not args.no_cache, will_render=True)
    project = session.load_project()
    print_warnings(console, args, project)
    output = compile_project(project)  # unchanged services' files come from the session
    diff = write_tree(console.root, output.artifacts, frozenset(session.on_disk))
    session.save()
    if diff.clean:
        console.error(f"generated/ is up to date ({len(output.artifacts)} files)")
    else:
        for line in diff.lines():
            console.error(line.replace("missing ", "added   ").replace("stale   ", "updated ")
                          .replace("orphaned", "removed "))
        console.error(f"{len(diff.added)} added, {len(diff.changed)} updated, {len(diff.removed)} removed "
                      f"({len(output.artifacts)} files)")
    return 0
