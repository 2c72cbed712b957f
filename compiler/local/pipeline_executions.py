"""The emulator's record of pipeline executions. moto runs no pipeline (its StartPipelineExecution
"succeeds" at once and it has no GetPipelineState); `shipspec local run` runs one on this machine
(compiler/local/pipeline_runner.py) and tells the emulator each state change, so that the AWS API reads it
back as AWS would: `status --local`, the notification handler's GetPipelineExecution, the AWS CLI.
`install()` patches moto in the emulator's process. This module imports moto: only the emulator loads it.

What is modelled, and why:

- **ShipspecRecordExecution**, an operation of the emulator's own (CodePipeline's JSON protocol, target
  `CodePipeline_20150709.ShipspecRecordExecution`, signed like any call, so the caller's credentials name
  the account): `start` makes an execution through moto's StartPipelineExecution and keeps it
  InProgress with its trigger; `execution` sets its status, summary, artifact and source revisions and
  resolved variables; `stage` and `action` set the latest state of a stage or an action (status,
  summary, external execution id, error details, the approval's token, the source revision). Only
  `local run` calls it.
- **GetPipelineState**: every stage and action of the declared pipeline with the latest execution that
  reached it (as the console shows a pipeline: a stage keeps its last state until a later run reaches it).
- **GetPipelineExecution, ListPipelineExecutions**: moto's executions with the recorded status, trigger,
  artifact revisions (`revisionId`, `revisionSummary`), source revisions and variables.
- **PutApprovalResult**: answers a manual approval that is InProgress, with its token
  (`InvalidApprovalTokenException` otherwise; `ApprovalAlreadyCompletedException` once answered), so a
  person can approve with the AWS CLI while `local run` waits.
- **ListWebhooks**: the webhooks stacks declared (compiler/local/pipeline_resources.py).
- **EventBridge TestEventPattern** (moto: not implemented): moto's own event-pattern matcher, so the
  runner matches each event against the notification rule as stored.
"""

from __future__ import annotations

import json
from typing import Any

PATCHED = "_shipspec_pipeline_executions"
EXTRA = "_shipspec_run"  # on moto's PipelineExecution: what the runner recorded
STAGES = "_shipspec_stage_states"  # on moto's CodePipeline: stage -> latest state
OPERATION = "ShipspecRecordExecution"


def _now() -> str:
    from moto.core.utils import iso_8601_datetime_with_milliseconds, utcnow

    return iso_8601_datetime_with_milliseconds(utcnow())


def _error(code: str, message: str) -> Exception:
    from moto.core.exceptions import JsonRESTError

    return JsonRESTError(code, message)


def _pipeline(backend: Any, name: str) -> Any:
    found = backend.pipelines.get(name)
    if found is None:
        raise _error("PipelineNotFoundException",
                     f"Account '{backend.account_id}' does not have a pipeline with name '{name}'")
    return found


def _execution(pipeline: Any, execution_id: str) -> Any:
    found = pipeline.executions.get(execution_id)
    if found is None:
        raise _error("PipelineExecutionNotFoundException", f"Pipeline execution {execution_id} not found")
    return found


def _stage_states(pipeline: Any) -> dict[str, dict]:
    if not hasattr(pipeline, STAGES):
        setattr(pipeline, STAGES, {})
    return getattr(pipeline, STAGES)


def record(backend: Any, doc: dict) -> dict:
    """One state change from the runner; what it returns is the operation's answer."""
    from moto.core.utils import utcnow

    pipeline = _pipeline(backend, str(doc.get("pipelineName", "")))
    op = doc.get("op")
    if op == "start":
        execution_id = backend.start_pipeline_execution(pipeline.pipeline["name"], doc.get("variables") or None)
        ex = pipeline.executions[execution_id]
        ex.status = "InProgress"
        setattr(ex, EXTRA, {"trigger": doc.get("trigger") or {"triggerType": "StartPipelineExecution",
                                                               "triggerDetail": ""},
                            "artifactRevisions": [], "sourceRevisions": [], "resolved": []})
        return {"pipelineExecutionId": execution_id}
    ex = _execution(pipeline, str(doc.get("pipelineExecutionId", "")))
    ex.last_update_time = utcnow()
    extra = getattr(ex, EXTRA, None) or {}
    if op == "execution":
        if doc.get("status"):
            ex.status = doc["status"]
        if "statusSummary" in doc:
            ex.status_summary = doc["statusSummary"]
        for key in ("artifactRevisions", "sourceRevisions", "resolved"):
            if key in doc:
                extra[key] = doc[key]
        setattr(ex, EXTRA, extra)
        return {}
    stage = str(doc.get("stageName", ""))
    states = _stage_states(pipeline)
    if op == "stage":
        previous = states.get(stage) or {}
        actions = previous.get("actions", {}) if previous.get("pipelineExecutionId") == ex.pipeline_execution_id else {}
        states[stage] = {"pipelineExecutionId": ex.pipeline_execution_id, "status": doc.get("status", ""),
                         "actions": dict(actions)}
        return {}
    if op == "action":
        entry = states.setdefault(stage, {"pipelineExecutionId": ex.pipeline_execution_id, "status": "InProgress",
                                          "actions": {}})
        state = dict(doc.get("state") or {})
        state["lastStatusChange"] = _now()
        previous = entry["actions"].get(str(doc.get("actionName", ""))) or {}
        for kept in ("token", "approval"):  # an answered approval keeps its token (answering again is refused)
            if kept in previous and kept not in state:
                state[kept] = previous[kept]
        entry["actions"][str(doc.get("actionName", ""))] = state
        return {}
    raise _error("ValidationException", f"{OPERATION}: unknown op {op!r}")


def pipeline_state(backend: Any, name: str) -> dict:
    pipeline = _pipeline(backend, name)
    decl = pipeline.pipeline
    states = _stage_states(pipeline)
    out = []
    for stage in decl.get("stages") or []:
        recorded = states.get(stage["name"]) or {}
        actions = []
        for action in stage.get("actions") or []:
            state = (recorded.get("actions") or {}).get(action["name"])
            item: dict[str, Any] = {"actionName": action["name"]}
            if state:
                latest = {k: v for k, v in state.items() if k in (
                    "actionExecutionId", "status", "summary", "lastStatusChange", "token", "externalExecutionId",
                    "externalExecutionUrl", "errorDetails", "percentComplete", "lastUpdatedBy")}
                item["latestExecution"] = latest
                if state.get("currentRevision"):
                    item["currentRevision"] = state["currentRevision"]
            actions.append(item)
        entry: dict[str, Any] = {"stageName": stage["name"], "inboundTransitionState": {"enabled": True},
                                 "actionStates": actions}
        if recorded:
            entry["latestExecution"] = {"pipelineExecutionId": recorded["pipelineExecutionId"],
                                        "status": recorded["status"]}
        out.append(entry)
    meta = pipeline.metadata
    return {"pipelineName": name, "pipelineVersion": decl.get("version"), "stageStates": out,
            "created": meta["created"], "updated": meta["updated"]}


def answer_approval(backend: Any, params: dict) -> dict:
    pipeline = _pipeline(backend, str(params.get("pipelineName", "")))
    stage, action = str(params.get("stageName", "")), str(params.get("actionName", ""))
    state = ((_stage_states(pipeline).get(stage) or {}).get("actions") or {}).get(action)
    result = params.get("result") or {}
    if result.get("status") not in ("Approved", "Rejected"):
        raise _error("ValidationException", "result.status must be Approved or Rejected")
    if state is None or not state.get("token"):
        raise _error("ActionNotFoundException", f"no manual approval {stage}/{action} is waiting")
    if state.get("status") != "InProgress":
        raise _error("ApprovalAlreadyCompletedException",
                     f"The approval action {stage}/{action} has already been approved or rejected")
    if params.get("token") != state.get("token"):
        raise _error("InvalidApprovalTokenException", f"The token for approval {stage}/{action} is not valid")
    state.update(status="Succeeded" if result["status"] == "Approved" else "Failed",
                 summary=str(result.get("summary") or ""), lastStatusChange=_now(),
                 approval={"status": result["status"], "summary": str(result.get("summary") or "")})
    return {"approvedAt": state["lastStatusChange"]}


def _patch_execution_views() -> None:
    from moto.codepipeline.models import PipelineExecution

    to_dict, to_summary = PipelineExecution.to_dict, PipelineExecution.to_summary_dict

    def full(self) -> dict:
        out = to_dict(self)
        extra = getattr(self, EXTRA, None)
        if extra:
            out.update(trigger=extra["trigger"], artifactRevisions=extra["artifactRevisions"])
            if extra.get("resolved"):
                out["variables"] = extra["resolved"]
        return out

    def summary(self) -> dict:
        out = to_summary(self)
        extra = getattr(self, EXTRA, None)
        if extra:
            out.update(trigger=extra["trigger"], sourceRevisions=extra["sourceRevisions"])
        return out

    PipelineExecution.to_dict = full
    PipelineExecution.to_summary_dict = summary


def install() -> None:
    """Patch moto's CodePipeline and EventBridge in this process (idempotent)."""
    from moto.codepipeline.models import CodePipelineBackend
    from moto.codepipeline.responses import CodePipelineResponse
    from moto.events.responses import EventsHandler

    from .pipeline_resources import webhooks

    if getattr(CodePipelineBackend, PATCHED, False):
        return
    setattr(CodePipelineBackend, PATCHED, True)
    _patch_execution_views()

    def body(self) -> dict:
        try:
            doc = json.loads(self.body or "{}")
        except ValueError:
            raise _error("ValidationException", "the request body is not JSON") from None
        return doc if isinstance(doc, dict) else {}

    def shipspec_record_execution(self) -> str:
        return json.dumps(record(self.codepipeline_backend, body(self)))

    def get_pipeline_state(self) -> str:
        return json.dumps(pipeline_state(self.codepipeline_backend, self._get_param("name")))

    def put_approval_result(self) -> str:
        return json.dumps(answer_approval(self.codepipeline_backend, body(self)))

    def list_webhooks(self) -> str:
        backend = self.codepipeline_backend
        return json.dumps({"webhooks": [w for _, w in sorted(webhooks(backend.account_id, backend.region_name).items())]})

    for method in (shipspec_record_execution, get_pipeline_state, put_approval_result, list_webhooks):
        setattr(CodePipelineResponse, method.__name__, method)

    def test_event_pattern(self) -> str:
        from moto.events.models import EventPattern

        try:
            pattern = EventPattern.load(self._get_param("EventPattern"))
            event = json.loads(self._get_param("Event") or "")
        except ValueError:
            raise _error("InvalidEventPatternException", "Event pattern is not valid. Reason: Invalid JSON") from None
        missing = [k for k in ("id", "account", "source", "time", "region", "detail-type") if k not in event]
        if missing:
            raise _error("InvalidArgument", f"Parameter Event is not valid: missing {', '.join(missing)}")
        return json.dumps({"Result": pattern.matches_event(event)})

    EventsHandler.test_event_pattern = test_event_pattern
