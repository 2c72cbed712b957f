"""Spec -> generated files, as golden files: tests/golden/output/<case>/services/ is the input,
tests/golden/output/<case>/generated/ the expected output, byte for byte. The repository's own
examples are a case too: their golden output is the committed generated/ (see test_build.py).
Regenerate with `pytest --update-golden` and review the diff like any other change."""

from __future__ import annotations

import shutil

import pytest

from compiler.build.compile import compile_project
from compiler.spec.project import load_project
from support.cli import REPO

CASES = REPO / "tests" / "golden" / "output"


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_output_case(case, update_golden):
    root = CASES / case
    output = compile_project(load_project(root))
    got = {a.path: a.content for a in output.artifacts if not a.path.startswith("generated/_lambda/")}
    expected_dir = root / "generated"
    if update_golden:
        shutil.rmtree(expected_dir, ignore_errors=True)
        for path, content in got.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    expected = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(expected_dir.rglob("*")) if p.is_file()}
    assert sorted(got) == sorted(expected)
    for path in expected:
        assert got[path] == expected[path], f"{case}: {path} differs from the golden file (review, then --update-golden)"


@pytest.mark.slow
def test_golden_outputs_lint_clean():
    """cfn-lint and our own rules find nothing in any golden case's templates and buildspecs."""
    from compiler.lint.engine import lint_output

    for case in sorted(p for p in CASES.iterdir() if p.is_dir()):
        report = lint_output(compile_project(load_project(case)), jobs=1)
        assert report.templates >= 3
        assert report.diagnostics == (), f"{case.name}: " + "\n".join(d.render() for d in report.diagnostics)
