"""`shipspec status --all`: one row per service and environment -- its pipeline's latest execution
and its ECS service's health -- from the same gathering as `shipspec status`
(`compiler/ops/status.py:gather`), classified here (pure): what is wrong with a row, if anything.

A row has a problem when: its ECS service (or cluster) is not found; the latest pipeline
execution failed, stopped or was cancelled; the primary deployment failed or has failed tasks;
no task runs although some are wanted (even during a deployment: the service is down); or fewer
run than wanted with no deployment under way. A deployment under way with tasks running is
"deploying", not a problem. Where the endpoint keeps no
pipelines (the local emulator), a missing pipeline is a note, not a problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from ..deploy.aws.errors import client_errors, short_error
from .status import ClientFactory, PipelineStatus, ServiceStatus, Snapshot, gather

if TYPE_CHECKING:
    from ..spec.models import ServiceConfig

HEALTHY, DEPLOYING, FAILING, MISSING, UNKNOWN = "healthy", "deploying", "failing", "missing", "unknown"
ORDER = (MISSING, FAILING, UNKNOWN, DEPLOYING, HEALTHY)  # problems first
PIPELINE_FAILED = ("Failed", "Stopped", "Cancelled", "Stopping")
STAGE_STOPPED = ("Failed", "InProgress", "Stopped", "Stopping", "Cancelled")


@dataclass(frozen=True)
class FleetRow:
    service: str
    environment: str
    account: str
    region: str
    health: str  # healthy, deploying, failing, missing, unknown
    pipeline: str  # pipeline name
    execution: str  # latest execution's status ("" when none, "not found" when there is no pipeline)
    stage: str  # the stage it stopped in (failed, stopped or still running), "" otherwise
    started: str  # ISO time the latest execution started
    commit: str
    cluster: str
    ecs_service: str
    running: int = 0
    desired: int = 0
    deployment: str = ""  # the primary deployment's rollout state (COMPLETED, IN_PROGRESS, FAILED)
    problems: tuple[str, ...] = ()

    @property
    def unhealthy(self) -> bool:
        return bool(self.problems)


def _stopped_stage(p: PipelineStatus) -> str:
    return next((s.name for s in p.stages if s.status in STAGE_STOPPED), "")


def classify(snap: Snapshot) -> FleetRow:
    """The row of one snapshot."""
    p, s = snap.pipeline, snap.ecs
    problems: list[str] = []
    latest = p.executions[0] if p.executions else None
    execution = latest.status if latest else ("" if p.found else "not found")
    stage = _stopped_stage(p) if latest else ""
    if not p.found:
        problems.append(f"pipeline {p.name} not found")
    elif latest and latest.status in PIPELINE_FAILED:
        problems.append(f"pipeline {latest.status.lower()}" + (f" in stage {stage}" if stage else ""))
    deployment = ""
    if not s.found:
        problems.append(f"{'cluster ' + s.cluster if s.problem == 'cluster-not-found' else 'service ' + s.name} "
                        "not found")
        health = MISSING
    else:
        primary = s.primary
        deployment = primary.rollout_state if primary else ""
        health = _health(s, problems)
    if problems and health != MISSING:
        health = FAILING
    return FleetRow(snap.service, snap.environment, snap.account, snap.region, health, p.name, execution, stage,
                    latest.started if latest else "", latest.commit if latest else "", s.cluster, s.name,
                    s.running, s.desired, deployment, tuple(problems))


def _health(s: ServiceStatus, problems: list[str]) -> str:
    primary = s.primary
    if primary and primary.rollout_state == "FAILED":
        problems.append("deployment failed" + (f": {primary.rollout_reason}" if primary.rollout_reason else ""))
    elif primary and primary.failed:
        problems.append(f"{primary.failed} failed task{'s' if primary.failed != 1 else ''} in the deployment")
    rolling = any(d.rollout_state == "IN_PROGRESS" for d in s.deployments) or len(s.deployments) > 1
    if s.desired and not s.running:
        problems.append(f"no task running (0 of {s.desired})")
    elif s.running < s.desired and not rolling:
        problems.append(f"{s.running} of {s.desired} tasks running")
    if problems:
        return FAILING
    return DEPLOYING if rolling else HEALTHY


def failed_row(c: "ServiceConfig", reason: str) -> FleetRow:
    """A row whose reads failed (permissions, throttling beyond retries, an endpoint error)."""
    from ..spec import naming

    env = c.environment
    return FleetRow(c.name, env.name, env.account, env.region, UNKNOWN, naming.pipeline_name(c), "", "", "", "",
                    c.service.cluster, c.ecs_service_name, problems=(f"cannot read: {reason}",))


def row(clients: ClientFactory, c: "ServiceConfig") -> FleetRow:
    """Gather and classify one service in one environment; AWS failures become an `unknown` row."""
    try:
        return classify(gather(clients, c))
    except client_errors() as exc:
        return failed_row(c, short_error(exc))


def ordered(rows) -> list[FleetRow]:
    """Problems first (missing, failing, unknown), then deploying, then healthy; by name within."""
    return sorted(rows, key=lambda r: (ORDER.index(r.health), r.service, r.environment))


def age(iso_time: str, now: datetime) -> str:
    """`5m`, `3h`, `2d` since an ISO time; "" when there is none."""
    if not iso_time:
        return ""
    try:
        then = datetime.strptime(iso_time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return ""
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
