"""Parse a CloudFormation template, YAML or JSON, as CloudFormation reads it: short-form
intrinsics (`!Ref x`, `!GetAtt a.b`, `!Sub ...`) become their long form, and dates stay the
strings they were written as."""

from __future__ import annotations

from typing import Any

import yaml


class _TemplateLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML that also reads short-form intrinsics (`!Ref x` -> {"Ref": "x"}) and keeps
    dates as written."""


def _short_form(loader: Any, suffix: str, node: yaml.Node) -> dict:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    if suffix == "Condition":
        return {"Condition": value}
    return {f"Fn::{suffix}": value}


_TemplateLoader.add_multi_constructor("!", _short_form)
_TemplateLoader.add_constructor("tag:yaml.org,2002:timestamp",
                                lambda loader, node: loader.construct_scalar(node))


def load_template(text: str | bytes) -> dict:
    """Parse a CloudFormation template (YAML or JSON); ValueError if it is not a mapping."""
    try:
        data = yaml.load(text, Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ValueError(f"not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError("a template must be a mapping with a Resources section")
    return data
