"""`shipspec local deploy`: the pipeline's UpdateService and Deploy steps, run on this machine against
the local emulator only, as CodeBuild runs them: the generated update_taskdefinition.sh (a new
revision and the run's one rollout), then follow_deployment.sh with what it exported, both with
the real AWS CLI. Emulator only, like `local seed`: it refuses unless `.shipspec/local.json` names a
running emulator on a loopback address, and the scripts get that endpoint and credentials of the
environment's account issued by the emulator's STS, never any others.

`--outcome` says how the emulator ends the rollout (the service's tags, see
compiler/local/service_deployments.py): succeed, fail, rollback or hang; `--reason` names the
known failure the failing tasks report.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..core.errors import ShipspecError
from .aws_cli_env import aws_cli, emulator_environment, role_credentials, stream
from .seed import ClientFactory, demo_tag, emulator_clients

if TYPE_CHECKING:
    from ..spec.models import ServiceConfig

ROLE_NAME = "shipspec-local"
HANG_TIMEOUT_SECONDS = "5"  # --outcome hang: the Deploy step gives up this soon (CodeBuild: the spec's timeout)


@dataclass(frozen=True)
class RunResult:
    update_status: int
    follow_status: int  # -1 when the follow step did not run
    deployment: dict  # what UpdateService exported (deployment.json); empty when it failed

    @property
    def status(self) -> int:
        return self.update_status or (self.follow_status if self.follow_status >= 0 else 1)


def set_outcome(clients: ClientFactory, c: "ServiceConfig", outcome: str, reason: str) -> None:
    """Tell the emulator how to end the next rollout of the service (its tags)."""
    from .service_deployments import DEFAULT_REASON, OUTCOME_TAG, REASON_TAG

    ecs = clients("ecs")
    found = [s for s in ecs.describe_services(cluster=c.service.cluster, services=[c.ecs_service_name]).get(
        "services", []) if s.get("status") == "ACTIVE"]
    if not found:
        raise ShipspecError(f"service {c.ecs_service_name} is not in the emulator's cluster {c.service.cluster}: "
                            f"run `shipspec local seed {c.name} --env {c.environment.name}` first")
    ecs.tag_resource(resourceArn=found[0]["serviceArn"], tags=[{"key": OUTCOME_TAG, "value": outcome},
                                                              {"key": REASON_TAG, "value": reason or DEFAULT_REASON}])


def _environment(clients: ClientFactory, c: "ServiceConfig", endpoint: str, cli: str) -> dict[str, str]:
    creds = role_credentials(clients("sts"), f"arn:aws:iam::{c.environment.account}:role/{ROLE_NAME}",
                             "shipspec-local-deploy")
    return emulator_environment(endpoint, c.environment.region, creds, cli)


def run(root: Path, c: "ServiceConfig", image: str, outcome: str, reason: str,
        emit: Callable[[str], None]) -> RunResult:
    """UpdateService then Deploy for `c` in the emulator; every line the scripts print goes to `emit`."""
    from ..build.render.follow_script import follow_script
    from ..build.render.service_files import repository_uri, update_script

    cli = aws_cli()
    endpoint, clients = emulator_clients(root, c, "local deploy runs the UpdateService and Deploy steps in")
    set_outcome(clients, c, outcome, reason)
    env = _environment(clients, c, endpoint, cli)
    image = image or f"{repository_uri(c)}:{demo_tag(c)}"
    with tempfile.TemporaryDirectory(prefix="shipspec-local-deploy-") as work:
        cwd = Path(work)
        (cwd / "update_taskdefinition.sh").write_text(update_script(c), encoding="utf-8")
        (cwd / "follow_deployment.sh").write_text(follow_script(c), encoding="utf-8")
        emit(f"--- UpdateService: update_taskdefinition.sh (IMAGE_URI={image})")
        update = _bash(cwd, "update_taskdefinition.sh", {**env, "IMAGE_URI": image}, emit)
        if update != 0 or not (cwd / "deployment.json").exists():
            return RunResult(update or 1, -1, {})
        deployment = json.loads((cwd / "deployment.json").read_text(encoding="utf-8"))
        exported = {"SERVICE_DEPLOYMENT_ARN": deployment["serviceDeploymentArn"],
                    "DEPLOYMENT_ID": deployment["deploymentId"], "TASK_DEFINITION_ARN": deployment["taskDefinitionArn"]}
        emit("--- Deploy: follow_deployment.sh (" + ", ".join(f"{k}={v}" for k, v in exported.items()) + ")")
        timeout = {"FOLLOW_TIMEOUT_SECONDS": HANG_TIMEOUT_SECONDS} if outcome == "hang" else {}
        follow = _bash(cwd, "follow_deployment.sh", {**env, **exported, **timeout}, emit)
        return RunResult(0, follow, deployment)


def _bash(cwd: Path, script: str, env: dict[str, str], emit: Callable[[str], None]) -> int:
    return stream(["bash", script], cwd, env, emit)
