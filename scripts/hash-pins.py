#!/usr/bin/env python3
"""Add the sha256 of each pinned package to a requirements file, from the files pip downloads.

    .venv/bin/python scripts/hash-pins.py constraints.txt
    .venv/bin/python scripts/hash-pins.py checkov-requirements.txt

For every `name==version` line it runs `pip download --no-deps` (the configured index, this
platform and Python: the files `pip install` would pick) and writes the line back as
`name==version --hash=sha256:...`, one hash per file downloaded. Comments and order are kept. The
Makefile installs these files with `pip install --require-hashes`, so a file on the index that
changed after it was pinned is refused. Run it after changing a pin; review the diff.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _hashes(pins: list[tuple[str, str]]) -> dict[str, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        reqs = Path(tmp) / "pins.txt"
        reqs.write_text("".join(f"{n}=={v}\n" for n, v in pins))
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", tmp,
                        "--requirement", str(reqs)], check=True)
        out: dict[str, list[str]] = {}
        for f in sorted(Path(tmp).iterdir()):
            if f.name == "pins.txt":
                continue
            name = re.split(r"-\d", f.name, maxsplit=1)[0]
            out.setdefault(_norm(name), []).append(hashlib.sha256(f.read_bytes()).hexdigest())
        return out


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
        digests = hashes[_norm(name)]
        out.append(f"{name}=={version}" + "".join(f" \\\n    --hash=sha256:{d}" for d in digests))
    file.write_text("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
