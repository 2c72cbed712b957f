"""A no-op build that proves itself without validating or rendering anything.

After every successful cached build, `record` stores a build record in .shipspec/cache/builds/,
keyed like every cache entry by everything that determines generated/: the compiler fingerprint,
the bytes of services/_defaults.yaml (or its absence) and the path and bytes of every spec
(`project_key`). It lists every file the build left under generated/ with its SHA-256 and what
`stat` said of it (size, modification and change times in nanoseconds, inode), and the warnings
the specs gave.

`check` is what `build` runs first: when the specs and the compiler hash to a recorded key,
generated/ holds exactly the recorded files and every one of them is unchanged, the build has
nothing to do, and says so without importing the spec models, the checks or the renderers.
A file is unchanged when its `stat` is the recorded one; any write changes its change time, which
no one can set back. A file written shortly before its record was begun could be edited again
within the same clock tick without its times moving, so its bytes are hashed instead (git's
"racily clean" rule; `_racy`); once such files are old enough, `check` refreshes the record. Anything else (another spec byte, a hand edit, an extra or missing file, an interrupted
build's journal, an unreadable record) falls through to the full build, which decides as
before. Warnings about ignored files under services/ are computed again every time (they
depend on files the key does not cover).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..core.diagnostics import Diagnostic, Location
from ..spec.files import read_limited as _read
from ..spec.files import rel, spec_paths
from ..spec.project_warnings import DEFAULTS_FILE, ignored_files
from . import cache
from .writer import GENERATED, NEW, OLD, mode_matches

NAMESPACE = "builds"
LIMIT = 16  # records kept (one per recently built state of the specs)
# Files whose times are this close to the start of their record are hashed, not trusted by stat:
# more than a clock tick of a file system with sub-second times (Linux stamps files from a clock
# that advances a tick, at most 10 ms, at a time), and two seconds where times are whole seconds
# (FAT's granularity is two).
RACY_NS = 100_000_000
RACY_COARSE_NS = 2_000_000_000


@dataclass(frozen=True)
class UpToDate:
    """What a no-op build reports: how many files generated/ holds, and the project's warnings."""

    files: int
    warnings: tuple[Diagnostic, ...]


@dataclass(frozen=True)
class Inputs:
    """Everything that determines generated/, as read once: the key, the bytes of
    services/_defaults.yaml (None when there is none) and of every spec, by display path in
    `spec_paths` order. A build validates exactly these bytes (compiler/build/incremental.py) and
    records its result under `key`, so no spec is read three times."""

    key: str
    defaults: bytes | None
    specs: dict[str, tuple[Path, bytes]]


def read_inputs(root: Path) -> Inputs | None:
    """The project's Inputs; None when a spec or _defaults.yaml cannot be read."""
    fingerprint = cache.compiler_fingerprint()
    dpath = root / "services" / DEFAULTS_FILE
    defaults = _read(dpath) if dpath.exists() else None
    if defaults is None and dpath.exists():
        return None
    parts: list[bytes | str | None] = ["build", fingerprint, defaults]
    specs = {}
    for path in spec_paths(root):
        raw = _read(path)
        if raw is None:
            return None
        display = rel(root, path)
        specs[display] = (path, raw)
        parts += [display, raw]
    return Inputs(cache.key(*parts), defaults, specs)


def project_key(root: Path) -> str | None:
    """The key of everything that determines generated/; None when a spec cannot be read."""
    inputs = read_inputs(root)
    return inputs.key if inputs else None


def record(root: Path, key: str, files: Iterable[tuple[str, str]], warnings: Iterable[Diagnostic],
           known: dict[str, list[int]] | None = None) -> None:
    """Store the record of a build that just wrote generated/: (path, sha256) of every file.

    `known`: path -> [size, mtime_ns, ctime_ns, inode] of files the build reused on the proof of
    the previous record (`trusted_files`: not racy there, and that very stat a moment ago). Such a
    stat still proves those bytes -- any change moves the change time -- so they are not stat'd
    again; every other file is. Without `known` the whole tree is listed, extra files included."""
    stamp = time.time_ns()  # before any stat: a write after its stat is after the stamp
    entries = {}
    if known is None:
        listed = _stat_tree(root)
        for path, sha in files:
            st = listed.pop(path, None)
            if st is None:
                return  # generated/ is not what the build wrote (changed meanwhile): no record
            entries[path] = [sha, *st]
        if listed:
            return
    else:  # an extra file appearing meanwhile is found by `check`, which lists the tree
        prefix = os.path.join(root, "")
        for path, sha in files:
            st = known.get(path) or stat_of(prefix + path)
            if st is None:
                return
            entries[path] = [sha, *st]
    store = cache.Store(root, NAMESPACE, limit=LIMIT)
    store.put(key, {"stamp": stamp, "files": entries, "warnings": [d.as_dict() for d in warnings]})
    store.prune()


def check(root: Path, key: str) -> UpToDate | None:
    """The no-op result when the record of `key` (`project_key`) proves generated/ current; None
    when a build must decide."""
    if (root / NEW).exists() or (root / OLD).exists():
        return None  # an interrupted build: the full build recovers it
    store = cache.Store(root, NAMESPACE, limit=LIMIT)
    entry = store.get(key)
    try:
        stamp, files, stored = int(entry["stamp"]), dict(entry["files"]), list(entry["warnings"])
        warnings = [_diagnostic(d) for d in stored]
    except (TypeError, KeyError, ValueError):
        return None
    listed = _stat_tree(root)
    if listed.keys() != files.keys():
        return None
    hashed = False
    for path, st in listed.items():
        want = files[path]
        if want[1:] == st and not _racy(st[1], st[2], stamp):
            continue
        try:
            full = os.path.join(root, path)
            with open(full, "rb") as fh:
                if hashlib.sha256(fh.read()).hexdigest() != want[0] or not mode_matches(full, path):
                    return None
        except OSError:
            return None
        hashed = True
    if hashed:  # racy or re-stat'd files that still hold the recorded bytes: trust their stat from now on
        record(root, key, ((p, f[0]) for p, f in files.items()), warnings)
    everything = ignored_files(root) + warnings
    return UpToDate(len(files), tuple(sorted(set(everything))))


def trusted_files(root: Path) -> dict[str, list]:
    """Path -> [sha256, size, mtime_ns, ctime_ns, inode] of the files of the newest build record
    that were not racy: a file whose `stat` is still that holds those bytes (a build reuses an
    unchanged service's files on that proof, without reading them)."""
    folder = root / cache.CACHE_DIR / NAMESPACE
    try:
        newest = max((e for e in os.scandir(folder) if e.name.endswith(".json")), key=lambda e: e.stat().st_mtime_ns,
                     default=None)
    except OSError:
        return {}
    entry = cache.Store(root, NAMESPACE, limit=LIMIT).get(newest.name[:-5]) if newest is not None else None
    try:
        stamp, files = int(entry["stamp"]), dict(entry["files"])
    except (TypeError, KeyError, ValueError):
        return {}
    return {p: f for p, f in files.items() if isinstance(f, list) and len(f) == 5 and not _racy(f[2], f[3], stamp)}


def _racy(mtime_ns: int, ctime_ns: int, stamp: int) -> bool:
    """Whether a file with these times, recorded from `stamp` on, might change without them moving."""
    coarse = mtime_ns % 1_000_000_000 == 0 or ctime_ns % 1_000_000_000 == 0
    return max(mtime_ns, ctime_ns) >= stamp - (RACY_COARSE_NS if coarse else RACY_NS)


def stat_of(path: str) -> list[int] | None:
    """What a record keeps of a file's `stat` (see `trusted_files`)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _stat_tree(root: Path) -> dict[str, list[int]]:
    """Relative POSIX path -> [size, mtime_ns, ctime_ns, inode] of every file under generated/."""
    out: dict[str, list[int]] = {}
    todo = [GENERATED]
    while todo:
        top = todo.pop()
        try:
            entries = list(os.scandir(os.path.join(root, top)))
        except OSError:
            continue
        for e in entries:
            rel_path = f"{top}/{e.name}"
            try:
                if e.is_dir():  # as os.walk (the writer's listing): a link to a folder is not entered
                    if not e.is_symlink():
                        todo.append(rel_path)
                    continue
                st = e.stat()
            except OSError:  # a dangling link: the writer lists it too (and replaces or removes it)
                out[rel_path] = [-1, -1, -1, -1]  # never a recorded stat, and unreadable: a build decides
                continue
            out[rel_path] = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    return out


def _diagnostic(d: dict) -> Diagnostic:
    """A stored warning (`Diagnostic.as_dict`), back as a Diagnostic."""
    return Diagnostic(Location(d["file"], d["line"], d["col"]), d["message"], d["path"], d["severity"], d["code"])
