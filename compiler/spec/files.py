"""Which files under services/ a project reads, and how they are named in diagnostics.

Light on purpose (the standard library only): a no-op build lists and hashes the specs before it
knows whether anything needs validating (compiler/build/uptodate.py)."""

from __future__ import annotations

import os
from pathlib import Path

MAX_BYTES = 1_000_000  # the largest spec read; docs/security.md states this number


_CHUNK = 65536


def read_head(path: Path) -> bytes:
    """The file's bytes, or its first MAX_BYTES + 1 when it is larger (too large for a spec).
    OSError if it cannot be read.

    Read in chunks with os.read: asking a file object for MAX_BYTES + 1 at once allocates that
    buffer for every spec, which made reading 500 small specs take ten times as long."""
    chunks: list[bytes] = []
    size = 0
    fd = os.open(path, os.O_RDONLY)
    try:
        while size <= MAX_BYTES and (chunk := os.read(fd, min(_CHUNK, MAX_BYTES + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_limited(path: Path) -> bytes | None:
    """A spec file's bytes; None if unreadable or larger than MAX_BYTES (such a spec never builds)."""
    try:
        raw = read_head(path)
    except OSError:
        return None
    return raw if len(raw) <= MAX_BYTES else None


def spec_paths(root: Path) -> list[Path]:
    d = root / "services"
    if not d.is_dir():
        return []
    names = sorted(n for n in os.listdir(d)
                   if n.endswith((".yaml", ".yml")) and n.rfind(".") > 0 and not n.startswith("_"))
    return [d / n for n in names if os.path.isfile(os.path.join(d, n))]  # Paths sorted by name: same order


def rel(root: Path, path: Path) -> str:
    top, full = str(root), str(path)  # plain strings: pathlib's relative_to is slow for thousands of specs
    if top != "." and full.startswith(top.rstrip("/") + "/") and "/." not in full and "//" not in full:
        return full[len(top.rstrip("/")) + 1:]
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
