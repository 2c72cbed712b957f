"""THE table of known reasons why new ECS tasks do not start: one home for the data and the matching.

Each `KnownFailure` has a regular expression matched against the texts ECS reports (a stopped
task's `stoppedReason`, a container's `reason`, a service event, a deployment's
`rolloutStateReason`), an example as ECS reports it, what it means, how to fix it, commands and
an AWS documentation page. Order is precedence: `match_reason` returns the first entry whose
pattern matches, so specific entries (a full disk reported as CannotCreateContainerError) come
before general ones (any CannotCreateContainerError).

It lives in core because two parts match reasons against it: `shipspec doctor` (compiler/ops/) and
the generated Deploy step (compiler/build/render/follow_script.py embeds `embedded_table()`, the
patterns in precedence order, into the script CodeBuild runs, which cannot import shipspec). The
doctor's checks by inspection (compiler/ops/doctor_checks.py) are documented with them:
docs/troubleshooting.md is generated from both (compiler/ops/troubleshooting.py); a test keeps the
committed file equal to it. Commands use <placeholders>; the doctor fills those it knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, Mapping, Optional

Severity = Literal["error", "warning", "info"]

# AWS documentation the entries (and the doctor's own checks, compiler/ops/doctor_checks.py) link to.
ECS_DOCS = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide"
REPOST = "https://repost.aws/knowledge-center"
DOC_STOPPED_CODES = f"{ECS_DOCS}/stopped-task-error-codes.html"
DOC_PULL = f"{ECS_DOCS}/task_cannot_pull_image.html"
DOC_SERVICE_EVENTS = f"{ECS_DOCS}/service-event-messages.html"
DOC_IMAGE_CLEANUP = f"{ECS_DOCS}/automated_image_cleanup.html"
DOC_AGENT_CONFIG = f"{ECS_DOCS}/ecs-agent-config.html"
DOC_TASK_STOPPED = f"{REPOST}/ecs-task-stopped"

Seen = Literal["stopped task", "container", "service event", "deployment"]

TROUBLESHOOTING_PATH = "docs/troubleshooting.md"

_TASK_DESCRIBE = ("aws ecs describe-tasks --region <region> --cluster <cluster> --tasks <task-arn> "
                  "--query 'tasks[0].[stoppedReason,containers[].[name,exitCode,reason]]'")
_INSTANCES = ("aws ecs describe-container-instances --region <region> --cluster <cluster> "
              "--container-instances <container-instance-id> "
              "--query 'containerInstances[].[ec2InstanceId,remainingResources]'")


@dataclass(frozen=True)
class KnownFailure:
    id: str
    title: str
    pattern: str  # Python regular expression, matched case-insensitively anywhere in the text
    example: str  # a reason string as ECS reports it
    meaning: str
    fix: str
    doc_url: str
    seen_in: tuple[Seen, ...] = ("stopped task",)
    commands: tuple[str, ...] = ()
    severity: Severity = "error"
    launch_types: tuple[str, ...] = ("EC2", "FARGATE")

    @property
    def regex(self) -> re.Pattern:
        return _compiled(self.pattern)


@lru_cache(maxsize=None)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


_DISK_COMMANDS = (
    "# on an affected instance (Session Manager or SSH): how full is it?",
    "df -h /var/lib/docker && sudo docker system df",
    "# emergency clean-up: exited containers, then images no container uses, then let the agent re-sync",
    "sudo docker container prune -f",
    "sudo docker image prune -a -f",
    "sudo systemctl restart ecs",
    "# the same on every instance of the cluster at once, through SSM Run Command",
    "aws ssm send-command --region <region> --document-name AWS-RunShellScript "
    "--targets Key=tag:<tag-key>,Values=<tag-value> "
    "--parameters 'commands=[\"docker container prune -f\",\"docker image prune -a -f\",\"systemctl restart ecs\"]'",
)

KNOWN_FAILURES: tuple[KnownFailure, ...] = (
    KnownFailure(
        "disk-full", "The Docker volume of the container instance is full",
        r"no space left on device|thin pool has \d+ free data blocks",
        "CannotCreateContainerError: Error response from daemon: mkdir "
        "/var/lib/docker/overlay2/4d6f2c1e8a9b/merged: no space left on device",
        "Docker cannot create the new container because the instance's Docker storage is full. On the "
        "ECS-optimized Amazon Linux AMI, Docker images and metadata live on a volume limited to 22 GiB "
        "(the Amazon Linux 2 and 2023 variants share a 30 GiB root volume). Every deployment pulls a new "
        "image; old images and the containers of stopped tasks pile up until nothing fits. EC2 launch "
        "type only: Fargate gives each task its own storage.",
        "Shorten the image and container lifecycles with the ECS agent settings in "
        "`service.ec2_agent_config` (`ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION` and "
        "`ECS_IMAGE_CLEANUP_INTERVAL`, 30m each by default; also `ECS_IMAGE_MINIMUM_CLEANUP_AGE`, "
        "`ECS_NUM_IMAGES_DELETE_PER_CYCLE`, `ECS_DISABLE_IMAGE_CLEANUP`). shipspec generates "
        "`ecs-agent.config` and an SSM document and association that write them into "
        "/etc/ecs/ecs.config and restart the agent, which reads them only when it starts. Make images "
        "smaller with a multi-stage Dockerfile (`build.max_image_mb` warns about large ones). In an "
        "emergency, free space on the affected instances with the commands below.",
        DOC_IMAGE_CLEANUP, ("stopped task", "container"), _DISK_COMMANDS, launch_types=("EC2",)),
    KnownFailure(
        "pull-rate-limit", "Docker Hub refused the pull (rate limit)",
        r"toomanyrequests|pull rate limit",
        "CannotPullContainerError: inspect image has been retried 5 time(s): httpReaderSeeker: failed open: "
        "unexpected status code https://registry-1.docker.io/v2/library/nginx/manifests/1.27: 429 Too Many "
        "Requests - Server message: toomanyrequests: You have reached your pull rate limit.",
        "The image comes from Docker Hub, which limits anonymous and free-account pulls per IP address; "
        "every task behind one NAT gateway shares the same address.",
        "Copy the image into ECR (or add an ECR pull-through cache rule for Docker Hub) and use that URI, "
        "or authenticate the pulls with the container's `repositoryCredentials`.",
        DOC_PULL, ("stopped task", "container")),
    KnownFailure(
        "network-timeout", "The task cannot reach ECR, Secrets Manager or SSM (network timeout)",
        r"(CannotPullContainerError|ResourceInitializationError).*"
        r"(i/o timeout|context deadline exceeded|request canceled|dial tcp|no such host)",
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval "
        "failed: unable to retrieve ecr registry auth: service call has been retried 3 time(s): RequestError: "
        "send request failed caused by: Post \"https://api.ecr.ap-northeast-1.amazonaws.com/\": dial tcp "
        "52.119.216.67:443: i/o timeout",
        "ECS timed out connecting to the registry or to an AWS API while preparing the task. Tasks in "
        "private subnets need a NAT gateway or VPC endpoints (ecr.api, ecr.dkr, the S3 gateway endpoint "
        "for image layers, secretsmanager or ssm, logs); awsvpc tasks in public subnets need a public "
        "IP; security groups and network ACLs must allow outbound HTTPS.",
        "Give the task's subnets a route to the internet (0.0.0.0/0 through a NAT gateway, or an internet "
        "gateway with `assignPublicIp: ENABLED`) or add the VPC endpoints; allow outbound 443 from the "
        "task's security group.",
        f"{REPOST}/ecs-fargate-pull-container-error", ("stopped task", "container"),
        ("aws ecs describe-services --region <region> --cluster <cluster> --services <service> "
         "--query 'services[0].networkConfiguration'",
         "aws ec2 describe-route-tables --region <region> --filters Name=association.subnet-id,Values=<subnet-id>")),
    KnownFailure(
        "pull-access-denied", "The registry refused the image pull (access denied)",
        r"CannotPullContainerError.*(access denied|AccessDenied|not authorized|403 Forbidden|"
        r"no basic auth credentials|denied:)",
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref "
        "111111111111.dkr.ecr.ap-northeast-1.amazonaws.com/media/video-api:3f9c2ab: pulling from host "
        "111111111111.dkr.ecr.ap-northeast-1.amazonaws.com failed with status code [manifests 3f9c2ab]: "
        "403 Forbidden",
        "The registry refused the pull: the task execution role (or, without one, the container "
        "instance role) lacks ecr:GetAuthorizationToken, ecr:BatchGetImage or "
        "ecr:GetDownloadUrlForLayer, the repository policy does not let this account pull (cross-account "
        "images), or the repository does not exist.",
        "Give the execution role the ECR read actions (the managed policy "
        "AmazonECSTaskExecutionRolePolicy has them); for a repository in another account, allow this "
        "account in its repository policy; check the repository name in the image URI.",
        DOC_PULL, ("stopped task", "container"),
        ("aws ecs describe-task-definition --region <region> --task-definition <task-definition> "
         "--query 'taskDefinition.[executionRoleArn,containerDefinitions[].image]'",
         "aws ecr get-repository-policy --region <region> --repository-name <repository>")),
    KnownFailure(
        "platform-mismatch", "The image was built for another CPU architecture",
        r"does not contain descriptor matching platform|no matching manifest for",
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): image Manifest does not "
        "contain descriptor matching platform 'linux/amd64'",
        "The image has no variant for the platform the task runs on, e.g. it was built on an ARM laptop "
        "for x86_64 instances.",
        "Build for the task's platform (`docker build --platform linux/amd64`, or a multi-architecture "
        "image with `docker buildx`), or set the task definition's `runtimePlatform` to the image's.",
        DOC_PULL, ("stopped task", "container")),
    KnownFailure(
        "image-not-found", "The image tag does not exist",
        r"CannotPullContainerError.*(not found|manifest unknown|does not exist)",
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref "
        "111111111111.dkr.ecr.ap-northeast-1.amazonaws.com/media/video-api:3f9c2ab: "
        "111111111111.dkr.ecr.ap-northeast-1.amazonaws.com/media/video-api:3f9c2ab: not found",
        "The task definition names an image tag that is not in the repository: the build did not push "
        "it, pushed it to another repository or region, or the ECR lifecycle policy expired it.",
        "`shipspec doctor` checks the tag with ecr:DescribeImages. Re-run the pipeline to build and push "
        "the commit, or deploy a tag that exists; raise `build.keep_images` if the lifecycle policy "
        "removed an image still in use.",
        DOC_PULL, ("stopped task", "container"),
        ("aws ecr describe-images --region <region> --repository-name <repository> --image-ids imageTag=<tag>",
         "aws ecr describe-images --region <region> --repository-name <repository> "
         "--query 'sort_by(imageDetails,&imagePushedAt)[-5:].imageTags'")),
    KnownFailure(
        "pull-failed", "The image could not be pulled (other reason)",
        r"CannotPullContainerError",
        "CannotPullContainerError: error pulling image configuration: download failed after attempts=6: "
        "unexpected EOF",
        "ECS could not pull the image for a reason not listed above; the text after "
        "CannotPullContainerError says why.",
        "Read the whole reason; pull the same URI with `docker pull` from the same network; see the AWS page.",
        DOC_PULL, ("stopped task", "container")),
    KnownFailure(
        "secret-unavailable", "A secret or parameter the task needs cannot be read",
        r"unable to retrieve secrets? from (asm|ssm)|unable to get registry auth from asm|"
        r"fetching secret data from",
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval "
        "failed: unable to retrieve secret from asm: service call has been retried 1 time(s): failed to fetch "
        "secret arn:aws:secretsmanager:ap-northeast-1:111111111111:secret:news/db-AbCdEf from secrets "
        "manager: ResourceNotFoundException: Secrets Manager can't find the specified secret.",
        "Before the containers start, ECS reads every `secrets` entry of the task definition with the "
        "task execution role. The secret or parameter does not exist (wrong ARN, other account or region, "
        "deleted), the ARN names a JSON key or version that does not exist, or the execution role lacks "
        "secretsmanager:GetSecretValue / ssm:GetParameters (and kms:Decrypt for a customer managed key).",
        "`shipspec doctor` checks that each referenced secret (secretsmanager:DescribeSecret) and "
        "parameter (ssm:DescribeParameters) exists, without reading any value. Fix `service.secrets` in "
        "the spec or create the secret in the environment's account and region; let the execution role "
        "read exactly those ARNs.",
        f"{REPOST}/ecs-unable-to-pull-secrets", ("stopped task",),
        ("aws secretsmanager describe-secret --region <region> --secret-id <secret-arn>",
         "aws ssm describe-parameters --region <region> --parameter-filters Key=Name,Values=<parameter-name>")),
    KnownFailure(
        "ecr-auth-failed", "The execution role cannot get an ECR token",
        r"unable to retrieve ecr registry auth",
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval "
        "failed: unable to retrieve ecr registry auth: service call has been retried 3 time(s): "
        "AccessDeniedException: User: arn:aws:sts::111111111111:assumed-role/video-api-execution/8f1c2 is not "
        "authorized to perform: ecr:GetAuthorizationToken on resource: *",
        "The task definition has no execution role, the role cannot be assumed by "
        "ecs-tasks.amazonaws.com, or it lacks ecr:GetAuthorizationToken.",
        "Set the task definition's `executionRoleArn` to a role trusted by ecs-tasks.amazonaws.com with "
        "AmazonECSTaskExecutionRolePolicy (or the same ECR actions).",
        f"{REPOST}/ecs-unable-to-pull-secrets", ("stopped task",)),
    KnownFailure(
        "log-config", "The container's log configuration fails (log group missing or not writable)",
        r"failed to (validate logger args|initialize logging driver)|log group does not exist|logs:CreateLogStream",
        "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: "
        "failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not "
        "exist. : exit status 1",
        "The awslogs log group named in the task definition does not exist (and `awslogs-create-group` is "
        "not set), or the execution role lacks logs:CreateLogStream / logs:PutLogEvents on it.",
        "Create the log group (or set `awslogs-create-group: \"true\"` and allow logs:CreateLogGroup), and "
        "let the execution role write to it.",
        DOC_STOPPED_CODES, ("stopped task", "container"),
        ("aws logs describe-log-groups --region <region> --log-group-name-prefix <log-group>",)),
    KnownFailure(
        "placement-resources", "No container instance has enough CPU or memory free",
        r"unable to place a task.*insufficient (memory|cpu)",
        "(service video-api-service) was unable to place a task because no container instance met all of its "
        "requirements. The closest matching (container-instance 5dd9bf58-0e0e-4843-9101-b519cd9aaa6b) has "
        "insufficient memory available. For more information, see the Troubleshooting section of the Amazon "
        "ECS Developer Guide.",
        "No registered container instance has the CPU units or memory the task reserves free: the cluster "
        "is full, or a deployment needs room for new tasks before it stops old ones (minimumHealthyPercent "
        "100 with maximumPercent 200 needs spare capacity for a second set of tasks).",
        "Add instances (or let a capacity provider scale the Auto Scaling group), use larger instance types, "
        "lower the task's cpu/memory (`service.cpu`, `service.memory`), or lower the service's "
        "minimumHealthyPercent so ECS may stop an old task first. `shipspec doctor` compares each "
        "instance's remaining CPU and memory with what the task needs.",
        DOC_SERVICE_EVENTS, ("service event",),
        ("aws ecs list-container-instances --region <region> --cluster <cluster>", _INSTANCES),
        launch_types=("EC2",)),
    KnownFailure(
        "placement-ports", "The task's host port is taken on every container instance",
        r"unable to place a task.*already using a port",
        "(service video-api-service) was unable to place a task because no container instance met all of its "
        "requirements. The closest matching (container-instance 5dd9bf58-0e0e-4843-9101-b519cd9aaa6b) is "
        "already using a port required by your task. For more information, see the Troubleshooting section "
        "of the Amazon ECS Developer Guide.",
        "With bridge or host networking a fixed hostPort can be used by one task per instance; during a "
        "deployment the new task needs an instance where the old one is not running.",
        "Use dynamic host ports (hostPort 0) behind a load balancer, or awsvpc networking; or run more "
        "instances than tasks; or lower minimumHealthyPercent.",
        DOC_SERVICE_EVENTS, ("service event",), (_INSTANCES,), launch_types=("EC2",)),
    KnownFailure(
        "no-container-instances", "The cluster has no container instances",
        r"unable to place a task.*no container instances? (were|was) found",
        "(service video-api-service) was unable to place a task because no container instance met all of its "
        "requirements. Reason: No Container Instances were found in your cluster. For more information, see "
        "the Troubleshooting section of the Amazon ECS Developer Guide.",
        "No active instance is registered in the cluster: the Auto Scaling group is at zero, or the "
        "instances fail to join (ECS_CLUSTER in /etc/ecs/ecs.config names another cluster, no route to the "
        "ECS endpoint, no instance role).",
        "Scale the Auto Scaling group up; on an instance check `cat /etc/ecs/ecs.config` and the agent log "
        "/var/log/ecs/ecs-agent.log.",
        DOC_SERVICE_EVENTS, ("service event",),
        ("aws ecs list-container-instances --region <region> --cluster <cluster> --status ACTIVE",),
        launch_types=("EC2",)),
    KnownFailure(
        "placement-constraints", "No container instance meets the task's placement requirements",
        r"unable to place a task",
        "(service video-api-service) was unable to place a task because no container instance met all of its "
        "requirements. The closest matching (container-instance 5dd9bf58-0e0e-4843-9101-b519cd9aaa6b) is "
        "missing an attribute required by your task. For more information, see the Troubleshooting section "
        "of the Amazon ECS Developer Guide.",
        "A placement constraint or a required attribute is met by no instance: the task needs an agent "
        "capability (awsvpc, secrets, a log driver) the instances' agent does not advertise, or a memberOf "
        "constraint matches nothing.",
        "Compare the task definition's requiresAttributes with the instances' attributes; update the ECS "
        "agent or the AMI; fix the constraint.",
        DOC_SERVICE_EVENTS, ("service event",), launch_types=("EC2",)),
    KnownFailure(
        "container-health-check", "The container health check failed",
        r"failed container health checks",
        "Task failed container health checks",
        "The `healthCheck` command in the task definition failed `retries` times in a row, so ECS stopped "
        "the task. Usually the application starts slower than `startPeriod` allows, listens on another port "
        "or path than the command checks, or the command needs a tool (curl, wget) the image lacks.",
        "Run the health-check command inside the image locally; raise `startPeriod`; install the tool the "
        "command uses (small multi-stage images often lack curl).",
        f"{REPOST}/ecs-task-container-health-check-failures", ("stopped task", "service event")),
    KnownFailure(
        "elb-health-check", "The load balancer health check failed",
        r"failed elb health checks|is unhealthy in target-group",
        "Task failed ELB health checks in (target-group "
        "arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:targetgroup/video-api/0123456789abcdef)",
        "The target group's health check did not pass: wrong path or success codes, the application "
        "listens on another port, the task's security group does not admit the load balancer, or the "
        "application needs longer to start than the service's healthCheckGracePeriodSeconds.",
        "Check the target health reason; fix the path, port or security group; raise the grace period.",
        DOC_TASK_STOPPED, ("stopped task", "service event"),
        ("aws elbv2 describe-target-health --region <region> --target-group-arn <target-group-arn>",)),
    KnownFailure(
        "out-of-memory", "The container ran out of memory",
        r"OutOfMemoryError|killed due to memory usage",
        "OutOfMemoryError: Container killed due to memory usage",
        "The container used more memory than its limit (the container's `memory`, or the task's), and the "
        "kernel killed it (exit code 137).",
        "Raise `service.memory` or the container's limit, or find the leak; for JVMs keep the heap below "
        "the limit.",
        DOC_TASK_STOPPED, ("container",), (_TASK_DESCRIBE,)),
    KnownFailure(
        "container-runtime-timeout", "Docker did not start or stop the container in time",
        r"ContainerRuntimeTimeoutError|DockerTimeoutError",
        "DockerTimeoutError: Could not transition to created; timed out after waiting 4m0s",
        "The container did not reach RUNNING or STOPPED within the agent's timeout: the Docker daemon or "
        "the disk is overloaded (a huge image to extract, exhausted gp2 burst balance, a nearly full "
        "volume).",
        "Check the instance's disk and Docker daemon (`sudo docker info`, /var/log/ecs/ecs-agent.log); use "
        "smaller images and gp3 volumes.",
        DOC_STOPPED_CODES, ("stopped task", "container")),
    KnownFailure(
        "cannot-start-container", "Docker could not start the container",
        r"CannotStartContainerError",
        "CannotStartContainerError: Error response from daemon: failed to create shim task: OCI runtime create "
        "failed: runc create failed: unable to start container process: exec: \"/app/start.sh\": permission "
        "denied: unknown",
        "The container was created but its process could not start: the entrypoint or command does not "
        "exist or is not executable, or a mount or device in the task definition is wrong.",
        "Run the image locally with the task definition's command; fix the entrypoint's path and "
        "permissions (`chmod +x` in the Dockerfile).",
        f"{ECS_DOCS}/cannot-start-container.html", ("stopped task", "container")),
    KnownFailure(
        "cannot-create-container", "Docker could not create the container",
        r"CannotCreateContainerError",
        "CannotCreateContainerError: Error response from daemon: Conflict. The container name "
        "\"/ecs-video-api-7-api-e4a6c7d0b8\" is already in use by container \"9b1f0c2d7e6a\".",
        "Docker refused to create the container (other than for a full disk): a leftover container with "
        "the same name, an invalid volume or device, or a Docker daemon in trouble.",
        "Read /var/log/ecs/ecs-agent.log and `sudo docker info` on the instance; restart the agent "
        "(`sudo systemctl restart ecs`); replace the instance if Docker stays unhealthy.",
        DOC_STOPPED_CODES, ("stopped task", "container")),
    KnownFailure(
        "essential-container-exited", "The application exited",
        r"Essential container in task exited",
        "Essential container in task exited",
        "An essential container's process ended, so ECS stopped the task. Its exit code and logs say why: "
        "1 is usually an application error at start-up (missing configuration, unreachable database), 137 "
        "a kill (memory), 139 a crash.",
        "Read the container's exit code and its logs from the moment it stopped.",
        DOC_TASK_STOPPED, ("stopped task",),
        (_TASK_DESCRIBE, "aws logs tail <log-group> --region <region> --since 1h")),
    KnownFailure(
        "circuit-breaker", "The deployment circuit breaker stopped the deployment",
        r"deployment circuit breaker",
        "ECS deployment circuit breaker: tasks failed to start.",
        "New tasks kept failing to start, so ECS gave up on the deployment (and rolled back if rollback "
        "is on). The cause is in the stopped tasks' reasons: see the other findings.",
        "Fix the cause reported for the stopped tasks, then run the pipeline again.",
        f"{ECS_DOCS}/deployment-circuit-breaker.html", ("deployment", "service event")),
    KnownFailure(
        "replaced-by-deployment", "Stopped by a deployment or scale-in (expected)",
        r"Scaling activity initiated by|stopped by \(?deployment",
        "Scaling activity initiated by (deployment ecs-svc/8471924856382911357)",
        "A deployment replaced the task, or the service scaled in. Nothing is wrong.",
        "Nothing to do.", DOC_TASK_STOPPED, ("stopped task",), severity="info"),
    KnownFailure(
        "stopped-by-user", "Stopped by a person or a script (expected)",
        r"Task stopped by user",
        "Task stopped by user",
        "Someone or something called StopTask. Nothing is wrong with the deployment.",
        "Nothing to do.", DOC_TASK_STOPPED, ("stopped task",), severity="info"),
    KnownFailure(
        "infrastructure-maintenance", "Stopped for AWS maintenance (expected)",
        r"performing maintenance on the underlying infrastructure",
        "ECS is performing maintenance on the underlying infrastructure hosting the task",
        "AWS retired the host of a Fargate task; the service starts a replacement.",
        "Nothing to do.", DOC_TASK_STOPPED, ("stopped task",), severity="info"),
)

_BY_ID = {e.id: e for e in KNOWN_FAILURES}


def entry(entry_id: str) -> KnownFailure:
    return _BY_ID[entry_id]


def match_reason(text: str) -> Optional[KnownFailure]:
    """The first table entry (in precedence order) whose pattern matches `text`."""
    if not text:
        return None
    for e in KNOWN_FAILURES:
        if e.regex.search(text):
            return e
    return None


def fill(command: str, values: Mapping[str, str]) -> str:
    """Replace the <placeholders> the caller knows; others stay as placeholders."""
    for key, value in values.items():
        command = command.replace(f"<{key}>", value)
    return command


def doc_anchor(finding_id: str) -> str:
    return f"{TROUBLESHOOTING_PATH}#{finding_id}"


def embedded_table() -> list[dict[str, str]]:
    """The table as data for a program that cannot import shipspec (the generated Deploy step):
    id, title, pattern (matched case-insensitively, first match wins) and severity, in precedence
    order. Python's `re` on both sides, so the script matches exactly as `match_reason`. The fixes
    stay in docs/troubleshooting.md: CodeBuild limits an inline buildspec to 25,600 characters."""
    return [{"id": e.id, "title": e.title, "pattern": e.pattern, "severity": e.severity} for e in KNOWN_FAILURES]
