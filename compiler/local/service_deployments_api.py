"""Hooks the model of ECS service deployments (`service_deployments`) into moto's ECS: UpdateService
starts a deployment, and four API actions moto lacks answer from the model (ListServiceDeployments,
DescribeServiceDeployments, StopServiceDeployment, DescribeServiceRevisions).

`install()` patches moto's classes in this process (the emulator server calls it at start; tests
call it around a module) and returns a function that restores them. It is idempotent.
"""

from __future__ import annotations

from typing import Any, Callable

from . import service_deployments as model

_PATCHED = "_shipspec_service_deployments_patched"


def _update_service(original: Callable) -> Callable:
    def update_service(self, service_properties: dict[str, Any]):
        props = dict(service_properties)  # moto pops what it reads
        name = str(props.get("service", "")).split("/")[-1]
        try:
            before = self._get_service(props.get("cluster", "default"), name).task_definition
        except Exception:  # noqa: BLE001 - moto raises its own error from the original call below
            before = None
        service = original(self, service_properties)
        td, force = props.get("task_definition"), bool(props.get("force_new_deployment"))
        if not (td or force):
            return service  # a scaling change starts no deployment, as on AWS
        target = self.describe_task_definition(td).arn if td else self.describe_task_definition(
            service.task_definition).arn
        source = self.describe_task_definition(before).arn if before else target
        service.task_definition = target
        if target != source or force:
            config = props.get("deployment_configuration") or getattr(service, "deployment_configuration", None)
            model.start(self, service, source, target, dict(config or {}))
        return service

    return update_service


def _describe_services(original: Callable) -> Callable:
    def describe_services(self, cluster_str: str, service_names_or_arns: list[str]):
        services, failures = original(self, cluster_str, service_names_or_arns)
        for service in services:
            current = model.find(self, getattr(service, "current_service_deployment", "") or "")
            if current is not None:
                current.advance()  # a follower reading the service's deployments sees time pass too
        return services, failures

    return describe_services


def _not_found(arn: str):
    from moto.ecs.exceptions import ECSException

    class ServiceDeploymentNotFoundException(ECSException):
        def __init__(self) -> None:
            super().__init__("ServiceDeploymentNotFoundException",
                             f"The service deployment {arn} does not exist.")

    return ServiceDeploymentNotFoundException()


def list_service_deployments(self):
    from moto.core.responses import ActionResult

    cluster, service = self._get_param("cluster"), self._get_param("service")
    statuses = self._get_param("status") or []
    out = []
    for r in reversed(model.rollouts(self.ecs_backend)):
        if service and service not in (r.service.name, r.service.arn):
            continue
        if cluster and cluster not in (r.service.cluster_name, r.service.cluster_arn):
            continue
        if statuses and r.status not in statuses:
            continue
        out.append(r.brief())
    return ActionResult({"serviceDeployments": out})


def describe_service_deployments(self):
    from moto.core.responses import ActionResult

    found, failures = [], []
    for arn in self._get_param("serviceDeploymentArns") or []:
        r = model.find(self.ecs_backend, arn)
        if r is None:
            failures.append({"arn": arn, "reason": "MISSING"})
            continue
        r.advance()  # time in the emulator: every read of a deployment moves it one step on
        found.append(r.describe())
    return ActionResult({"serviceDeployments": found, "failures": failures})


def stop_service_deployment(self):
    from moto.core.responses import ActionResult
    from moto.ecs.exceptions import InvalidParameterException

    arn = self._get_param("serviceDeploymentArn")
    r = model.find(self.ecs_backend, arn)
    if r is None:
        raise _not_found(arn)
    if r.status in ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"):
        raise InvalidParameterException(f"The service deployment {arn} is {r.status}: only a deployment in "
                                        "progress can be stopped.")
    r.stop(self._get_param("stopType") or "ROLLBACK")
    return ActionResult({"serviceDeploymentArn": arn})


def describe_service_revisions(self):
    from moto.core.responses import ActionResult

    found, failures = [], []
    for arn in self._get_param("serviceRevisionArns") or []:
        known = model.revision_task_definition(self.ecs_backend, arn)
        if known is None:
            failures.append({"arn": arn, "reason": "MISSING"})
            continue
        service_arn, td = known
        cluster_arn = service_arn.replace(":service/", ":cluster/").rsplit("/", 1)[0]
        found.append({"serviceRevisionArn": arn, "serviceArn": service_arn, "clusterArn": cluster_arn,
                      "taskDefinition": td})
    return ActionResult({"serviceRevisions": found, "failures": failures})


ACTIONS = {f.__name__: f for f in (list_service_deployments, describe_service_deployments,
                                   stop_service_deployment, describe_service_revisions)}


def install() -> Callable[[], None]:
    """Patch moto's ECS in this process; the returned function undoes it (a no-op when another
    call had already installed it)."""
    from moto.ecs.models import EC2ContainerServiceBackend
    from moto.ecs.responses import EC2ContainerServiceResponse

    if getattr(EC2ContainerServiceBackend, _PATCHED, False):
        return lambda: None
    original = EC2ContainerServiceBackend.update_service
    original_describe = EC2ContainerServiceBackend.describe_services
    saved = {name: EC2ContainerServiceResponse.__dict__.get(name) for name in ACTIONS}
    EC2ContainerServiceBackend.update_service = _update_service(original)  # type: ignore[method-assign]
    EC2ContainerServiceBackend.describe_services = _describe_services(original_describe)  # type: ignore[method-assign]
    for name, action in ACTIONS.items():
        setattr(EC2ContainerServiceResponse, name, action)
    setattr(EC2ContainerServiceBackend, _PATCHED, True)

    def uninstall() -> None:
        EC2ContainerServiceBackend.update_service = original  # type: ignore[method-assign]
        EC2ContainerServiceBackend.describe_services = original_describe  # type: ignore[method-assign]
        for name, previous in saved.items():
            if previous is None:
                delattr(EC2ContainerServiceResponse, name)
            else:
                setattr(EC2ContainerServiceResponse, name, previous)
        setattr(EC2ContainerServiceBackend, _PATCHED, False)

    return uninstall
