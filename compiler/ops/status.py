"""`shipspec status`: the pipeline's latest executions, the ECS service's deployments and its latest
events, gathered into one frozen `Snapshot`.

`gather(clients, config)` is the only function here that calls AWS; `clients` is a factory
(`"ecs" -> boto3 client`) from the caller, so tests hand it emulator clients. Reads that fail (the
stage states, when GetPipelineState is denied or not answered) become notes in the snapshot, never errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Optional

from ..deploy.aws.errors import client_errors, error_code, short_error
from ..spec import naming

if TYPE_CHECKING:
    from ..spec.models import ServiceConfig

ClientFactory = Callable[[str], Any]

MAX_EXECUTIONS = 5
MAX_EVENTS = 10


@dataclass(frozen=True)
class StageState:
    name: str
    status: str  # InProgress, Succeeded, Failed, ... ("" when the stage never ran)
    changed: str  # ISO time of the last status change of its actions
    revision: str  # source revision (commit) the stage last ran with, when reported


@dataclass(frozen=True)
class Execution:
    id: str
    status: str
    started: str
    updated: str
    commit: str
    summary: str
    trigger: str


@dataclass(frozen=True)
class PipelineStatus:
    name: str
    found: bool
    executions: tuple[Execution, ...] = ()
    stages: tuple[StageState, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Deployment:
    id: str
    status: str  # PRIMARY, ACTIVE, INACTIVE
    rollout_state: str
    rollout_reason: str
    desired: int
    running: int
    pending: int
    failed: int
    task_definition: str  # family:revision
    images: tuple[str, ...]
    created: str
    updated: str


@dataclass(frozen=True)
class ServiceEvent:
    created: str
    message: str


@dataclass(frozen=True)
class ServiceStatus:
    cluster: str
    name: str
    found: bool
    problem: str = ""  # "cluster-not-found" / "service-not-found" when not found
    status: str = ""
    launch_type: str = ""
    desired: int = 0
    running: int = 0
    pending: int = 0
    deployments: tuple[Deployment, ...] = ()
    events: tuple[ServiceEvent, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def primary(self) -> Optional[Deployment]:
        return next((d for d in self.deployments if d.status == "PRIMARY"), None)


@dataclass(frozen=True)
class Snapshot:
    service: str
    environment: str
    account: str
    region: str
    pipeline: PipelineStatus
    ecs: ServiceStatus


def iso(value: Any) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value) if value else ""


def family_revision(arn: str) -> str:
    """arn:...:task-definition/video-api:7 -> video-api:7."""
    return arn.rsplit("/", 1)[-1] if arn else ""


def gather_pipeline(clients: ClientFactory, c: "ServiceConfig") -> PipelineStatus:
    name = naming.pipeline_name(c)
    cp = clients("codepipeline")
    errors = client_errors()
    try:
        summaries = cp.list_pipeline_executions(pipelineName=name, maxResults=MAX_EXECUTIONS)[
            "pipelineExecutionSummaries"]
    except errors as exc:
        if error_code(exc) == "PipelineNotFoundException":
            return PipelineStatus(name, False, notes=(
                f"pipeline {name} not found in account {c.environment.account} region {c.environment.region}; "
                "has the pipeline stack been applied (shipspec apply)?",))
        return PipelineStatus(name, False, notes=(f"cannot list the pipeline's executions: {short_error(exc)}",))
    executions = tuple(_execution(s) for s in summaries[:MAX_EXECUTIONS])
    notes: list[str] = []
    stages: tuple[StageState, ...] = ()
    try:
        state = cp.get_pipeline_state(name=name)
        stages = tuple(_stage(s) for s in state.get("stageStates", []))
    except errors as exc:
        notes.append(f"stage states unavailable ({short_error(exc)})")
    return PipelineStatus(name, True, executions, stages, tuple(notes))


def revision_summary(text: str) -> str:
    """The commit message's first line; CodeStar connections report a JSON object."""
    text = text or ""
    if text.startswith("{"):
        try:
            text = str(json.loads(text).get("CommitMessage", ""))
        except (ValueError, AttributeError):
            pass
    lines = text.strip().splitlines()
    return lines[0][:80] if lines else ""


def _execution(s: dict) -> Execution:
    revisions = s.get("sourceRevisions") or []
    first = revisions[0] if revisions else {}
    summary = revision_summary(first.get("revisionSummary") or "")
    return Execution(s.get("pipelineExecutionId", ""), s.get("status", ""), iso(s.get("startTime")),
                     iso(s.get("lastUpdateTime")), (first.get("revisionId") or "")[:12],
                     summary, (s.get("trigger") or {}).get("triggerType", ""))


def _stage(s: dict) -> StageState:
    latest = s.get("latestExecution") or {}
    actions = s.get("actionStates") or []
    changed = max((iso((a.get("latestExecution") or {}).get("lastStatusChange")) for a in actions), default="")
    revision = next(((a.get("currentRevision") or {}).get("revisionId", "") for a in actions
                     if (a.get("currentRevision") or {}).get("revisionId")), "")
    return StageState(s.get("stageName", ""), latest.get("status", ""), changed, revision[:12])


def gather_service(clients: ClientFactory, c: "ServiceConfig") -> tuple[ServiceStatus, dict]:
    """The service's status, and the raw DescribeServices entry (empty when not found)."""
    cluster, name = c.service.cluster, c.ecs_service_name
    ecs = clients("ecs")
    errors = client_errors()
    try:
        resp = ecs.describe_services(cluster=cluster, services=[name])
    except errors as exc:
        if error_code(exc) == "ClusterNotFoundException":
            return ServiceStatus(cluster, name, False, "cluster-not-found", notes=(
                f"cluster {cluster} not found in account {c.environment.account} region {c.environment.region}",)), {}
        raise
    services = [s for s in resp.get("services", []) if s.get("status") != "INACTIVE"]
    if not services:
        return ServiceStatus(cluster, name, False, "service-not-found", notes=(
            f"service {name} not found in cluster {cluster} (account {c.environment.account}, "
            f"region {c.environment.region})",)), {}
    raw = services[0]
    images: dict[str, tuple[str, ...]] = {}
    notes: list[str] = []
    for d in raw.get("deployments", []):
        arn = d.get("taskDefinition", "")
        if arn and arn not in images:
            try:
                td = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
                images[arn] = tuple(f"{x.get('name')}={x.get('image')}" for x in td.get("containerDefinitions", []))
            except errors as exc:
                images[arn] = ()
                notes.append(f"cannot read task definition {family_revision(arn)}: {short_error(exc)}")
    deployments = tuple(_deployment(d, images.get(d.get("taskDefinition", ""), ())) for d in raw.get("deployments", []))
    events = sorted(raw.get("events", []), key=lambda e: iso(e.get("createdAt")), reverse=True)
    return ServiceStatus(
        cluster, name, True, "", raw.get("status", ""), raw.get("launchType", "") or c.service.launch_type,
        int(raw.get("desiredCount", 0)), int(raw.get("runningCount", 0)), int(raw.get("pendingCount", 0)),
        deployments, tuple(ServiceEvent(iso(e.get("createdAt")), e.get("message", "")) for e in events[:MAX_EVENTS]),
        tuple(notes)), raw


def _deployment(d: dict, images: tuple[str, ...]) -> Deployment:
    return Deployment(d.get("id", ""), d.get("status", ""), d.get("rolloutState", ""),
                      d.get("rolloutStateReason", ""), int(d.get("desiredCount", 0)), int(d.get("runningCount", 0)),
                      int(d.get("pendingCount", 0)), int(d.get("failedTasks", 0)),
                      family_revision(d.get("taskDefinition", "")), images, iso(d.get("createdAt")),
                      iso(d.get("updatedAt")))


def gather(clients: ClientFactory, c: "ServiceConfig") -> Snapshot:
    service, _ = gather_service(clients, c)
    return Snapshot(c.name, c.environment.name, c.environment.account, c.environment.region,
                    gather_pipeline(clients, c), service)
