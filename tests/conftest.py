"""Shared test set-up: no test may reach real AWS, and a few small helpers."""

from __future__ import annotations

import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Fake credentials and no profile: whatever a test forgets, it cannot reach a real account.
for _key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_key, None)
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
})
os.environ.pop("GITHUB_ACTIONS", None)


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite the expected files of golden tests from the current output")


@pytest.fixture
def update_golden(request) -> bool:
    return bool(request.config.getoption("--update-golden") or os.environ.get("SHIPSPEC_UPDATE_GOLDEN"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@dataclass
class CliResult:
    status: int
    out: str
    err: str


def run_cli(*args: str, root: Path | None = None) -> CliResult:
    """Run the CLI in-process, capturing what it prints."""
    from compiler.cli.main import main
    from compiler.cli.console import Console

    out, err = io.StringIO(), io.StringIO()
    argv = (["--root", str(root)] if root else []) + list(args)
    status = main(argv, console=Console(out=out, err=err))
    return CliResult(status, out.getvalue(), err.getvalue())


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def example_repo(tmp_path) -> Path:
    """A scratch copy of the repository's specs, schema and generated tree."""
    for d in ("services", "schema", "generated"):
        if (REPO / d).exists():
            shutil.copytree(REPO / d, tmp_path / d)
    return tmp_path
