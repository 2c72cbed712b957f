"""Every package in the project's environment is pinned by constraints.txt, at the installed version."""

from __future__ import annotations

import re
from importlib import metadata

import pytest

UNPINNED = {"shipspec", "pip", "setuptools", "wheel"}  # the project itself and the installers


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_constraints_pin_every_installed_package(repo_root):
    pins = {}
    for line in (repo_root / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            pins[_norm(name)] = version
    installed = {_norm(d.metadata["Name"]): d.version for d in metadata.distributions()}
    if "shipspec" not in installed:
        pytest.skip("not running in the project's environment")
    missing = sorted(set(installed) - set(pins) - UNPINNED)
    assert not missing, f"installed but not pinned in constraints.txt: {missing}"
    wrong = {n: (v, pins[n]) for n, v in installed.items() if n in pins and pins[n] != v}
    assert not wrong, f"installed versions differ from constraints.txt: {wrong}"
