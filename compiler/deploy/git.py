"""Read files as they were at a git revision (`git` via subprocess; no working-tree changes)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..cli.console import ShipspecError


def _git(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except FileNotFoundError:
        raise ShipspecError("git is not installed or not on PATH; `shipspec diff` reads generated/ "
                            "from a git revision") from None
    if check and proc.returncode != 0:
        raise ShipspecError(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc


@dataclass(frozen=True)
class Revision:
    """A resolved commit, and where `root` sits inside the repository."""

    cwd: Path
    ref: str
    commit: str
    prefix: str  # root's path inside the repository, "" or ending in "/"

    def read(self, path: str) -> bytes | None:
        """The file at `path` (relative to root) in this commit, or None if it does not exist there."""
        proc = _git(self.cwd, "cat-file", "blob", f"{self.commit}:{self.prefix}{path}", check=False)
        return proc.stdout if proc.returncode == 0 else None

    def files(self, under: str) -> list[str]:
        """Paths (relative to root) of the files below directory `under` in this commit."""
        proc = _git(self.cwd, "ls-tree", "-r", "-z", "--name-only", "--full-tree", self.commit, "--",
                    f"{self.prefix}{under.rstrip('/')}/")
        names = [n for n in proc.stdout.decode("utf-8", errors="replace").split("\0") if n]
        return sorted(n[len(self.prefix):] for n in names if n.startswith(self.prefix))


def resolve(root: Path, ref: str) -> Revision:
    """Resolve `ref` in the repository holding `root`; ShipspecError if there is none or the ref is unknown."""
    inside = _git(root, "rev-parse", "--is-inside-work-tree", check=False)
    if inside.returncode != 0 or inside.stdout.strip() != b"true":
        raise ShipspecError(f"{root} is not inside a git repository; `shipspec diff` compares with "
                            "generated/ as committed (run `git init` and commit, or use `shipspec check`)")
    if ref.startswith("-"):
        raise ShipspecError(f"--base {ref!r} is not a git revision")
    proc = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False)
    if proc.returncode != 0:
        hint = (" (the repository has no commits yet: commit generated/ first)" if ref == "HEAD"
                else "; give a branch, tag or commit that exists, e.g. --base HEAD~1 or --base origin/main")
        raise ShipspecError(f"unknown git revision {ref!r}{hint}")
    prefix = _git(root, "rev-parse", "--show-prefix").stdout.decode().strip()
    return Revision(root, ref, proc.stdout.decode().strip(), prefix)
