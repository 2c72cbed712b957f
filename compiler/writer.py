"""Write generated/ atomically and compare it with what a build would write.

The new tree is assembled beside the old one (unchanged files hard-linked, changed
ones written), then swapped in with two renames. A crash leaves either the old
tree or the new one; an interrupted swap is repaired on the next run.
"""

from __future__ import annotations

import contextlib
import os
import time
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from .console import ShipspecError
from .ir import Artifact

GENERATED = "generated"
NEW = ".generated.new"
OLD = ".generated.old"


@dataclass(frozen=True)
class TreeDiff:
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not (self.added or self.changed or self.removed)

    def lines(self) -> list[str]:
        return ([f"missing  {p}" for p in self.added] + [f"stale    {p}" for p in self.changed]
                + [f"orphaned {p}" for p in self.removed])


def _mode(path: str) -> int:
    return 0o755 if path.endswith(".sh") else 0o644


def _walk(root: Path, top: str) -> dict[str, str]:
    """Relative POSIX path -> full path of every file under root/top, as plain strings (a
    Path per file made listing thousands of generated files slow)."""
    prefix = os.path.join(root, "")
    out = {}
    for dirpath, _dirs, files in os.walk(os.path.join(prefix, top)):
        rel = dirpath[len(prefix):].replace(os.sep, "/")
        for f in files:
            out[f"{rel}/{f}"] = os.path.join(dirpath, f)
    return out


def existing_files(root: Path, top: str = GENERATED) -> dict[str, Path]:
    return {rel: Path(full) for rel, full in _walk(root, top).items()}


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def diff_tree(root: Path, artifacts: Iterable[Artifact], top: str = GENERATED) -> TreeDiff:
    recover(root)
    want = {a.path: a for a in artifacts if a.path.startswith(top + "/")}
    have = _walk(root, top)
    added, changed = [], []
    for path, art in sorted(want.items()):
        if path not in have:
            added.append(path)
        elif _read(have[path]) != art.content:
            changed.append(path)
    removed = sorted(set(have) - set(want))
    return TreeDiff(tuple(added), tuple(changed), tuple(removed))


def recover(root: Path) -> None:
    """Repair an interrupted swap: put the old tree back if the new one never arrived."""
    gen, old, new = root / GENERATED, root / OLD, root / NEW
    if old.exists() and not gen.exists():
        os.replace(old, gen)
    if old.exists():
        shutil.rmtree(old)
    if new.exists():
        shutil.rmtree(new)


LOCK = ".shipspec/build.lock"
LOCK_WAIT_SECONDS = 30.0


@contextlib.contextmanager
def build_lock(root: Path, wait: float = LOCK_WAIT_SECONDS):
    """One writer of generated/ at a time: a second build waits, then gives up clearly."""
    import fcntl

    path = root / LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise ShipspecError(f"another shipspec build is writing generated/ (lock {LOCK}); "
                                        "wait for it to finish and run again") from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_tree(root: Path, artifacts: Iterable[Artifact]) -> TreeDiff:
    """Make generated/ hold exactly `artifacts` (paths under generated/), atomically."""
    with build_lock(root):
        return _write_tree(root, list(artifacts))


def _write_tree(root: Path, artifacts: list[Artifact]) -> TreeDiff:
    diff = diff_tree(root, artifacts)
    if diff.clean:
        return diff
    gen, new, old = root / GENERATED, root / NEW, root / OLD
    touched = set(diff.added) | set(diff.changed)
    written: list[str] = []
    made: set[str] = set()
    prefix = GENERATED + "/"
    for art in artifacts:  # plain strings, not Paths: thousands of files per build
        if not art.path.startswith(prefix):
            raise ValueError(f"'{art.path}' is not under {prefix}")
        target = os.path.join(root, NEW, art.path[len(prefix):])
        parent = os.path.dirname(target)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        if art.path not in touched:
            try:
                os.link(os.path.join(root, art.path), target)
                continue
            except OSError:
                pass
        tmp = target + ".tmp"
        with open(tmp, "wb") as fh:
            fh.write(art.content)
        os.chmod(tmp, _mode(art.path))
        os.replace(tmp, target)
        written.append(target)
    _fsync_all(written)  # every new file is on disk before the swap
    if gen.exists():
        os.replace(gen, old)
    os.replace(new, gen)
    if old.exists():
        shutil.rmtree(old)
    return diff


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_all(paths: list[str]) -> None:
    """fsync many files at once: the waits overlap (a cold build writes thousands of files; one
    fsync after another took seconds)."""
    if len(paths) < 8:
        for path in paths:
            _fsync(path)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(_fsync, paths))


def write_file_atomic(path: Path, content: bytes) -> bool:
    """Write one file atomically; return whether it changed."""
    if path.exists() and path.read_bytes() == content:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
    return True
