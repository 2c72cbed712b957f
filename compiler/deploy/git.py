"""The one git helper: every question shipspec asks the repository goes through `git` here.

Reads only (no command changes the work tree or the index): which commit a ref names, the merge
base of a pull request, what changed since it, and the files of generated/ as committed. A
missing `git`, an unknown ref or a shallow clone become a ShipspecError saying what to do.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..core.errors import ShipspecError

FETCH_HINT = ("fetch the full history (actions/checkout with `fetch-depth: 0`, or "
              "`git fetch origin <branch>`)")


def run(cwd: Path, *args: str, check: bool = True, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """`git ARGS` in `cwd`, output as bytes; with `check`, a failure is a ShipspecError."""
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, input=stdin, check=False)
    except FileNotFoundError:
        raise ShipspecError("git is not installed or not on PATH; shipspec reads the repository's history "
                            "(generated/ as committed, what a change touched) with it") from None
    if check and proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip() or f"exit status {proc.returncode}"
        raise ShipspecError(f"git {' '.join(args[:2])} failed: {message}")
    return proc


def text(cwd: Path, *args: str) -> str:
    return run(cwd, *args).stdout.decode("utf-8", errors="replace")


def head_commit(root: Path) -> str | None:
    """HEAD's commit id, or None outside a repository (or without commits, or without git)."""
    try:
        proc = run(root, "rev-parse", "HEAD", check=False)
    except ShipspecError:
        return None
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def merge_base(root: Path, since: str) -> str:
    """The commit `since...HEAD` diffs from; a clear error for unknown or unfetched refs."""
    if run(root, "rev-parse", "--verify", "--quiet", f"{since}^{{commit}}", check=False).returncode != 0:
        raise ShipspecError(f"--since {since}: no such commit in this repository; {FETCH_HINT}")
    proc = run(root, "merge-base", since, "HEAD", check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise ShipspecError(f"--since {since}: no common ancestor with HEAD (a shallow clone?); {FETCH_HINT}")
    return proc.stdout.decode().strip()


def changed_paths(root: Path, base: str) -> list[str]:
    """Paths that differ between `base` and the work tree, plus untracked files (no renames:
    a renamed spec is a deleted one and a new one)."""
    diff = text(root, "diff", "--name-only", "--no-renames", "-z", base, "--")
    untracked = text(root, "ls-files", "--others", "--exclude-standard", "-z")
    return sorted({p for p in (diff + untracked).split("\0") if p})


def tree_blobs(root: Path, commit: str, top: str = "generated") -> dict[str, str]:
    """path -> blob id of every file under `top` at `commit` (one git process)."""
    blobs = {}
    for entry in text(root, "ls-tree", "-r", "-z", "--full-tree", commit, "--", top).split("\0"):
        if not entry:
            continue
        meta, path = entry.split("\t", 1)
        _mode, kind, oid = meta.split()
        if kind == "blob":
            blobs[path] = oid
    return blobs


def read_blobs(root: Path, names: Iterable[str]) -> dict[str, bytes | None]:
    """Contents of several `<rev>:<path>` objects through one `git cat-file --batch` process;
    None for a missing object."""
    names = list(dict.fromkeys(names))
    if not names:
        return {}
    data, pos, out = run(root, "cat-file", "--batch", stdin=("\n".join(names) + "\n").encode()).stdout, 0, {}
    for name in names:
        end = data.index(b"\n", pos)
        header = data[pos:end].decode(errors="replace").split()
        pos = end + 1
        if len(header) != 3 or not header[2].isdigit():  # "<name> missing" / "ambiguous"
            out[name] = None
            continue
        size = int(header[2])
        out[name] = data[pos:pos + size]
        pos += size + 1
    return out


def blob_id(content: bytes) -> str:
    """The id git gives a file with these bytes (`git hash-object`)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()  # noqa: S324 (git's own id)


@dataclass(frozen=True)
class Revision:
    """A resolved commit, and where `root` sits inside the repository."""

    cwd: Path
    ref: str
    commit: str
    prefix: str  # root's path inside the repository, "" or ending in "/"

    def read(self, path: str) -> bytes | None:
        """The file at `path` (relative to root) in this commit, or None if it does not exist there."""
        proc = run(self.cwd, "cat-file", "blob", f"{self.commit}:{self.prefix}{path}", check=False)
        return proc.stdout if proc.returncode == 0 else None

    def files(self, under: str) -> list[str]:
        """Paths (relative to root) of the files below directory `under` in this commit."""
        names = text(self.cwd, "ls-tree", "-r", "-z", "--name-only", "--full-tree", self.commit, "--",
                     f"{self.prefix}{under.rstrip('/')}/").split("\0")
        return sorted(n[len(self.prefix):] for n in names if n and n.startswith(self.prefix))


def resolve(root: Path, ref: str) -> Revision:
    """Resolve `ref` in the repository holding `root`; ShipspecError if there is none or the ref is unknown."""
    inside = run(root, "rev-parse", "--is-inside-work-tree", check=False)
    if inside.returncode != 0 or inside.stdout.strip() != b"true":
        raise ShipspecError(f"{root} is not inside a git repository; `shipspec diff` compares with "
                            "generated/ as committed (run `git init` and commit, or use `shipspec check`)")
    if ref.startswith("-"):
        raise ShipspecError(f"--base {ref!r} is not a git revision")
    proc = run(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False)
    if proc.returncode != 0:
        hint = (" (the repository has no commits yet: commit generated/ first)" if ref == "HEAD"
                else "; give a branch, tag or commit that exists, e.g. --base HEAD~1 or --base origin/main")
        raise ShipspecError(f"unknown git revision {ref!r}{hint}")
    return Revision(root, ref, proc.stdout.decode().strip(), text(root, "rev-parse", "--show-prefix").strip())
