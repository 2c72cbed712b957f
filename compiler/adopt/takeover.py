"""Plan the takeover of running hand-written stacks by shipspec's stacks (`shipspec adopt`).

The takeover never deletes a resource: (1) every resource of the old stacks gets `DeletionPolicy:
Retain` (an update of each old stack), (2) the old stacks are deleted, their resources retained,
(3) shipspec's stacks that name existing resources identically are created with those resources
imported (a CREATE change set with `ImportExistingResources`), (4) shipspec's stacks are applied as
usual (the rest is created; imported resources take the spec's configuration). The plan is read from
AWS every time, so an interrupted takeover continues where it stopped; what it cannot read back once
an old stack is gone (its resources and template) is kept in a journal file when first seen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..deploy.aws import changesets as cs
from ..deploy.aws.inputs import StackInput
from ..deploy.aws.planner import deployed_template
from ..deploy.predict import create_only_properties, load_template
from ..spec import naming
from .importable import NAMED_NOT_IMPORTABLE, import_identifier, static_name
from .probe import exists
from .resolve import Context, evaluate

STEPS = ("bootstrap", "retain", "release", "import", "converge")
# Old resources that keep acting once retained and unmanaged: what a person should know first.
STILL_ACTIVE = {
    "AWS::CodePipeline::Webhook": "still starts the pipeline on a push (shipspec's trigger does too): delete it",
    "AWS::Events::Rule": "still matches events and invokes its targets: delete it",
    "AWS::SNS::Subscription": "still e-mails its subscriber: delete it once the new topic's subscriptions are "
                              "confirmed",
}


@dataclass(frozen=True)
class OldResource:
    stack: str
    logical_id: str
    resource_type: str
    physical_id: str

    @property
    def note(self) -> str:
        return STILL_ACTIVE.get(self.resource_type, "")


@dataclass(frozen=True)
class OldStack:
    name: str
    present: bool
    stack_id: str = ""
    all_retained: bool = False
    termination_protection: bool = False
    resources: tuple[OldResource, ...] = ()
    template: dict = field(default_factory=dict, compare=False, repr=False)
    parameters: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Import:
    logical_id: str
    resource_type: str
    name: str
    source: str  # "stack <old>" or "existing, outside any stack taken over"


@dataclass(frozen=True)
class Target:
    si: StackInput
    exists: bool
    deployed: bool
    imports: tuple[Import, ...]
    creates: tuple[tuple[str, str], ...]  # (logical id, type)


@dataclass(frozen=True)
class Step:
    key: str
    done: bool
    what: str


@dataclass(frozen=True)
class TakeoverPlan:
    service: str
    env: str
    account: str
    region: str
    old: tuple[OldStack, ...]
    targets: tuple[Target, ...]
    unmanaged: tuple[OldResource, ...]
    blockers: tuple[str, ...]
    steps: tuple[Step, ...]
    bootstrap: StackInput | None = None

    @property
    def done(self) -> bool:
        return all(s.done for s in self.steps)

    @property
    def next_step(self) -> Step | None:
        return next((s for s in self.steps if not s.done), None)


# --- reading the old stacks -------------------------------------------------------------------------------

def _physical(template: dict, params: dict, account: str, region: str, lid: str) -> str:
    res = (template.get("Resources") or {}).get(lid) or {}
    prop = import_identifier(str(res.get("Type"))) or NAMED_NOT_IMPORTABLE.get(str(res.get("Type")))
    value = evaluate((res.get("Properties") or {}).get(prop), Context.of(template, params, account, region)) \
        if prop else None
    return value if isinstance(value, str) else ""


def read_old(cfn, name: str, account: str, region: str, journal: dict) -> OldStack:
    """The old stack as deployed, or as the journal remembers it once it is gone."""
    state = cs.describe_stack(cfn, name)
    if state.exists and state.busy:
        raise cs.ChangeSetError(f"stack {name} is {state.status}: run adopt again when it has finished")
    if not state.exists:
        kept = journal.get(name)
        if not kept:
            return OldStack(name, False)
        return OldStack(name, False, kept["stack_id"], True, False,
                        tuple(OldResource(name, *r) for r in kept["resources"]), kept["template"], kept["parameters"])
    template = deployed_template(cfn, state.stack_id or name) or {}
    desc = cfn.describe_stacks(StackName=state.stack_id or name)["Stacks"][0]
    params = {p["ParameterKey"]: p.get("ResolvedValue") or p.get("ParameterValue", "")
              for p in desc.get("Parameters") or ()}
    listed: dict[str, tuple[str, str]] = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=state.stack_id or name):
        for r in page.get("StackResourceSummaries", []):
            if r.get("LogicalResourceId"):
                listed[r["LogicalResourceId"]] = (r.get("ResourceType", ""), r.get("PhysicalResourceId", ""))
    resources = []
    for lid, res in (template.get("Resources") or {}).items():
        rtype, physical = listed.get(lid, (str(res.get("Type")), ""))
        resources.append(OldResource(name, lid, rtype, physical or _physical(template, params, account, region, lid)))
    retained = all(isinstance(r, dict) and r.get("DeletionPolicy") == "Retain"
                   for r in (template.get("Resources") or {}).values())
    return OldStack(name, True, state.stack_id or "", retained, state.termination_protection, tuple(resources),
                    template, params)


def remember(path: Path, old: tuple[OldStack, ...]) -> None:
    """Keep what an old stack's deletion makes unreadable (its resources, template and parameters)."""
    doc = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    for o in old:
        if o.present:
            doc[o.name] = {"stack_id": o.stack_id, "template": o.template, "parameters": o.parameters,
                           "resources": [[r.logical_id, r.resource_type, r.physical_id] for r in o.resources]}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")


# --- shipspec's stacks ------------------------------------------------------------------------------------

def _plain(value: Any) -> bool:
    if isinstance(value, dict):
        return not any(k == "Ref" or k.startswith("Fn::") for k in value) and all(map(_plain, value.values()))
    if isinstance(value, list):
        return all(map(_plain, value))
    return isinstance(value, (str, int, float, bool))


def _replacements(old: OldStack, lid: str, new_res: dict, account: str, region: str) -> list[str]:
    """createOnly properties the import would have to change (CloudFormation would replace the resource)."""
    old_res = (old.template.get("Resources") or {}).get(lid) or {}
    ctx = Context.of(old.template, old.parameters, account, region)
    old_props = evaluate(old_res.get("Properties") or {}, ctx)
    new_props = new_res.get("Properties") or {}
    out = []
    for path in create_only_properties(str(new_res.get("Type")), region) or ():
        if "*" in path:
            continue
        a, b = old_props, new_props
        for part in path:
            a = a.get(part) if isinstance(a, dict) else None
            b = b.get(part) if isinstance(b, dict) else None
        if a is not None and b is not None and _plain(a) and _plain(b) and a != b:
            out.append(f"{'.'.join(path)}: {json.dumps(a)} -> {json.dumps(b)}")
    return out


def read_target(session, si: StackInput, old: tuple[OldStack, ...], blockers: list[str]) -> Target:
    cfn = session.client("cloudformation")
    state = cs.describe_stack(cfn, si.name)
    if state.status == "REVIEW_IN_PROGRESS":  # a change set an interrupted run left: no resources yet
        state = cs.StackState(si.name, False)
    template = load_template(si.template)
    held = {(r.resource_type, r.physical_id): (o, r) for o in old for r in o.resources if r.physical_id}
    imports, creates = [], []
    for lid, res in (template.get("Resources") or {}).items():
        rtype = str(res.get("Type"))
        name = static_name(res)
        if name is None and rtype in NAMED_NOT_IMPORTABLE:
            other = (res.get("Properties") or {}).get(NAMED_NOT_IMPORTABLE[rtype])
            if isinstance(other, str) and not state.exists and ((rtype, other) in held or exists(session, rtype, other)):
                blockers.append(f"{si.name}: {lid} ({rtype} {other}) exists, and CloudFormation cannot import a "
                                f"{rtype}: leave the name to shipspec (remove its names.* override) or delete the "
                                "existing one first")
        if name is None:
            creates.append((lid, rtype))
            continue
        found = held.get((rtype, name))
        if found is not None:
            imports.append(Import(lid, rtype, name, f"stack {found[0].name} ({found[1].logical_id})"))
            blockers.extend(f"{si.name}: importing {lid} ({rtype} {name}) would replace it: {r}; shipspec cannot "
                            "take it over as it is" for r in _replacements(found[0], found[1].logical_id, res,
                                                                             si.stack.account, si.stack.region))
        elif not state.exists and exists(session, rtype, name):
            imports.append(Import(lid, rtype, name, "existing, in no stack taken over"))
        else:
            creates.append((lid, rtype))
    return Target(si, state.exists, state.deployed, tuple(imports), tuple(creates))


def plan_takeover(ctx, inputs: tuple[StackInput, ...], old_names: tuple[str, ...], journal: Path,
                  converged) -> TakeoverPlan:
    """The takeover as things stand. `converged(si)` says whether a deployed stack of shipspec's is up
    to date with its template (the regular plan: no changes)."""
    boot = next((si for si in inputs if si.stack.kind == "bootstrap"), None)
    mine = [si for si in inputs if si.stack.kind != "bootstrap"]
    first = mine[0].stack
    session = ctx.sessions.get(first.account, first.region)
    cfn = session.client("cloudformation")
    kept = json.loads(journal.read_text(encoding="utf-8")) if journal.exists() else {}
    old = tuple(read_old(cfn, n, first.account, first.region, kept) for n in old_names)
    if any(o.present for o in old):
        remember(journal, old)
    blockers: list[str] = []
    for o in old:
        if not o.present and not o.stack_id:
            blockers.append(f"stack {o.name} does not exist here and no earlier adopt run recorded it: check the "
                            "name (and the account and region of the environment)")
    targets = tuple(read_target(session, si, old, blockers) for si in mine)
    imported = {(i.resource_type, i.name) for t in targets for i in t.imports}
    unmanaged = tuple(r for o in old for r in o.resources if (r.resource_type, r.physical_id) not in imported)
    boot_ok = boot is None or cs.describe_stack(cfn, naming.BOOTSTRAP_STACK).deployed
    need_import = [t for t in targets if t.imports and not t.exists]
    steps = [
        Step("bootstrap", boot_ok, f"the bootstrap stack {naming.BOOTSTRAP_STACK} (artifact bucket, KMS key)"),
        Step("retain", all(o.all_retained or not o.present for o in old),
             "set DeletionPolicy: Retain on every resource of " + ", ".join(o.name for o in old)),
        Step("release", not any(o.present for o in old),
             "delete " + ", ".join(o.name for o in old) + ", every resource retained"),
        Step("import", not need_import, "create " + ", ".join(t.si.name for t in targets if t.imports)
             + " importing the existing resources" if any(t.imports for t in targets) else "nothing to import"),
    ]
    ready = all(s.done for s in steps) and all(t.deployed for t in targets)
    steps.append(Step("converge", ready and all(converged(t.si) for t in targets),
                      "apply " + ", ".join(t.si.name for t in targets) + " as the spec says"))
    return TakeoverPlan(first.service, first.environment, first.account, first.region, old, targets, unmanaged,
                        tuple(blockers), tuple(steps), boot)
