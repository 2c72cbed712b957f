"""Which files under services/ a project reads, and how they are named in diagnostics.

Light on purpose (the standard library only): a no-op build lists and hashes the specs before it
knows whether anything needs validating (compiler/build/uptodate.py)."""

from __future__ import annotations

from pathlib import Path

MAX_BYTES = 1_000_000  # the largest spec read; docs/security.md states this number


def read_limited(path: Path) -> bytes | None:
    """A spec file's bytes; None if unreadable or larger than MAX_BYTES (such a spec never builds)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError:
        return None
    return raw if len(raw) <= MAX_BYTES else None


def spec_paths(root: Path) -> list[Path]:
    d = root / "services"
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith("_") and p.is_file())


def rel(root: Path, path: Path) -> str:
    top, full = str(root), str(path)  # plain strings: pathlib's relative_to is slow for thousands of specs
    if top != "." and full.startswith(top.rstrip("/") + "/") and "/." not in full and "//" not in full:
        return full[len(top.rstrip("/")) + 1:]
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
