"""Where output goes: the printing edge. Formatting lives with each command's report module;
the errors commands raise live in `compiler/core/errors.py`."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from ..core.errors import UsageError


def find_root(given: Path | None) -> Path:
    if given is not None:
        if not (given / "services").is_dir():
            raise UsageError(f"--root {given}: no services/ directory there")
        return given.resolve()
    here = Path.cwd().resolve()
    for d in (here, *here.parents):
        if (d / "services").is_dir():
            return d
    raise UsageError("no services/ directory in this directory or any parent; run inside the repository or pass --root")


@dataclass(frozen=True)
class Console:
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    root: Path = Path(".")

    def bind(self, root: Path) -> "Console":
        return replace(self, root=root)

    @property
    def interactive(self) -> bool:
        return bool(getattr(self.err, "isatty", lambda: False)())

    def print(self, text: str = "") -> None:
        self.out.write(text + ("\n" if not text.endswith("\n") else ""))
        self.out.flush()

    def error(self, text: str) -> None:
        self.err.write(text + ("\n" if not text.endswith("\n") else ""))
        self.err.flush()

    def confirm(self, question: str) -> bool:
        if not self.interactive or not sys.stdin.isatty():
            return False
        self.err.write(f"{question} [y/N] ")
        self.err.flush()
        return sys.stdin.readline().strip().lower() in ("y", "yes")
