"""Perform a takeover (takeover.py), one step at a time, reading the plan again before each: an
interrupted run, run again, continues with the first step not done. No step deletes a resource: the
old stacks are deleted only once every resource of theirs is retained (checked again right before)."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from typing import Callable

from ..core.errors import ShipspecError
from ..deploy.aws import changesets as cs
from ..deploy.aws.apply import ApplyOptions, apply_stack, follow
from ..deploy.aws.artifacts import template_argument
from ..deploy.aws.inputs import StackInput
from ..deploy.aws.planner import deployed_template, plan_stack
from ..deploy.aws.protect import stack_policy
from ..deploy.predict import load_template
from .takeover import OldStack, Target, TakeoverPlan

RETAIN = "Retain"


def with_retain(template: dict, logical_ids=None) -> dict:
    """The template with DeletionPolicy and UpdateReplacePolicy Retain on every resource (or those named)."""
    out = dict(template)
    out["Resources"] = {lid: ({**res, "DeletionPolicy": RETAIN, "UpdateReplacePolicy": RETAIN}
                              if logical_ids is None or lid in logical_ids else res)
                        for lid, res in (template.get("Resources") or {}).items()}
    return out


def _old_input(plan: TakeoverPlan, old: OldStack, body: bytes) -> StackInput:
    from ..build.ir import Stack

    return StackInput(Stack(old.name, "pipeline", plan.account, plan.region, "", plan.service, plan.env), body)


def _changes(cfn, name: str, cs_id: str, first) -> list[tuple[str, str, str]]:
    return [(c.action, c.logical_id, c.resource_type) for c in cs.to_resource_changes(cs.describe_all(cfn, name, cs_id,
                                                                                                       first))]


def retain_preview(ctx, plan: TakeoverPlan) -> dict[str, list[tuple[str, str, str]]]:
    """The update change set of each old stack that is not all retained yet: made, read, deleted."""
    out = {}
    for old in plan.old:
        if old.present and not old.all_retained:
            cfn = ctx.sessions.get(plan.account, plan.region).client("cloudformation")
            cs_id, first = _retain_change_set(ctx, cfn, plan, old)
            out[old.name] = _changes(cfn, old.name, cs_id, first) if first is not None else []
            cs.delete_change_set(cfn, old.name, cs_id)
    return out


def _retain_change_set(ctx, cfn, plan: TakeoverPlan, old: OldStack):
    template = deployed_template(cfn, old.stack_id or old.name) or {}
    body = json.dumps(with_retain(template), indent=1).encode()
    capabilities = cs.CAPABILITIES + (["CAPABILITY_AUTO_EXPAND"] if template.get("Transform") else [])
    session = ctx.sessions.get(plan.account, plan.region)
    _name, cs_id = cs.create(ctx, cfn, old.name, "UPDATE",
                             template_argument(session, _old_input(plan, old, body), body), [], (), options={
                                 "Capabilities": capabilities, "Tags": None,
                                 "Parameters": [{"ParameterKey": k, "UsePreviousValue": True} for k in old.parameters]})
    status, reason, first = cs.wait_ready(ctx, cfn, old.name, cs_id)
    if status == "failed":
        cs.delete_change_set(cfn, old.name, cs_id)
        raise ShipspecError(f"{old.name}: the update setting DeletionPolicy: Retain cannot be made: {reason}")
    return cs_id, first


def retain(ctx, plan: TakeoverPlan) -> None:
    cfn = ctx.sessions.get(plan.account, plan.region).client("cloudformation")
    for old in plan.old:
        if not old.present or old.all_retained:
            continue
        cs_id, first = _retain_change_set(ctx, cfn, plan, old)
        if first is None:  # nothing to change: it is retained already
            cs.delete_change_set(cfn, old.name, cs_id)
            continue
        for action, lid, rtype in _changes(cfn, old.name, cs_id, first):
            ctx.log(f"{old.name}: {action:<7} {lid} ({rtype}): DeletionPolicy Retain")
        before = cs.latest_event_id(cfn, old.name)
        ctx.ledger.note(old.name, "setting DeletionPolicy Retain (run adopt again to continue)")
        cfn.execute_change_set(ChangeSetName=cs_id, StackName=old.name)
        final = follow(ctx, cfn, _old_input(plan, old, b"{}"), before)
        if final.status not in ("UPDATE_COMPLETE",):
            raise ShipspecError(f"{old.name}: the update setting DeletionPolicy Retain ended {final.status}; "
                                f"{cs.first_failure(cfn, old.name, before) or ''}")
        ctx.ledger.clear(old.name)


def release(ctx, plan: TakeoverPlan) -> None:
    cfn = ctx.sessions.get(plan.account, plan.region).client("cloudformation")
    for old in plan.old:
        if not old.present:
            continue
        template = deployed_template(cfn, old.stack_id) or {}
        loose = [lid for lid, r in (template.get("Resources") or {}).items() if r.get("DeletionPolicy") != RETAIN]
        if loose:  # never delete a stack whose deletion would delete a resource
            raise ShipspecError(f"{old.name}: not deleted: {', '.join(loose)} would be deleted with it (no "
                                "DeletionPolicy Retain); run adopt again")
        if old.termination_protection:
            ctx.log(f"{old.name}: switching termination protection off to delete it (its resources are retained)")
            cfn.update_termination_protection(StackName=old.stack_id, EnableTerminationProtection=False)
        ctx.log(f"{old.name}: deleting the stack; every resource is retained")
        ctx.ledger.note(old.name, "being deleted, resources retained (run adopt again to continue)")
        cfn.delete_stack(StackName=old.stack_id)
        deadline = ctx.deadline(ctx.timing.apply_timeout)
        while True:
            status = cfn.describe_stacks(StackName=old.stack_id)["Stacks"][0].get("StackStatus", "")
            if status == "DELETE_COMPLETE":
                break
            if status == "DELETE_FAILED" or time.monotonic() > deadline:
                raise ShipspecError(f"{old.name}: deletion ended {status}: {cs.first_failure(cfn, old.stack_id)}")
            ctx.sleep()
        ctx.ledger.clear(old.name)


def import_target(ctx, plan: TakeoverPlan, t: Target) -> None:
    """Create one of shipspec's stacks with the existing resources imported and the rest created."""
    session = ctx.sessions.get(plan.account, plan.region)
    cfn = session.client("cloudformation")
    cs.delete_review_shell(cfn, t.si.name)  # an earlier run stopped between creating and executing
    template = with_retain(load_template(t.si.template), {i.logical_id for i in t.imports})
    body = json.dumps(template, indent=1).encode()
    if ctx.emulator:
        body = ctx.emulator.adapt_doc(body, template)[0]
    _n, cs_id = cs.create(ctx, cfn, t.si.name, "CREATE", template_argument(session, t.si, body), t.si.parameters,
                          t.si.stack.tags, options={"ImportExistingResources": True})
    status, reason, first = cs.wait_ready(ctx, cfn, t.si.name, cs_id)
    if status != "ready":
        cs.delete_change_set(cfn, t.si.name, cs_id)
        cs.delete_review_shell(cfn, t.si.name)
        raise ShipspecError(f"{t.si.name}: the change set importing the existing resources failed: {reason}")
    changes = _changes(cfn, t.si.name, cs_id, first)
    actions = {lid: action for action, lid, _ in changes}
    missed = [i.logical_id for i in t.imports if actions.get(i.logical_id) != "Import"]
    if missed:  # CloudFormation would try to create them, and fail on their names: stop before
        cs.delete_change_set(cfn, t.si.name, cs_id)
        cs.delete_review_shell(cfn, t.si.name)
        raise ShipspecError(f"{t.si.name}: CloudFormation would not import {', '.join(missed)} (held by another "
                            "stack, or gone); nothing was changed")
    for action, lid, rtype in changes:
        ctx.log(f"{t.si.name}: {action:<7} {lid} ({rtype})")
    ctx.ledger.note(t.si.name, "being created with its resources imported (run adopt again to continue)")
    cfn.execute_change_set(ChangeSetName=cs_id, StackName=t.si.name)
    final = follow(ctx, cfn, t.si, None)
    if final.status not in ("CREATE_COMPLETE", "IMPORT_COMPLETE"):
        raise ShipspecError(f"{t.si.name}: ended {final.status}: {cs.first_failure(cfn, t.si.name)}")
    if not ctx.emulated:
        cfn.update_termination_protection(StackName=t.si.name, EnableTerminationProtection=True)
    cfn.set_stack_policy(StackName=t.si.name, StackPolicyBody=stack_policy())
    ctx.ledger.clear(t.si.name)


def import_all(ctx, plan: TakeoverPlan) -> None:
    for t in plan.targets:
        if t.imports and not t.exists:
            import_target(ctx, plan, t)


def apply_regular(ctx, si: StackInput) -> None:
    """Plan and apply one stack as `shipspec apply` does."""
    sp = plan_stack(replace(ctx, keep=True), si)
    result = apply_stack(ctx, si, sp, ApplyOptions())
    if result.failed:
        raise ShipspecError(f"{si.label}: {result.message}")
    ctx.log(f"{si.name}: {result.status} ({result.message})")


def bootstrap(ctx, plan: TakeoverPlan) -> None:
    if plan.bootstrap is not None:
        apply_regular(ctx, plan.bootstrap)


def converge(ctx, plan: TakeoverPlan) -> None:
    for t in plan.targets:
        apply_regular(ctx, t.si)


def is_converged(ctx, si: StackInput) -> bool:
    return plan_stack(ctx, si).status == "no-change"


STEP_ACTIONS: dict[str, Callable] = {"bootstrap": bootstrap, "retain": retain, "release": release,
                                     "import": import_all, "converge": converge}


def perform(ctx, replan: Callable[[], TakeoverPlan]) -> TakeoverPlan:
    """Run the first step not done, read the plan again, until every step is done."""
    plan = replan()
    for _ in range(2 * len(STEP_ACTIONS)):
        if plan.blockers:
            raise ShipspecError("the takeover is blocked:\n  " + "\n  ".join(plan.blockers))
        step = plan.next_step
        if step is None:
            return plan
        ctx.log(f"step {step.key}: {step.what}")
        STEP_ACTIONS[step.key](ctx, plan)
        plan = replan()
    raise ShipspecError("the takeover did not finish: run adopt again to see where it stands")
