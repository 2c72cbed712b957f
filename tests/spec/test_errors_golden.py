"""Error cases as golden files: tests/golden/errors/<case>/services/ -> expected.txt.

Each case runs `shipspec build` and must fail with exit status 1, print exactly the
expected diagnostics (file:line:col, field path, message), never a traceback, and
leave generated/ byte-identical. Regenerate with `pytest --update-golden` and review
the diff.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from support.cli import REPO, run_cli

CASES = REPO / "tests" / "golden" / "errors"


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "generated").rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_error_case(case, tmp_path, update_golden):
    src = CASES / case
    shutil.copytree(src / "services", tmp_path / "services")
    (tmp_path / "generated" / "keep").mkdir(parents=True)
    (tmp_path / "generated" / "keep" / "file.txt").write_text("previous build\n")
    before = _snapshot(tmp_path)

    result = run_cli("build", root=tmp_path)

    assert result.status == 1, result.err
    assert "Traceback" not in result.err + result.out
    assert _snapshot(tmp_path) == before, "a failed build must not touch generated/"
    expected = src / "expected.txt"
    if update_golden:
        expected.write_text(result.err)
    assert result.err == expected.read_text()
    for line in result.err.splitlines()[:-1]:
        assert line.startswith("services/"), line
        file, lineno, col, rest = line.split(":", 3)
        assert int(lineno) >= 1 and int(col) >= 1
        assert rest.startswith(" error: ")


@pytest.mark.parametrize("case", ["unknown-keys", "bad-enum"])
def test_error_formats(case, tmp_path):
    shutil.copytree(CASES / case / "services", tmp_path / "services")
    text = run_cli("validate", root=tmp_path)
    as_json = run_cli("validate", "--format", "json", root=tmp_path)
    github = run_cli("validate", "--format", "github", root=tmp_path)
    assert text.status == as_json.status == github.status == 1
    errors = json.loads(as_json.out)
    assert len(errors) == len(text.err.splitlines()) - 1
    assert {"file", "line", "col", "path", "message", "severity"} <= set(errors[0])
    annotations = github.err.splitlines()[:-1]
    assert len(annotations) == len(errors)
    for ann, err in zip(annotations, errors):
        assert ann.startswith(f"::error file={err['file']},line={err['line']},col={err['col']}::")
        assert err["path"] in ann
