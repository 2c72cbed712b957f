"""Arguments and steps shared by several commands."""

from __future__ import annotations

import argparse


def add_names(p: argparse.ArgumentParser) -> None:
    p.add_argument("names", nargs="*", metavar="NAME", help="service names (default: all)")


def add_diag_format(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("text", "json", "github"), default=None,
                   help="error output format (default: text; github when GITHUB_ACTIONS=true)")


def add_env(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", metavar="ENV", help="only this environment")


def print_warnings(console, args, project) -> None:
    """The project's warnings (ignored files, deprecations) in the diagnostics format; never fatal."""
    from ...core.diagnostics import format_diagnostics
    from ..main import diagnostics_format

    if not project.warnings:
        return
    fmt = diagnostics_format(args)
    if fmt == "json":
        return  # the command prints them in its JSON result
    console.error(format_diagnostics(project.warnings, fmt))
