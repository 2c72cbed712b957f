"""A small content-addressed store under .shipspec/cache/ (git-ignored).

Entries are JSON documents named by the hash of everything that determines them (the
callers build keys with `key()` from input bytes plus `compiler_fingerprint()`), so an entry
is never stale: a changed input is a different key. Each file carries a checksum of its body
and the key it was written for; a truncated, corrupted or foreign file reads as a miss and is
rewritten. Writes are atomic (temporary file, rename) and best-effort: a read-only or full disk
only costs speed. The store is bounded: the least recently used entries beyond `limit` are
deleted when the store is saved.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import zlib
from pathlib import Path
from typing import Any, Callable

from ..core import fastjson

CACHE_DIR = ".shipspec/cache"
FORMAT = 1
_MAGIC = b"shipspec-cache"
NO_CACHE_ENV = "SHIPSPEC_NO_CACHE"


def disabled_by_env() -> bool:
    return os.environ.get(NO_CACHE_ENV, "") not in ("", "0")


# A file whose times are this close to a moment is hashed, not trusted by its stat, from then on:
# more than a clock tick of a file system with sub-second times (Linux stamps files from a clock
# that advances a tick, at most 10 ms, at a time), and two seconds where times are whole seconds
# (FAT's granularity is two).
RACY_NS = 100_000_000
RACY_COARSE_NS = 2_000_000_000
FINGERPRINT_FILE = "shipspec-fingerprint.json"  # beside the compiled bytecode: `compiler_fingerprint`

_PACKAGE = Path(__file__).resolve().parents[1]  # the whole compiler package
_fingerprint: list[str] = []  # this process's, once known


def racy(mtime_ns: int, ctime_ns: int, stamp: int) -> bool:
    """Whether a file with these times, stat'd from `stamp` on, might change without them moving
    (git's "racily clean" files): its bytes must be hashed, not vouched for by its stat."""
    coarse = mtime_ns % 1_000_000_000 == 0 or ctime_ns % 1_000_000_000 == 0
    return max(mtime_ns, ctime_ns) >= stamp - (RACY_COARSE_NS if coarse else RACY_NS)


def compiler_fingerprint() -> str:
    """Hash of the compiler's own source and assets and of the libraries that shape its output:
    any edit to the compiler, an upgrade of pydantic or PyYAML, or another Python version gives
    every key a new value.

    Known once per process. Reading the package costs about 5 ms, so the value is also kept
    beside the package's compiled bytecode (`_memo_path`), under the `stat` (size, times, inode)
    of every file it hashes: a file's change time moves with any write and cannot be set back.
    A file changed too recently for its stat to vouch for its bytes (`racy`) is not remembered.
    The value is the content hash either way, so caches shared between machines still match."""
    if _fingerprint:
        return _fingerprint[0]
    stamp = time.time_ns()  # before any stat
    signature, fresh = _signature(_PACKAGE, stamp)
    memo = _memo_path()
    try:
        with open(memo, "rb") as fh:  # type: ignore[arg-type]
            doc = json.loads(fh.read())
        if (signature is not None and doc["signature"] == signature and is_key(doc["fingerprint"])
                and isinstance(doc.get("values", {}), dict)):
            _fingerprint.append(doc["fingerprint"])
            _installed.update(doc.get("values", {}), memo=memo, signature=signature)
            return _fingerprint[0]
    except (OSError, TypeError, ValueError, KeyError):
        pass
    _fingerprint.append(fingerprint_of(_PACKAGE))
    if memo is not None and signature is not None and fresh and not sys.dont_write_bytecode:
        _installed.update({}, memo=memo, signature=signature)
        _installed.write(_fingerprint[0])
    return _fingerprint[0]


def installed_value(name: str, compute: Callable[[], str]) -> str:
    """A string that depends on nothing but the installation -- the compiler's files, the
    libraries and Python, as `compiler_fingerprint` sees them -- computed once and then kept
    beside the fingerprint, on the same proof."""
    compiler_fingerprint()
    value = _installed.values.get(name)
    if not isinstance(value, str):
        value = _installed.values[name] = compute()
        _installed.write(_fingerprint[0])
    return value


class _Installed:
    """The values `installed_value` keeps, and where (None: nowhere, this process only)."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}
        self.memo: str | None = None
        self.signature: str | None = None

    def update(self, values: dict, memo: str | None, signature: str) -> None:
        self.values.update(values)
        self.memo, self.signature = memo, signature

    def write(self, fingerprint: str) -> None:
        if self.memo is not None and not sys.dont_write_bytecode:
            _write_memo(self.memo, {"signature": self.signature, "fingerprint": fingerprint, "values": self.values})


_installed = _Installed()


def _memo_path() -> str | None:
    """Where the fingerprint is remembered: the folder Python keeps the package's bytecode in
    (`__pycache__`, or under PYTHONPYCACHEPREFIX), like that bytecode a product of the installed
    files alone; None where Python keeps none."""
    import importlib.util

    try:
        pyc = importlib.util.cache_from_source(os.path.join(_PACKAGE, "__init__.py"))
    except (NotImplementedError, ValueError):
        return None
    return os.path.join(os.path.dirname(pyc), FINGERPRINT_FILE)


def _write_memo(memo: str, doc: dict) -> None:
    """Best effort, like bytecode: a read-only installation only costs the 5 ms again."""
    tmp = f"{memo}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(memo), exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(doc, fh)
        os.replace(tmp, memo)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def is_key(value: object) -> bool:
    """Whether `value` is a SHA-256 in hex, as `key` and the fingerprint are."""
    return isinstance(value, str) and len(value) == 64 and not value.strip("0123456789abcdef")


def _signature(package: Path, stamp: int) -> tuple[str | None, bool]:
    """A hash of the `stat` of every file `fingerprint_of` reads and of what else it hashes, and
    whether every stat can vouch for its file's bytes; (None, False) if a file cannot be stat'd."""
    h = hashlib.sha256()
    h.update(f"format {FORMAT}\npython {sys.version}\nzlib {zlib.ZLIB_RUNTIME_VERSION}\n{package}\n".encode())
    h.update(_library_versions())
    fresh = True
    try:
        for rel, full in _package_files(package):
            st = os.stat(full)
            fresh = fresh and not racy(st.st_mtime_ns, st.st_ctime_ns, stamp)
            h.update(f"{rel}\0{st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino}\n".encode())
    except OSError:
        return None, False
    return h.hexdigest(), fresh


def _package_files(package: Path) -> list[tuple[str, str]]:
    """(relative POSIX path, full path) of every file `fingerprint_of` hashes, sorted."""
    top = os.path.join(package, "")
    files = []
    for dirpath, dirs, names in os.walk(package):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        files += [os.path.join(dirpath, n) for n in names if not n.endswith((".pyc", ".pyo"))]
    return sorted((f[len(top):].replace(os.sep, "/"), f) for f in files)


def fingerprint_of(package: Path) -> str:
    h = hashlib.sha256()
    h.update(f"format {FORMAT}\npython {sys.version_info[:2]}\n".encode())
    h.update(_library_versions())
    for rel, full in _package_files(package):
        h.update(rel.encode() + b"\0")
        with open(full, "rb") as fh:
            h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()


def _library_versions() -> bytes:
    """What identifies the installed pydantic and PyYAML, read from their files without importing
    them (importing pydantic costs more than the rest of a no-op build): pydantic's version module
    (it holds VERSION and the pydantic-core version it requires), PyYAML's __init__ (its
    __version__) and whether libyaml's extension is there (PyYAML's C loader and emitter)."""
    import importlib.util

    out = []
    for name, files in (("pydantic", ("version.py",)), ("yaml", ("__init__.py",))):
        spec = importlib.util.find_spec(name)
        where = list(spec.submodule_search_locations or ()) if spec else []
        if not where:
            out.append(f"{name} absent\n".encode())
            continue
        folder = Path(where[0])
        for f in files:
            out.append(f"{name}/{f} ".encode() + hashlib.sha256((folder / f).read_bytes()).digest() + b"\n")
        if name == "yaml":
            out.append(f"libyaml {any(p.name.startswith('_yaml.') for p in folder.iterdir())}\n".encode())
    return b"".join(out)


def key(*parts: bytes | str | None) -> str:
    """A key from input parts; None (an absent input) differs from an empty one."""
    h = hashlib.sha256()
    for part in parts:
        if part is None:
            h.update(b"\x00absent\x00")
            continue
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


class Store:
    """JSON entries in one namespace directory, e.g. .shipspec/cache/specs/<key>.json."""

    def __init__(self, root: Path, namespace: str, limit: int = 4000):
        self.dir = root / CACHE_DIR / namespace
        self.limit = limit
        self.hits = 0
        self.misses = 0
        self.written = 0

    def _path(self, k: str) -> Path:
        return self.dir / f"{k}.json"

    def get(self, k: str) -> Any | None:
        """The entry stored under k, or None (missing, unreadable or corrupt)."""
        path = self._path(k)
        try:
            raw = path.read_bytes()
        except OSError:
            self.misses += 1
            return None
        value = _decode(raw, k)
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        try:
            os.utime(path)  # recently used: kept by prune()
        except OSError:
            pass
        return value

    def put(self, k: str, value: Any) -> None:
        body = fastjson.dumps_compact({"key": k, "value": value})  # orjson for megabytes
        data = _MAGIC + b" " + hashlib.sha256(body).hexdigest().encode() + b"\n" + body
        path = self._path(k)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            os.replace(tmp, path)
            self.written += 1
        except OSError:
            try:
                tmp.unlink()
            except OSError:
                pass

    def prune(self) -> int:
        """Delete the least recently used entries beyond the limit; return how many."""
        try:
            entries = [e for e in os.scandir(self.dir) if e.name.endswith(".json")]
        except OSError:
            return 0
        if len(entries) <= self.limit:
            return 0
        entries.sort(key=lambda e: _mtime(e))
        removed = 0
        for e in entries[: len(entries) - self.limit]:
            try:
                os.unlink(e.path)
                removed += 1
            except OSError:
                pass
        return removed


def _mtime(entry: os.DirEntry) -> float:
    try:
        return entry.stat().st_mtime
    except OSError:
        return 0.0


def _decode(raw: bytes, k: str) -> Any | None:
    head, sep, body = raw.partition(b"\n")
    if not sep or not head.startswith(_MAGIC + b" "):
        return None
    if hashlib.sha256(body).hexdigest().encode() != head[len(_MAGIC) + 1:]:
        return None
    try:
        doc = fastjson.loads(body)
    except ValueError:
        return None
    if not isinstance(doc, dict) or doc.get("key") != k:
        return None
    return doc.get("value")
