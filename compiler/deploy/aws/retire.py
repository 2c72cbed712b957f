"""`shipspec retire`: the only way shipspec deletes anything. Finds one service's stacks in one
environment (by name and by tags), says what goes and what stays (retained resources), and,
once confirmed, switches termination protection off and deletes the stacks, notification first."""

from __future__ import annotations

import time
from dataclasses import dataclass

from botocore.exceptions import ClientError

from ...spec.naming import ENVIRONMENT_TAG, SERVICE_TAG
from ..predict import load_template
from . import changesets as cs
from .orphans import tagged_stacks
from .runctx import RunContext

KEEPING = ("Retain", "RetainExceptOnCreate", "Snapshot")


@dataclass(frozen=True)
class Retained:
    logical_id: str
    resource_type: str
    physical_id: str
    policy: str


@dataclass(frozen=True)
class Doomed:
    name: str
    stack_id: str
    status: str
    retained: tuple[Retained, ...]


def find(ctx: RunContext, account: str, region: str, service: str, env: str) -> list[Doomed]:
    """The service's stacks in that environment, notification stack first."""
    cfn = ctx.sessions.get(account, region).client("cloudformation")
    names = {f"{service}-{env}-notification", f"{service}-{env}-pipeline"}
    for s in tagged_stacks(cfn):
        if s["_tags"].get(SERVICE_TAG) == service and s["_tags"].get(ENVIRONMENT_TAG) == env:
            names.add(s["StackName"])
    out = []
    for name in names:
        state = cs.describe_stack(cfn, name)
        if state.exists:
            out.append(Doomed(name, state.stack_id or name, state.status or "", _retained(cfn, name)))
    return sorted(out, key=lambda d: (not d.name.endswith("-notification"), d.name))


def _retained(cfn, name: str) -> tuple[Retained, ...]:
    try:
        body = cfn.get_template(StackName=name, TemplateStage="Original").get("TemplateBody")
        template = body if isinstance(body, dict) else load_template(body or "{}")
        physical = {r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
                    for r in cfn.list_stack_resources(StackName=name).get("StackResourceSummaries", [])}
    except (ClientError, ValueError):
        return ()
    out = []
    for lid, res in sorted((template.get("Resources") or {}).items()):
        policy = str(res.get("DeletionPolicy", ""))
        if policy in KEEPING:
            out.append(Retained(lid, str(res.get("Type", "")), physical.get(lid, "(not created)"), policy))
    return tuple(out)


def delete(ctx: RunContext, account: str, region: str, doomed: Doomed) -> str:
    """Delete one stack and wait; the final status ("DELETE_COMPLETE") or raises ChangeSetError."""
    cfn = ctx.sessions.get(account, region).client("cloudformation")
    if not ctx.emulated:  # moto neither implements nor enforces termination protection
        cfn.update_termination_protection(StackName=doomed.name, EnableTerminationProtection=False)
    ctx.ledger.note(doomed.name, "being deleted: CloudFormation carries on; run retire again to wait for it")
    cfn.delete_stack(StackName=doomed.stack_id)
    deadline = ctx.deadline(ctx.timing.apply_timeout)
    while True:
        desc = cfn.describe_stacks(StackName=doomed.stack_id)["Stacks"][0]
        status = desc.get("StackStatus", "")
        if not status.endswith("_IN_PROGRESS"):
            break
        if time.monotonic() > deadline:
            raise cs.ChangeSetError(f"{doomed.name}: still {status} after {int(ctx.timing.apply_timeout)} s")
        ctx.sleep()
    ctx.ledger.clear(doomed.name)
    if status != "DELETE_COMPLETE":
        failure = cs.first_failure(cfn, doomed.stack_id)
        why = f": {failure[2]} {failure[0]} ({failure[1]}): {failure[3]}" if failure else ""
        raise cs.ChangeSetError(f"{doomed.name}: deletion ended {status}{why}")
    return status
