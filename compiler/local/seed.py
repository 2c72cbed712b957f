"""`shipspec local seed`: demo ECS data in the local emulator, so that `status --local` and
`doctor --local` have a service to look at. Emulator only: it refuses unless `.shipspec/local.json`
names a running emulator on a loopback address, and it never uses any other endpoint.

In the environment's account and region (the role assumed through the emulator's STS, as every
`--local` command does) it creates: the ECS cluster (`service.cluster`); the ECR repository when
apply has not made it, and one image tag (a manifest only, the emulator stores no layers); the
spec's secrets and SSM parameters of that account and region as metadata (Secrets Manager: no value;
SSM: a placeholder text); a CloudWatch Logs group; a task definition (family = ECS service name,
the spec's container name, image `<repository URI>:<tag>`, cpu/memory, awslogs, the spec's
environment and secrets); for EC2 services one container instance tagged for the agent-config
association and carrying its record; and the ECS service.

Healthy: the emulator runs no containers. It reports the running count fixed when a service is
created (its server's MOTO_ECS_SERVICE_RUNNING, default 0) and, after UpdateService, the desired
count as running. So the service is created with 0 tasks (its deployment COMPLETED, 0 of 0) and
then scaled to 1: the service reports 1 of 1 running, its deployment keeps 0 of 0.

Broken (`--broken KIND`, a known failure seen in stopped tasks, or `pull` for `image-not-found`):
the service asks for 1 task and runs none (deployment IN_PROGRESS), and two of its tasks are
stopped by StopTask with the entry's example reason (its image reference replaced by the
service's). Over HTTP the emulator lets only the task's stoppedReason be set: no container reasons,
no service events. `image-not-found` also leaves the tag out of ECR (the doctor's image check
fires), `secret-unavailable` leaves the secrets uncreated (its secret check fires for specs with
secrets), `log-config` leaves the log group uncreated.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal, Optional
from urllib.parse import urlparse

from ..core.arns import parse_secret_ref
from ..core.errors import ShipspecError
from ..deploy.aws.errors import error_code
from ..spec.agent_settings import ATTRIBUTE, recorded_value, target_tag
from ..spec.agent_settings import applies as runs_on_ec2
from .reasons import ALIASES, broken_kinds, stop_reason  # noqa: F401 (broken_kinds: imported from here too)

if TYPE_CHECKING:
    from ..spec.models import ServiceConfig

ClientFactory = Callable[[str], Any]

BANNER = "DEMO DATA for the local emulator only (shipspec local seed): none of this exists in AWS"
DESIRED = 1
STOPPED_TASKS = 2
DEFAULT_CPU, DEFAULT_MEMORY = 256, 512
DEMO_AMI = "ami-12c6146b"  # an image the emulator knows (EC2 container instance)
PLACEHOLDER = "placeholder-not-a-secret"  # the SSM parameters' text: never a real value
DESCRIPTION = "shipspec local seed: demo data for the local emulator"
DEMO_TAGS = [{"key": "shipspec-demo", "value": "local emulator only"}]

@dataclass(frozen=True)
class SecretToCreate:
    kind: Literal["secret", "parameter"]
    name: str  # Secrets Manager name (the ARN's last part, suffix included) or SSM parameter name
    value_from: str  # as the spec references it


@dataclass(frozen=True)
class SeedPlan:
    service: str
    environment: str
    account: str
    region: str
    cluster: str
    ecs_service: str
    family: str
    container: str
    launch_type: str
    repository: str
    tag: str
    push_image: bool
    cpu: int
    memory: int
    log_group: str
    create_log_group: bool
    variables: tuple[tuple[str, str], ...]
    secrets: tuple[tuple[str, str], ...]  # (variable, valueFrom) in the task definition
    create_secrets: tuple[SecretToCreate, ...]
    broken: str  # known-failure id; "" for a healthy service
    instance_tag: Optional[tuple[str, str]]  # EC2: the agent-config association's target tag
    agent_record: str  # EC2: the attribute value the association's script records


@dataclass(frozen=True)
class SeedResult:
    endpoint: str
    image: str
    task_definition: str  # family:revision
    created_secrets: tuple[str, ...]
    instance: str  # EC2 instance id ("" on Fargate)
    stopped_tasks: tuple[str, ...]  # task ids
    stop_reason: str


def demo_tag(c: "ServiceConfig") -> str:
    """A commit-like tag (7 hex digits, as the pipeline's), the same for the same service/env."""
    return hashlib.sha256(f"{c.name}/{c.environment.name}".encode()).hexdigest()[:7]


def secret_to_create(value_from: str, account: str, region: str) -> Optional[SecretToCreate]:
    """What to create so that the doctor's check finds `value_from`; None when it lives in another
    account or region (the doctor does not check those either)."""
    ref = parse_secret_ref(value_from)
    if ref is None or not ref.in_place(account, region):
        return None
    # The emulator finds a secret's ARN by its last part as a name, so the name keeps AWS's suffix.
    return SecretToCreate(ref.kind, ref.name, value_from)


def plan_seed(c: "ServiceConfig", broken: str = "") -> SeedPlan:
    kind = ALIASES.get(broken, broken)
    if broken and broken not in broken_kinds():
        raise ShipspecError(f"--broken {broken}: unknown; use one of {', '.join(broken_kinds())}")
    env = c.environment
    wanted = (secret_to_create(v, env.account, env.region) for _, v in sorted(c.service.secrets.items()))
    ec2 = runs_on_ec2(c)
    return SeedPlan(
        service=c.name, environment=env.name, account=env.account, region=env.region, cluster=c.service.cluster,
        ecs_service=c.ecs_service_name, family=c.ecs_service_name, container=c.container_name,
        launch_type=c.service.launch_type, repository=c.build.ecr_repository, tag=demo_tag(c),
        push_image=kind != "image-not-found", cpu=c.service.cpu or DEFAULT_CPU,
        memory=c.service.memory or DEFAULT_MEMORY, log_group=f"/ecs/{c.name}", create_log_group=kind != "log-config",
        variables=tuple(sorted(c.service.environment.items())), secrets=tuple(sorted(c.service.secrets.items())),
        create_secrets=() if kind == "secret-unavailable" else tuple(s for s in wanted if s),
        broken=kind, instance_tag=target_tag(c) if ec2 else None,
        agent_record=recorded_value(c.service.ec2_agent_config) if ec2 else "")


def loopback(url: str) -> bool:
    """`url` is plain HTTP to this machine (localhost or a loopback address)."""
    parsed = urlparse(url)
    host = parsed.hostname or ""
    if parsed.scheme != "http":
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def emulator_clients(root: Path, c: "ServiceConfig",
                     purpose: str = "local seed writes demo data into") -> tuple[str, ClientFactory]:
    """(endpoint, clients) for the environment's account and region in the local emulator; refuses
    unless the emulator recorded by `shipspec local up` answers on a loopback address. `purpose` says
    what the caller does there, for the refusal."""
    from ..deploy.aws.session import Endpoint
    from ..ops.clients import client_factory
    from .emulator import STATE_FILE, endpoint

    try:
        url = endpoint(root)
    except ShipspecError as exc:
        raise ShipspecError(f"{purpose} the local emulator only: {exc}") from None
    if not loopback(url):
        raise ShipspecError(f"refusing: {STATE_FILE} names {url}, not a loopback address; {purpose} "
                            "the emulator started by `shipspec local up` only")
    return url, client_factory(Endpoint(url, emulated=True), c)


def _ensure_image(ecr, p: SeedPlan) -> str:
    from botocore.exceptions import ClientError

    try:
        repo = ecr.describe_repositories(repositoryNames=[p.repository])["repositories"][0]
    except ClientError as exc:
        if error_code(exc) != "RepositoryNotFoundException":
            raise
        repo = ecr.create_repository(repositoryName=p.repository)["repository"]
    if p.push_image:
        digest = hashlib.sha256(f"{p.repository}:{p.tag}".encode()).hexdigest()
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1024,
                               "digest": f"sha256:{digest}"},
                    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1024,
                                "digest": f"sha256:{digest[::-1]}"}]}
        try:
            ecr.put_image(repositoryName=p.repository, imageManifest=json.dumps(manifest), imageTag=p.tag)
        except ClientError as exc:
            if error_code(exc) != "ImageAlreadyExistsException":
                raise
    return f"{repo['repositoryUri']}:{p.tag}"


def _create_secrets(clients: ClientFactory, p: SeedPlan) -> tuple[str, ...]:
    from botocore.exceptions import ClientError

    made = []
    for s in p.create_secrets:
        if s.kind == "secret":
            try:  # metadata only: no value is stored
                clients("secretsmanager").create_secret(Name=s.name, Description=DESCRIPTION)
            except ClientError as exc:
                if error_code(exc) != "ResourceExistsException":
                    raise
        else:
            clients("ssm").put_parameter(Name=s.name, Value=PLACEHOLDER, Type="String", Overwrite=True,
                                         Description=DESCRIPTION)
        made.append(s.value_from)
    return tuple(made)


def _log_group(logs, p: SeedPlan) -> None:
    from botocore.exceptions import ClientError

    try:
        logs.create_log_group(logGroupName=p.log_group)
    except ClientError as exc:
        if error_code(exc) != "ResourceAlreadyExistsException":
            raise


def _container_instance(clients: ClientFactory, p: SeedPlan) -> str:
    """An EC2 service's container instance (reused when the cluster has an active one)."""
    ecs, ec2 = clients("ecs"), clients("ec2")
    arns = ecs.list_container_instances(cluster=p.cluster, status="ACTIVE").get("containerInstanceArns", [])
    if arns:
        return ecs.describe_container_instances(cluster=p.cluster, containerInstances=arns[:1])[
            "containerInstances"][0]["ec2InstanceId"]
    key, value = p.instance_tag or ("ecs-cluster", p.cluster)
    tags = [{"Key": key, "Value": value}, {"Key": "Name", "Value": f"{p.cluster} (shipspec demo)"}]
    iid = ec2.run_instances(ImageId=DEMO_AMI, MinCount=1, MaxCount=1, InstanceType="t3.large",
                            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}])["Instances"][0]["InstanceId"]
    doc = json.dumps({"instanceId": iid, "region": p.region, "accountId": p.account})
    arn = ecs.register_container_instance(cluster=p.cluster, instanceIdentityDocument=doc)[
        "containerInstance"]["containerInstanceArn"]
    ecs.put_attributes(cluster=p.cluster, attributes=[{"name": ATTRIBUTE, "value": p.agent_record, "targetId": arn}])
    return iid


def _network(ec2) -> dict:
    """awsvpc networking in the account's default VPC (the emulator makes one per region)."""
    subnets = ec2.describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    if not subnets:
        raise ShipspecError("the emulator's account has no default VPC subnets to run Fargate tasks in")
    subnets = sorted(subnets, key=lambda s: s["SubnetId"])
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["default"]},
                                                   {"Name": "vpc-id", "Values": [subnets[0]["VpcId"]]}])
    return {"awsvpcConfiguration": {"subnets": [subnets[0]["SubnetId"]],
                                    "securityGroups": [g["GroupId"] for g in groups["SecurityGroups"][:1]],
                                    "assignPublicIp": "DISABLED"}}


def _task_definition(ecs, p: SeedPlan, image: str) -> str:
    fargate = p.launch_type == "FARGATE"
    container = {"name": p.container, "image": image, "essential": True, "cpu": p.cpu, "memory": p.memory,
                 "environment": [{"name": k, "value": v} for k, v in p.variables],
                 "secrets": [{"name": k, "valueFrom": v} for k, v in p.secrets],
                 "logConfiguration": {"logDriver": "awslogs", "options": {
                     "awslogs-group": p.log_group, "awslogs-region": p.region, "awslogs-stream-prefix": p.container}}}
    td = ecs.register_task_definition(
        family=p.family, containerDefinitions=[container], requiresCompatibilities=[p.launch_type],
        networkMode="awsvpc" if fargate else "bridge", cpu=str(p.cpu), memory=str(p.memory),
        tags=DEMO_TAGS)["taskDefinition"]
    return td["taskDefinitionArn"]


def _service(ecs, p: SeedPlan, td_arn: str, network: Optional[dict]) -> str:
    """Create (or re-create) the service; the primary deployment's id."""
    existing = ecs.describe_services(cluster=p.cluster, services=[p.ecs_service]).get("services", [])
    if any(s.get("status") == "ACTIVE" for s in existing):
        ecs.delete_service(cluster=p.cluster, service=p.ecs_service, force=True)
    extra = {"networkConfiguration": network} if network else {}
    created = ecs.create_service(cluster=p.cluster, serviceName=p.ecs_service, taskDefinition=td_arn,
                                 desiredCount=DESIRED if p.broken else 0, launchType=p.launch_type,
                                 tags=DEMO_TAGS, **extra)["service"]
    if not p.broken:
        ecs.update_service(cluster=p.cluster, service=p.ecs_service, desiredCount=DESIRED)
    return next((d["id"] for d in created.get("deployments", []) if d.get("status") == "PRIMARY"), "ecs-svc/demo")


def _stopped_tasks(ecs, p: SeedPlan, td_arn: str, deployment: str, network: Optional[dict],
                   reason: str) -> tuple[str, ...]:
    extra = {"networkConfiguration": network} if network else {}
    tasks = ecs.run_task(cluster=p.cluster, taskDefinition=td_arn, count=STOPPED_TASKS, launchType=p.launch_type,
                         startedBy=deployment, group=f"service:{p.ecs_service}", **extra).get("tasks", [])
    if not tasks:
        raise ShipspecError(f"the emulator placed no task of {p.family} in cluster {p.cluster} "
                            f"(the task needs {p.cpu} CPU units and {p.memory} MiB)")
    for t in tasks:
        ecs.stop_task(cluster=p.cluster, task=t["taskArn"], reason=reason)
    return tuple(sorted(t["taskArn"].rsplit("/", 1)[-1] for t in tasks))


def seed(clients: ClientFactory, p: SeedPlan, endpoint: str) -> SeedResult:
    """Create the plan's resources in the emulator (the I/O edge); botocore errors propagate."""
    ecs = clients("ecs")
    ecs.create_cluster(clusterName=p.cluster, tags=DEMO_TAGS)
    image = _ensure_image(clients("ecr"), p)
    created = _create_secrets(clients, p)
    if p.create_log_group:
        _log_group(clients("logs"), p)
    instance = _container_instance(clients, p) if p.instance_tag else ""
    td_arn = _task_definition(ecs, p, image)
    network = _network(clients("ec2")) if p.launch_type == "FARGATE" else None
    deployment = _service(ecs, p, td_arn, network)
    reason = stop_reason(p.broken, image) if p.broken else ""
    stopped = _stopped_tasks(ecs, p, td_arn, deployment, network, reason) if p.broken else ()
    return SeedResult(endpoint, image, td_arn.rsplit("/", 1)[-1], created, instance, stopped, reason)


def report(p: SeedPlan, r: SeedResult) -> str:
    """What was seeded, for people (pure)."""
    image_note = "pushed (manifest only)" if p.push_image else "NOT pushed (so the doctor's image check fails)"
    lines = [BANNER, f"emulator {r.endpoint}: {p.service} ({p.environment}), account {p.account}, region {p.region}",
             f"  cluster         {p.cluster}",
             f"  image           {r.image}: {image_note}"]
    if r.created_secrets:
        lines.append("  secrets         " + ", ".join(r.created_secrets) + " (no real value stored)")
    elif p.secrets and p.broken == "secret-unavailable":
        lines.append("  secrets         not created (so the doctor's secret check fails)")
    lines.append(f"  log group       {p.log_group}" + ("" if p.create_log_group else ": not created"))
    if r.instance:
        key, value = p.instance_tag or ("", "")
        lines.append(f"  instance        {r.instance} (tag {key}={value}, agent settings recorded)")
    lines.append(f"  task definition {r.task_definition}: container {p.container}, {p.cpu} CPU units, "
                 f"{p.memory} MiB, {p.launch_type}")
    if p.broken:
        lines += [f"  service         {p.ecs_service}: {DESIRED} desired, 0 running (broken: {p.broken})",
                  f"  stopped tasks   {', '.join(r.stopped_tasks)} with reason:", f"    {r.stop_reason}"]
    else:
        lines += [f"  service         {p.ecs_service}: {DESIRED} of {DESIRED} running (healthy)",
                  "  note: the emulator runs no containers; its deployment record keeps the 0 of 0 it was "
                  "created with"]
    where = f"{p.service} --env {p.environment} --local"
    lines.append(f"next: shipspec status {where}; shipspec doctor {where}")
    return "\n".join(lines)
