"""The CodeBuild projects of the built-in stages (Build, UpdateService, Deploy), their roles and log groups.

Deploy is a CodeBuild build that follows the rollout UpdateService started (render/follow_script.py),
not the ECS deploy action: that action would register a second revision and start a second rollout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...core.arns import parse_secret_ref
from ...spec import naming
from ...spec.codebuild_secrets import secret_kind
from . import cfn, iam
from .deployment_config import passed_roles
from .follow_script import DEPLOY_BUILDSPEC, deploy_buildspec
from .runtime import runtime_metadata
from .service_files import REPO_DIR, build_buildspec, build_project_environment, update_buildspec

if TYPE_CHECKING:
    from ...spec.models import ServiceConfig

BUILD_PROJECT = "BuildProject"
BUILD_ROLE = "BuildRole"
BUILD_LOGS = "BuildLogGroup"
UPDATE_PROJECT = "UpdateProject"
UPDATE_ROLE = "UpdateRole"
UPDATE_LOGS = "UpdateLogGroup"
DEPLOY_PROJECT = "DeployProject"
DEPLOY_ROLE = "DeployRole"
DEPLOY_LOGS = "DeployLogGroup"
LOG_RETENTION_DAYS = 30
UPDATE_TIMEOUT_MINUTES = 15


def project_names(c: "ServiceConfig") -> dict[str, str]:
    return {BUILD_PROJECT: naming.build_project(c), UPDATE_PROJECT: naming.update_project(c),
            DEPLOY_PROJECT: naming.deploy_project(c)}


def secret_variables(secrets: dict[str, str]) -> list[dict]:
    """A project's secret EnvironmentVariables (a stage action's `secrets`, `build.secrets`): a Secrets
    Manager secret by its ARN (SECRETS_MANAGER), an SSM parameter by its name (PARAMETER_STORE)."""
    out = []
    for name, value in sorted(secrets.items()):
        kind = secret_kind(value) or "SECRETS_MANAGER"
        ref = parse_secret_ref(value)
        out.append({"Name": name, "Type": kind, "Value": ref.name if kind == "PARAMETER_STORE" and ref else value})
    return out


def log_group(name: str, tags: list[dict]) -> dict:
    """A log group with retention, encrypted with the bootstrap key (its key policy lets CloudWatch
    Logs use it for this account's log groups). Deleted with the stack: it is named, so a retained
    copy would block creating the stack again."""
    return {
        "Type": "AWS::Logs::LogGroup",
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {"LogGroupName": name, "RetentionInDays": LOG_RETENTION_DAYS,
                       "KmsKeyId": iam.artifact_key_arn(), "Tags": tags},
    }


def _project(name: str, description: str, role_id: str, logs_id: str, buildspec: str, privileged: bool,
             env: list[dict], c: "ServiceConfig", timeout: int) -> dict:
    environment: dict = {
        "Type": "LINUX_CONTAINER",
        "ComputeType": c.build.compute_type,
        "Image": c.build.image,
        "ImagePullCredentialsType": "CODEBUILD",
        "PrivilegedMode": privileged,
    }
    if env:
        environment["EnvironmentVariables"] = env
    return {
        "Type": "AWS::CodeBuild::Project",
        "Properties": {
            "Name": name,
            "Description": description,
            "ServiceRole": cfn.getatt(role_id, "Arn"),
            "Artifacts": {"Type": "CODEPIPELINE"},
            "Source": {"Type": "CODEPIPELINE", "BuildSpec": buildspec},
            "Environment": environment,
            "EncryptionKey": iam.artifact_key_arn(),
            "TimeoutInMinutes": timeout,
            "LogsConfig": {"CloudWatchLogs": {"Status": "ENABLED", "GroupName": cfn.ref(logs_id)}},
            "Tags": iam.resource_tags(c),
        },
    }


def _build_statements(c: "ServiceConfig", repository_id: str | None) -> list[dict]:
    return [
        iam.logs_statement(BUILD_LOGS),
        *iam.artifact_statements(),
        # ecr:GetAuthorizationToken has no resource-level permissions: AWS accepts only "*".
        cfn.allow(["ecr:GetAuthorizationToken"], "*", sid="EcrLogin"),
        cfn.allow(["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
                   "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart"],
                  iam.ecr_repository_arn(c, repository_id), sid="EcrPush"),
        # the build reports the pushed image's size (build.max_image_mb)
        cfn.allow(["ecr:DescribeImages"], iam.ecr_repository_arn(c, repository_id), sid="EcrImageSize"),
        *iam.secret_read_statements(c.build.secrets.values()),  # build.secrets, and nothing else
    ]


def _update_statements(c: "ServiceConfig") -> list[dict]:
    return [
        iam.logs_statement(UPDATE_LOGS),
        *iam.artifact_statements(),
        cfn.allow(["ecs:DescribeServices", "ecs:UpdateService"], iam.ecs_service_arn(c), sid="EcsService"),
        # DescribeTaskDefinition has no resource-level permissions and the task definition family is
        # not in the spec (the script reads it from the service), so both need Resource "*".
        cfn.allow(["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"], "*", sid="EcsTaskDefinitions"),
        # describe-task-definition --include TAGS reads tags; register-task-definition --tags writes them
        cfn.allow(["ecs:ListTagsForResource", "ecs:TagResource"], cfn.arn("ecs", "task-definition/*"),
                  sid="EcsTagTaskDefinitions"),
        iam.pass_task_roles_statement(),
        *_pass_ecs_roles(c),
    ]


def _pass_ecs_roles(c: "ServiceConfig") -> list[dict]:
    """The infrastructure and hook roles update-service hands to ECS (traffic-shifting strategies)."""
    roles = passed_roles(c)
    if not roles:
        return []
    return [cfn.allow(["iam:PassRole"], roles, sid="PassDeploymentRoles",
                      condition={"StringEquals": {"iam:PassedToService": "ecs.amazonaws.com"}})]


def _deploy_statements(c: "ServiceConfig") -> list[dict]:
    """What follow_deployment.sh reads: its deployment, the revisions, the service, stopped tasks."""
    cluster, service = c.service.cluster, c.ecs_service_name
    return [
        iam.logs_statement(DEPLOY_LOGS),
        *iam.artifact_statements(write=False),
        cfn.allow(["ecs:DescribeServiceDeployments"], cfn.arn("ecs", f"service-deployment/{cluster}/{service}/*"),
                  sid="EcsServiceDeployments"),
        cfn.allow(["ecs:DescribeServiceRevisions"],
                  cfn.arn("ecs", f"service-revision/{cluster}/{service}/*"), sid="EcsServiceRevisions"),
        cfn.allow(["ecs:DescribeServices"], iam.ecs_service_arn(c), sid="EcsService"),
        # ListTasks is authorised against container instances, which a Fargate service has none of;
        # Resource "*" narrowed to this cluster by the ecs:cluster condition key.
        cfn.allow(["ecs:ListTasks"], "*", sid="EcsListTasks",
                  condition={"ArnEquals": {"ecs:cluster": iam.ecs_cluster_arn(c)}}),
        cfn.allow(["ecs:DescribeTasks"], cfn.arn("ecs", f"task/{cluster}/*"), sid="EcsTasks"),
    ]


def render_projects(c: "ServiceConfig", repository_id: str | None) -> dict[str, dict]:
    """Resources of both projects; `repository_id` is the managed ECR repository's logical id, if any."""
    names = project_names(c)
    tags = iam.resource_tags(c)
    inline = c.build.buildspec == "inline"
    build_env = sorted([{"Name": k, "Type": "PLAINTEXT", "Value": v} for k, v in build_project_environment(c).items()]
                       + secret_variables(c.build.secrets), key=lambda v: v["Name"])
    out: dict[str, dict] = {}
    out[BUILD_LOGS] = log_group(f"/aws/codebuild/{names[BUILD_PROJECT]}", tags)
    out[BUILD_ROLE] = iam.role("codebuild.amazonaws.com", "build", _build_statements(c, repository_id), tags,
                               f"CodeBuild {names[BUILD_PROJECT]}: build and push the image",
                               name=naming.role_name(c, "build"))
    out[BUILD_PROJECT] = _project(
        names[BUILD_PROJECT], f"Builds and pushes the {c.name} image ({c.environment.name})", BUILD_ROLE, BUILD_LOGS,
        build_buildspec(c) if inline else f"{REPO_DIR}/buildspec.yml", True, build_env, c, c.build.timeout_minutes)
    out[UPDATE_LOGS] = log_group(f"/aws/codebuild/{names[UPDATE_PROJECT]}", tags)
    out[UPDATE_ROLE] = iam.role("codebuild.amazonaws.com", "update", _update_statements(c), tags,
                                f"CodeBuild {names[UPDATE_PROJECT]}: new task definition revision for the service",
                                iam.pass_role_suppression(), name=naming.role_name(c, "update"))
    update = _project(
        names[UPDATE_PROJECT], f"Registers the {c.name} task definition revision and starts the rollout "
        f"({c.environment.name})", UPDATE_ROLE,
        UPDATE_LOGS, update_buildspec(c) if inline else f"{REPO_DIR}/updatespec.yml", False, [], c,
        UPDATE_TIMEOUT_MINUTES)
    # what the update does to the running container, for plans to compare (render/runtime.py)
    out[UPDATE_PROJECT] = {"Type": update["Type"], "Metadata": runtime_metadata(c), "Properties": update["Properties"]}
    out[DEPLOY_LOGS] = log_group(f"/aws/codebuild/{names[DEPLOY_PROJECT]}", tags)
    out[DEPLOY_ROLE] = iam.role("codebuild.amazonaws.com", "deploy", _deploy_statements(c), tags,
                                f"CodeBuild {names[DEPLOY_PROJECT]}: follow the rollout of the service")
    out[DEPLOY_PROJECT] = _project(
        names[DEPLOY_PROJECT], f"Follows the {c.name} rollout to its end ({c.environment.name})", DEPLOY_ROLE,
        DEPLOY_LOGS, deploy_buildspec(c) if inline else f"{REPO_DIR}/{DEPLOY_BUILDSPEC}", False, [], c,
        c.deploy.timeout_minutes)
    return out
