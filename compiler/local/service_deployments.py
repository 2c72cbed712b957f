"""The local emulator's model of ECS service deployments (moto has none): what the generated
UpdateService and Deploy steps, `shipspec rollback`, `status` and `doctor` call.

What is modelled, and why:

- **UpdateService** with a new task definition (or forceNewDeployment) starts a *service deployment*,
  as on AWS: it gets an ARN (`service-deployment/<cluster>/<service>/<id>`), the response carries it
  as `service.currentServiceDeployment`, the service's `deployments` list shows the new PRIMARY
  (rollout IN_PROGRESS) beside the old ACTIVE one, and each task definition the service runs gets a
  *service revision* ARN. Changing only the desired count starts none, as on AWS.
- **How the rollout ends is chosen on demand**, by tags on the ECS service (so tests and the demo
  say it with the real AWS CLI, `aws ecs tag-resource`, or `shipspec local rollout`):
  `shipspec:emulator-rollout` = `succeed` (default), `fail` (the circuit breaker stops it: STOPPED,
  the service left on the new revision), `rollback` (the circuit breaker rolls back:
  ROLLBACK_SUCCESSFUL, the service stable again on the old revision: the case a "service is stable"
  check gets wrong), or `hang` (IN_PROGRESS until stopped); `shipspec:emulator-stop-reason` = the id
  of an entry of the known-failures table (compiler/core/known_failures.py; default
  container-health-check): failing rollouts stop two tasks of the new revision with that entry's
  example reason, so the Deploy step and the doctor have something to diagnose.
- **Time is reads.** Each DescribeServiceDeployments of a deployment, and each DescribeServices of
  its service, moves it one step on (scale up, tasks running or failing, traffic shifts and bake for
  the traffic-shifting strategies, the end), so a follower polling either sees progress without
  clocks, and tests need no sleeps. Other reads do not move it.
- **ListServiceDeployments** (filters: cluster, service, status; newest first),
  **DescribeServiceRevisions**, and **StopServiceDeployment** (ROLLBACK: rolls back to the source
  revision; ABORT: stops) as the ECS API reference describes them.

The model is here; `service_deployments_api` hooks it into moto's ECS backend and responses.
This module imports moto: only the emulator process (emuserver) and tests load it.
"""

from __future__ import annotations

import uuid
from typing import Callable

OUTCOME_TAG = "shipspec:emulator-rollout"
REASON_TAG = "shipspec:emulator-stop-reason"
OUTCOMES = ("succeed", "fail", "rollback", "hang")
DEFAULT_REASON = "container-health-check"
CIRCUIT_BREAKER = "ECS deployment circuit breaker: tasks failed to start."
FAILED_TASKS = 2
_STATE = "_shipspec_service_deployments"


def _now():
    from moto.core.utils import utcnow

    return utcnow()


def _state(backend) -> dict:
    """Per account and region: deployments by ARN (in creation order) and revisions by ARN."""
    if not hasattr(backend, _STATE):
        setattr(backend, _STATE, {"deployments": {}, "revisions": {}})
    return getattr(backend, _STATE)


def _tags(service) -> dict[str, str]:
    return {t.get("key"): t.get("value") for t in service.tags or []}


def _revision(backend, service, task_definition: str) -> str:
    """The service revision ARN of `task_definition` for this service (one per task definition)."""
    revisions = _state(backend)["revisions"]
    for arn, (svc, td) in revisions.items():
        if svc == service.arn and td == task_definition:
            return arn
    arn = (f"arn:aws:ecs:{service.region_name}:{backend.account_id}:service-revision/{service.cluster_name}/"
           f"{service.name}/{uuid.uuid4().int % 10**19}")
    revisions[arn] = (service.arn, task_definition)
    return arn


class _Rollout:
    """One service deployment and the steps it still has to take."""

    def __init__(self, backend, service, source_td: str, target_td: str, config: dict) -> None:
        tags = _tags(service)
        outcome = tags.get(OUTCOME_TAG, "succeed")
        self.outcome = outcome if outcome in OUTCOMES else "succeed"
        self.reason_id = tags.get(REASON_TAG, DEFAULT_REASON)
        self.backend, self.service = backend, service
        self.id = uuid.uuid4().hex[:21]
        self.arn = (f"arn:aws:ecs:{service.region_name}:{backend.account_id}:service-deployment/"
                    f"{service.cluster_name}/{service.name}/{self.id}")
        self.source_td, self.target_td = source_td, target_td
        self.source_rev = _revision(backend, service, source_td)
        self.target_rev = _revision(backend, service, target_td)
        self.config = {"strategy": "ROLLING", **(config or {})}
        self.status, self.status_reason, self.stage = "PENDING", "", ""
        self.rollback: dict = {}
        self.desired = int(service.desired_count or 0)
        self.running = self.pending = 0
        self.weight: float | None = None
        self.created = self.updated = _now()
        self.started = self.finished = None
        self.ecs_id = f"ecs-svc/{uuid.uuid4().int % 10**19}"
        self.steps = iter(self._plan())
        service.deployments = [self._entry(target_td, "PRIMARY", "IN_PROGRESS", f"ECS deployment {self.ecs_id} in progress."),
                               *[dict(d, status="ACTIVE", rolloutState="COMPLETED") for d in service.deployments[:1]]]
        service.current_service_deployment = self.arn

    # --- the steps ------------------------------------------------------------------------------

    def _plan(self) -> list[Callable[[], None]]:
        shifting = self.config.get("strategy") in ("BLUE_GREEN", "LINEAR", "CANARY")
        scale_up = [lambda: self._set("IN_PROGRESS", "SCALE_UP", running=0, pending=self.desired)]
        if self.outcome == "hang":
            return scale_up
        if self.outcome in ("fail", "rollback"):
            steps = scale_up + [self._fail_tasks]
            return steps + ([self._stopped] if self.outcome == "fail" else self._rollback_steps(CIRCUIT_BREAKER))
        steps = scale_up + [lambda: self._set("IN_PROGRESS", "POST_SCALE_UP", running=self.desired, pending=0)]
        if shifting:
            steps += [lambda w=w: self._shift(w) for w in self._weights()]
            steps.append(lambda: self._set("IN_PROGRESS", "BAKE_TIME"))
        return steps + [self._succeed]

    def _weights(self) -> list[float]:
        strategy = self.config.get("strategy")
        if strategy == "CANARY":
            return [float((self.config.get("canaryConfiguration") or {}).get("canaryPercent", 5.0)), 100.0]
        if strategy == "LINEAR":
            step = float((self.config.get("linearConfiguration") or {}).get("stepPercent", 10.0))
            out, w = [], 0.0
            while w < 100.0:
                w = min(100.0, round(w + step, 1))
                out.append(w)
            return out
        return [100.0]

    def _shift(self, weight: float) -> None:
        self.weight = weight
        self._set("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT")

    def _set(self, status: str, stage: str, running: int | None = None, pending: int | None = None) -> None:
        self.status, self.stage = status, stage
        self.started = self.started or _now()
        if running is not None:
            self.running = running
        if pending is not None:
            self.pending = pending
        primary = self.service.deployments[0] if self.service.deployments else {}
        if primary.get("id") == self.ecs_id:
            primary.update(runningCount=self.running, pendingCount=self.pending, updatedAt=_now())

    def _fail_tasks(self) -> None:
        """Two tasks of the new revision stop with the known failure's example reason."""
        from moto.ecs.models import Task

        from ..core.known_failures import KNOWN_FAILURES
        from .reasons import stop_reason

        b, svc = self.backend, self.service
        td = b.describe_task_definition(self.target_td)
        known = any(e.id == self.reason_id for e in KNOWN_FAILURES)
        image = next((x.get("image", "") for x in td.container_definitions if ":" in x.get("image", "")), "")
        reason = stop_reason(self.reason_id, image) if known and image else self.reason_id
        network = (getattr(svc, "network_configuration", None) or _default_network(b, svc)
                   if td.network_mode == "awsvpc" else None)
        cluster = b._get_cluster(svc.cluster_name)
        tasks = []
        for _ in range(FAILED_TASKS):  # placed nowhere: no capacity is taken (moto's run_task would)
            task = Task(cluster, td, None, None, backend=b, group=f"service:{svc.name}", launch_type=svc.launch_type
                        or "FARGATE", started_by=self.ecs_id, networking_configuration=network)
            b.tasks.setdefault(cluster.name, {})[task.task_arn] = task
            b.stop_task(svc.cluster_name, task.task_arn, reason)
            tasks.append(task)
        self._set("IN_PROGRESS", "SCALE_UP", running=0, pending=self.desired)
        if svc.deployments:
            svc.deployments[0]["failedTasks"] = len(tasks)

    def _stopped(self) -> None:
        self._finish("STOPPED", CIRCUIT_BREAKER)
        primary = self.service.deployments[0]
        primary.update(rolloutState="FAILED", rolloutStateReason=CIRCUIT_BREAKER)

    def _rollback_steps(self, reason: str) -> list[Callable[[], None]]:
        def start() -> None:
            self.status, self.status_reason = "ROLLBACK_IN_PROGRESS", reason
            self.rollback = {"reason": reason, "startedAt": _now(), "serviceRevisionArn": self.source_rev}

        def done() -> None:
            svc = self.service
            svc.task_definition = self.source_td
            rolled = f"ecs-svc/{uuid.uuid4().int % 10**19}"
            svc.deployments = [self._entry(self.source_td, "PRIMARY", "COMPLETED",
                                           f"ECS deployment circuit breaker: rolling back to deploymentId {rolled}.",
                                           ecs_id=rolled, running=self.desired)]
            svc.running_count, svc.pending_count = self.desired, 0
            self.running, self.pending, self.stage = 0, 0, ""
            self._finish("ROLLBACK_SUCCESSFUL", reason)
            _event(svc, f"(service {svc.name}) has reached a steady state.")

        return [start, done]

    def _succeed(self) -> None:
        svc = self.service
        svc.deployments = [self._entry(self.target_td, "PRIMARY", "COMPLETED", f"ECS deployment {self.ecs_id} completed.",
                                       running=self.desired)]
        svc.running_count, svc.pending_count = self.desired, 0
        self.stage = "CLEAN_UP"
        self._finish("SUCCESSFUL", "")
        _event(svc, f"(service {svc.name}) has reached a steady state.")

    def _finish(self, status: str, reason: str) -> None:
        self.status, self.status_reason = status, reason
        self.finished = self.updated = _now()
        self.steps = iter(())

    def _entry(self, td: str, status: str, rollout: str, reason: str, ecs_id: str | None = None,
               running: int = 0) -> dict:
        svc = self.service
        return {"id": ecs_id or self.ecs_id, "status": status, "taskDefinition": td, "desiredCount": self.desired,
                "pendingCount": 0 if running else self.desired, "runningCount": running, "failedTasks": 0,
                "createdAt": _now(), "updatedAt": _now(), "launchType": svc.launch_type, "rolloutState": rollout,
                "rolloutStateReason": reason}

    # --- API -----------------------------------------------------------------------------------

    def advance(self) -> None:
        step = next(self.steps, None)
        if step is not None:
            step()
            self.updated = _now()

    def stop(self, stop_type: str) -> None:
        if stop_type == "ABORT":
            self.status = "STOP_REQUESTED"
            self.steps = iter([lambda: self._finish("STOPPED", "Stopped by StopServiceDeployment.")])
            return
        reason = "Rollback requested by StopServiceDeployment."
        self.status, self.status_reason = "ROLLBACK_REQUESTED", reason
        self.steps = iter(self._rollback_steps(reason))

    def brief(self) -> dict:
        out = {"serviceDeploymentArn": self.arn, "serviceArn": self.service.arn,
               "clusterArn": self.service.cluster_arn, "createdAt": self.created,
               "targetServiceRevisionArn": self.target_rev, "status": self.status}
        out.update({k: v for k, v in (("startedAt", self.started), ("finishedAt", self.finished),
                                      ("statusReason", self.status_reason)) if v})
        return out

    def describe(self) -> dict:
        out = self.brief()
        del out["targetServiceRevisionArn"]
        out["updatedAt"] = self.updated
        out["sourceServiceRevisions"] = [{"arn": self.source_rev, "requestedTaskCount": self.desired,
                                          "runningTaskCount": self.desired if self.status != "SUCCESSFUL" else 0,
                                          "pendingTaskCount": 0}]
        target = {"arn": self.target_rev, "requestedTaskCount": self.desired, "runningTaskCount": self.running,
                  "pendingTaskCount": self.pending}
        if self.weight is not None:
            target["requestedProductionTrafficWeight"] = self.weight
        out["targetServiceRevision"] = target
        out["deploymentConfiguration"] = self.config
        if self.stage:
            out["lifecycleStage"] = self.stage
        if self.rollback:
            out["rollback"] = self.rollback
        out["deploymentCircuitBreaker"] = {"status": "TRIGGERED" if self.outcome in ("fail", "rollback")
                                           and self.status not in ("PENDING", "IN_PROGRESS") else "MONITORING",
                                           "failureCount": FAILED_TASKS if self.status != "PENDING" and
                                           self.outcome in ("fail", "rollback") else 0, "threshold": 3}
        return out


def _default_network(backend, service) -> dict | None:
    """A default subnet of the account, for awsvpc tasks of a service created without one."""
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[backend.account_id][service.region_name]
    subnets = sorted(ec2.describe_subnets(filters={"default-for-az": ["true"]}), key=lambda s: s.id)
    return {"awsvpcConfiguration": {"subnets": [subnets[0].id], "securityGroups": []}} if subnets else None


def _event(service, message: str) -> None:
    service.events.insert(0, {"id": str(uuid.uuid4()), "createdAt": _now(), "message": message})


def start(backend, service, source_td: str, target_td: str, config: dict) -> _Rollout:
    """A new service deployment of `service` (after UpdateService changed its task definition)."""
    rollout = _Rollout(backend, service, source_td, target_td, config)
    _state(backend)["deployments"][rollout.arn] = rollout
    return rollout


def rollouts(backend) -> list[_Rollout]:
    """Every service deployment of this account and region, oldest first."""
    return list(_state(backend)["deployments"].values())


def find(backend, arn: str) -> _Rollout | None:
    return _state(backend)["deployments"].get(arn)


def revision_task_definition(backend, arn: str) -> tuple[str, str] | None:
    """(service ARN, task definition) of a service revision ARN."""
    return _state(backend)["revisions"].get(arn)


def initial_revision(backend, service) -> str:
    return _revision(backend, service, service.task_definition)
