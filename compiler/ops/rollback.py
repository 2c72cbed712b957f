"""`shipspec rollback`: undo the service's latest rollout.

Two cases, decided by `plan_rollback` from what ECS reports (read-only):

- a rollout is in progress: stop it with rollback (StopServiceDeployment, stopType ROLLBACK); ECS
  returns the service to the revision it ran before.
- none is in progress: point the service back at the previous revision (UpdateService with that
  task definition), which starts a rollout of its own. The previous revision is the one the latest
  rollout started from; without any recorded rollout, the family's revision before the current one.

`execute` makes the one call the plan names. The command shows the plan and asks first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Optional

from ..core.errors import ShipspecError
from .rollouts import Rollout, Rollouts, gather_rollouts
from .status import ClientFactory, family_revision

if TYPE_CHECKING:
    from ..spec.models import ServiceConfig


@dataclass(frozen=True)
class RollbackPlan:
    kind: Literal["stop", "previous"]
    cluster: str
    service: str
    current: str  # the task definition ARN the service is on (or rolling out)
    previous: str  # the task definition ARN it goes back to
    deployment: Optional[Rollout] = None  # "stop": the rollout in progress
    why: str = ""  # how the previous revision was found

    def describe(self) -> str:
        where = f"service {self.service} in cluster {self.cluster}"
        if self.kind == "stop" and self.deployment:
            d = self.deployment
            return (f"stop rollout {d.id} ({d.strategy or '?'}, {d.status}) of {where} with rollback: "
                    f"{family_revision(self.current)} -> back to {family_revision(self.previous) or 'its source revision'}")
        return (f"no rollout in progress: point {where} back from {family_revision(self.current)} to "
                f"{family_revision(self.previous)} ({self.why}); this starts a new rollout")


@dataclass(frozen=True)
class RollbackResult:
    plan: RollbackPlan
    deployment_arn: str  # the stopped rollout, or the new one


def _current(ecs, c: "ServiceConfig") -> str:
    services = [s for s in ecs.describe_services(cluster=c.service.cluster, services=[c.ecs_service_name]).get(
        "services", []) if s.get("status") == "ACTIVE"]
    if not services:
        raise ShipspecError(f"service {c.ecs_service_name} not found in cluster {c.service.cluster} (account "
                            f"{c.environment.account}, region {c.environment.region})")
    return services[0].get("taskDefinition", "")


def _family_previous(ecs, current: str) -> str:
    family = family_revision(current).rsplit(":", 1)[0]
    arns = ecs.list_task_definitions(familyPrefix=family, status="ACTIVE", sort="DESC").get("taskDefinitionArns", [])
    numbered = sorted(((int(a.rsplit(":", 1)[1]), a) for a in arns if a.rsplit(":", 1)[1].isdigit()
                       and a.split("/")[-1].rsplit(":", 1)[0] == family), reverse=True)
    current_number = int(current.rsplit(":", 1)[1]) if current.rsplit(":", 1)[-1].isdigit() else 0
    return next((a for n, a in numbered if n < current_number), "")


def plan_rollback(clients: ClientFactory, c: "ServiceConfig", rollouts: Optional[Rollouts] = None) -> RollbackPlan:
    ecs = clients("ecs")
    rollouts = rollouts if rollouts is not None else gather_rollouts(clients, c)
    current = _current(ecs, c)
    cluster, service = c.service.cluster, c.ecs_service_name
    running = rollouts.in_progress
    if running is not None:
        return RollbackPlan("stop", cluster, service, running.target_task_definition or current,
                            running.source_task_definitions[0] if running.source_task_definitions else "", running)
    latest = next((r for r in rollouts.items if r.target_task_definition == current and r.source_task_definitions),
                  None)
    if latest is not None and latest.source_task_definitions[0] != current:
        return RollbackPlan("previous", cluster, service, current, latest.source_task_definitions[0],
                            why=f"the revision rollout {latest.id} started from")
    previous = _family_previous(ecs, current)
    if not previous:
        notes = f" ({'; '.join(rollouts.notes)})" if rollouts.notes else ""
        raise ShipspecError(f"nothing to roll back to: service {service} runs {family_revision(current)}, no rollout "
                            f"is in progress and its family has no earlier active revision{notes}")
    return RollbackPlan("previous", cluster, service, current, previous,
                        why="the family's revision before the current one")


def execute(clients: ClientFactory, plan: RollbackPlan) -> RollbackResult:
    ecs = clients("ecs")
    if plan.kind == "stop" and plan.deployment is not None:
        arn = ecs.stop_service_deployment(serviceDeploymentArn=plan.deployment.arn,
                                          stopType="ROLLBACK")["serviceDeploymentArn"]
        return RollbackResult(plan, arn)
    svc = ecs.update_service(cluster=plan.cluster, service=plan.service, taskDefinition=plan.previous)["service"]
    return RollbackResult(plan, svc.get("currentServiceDeployment", "") or "")
