"""Text of `shipspec lint`'s output: the findings (Diagnostic formats) and the summary line."""

from __future__ import annotations

from ..core.diagnostics import format_diagnostics
from ..lint.engine import LintReport


def findings_text(report: LintReport, fmt: str) -> str:
    """The findings in text, json or github format ('' for text/github when there are none)."""
    if not report.diagnostics and fmt != "json":
        return ""
    return format_diagnostics(report.diagnostics, fmt)


def summary(report: LintReport) -> str:
    n = len(report.diagnostics)
    files = (f"{report.templates} template{'s' if report.templates != 1 else ''} and {report.buildspecs} "
             f"buildspec{'s' if report.buildspecs != 1 else ''}")
    justified = (f"; {report.suppressions} justified suppression{'s' if report.suppressions != 1 else ''}"
                 if report.suppressions else "")
    if n:
        return f"lint: {n} finding{'s' if n != 1 else ''} in {files}{justified}"
    return f"lint: {files} clean (cfn-lint errors, warnings and informational checks, shipspec rules){justified}"
