"""Evaluate a template's intrinsic functions as far as they can be known before deployment.

Parameters take the values given (a deployed stack's, or `--param`), else their Default; pseudo
parameters the environment's account and region. A `Ref`/`GetAtt` of a resource becomes a
`ResourceRef` (the importer follows it to the resource); what cannot be known (a NoEcho parameter
without a value, an `ImportValue`, a condition) becomes `Unknown` with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


@dataclass(frozen=True)
class ResourceRef:
    """`Ref` (attribute "") or `GetAtt` of a resource of the template."""

    logical_id: str
    attribute: str = ""


@dataclass(frozen=True)
class Unknown:
    """A value only known at deployment time."""

    why: str

    def __str__(self) -> str:
        return f"<{self.why}>"


@dataclass(frozen=True)
class Context:
    parameters: Mapping[str, Any]  # name -> value (given or default)
    no_echo: frozenset[str]
    resources: frozenset[str]
    account: str
    region: str
    stack_name: str = ""
    partition: str = "aws"

    @classmethod
    def of(cls, template_data: dict, given: Mapping[str, str], account: str, region: str,
           stack_name: str = "") -> "Context":
        params = template_data.get("Parameters") if isinstance(template_data.get("Parameters"), dict) else {}
        values: dict[str, Any] = {}
        no_echo = set()
        for name, spec in params.items():
            spec = spec if isinstance(spec, dict) else {}
            if str(spec.get("NoEcho", "")).lower() == "true":
                no_echo.add(name)
            if name in given and given[name] != "****":  # DescribeStacks masks NoEcho values
                values[name] = given[name]
            elif "Default" in spec and name not in no_echo:
                values[name] = spec["Default"]
        resources = template_data.get("Resources") if isinstance(template_data.get("Resources"), dict) else {}
        return cls(values, frozenset(no_echo), frozenset(resources), account, region, stack_name)

    def pseudo(self, name: str) -> Any:
        return {"AWS::AccountId": self.account, "AWS::Region": self.region, "AWS::Partition": self.partition,
                "AWS::URLSuffix": "amazonaws.com", "AWS::StackName": self.stack_name or Unknown("the stack name"),
                "AWS::NoValue": None}.get(name, Unknown(name))


def _ref(name: Any, ctx: Context) -> Any:
    if not isinstance(name, str):
        return Unknown("a Ref that is not a name")
    if name.startswith("AWS::"):
        return ctx.pseudo(name)
    if name in ctx.parameters:
        return ctx.parameters[name]
    if name in ctx.no_echo:
        return Unknown(f"NoEcho parameter {name}")
    if name in ctx.resources:
        return ResourceRef(name)
    return Unknown(f"parameter {name} without a value")


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def _sub(arg: Any, ctx: Context) -> Any:
    text, variables = (arg[0], arg[1] if len(arg) > 1 else {}) if isinstance(arg, list) and arg else (arg, {})
    if not isinstance(text, str) or not isinstance(variables, dict):
        return Unknown("a malformed Fn::Sub")
    local = {k: evaluate(v, ctx) for k, v in variables.items()}
    unknown: list[Unknown] = []

    def one(m: re.Match) -> str:
        name = m.group(1)
        if name in local:
            value = local[name]
        elif "." in name and name.split(".", 1)[0] in ctx.resources:
            value = ResourceRef(*name.split(".", 1))
        else:
            value = _ref(name, ctx)
        out = _text(value)
        if out is None:
            unknown.append(value if isinstance(value, Unknown) else Unknown(f"${{{name}}}, known only once deployed"))
            return m.group(0)
        return out

    result = _SUB.sub(one, text).replace("${!", "${")
    return unknown[0] if unknown else result


def evaluate(value: Any, ctx: Context) -> Any:
    """`value` with every intrinsic it holds evaluated (recursively)."""
    if isinstance(value, list):
        return [evaluate(v, ctx) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, arg), = value.items()
        if key == "Ref":
            return _ref(arg, ctx)
        if key == "Fn::GetAtt":
            parts = arg.split(".", 1) if isinstance(arg, str) else arg
            if isinstance(parts, list) and len(parts) == 2 and all(isinstance(p, str) for p in parts):
                return ResourceRef(parts[0], parts[1])
            return Unknown("a malformed Fn::GetAtt")
        if key == "Fn::Sub":
            return _sub(arg, ctx)
        if key == "Fn::Join" and isinstance(arg, list) and len(arg) == 2:
            sep, items = evaluate(arg[0], ctx), evaluate(arg[1], ctx)
            if not isinstance(items, list):
                return items if isinstance(items, Unknown) else Unknown("a malformed Fn::Join")
            texts = [_text(i) for i in items]
            bad = next((i for i, t in zip(items, texts) if t is None), None)
            if bad is not None or not isinstance(sep, str):
                return bad if isinstance(bad, Unknown) else Unknown("a Fn::Join of values known only once deployed")
            return sep.join(t for t in texts if t is not None)
        if key == "Fn::Select" and isinstance(arg, list) and len(arg) == 2:
            index, items = evaluate(arg[0], ctx), evaluate(arg[1], ctx)
            try:
                return items[int(index)] if isinstance(items, list) else Unknown("a Fn::Select of an unknown list")
            except (ValueError, IndexError):
                return Unknown("a Fn::Select out of range")
        if key == "Fn::Split" and isinstance(arg, list) and len(arg) == 2:
            sep, text = evaluate(arg[0], ctx), evaluate(arg[1], ctx)
            return text.split(sep) if isinstance(sep, str) and isinstance(text, str) else Unknown("a Fn::Split")
        if key == "Fn::ImportValue":
            return Unknown(f"the export {evaluate(arg, ctx)} of another stack")
        if key in ("Fn::If", "Fn::FindInMap", "Fn::GetAZs", "Fn::Base64", "Fn::Cidr", "Fn::Transform"):
            return Unknown(f"{key}, which import does not evaluate")
    return {k: evaluate(v, ctx) for k, v in value.items()}
