#!/usr/bin/env python3
"""Add the sha256 of each pinned package to a requirements file, from the files pip downloads.

    .venv/bin/python scripts/hash-pins.py constraints.txt          # after changing a pin
    .venv/bin/python scripts/hash-pins.py --add constraints.txt    # on another platform

For every `name==version` line it runs `pip download --no-deps` against the configured index (the
files `pip install` picks on this machine: its platform and Python) and writes the line back as
`name==version --hash=sha256:...`. By default the hashes are replaced by this machine's; `--add`
keeps the ones already there and adds this machine's, so one file serves several platforms (the
committed hashes are those of CI: Linux x86-64, CPython 3.11). Comments and order are kept. The
Makefile installs these files with `pip install --require-hashes`, so a file on the index that
changed after it was pinned is refused. Review the diff.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _hashes(pins: list[tuple[str, str]]) -> dict[str, set[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", tmp,
                        *(f"{n}=={v}" for n, v in pins)], check=True)
        out: dict[str, set[str]] = {}
        for f in sorted(Path(tmp).iterdir()):
            name = re.split(r"-\d", f.name, maxsplit=1)[0]
            out.setdefault(_norm(name), set()).add(hashlib.sha256(f.read_bytes()).hexdigest())
        return out


def _entries(text: str) -> list[tuple[str, tuple[str, str] | None, set[str]]]:
    """(line, (name, version) or None for a comment or blank line, hashes already there)."""
    out = []
    for line in re.sub(r"\s*\\\n\s*", " ", text).splitlines():
        m = PIN.match(line)
        out.append((line, (m.group(1), m.group(2)) if m else None, set(HASH.findall(line))))
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--add", action="store_true", help="keep the hashes already there; add this machine's")
    parser.add_argument("file")
    args = parser.parse_args(argv)
    file = Path(args.file)
    entries = _entries(file.read_text())
    pins = [pin for _line, pin, _h in entries if pin]
    fresh = _hashes(pins)
    missing = [n for n, _ in pins if _norm(n) not in fresh]
    if missing:
        sys.stderr.write(f"no file downloaded for: {', '.join(missing)}\n")
        return 1
    out = []
    for line, pin, old in entries:
        if pin is None:
            out.append(line)
            continue
        digests = sorted(fresh[_norm(pin[0])] | (old if args.add else set()))
        out.append(f"{pin[0]}=={pin[1]}" + "".join(f" \\\n    --hash=sha256:{d}" for d in digests))
    file.write_text("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
