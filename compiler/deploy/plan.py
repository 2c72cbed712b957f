"""The plan document: what `shipspec plan --format json` prints and `apply --plan` checks.

Format (version 2; documented for users in docs/plan-format.md)::

    {"version": 2,
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
        "deployed": {"last_event_id": "...", "template_sha256": "<hex>"} | null,  # the stack when planned
        "fingerprint": "sha256:<hex>",
        "notes": ["..."],
        "changes": [{
            "logical_id": "Repository", "resource_type": "AWS::ECR::Repository",
            "action": "Add" | "Modify" | "Remove" | "Import" | "Dynamic",
            "replacement": "True" | "False" | "Conditional" | null,
            "properties": ["RepositoryName"],
            "details": [{"path": "Stages[Test]", "op": "add" | "remove" | "modify" | "move" | "reorder",
                         "before": ..., "after": ..., "position": "after Source" | "",
                         "requires_recreation": "...", "cause": "..."}],
            "risk": "danger" | "caution" | "safe" | "churn",
            "source": "change-set" | "predicted" | "both",
            "policy_action": "Delete" | ... | null}],
        "runtime": {...} | null}],           # pipeline stacks: the container-level change (deploy/runtime.py)
     "orphans": [{"service", "environment", "stack_name", "account", "region", "status"}]}

A stack's fingerprint is sha256 over what applying it would do and what it would be applied to:
stack name, account, region, status, template sha256, parameters, the deployed stack it was
planned against (its last event id and its template's sha256: apply refuses when the stack
changed since), every change with its values (logical id, type, action, replacement, risk,
policy action, and per property path, op, position, before, after and whether it recreates the
resource) and the runtime change (compiler/deploy/runtime.py); not who reported a change or when
the plan ran. The plan's fingerprint is sha256
over the fingerprints of the stacks that change, in a fixed order, so it does not depend on how a
run was sharded. `shipspec plan` prints it, `plan-gate` compares it, `apply --plan` holds each
stack to it, and `read_plan` recomputes every fingerprint of a file and refuses one that was
edited. Values in `details` are masked (`****`) where they are secret (dynamic references,
NoEcho parameters).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any, Iterable

from .changes import PropertyChange, ResourceChange, counts
from .runtime import RuntimeChange

VERSION = 2
STATUSES = ("create", "update", "no-change", "error")


def _json(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def _sha(doc: Any) -> str:
    return "sha256:" + hashlib.sha256(_json(doc).encode("utf-8")).hexdigest()


def _canonical_change(c: ResourceChange) -> list:
    return [c.logical_id, c.resource_type, c.action, c.replacement or "", c.risk, c.policy_action or "",
            [[p.path, p.op, p.position, p.before, p.after, p.requires_recreation, p.cause]
             for p in sorted(c.properties, key=lambda p: (p.path, p.op))]]


def change_shape(changes: Iterable[ResourceChange]) -> list[list]:
    """What changes, without values: the same for a prediction and the change set made later."""
    return sorted([c.logical_id, c.resource_type, c.action, c.replacement or "",
                   sorted({p.path for p in c.properties}), c.policy_action or ""] for c in changes)


@dataclass(frozen=True)
class ChangeSetRef:
    name: str
    id: str
    type: str  # CREATE | UPDATE


@dataclass(frozen=True)
class DeployedState:
    """The deployed stack a plan was made against: its newest event and its template. Any update,
    rollback or deletion since changes at least one of them."""

    last_event_id: str
    template_sha256: str  # sha256 of the deployed template (canonical JSON)

    def to_json(self) -> dict:
        return {"last_event_id": self.last_event_id, "template_sha256": self.template_sha256}


def template_digest(template: Any) -> str:
    """sha256 of a parsed template, as canonical JSON (the same whichever way it was written)."""
    return hashlib.sha256(_json(template).encode("utf-8")).hexdigest()


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
    deployed: DeployedState | None = None  # the stack as planned against (None: not deployed)
    runtime: RuntimeChange | None = None  # pipeline stacks: what the change does to the running container

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.account, self.region, self.stack_name)

    @property
    def label(self) -> str:
        """The stack's name with its account and region (one name, the bootstrap stack's, is in several)."""
        return f"{self.stack_name} ({self.account}/{self.region})"

    @property
    def fingerprint(self) -> str:
        return _sha({"stack": self.stack_name, "account": self.account, "region": self.region,
                     "status": self.status, "template": self.template_sha256,
                     "parameters": sorted([k, v] for k, v in self.parameters),
                     "deployed": self.deployed.to_json() if self.deployed else None,
                     "changes": sorted(map(_canonical_change, self.changes), key=_json),
                     "runtime": self.runtime.to_json() if self.runtime else None})

    @property
    def has_changes(self) -> bool:
        """Whether applying it would (or might: an error) change the stack."""
        return self.status != "no-change" or bool(self.changes)

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
            "deployed": self.deployed.to_json() if self.deployed else None,
            "fingerprint": self.fingerprint,
            "notes": list(self.notes),
            "changes": [change_json(c) for c in self.changes],
            "runtime": self.runtime.to_json() if self.runtime else None,
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
        """What the stacks that change would do, in a fixed order (not the order or sharding of the run)."""
        return _sha(sorted(s.fingerprint for s in self.stacks if s.has_changes))

    @property
    def errors(self) -> list[StackPlan]:
        return [s for s in self.stacks if s.status == "error"]

    @property
    def pending(self) -> list[StackPlan]:
        return [s for s in self.stacks if s.status in ("create", "update")]

    def by_key(self) -> dict[tuple[str, str, str], StackPlan]:
        return {s.key: s for s in self.stacks}

    @property
    def runtime(self) -> list[RuntimeChange]:
        """The runtime changes of the plan's services, in plan order."""
        return [s.runtime for s in self.stacks if s.runtime is not None and s.runtime.changed]

    def action_items(self) -> list[str]:
        """What a person must do besides applying (files to copy to service repositories)."""
        return [item for r in self.runtime for item in r.action_items()]

    def pairs(self) -> set[tuple[str, str]]:
        return {(s.service, s.environment) for s in self.stacks if s.service and s.environment}

    def only(self, env: str | None) -> "Plan":
        """The plan of one environment's stacks (all of them for None)."""
        return self if env is None else replace(self, stacks=tuple(s for s in self.stacks if s.environment == env))

    def to_json(self) -> dict:
        return {"version": VERSION, "fingerprint": self.fingerprint, "base": self.base, "head": self.head,
                "target": self.target, "notes": list(self.notes),
                "stacks": [s.to_json() for s in self.stacks],
                "orphans": [o.to_json() for o in self.orphans]}


def combine(plans: Iterable[Plan]) -> Plan:
    """Several plans (the shards of one run) as one; a stack in more than one counts once."""
    plans = list(plans)
    stacks = {s.key: s for p in plans for s in p.stacks}
    first = plans[0] if plans else Plan(())
    return replace(first, stacks=tuple(stacks.values()), orphans=tuple(dict.fromkeys(o for p in plans for o in p.orphans)))


def dumps(plan: Plan) -> str:
    return json.dumps(plan.to_json(), indent=2, sort_keys=False, ensure_ascii=False, default=str) + "\n"


class PlanFileError(ValueError):
    pass


def _change(d: dict) -> ResourceChange:
    return ResourceChange(str(d["logical_id"]), str(d["resource_type"]), str(d["action"]), d.get("replacement"),
                          tuple(PropertyChange(str(p["path"]), p.get("before"), p.get("after"),
                                               str(p.get("requires_recreation") or ""), str(p.get("cause") or ""),
                                               str(p["op"]), str(p.get("position") or ""))
                                for p in d.get("details") or ()),
                          str(d.get("risk") or ""), str(d.get("source") or ""), d.get("policy_action"))


def _stack(d: dict) -> StackPlan:
    ref = d.get("change_set")
    return StackPlan(
        str(d["stack_name"]), str(d.get("kind") or ""), str(d["account"]), str(d["region"]), d.get("service"),
        d.get("environment"), str(d["status"]), str(d.get("template_sha256") or ""),
        tuple((str(k), str(v)) for k, v in (d.get("parameters") or {}).items()),
        tuple(_change(c) for c in d.get("changes") or ()),
        ChangeSetRef(str(ref["name"]), str(ref["id"]), str(ref["type"])) if ref else None,
        d.get("error"), tuple(d.get("notes") or ()),
        deployed=DeployedState(str(dep["last_event_id"]), str(dep["template_sha256"])) if (dep := d["deployed"]) else None,
        runtime=RuntimeChange.from_json(d["runtime"]) if d["runtime"] else None)


def read_plan(text: str, where: str) -> Plan:
    """The plan a file holds, every fingerprint recomputed from its contents; PlanFileError says what
    is wrong (not JSON, another version, a missing field, or contents that no longer match their
    fingerprint: the file was edited)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanFileError(f"{where}: not JSON ({exc.msg} at line {exc.lineno}); "
                            "write it with `shipspec plan --format json --output FILE`") from None
    version = doc.get("version") if isinstance(doc, dict) else None
    if isinstance(version, int) and not isinstance(version, bool) and 0 < version < VERSION:
        raise PlanFileError(f"{where}: a plan of version {version}, written by an earlier shipspec; this one reads "
                            f"version {VERSION} (it also records each stack's deployed state and the runtime "
                            "changes): make the plan again with `shipspec plan --format json --output FILE`")
    if not isinstance(doc, dict) or version != VERSION:
        raise PlanFileError(f"{where}: not a shipspec plan of version {VERSION} "
                            f"(version: {version!r}); write it with `shipspec plan --format json --output FILE`")
    stacks: list[StackPlan] = []
    try:
        for d in doc["stacks"]:
            stack = _stack(d)
            if d.get("fingerprint") != stack.fingerprint:
                raise PlanFileError(f"{where}: {stack.label}: its contents do not match its fingerprint; the file "
                                    "was edited after `shipspec plan` wrote it")
            stacks.append(stack)
        orphans = tuple(Orphan(**{k: str(o[k]) for k in Orphan.__dataclass_fields__}) for o in doc.get("orphans") or ())
        plan = Plan(tuple(stacks), doc.get("base"), doc.get("head"), str(doc.get("target") or "aws"),
                    tuple(doc.get("notes") or ()), orphans)
    except (KeyError, TypeError, AttributeError) as exc:
        raise PlanFileError(f"{where}: stacks[{len(stacks)}] lacks field {exc} or has one of the wrong type; "
                            "the file was edited or is not a plan") from None
    if doc.get("fingerprint") != plan.fingerprint:
        raise PlanFileError(f"{where}: its stacks do not match the plan's fingerprint; the file was edited after "
                            "`shipspec plan` wrote it")
    return plan
