"""Text and JSON for `shipspec import`'s report (pure; the command prints)."""

from __future__ import annotations

import json
import textwrap
from typing import Any

from ..adopt.findings import Report

WIDTH = 100


def _wrap(text: str, indent: str, more: str | None = None) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=more or indent + "    ",
                         break_long_words=False, break_on_hyphens=False) or [indent.rstrip()]


def _value(v: Any) -> str:
    if isinstance(v, (dict, list)):
        return json.dumps(v, separators=(", ", ": "))
    return "null" if v is None else str(v)


def _env(e: str) -> str:
    return f"[{e}] " if e else ""


def format_import(report: Report, spec_text: str, fmt: str, note: str, written: bool) -> str:
    if fmt == "json":
        return json.dumps({**report.to_json(), "written": written, "note": note, "spec": spec_text}, indent=2,
                          sort_keys=True)
    lines = [note, ""]
    lines.append(f"Mapped ({len(report.mapped)}): template or manifest -> spec")
    for m in report.mapped:
        lines += _wrap(f"{_env(m.env)}{m.source.file}:{m.source.line} {m.source_path} -> {m.spec_path} = "
                       f"{_value(m.value)}", "  ")
    if report.dropped:
        lines += ["", "Left out, as services/_defaults.yaml or shipspec's defaults already give them:"]
        lines += _wrap(", ".join(report.dropped), "  ", "  ")
    if report.defaulted:
        lines += ["", f"Defaulted ({len(report.defaulted)}): not in the original"]
        for d in report.defaulted:
            lines += _wrap(f"{_env(d.env)}{d.spec_path} = {_value(d.value)}: {d.why}", "  ")
    lines += ["", f"Not representable ({len(report.unrepresentable)}): what to do"]
    for n in report.unrepresentable:
        lines += _wrap(f"{_env(n.env)}{n.source.file}:{n.source.line}: {n.what}: {n.todo}", "  ")
    if not report.unrepresentable:
        lines.append("  (nothing)")
    lines += ["", f"Differences of the generated pipeline from the original ({len(report.differences)})"]
    for d in report.differences:
        lines += _wrap(f"{_env(d.env)}{d.what}: was {d.original}; will be {d.generated}", "  ")
    return "\n".join(lines)
