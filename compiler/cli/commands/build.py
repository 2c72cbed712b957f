"""Generate every artifact into generated/ (validates first; writes nothing if invalid)."""

from __future__ import annotations

from ._common import add_diag_format, print_warnings

HELP = "generate generated/ from the specs"


def configure(p) -> None:
    add_diag_format(p)
    p.add_argument("--no-cache", action="store_true",
                   help="validate and render every spec again, ignoring .shipspec/cache/ (same output)")


def run(args, console) -> int:
    from ...build.gc_pause import paused

    with paused():  # no cycle collection while building (compiler/build/gc_pause.py)
        return _run(args, console)


def _run(args, console) -> int:
    from ...build import cache, uptodate

    cached = not args.no_cache and not cache.disabled_by_env()
    inputs = uptodate.read_inputs(console.root) if cached else None
    if inputs is not None:
        done = uptodate.check(console.root, inputs.key)  # nothing changed: no validation, no rendering
        if done is not None:
            print_warnings(console, args, done)
            console.error(f"generated/ is up to date ({done.files} files)")
            return 0
    return _build(args, console, inputs)


def _build(args, console, inputs) -> int:
    from ...build import uptodate
    from ...build.writer import write_tree

    delta = None
    if inputs is not None:  # a few specs changed since the last build: only they are built again
        from ...build.delta import try_delta

        delta = try_delta(console.root, inputs)
    if delta is not None:
        print_warnings(console, args, delta)
        artifacts = delta.artifacts
        diff = write_tree(console.root, artifacts, delta.on_disk)
        uptodate.record(console.root, inputs.key, ((a.path, a.sha256) for a in artifacts),
                        delta.spec_warnings, known=delta.known, state=delta.state)
    else:
        artifacts, diff = _full_build(args, console, inputs)
    if diff.clean:
        console.error(f"generated/ is up to date ({len(artifacts)} files)")
    else:
        for line in diff.lines():
            console.error(line.replace("missing ", "added   ").replace("stale   ", "updated ")
                          .replace("orphaned", "removed "))
        console.error(f"{len(diff.added)} added, {len(diff.changed)} updated, {len(diff.removed)} removed "
                      f"({len(artifacts)} files)")
    return 0


def _full_build(args, console, inputs):
    """Validate every spec (unchanged ones from the cache) and render what changed."""
    from ...build import uptodate
    from ...build.compile import compile_project, lambda_files
    from ...build.incremental import Session
    from ...build.prerender import spool_folder
    from ...build.writer import write_tree

    with spool_folder(console.root) as spool:  # rendered bytes wait on disk, not in memory
        session = Session.open(console.root, enabled=not args.no_cache, will_render=True, spool=spool,
                               hold_bytes=False, inputs=inputs)  # the bytes the check read
        project = session.load_project()
        print_warnings(console, args, project)
        output = compile_project(project)  # unchanged services' files come from the session
        diff = write_tree(console.root, output.artifacts, frozenset(session.on_disk))
    session.save()
    if inputs is not None and session.built_from(inputs):  # what it built is what the key names
        uptodate.record(console.root, inputs.key, ((a.path, a.sha256) for a in output.artifacts),
                        (w for s in project.services for w in s.warnings), known=session.known,
                        state=session.state(project, lambda_files()[1]))
    return output.artifacts, diff
