"""Start-up stays light: `--help`, `validate` and `build` never import boto3, moto or cfn-lint
(checked in a real `python -m compiler` subprocess, from its -X importtime record)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import REPO as ROOT

HEAVY = ("boto3", "botocore", "moto", "cfnlint", "s3transfer", "jsonschema", "networkx", "samtranslator")


def imported_modules(args: list[str], cwd: Path) -> tuple[set[str], subprocess.CompletedProcess]:
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "compiler", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120)
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    names.discard("package")  # the header line
    return names, proc


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("startup")
    shutil.copytree(ROOT / "services", root / "services")
    return root


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["validate", "photo-thumbs"], ["validate"],
                                  ["build"], ["build"]], ids=["help", "version", "validate-one", "validate-all",
                                                              "build-cold", "build-warm"])
def test_no_aws_or_lint_libraries_at_start_up(repo, args):
    names, proc = imported_modules(args, repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert "compiler.cli.main" in names, "the import record is empty: the check would pass vacuously"
    heavy = sorted(n for n in names if n.split(".")[0] in HEAVY)
    assert not heavy, f"`shipspec {' '.join(args)}` imported {heavy[:10]}"
    assert "compiler.local.seed" not in names, "building the parser imported local seed (its --broken choices)"


def test_the_import_record_does_see_heavy_modules(repo):
    """The check above can fail: a command that does need cfn-lint shows up in the record."""
    code = "import cfnlint.runner"
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                          timeout=120)
    names = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "cfnlint.runner" in names


# what a no-op build proves without (compiler/build/uptodate.py): validation, the models, rendering
VALIDATE_OR_RENDER = ("pydantic", "pydantic_core", "yaml", "compiler.spec.models", "compiler.spec.project",
                      "compiler.spec.checks", "compiler.spec.fleet", "compiler.build.compile",
                      "compiler.build.incremental", "compiler.build.render", "compiler.build.prerender")


def _validating_or_rendering(names: set[str]) -> list[str]:
    return sorted(n for n in names if any(n == m or n.startswith(m + ".") for m in VALIDATE_OR_RENDER))


def test_no_op_build_imports_neither_validation_nor_rendering(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "services", repo / "services")
    names, proc = imported_modules(["build"], repo)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "compiler.spec.models" in names and "compiler.build.render.cfn" in names  # a cold build does
    for _ in range(2):  # right after the build (its files hashed), then trusting their stat
        names, proc = imported_modules(["build"], repo)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "compiler.cli.main" in names and "generated/ is up to date" in proc.stderr
        assert not _validating_or_rendering(names), _validating_or_rendering(names)
    spec = sorted((repo / "services").glob("[!_]*.yaml"))[0]
    spec.write_text(spec.read_text() + "\n# a change\n")
    names, proc = imported_modules(["build"], repo)
    assert proc.returncode == 0 and "compiler.spec.models" in names, "a changed spec was not validated again"
