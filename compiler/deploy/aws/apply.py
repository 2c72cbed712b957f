"""Execute planned change sets, one stack at a time per worker, streaming its events.

On AWS the reviewed change set itself is executed. On the local emulator (moto), whose
ExecuteChangeSet neither publishes outputs nor registers exports (so later stacks could not
import them), the same template and parameters go through CreateStack/UpdateStack instead.

New stacks get termination protection; every stack gets the stack policy of `protect.py`
(replacing or deleting stateful resources denied unless `--allow-replace LOGICAL_ID`). On
failure the first `*_FAILED` event is the reason; the rollback is waited for.

Right before a stack's change is executed, the stack is read again (its newest event and its
template) and compared with what the plan recorded: a stack changed since it was planned (by
another apply, from this working copy or any other, or by hand) is refused, not overwritten.
On AWS the reviewed change set would also be refused by CloudFormation once the stack changed;
the emulator executes templates directly, so this check is what stops a second writer there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from ...core.errors import ShipspecError
from ..plan import StackPlan, change_shape
from ..templates import load_template
from . import changesets as cs
from .artifacts import template_argument, upload_lambda_zip
from .inputs import StackInput
from .planner import deployed_state, plan_stack
from .protect import blocked_changes, stack_policy
from .runctx import Cancelled, RunContext

SUCCESS = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})


@dataclass(frozen=True)
class ApplyResult:
    key: tuple[str, str, str]
    label: str
    status: str  # applied | no-change | error | skipped
    message: str = ""
    notes: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.status in ("error", "skipped")


@dataclass(frozen=True)
class ApplyOptions:
    allow_replace: tuple[str, ...] = ()
    expected: dict | None = None  # stack key -> fingerprint that must still match (plan file / confirmation)


def skipped(si: StackInput, dep: tuple[str, str, str]) -> ApplyResult:
    return ApplyResult(si.key, si.label, "skipped", f"not applied: {dep[2]} (which it needs) failed")


def blocked_message(changes, allow_replace) -> str | None:
    hard = [b for b in blocked_changes(changes, allow_replace) if b.certain]
    if not hard:
        return None
    items = ", ".join(f"{b.logical_id} ({b.resource_type}) would be {b.what}" for b in hard)
    flags = " ".join(f"--allow-replace {b.logical_id}" for b in hard)
    return f"{items}: the stack policy protects stateful resources; if this is intended, apply with {flags}"


def apply_stack(ctx: RunContext, si: StackInput, plan: StackPlan, opts: ApplyOptions) -> ApplyResult:
    try:
        return _apply(ctx, si, plan, opts)
    except Cancelled:
        raise
    except (cs.ChangeSetError, ShipspecError) as exc:
        return ApplyResult(si.key, si.label, "error", str(exc))
    except ClientError as exc:
        err = exc.response.get("Error", {})
        return ApplyResult(si.key, si.label, "error", f"{exc.operation_name}: {err.get('Message', exc)}")
    except (BotoCoreError, ResponseParserError) as exc:
        return ApplyResult(si.key, si.label, "error", f"AWS call failed: {exc}")


def _apply(ctx: RunContext, si: StackInput, plan: StackPlan, opts: ApplyOptions) -> ApplyResult:
    session = ctx.sessions.get(si.stack.account, si.stack.region)
    cfn = session.client("cloudformation")
    if plan.status not in ("no-change", "error") and opts.expected is not None and opts.expected.get(si.key) not in (
            None, plan.fingerprint):
        _discard(ctx, cfn, si, plan)
        return ApplyResult(si.key, si.label, "error", "changed since the plan was made; plan again and review")
    if plan.deferred:  # its dependencies exist now: make the real change set and hold it to the prediction
        fresh = plan_stack(replace(ctx, keep=True), si)
        if fresh.status != "error" and fresh.deployed != plan.deployed:
            _discard(ctx, cfn, si, fresh)
            return ApplyResult(si.key, si.label, "error", stale_message(plan, fresh.deployed))
        if fresh.status != "error" and change_shape(fresh.changes) != change_shape(plan.changes):
            _discard(ctx, cfn, si, fresh)
            return ApplyResult(si.key, si.label, "error", "the change set made now differs from the plan "
                               "(its changes were predicted before its dependencies existed); plan again and review")
        plan = fresh
    if plan.status == "error":
        return ApplyResult(si.key, si.label, "error", plan.error or "planning failed")
    blocked = blocked_message(plan.changes, opts.allow_replace)
    if blocked:
        _discard(ctx, cfn, si, plan)
        return ApplyResult(si.key, si.label, "error", f"refused: {blocked}")
    notes: tuple[str, ...] = ()
    if si.stack.lambda_zip:
        bucket, key, uploaded = upload_lambda_zip(session, si)
        if uploaded:
            ctx.log(f"{si.name}: uploaded the notification Lambda package to s3://{bucket}/{key}")
    if plan.status == "no-change":
        notes += ensure_protection(ctx, cfn, si)
        return ApplyResult(si.key, si.label, "no-change", "up to date", notes)
    assert plan.change_set is not None
    now = deployed_state(cfn, si.name)
    if now != plan.deployed:  # someone applied (or deleted, or rolled back) the stack since it was planned
        _discard(ctx, cfn, si, plan)
        return ApplyResult(si.key, si.label, "error", stale_message(plan, now))
    if ctx.emulated:
        final, before = _emulator_execute(ctx, cfn, si, plan, opts)
    else:
        final, before = _execute(ctx, cfn, si, plan, opts)
    if final.status in SUCCESS:
        ctx.ledger.clear(si.label)
        if ctx.emulated:
            notes += unmodelled_resources(cfn, si)
        return ApplyResult(si.key, si.label, "applied", final.status.lower().replace("_", " "), notes)
    return ApplyResult(si.key, si.label, "error", _failure_message(cfn, si, final, before), notes)


def stale_message(plan: StackPlan, now) -> str:
    """Why a stack that changed since it was planned is not applied."""
    def say(state) -> str:
        return "not deployed" if state is None else f"last event {state.last_event_id or '(none)'}, template " \
            f"{state.template_sha256[:12]}"
    return (f"refused: the stack changed since it was planned ({say(plan.deployed)} then, {say(now)} now): "
            "another apply (from this working copy or another) or a change by hand reached it first; "
            "nothing was applied: plan again and review")


def _discard(ctx: RunContext, cfn, si: StackInput, plan: StackPlan) -> None:
    if plan.change_set is not None:
        cs.delete_change_set(cfn, si.name, plan.change_set.id)
        if plan.change_set.type == "CREATE":
            cs.delete_review_shell(cfn, si.name)
    ctx.ledger.clear(si.label)


def _execute(ctx: RunContext, cfn, si: StackInput, plan: StackPlan,
             opts: ApplyOptions) -> tuple[cs.StackState, str | None]:
    """Execute the reviewed change set; (final state, the last event before it)."""
    ref = plan.change_set
    before = None if ref.type == "CREATE" else cs.latest_event_id(cfn, si.name)
    if ref.type == "UPDATE":
        cfn.set_stack_policy(StackName=si.name, StackPolicyBody=stack_policy(opts.allow_replace))
    ctx.ledger.note(si.label, f"executing change set {ref.name}: CloudFormation carries on without shipspec; "
                              "run apply again to wait for it")
    try:
        cfn.execute_change_set(ChangeSetName=ref.id, StackName=si.name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("InvalidChangeSetStatus", "ValidationError"):
            cs.delete_change_set(cfn, si.name, ref.id)
            ctx.ledger.clear(si.label)
            raise cs.ChangeSetError(f"the change set can no longer be executed ({exc.response['Error'].get('Message')}): "
                                    "the stack changed since it was planned, e.g. by another apply; run apply again") from None
        raise
    final = follow(ctx, cfn, si, before)
    if final.status in SUCCESS:
        if ref.type == "CREATE":
            cfn.update_termination_protection(StackName=si.name, EnableTerminationProtection=True)
        cfn.set_stack_policy(StackName=si.name, StackPolicyBody=stack_policy())
    elif final.exists and ref.type == "UPDATE":
        cfn.set_stack_policy(StackName=si.name, StackPolicyBody=stack_policy())
    return final, before


def _emulator_execute(ctx: RunContext, cfn, si: StackInput, plan: StackPlan,
                      opts: ApplyOptions) -> tuple[cs.StackState, str | None]:
    ref = plan.change_set
    body = ctx.emulator.adapt_doc(si.template, load_template(si.template))[0] if ctx.emulator else si.template
    session = ctx.sessions.get(si.stack.account, si.stack.region)
    common = dict(StackName=si.name, Capabilities=cs.CAPABILITIES, **template_argument(session, si, body),
                  Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in si.parameters],
                  Tags=[{"Key": k, "Value": v} for k, v in si.stack.tags])
    cs.delete_change_set(cfn, si.name, ref.id)
    ctx.ledger.note(si.label, f"being {'created' if ref.type == 'CREATE' else 'updated'} on the emulator")
    try:
        if ref.type == "CREATE":
            cs.delete_review_shell(cfn, si.name)
            cfn.create_stack(**common, EnableTerminationProtection=True, StackPolicyBody=stack_policy())
            before = None
        else:
            before = cs.latest_event_id(cfn, si.name)
            cfn.set_stack_policy(StackName=si.name, StackPolicyBody=stack_policy(opts.allow_replace))
            cfn.update_stack(**common)
    except (ClientError, BotoCoreError, ResponseParserError) as exc:
        raise cs.ChangeSetError(f"the local emulator failed to {'create' if ref.type == 'CREATE' else 'update'} "
                                f"the stack (a gap in moto's CloudFormation, or a template it cannot run): {exc}") from None
    final = follow(ctx, cfn, si, before)
    if ref.type == "UPDATE":
        cfn.set_stack_policy(StackName=si.name, StackPolicyBody=stack_policy())
    return final, before


def follow(ctx: RunContext, cfn, si: StackInput, after_event: str | None) -> cs.StackState:
    """Print each new stack event until the stack settles (rollbacks included); the final state."""
    total = len((load_template(si.template).get("Resources") or {}))
    done: set[str] = set()
    last = after_event
    deadline = ctx.deadline(ctx.timing.apply_timeout)
    while True:
        events = cs.recent_events(cfn, si.name, last)
        for e in events:
            status, lid = e.get("ResourceStatus", ""), e.get("LogicalResourceId", "")
            reason = e.get("ResourceStatusReason") or ""
            ctx.log(f"{si.name}: {status:<28} {lid} ({e.get('ResourceType', '')})" + (f": {reason}" if reason else ""))
            if lid != si.name and status.endswith("_COMPLETE"):
                done.add(lid)
        if events:
            last = events[-1].get("EventId", last)
            ctx.progress(si.name, len(done), total)
        state = cs.describe_stack(cfn, si.name)
        if not state.busy:
            if state.status in SUCCESS:
                ctx.progress(si.name, total, total)
            return state
        if time.monotonic() > deadline:
            raise cs.ChangeSetError(f"still {state.status} after {int(ctx.timing.apply_timeout)} s; CloudFormation "
                                    "carries on: run apply again to wait for it")
        ctx.sleep()


def _failure_message(cfn, si: StackInput, final: cs.StackState, before: str | None) -> str:
    """The first `*_FAILED` event of this operation (not of earlier ones, nor the rollback cascade)."""
    failure = cs.first_failure(cfn, si.name, before)
    where = f"{failure[2]} {failure[0]} ({failure[1]}): {failure[3]}" if failure else "no *_FAILED event found"
    return f"{where}; the stack is now {final.status or 'gone'}"


def ensure_protection(ctx: RunContext, cfn, si: StackInput) -> tuple[str, ...]:
    """Put termination protection and the stack policy back if someone removed them."""
    state = cs.describe_stack(cfn, si.name)
    notes = []
    if state.exists and not state.termination_protection:
        if ctx.emulated:
            notes.append("termination protection is off and the emulator cannot switch it on "
                         "(no UpdateTerminationProtection)")
        else:
            cfn.update_termination_protection(StackName=si.name, EnableTerminationProtection=True)
            ctx.log(f"{si.name}: termination protection switched back on")
    want = stack_policy()
    if state.exists and (cfn.get_stack_policy(StackName=si.name).get("StackPolicyBody") or "") != want:
        cfn.set_stack_policy(StackName=si.name, StackPolicyBody=want)
        ctx.log(f"{si.name}: stack policy set")
    return tuple(notes)


def unmodelled_resources(cfn, si: StackInput) -> tuple[str, ...]:
    """Resources of the template that the emulator did not create (types it does not model)."""
    template = load_template(si.template).get("Resources") or {}
    present = set()
    token = None
    while True:
        page = cfn.list_stack_resources(StackName=si.name, **({"NextToken": token} if token else {}))
        present |= {r.get("LogicalResourceId") for r in page.get("StackResourceSummaries", [])}
        token = page.get("NextToken")
        if not token:
            break
    missing = sorted({str(r.get("Type")) for lid, r in template.items() if lid not in present})
    if not missing:
        return ()
    return (f"not created on the emulator (types it does not model): {', '.join(missing)}",)
