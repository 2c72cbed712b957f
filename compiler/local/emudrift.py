"""CloudFormation drift detection for the local emulator, which moto lacks (it answers
DetectStackDrift with "not implemented"). `install()` adds to the emulator's CloudFormation:

- `DetectStackDrift` (StackName): compares each resource of the stack with the live resource
  and returns a detection id; refused (ValidationError, as on AWS) while the stack is
  `*_IN_PROGRESS` or does not exist;
- `DescribeStackDriftDetectionStatus` (StackDriftDetectionId): `DETECTION_IN_PROGRESS` for
  `seconds` after the detection started (the latency model's change-set time: 0 by default),
  then `DETECTION_COMPLETE` with `StackDriftStatus` DRIFTED or IN_SYNC and the drifted count;
- `DescribeStackResourceDrifts` (StackName, optional status filters; pages of `MaxResults`).

How the emulator decides. Expected values are the template's properties resolved by moto's own
template engine (parameters, Ref, Fn::Sub, Fn::GetAtt, imports), as CloudFormation compares the
template with the resource. Actual values are read from moto's backends by the resource's
physical id, for the resource types below and the properties they model; a resource whose
physical id is gone is DELETED; other types and properties are NOT_CHECKED, as on AWS for types
without drift support. Only properties the template sets are compared (AWS does the same).
Change a resource through the emulator's API (`logs put-retention-policy`, `ecr
put-image-tag-mutability`, `events disable-rule`, ...) and the next detection reports it.

moto keeps no CodePipeline or CodeBuild resources in its stacks (it skips those types), so
their drift cannot be shown here. This module imports moto: only the emulator process (or a
test hosting moto's server in-process) loads it.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from typing import Any, Callable

PATCHED = "_shipspec_drift"
_DETECTIONS: dict[str, dict] = {}
_LOCK = threading.Lock()
_COUNTER = itertools.count(1)

Reader = Callable[[str, str, str], "dict | None"]  # (account, region, physical id) -> properties or None


# --- reading live resources from moto's backends -----------------------------------------------
# Each reader returns the properties moto applies when a template creates the resource (it
# ignores some, e.g. a log group's KmsKeyId and a repository's LifecyclePolicy: those are left
# out, or every stack would look drifted).

def _log_group(account: str, region: str, pid: str) -> dict | None:
    from moto.logs.models import logs_backends

    g = logs_backends[account][region].groups.get(pid)
    if g is None:
        return None
    return {"LogGroupName": g.name, "RetentionInDays": g.retention_in_days}


def _ecr_repository(account: str, region: str, pid: str) -> dict | None:
    from moto.ecr.models import ecr_backends

    r = ecr_backends[account][region].repositories.get(pid)
    if r is None:
        return None
    scan = r.image_scanning_configuration or {}  # API casing, or CloudFormation's when a stack made it
    return {"RepositoryName": r.name, "ImageTagMutability": r.image_tag_mutability,
            "ImageScanningConfiguration": {"ScanOnPush": scan.get("scanOnPush", scan.get("ScanOnPush", False))}}


def _sns_topic(account: str, region: str, pid: str) -> dict | None:
    from moto.sns.models import sns_backends

    t = sns_backends[account][region].topics.get(pid)
    if t is None:
        return None
    return {"DisplayName": t.display_name, "KmsMasterKeyId": getattr(t, "kms_master_key_id", None)}


def _events_rule(account: str, region: str, pid: str) -> dict | None:
    from moto.events.models import events_backends

    backend = events_backends[account][region]
    rule = next((r for bus in backend.event_buses.values() for name, r in bus.rules.items() if name == pid), None)
    if rule is None:
        return None
    pattern = rule.event_pattern.dump() if rule.event_pattern else None
    return {"State": rule.state, "Description": rule.description,
            "EventPattern": json.loads(pattern) if isinstance(pattern, str) and pattern else pattern}


def _lambda_function(account: str, region: str, pid: str) -> dict | None:
    from moto.awslambda.models import lambda_backends

    try:
        f = lambda_backends[account][region].get_function(pid)
    except Exception:  # noqa: BLE001 - moto raises its own "not found" types
        return None
    return {"FunctionName": f.function_name, "Handler": f.handler, "Runtime": f.run_time,
            "MemorySize": f.memory_size, "Timeout": f.timeout, "Description": f.description,
            "Environment": {"Variables": dict(f.environment_vars or {})}}


def _iam_role(account: str, region: str, pid: str) -> dict | None:
    from moto.iam.models import iam_backends

    backend = iam_backends[account]["aws"]
    role = next((r for r in backend.roles.values() if r.name == pid), None)
    if role is None:
        return None
    return {"Description": role.description, "MaxSessionDuration": role.max_session_duration}


READERS: dict[str, Reader] = {
    "AWS::Logs::LogGroup": _log_group,
    "AWS::ECR::Repository": _ecr_repository,
    "AWS::SNS::Topic": _sns_topic,
    "AWS::Events::Rule": _events_rule,
    "AWS::Lambda::Function": _lambda_function,
    "AWS::IAM::Role": _iam_role,
}


# --- comparing (pure) ---------------------------------------------------------------------------

def _norm(value: Any) -> str:
    """A value as drift detection compares it: numbers and booleans as text, JSON text parsed."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in "{[":
            try:
                return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
            except ValueError:
                return value
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return str(value)


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def differences(expected: dict, actual: dict, path: str = "") -> list[dict]:
    """PropertyDifferences (AWS's shape) for the properties `expected` sets that `actual` models."""
    out = []
    for key in sorted(expected):
        if key not in actual:
            continue  # not modelled here: not checked
        want, have, where = expected[key], actual[key], f"{path}/{key}"
        if isinstance(want, dict) and isinstance(have, dict) and not key.endswith("Pattern"):
            if key == "Variables":  # a map whose entries may be added or removed
                for name in sorted(set(want) | set(have)):
                    if name not in have:
                        out.append(_diff(f"{where}/{name}", want[name], None, "REMOVE"))
                    elif name not in want:
                        out.append(_diff(f"{where}/{name}", None, have[name], "ADD"))
                    elif _norm(want[name]) != _norm(have[name]):
                        out.append(_diff(f"{where}/{name}", want[name], have[name], "NOT_EQUAL"))
                continue
            out += differences(want, have, where)
        elif have is None and want is not None:
            out.append(_diff(where, want, None, "REMOVE"))
        elif _norm(want) != _norm(have):
            out.append(_diff(where, want, have, "NOT_EQUAL"))
    return out


def _diff(path: str, expected: Any, actual: Any, kind: str) -> dict:
    return {"PropertyPath": path, "ExpectedValue": "" if expected is None else _shown(expected),
            "ActualValue": "" if actual is None else _shown(actual), "DifferenceType": kind}


# --- detection over a moto stack ----------------------------------------------------------------

def _resource_drift(stack, logical_id: str, resource_type: str, physical_id: str, now) -> dict:
    from moto.cloudformation.parsing import clean_json

    base = {"StackId": stack.stack_id, "LogicalResourceId": logical_id, "PhysicalResourceId": physical_id,
            "ResourceType": resource_type, "Timestamp": now}
    reader = READERS.get(resource_type)
    if reader is None:
        return {**base, "StackResourceDriftStatus": "NOT_CHECKED"}
    try:
        raw = stack.resource_map._resource_json_map.get(logical_id, {}).get("Properties") or {}
        expected = clean_json(raw, stack.resource_map)
    except Exception:  # noqa: BLE001 - an intrinsic moto cannot resolve: not checked
        return {**base, "StackResourceDriftStatus": "NOT_CHECKED"}
    actual = reader(stack.account_id, stack.region_name, physical_id)
    if actual is None:
        return {**base, "StackResourceDriftStatus": "DELETED",
                "ExpectedProperties": json.dumps(expected, sort_keys=True, default=str)}
    diffs = differences(expected if isinstance(expected, dict) else {}, actual)
    status = "MODIFIED" if diffs else "IN_SYNC"
    extra = {"PropertyDifferences": diffs} if diffs else {}
    return {**base, "StackResourceDriftStatus": status, **extra}


def detect(stack, now=None) -> list[dict]:
    """Every resource of a moto stack with its drift (AWS's StackResourceDrift shape)."""
    from datetime import datetime, timezone

    now = now or datetime.now(timezone.utc)
    out = []
    for res in stack.stack_resources:
        lid = getattr(res, "logical_resource_id", None)
        if not lid:
            continue
        rtype = stack.resource_map._resource_json_map.get(lid, {}).get("Type", "")
        out.append(_resource_drift(stack, lid, rtype, str(getattr(res, "physical_resource_id", "")), now))
    return sorted(out, key=lambda r: r["LogicalResourceId"])


# --- the API -----------------------------------------------------------------------------------

def install(seconds: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
    """Add the three drift calls to moto's CloudFormation, in this process (idempotent)."""
    from moto.cloudformation.exceptions import ValidationError
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult

    if getattr(CloudFormationResponse, PATCHED, False):
        return
    setattr(CloudFormationResponse, PATCHED, True)

    def detect_stack_drift(self) -> ActionResult:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        if stack.status.endswith("_IN_PROGRESS") or stack.status.startswith("DELETE"):
            raise ValidationError(message=f"Stack [{stack.name}] is in {stack.status} state and can not be "
                                          "checked for drift")
        drifts = detect(stack)
        drifted = sum(1 for d in drifts if d["StackResourceDriftStatus"] in ("MODIFIED", "DELETED"))
        detection_id = str(uuid.uuid4())
        with _LOCK:
            _DETECTIONS[detection_id] = {"stack": stack, "drifts": drifts, "drifted": drifted,
                                         "ready_at": clock() + seconds, "order": next(_COUNTER)}
            stack._shipspec_drifts = drifts  # what DescribeStackResourceDrifts reads: the latest detection
        return ActionResult({"StackDriftDetectionId": detection_id})

    def describe_stack_drift_detection_status(self) -> ActionResult:
        from datetime import datetime, timezone

        detection_id = self._get_param("StackDriftDetectionId")
        with _LOCK:
            found = _DETECTIONS.get(detection_id)
        if found is None:
            raise ValidationError(message=f"Drift detection {detection_id} does not exist")
        stack = found["stack"]
        result = {"StackId": stack.stack_id, "StackDriftDetectionId": detection_id,
                  "Timestamp": datetime.now(timezone.utc)}
        if clock() < found["ready_at"]:
            return ActionResult({**result, "DetectionStatus": "DETECTION_IN_PROGRESS"})
        return ActionResult({**result, "DetectionStatus": "DETECTION_COMPLETE",
                             "StackDriftStatus": "DRIFTED" if found["drifted"] else "IN_SYNC",
                             "DriftedStackResourceCount": found["drifted"]})

    def describe_stack_resource_drifts(self) -> ActionResult:
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        wanted = set(self._get_param("StackResourceDriftStatusFilters", []) or [])
        drifts = [d for d in getattr(stack, "_shipspec_drifts", []) if not wanted
                  or d["StackResourceDriftStatus"] in wanted]
        size = int(self._get_param("MaxResults") or 100)
        start = int(self._get_param("NextToken") or 0)
        page = drifts[start:start + size]
        result: dict = {"StackResourceDrifts": page}
        if start + size < len(drifts):
            result["NextToken"] = str(start + size)
        return ActionResult(result)

    CloudFormationResponse.detect_stack_drift = detect_stack_drift
    CloudFormationResponse.describe_stack_drift_detection_status = describe_stack_drift_detection_status
    CloudFormationResponse.describe_stack_resource_drifts = describe_stack_resource_drifts
