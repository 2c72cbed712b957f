"""The change model shared by `diff` (predicted offline) and `plan`/`apply` (from change sets).

A `ResourceChange` is one resource's change in one stack; `classify` gives it a risk from the
one risk table below; `merge` joins what a change-set engine reported with what the offline
prediction saw, filling in what the engine left out (moto gives no replacement data).

Risk table (most dangerous first):

=========  =====================================================================================
danger     Replacement (`True`) of a stateful resource (`STATEFUL_TYPES`): the stack switches to a
           new, empty resource (an empty repository or bucket, a key that cannot decrypt old data,
           a topic without its subscriptions) even when the old one is retained.
           Remove of a stateful resource unless its deletion policy keeps it (policy action
           `Retain`/`Snapshot`, or `DeletionPolicy: Retain`/`Snapshot` in the old template).
caution    Remove of a stateful resource that is kept (Retain/Snapshot); a `Conditional`
           replacement; a `Dynamic` change; replacement or Remove of any other resource; a Modify
           whose replacement is unknown.
safe       In-place Modify (replacement `False`), Add, Import.
churn      Expected noise: any change of a type that is replaced by design on every update
           (`CHURN_TYPES`: a new ECS task-definition revision, a new Lambda version).
=========  =====================================================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any, Iterable, Mapping

DANGER, CAUTION, SAFE, CHURN = "danger", "caution", "safe", "churn"
RISK_ORDER = (DANGER, CAUTION, SAFE, CHURN)
ACTIONS = ("Add", "Modify", "Remove", "Import", "Dynamic")

# Resources that hold data (or, for topics, subscriptions) that a delete or replacement loses.
STATEFUL_TYPES = frozenset({
    "AWS::ECR::Repository",        # images
    "AWS::S3::Bucket",             # objects (artifacts, Lambda zips)
    "AWS::KMS::Key",               # everything encrypted with it becomes unreadable
    "AWS::Logs::LogGroup",         # logs
    "AWS::SecretsManager::Secret",  # the secret value
    "AWS::SNS::Topic",             # its subscriptions (confirmed e-mail addresses)
    "AWS::DynamoDB::Table",
    "AWS::DynamoDB::GlobalTable",
    "AWS::EFS::FileSystem",
})
STATEFUL_PREFIXES = ("AWS::RDS::",)

# Types CloudFormation replaces on every change, by design: the replacement is the point.
CHURN_TYPES = frozenset({"AWS::ECS::TaskDefinition", "AWS::Lambda::Version"})

# Change-set PolicyAction values of a Remove that keep the resource and its data.
KEEPING_POLICY_ACTIONS = frozenset({"Retain", "Snapshot"})
KEEPING_POLICIES = frozenset({"Retain", "RetainExceptOnCreate", "Snapshot"})


@dataclass(frozen=True)
class PropertyChange:
    """One changed property, by CloudFormation property path without `Properties.`, naming list
    elements by their key where they have one (compiler/deploy/keyed.py: `Environment.ComputeType`,
    `Stages[Test].Actions[Unit].RunOrder`, `Tags[team].Value`), or a resource attribute name
    (`DeletionPolicy`, `UpdateReplacePolicy`, `DependsOn`, `Type`).

    `op` says what happens at the path: `modify` (before -> after), `add` or `remove` (a whole
    element or property; `position` says where an element of an ordered list goes, e.g. "after
    Source"), `move` (an element of an ordered list changes place: before and after are its
    positions), `reorder` (the same elements in another order, which has no effect: before and
    after are the keys in order)."""

    path: str
    before: Any = None  # None when unknown or absent
    after: Any = None
    requires_recreation: str = ""  # Never | Conditionally | Always | "" (unknown)
    cause: str = ""  # set when the template text is unchanged but a value it refers to changes
    op: str = "modify"  # modify | add | remove | move | reorder
    position: str = ""  # for an added element of an ordered list: "first" or "after <key>"

    def to_json(self) -> dict:
        return {"path": self.path, "op": self.op, "before": self.before, "after": self.after,
                "position": self.position, "requires_recreation": self.requires_recreation, "cause": self.cause}


@dataclass(frozen=True)
class ResourceChange:
    logical_id: str
    resource_type: str
    action: str  # Add | Modify | Remove | Import | Dynamic
    replacement: str | None  # "True" | "False" | "Conditional" | None
    properties: tuple[PropertyChange, ...] = ()
    risk: str = SAFE  # danger | caution | safe | churn
    source: str = "predicted"  # change-set | predicted | both
    policy_action: str | None = None  # Delete, Retain, Snapshot, ReplaceAndDelete, ...

    def to_json(self) -> dict:
        return {"logical_id": self.logical_id, "resource_type": self.resource_type, "action": self.action,
                "replacement": self.replacement, "risk": self.risk, "source": self.source,
                "policy_action": self.policy_action, "properties": [p.to_json() for p in self.properties]}


def is_stateful(resource_type: str) -> bool:
    return resource_type in STATEFUL_TYPES or resource_type.startswith(STATEFUL_PREFIXES)


def _keeps_data(change: ResourceChange, template_resource: Mapping | None) -> bool:
    """Whether a removed resource survives its Remove (Retain/Snapshot)."""
    if change.policy_action:
        return change.policy_action in KEEPING_POLICY_ACTIONS
    if not isinstance(template_resource, Mapping):
        return False
    return template_resource.get("DeletionPolicy") in KEEPING_POLICIES


def classify(change: ResourceChange, template_resource: Mapping | None = None) -> str:
    """The risk of one change (see the table above). `template_resource` is the resource's entry
    in the old template, read for its DeletionPolicy when a Remove carries no policy action."""
    if change.resource_type in CHURN_TYPES:
        return CHURN
    action, replacement = change.action, change.replacement
    stateful = is_stateful(change.resource_type)
    if action == "Remove":
        return DANGER if stateful and not _keeps_data(change, template_resource) else CAUTION
    if replacement == "True":
        return DANGER if stateful else CAUTION
    if change.policy_action in ("Delete", "ReplaceAndDelete") and stateful:
        return DANGER
    if action == "Dynamic" or replacement == "Conditional":
        return CAUTION
    if action == "Modify" and replacement is None:
        return CAUTION
    return SAFE


def with_risk(change: ResourceChange, template_resource: Mapping | None = None) -> ResourceChange:
    return replace(change, risk=classify(change, template_resource))


def sort_key(change: ResourceChange) -> tuple[int, str]:
    """Most dangerous first, then by logical id."""
    rank = RISK_ORDER.index(change.risk) if change.risk in RISK_ORDER else len(RISK_ORDER)
    return (rank, change.logical_id)


def pointer_to_path(pointer: str) -> str:
    """A change-set Target.Path (`/Properties/Stages/2/Actions/0`) as a property path
    (`Stages[2].Actions[0]`)."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.strip("/").split("/") if p]
    if parts and parts[0] == "Properties":
        parts = parts[1:]
    out = ""
    for part in parts:
        out += f"[{part}]" if part.isdigit() else ("." if out else "") + part
    return out


def _covers(general: str, specific: str) -> bool:
    return specific.startswith(general) and specific[len(general):][:1] in (".", "[")


_INDEX = re.compile(r"\[\d+\]")
_RECREATION = ("", "Never", "Conditionally", "Always")


def _top(path: str) -> str:
    """The top-level property of a path (`Stages[1].Name` -> `Stages`)."""
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def _worse(a: str, b: str) -> str:
    return max(a, b, key=lambda r: _RECREATION.index(r) if r in _RECREATION else 0)


def _merge_properties(engine: tuple[PropertyChange, ...],
                      predicted: tuple[PropertyChange, ...]) -> tuple[PropertyChange, ...]:
    if not engine:
        return predicted
    # A change set names list elements by position; the prediction of the same templates names
    # them by key (compiler/deploy/keyed.py). Under a top-level property the prediction covers,
    # its paths stand for the engine's positional ones, taking the worst recreation either saw.
    covered = {_top(p.path) for p in predicted}
    positional = [e for e in engine if _INDEX.search(e.path) and _top(e.path) in covered]
    worst: dict[str, str] = {}
    for e in positional:
        worst[_top(e.path)] = _worse(worst.get(_top(e.path), ""), e.requires_recreation)
    if positional:
        predicted = tuple(replace(p, requires_recreation=_worse(p.requires_recreation, worst[_top(p.path)]))
                          if _top(p.path) in worst else p for p in predicted)
        engine = tuple(e for e in engine if e not in positional)
    by_path = {p.path: p for p in predicted}
    out: list[PropertyChange] = []
    used: set[str] = set()
    for e in engine:
        same = by_path.get(e.path)
        finer = [p for p in predicted if _covers(e.path, p.path)] if same is None else []
        if same is not None:
            used.add(same.path)
            out.append(replace(
                same,
                before=e.before if e.before is not None else same.before,
                after=e.after if e.after is not None else same.after,
                requires_recreation=e.requires_recreation or same.requires_recreation,
                cause=e.cause or same.cause))
        elif finer and e.before is None and e.after is None:
            # The engine named only the top-level property; the prediction has the exact paths.
            for p in finer:
                used.add(p.path)
                out.append(replace(p, requires_recreation=e.requires_recreation or p.requires_recreation))
        else:
            out.append(e)
    out += [p for p in predicted if p.path not in used and not any(_covers(o.path, p.path) for o in out)]
    return tuple(out)


def merge(engine: Iterable[ResourceChange], predicted: Iterable[ResourceChange],
          resources: Mapping[str, Mapping] | None = None) -> list[ResourceChange]:
    """Join engine (change-set) and predicted changes by logical id, most dangerous first.

    The engine is authoritative for what it reports (action, replacement, policy action, property
    values); the prediction fills in what it left out. `source` says who saw each change; the risk
    is recomputed (`resources` optionally maps logical ids to template entries for their policies).
    """
    engine, predicted = list(engine), list(predicted)
    pred_by_id = {c.logical_id: c for c in predicted}
    seen: set[str] = set()
    out: list[ResourceChange] = []
    for e in engine:
        p = pred_by_id.get(e.logical_id)
        if p is None:
            merged = replace(e, source="change-set")
        else:
            seen.add(e.logical_id)
            merged = ResourceChange(
                logical_id=e.logical_id,
                resource_type=e.resource_type or p.resource_type,
                action=e.action,
                replacement=e.replacement if e.replacement is not None else p.replacement,
                properties=_merge_properties(e.properties, p.properties),
                source="both",
                policy_action=e.policy_action if e.policy_action is not None else p.policy_action,
            )
        out.append(with_risk(merged, (resources or {}).get(merged.logical_id)))
    for p in predicted:
        if p.logical_id not in seen:
            out.append(with_risk(replace(p, source="predicted"), (resources or {}).get(p.logical_id)))
    return sorted(out, key=sort_key)


# --- masking ------------------------------------------------------------------------------------

MASK = "****"
SECRET_REFERENCES = ("{{resolve:secretsmanager", "{{resolve:ssm-secure")


def mask_value(value: Any, secret_parameters: Iterable[str] = ()) -> Any:
    """`value` with secret-looking parts replaced by `****`: strings holding a Secrets Manager or
    SecureString dynamic reference, and references to NoEcho parameters."""
    secret = frozenset(secret_parameters)
    return _mask(value, secret)


def _mask(value: Any, secret: frozenset) -> Any:
    if isinstance(value, str):
        return MASK if any(s in value for s in SECRET_REFERENCES) else value
    if isinstance(value, list):
        return [_mask(v, secret) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and value.get("Ref") in secret:
            return MASK
        if len(value) == 1 and "Fn::Sub" in value and _sub_mentions(value["Fn::Sub"], secret):
            return MASK
        return {k: _mask(v, secret) for k, v in value.items()}
    return value


def _sub_mentions(arg: Any, secret: frozenset) -> bool:
    text = arg[0] if isinstance(arg, list) and arg else arg
    return isinstance(text, str) and any("${" + name + "}" in text for name in secret)


def mask_change(change: ResourceChange, secret_parameters: Iterable[str] = ()) -> ResourceChange:
    secret = frozenset(secret_parameters)
    props = tuple(replace(p, before=_mask(p.before, secret), after=_mask(p.after, secret))
                  for p in change.properties)
    return replace(change, properties=props)


def counts(changes: Iterable[ResourceChange]) -> dict[str, int]:
    """Number of changes per risk, in risk order."""
    out = {r: 0 for r in RISK_ORDER}
    for c in changes:
        out[c.risk] = out.get(c.risk, 0) + 1
    return out
