"""The service's rollouts (ECS service deployments) as frozen values, for `status`, `doctor` and
`rollback`: each with its id, strategy, status, the revisions it went from and to, and why it ended.

`gather_rollouts(clients, config)` reads ListServiceDeployments, DescribeServiceDeployments and
DescribeServiceRevisions (the ECS API reference); a read that fails becomes a note. A rollout
succeeded only when its own status is SUCCESSFUL (compiler/core/ecs_deployments.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from ..core.ecs_deployments import FAILED, IN_PROGRESS, ROLLED_BACK
from ..deploy.aws.errors import client_errors, short_error
from .status import ClientFactory, family_revision, iso

if TYPE_CHECKING:
    from ..spec.models import ServiceConfig

MAX_ROLLOUTS = 5


@dataclass(frozen=True)
class Rollout:
    arn: str
    id: str
    status: str  # PENDING, IN_PROGRESS, SUCCESSFUL, ROLLBACK_SUCCESSFUL, ...
    strategy: str  # ROLLING, BLUE_GREEN, LINEAR, CANARY ("" when not reported)
    source: tuple[str, ...]  # task definitions (family:revision) it went from
    target: str  # the task definition it went to
    source_task_definitions: tuple[str, ...]  # full ARNs, for a rollback
    target_task_definition: str
    stage: str
    running: int
    pending: int
    desired: int
    created: str
    finished: str
    reason: str  # statusReason
    rollback_reason: str

    @property
    def in_progress(self) -> bool:
        return self.status in IN_PROGRESS

    @property
    def failed(self) -> bool:
        """Rolled back or stopped: the rollout did not deliver its revision."""
        return self.status in ROLLED_BACK or self.status in FAILED

    def summary(self) -> str:
        before = ", ".join(self.source) or "?"
        return f"{self.id} {self.strategy or '?'} {self.status}: {before} -> {self.target or '?'}"


@dataclass(frozen=True)
class Rollouts:
    items: tuple[Rollout, ...] = ()  # newest first
    notes: tuple[str, ...] = ()

    @property
    def in_progress(self) -> Optional[Rollout]:
        return next((r for r in self.items if r.in_progress), None)

    @property
    def latest_failed(self) -> Optional[Rollout]:
        """The newest rollout, when it failed (a later success makes earlier failures history)."""
        return self.items[0] if self.items and self.items[0].failed else None


def _revisions(ecs, arns: list[str], notes: list[str]) -> dict[str, str]:
    if not arns:
        return {}
    try:
        found = ecs.describe_service_revisions(serviceRevisionArns=arns[:20]).get("serviceRevisions", [])
    except client_errors() as exc:
        notes.append(f"cannot read the service revisions: {short_error(exc)}")
        return {}
    return {r.get("serviceRevisionArn", ""): r.get("taskDefinition", "") for r in found}


def _rollout(d: dict, tds: dict[str, str]) -> Rollout:
    sources = [r.get("arn", "") for r in d.get("sourceServiceRevisions") or []]
    target = d.get("targetServiceRevision") or {}
    source_tds = tuple(tds.get(a, "") for a in sources if tds.get(a))
    target_td = tds.get(target.get("arn", ""), "")
    arn = d.get("serviceDeploymentArn", "")
    return Rollout(
        arn, arn.rsplit("/", 1)[-1], d.get("status", ""), (d.get("deploymentConfiguration") or {}).get("strategy", ""),
        tuple(family_revision(t) for t in source_tds), family_revision(target_td), source_tds, target_td,
        d.get("lifecycleStage", ""), int(target.get("runningTaskCount") or 0), int(target.get("pendingTaskCount") or 0),
        int(target.get("requestedTaskCount") or 0), iso(d.get("createdAt")), iso(d.get("finishedAt")),
        d.get("statusReason", "") or "", (d.get("rollback") or {}).get("reason", "") or "")


def gather_rollouts(clients: ClientFactory, c: "ServiceConfig", limit: int = MAX_ROLLOUTS) -> Rollouts:
    ecs = clients("ecs")
    notes: list[str] = []
    try:
        briefs = ecs.list_service_deployments(cluster=c.service.cluster, service=c.ecs_service_name,
                                              maxResults=max(limit, 1)).get("serviceDeployments", [])
        arns = [b["serviceDeploymentArn"] for b in briefs[:limit] if b.get("serviceDeploymentArn")]
        described = ecs.describe_service_deployments(serviceDeploymentArns=arns).get(
            "serviceDeployments", []) if arns else []
    except client_errors() as exc:
        return Rollouts((), (f"cannot read the service deployments: {short_error(exc)}",))
    revision_arns: list[str] = []
    for d in described:
        revision_arns += [r.get("arn", "") for r in d.get("sourceServiceRevisions") or []]
        revision_arns.append((d.get("targetServiceRevision") or {}).get("arn", ""))
    tds = _revisions(ecs, sorted({a for a in revision_arns if a}), notes)
    order = {arn: i for i, arn in enumerate(arns)}
    items = sorted((_rollout(d, tds) for d in described), key=lambda r: order.get(r.arn, len(order)))
    return Rollouts(tuple(items), tuple(notes))


def as_dicts(r: Rollouts) -> list[dict[str, Any]]:
    from dataclasses import asdict

    return [asdict(x) for x in r.items]
