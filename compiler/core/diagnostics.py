"""Diagnostics: where something is wrong and what to do about it.

Detection code creates `Diagnostic` values; `format_diagnostics` turns them into
text, JSON or GitHub annotations. Nothing here prints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Location:
    """A 1-based position in a file; `file` is relative to the repository root."""

    file: str
    line: int = 1
    col: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, order=True)
class Diagnostic:
    location: Location
    message: str
    path: str = ""
    severity: Severity = "error"
    code: str = ""

    def render(self) -> str:
        field = f"{printable(self.path)}: " if self.path else ""
        code = f"{self.code} " if self.code else ""
        return f"{self.location}: {self.severity}: {code}{field}{printable(self.message)}"

    def as_dict(self) -> dict:  # what dataclasses.asdict gives, flattened, without its deep copy (slow)
        loc = self.location
        return {"file": loc.file, "line": loc.line, "col": loc.col, "message": self.message, "path": self.path,
                "severity": self.severity, "code": self.code}

    @classmethod
    def from_dict(cls, d: dict) -> "Diagnostic":
        """A diagnostic stored as `as_dict` gave it (the build cache keeps warnings so)."""
        return cls(Location(d["file"], d["line"], d["col"]), d["message"], d["path"], d["severity"], d["code"])


class SpecError(Exception):
    """Raised with every diagnostic found, once collection is complete."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = sorted(set(diagnostics))
        super().__init__(f"{len(self.diagnostics)} error(s)")


def printable(text: str) -> str:
    """One line of text: control characters from user input are shown escaped."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def dotted(path: Iterable[Any]) -> str:
    """('source', 'additional', 0, 'name') -> 'source.additional[0].name'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _github_escape(text: str, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if prop:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def format_diagnostics(diags: Iterable[Diagnostic], fmt: str = "text") -> str:
    diags = sorted(set(diags))
    if fmt == "json":
        return json.dumps([d.as_dict() for d in diags], indent=2)
    if fmt == "github":
        lines = []
        for d in diags:
            title = f"{d.code} " if d.code else ""
            field = f"{d.path}: " if d.path else ""
            lines.append(
                f"::{d.severity} file={_github_escape(d.location.file, True)},"
                f"line={d.location.line},col={d.location.col}::"
                + _github_escape(f"{title}{field}{d.message}")
            )
        return "\n".join(lines)
    return "\n".join(d.render() for d in diags)
