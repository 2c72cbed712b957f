"""A CloudFormation template (YAML with short-form intrinsics, or JSON) with the line of every value.

The values are those `compiler/deploy/predict.py:load_template` returns (`!Ref x` -> {"Ref": "x"},
`!GetAtt a.b` -> {"Fn::GetAtt": ["a", "b"]}, dates kept as written); on top, `line(path)` says where
a value was written, so a report can point at `file:line`. Safe YAML only; size-limited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..core.diagnostics import Diagnostic, Location, SpecError

MAX_BYTES = 2_000_000  # CloudFormation's own limit is 1 MB through S3
Path_ = tuple  # of str keys and int indexes


@dataclass(frozen=True)
class Template:
    """A parsed template: its data, the file it came from, and the line of each value."""

    file: str
    data: dict
    lines: dict = field(default_factory=dict, compare=False, repr=False)  # path tuple -> line (1-based)

    def line(self, path: Path_) -> int:
        """The line of the value at `path`, or of its nearest ancestor written in the file."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return 1

    def where(self, path: Path_) -> Location:
        return Location(self.file, self.line(path))

    @property
    def resources(self) -> dict:
        r = self.data.get("Resources")
        return r if isinstance(r, dict) else {}

    @property
    def parameters(self) -> dict:
        p = self.data.get("Parameters")
        return p if isinstance(p, dict) else {}


class _Constructor(yaml.SafeLoader):
    """Only for its scalar constructors (bool, int, null, ... as YAML 1.1 safe loading reads them)."""


_SCALAR = _Constructor("")


def _scalar(node: yaml.ScalarNode) -> Any:
    if node.tag == "tag:yaml.org,2002:timestamp" or node.tag.startswith("!"):
        return node.value
    ctor = _SCALAR.yaml_constructors.get(node.tag)
    return ctor(_SCALAR, node) if ctor else node.value


def _short_form(tag: str, value: Any) -> dict:
    name = tag[1:]
    if name == "Ref":
        return {"Ref": value}
    if name == "Condition":
        return {"Condition": value}
    if name == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{name}": value}


def _convert(node: yaml.Node, path: tuple, lines: dict, depth: int = 0) -> Any:
    if depth > 100:
        raise ValueError("nesting deeper than 100 levels")
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise ValueError(f"line {key_node.start_mark.line + 1}: mapping keys must be strings")
            if key == "<<":
                raise ValueError(f"line {key_node.start_mark.line + 1}: merge keys ('<<') are not supported")
            lines[path + (key,)] = key_node.start_mark.line + 1  # the key's line: where a person looks
            out[key] = _convert(value_node, path + (key,), lines, depth + 1)
        value: Any = out
    elif isinstance(node, yaml.SequenceNode):
        value = [_convert(item, path + (i,), lines, depth + 1) for i, item in enumerate(node.value)]
    else:
        value = _scalar(node)
    if node.tag.startswith("!"):
        value = _short_form(node.tag, value)
    return value


def parse(text: str, file: str) -> Template:
    """The template in `text`; SpecError (at file:line) when it is not YAML or JSON, not a mapping."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise SpecError([Diagnostic(Location(file, mark.line + 1 if mark else 1, mark.column + 1 if mark else 1),
                                    f"not valid YAML or JSON: {exc.problem or exc.context}")]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Diagnostic(Location(file), f"not valid YAML or JSON: {exc}")]) from None
    if node is None or not isinstance(node, yaml.MappingNode):
        raise SpecError([Diagnostic(Location(file), "not a CloudFormation template: a template is a mapping "
                                    "with a Resources section")])
    lines: dict = {}
    try:
        data = _convert(node, (), lines)
    except ValueError as exc:
        raise SpecError([Diagnostic(Location(file), f"cannot read the template: {exc}")]) from None
    return Template(file, data, lines)


def read(path: Path, display: str) -> Template:
    """Read and parse a template file (size-limited, UTF-8)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as exc:
        raise SpecError([Diagnostic(Location(display), f"cannot read the template: {exc.strerror}")]) from None
    if len(raw) > MAX_BYTES:
        raise SpecError([Diagnostic(Location(display), f"larger than {MAX_BYTES // 1_000_000} MB; "
                                    "not a CloudFormation template")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError([Diagnostic(Location(display), f"not UTF-8 text (byte {exc.start})")]) from None
    return parse(text, display)
