"""`shipspec drift`, the runtime side: the task definition the ECS service runs, compared with
what the spec says shipspec's update step puts into it (`compiler/build/render/update_script.py`):
the container of `service.container` exists, its image comes from the spec's ECR repository, each
variable of `service.environment` and `service.secrets` is set to the spec's value, and the task
size is `service.cpu`/`service.memory` where the spec sets them. Entries the spec does not name
are the service's own (the update step keeps them), so they are not drift.

`expected(config)` and `compare(expected, task_definition)` are pure; `check(clients, config)`
reads the service (`compiler/ops/status.py`'s gathering) and its task definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..build.render.service_files import repository_uri
from ..core.secrets import secret_like_name, secret_value
from ..deploy.aws.errors import client_errors, short_error
from ..deploy.changes import MASK
from .status import ClientFactory, family_revision, gather_service

if TYPE_CHECKING:
    from ..spec.models import ServiceConfig

IN_SYNC, DRIFTED, NOT_FOUND, FAILED = "IN_SYNC", "DRIFTED", "NOT_FOUND", "FAILED"
NOT_SET = "(not set)"


@dataclass(frozen=True)
class ExpectedTask:
    container: str
    repository: str  # <registry>/<repository>, without tag
    environment: tuple[tuple[str, str], ...]
    secrets: tuple[tuple[str, str], ...]
    cpu: str  # "" when the spec leaves it to the task definition
    memory: str


@dataclass(frozen=True)
class Difference:
    field: str  # "container name", "image repository", "environment LOG_LEVEL", "secret DB_PASSWORD", "cpu", "memory"
    expected: str
    actual: str


@dataclass(frozen=True)
class RuntimeDrift:
    service: str
    environment: str
    account: str
    region: str
    cluster: str
    ecs_service: str
    task_definition: str  # family:revision the service runs ("" when not found)
    status: str  # IN_SYNC, DRIFTED, NOT_FOUND, FAILED
    differences: tuple[Difference, ...] = ()
    reason: str = ""


def expected(c: "ServiceConfig") -> ExpectedTask:
    s = c.service
    return ExpectedTask(c.container_name, repository_uri(c), tuple(sorted(s.environment.items())),
                        tuple(sorted(s.secrets.items())), "" if s.cpu is None else str(s.cpu),
                        "" if s.memory is None else str(s.memory))


def image_repository(image: str) -> str:
    """`<registry>/<repo>:<tag>` or `...@sha256:...` -> `<registry>/<repo>`."""
    image = image.split("@", 1)[0]
    head, _, last = image.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


def _shown(name: str, value: str) -> str:
    return MASK if value not in ("", NOT_SET) and (secret_like_name(name) or secret_value(value)) else value


def compare(want: ExpectedTask, td: dict) -> tuple[Difference, ...]:
    """What differs between the spec and a task definition (DescribeTaskDefinition's
    `taskDefinition`), in a fixed order."""
    containers = td.get("containerDefinitions") or []
    found = next((x for x in containers if x.get("name") == want.container), None)
    if found is None:
        names = ", ".join(sorted(str(x.get("name")) for x in containers)) or "none"
        return (Difference("container name", want.container, f"not in the task definition (it has: {names})"),)
    out = []
    repo = image_repository(str(found.get("image", "")))
    if repo != want.repository:
        out.append(Difference("image repository", want.repository, repo or NOT_SET))
    env = {e.get("name"): str(e.get("value", "")) for e in found.get("environment") or []}
    for name, value in want.environment:
        if env.get(name) != value:
            out.append(Difference(f"environment {name}", _shown(name, value), _shown(name, env.get(name, NOT_SET))))
    secrets = {e.get("name"): str(e.get("valueFrom", "")) for e in found.get("secrets") or []}
    for name, value in want.secrets:
        if secrets.get(name) != value:
            out.append(Difference(f"secret {name}", value, secrets.get(name, NOT_SET)))
    for what, value in (("cpu", want.cpu), ("memory", want.memory)):
        if value and str(td.get(what) or "") != value:
            out.append(Difference(what, value, str(td.get(what) or NOT_SET)))
    return tuple(out)


def check(clients: ClientFactory, c: "ServiceConfig") -> RuntimeDrift:
    """The service's running task definition against the spec; AWS failures become FAILED."""
    env = c.environment
    base = dict(service=c.name, environment=env.name, account=env.account, region=env.region,
                cluster=c.service.cluster, ecs_service=c.ecs_service_name)
    errors = client_errors()
    try:
        status, raw = gather_service(clients, c)
        if not status.found:
            return RuntimeDrift(**base, task_definition="", status=NOT_FOUND, reason="; ".join(status.notes))
        arn = str(raw.get("taskDefinition", ""))
        td = clients("ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    except errors as exc:
        return RuntimeDrift(**base, task_definition="", status=FAILED, reason=short_error(exc))
    diffs = compare(expected(c), td)
    return RuntimeDrift(**base, task_definition=family_revision(arn), status=DRIFTED if diffs else IN_SYNC,
                        differences=diffs)
