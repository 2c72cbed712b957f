"""Plan one stack: change set (created, waited for, read in full) merged with the offline
prediction, as a `StackPlan`; and plan many in a bounded pool. Per-stack failures become
status `error` with the message; nothing here raises for one stack's trouble."""

from __future__ import annotations

import threading
from typing import Iterable, Mapping

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from ...core.errors import ShipspecError
from ..changes import mask_change, merge
from ..plan import ChangeSetRef, DeployedState, StackPlan, template_digest
from ..predict import diff_templates
from ..templates import load_template
from ..runtime import runtime_change
from . import changesets as cs
from .artifacts import template_argument
from .executor import run_pool
from .inputs import StackInput
from .runctx import Cancelled, RunContext


def recreate_hint(si: StackInput) -> str:
    if si.stack.kind == "bootstrap":
        return (f"delete it (aws cloudformation delete-stack --stack-name {si.name}; its bucket and key are "
                "retained) and run `shipspec bootstrap` again")
    return f"retire it (`shipspec retire {si.stack.service} --env {si.stack.environment}`) and apply again"


def deployed_template(cfn, name: str) -> dict | None:
    body = cfn.get_template(StackName=name, TemplateStage="Original").get("TemplateBody")
    if isinstance(body, dict):
        return body
    return load_template(body) if body else None


def deployed_state(cfn, name: str, state: cs.StackState | None = None) -> DeployedState | None:
    """The deployed stack as it is now (newest event, template digest); None when it is not
    deployed. Apply compares it with what the plan recorded."""
    state = state if state is not None else cs.describe_stack(cfn, name)
    if not state.deployed:
        return None
    event = cs.latest_event_id(cfn, name) or ""
    return DeployedState(event, template_digest(deployed_template(cfn, name)))


def no_echo(template: Mapping | None) -> set[str]:
    params = (template or {}).get("Parameters") or {}
    return {k for k, v in params.items() if isinstance(v, Mapping) and str(v.get("NoEcho", "")).lower() == "true"}


def _base(si: StackInput) -> dict:
    s = si.stack
    return dict(stack_name=s.name, kind=s.kind, account=s.account, region=s.region,
                service=s.service or None, environment=s.environment or None,
                template_sha256=si.template_sha256, parameters=si.parameters)


def error_plan(si: StackPlan | StackInput, message: str, notes: tuple[str, ...] = ()) -> StackPlan:
    return StackPlan(**_base(si), status="error", error=message, notes=notes)  # type: ignore[arg-type]


def imported_names(value) -> set[str]:
    """Literal export names a template imports (`Fn::ImportValue: name`)."""
    found: set[str] = set()
    todo = [value]
    while todo:  # one walk, no set per node
        v = todo.pop()
        if isinstance(v, (str, int, float)) or v is None:  # leaves (most nodes): skip the ABC check
            continue
        if isinstance(v, list):
            todo.extend(v)
        elif isinstance(v, Mapping):
            if len(v) == 1 and isinstance(v.get("Fn::ImportValue"), str):
                found.add(v["Fn::ImportValue"])
            else:
                todo.extend(v.values())
    return found


def export_names(cfn) -> frozenset[str]:
    found: set[str] = set()
    for page in cfn.get_paginator("list_exports").paginate():
        found |= {e.get("Name") for e in page.get("Exports", [])}
    return frozenset(found)


class ExportNames:
    """The export names of each (account, region), listed once per plan run: nothing is deployed
    while planning, so they cannot change. Thread-safe; a listing that fails is not kept. Not for
    apply, which creates exports as it goes."""

    def __init__(self) -> None:
        self._names: dict[tuple[str, str], frozenset[str]] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, cfn, account: str, region: str) -> frozenset[str]:
        key = (account, region)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one listing per key, however many stacks ask at once
            if key not in self._names:
                self._names[key] = export_names(cfn)
            return self._names[key]


def missing_exports(cfn, names: set[str], known: frozenset[str] | None = None) -> list[str]:
    """The `names` not exported (`known`: the export names, when already listed)."""
    if not names:
        return []
    return sorted(names - (export_names(cfn) if known is None else known))


def plan_stack(ctx: RunContext, si: StackInput, exports: ExportNames | None = None) -> StackPlan:
    """Plan one stack. When exports it imports do not exist yet (its bootstrap stack is not
    deployed), no change set can be made: the changes are predicted offline, and apply makes the
    change set once its dependencies exist. `exports` shares export listings between the stacks
    of one plan run (None: list them for this stack)."""
    try:
        return _plan(ctx, si, exports)
    except Cancelled:
        raise
    except cs.ChangeSetError as exc:
        return error_plan(si, str(exc))
    except ShipspecError as exc:
        return error_plan(si, str(exc))
    except ClientError as exc:
        err = exc.response.get("Error", {})
        return error_plan(si, f"{exc.operation_name}: {err.get('Code', '')}: {err.get('Message', exc)}")
    except (BotoCoreError, ResponseParserError) as exc:
        return error_plan(si, f"AWS call failed: {exc}")
    except ValueError as exc:  # a deployed template we cannot parse
        return error_plan(si, f"cannot read the deployed template: {exc}")


def _plan(ctx: RunContext, si: StackInput, exports: ExportNames | None) -> StackPlan:
    session = ctx.sessions.get(si.stack.account, si.stack.region)
    cfn = session.client("cloudformation")
    new = load_template(si.template)  # the only parse of it
    notes: tuple[str, ...] = ()
    body = None
    if ctx.emulator is not None:  # what the emulator is sent, and has stored: compare like with like
        notes = ctx.emulator.notes(new)
        body, adapted, new = ctx.emulator.adapt_doc(si.template, new)
        notes += adapted
    state = cs.wait_until_idle(ctx, cfn, si.name, si.label)
    if state.status == "ROLLBACK_COMPLETE":
        failure = cs.first_failure(cfn, si.name)
        why = f" (it failed with {failure[2]} on {failure[0]} ({failure[1]}): {failure[3]})" if failure else ""
        raise cs.ChangeSetError(f"must be recreated: the stack is ROLLBACK_COMPLETE{why} and cannot be "
                                f"updated; {recreate_hint(si)}")
    cs_type = cs.change_set_type(state, si.label, recreate_hint(si))
    # what the plan is made against: recorded first, so a change made meanwhile shows at apply
    event = cs.latest_event_id(cfn, si.name) if state.deployed else None
    old = deployed_template(cfn, si.name) if state.deployed else None
    deployed = DeployedState(event or "", template_digest(old)) if state.deployed else None
    runtime = runtime_change(old, new, si.stack.service, si.stack.environment) if si.stack.kind == "pipeline" else None
    planned = dict(deployed=deployed, runtime=runtime)
    imports = imported_names(new.get("Resources") or {}) | imported_names(new.get("Outputs") or {})
    known = exports.get(cfn, si.stack.account, si.stack.region) if exports is not None and imports else None
    missing = missing_exports(cfn, imports, known)
    if missing:
        predicted = diff_templates(old, new, si.stack.region)
        note = (f"planned offline: the exports it imports ({', '.join(missing)}) do not exist yet, so no change "
                f"set can be made; apply makes one after {', '.join(si.stack.depends_on) or 'its dependencies'} "
                "and checks it against this plan")
        return StackPlan(**_base(si), status="create" if cs_type == "CREATE" else "update",
                         changes=tuple(predicted), notes=notes + (note,), deferred=True, **planned)
    template = template_argument(session, si, body)
    if cs_type == "CREATE" and state.exists and ctx.emulated:
        # moto would add a second stack of the same name; the shell holds no resources.
        cs.delete_review_shell(cfn, si.name)
    ctx.ledger.note(si.label, "creating a change set")
    name, cs_id = cs.create(ctx, cfn, si.name, cs_type, template, si.parameters, si.stack.tags)
    left = "change set {} created, not executed".format(name) + (
        "; the stack is a REVIEW_IN_PROGRESS shell" if cs_type == "CREATE" else "")
    ctx.ledger.note(si.label, left)
    ref = ChangeSetRef(name, cs_id, cs_type)
    outcome, reason, first_page = cs.wait_ready(ctx, cfn, si.name, cs_id)
    if outcome == "no-change":
        cleanup(ctx, cfn, si, ref, force=True)
        return StackPlan(**_base(si), status="no-change", notes=notes, **planned)
    if outcome == "failed":
        cleanup(ctx, cfn, si, ref)
        return StackPlan(**_base(si), status="error", change_set=ref, error=f"change set failed: {reason}",
                         notes=notes, deployed=deployed)
    engine = cs.to_resource_changes(cs.describe_all(cfn, si.name, cs_id, first_page))
    predicted = diff_templates(old, new, si.stack.region)
    resources = {**((old or {}).get("Resources") or {}), **(new.get("Resources") or {})}
    secret = no_echo(old) | no_echo(new)
    changes = tuple(mask_change(c, secret) for c in merge(engine, predicted, resources))
    if not changes and cs_type == "UPDATE":
        notes += ("the change set changes no resource (outputs, parameters or tags only)",)
    cleanup(ctx, cfn, si, ref)
    return StackPlan(**_base(si), status="create" if cs_type == "CREATE" else "update", changes=changes,
                     change_set=ref, notes=notes, **planned)


def cleanup(ctx: RunContext, cfn, si: StackInput, ref: ChangeSetRef, force: bool = False) -> None:
    """Delete a preview change set (and the REVIEW_IN_PROGRESS shell a CREATE made) unless kept."""
    if ctx.keep and not force:
        return
    cs.delete_change_set(cfn, si.name, ref.id)
    if ref.type == "CREATE":
        cs.delete_review_shell(cfn, si.name)
    ctx.ledger.clear(si.label)


def discard(ctx: RunContext, inputs: Iterable[StackInput], plans: Iterable[StackPlan]) -> None:
    """Delete the change sets (and new-stack shells) that a declined or refused apply made."""
    by_key = {i.key: i for i in inputs}
    for p in plans:
        si = by_key.get(p.key)
        if si is None or p.change_set is None or p.status not in ("create", "update", "error"):
            continue
        try:
            cfn = ctx.sessions.get(si.stack.account, si.stack.region).client("cloudformation")
            cs.delete_change_set(cfn, si.name, p.change_set.id)
            if p.change_set.type == "CREATE":
                cs.delete_review_shell(cfn, si.name)
            ctx.ledger.clear(si.label)
        except (ClientError, BotoCoreError):
            pass  # reported through the ledger


def plan_all(ctx: RunContext, inputs: list[StackInput], jobs: int) -> list[StackPlan]:
    """Plan every stack (parallel, at most `jobs` at once), in input order."""
    exports = ExportNames()  # nothing is deployed during a plan: list each region's exports once
    results = run_pool(ctx, inputs, lambda si: si.key, lambda si: plan_stack(ctx, si, exports), jobs)
    return [results[si.key] for si in inputs]
