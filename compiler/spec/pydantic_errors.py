"""pydantic's validation errors as diagnostics at the spec's line, with the field and a hint."""

from __future__ import annotations

import difflib
import os
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from ..core.diagnostics import Diagnostic, Location, dotted
from .merge import locate
from .models import ARN_FORMS, CrossAccountArn
from .yamlsrc import LDict


def _unwrap(tp: Any) -> list[Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(tp) for t in _unwrap(a)]
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    return [tp]


def types_at(model: type[BaseModel], path: tuple) -> list[Any]:
    """The types a value at `path` may have, walking fields, list items and dict values."""
    current: list[Any] = [model]
    for part in path:
        current = [t for tp in current for t in _step(tp, part)]
    return current


def _step(tp: Any, part: Any) -> list[Any]:
    if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str):
        f = tp.model_fields.get(part)
        return _unwrap(f.annotation) if f else []
    if typing.get_origin(tp) in (list, dict):
        return _unwrap(typing.get_args(tp)[-1])
    return []


def _models(types_: list[Any]) -> list[type[BaseModel]]:
    return [tp for tp in types_ if isinstance(tp, type) and issubclass(tp, BaseModel)]


def fields_at(model: type[BaseModel], path: tuple) -> list[str]:
    """Field names of the model found at `path` (for did-you-mean suggestions)."""
    return sorted({n for tp in _models(types_at(model, path)) for n in tp.model_fields})


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def without_form_tags(model: type[BaseModel], loc: tuple) -> tuple:
    """`loc` without the tags pydantic inserts for the form an ARN value took (models.ARN_FORMS)."""
    out: list[Any] = []
    for part in loc:
        if part in ARN_FORMS and CrossAccountArn in types_at(model, tuple(out)):
            continue
        out.append(part)
    return tuple(out)


def _did_you_mean(value: Any, allowed: list[str]) -> str:
    """"; did you mean 'X'?" for a near miss (case-insensitive), else ""."""
    if not isinstance(value, str) or not allowed:
        return ""
    # Compare what differs: BUILD_GENERAL1_TINY is no near miss of BUILD_GENERAL1_MEDIUM.
    common = os.path.commonprefix([a.lower() for a in allowed]) if len(allowed) > 1 else ""
    if not value.lower().startswith(common):
        common = ""
    by_rest = {a.lower()[len(common):]: a for a in allowed}
    close = difflib.get_close_matches(value.lower()[len(common):], list(by_rest), n=1, cutoff=0.6)
    return f"; did you mean '{by_rest[close[0]]}'?" if close else ""


def _literal_values(expected: str) -> list[str]:
    """The allowed values in pydantic's "'a', 'b' or 'c'"."""
    return [v.strip().strip("'") for v in expected.replace(" or ", ", ").split(",") if v.strip()]


def _custom_stage_hint(tree: LDict, loc: tuple, value: Any) -> str:
    """For `stages[i].after` naming a custom stage: how to place a stage after it."""
    if len(loc) != 3 or loc[0] != "stages" or loc[2] != "after" or not isinstance(value, str):
        return ""
    stages = tree.get("stages")
    for other in stages if isinstance(stages, list) else ():
        if isinstance(other, dict) and str(other.get("name", "")).lower() == value.lower():
            anchor = other.get("after")
            return (f"; '{other.get('name')}' is a custom stage, and a stage follows a built-in one: to run after it, "
                    f"give this stage after: {anchor} too and list it later (stages with the same `after` run in list "
                    "order)")
    return ""


def pydantic_diagnostics(exc: ValidationError, tree: LDict, model: type[BaseModel], file: str) -> list[Diagnostic]:
    diags = []
    for err in exc.errors(include_url=False):
        loc = without_form_tags(model, tuple(err["loc"]))
        kind = err["type"]
        on_key = bool(loc) and loc[-1] == "[key]"
        if on_key:  # a bad mapping key: point at the key itself
            loc = loc[:-1]
        value = err.get("input")
        ctx = err.get("ctx") or {}
        if kind == "extra_forbidden":
            where = locate(tree, loc, key=True)
            choices = fields_at(model, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), choices, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(choices)}"
            msg = f"unknown key '{loc[-1]}'; {hint}"
        elif kind == "missing":
            where = locate(tree, loc[:-1], key=True)
            msg = f"required field '{loc[-1]}' is missing"
        elif kind in ("literal_error", "enum"):
            where = locate(tree, loc)
            allowed = ctx.get("expected", "").replace("'", "")
            msg = (f"{_describe(value)} is not one of {allowed}"
                   f"{_custom_stage_hint(tree, loc, value) or _did_you_mean(value, _literal_values(ctx.get('expected', '')))}")
        elif kind == "string_pattern_mismatch":
            where = locate(tree, loc, key=on_key)
            msg = f"{_describe(value)} is not valid: it must match {ctx.get('pattern')}"
            desc = _field_description(model, loc)
            if desc:
                msg += f" ({desc})"
        elif kind == "string_type" and isinstance(value, (int, float, bool)):
            where = locate(tree, loc)
            msg = f"expected a string, got {type(value).__name__} {_describe(value)}; put it in quotes"
        else:
            where = locate(tree, loc)
            text = err["msg"]
            msg = text[0].lower() + text[1:] if text else kind
            if value is not None and not isinstance(value, (dict, list)):
                msg += f", got {_describe(value)}"
        diags.append(Diagnostic(where or Location(file), msg, _display_path(tree, loc)))
    return diags


def _display_path(tree: LDict, loc: tuple) -> str:
    """Paths inside the merged `environment` read as `environments.<env>...`, as written."""
    env = tree.get("environment")
    if loc and loc[0] == "environment" and isinstance(env, dict):
        return dotted(("environments", env.get("name", "?"), *loc[1:]))
    return dotted(loc)


def _field_description(model: type[BaseModel], loc: tuple) -> str:
    if not loc or not isinstance(loc[-1], str):
        return ""
    for tp in _models(types_at(model, loc[:-1])):
        if loc[-1] in tp.model_fields:
            return tp.model_fields[loc[-1]].description or ""
    return ""
