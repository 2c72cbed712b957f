"""`shipspec drift`, the stack side: CloudFormation drift detection on each selected stack, read
into frozen values (reads only: nothing is changed).

Per stack: DescribeStacks (a stack being changed, `*_IN_PROGRESS`, is reported as busy and not
checked; a missing one as not deployed), DetectStackDrift, DescribeStackDriftDetectionStatus
polled until the detection ends, then DescribeStackResourceDrifts (every page) for the drifted
resources with each property's expected and actual value. Stacks run on a bounded pool
(`--jobs`); botocore's adaptive retries absorb throttling, and a call still throttled after them
is tried again after a growing pause. CloudFormation runs one detection per stack at a time: a
stack that starts changing between the first read and the detection is reported busy too.

`compiler/ops/runtime_drift.py` compares running task definitions with the specs; the CLI
(`compiler/cli/commands/drift.py`) selects the stacks and prints (`compiler/cli/report_drift.py`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable

from ..core.secrets import secret_like_name, secret_value
from ..deploy.aws.errors import client_errors, error_code, short_error
from ..deploy.changes import MASK, mask_value

if TYPE_CHECKING:
    from ..build.ir import Stack
    from ..deploy.aws.runctx import RunContext

IN_SYNC, DRIFTED, BUSY, NOT_DEPLOYED, FAILED = "IN_SYNC", "DRIFTED", "BUSY", "NOT_DEPLOYED", "FAILED"
THROTTLED = frozenset({"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"})
THROTTLE_TRIES = 5
PAGE = 100


@dataclass(frozen=True)
class PropertyDrift:
    path: str  # /RetentionInDays, /Environment/Variables/LOG_LEVEL
    expected: str
    actual: str
    kind: str  # NOT_EQUAL, ADD, REMOVE


@dataclass(frozen=True)
class ResourceDrift:
    logical_id: str
    physical_id: str
    type: str
    status: str  # MODIFIED or DELETED
    properties: tuple[PropertyDrift, ...] = ()


@dataclass(frozen=True)
class StackDrift:
    stack: str
    kind: str  # bootstrap, pipeline, notification
    service: str  # empty for bootstrap stacks
    environment: str
    account: str
    region: str
    status: str  # IN_SYNC, DRIFTED, BUSY, NOT_DEPLOYED, FAILED
    resources: tuple[ResourceDrift, ...] = ()  # the drifted ones
    checked: int = 0  # resources compared
    not_checked: int = 0  # resources of types drift detection does not support
    reason: str = ""  # why BUSY, NOT_DEPLOYED or FAILED

    @property
    def label(self) -> str:
        return f"{self.stack} ({self.account}/{self.region})"


def _masked(path: str, value: str) -> str:
    """A drift value as shown: dynamic references to secrets, credential-looking text and values
    of secret-named properties become ****."""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    if value and (secret_like_name(name) or secret_value(value) or mask_value(value) == MASK):
        return MASK
    return value


def property_drift(d: dict) -> PropertyDrift:
    path = str(d.get("PropertyPath", ""))
    return PropertyDrift(path, _masked(path, str(d.get("ExpectedValue", ""))),
                         _masked(path, str(d.get("ActualValue", ""))), str(d.get("DifferenceType", "")))


def resource_drift(d: dict) -> ResourceDrift:
    props = tuple(sorted((property_drift(p) for p in d.get("PropertyDifferences") or ()), key=lambda p: p.path))
    return ResourceDrift(str(d.get("LogicalResourceId", "")), str(d.get("PhysicalResourceId", "")),
                         str(d.get("ResourceType", "")), str(d.get("StackResourceDriftStatus", "")), props)


def summarise(stack: "Stack", drifts: Iterable[dict], status: str = "", reason: str = "") -> StackDrift:
    """A stack's result from DescribeStackResourceDrifts entries (pure)."""
    drifts = list(drifts)
    drifted = tuple(sorted((resource_drift(d) for d in drifts
                            if d.get("StackResourceDriftStatus") in ("MODIFIED", "DELETED")),
                           key=lambda r: r.logical_id))
    checked = sum(1 for d in drifts if d.get("StackResourceDriftStatus") in ("IN_SYNC", "MODIFIED", "DELETED"))
    not_checked = sum(1 for d in drifts if d.get("StackResourceDriftStatus") == "NOT_CHECKED")
    status = status or (DRIFTED if drifted else IN_SYNC)
    return StackDrift(stack.name, stack.kind, stack.service, stack.environment, stack.account, stack.region,
                      status, drifted, checked, not_checked, reason)


def _result(stack: "Stack", status: str, reason: str) -> StackDrift:
    return StackDrift(stack.name, stack.kind, stack.service, stack.environment, stack.account, stack.region,
                      status, reason=reason)


def call(ctx: "RunContext", fn: Callable, **kwargs):
    """`fn(**kwargs)`, tried again after a growing pause while AWS still throttles it after
    botocore's own retries."""
    errors = client_errors()
    for attempt in range(THROTTLE_TRIES):
        try:
            return fn(**kwargs)
        except errors as exc:
            if error_code(exc) not in THROTTLED or attempt == THROTTLE_TRIES - 1:
                raise
            ctx.sleep(min(30.0, ctx.timing.poll * 2 ** attempt))
    raise AssertionError("unreachable")


def _stack_status(ctx: "RunContext", cfn, name: str) -> str | None:
    """The stack's status, None when it does not exist."""
    errors = client_errors()
    try:
        stacks = call(ctx, cfn.describe_stacks, StackName=name).get("Stacks", [])
    except errors as exc:
        if error_code(exc) == "ValidationError" and "does not exist" in str(exc):
            return None
        raise
    return str(stacks[0].get("StackStatus", "")) if stacks else None


def _busy(status: str | None) -> bool:
    return bool(status) and status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS"


def detect_stack(ctx: "RunContext", stack: "Stack") -> StackDrift:
    """Drift detection on one stack; AWS failures become a FAILED result, never an exception."""
    errors = client_errors()
    cfn = ctx.sessions.get(stack.account, stack.region).client("cloudformation")
    try:
        status = _stack_status(ctx, cfn, stack.name)
        if status is None or status == "REVIEW_IN_PROGRESS":
            return _result(stack, NOT_DEPLOYED, "not deployed (no such stack); `shipspec apply` creates it")
        if _busy(status):
            return _result(stack, BUSY, f"{status}: being changed, not checked; run drift again when it is done")
        try:
            detection = call(ctx, cfn.detect_stack_drift, StackName=stack.name)["StackDriftDetectionId"]
        except errors as exc:
            now = _stack_status(ctx, cfn, stack.name)
            if error_code(exc) == "ValidationError" and _busy(now):
                return _result(stack, BUSY, f"{now}: being changed, not checked; run drift again when it is done")
            raise
        done = _wait(ctx, cfn, detection, stack)
        if done.get("DetectionStatus") == "DETECTION_IN_PROGRESS":
            return _result(stack, FAILED, f"drift detection {detection} did not finish within "
                                          f"{ctx.timing.change_set_timeout:.0f} s")
        drifts = _resource_drifts(ctx, cfn, stack.name)
        if done.get("DetectionStatus") == "DETECTION_FAILED":
            reason = str(done.get("DetectionStatusReason") or "drift detection failed")
            return summarise(stack, drifts, FAILED, reason.splitlines()[0][:300])
        return summarise(stack, drifts)
    except errors as exc:
        return _result(stack, FAILED, short_error(exc))


def _wait(ctx: "RunContext", cfn, detection: str, stack: "Stack") -> dict:
    deadline = ctx.deadline(ctx.timing.change_set_timeout)
    while True:
        state = call(ctx, cfn.describe_stack_drift_detection_status, StackDriftDetectionId=detection)
        if state.get("DetectionStatus") != "DETECTION_IN_PROGRESS" or time.monotonic() > deadline:
            return state
        ctx.sleep()


def _resource_drifts(ctx: "RunContext", cfn, name: str) -> list[dict]:
    out: list[dict] = []
    token = None
    while True:
        kwargs = {"StackName": name, "MaxResults": PAGE, **({"NextToken": token} if token else {})}
        page = call(ctx, cfn.describe_stack_resource_drifts, **kwargs)
        out += page.get("StackResourceDrifts", [])
        token = page.get("NextToken")
        if not token:
            return out


def any_problem(results: Iterable[StackDrift]) -> bool:
    return any(r.status in (DRIFTED, FAILED) for r in results)
