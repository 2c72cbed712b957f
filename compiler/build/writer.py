"""Write generated/ atomically and compare it with what a build would write.

A build changes generated/ through a redo journal, so its cost follows what changed, not the
size of the tree: the new bytes of every added or changed file are staged in `.generated.new/`
and made durable, then a manifest naming every file to write and remove is committed (written,
fsynced, renamed into place); only then are the staged files renamed into generated/ and the
removed ones deleted. A crash before the commit leaves the old tree (the staging is discarded);
a crash after it is rolled forward by the next run, which finishes the same renames. Either
way generated/ ends as exactly the old tree or exactly the new one. When there is no
generated/ yet, the staged tree simply becomes it, with one rename.

Only a build changes anything, and only under the build lock (`build_lock`): the recovery runs
there, first. Comparing (`diff_tree`, what `check` does) never writes: a journal left behind is
reported (`interrupted`), never finished or discarded by a reader, so a reader racing a build
cannot pull the journal from under it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..core.errors import ShipspecError
from .ir import Artifact, FileArtifact

GENERATED = "generated"
NEW = ".generated.new"  # the journal: staged files and, once committed, MANIFEST
OLD = ".generated.old"  # left by versions that swapped whole trees: repaired by recover()
MANIFEST = ".journal.json"


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
    """Relative POSIX path -> full path of every file under root/top (as os.walk lists them: links
    to folders are not entered, and count as nothing), as plain strings: a Path, or os.walk's
    joins, per file made listing thousands of generated files slow."""
    prefix = os.path.join(root, "")
    out = {}
    todo = [top]
    while todo:
        rel = todo.pop()
        try:
            entries = list(os.scandir(prefix + rel))
        except OSError:
            continue
        for e in entries:
            try:
                is_dir = e.is_dir()
            except OSError:
                is_dir = False
            if not is_dir:
                out[f"{rel}/{e.name}"] = e.path
            elif not e.is_symlink():
                todo.append(f"{rel}/{e.name}")
    return out


def existing_files(root: Path, top: str = GENERATED) -> dict[str, Path]:
    return {rel: Path(full) for rel, full in _walk(root, top).items()}


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def mode_matches(full: str, path: str) -> bool:
    """Whether the file at `full` has the executable bit `_mode(path)` gives (git keeps only that
    bit; the rest of a checkout's mode is the umask's). Raises OSError if it cannot be read."""
    return bool(os.stat(full).st_mode & 0o100) == bool(_mode(path) & 0o100)


def _differs(path: str, art: Artifact) -> bool:
    """Other bytes, or another executable bit."""
    try:
        return _read(path) != art.content or not mode_matches(path, art.path)
    except OSError:  # a dangling link, a folder or an unreadable file where a file belongs
        return True


def diff_tree(root: Path, artifacts: Iterable[Artifact], top: str = GENERATED,
              on_disk: frozenset[str] = frozenset()) -> TreeDiff:
    """What differs between generated/ and `artifacts`. Paths in `on_disk` are artifacts whose
    bytes were just read from that very file: they are not read again. Read-only: an interrupted
    build's journal is left alone (see `interrupted`)."""
    want = {a.path: a for a in artifacts if a.path.startswith(top + "/")}
    have = _walk(root, top)
    added, changed = [], []
    for path, art in sorted(want.items()):
        if path not in have:
            added.append(path)
        elif path not in on_disk and _differs(have[path], art):
            changed.append(path)
    removed = sorted(set(have) - set(want))
    return TreeDiff(tuple(added), tuple(changed), tuple(removed))


def interrupted(root: Path) -> str | None:
    """What a reader should say when a build's journal is present (None when there is none):
    a build is running (it holds the lock), or one was interrupted and `build` will finish it.
    Never writes, not even the lock file."""
    if not ((root / NEW).exists() or (root / OLD).exists()):
        return None
    if _lock_held(root):
        return ("a shipspec build is writing generated/ right now (lock .shipspec/build.lock); "
                "run this again when it has finished")
    committed = (root / NEW / MANIFEST).exists() or (root / OLD).exists()
    return ("an interrupted build left its journal (" + (NEW if (root / NEW).exists() else OLD) + "): "
            + ("its changes were committed but not all applied" if committed else "nothing of it was applied")
            + "; run `shipspec build` to " + ("finish" if committed else "clean up after") + " it")


def _lock_held(root: Path) -> bool:
    import fcntl

    path = root / LOCK
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a shared lock taken here
    return False


def recover(root: Path) -> None:
    """Finish or discard an interrupted build: a committed journal is rolled forward, an
    uncommitted one removed (the old tree was never touched). Only under the build lock
    (`write_tree` runs it first)."""
    gen, old, new = root / GENERATED, root / OLD, root / NEW
    if old.exists() and not gen.exists():
        os.replace(old, gen)
    if old.exists():
        shutil.rmtree(old)
    if not new.exists():
        return
    try:
        manifest = json.loads((new / MANIFEST).read_text(encoding="utf-8"))
        writes, removes = list(manifest["write"]), list(manifest["remove"])
    except (OSError, ValueError, KeyError, TypeError):
        shutil.rmtree(new)  # not committed: the old tree stands
        return
    _apply(root, writes, removes)
    shutil.rmtree(new)


def _apply(root: Path, writes: list[str], removes: list[str]) -> None:
    """Delete removed files, then move staged files into generated/; safe to repeat after a
    crash (a file already moved has no staged copy left)."""
    prefix = GENERATED + "/"
    for path in removes:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(root, path))
    top = os.path.join(root, GENERATED)
    for parent in sorted({os.path.dirname(p) for p in removes}, key=len, reverse=True):
        d = os.path.join(root, parent)  # prune directories left empty (a file may take a name)
        while d.startswith(top + os.sep) and os.path.isdir(d) and not os.listdir(d):
            os.rmdir(d)
            d = os.path.dirname(d)
    for path in writes:
        staged = os.path.join(root, NEW, path[len(prefix):])
        if os.path.exists(staged):
            target = os.path.join(root, path)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(staged, target)


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


def write_tree(root: Path, artifacts: Iterable[Artifact], on_disk: frozenset[str] = frozenset()) -> TreeDiff:
    """Make generated/ hold exactly `artifacts` (paths under generated/), atomically. `on_disk`:
    see diff_tree."""
    with build_lock(root):
        recover(root)  # an interrupted build's journal: finished or discarded, under the lock
        return _write_tree(root, list(artifacts), on_disk)


def _write_tree(root: Path, artifacts: list[Artifact], on_disk: frozenset[str] = frozenset()) -> TreeDiff:
    prefix = GENERATED + "/"
    for art in artifacts:
        if not art.path.startswith(prefix):
            raise ValueError(f"'{art.path}' is not under {prefix}")
    diff = diff_tree(root, artifacts, on_disk=on_disk)
    if diff.clean:
        return diff
    touched = set(diff.added) | set(diff.changed)
    written: list[str] = []
    made: set[str] = set()
    for art in artifacts:  # plain strings, not Paths: a cold build writes thousands of files
        if art.path not in touched:
            continue
        target = os.path.join(root, NEW, art.path[len(prefix):])
        parent = os.path.dirname(target)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        _stage(art, target)
        os.chmod(target, _mode(art.path))
        written.append(target)
    _fsync_all(written)  # every staged file is on disk before the commit
    if not os.path.exists(os.path.join(root, GENERATED)):  # a first build: the staging is the tree
        os.replace(os.path.join(root, NEW), os.path.join(root, GENERATED))  # the commit point
        return diff
    os.makedirs(os.path.join(root, NEW), exist_ok=True)  # nothing staged when files are only removed
    manifest = os.path.join(root, NEW, MANIFEST)
    with open(manifest + ".tmp", "w", encoding="utf-8") as fh:
        json.dump({"write": sorted(touched), "remove": list(diff.removed)}, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(manifest + ".tmp", manifest)  # the commit point
    _apply(root, sorted(touched), list(diff.removed))
    shutil.rmtree(os.path.join(root, NEW))
    return diff


def _stage(art: Artifact, target: str) -> None:
    """Put the artifact's bytes at `target`: a spooled one by a hard link to its file (no copy of
    the bytes), any other (or where links fail) written out."""
    if isinstance(art, FileArtifact):
        try:
            os.link(art.source, target)
            return
        except OSError:
            pass
    try:
        content = art.content
    except FileNotFoundError:  # a reused file under generated/, deleted while the build ran
        raise ShipspecError(f"{art.path} was removed while the build ran; run `shipspec build` again") from None
    with open(target, "wb") as fh:
        fh.write(content)


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_all(paths: list[str]) -> None:
    """fsync many files at once: the waits overlap (a cold build writes thousands of files; one
    fsync after another took seconds). A few dozen go one after another: starting the threads
    (and importing concurrent.futures) costs more than it overlaps."""
    if len(paths) <= 32:
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
