"""Least privilege, for one IAM policy statement: the one analysis behind lint rules SS101-SS103
(`compiler/lint/iam_rules.py`, on every generated template) and the check of a stage action's
`policy_statements` (`compiler/spec/stage_checks.py`, at the spec's line).

`STAR_RESOURCE_ACTIONS` is the one list of actions allowed on Resource "*": actions for which
AWS offers no narrower resource. Each entry says why; docs/security.md is generated from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Union

PathPart = Union[str, int]

# Actions AWS authorises only on Resource "*" (no resource-level permissions), with the reason.
STAR_RESOURCE_ACTIONS: dict[str, str] = {
    "ecr:GetAuthorizationToken": "returns a registry-wide docker login token; ECR defines no resource type for it",
    "ecs:DescribeTaskDefinition": "the Service Authorization Reference lists no resource type for it",
    "ecs:RegisterTaskDefinition": "the Service Authorization Reference lists no resource type for it (the new "
                                  "revision does not exist yet)",
    "ecs:ListTasks": "lists tasks of a cluster but has no resource type; scope it with the ecs:cluster condition",
}


@dataclass(frozen=True)
class Problem:
    """What one least-privilege rule finds in one statement; `path` is inside the statement."""

    rule: str  # SS101, SS102 or SS103
    path: tuple[PathPart, ...]
    message: str


def as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def resolved_text(value: Any) -> str | None:
    """A string, or the template of an Fn::Sub (with ${...} kept) — None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and "Fn::Sub" in value:
        sub = value["Fn::Sub"]
        text = sub[0] if isinstance(sub, list) and sub else sub
        return text if isinstance(text, str) else None
    return None


def _values(statement: Mapping, key: str) -> list[tuple[tuple[PathPart, ...], Any]]:
    """(path, value) of each entry of a statement field that may be one value or a list."""
    value = statement.get(key)
    if isinstance(value, list):
        return [((key, i), v) for i, v in enumerate(value)]
    return [((key,), value)] if value is not None else []


def broad_action(action: Any) -> bool:
    return isinstance(action, str) and (action == "*" or action.split(":", 1)[-1] == "*")


def passed_to_service(condition: Any) -> bool:
    if not isinstance(condition, Mapping):
        return False
    for operator, keys in condition.items():
        if isinstance(operator, str) and operator.split(":")[-1] in ("StringEquals", "StringLike") \
                and isinstance(keys, Mapping) and "iam:PassedToService" in keys:
            return True
    return False


def wildcard_actions(statement: Mapping) -> list[Problem]:
    """SS101: an Allow statement grants `*`, `<service>:*`, or everything but what NotAction lists."""
    if statement.get("Effect") != "Allow":
        return []  # Deny s3:* (the TLS-only bucket policy) is narrowing, not granting
    out = [Problem("SS101", path, f"Allow statement grants wildcard action {action!r}")
           for path, action in _values(statement, "Action") if broad_action(action)]
    out += [Problem("SS101", path, f"Allow statement uses NotAction {action!r}, which grants every other action")
            for path, action in _values(statement, "NotAction")]
    return out


def star_resource(statement: Mapping) -> list[Problem]:
    """SS102: an Allow statement uses NotResource, or Resource "*" for an action AWS can scope.
    (Not for key policies, where "*" means the key itself: the caller knows.)"""
    if statement.get("Effect") != "Allow":
        return []
    out = []
    if "NotResource" in statement:
        out.append(Problem("SS102", ("NotResource",), "Allow statement uses NotResource"))
    if "*" in as_list(statement.get("Resource")):
        bad = [a for _, a in _values(statement, "Action") if not (isinstance(a, str) and a in STAR_RESOURCE_ACTIONS)]
        if bad:
            out.append(Problem("SS102", ("Resource",), f"Resource \"*\" for {', '.join(sorted(map(str, bad)))}, "
                               "which AWS can scope to specific resources"))
    return out


def unscoped_pass_role(statement: Mapping) -> list[Problem]:
    """SS103: iam:PassRole on anything but named roles, or without an iam:PassedToService condition."""
    if statement.get("Effect") != "Allow" or "iam:PassRole" not in [a for _, a in _values(statement, "Action")]:
        return []
    out = []
    for path, res in _values(statement, "Resource"):
        text = resolved_text(res)
        if text is not None and "*" in text:
            out.append(Problem("SS103", path, f"iam:PassRole on {text!r} is not a specific role"))
    if not passed_to_service(statement.get("Condition")):
        out.append(Problem("SS103", (), "iam:PassRole without an iam:PassedToService condition"))
    return out


CHECKS = {"SS101": wildcard_actions, "SS102": star_resource, "SS103": unscoped_pass_role}


def statement_problems(statement: Mapping, key_policy: bool = False) -> list[Problem]:
    """Every least-privilege problem of one statement, by rule id."""
    return [p for rule, check in CHECKS.items() if not (key_policy and rule == "SS102") for p in check(statement)]
