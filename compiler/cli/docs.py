"""Reference docs generated from the one source of truth: the models and the CLI parser.

README.md holds the output between markers; `shipspec schema` rewrites those blocks
and `shipspec check` (and a test) fail when they are stale.
"""

from __future__ import annotations

import re
import typing
from typing import Any

from pydantic import BaseModel

README = "README.md"
BLOCKS = ("spec-reference", "cli-reference", "troubleshooting")


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map of {_type_name(args[0])} to {_type_name(args[1])}"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return f"[{tp.__name__}](#{tp.__name__.lower()})"
    return getattr(tp, "__name__", str(tp))


def _default(field: Any) -> str:
    if field.is_required():
        return "**required**"
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "—"
    if isinstance(value, BaseModel):
        return "(defaults)"
    if value in ({}, [], ""):
        return "empty"
    return f"`{value}`".replace("'", "")


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []

    def visit(tp: Any) -> None:
        for arg in typing.get_args(tp):
            visit(arg)
        if isinstance(tp, type) and issubclass(tp, BaseModel) and tp not in seen:
            seen.append(tp)
            for f in tp.model_fields.values():
                visit(f.annotation)

    visit(root)
    return seen


def spec_reference() -> str:
    from ..spec.models import ServiceConfig
    from ..spec.project import ENV_OVERRIDABLE

    lines = [
        "Keys are snake_case; unknown keys are errors. Values merge as: model defaults < "
        "`services/_defaults.yaml` < the spec < `environments.<env>` of the spec (maps merge deeply, lists and "
        f"scalars replace). An environment entry holds `account`, `region` and overrides of "
        f"{', '.join(f'`{k}`' for k in ENV_OVERRIDABLE)}.",
        "",
    ]
    for model in _models(ServiceConfig):
        title = "Service spec (top level)" if model is ServiceConfig else model.__name__
        lines += [f"#### {model.__name__}" if model is not ServiceConfig else f"#### {title}", ""]
        if model.__doc__ and model is not ServiceConfig:
            lines += [" ".join(model.__doc__.split()), ""]
        lines += ["| key | type | default | description |", "|---|---|---|---|"]
        for name, f in model.model_fields.items():
            key = "environments.*name*" if (model is ServiceConfig and name == "environment") else name
            desc = " ".join((f.description or "").split()).replace("|", "\\|")
            lines.append(f"| `{key}` | {_type_name(f.annotation)} | {_default(f)} | {desc} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def cli_reference() -> str:
    from .main import build_parser

    parser, _modules = build_parser(width=100)
    lines = ["```text", parser.format_usage().strip(), "```", ""]
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sorted(sub.choices.items()):
        lines += [f"#### `shipspec {name}`", "", " ".join((p.description or "").split()), "", "```text",
                  p.format_usage().strip().replace("usage: ", ""), "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def troubleshooting() -> str:
    """The known-failure table `shipspec doctor` matches, one line an entry, linking the full page."""
    from ..core.known_failures import KNOWN_FAILURES, doc_anchor

    lines = ["`shipspec doctor NAME --env ENV` matches the service's events and stopped tasks against these "
             "known failures (first match wins) and checks the image, secrets, capacity and ECS agent settings; "
             "each entry's meaning, fix and AWS documentation link are in "
             "[docs/troubleshooting.md](docs/troubleshooting.md).", ""]
    lines += [f"- [{f.title}]({doc_anchor(f.id)}) (`{f.id}`)" for f in KNOWN_FAILURES]
    return "\n".join(lines) + "\n"


def render_block(name: str) -> str:
    return {"spec-reference": spec_reference, "cli-reference": cli_reference,
            "troubleshooting": troubleshooting}[name]()


def update_readme(text: str) -> str:
    """README text with every generated block replaced by its current content."""
    for name in BLOCKS:
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
        body = render_block(name)
        text, n = pattern.subn(lambda m: m.group(1) + body + m.group(2), text)
        if n != 1:
            raise ValueError(f"README.md needs exactly one <!-- {name}:start --> ... <!-- {name}:end --> block")
    return text
