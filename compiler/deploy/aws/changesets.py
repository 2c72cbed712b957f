"""CloudFormation change sets: stack state, create, wait, read every page, clean up.

CREATE for a missing stack or one left in REVIEW_IN_PROGRESS, UPDATE otherwise. A stack in
ROLLBACK_COMPLETE cannot be updated: it must be recreated (the reason is the first `*_FAILED`
event). An empty change set (FAILED, "didn't contain changes" / "No updates are to be
performed") means no change, never an error.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ..changes import PropertyChange, ResourceChange, pointer_to_path
from .errors import error_code, error_message
from .runctx import RunContext

TEMPLATE_BODY_LIMIT = 51_200  # bytes; larger templates go through S3 (TemplateURL)
NO_CHANGE_MARKERS = ("didn't contain changes", "No updates are to be performed")
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
NOT_DEPLOYED = frozenset({"REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED",
                          "CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "DELETE_COMPLETE"})
BROKEN = {
    "ROLLBACK_FAILED": "delete it by hand (aws cloudformation delete-stack) and apply again",
    "CREATE_FAILED": "delete it by hand (aws cloudformation delete-stack) and apply again",
    "DELETE_FAILED": "finish the deletion by hand (aws cloudformation delete-stack), then apply again",
    "UPDATE_ROLLBACK_FAILED": "run `aws cloudformation continue-update-rollback` on it, then apply again",
    "IMPORT_ROLLBACK_FAILED": "fix it by hand in the CloudFormation console, then apply again",
}


class ChangeSetError(Exception):
    """A per-stack failure with a message for the plan (status `error`)."""


@dataclass(frozen=True)
class StackState:
    name: str
    exists: bool
    status: str | None = None
    stack_id: str | None = None
    termination_protection: bool = False
    outputs: tuple[tuple[str, str, str], ...] = ()  # (key, value, export name)
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def deployed(self) -> bool:
        return self.exists and self.status not in NOT_DEPLOYED

    @property
    def busy(self) -> bool:
        return bool(self.exists and self.status and self.status.endswith("_IN_PROGRESS")
                    and self.status != "REVIEW_IN_PROGRESS")

    def output(self, key: str, export: str | None = None) -> str | None:
        for k, v, e in self.outputs:
            if k == key or (export and e == export):
                return v
        return None


def state_from(desc: dict) -> StackState:
    return StackState(
        desc["StackName"], True, desc.get("StackStatus"), desc.get("StackId"),
        bool(desc.get("EnableTerminationProtection")),
        tuple((o.get("OutputKey", ""), o.get("OutputValue", ""), o.get("ExportName", ""))
              for o in desc.get("Outputs") or ()),
        tuple(sorted((t["Key"], t["Value"]) for t in desc.get("Tags") or ())))


def describe_stack(cfn, name: str) -> StackState:
    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as exc:
        if error_code(exc) == "ValidationError" and "does not exist" in error_message(exc):
            return StackState(name, False)
        raise
    live = [s for s in stacks if s.get("StackStatus") != "DELETE_COMPLETE"]
    return state_from(live[0]) if live else StackState(name, False)


def wait_until_idle(ctx: RunContext, cfn, name: str, label: str, timeout: float | None = None) -> StackState:
    """The stack's state once no operation is running on it; a bounded wait when another run
    (or a killed one whose operation CloudFormation carries on) is changing it."""
    state = describe_stack(cfn, name)
    if not state.busy:
        return state
    limit = ctx.timing.busy_timeout if timeout is None else timeout
    ctx.log(f"{label}: {state.status} (another apply, or an earlier one still running); "
            f"waiting up to {limit:g} s")
    deadline = ctx.deadline(limit)
    while state.busy:
        if time.monotonic() > deadline:
            raise ChangeSetError(f"stack is still {state.status} after {limit:g} s: another run is changing "
                                 "it; run again when it has finished")
        ctx.sleep()
        state = describe_stack(cfn, name)
    return state


def first_failure(cfn, name: str, after_event_id: str | None = None) -> tuple[str, str, str, str] | None:
    """(logical id, resource type, status, reason) of the earliest `*_FAILED` event (newer than
    `after_event_id`), which holds the real reason a create or update failed."""
    events = recent_events(cfn, name, after_event_id)
    for e in events:  # oldest first
        status = e.get("ResourceStatus", "")
        if status.endswith("_FAILED"):
            return (e.get("LogicalResourceId", ""), e.get("ResourceType", ""), status,
                    e.get("ResourceStatusReason", "") or "(no reason given)")
    return None


def recent_events(cfn, name: str, after_event_id: str | None = None, limit_pages: int = 20) -> list[dict]:
    """Stack events newer than `after_event_id` (all when None), oldest first."""
    out: list[dict] = []
    token = None
    for _ in range(limit_pages):
        kwargs = {"StackName": name, **({"NextToken": token} if token else {})}
        page = cfn.describe_stack_events(**kwargs)
        for e in page.get("StackEvents", []):  # newest first
            if after_event_id and e.get("EventId") == after_event_id:
                return list(reversed(out))
            out.append(e)
        token = page.get("NextToken")
        if not token:
            break
    return list(reversed(out))


def latest_event_id(cfn, name: str) -> str | None:
    try:
        events = cfn.describe_stack_events(StackName=name).get("StackEvents", [])
    except ClientError:
        return None
    return events[0].get("EventId") if events else None


def change_set_type(state: StackState, label: str, retire_hint: str) -> str:
    """CREATE or UPDATE; ChangeSetError when the stack cannot take a change set as it is."""
    if not state.exists or state.status == "REVIEW_IN_PROGRESS":
        return "CREATE"
    if state.status == "ROLLBACK_COMPLETE":
        raise ChangeSetError(f"must be recreated: the stack is ROLLBACK_COMPLETE (its creation failed) and "
                             f"cannot be updated; {retire_hint}")
    if state.status in BROKEN:
        raise ChangeSetError(f"the stack is {state.status}: {BROKEN[state.status]}")
    return "UPDATE"


def create(ctx: RunContext, cfn, name: str, cs_type: str, template: dict, parameters, tags,
           options: dict | None = None) -> tuple[str, str]:
    """Create a change set; (name, id). `options` adds or replaces CreateChangeSet arguments
    (adoption: ImportExistingResources, parameters kept with UsePreviousValue)."""
    cs_name = ctx.change_set_name(name)
    kwargs = dict(StackName=name, ChangeSetName=cs_name, ChangeSetType=cs_type, Capabilities=CAPABILITIES,
                  Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters],
                  Tags=[{"Key": k, "Value": v} for k, v in tags],
                  Description=f"shipspec run {ctx.run_id}", **template)
    for key, value in (options or {}).items():  # None leaves an argument out (Tags: keep the stack's own)
        if value is None:
            kwargs.pop(key, None)
        else:
            kwargs[key] = value
    try:
        resp = cfn.create_change_set(**kwargs)
    except ClientError as exc:
        raise ChangeSetError(f"CreateChangeSet failed: {error_code(exc)}: {error_message(exc)}") from None
    return cs_name, resp["Id"]


def wait_ready(ctx: RunContext, cfn, name: str, cs_id: str) -> tuple[str, str, dict | None]:
    """Wait for a change set: ("ready", "", first page) | ("no-change", reason, None) |
    ("failed", reason, None). It is polled with property values, so the description that finds
    it ready is the first page `describe_all` would read."""
    deadline = ctx.deadline(ctx.timing.change_set_timeout)
    while True:
        d = cfn.describe_change_set(ChangeSetName=cs_id, StackName=name, IncludePropertyValues=True)
        status, reason = d.get("Status", ""), d.get("StatusReason", "") or ""
        if status == "CREATE_COMPLETE":
            return "ready", "", d
        if status == "FAILED":
            if any(m in reason for m in NO_CHANGE_MARKERS):
                return "no-change", reason, None
            return "failed", reason or "(no reason given)", None
        if status.startswith("DELETE"):
            return "failed", f"the change set was deleted while being created ({status})", None
        if time.monotonic() > deadline:
            return "failed", f"change set still {status} after {int(ctx.timing.change_set_timeout)} s", None
        ctx.sleep()


def describe_all(cfn, name: str, cs_id: str, first: dict | None = None) -> list[dict]:
    """Every page of the change set's changes, with property values (`first`: the first page,
    when already read)."""
    out: list[dict] = []
    page = first if first is not None else cfn.describe_change_set(
        ChangeSetName=cs_id, StackName=name, IncludePropertyValues=True)
    while True:
        out += page.get("Changes", [])
        token = page.get("NextToken")
        if not token:
            return out
        page = cfn.describe_change_set(ChangeSetName=cs_id, StackName=name, IncludePropertyValues=True,
                                       NextToken=token)


def _value(v: Any) -> Any:
    if isinstance(v, str) and v[:1] in ("{", "["):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


def to_resource_changes(raw: list[dict]) -> list[ResourceChange]:
    """Change-set `Changes` as ResourceChange values (risk is set later by `changes.merge`)."""
    out = []
    for ch in raw:
        rc = ch.get("ResourceChange")
        if ch.get("Type", "Resource") != "Resource" or not rc:
            continue
        props: dict[str, PropertyChange] = {}
        for d in rc.get("Details") or ():
            t = d.get("Target") or {}
            attr = t.get("Attribute", "")
            path = (pointer_to_path(t["Path"]) if t.get("Path") else t.get("Name")) if attr == "Properties" else attr
            if not path:
                continue
            before, after = _value(t.get("BeforeValue")), _value(t.get("AfterValue"))
            rec = t.get("RequiresRecreation", "") or ""
            old = props.get(path)
            if old is not None:
                before = old.before if before is None else before
                after = old.after if after is None else after
                rec = rec if rec == "Always" or not old.requires_recreation else old.requires_recreation
            props[path] = PropertyChange(path, before, after, rec)
        out.append(ResourceChange(
            logical_id=rc.get("LogicalResourceId", ""), resource_type=rc.get("ResourceType", ""),
            action=rc.get("Action", ""), replacement=rc.get("Replacement") or None,
            properties=tuple(props.values()), source="change-set", policy_action=rc.get("PolicyAction") or None))
    return out


def delete_change_set(cfn, name: str, cs_id: str) -> None:
    try:
        cfn.delete_change_set(ChangeSetName=cs_id, StackName=name)
    except ClientError:
        pass  # already gone (executed, or deleted with its stack)


def delete_review_shell(cfn, name: str) -> None:
    """Delete a stack left in REVIEW_IN_PROGRESS by a CREATE change set (it has no resources)."""
    state = describe_stack(cfn, name)
    if state.exists and state.status == "REVIEW_IN_PROGRESS":
        cfn.delete_stack(StackName=state.stack_id or name)
