"""Shared test set-up: no test may reach real AWS; the golden-update flag, the `slow` marker and a
few fixtures. Support code lives in tests/support/."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from support.cli import REPO, run_cli

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
