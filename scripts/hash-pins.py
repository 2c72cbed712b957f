#!/usr/bin/env python3
"""Add the sha256 of each pinned package to a requirements file, from the files pip downloads.

    .venv/bin/python scripts/hash-pins.py constraints.txt
    .venv/bin/python scripts/hash-pins.py checkov-requirements.txt

For every `name==version` line it runs `pip download --no-deps` against the configured index --
for this machine (the files `pip install` picks here) and for every target of TARGETS (CPython
3.10-3.13 on Linux x86-64/aarch64 and macOS x86-64/arm64), so `make` works on those too -- and
writes the line back as `name==version --hash=sha256:...`, one hash per distinct file. A target
the index has no file for is skipped with a note. Comments and order are kept. The Makefile
installs these files with `pip install --require-hashes`, so a file on the index that changed after
it was pinned is refused. Run it after changing a pin, and review the diff.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_28_aarch64", "macosx_11_0_x86_64", "macosx_11_0_arm64")
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
TARGETS = tuple(itertools.product(PLATFORMS, PYTHONS))


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _download(pins: list[tuple[str, str]], dest: Path, target: tuple[str, str] | None = None) -> bool:
    args = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(dest)]
    if target:
        args += ["--platform", target[0], "--python-version", target[1], "--only-binary=:all:"]
    args += [f"{n}=={v}" for n, v in pins]
    return subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def _files(dest: Path) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in sorted(dest.iterdir()):
        name = re.split(r"-\d", f.name, maxsplit=1)[0]
        out.setdefault(_norm(name), set()).add(hashlib.sha256(f.read_bytes()).hexdigest())
    return out


def _hashes(pins: list[tuple[str, str]]) -> dict[str, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        here = Path(tmp) / "here"
        if not _download(pins, here):
            raise SystemExit("pip download failed for this machine; fix the pins first")
        hashes = _files(here)
        pure = {n for n in hashes if all(f.endswith("-none-any.whl") for f in _names(here, n))}
        for i, target in enumerate(TARGETS):
            for name, version in pins:
                if _norm(name) in pure:
                    continue
                dest = Path(tmp) / f"t{i}-{_norm(name)}"
                if _download([(name, version)], dest, target):
                    for n, digests in _files(dest).items():
                        hashes.setdefault(n, set()).update(digests)
                else:
                    sys.stderr.write(f"note: no {name}=={version} for {target[0]} Python {target[1]}\n")
        return {n: sorted(d) for n, d in hashes.items()}


def _names(dest: Path, norm_name: str) -> list[str]:
    return [f.name for f in dest.iterdir() if _norm(re.split(r"-\d", f.name, maxsplit=1)[0]) == norm_name]


def main(path: str) -> int:
    file = Path(path)
    lines = file.read_text().splitlines()
    pins = [(m.group(1), m.group(2)) for m in map(PIN.match, lines) if m]
    hashes = _hashes(pins)
    missing = [n for n, _ in pins if _norm(n) not in hashes]
    if missing:
        sys.stderr.write(f"no file downloaded for: {', '.join(missing)}\n")
        return 1
    out = []
    for line in lines:
        m = PIN.match(line)
        if not m:
            if not line.startswith("    --hash="):  # an old hash continuation line
                out.append(line)
            continue
        name, version = m.group(1), m.group(2)
        out.append(f"{name}=={version}" + "".join(f" \\\n    --hash=sha256:{d}" for d in hashes[_norm(name)]))
    file.write_text("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
