"""Least privilege, for one IAM policy statement: the one analysis behind lint rules SS101-SS103
(`compiler/lint/iam_rules.py`, on every generated template) and the check of a stage action's
`policy_statements` (`compiler/spec/stage_checks.py`, at the spec's line).

`STAR_RESOURCE_ACTIONS` is the one list of actions allowed on Resource "*": actions for which
AWS offers no narrower resource. Each entry says why; docs/security.md is generated from it.

SS102 also reads every ARN in Resource (a string, or an Fn::Sub template with `${...}` taken as
given): a wildcard (`*`, `?`) in its partition, service, region or account, a resource that is
all wildcard (`arn:aws:s3:::*`), or a wildcard in the part that names the resource -- the
bucket of an S3 ARN (`arn:aws:s3:::*/*`), the secret of `secret:*`, the cluster and service of
`service/*/*`, an object key pattern such as `bucket/*.zip` -- grants more than one named
resource. Parts AWS generates stay open: a secret's 6-character suffix (`secret:<name>-??????`),
task and stream ids, revisions; and the objects under a named bucket and prefix (`bucket/prefix/*`). A statement narrowed by a condition on the resource (`NARROWING_CONDITION_KEYS`, e.g.
kms:ViaService with kms:EncryptionContext, iam:PassedToService) may name resources by wildcard;
so may the actions of `WILDCARD_NAME_ACTIONS` on their resource type, each with the reason.
"""

from __future__ import annotations

import re
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
    "secretsmanager:GetRandomPassword": "returns a random string (CloudFormation's GenerateSecretString); it acts on "
                                        "no resource",
}


# (action, service, resource type) allowed a wildcard in the resource's name, with why.
WILDCARD_NAME_ACTIONS: dict[tuple[str, str, str], str] = {
    ("ecs:TagResource", "ecs", "task-definition"):
        "the service's task definition family is not in the spec (the update script reads it from the service)",
    ("ecs:ListTagsForResource", "ecs", "task-definition"):
        "the service's task definition family is not in the spec (the update script reads it from the service)",
}
# Condition keys that narrow a statement to particular resources (or to use through one service).
NARROWING_CONDITION_KEYS = ("kms:ViaService", "kms:EncryptionContext:", "kms:ResourceAliases", "kms:RequestAlias",
                            "iam:PassedToService", "aws:ResourceTag/", "ecs:cluster", "ecs:service")
_WILDCARD = ("*", "?")
_SUBSTITUTION = re.compile(r"\$\{[^}]*\}")
# How many name segments (after the resource type) identify a resource, where that is not one.
_NAME_SEGMENTS: dict[tuple[str, str], int] = {
    ("ecs", "service"): 2, ("ecs", "task-set"): 2, ("ecs", "task"): 1, ("ecs", "container-instance"): 1,
    ("cloudformation", "stack"): 1, ("cloudformation", "changeSet"): 1,
}
SECRET_SUFFIX = "-??????"  # Secrets Manager appends 6 random characters to a secret's name in its ARN


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


def _split_arn(text: str) -> tuple[list[str], str] | None:
    """([partition, service, region, account], resource) of an ARN, `${...}` kept as one literal part."""
    if not text.startswith("arn:"):
        return None
    masked = _SUBSTITUTION.sub(lambda m: "\x00" * len(m.group(0)), text)
    parts = masked.split(":", 5)
    if len(parts) != 6:
        return None
    offsets, pos = [], 0
    for part in parts:
        offsets.append((pos, pos + len(part)))
        pos += len(part) + 1
    real = [text[a:b] for a, b in offsets]
    return real[1:5], real[5]


def _has_wildcard(text: str) -> bool:
    return any(w in _SUBSTITUTION.sub("", text) for w in _WILDCARD)


def _names(service: str, resource: str) -> tuple[str, list[str]]:
    """(resource type, the name segments that identify the resource) of an ARN's resource part."""
    if service == "s3":
        return "bucket", [resource.split("/", 1)[0]]
    masked = _SUBSTITUTION.sub(lambda m: "\x00" * len(m.group(0)), resource)
    cut = min((i for i in (masked.find("/"), masked.find(":")) if i >= 0), default=-1)
    if cut < 0:
        return "", [resource]  # the resource is its name (a topic, a queue, a pipeline)
    rtype, rest = resource[:cut], resource[cut + 1:]
    if service == "secretsmanager" and rtype == "secret" and rest.endswith(SECRET_SUFFIX):
        rest = rest[:-len(SECRET_SUFFIX)]
    if service == "ecs" and rtype == "task-definition":
        return rtype, [rest.split(":", 1)[0]]
    count = _NAME_SEGMENTS.get((service, rtype), 1)
    segments = re.split(r"[/:]", _SUBSTITUTION.sub(lambda m: "\x00" * len(m.group(0)), rest))
    names, pos = [], 0
    for seg in segments[:count]:
        names.append(rest[pos:pos + len(seg)])
        pos += len(seg) + 1
    return rtype, names


def narrowed(condition: Any) -> bool:
    """Whether a Condition block narrows the statement to particular resources (NARROWING_CONDITION_KEYS)."""
    if not isinstance(condition, Mapping):
        return False
    keys = [k for block in condition.values() if isinstance(block, Mapping) for k in block if isinstance(k, str)]
    return any(k.startswith(n) or k == n for k in keys for n in NARROWING_CONDITION_KEYS)


def wildcard_arn(text: str, actions: list, condition: Any = None) -> str | None:
    """What is too broad about one Resource ARN, or None (see the module's docstring)."""
    split = _split_arn(text)
    if split is None:
        return None
    (partition, service, region, account), resource = split
    for label, part in (("partition", partition), ("service", service), ("region", region), ("account", account)):
        if _has_wildcard(part):
            return f"{text!r}: its wildcard {label} matches the resource in every {label}"
    if not _SUBSTITUTION.sub("x", resource).strip("*?/:"):
        return f"{text!r}: matches every {service} resource"
    rtype, names = _names(service, resource)
    if narrowed(condition):
        return None
    if service == "s3" and "/" in resource and not any(_has_wildcard(n) for n in names):
        key = resource.split("/", 1)[1]
        if _has_wildcard(key.rstrip("*")) or key.endswith("**"):
            return f"{text!r}: selects objects by pattern; name the object, or a prefix ending in /*"
        return None
    if not any(_has_wildcard(n) or not n for n in names):
        return None
    if actions and all(isinstance(a, str) and (a, service, rtype) in WILDCARD_NAME_ACTIONS for a in actions):
        return None
    kind = f"{service} {rtype}" if rtype else service
    return f"{text!r}: names no single {kind} (a wildcard in its name)"


def wildcard_resources(statement: Mapping) -> list[Problem]:
    """SS102: an Allow statement's Resource ARNs with wildcards where AWS allows a name."""
    if statement.get("Effect") != "Allow":
        return []
    actions = [a for _, a in _values(statement, "Action")]
    out = []
    for path, res in _values(statement, "Resource"):
        text = resolved_text(res)
        problem = wildcard_arn(text, actions, statement.get("Condition")) if text else None
        if problem:
            out.append(Problem("SS102", path, f"Resource {problem}; name the resources, or narrow the statement "
                               "with a condition"))
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


CHECKS = (("SS101", wildcard_actions), ("SS102", star_resource), ("SS102", wildcard_resources),
          ("SS103", unscoped_pass_role))


def statement_problems(statement: Mapping, key_policy: bool = False) -> list[Problem]:
    """Every least-privilege problem of one statement, by rule id."""
    return [p for rule, check in CHECKS if not (key_policy and rule == "SS102") for p in check(statement)]
