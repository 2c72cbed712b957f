"""Exit 1, listing each stale, missing or orphaned file, when generated/, schema/ or the README's
generated references are not what `shipspec build` and `shipspec schema` would write.

Read-only: it never writes generated/. A journal an interrupted build left behind is reported
(run `shipspec build` to finish it), and so is a build running right now."""

from __future__ import annotations

from ._common import add_diag_format

HELP = "check generated/ and schema/ are current (for CI)"

_BUILD = "run `shipspec build`"
_SCHEMA = "run `shipspec schema`"
_WHAT = {
    "missing": "{cmd} would write this file but it is not there; {fix}, review the diff and commit it",
    "stale": "differs from what {cmd} writes; {fix}, review the diff and commit it",
    "orphaned": "no spec produces this file any more; {fix} (it removes the file) and commit the removal",
}


def configure(p) -> None:
    add_diag_format(p)


def _problem(status: str, path: str, fix: str):
    from ...core.diagnostics import Diagnostic, Location

    cmd = "`shipspec build`" if fix == _BUILD else "`shipspec schema`"
    return Diagnostic(Location(path), f"{status}: " + _WHAT[status].format(cmd=cmd, fix=fix))


def run(args, console) -> int:
    from ...build.compile import compile_project
    from ...build.ir import Artifact
    from ...build.writer import diff_tree, interrupted
    from ...core.diagnostics import format_diagnostics
    from ...spec.project import load_project
    from ...spec.schema import SCHEMA_PATH, schema_bytes
    from ..docs import README, update_readme
    from ..main import diagnostics_format

    busy = interrupted(console.root)
    if busy:
        console.error(f"error: {busy}; generated/ was not checked")
        return 1
    project = load_project(console.root)
    output = compile_project(project)
    problems = []  # (text line, diagnostic)
    for diff, fix in ((diff_tree(console.root, output.artifacts), _BUILD),
                      (diff_tree(console.root, [Artifact(SCHEMA_PATH, schema_bytes())], top="schema"), _SCHEMA)):
        for status, paths in (("missing", diff.added), ("stale", diff.changed), ("orphaned", diff.removed)):
            problems += [(f"{status:<8} {p}", _problem(status, p, fix)) for p in paths]
    readme = console.root / README
    if readme.exists():
        text = readme.read_text(encoding="utf-8")
        if update_readme(text) != text:
            problems.append((f"stale    {README} (generated reference sections)", _problem("stale", README, _SCHEMA)))
    fmt = diagnostics_format(args)
    if fmt == "json":
        console.print(format_diagnostics([d for _, d in problems], "json"))
    elif problems:
        if fmt == "github":  # annotations on the files, for the pull request
            console.error(format_diagnostics([d for _, d in problems], "github"))
        else:
            for line, _ in problems:
                console.print(line)
    if problems:
        console.error(f"{len(problems)} file(s) differ: run `shipspec build` and `shipspec schema`, "
                      "review the diff, and commit it")
        return 1
    if fmt != "json":
        console.error("generated/ and schema/ are current")
    return 0
