"""Run the CLI in-process and capture what it prints; where the repository is."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


@dataclass
class CliResult:
    status: int
    out: str
    err: str


def run_cli(*args: str, root: Path | None = None) -> CliResult:
    """Run the CLI in-process, capturing what it prints."""
    from compiler.cli.console import Console
    from compiler.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    argv = (["--root", str(root)] if root else []) + list(args)
    status = main(argv, console=Console(out=out, err=err))
    return CliResult(status, out.getvalue(), err.getvalue())
