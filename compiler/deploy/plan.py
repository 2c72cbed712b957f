"""The plan document: what `shipspec plan --format json` prints and `apply --plan` checks.

Format (version 1; documented for users in docs/plan-format.md)::

    {"version": 1,
     "fingerprint": "sha256:<hex>",        # over every stack's fingerprint, in document order
     "base": "<commit>" | null,            # merge base of --changed-since, when given
     "head": "<commit>" | null,            # HEAD of the repository, when it is a git work tree
     "target": "aws" | "local",            # local: the emulator from `shipspec local up`
     "notes": ["..."],                     # about the whole plan (e.g. what the emulator skips)
     "stacks": [{
        "service": "news-web" | null,      # null for bootstrap stacks
        "environment": "prod" | null,
        "kind": "bootstrap" | "pipeline" | "notification",
        "stack_name": "news-web-prod-pipeline", "account": "222222222222", "region": "ap-northeast-1",
        "status": "create" | "update" | "no-change" | "error",
        "change_set": {"name": "...", "id": "...", "type": "CREATE" | "UPDATE"} | null,
        "error": "<message>" | null,
        "template_sha256": "<hex>", "parameters": {"Name": "value"},
        "fingerprint": "sha256:<hex>",
        "notes": ["..."],
        "changes": [{
            "logical_id": "Repository", "resource_type": "AWS::ECR::Repository",
            "action": "Add" | "Modify" | "Remove" | "Import" | "Dynamic",
            "replacement": "True" | "False" | "Conditional" | null,
            "properties": ["RepositoryName"],
            "details": [{"path": "...", "before": ..., "after": ..., "requires_recreation": "..."}],
            "risk": "danger" | "caution" | "safe" | "churn",
            "source": "change-set" | "predicted" | "both",
            "policy_action": "Delete" | ... | null}]}],
     "orphans": [{"service", "environment", "stack_name", "account", "region", "status"}]}

A stack's fingerprint is sha256 over its stack name, account, region, template sha256,
parameters and normalized change list (logical id, type, action, replacement, property paths,
policy action: not values, risk or source), so a plan made before the stack's dependencies
existed (changes predicted) still matches the change set made when they do. Values in
`details` are masked (`****`) where they are secret (dynamic references, NoEcho parameters).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from .changes import ResourceChange, counts

VERSION = 1
STATUSES = ("create", "update", "no-change", "error")


def _sha(doc: Any) -> str:
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalized_changes(changes: Iterable[ResourceChange]) -> list[list]:
    return sorted([c.logical_id, c.resource_type, c.action, c.replacement or "",
                   sorted({p.path for p in c.properties}), c.policy_action or ""] for c in changes)


def stack_fingerprint(stack_name: str, account: str, region: str, template_sha256: str,
                      parameters: Iterable[tuple[str, str]], changes: Iterable[ResourceChange]) -> str:
    return _sha({"stack": stack_name, "account": account, "region": region, "template": template_sha256,
                 "parameters": sorted([k, v] for k, v in parameters), "changes": normalized_changes(changes)})


@dataclass(frozen=True)
class ChangeSetRef:
    name: str
    id: str
    type: str  # CREATE | UPDATE


@dataclass(frozen=True)
class StackPlan:
    """One stack's planned changes (or why it could not be planned)."""

    stack_name: str
    kind: str
    account: str
    region: str
    service: str | None
    environment: str | None
    status: str  # create | update | no-change | error
    template_sha256: str
    parameters: tuple[tuple[str, str], ...] = ()
    changes: tuple[ResourceChange, ...] = ()
    change_set: ChangeSetRef | None = None
    error: str | None = None
    notes: tuple[str, ...] = ()
    deferred: bool = False  # no change set yet: a stack it depends on is not deployed

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.account, self.region, self.stack_name)

    @property
    def fingerprint(self) -> str:
        return stack_fingerprint(self.stack_name, self.account, self.region, self.template_sha256,
                                 self.parameters, self.changes)

    @property
    def replacements(self) -> int:
        return sum(1 for c in self.changes if c.replacement == "True")

    @property
    def removals(self) -> int:
        return sum(1 for c in self.changes if c.action == "Remove")

    def risk_counts(self) -> dict[str, int]:
        return counts(self.changes)

    def to_json(self) -> dict:
        return {
            "service": self.service, "environment": self.environment, "kind": self.kind,
            "stack_name": self.stack_name, "account": self.account, "region": self.region,
            "status": self.status,
            "change_set": (None if self.change_set is None else
                           {"name": self.change_set.name, "id": self.change_set.id, "type": self.change_set.type}),
            "error": self.error,
            "template_sha256": self.template_sha256,
            "parameters": dict(self.parameters),
            "fingerprint": self.fingerprint,
            "notes": list(self.notes),
            "changes": [change_json(c) for c in self.changes],
        }


def change_json(c: ResourceChange) -> dict:
    return {"logical_id": c.logical_id, "resource_type": c.resource_type, "action": c.action,
            "replacement": c.replacement, "properties": [p.path for p in c.properties],
            "details": [p.to_json() for p in c.properties],
            "risk": c.risk, "source": c.source, "policy_action": c.policy_action}


@dataclass(frozen=True)
class Orphan:
    """A stack tagged `shipspec:service` whose spec no longer exists: listed, never deleted."""

    service: str
    environment: str
    stack_name: str
    account: str
    region: str
    status: str

    def to_json(self) -> dict:
        return {"service": self.service, "environment": self.environment, "stack_name": self.stack_name,
                "account": self.account, "region": self.region, "status": self.status}


@dataclass(frozen=True)
class Plan:
    stacks: tuple[StackPlan, ...]
    base: str | None = None
    head: str | None = None
    target: str = "aws"
    notes: tuple[str, ...] = ()
    orphans: tuple[Orphan, ...] = ()

    @property
    def fingerprint(self) -> str:
        return _sha([s.fingerprint for s in self.stacks])

    @property
    def errors(self) -> list[StackPlan]:
        return [s for s in self.stacks if s.status == "error"]

    @property
    def pending(self) -> list[StackPlan]:
        return [s for s in self.stacks if s.status in ("create", "update")]

    def to_json(self) -> dict:
        return {"version": VERSION, "fingerprint": self.fingerprint, "base": self.base, "head": self.head,
                "target": self.target, "notes": list(self.notes),
                "stacks": [s.to_json() for s in self.stacks],
                "orphans": [o.to_json() for o in self.orphans]}


def dumps(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2, sort_keys=False, ensure_ascii=False, default=str) + "\n"


@dataclass(frozen=True)
class PlannedStack:
    """What `apply --plan` needs from one stack entry of a plan file."""

    key: tuple[str, str, str]
    service: str | None
    environment: str | None
    kind: str
    status: str
    fingerprint: str
    template_sha256: str


@dataclass(frozen=True)
class PlanFile:
    fingerprint: str
    target: str
    stacks: dict = field(default_factory=dict)  # key -> PlannedStack

    def pairs(self) -> set[tuple[str, str]]:
        return {(s.service, s.environment) for s in self.stacks.values() if s.service}


class PlanFileError(ValueError):
    pass


def load_plan(text: str, where: str) -> PlanFile:
    """Parse a plan file; PlanFileError names what is wrong."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanFileError(f"{where}: not JSON ({exc.msg} at line {exc.lineno}); "
                            "write it with `shipspec plan --format json --output FILE`") from None
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        raise PlanFileError(f"{where}: not a shipspec plan of version {VERSION} "
                            f"(version: {doc.get('version') if isinstance(doc, dict) else None!r})")
    stacks = {}
    try:
        for i, s in enumerate(doc["stacks"]):
            key = (str(s["account"]), str(s["region"]), str(s["stack_name"]))
            stacks[key] = PlannedStack(key, s.get("service"), s.get("environment"), s.get("kind", ""),
                                       s["status"], s["fingerprint"], s.get("template_sha256", ""))
        return PlanFile(str(doc["fingerprint"]), str(doc.get("target", "aws")), stacks)
    except (KeyError, TypeError) as exc:
        raise PlanFileError(f"{where}: stacks[{len(stacks)}] lacks field {exc}; "
                            "the file was edited or is not a plan") from None
