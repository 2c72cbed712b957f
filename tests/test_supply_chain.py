"""Every package in the project's environment is pinned by constraints.txt, at the installed version
and with the sha256 of the file pip installs; checkov's environment likewise; and every install
(the Makefile, the workflows) checks those hashes."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest

UNPINNED = {"shipspec", "pip", "wheel"}  # the project itself and the installer of the venv
HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of a requirements file (lines continued with a backslash)."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        spec, *options = line.split()
        name, _, version = spec.partition("==")
        assert version, f"{path.name}: {spec!r} is not pinned with =="
        out[_norm(name)] = (version, options)
    return out


@pytest.mark.parametrize("name", ["constraints.txt", "checkov-requirements.txt"])
def test_every_pin_carries_a_sha256(repo_root, name):
    found = pins(repo_root / name)
    assert found
    for pkg, (_version, options) in found.items():
        assert options and all(HASH.match(o) for o in options), f"{name}: {pkg} has no --hash=sha256:..."


def test_constraints_pin_every_installed_package(repo_root):
    found = {n: v for n, (v, _h) in pins(repo_root / "constraints.txt").items()}
    installed = {_norm(d.metadata["Name"]): d.version for d in metadata.distributions()}
    if "shipspec" not in installed:
        pytest.skip("not running in the project's environment")
    missing = sorted(set(installed) - set(found) - UNPINNED)
    assert not missing, f"installed but not pinned in constraints.txt: {missing}"
    wrong = {n: (v, found[n]) for n, v in installed.items() if n in found and found[n] != v}
    assert not wrong, f"installed versions differ from constraints.txt: {wrong}"


def test_every_install_checks_the_hashes(repo_root):
    make = (repo_root / "Makefile").read_text()
    assert "install --require-hashes --no-deps -r constraints.txt" in make
    assert "--require-hashes -r checkov-requirements.txt" in make
    # shipspec itself: nothing resolved or downloaded (no build isolation: setuptools is pinned above)
    assert "install --no-deps --no-build-isolation -e '.[dev]'" in make and "$(PIP) check" in make
    installs = [line.strip() for wf in sorted((repo_root / ".github" / "workflows").glob("*.yml"))
                for line in wf.read_text().splitlines() if "pip install" in line]
    assert installs, "the workflows install shipspec somewhere"
    for line in installs:
        assert "--require-hashes" in line or "--no-deps --no-build-isolation -e ." in line, line
