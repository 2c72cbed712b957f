"""An ECS service as a hand-made setup would have it, seeded into the emulator for one ServiceConfig.

The task definition carries everything the update must preserve: port mappings, log
configuration, a sidecar, task-level cpu/memory, roles, tags, and one existing environment
variable and secret that the spec does not mention (plus, where the spec names any, an
old value for its first variable and secret, so replacement is exercised).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from compiler.spec.models import ServiceConfig

from support.aws import tool_path

OLD_IMAGE = "111111111111.dkr.ecr.ap-northeast-1.amazonaws.com/legacy/app:old"
KEPT_ENV = {"name": "KEEP_ME", "value": "kept"}
KEPT_SECRET = {"name": "KEEP_SECRET", "valueFrom": "arn:aws:ssm:ap-northeast-1:111111111111:parameter/kept"}
TAGS = [{"key": "team", "value": "legacy"}, {"key": "cost-center", "value": "42"}]


@dataclass(frozen=True)
class Seeded:
    task_definition_arn: str
    family: str


def reset(endpoint: str) -> None:
    """Forget every resource in the emulator."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10).read()


def container_definitions(c: ServiceConfig, container: str | None = None) -> list[dict]:
    env = [KEPT_ENV]
    secrets = [KEPT_SECRET]
    if c.service.environment:
        first = sorted(c.service.environment)[0]
        env = [{"name": first, "value": "old-value"}, KEPT_ENV]
    if c.service.secrets:
        first = sorted(c.service.secrets)[0]
        secrets = [KEPT_SECRET, {"name": first, "valueFrom": "arn:aws:ssm:ap-northeast-1:111111111111:parameter/old"}]
    main = {
        "name": container or c.container_name,
        "image": OLD_IMAGE,
        "essential": True,
        "cpu": 128,
        "memoryReservation": 256,
        "portMappings": [{"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}],
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": f"/ecs/{c.name}", "awslogs-region": "ap-northeast-1", "awslogs-stream-prefix": "app"}},
        "environment": env,
        "secrets": secrets,
        "command": ["serve", "--port", "8080"],
    }
    sidecar = {"name": "log-router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:stable",
               "essential": False, "environment": [{"name": "FLB_LOG_LEVEL", "value": "info"}]}
    return [main, sidecar]


def seed(ecs, c: ServiceConfig, *, service: bool = True, container: str | None = None) -> Seeded:
    """Create the cluster, a task definition and (optionally) the service of `c`."""
    ecs.create_cluster(clusterName=c.service.cluster)
    fargate = c.service.launch_type == "FARGATE"
    family = f"{c.name}-{c.environment.name}"
    td = ecs.register_task_definition(
        family=family,
        containerDefinitions=container_definitions(c, container),
        requiresCompatibilities=[c.service.launch_type],
        networkMode="awsvpc" if fargate else "bridge",
        cpu="512",
        memory="1024",
        executionRoleArn=f"arn:aws:iam::{c.environment.account}:role/{c.name}-execution",
        taskRoleArn=f"arn:aws:iam::{c.environment.account}:role/{c.name}-task",
        tags=TAGS,
    )["taskDefinition"]
    if service:
        ecs.create_service(cluster=c.service.cluster, serviceName=c.ecs_service_name,
                           taskDefinition=td["taskDefinitionArn"], desiredCount=1,
                           launchType=c.service.launch_type)
    return Seeded(td["taskDefinitionArn"], family)


def run_bash(script: Path, cwd: Path, image_uri: str | None, extra_env: dict[str, str] | None = None,
             path_prefix: Path | None = None) -> subprocess.CompletedProcess:
    """Run a script with bash and a minimal environment: PATH, HOME, the AWS_* test settings, IMAGE_URI."""
    env = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    env.update(PATH=tool_path(path_prefix), HOME=str(cwd), LANG="C.UTF-8")
    if image_uri is not None:
        env["IMAGE_URI"] = image_uri
    env.update(extra_env or {})
    return subprocess.run(["bash", str(script)], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
