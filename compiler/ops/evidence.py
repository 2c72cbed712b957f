"""What `shipspec doctor` reads from AWS, as frozen data (the I/O edge of the doctor).

`gather_evidence(clients, config)` adds to the status snapshot: the service's events since it was
last steady, its stopped tasks (ListTasks desiredStatus=STOPPED + DescribeTasks: stoppedReason and
each container's reason), the primary deployment's task definition, the cluster's container
instances (remaining CPU/memory/ports, agent connection, the `shipspec.ecs-agent-config`
attribute, the EC2 tags the agent-config association targets), whether each image is in ECR
(ecr:DescribeImages) and whether each referenced secret or parameter exists
(secretsmanager:DescribeSecret, ssm:DescribeParameters: metadata only, never a value), and the
service's rollouts (ECS service deployments), so the latest failed one is read first.
A read that fails is recorded as a note or an "unknown" check; `diagnose` works with what there is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Optional

from ..core.arns import parse_arn, parse_secret_ref
from ..deploy.aws.errors import client_errors, error_code, short_error
from ..spec.agent_settings import ATTRIBUTE
from .rollouts import Rollouts, gather_rollouts
from .status import (
    ClientFactory,
    ServiceEvent,
    Snapshot,
    family_revision,
    gather_pipeline,
    gather_service,
    iso,
)

if TYPE_CHECKING:
    from ..spec.models import ServiceConfig

MAX_STOPPED = 20
MAX_EVENTS = 50
STEADY = "has reached a steady state"
CheckStatus = Literal["ok", "missing", "unknown", "skipped"]
ECR_IMAGE = re.compile(r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
                       r"(?P<repo>[^:@]+)(:(?P<tag>[^@]+))?(@(?P<digest>sha256:[0-9a-f]{64}))?$")


@dataclass(frozen=True)
class StoppedContainer:
    name: str
    image: str
    reason: str
    exit_code: Optional[int]


@dataclass(frozen=True)
class StoppedTask:
    arn: str
    task_definition: str
    stopped_reason: str
    stop_code: str
    stopped_at: str
    container_instance: str  # ARN ("" on Fargate)
    containers: tuple[StoppedContainer, ...]


@dataclass(frozen=True)
class ContainerSecret:
    """One `secrets` entry of a container (or of the spec, container "(spec)")."""

    container: str
    name: str
    value_from: str


@dataclass(frozen=True)
class TaskDefinitionInfo:
    family_revision: str
    cpu: int  # CPU units the task reserves (task level, else the sum of its containers)
    memory: int  # MiB the task reserves (task level, else the containers' reservations or limits)
    host_ports: tuple[int, ...]  # fixed host ports (bridge/host networking)
    images: tuple[str, ...]
    secrets: tuple[ContainerSecret, ...]
    log_groups: tuple[str, ...]


@dataclass(frozen=True)
class Instance:
    arn: str
    ec2_instance_id: str
    status: str
    agent_connected: bool
    remaining_cpu: int
    remaining_memory: int
    used_ports: tuple[int, ...]
    recorded_config: Optional[str]  # the shipspec.ecs-agent-config attribute, None when absent
    tags: Optional[tuple[tuple[str, str], ...]]  # EC2 tags; None when they could not be read


@dataclass(frozen=True)
class CheckResult:
    kind: Literal["image", "secret", "parameter"]
    subject: str
    status: CheckStatus
    detail: str = ""


@dataclass(frozen=True)
class Evidence:
    snapshot: Snapshot
    recent_events: tuple[ServiceEvent, ...] = ()  # newest first, only those after the last steady state
    stopped_tasks: tuple[StoppedTask, ...] = ()
    task_definition: Optional[TaskDefinitionInfo] = None
    instances: tuple[Instance, ...] = ()
    image_checks: tuple[CheckResult, ...] = ()
    secret_checks: tuple[CheckResult, ...] = ()
    notes: tuple[str, ...] = ()
    rollouts: Rollouts = Rollouts()  # the service's service deployments, newest first


def events_since_steady(events: list[dict]) -> tuple[ServiceEvent, ...]:
    """Newest first, stopping at the latest 'has reached a steady state' event (older ones are history)."""
    out = []
    for e in sorted(events, key=lambda e: iso(e.get("createdAt")), reverse=True)[:MAX_EVENTS]:
        if STEADY in e.get("message", ""):
            break
        out.append(ServiceEvent(iso(e.get("createdAt")), e.get("message", "")))
    return tuple(out)


def gather_evidence(clients: ClientFactory, c: "ServiceConfig") -> Evidence:
    service, raw = gather_service(clients, c)
    snapshot = Snapshot(c.name, c.environment.name, c.environment.account, c.environment.region,
                        gather_pipeline(clients, c), service)
    if not service.found:
        return Evidence(snapshot)
    notes: list[str] = []
    ecs = clients("ecs")
    stopped = _stopped_tasks(ecs, c, notes)
    primary = service.primary
    td_arn = next((d.get("taskDefinition", "") for d in raw.get("deployments", []) if d.get("status") == "PRIMARY"),
                  raw.get("taskDefinition", ""))
    td = _task_definition(ecs, td_arn, notes) if (primary or td_arn) else None
    instances = _instances(clients, c, notes) if service.launch_type == "EC2" or c.service.launch_type == "EC2" else ()
    images = tuple(_image_check(clients, c, image) for image in (td.images if td else ()))
    secrets = tuple(_secret_check(clients, c, s.value_from) for s in _unique_secrets(td, c))
    rollouts = gather_rollouts(clients, c)
    return Evidence(snapshot, events_since_steady(raw.get("events", [])), stopped, td, instances, images,
                    secrets, tuple(notes), rollouts)


def _chunks(items: list, size: int = 100):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _stopped_tasks(ecs, c: "ServiceConfig", notes: list[str]) -> tuple[StoppedTask, ...]:
    errors = client_errors()
    try:
        arns = ecs.list_tasks(cluster=c.service.cluster, serviceName=c.ecs_service_name,
                              desiredStatus="STOPPED", maxResults=100).get("taskArns", [])
        tasks = [t for chunk in _chunks(arns) for t in ecs.describe_tasks(cluster=c.service.cluster, tasks=chunk)["tasks"]]
    except errors as exc:
        notes.append(f"cannot read the stopped tasks: {short_error(exc)}")
        return ()
    out = []
    for t in tasks:
        containers = tuple(StoppedContainer(x.get("name", ""), x.get("image", ""), x.get("reason", "") or "",
                                            x.get("exitCode")) for x in t.get("containers", []))
        out.append(StoppedTask(t.get("taskArn", ""), family_revision(t.get("taskDefinitionArn", "")),
                               t.get("stoppedReason", "") or "", t.get("stopCode", "") or "",
                               iso(t.get("stoppedAt")), t.get("containerInstanceArn", "") or "", containers))
    out.sort(key=lambda t: (t.stopped_at, t.arn), reverse=True)
    return tuple(out[:MAX_STOPPED])


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _task_definition(ecs, arn: str, notes: list[str]) -> Optional[TaskDefinitionInfo]:
    try:
        td = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    except client_errors() as exc:
        notes.append(f"cannot read task definition {family_revision(arn)}: {short_error(exc)}")
        return None
    containers = td.get("containerDefinitions", [])
    cpu = _int(td.get("cpu")) or sum(_int(x.get("cpu")) for x in containers)
    memory = _int(td.get("memory")) or sum(_int(x.get("memoryReservation")) or _int(x.get("memory"))
                                           for x in containers)
    ports = sorted({_int(p.get("hostPort")) for x in containers for p in x.get("portMappings", [])
                    if _int(p.get("hostPort"))} if td.get("networkMode") != "awsvpc" else set())
    secrets = tuple(ContainerSecret(x.get("name", ""), s.get("name", ""), s.get("valueFrom", ""))
                    for x in containers for s in x.get("secrets", []))
    logs = tuple(sorted({(x.get("logConfiguration") or {}).get("options", {}).get("awslogs-group", "")
                         for x in containers} - {""}))
    return TaskDefinitionInfo(family_revision(td.get("taskDefinitionArn", arn)), cpu, memory, tuple(ports),
                              tuple(x.get("image", "") for x in containers), secrets, logs)


def _resource(resources: list[dict], name: str):
    return next((r for r in resources if r.get("name") == name), {})


def _instances(clients: ClientFactory, c: "ServiceConfig", notes: list[str]) -> tuple[Instance, ...]:
    ecs = clients("ecs")
    errors = client_errors()
    try:
        arns = ecs.list_container_instances(cluster=c.service.cluster, maxResults=100).get("containerInstanceArns", [])
        raw = [i for chunk in _chunks(arns) for i in
               ecs.describe_container_instances(cluster=c.service.cluster, containerInstances=chunk)["containerInstances"]]
    except errors as exc:
        notes.append(f"cannot read the cluster's container instances: {short_error(exc)}")
        return ()
    tags = _ec2_tags(clients, [i.get("ec2InstanceId", "") for i in raw if i.get("ec2InstanceId")], notes)
    out = []
    for i in raw:
        remaining = i.get("remainingResources", [])
        attrs = {a.get("name"): a.get("value") for a in i.get("attributes", [])}
        ports = tuple(sorted(_int(p) for p in _resource(remaining, "PORTS").get("stringSetValue", []) if _int(p)))
        iid = i.get("ec2InstanceId", "")
        out.append(Instance(i.get("containerInstanceArn", ""), iid, i.get("status", ""),
                            bool(i.get("agentConnected")), _int(_resource(remaining, "CPU").get("integerValue")),
                            _int(_resource(remaining, "MEMORY").get("integerValue")), ports, attrs.get(ATTRIBUTE),
                            None if tags is None else tags.get(iid, ())))
    return tuple(sorted(out, key=lambda i: (i.ec2_instance_id, i.arn)))


def _ec2_tags(clients: ClientFactory, ids: list[str], notes: list[str]) -> Optional[dict[str, tuple]]:
    if not ids:
        return {}
    try:
        out = {}
        for chunk in _chunks(ids):
            for r in clients("ec2").describe_instances(InstanceIds=chunk).get("Reservations", []):
                for inst in r.get("Instances", []):
                    out[inst["InstanceId"]] = tuple(sorted((t["Key"], t["Value"]) for t in inst.get("Tags", [])))
        return out
    except client_errors() as exc:
        notes.append(f"cannot read the instances' EC2 tags: {short_error(exc)}")
        return None


def _image_check(clients: ClientFactory, c: "ServiceConfig", image: str) -> CheckResult:
    m = ECR_IMAGE.match(image)
    if not m:
        return CheckResult("image", image, "skipped", "not an ECR image; not checked")
    account, region, repo = m.group("account"), m.group("region"), m.group("repo")
    if (account, region) != (c.environment.account, c.environment.region):
        return CheckResult("image", image, "skipped", f"in account {account} region {region}; not checked")
    image_id = {"imageDigest": m.group("digest")} if m.group("digest") else {"imageTag": m.group("tag") or "latest"}
    try:
        clients("ecr").describe_images(registryId=account, repositoryName=repo, imageIds=[image_id])
    except client_errors() as exc:
        code = error_code(exc)
        if code == "ImageNotFoundException":
            return CheckResult("image", image, "missing", f"repository {repo} has no image {next(iter(image_id.values()))}")
        if code == "RepositoryNotFoundException":
            return CheckResult("image", image, "missing", f"repository {repo} does not exist")
        return CheckResult("image", image, "unknown", short_error(exc))
    return CheckResult("image", image, "ok", "in ECR")


def _unique_secrets(td: Optional[TaskDefinitionInfo], c: "ServiceConfig") -> list[ContainerSecret]:
    refs = list(td.secrets if td else ()) + [ContainerSecret("(spec)", k, v) for k, v in sorted(c.service.secrets.items())]
    seen, out = set(), []
    for r in refs:
        if r.value_from and r.value_from not in seen:
            seen.add(r.value_from)
            out.append(r)
    return out


def _secret_check(clients: ClientFactory, c: "ServiceConfig", value_from: str) -> CheckResult:
    env = c.environment
    ref = parse_secret_ref(value_from)
    if ref is None:
        arn = parse_arn(value_from)
        what = f"unknown service {arn.service}" if arn else "not a secret or parameter reference"
        return CheckResult("secret", value_from, "skipped", f"{what}; not checked")
    if not ref.in_place(env.account, env.region):
        return CheckResult(ref.kind, value_from, "skipped", f"in account {ref.account} region {ref.region}; not checked")
    if ref.kind == "secret":
        return _describe_secret(clients, ref.secret_arn, value_from)
    return _describe_parameter(clients, ref.name, value_from)  # a name: same account and region


def _describe_secret(clients: ClientFactory, secret_id: str, subject: str) -> CheckResult:
    try:
        meta = clients("secretsmanager").describe_secret(SecretId=secret_id)
    except client_errors() as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return CheckResult("secret", subject, "missing", "Secrets Manager has no such secret")
        return CheckResult("secret", subject, "unknown", short_error(exc))
    if meta.get("DeletedDate"):
        return CheckResult("secret", subject, "missing", "the secret is scheduled for deletion")
    return CheckResult("secret", subject, "ok", "exists")


def _describe_parameter(clients: ClientFactory, name: str, subject: str) -> CheckResult:
    try:
        found = clients("ssm").describe_parameters(
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}]).get("Parameters", [])
    except client_errors() as exc:
        return CheckResult("parameter", subject, "unknown", short_error(exc))
    if not found:
        return CheckResult("parameter", subject, "missing", f"SSM Parameter Store has no parameter {name}")
    return CheckResult("parameter", subject, "ok", "exists")
