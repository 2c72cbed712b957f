"""What `shipspec doctor` finds by inspection rather than by matching a reason ECS reported: an
image tag missing from ECR, a secret that does not exist, no capacity, agent settings that differ
from the spec. Documented with the table of known failures in docs/troubleshooting.md.
"""

from __future__ import annotations

from dataclasses import dataclass

# The documentation links live with the table of known failures.
from ..core.known_failures import (
    DOC_AGENT_CONFIG,
    DOC_PULL,
    DOC_SERVICE_EVENTS,
    DOC_STOPPED_CODES,
    ECS_DOCS,
    REPOST,
    Severity,
)


@dataclass(frozen=True)
class Check:
    """A problem the doctor finds by inspection (not by matching a reason)."""

    id: str
    title: str
    meaning: str
    fix: str
    doc_url: str
    commands: tuple[str, ...] = ()
    severity: Severity = "error"


CHECKS: tuple[Check, ...] = (
    Check("rollout-failed", "The latest rollout failed: it was rolled back or stopped",
          "ECS reports the service's newest service deployment as ROLLBACK_SUCCESSFUL, ROLLBACK_FAILED or STOPPED: "
          "its revision never took over. The service may be steady again, but on the old revision (a deployment "
          "circuit breaker or alarm rollback), so \"the service is stable\" proves nothing; the pipeline's Deploy "
          "step fails such a run for the same reason.",
          "Read the rollout's reason and the stopped tasks' reasons below, fix the cause, and run the pipeline "
          "again. `shipspec status` lists the rollouts; `shipspec rollback` stops one in progress.",
          f"{ECS_DOCS}/service-deployment.html",
          ("aws ecs list-service-deployments --region <region> --cluster <cluster> --service <service>",)),
    Check("cluster-not-found", "The ECS cluster does not exist",
          "DescribeServices says the cluster named by `service.cluster` does not exist in the environment's "
          "account and region.",
          "Check `service.cluster` and the environment's account and region in the spec.", DOC_SERVICE_EVENTS),
    Check("service-not-found", "The ECS service does not exist",
          "The cluster has no active service named by `service.name` (default: the spec's name). shipspec "
          "deploys to an existing service; it does not create it.",
          "Check `service.name` and `service.cluster`, or create the service.", DOC_SERVICE_EVENTS,
          ("aws ecs list-services --region <region> --cluster <cluster>",)),
    Check("image-missing-in-ecr", "The image the service runs is not in ECR",
          "ecr:DescribeImages does not find the tag (or the repository) named by the service's current "
          "task definition: new tasks cannot pull it.",
          "Run the pipeline to build and push the image, or deploy a tag that exists; raise "
          "`build.keep_images` if the lifecycle policy expired it.", DOC_PULL,
          ("aws ecr describe-images --region <region> --repository-name <repository> --image-ids imageTag=<tag>",)),
    Check("secret-missing", "A secret or parameter the task definition references does not exist",
          "secretsmanager:DescribeSecret or ssm:DescribeParameters (metadata only; no value is read) does "
          "not find an ARN listed in the task definition's `secrets`: every new task will fail to start.",
          "Create it in the environment's account and region, or fix `service.secrets` in the spec.",
          f"{REPOST}/ecs-unable-to-pull-secrets"),
    Check("agent-disconnected", "A container instance's agent is disconnected",
          "ECS cannot place tasks on an instance whose agent is not connected (the agent crashed, the "
          "instance lost its route to ECS, or Docker is unhealthy).",
          "Restart the agent (`sudo systemctl restart ecs`) or replace the instance; read "
          "/var/log/ecs/ecs-agent.log.", DOC_AGENT_CONFIG, severity="warning"),
    Check("agent-config-untargeted", "An instance is not targeted by the agent-config association",
          "The SSM association that applies `service.ec2_agent_config` targets instances by the tag "
          "`instance_tag_key`=`instance_tag_value` (default ecs-cluster=<cluster>); this instance lacks it, "
          "so it keeps the agent's default clean-up settings.",
          "Tag the cluster's instances (e.g. in the Auto Scaling group, with PropagateAtLaunch), or set "
          "`service.ec2_agent_config.instance_tag_key`/`instance_tag_value` to a tag they carry.",
          DOC_AGENT_CONFIG, severity="warning"),
    Check("agent-config-unrecorded", "The instance has not recorded its agent settings",
          "After applying the settings, the generated SSM document records them as the container instance "
          "attribute `shipspec.ecs-agent-config`. It is missing: the association has not run there yet, the "
          "instance is not managed by SSM, the AWS CLI is missing on it, or its instance role lacks "
          "ecs:PutAttributes. The settings may or may not be applied.",
          "Check the association's status in Systems Manager State Manager; let the instance role call "
          "ecs:PutAttributes on the cluster's container instances.", DOC_AGENT_CONFIG, severity="warning"),
    Check("agent-config-drift", "An instance's agent settings differ from the spec",
          "The settings the instance recorded (attribute `shipspec.ecs-agent-config`) differ from "
          "`service.ec2_agent_config`: the stack with the new document has not been applied, or the "
          "association has not run since.",
          "Apply the pipeline stack (`shipspec apply`), then let the association run (or run it now from "
          "State Manager).", DOC_AGENT_CONFIG, severity="warning"),
    Check("deployment-stalled", "The deployment has not started all its tasks, and ECS says nothing yet",
          "The newest deployment runs fewer tasks than desired, and neither the stopped tasks nor the "
          "service events explain why (ECS may still be pulling the image).",
          "Wait a minute and run `shipspec doctor` again; look at the service's events in the console.",
          DOC_SERVICE_EVENTS, severity="warning"),
    Check("unrecognised-stop-reason", "A task stopped for a reason this table does not know",
          "Recent tasks of the service stopped with a reason none of the entries above match.",
          "Read the reason; the AWS list of stopped task error codes explains most prefixes.",
          DOC_STOPPED_CODES, severity="warning"),
)

# Read-only API calls behind `status` and `doctor` (for the role they run with).
READS = (
    "codepipeline:ListPipelineExecutions", "codepipeline:GetPipelineState",
    "ecs:DescribeServices", "ecs:DescribeTaskDefinition", "ecs:ListTasks", "ecs:DescribeTasks",
    "ecs:ListServiceDeployments", "ecs:DescribeServiceDeployments", "ecs:DescribeServiceRevisions",
    "ecs:ListContainerInstances", "ecs:DescribeContainerInstances", "ec2:DescribeInstances",
    "ecr:DescribeImages", "secretsmanager:DescribeSecret", "ssm:DescribeParameters", "sts:GetCallerIdentity",
)


def guide_markdown() -> list[str]:
    """How the agent settings reach the instances and what the doctor reads (for the generated doc)."""
    from ..build.render.agent_config import SCHEDULE
    from ..spec.agent_settings import ATTRIBUTE

    return [
        "## The ECS agent settings on EC2 container instances", "",
        "For a service with `launch_type: EC2`, `shipspec build` writes `generated/<name>/<env>/ecs-agent.config` "
        "(the `ECS_...=value` lines of `service.ec2_agent_config`) and the pipeline stack gets an SSM Command "
        "document and an association. The association runs the document on the EC2 instances tagged "
        "`instance_tag_key=instance_tag_value` (default `ecs-cluster=<service.cluster>`; tag the cluster's "
        f"Auto Scaling group with PropagateAtLaunch), once when it is created and then on the schedule "
        f"`{SCHEDULE}`. The "
        "script replaces those keys in /etc/ecs/ecs.config and keeps every other line; it restarts the agent "
        "(`systemctl restart ecs`) only when the file changed, because the agent reads the file only when it "
        "starts.", "",
        f"It then records what it applied as the container instance attribute `{ATTRIBUTE}` "
        "(`v1/<task_cleanup_wait>/<image_cleanup_interval>/<image_minimum_cleanup_age>/"
        "<num_images_delete_per_cycle>/<disable_image_cleanup>`), which `shipspec doctor` compares with the "
        "spec. `ECS_INSTANCE_ATTRIBUTES` cannot do this: the agent applies it only when the instance first "
        "registers. Recording needs the AWS CLI on the instance and this statement in the instance role "
        "(the settings are applied without it; the doctor then reports `agent-config-unrecorded`):", "",
        "```json",
        '{"Effect": "Allow", "Action": "ecs:PutAttributes",',
        ' "Resource": "arn:aws:ecs:<region>:<account>:container-instance/<cluster>/*"}',
        "```", "",
        "The instances must be managed by Systems Manager (SSM Agent running, instance role with "
        "AmazonSSMManagedInstanceCore). Services that share a cluster must ask for the same settings: their "
        "associations run on the same instances.", "",
        "## What status and doctor read", "",
        "Both only read; no secret value is ever read (secrets and parameters are checked with "
        "DescribeSecret and DescribeParameters). The role they run with needs:", "",
        *[f"- `{action}`" for action in READS], "",
        "On the local emulator (`--local`) some reads are not modelled (moto has no GetPipelineState); the "
        "output says so instead of failing.", "",
    ]


_BY_ID = {c.id: c for c in CHECKS}


def check(check_id: str) -> Check:
    return _BY_ID[check_id]
