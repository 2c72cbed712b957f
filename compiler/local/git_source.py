"""Source actions of `shipspec local run`: a local git repository stands in for the repository the action
names (CodeStar connection, GitHub, CodeCommit) or the object it reads (S3), and the throw-away
repositories a run uses when it is given none. Git commands go through compiler/deploy/git.py's runner.

A source action's output artifact is the tree of the branch's last commit (`git archive`: tracked files
only, as a CodeStar connection's CODE_ZIP has them); S3 actions take the repository's checked-out commit
(its id stands in for the object's VersionId).
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import ShipspecError
from ..deploy import git

AUTHOR = ("-c", "user.name=shipspec local run", "-c", "user.email=local-run@shipspec.invalid",
          "-c", "commit.gpgsign=false")
DOCKERFILE = ("# A throw-away image for `shipspec local run` (the local emulator builds nothing).\n"
              "FROM public.ecr.aws/docker/library/busybox:stable\n"
              "CMD [\"echo\", \"hello from shipspec local run\"]\n")


@dataclass(frozen=True)
class SourceRevision:
    commit: str
    message: str  # the commit message's first line
    author_date: str  # ISO 8601
    committer_date: str
    branch: str  # "" for HEAD (S3 actions)
    directory: str  # the local repository read


def _is_repository(path: Path) -> bool:
    try:
        return git.run(path, "rev-parse", "--git-dir", check=False).returncode == 0
    except ShipspecError:
        raise
    except OSError:
        return False


def checkout(repository: Path, branch: str, out: Path) -> SourceRevision:
    """The tree of `branch` (HEAD when empty) of the local repository, written into `out`."""
    if not repository.is_dir() or not _is_repository(repository):
        raise ShipspecError(f"{repository} is not a git repository (--source names a local git repository)")
    ref = f"refs/heads/{branch}" if branch else "HEAD"
    found = git.run(repository, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if found.returncode != 0:
        branches = git.text(repository, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()
        raise ShipspecError(f"branch {branch or 'HEAD'} is not in {repository} (it has: "
                            f"{', '.join(branches) or 'no branches'}); the action reads that branch")
    commit = found.stdout.decode().strip()
    message, author, committer = git.text(repository, "log", "-1", "--format=%s%x00%aI%x00%cI", commit).rstrip(
        "\n").split("\0")
    out.mkdir(parents=True, exist_ok=True)
    archive = git.run(repository, "archive", "--format=tar", commit).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        try:
            tar.extractall(out, filter="data")
        except TypeError:  # Python before 3.11.4: git's own archive of tracked files
            tar.extractall(out)  # noqa: S202
    return SourceRevision(commit, message, author, committer, branch, str(repository))


def scratch_repository(path: Path, branches: tuple[str, ...], files: dict[str, str], message: str) -> Path:
    """A new repository at `path` with one commit of `files` on each of `branches` (the first is
    checked out)."""
    path.mkdir(parents=True, exist_ok=True)
    first = branches[0] if branches else "main"
    git.run(path, "init", "-q", "-b", first)
    for name, text in sorted(files.items()):
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        if name.endswith(".sh"):
            target.chmod(0o755)
    git.run(path, "add", "-A")
    git.run(path, *AUTHOR, "commit", "-q", "-m", message)
    for branch in branches[1:]:
        if branch != first:
            git.run(path, "branch", branch)
    return path
