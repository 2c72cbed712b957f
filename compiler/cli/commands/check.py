"""Exit 1, listing each stale, missing or orphaned file, when generated/, schema/ or the README's
generated references are not what `shipspec build` and `shipspec schema` would write.

Read-only: it never writes generated/. A journal an interrupted build left behind is reported
(run `shipspec build` to finish it), and so is a build running right now."""

from __future__ import annotations

from ._common import add_diag_format

HELP = "check generated/ and schema/ are current (for CI)"


def configure(p) -> None:
    add_diag_format(p)


def run(args, console) -> int:
    from ...build.compile import compile_project
    from ...build.ir import Artifact
    from ...build.writer import diff_tree, interrupted
    from ...spec.project import load_project
    from ...spec.schema import SCHEMA_PATH, schema_bytes
    from ..docs import README, update_readme

    busy = interrupted(console.root)
    if busy:
        console.error(f"error: {busy}; generated/ was not checked")
        return 1
    project = load_project(console.root)
    output = compile_project(project)
    problems = diff_tree(console.root, output.artifacts).lines()
    problems += diff_tree(console.root, [Artifact(SCHEMA_PATH, schema_bytes())], top="schema").lines()
    readme = console.root / README
    if readme.exists():
        text = readme.read_text(encoding="utf-8")
        if update_readme(text) != text:
            problems.append(f"stale    {README} (generated reference sections)")
    if problems:
        for line in problems:
            console.print(line)
        console.error(f"{len(problems)} file(s) differ: run `shipspec build` and `shipspec schema`, "
                      "review the diff, and commit it")
        return 1
    console.error("generated/ and schema/ are current")
    return 0
