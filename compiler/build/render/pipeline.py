"""The pipeline stack `<name>-<env>-pipeline`: Source -> Build -> [Approval] -> UpdateService -> Deploy,
with the spec's own stages inserted where they say (render/stages.py).

UpdateService registers the revision and starts the run's one rollout (exporting its identity as
#{UpdateVariables.*}); Deploy is a CodeBuild action that follows exactly that rollout.

Pure: `render_pipeline(c)` returns the template as insertion-ordered dicts; the caller dumps it
with `cfn.render_template`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ...core.codepipeline import (
    BUILD_ARTIFACT,
    BUILD_NAMESPACE,
    DEPLOYMENT_VARIABLES,
    IMAGE_VARIABLE,
    PRIMARY_ARTIFACT,
    UPDATE_ARTIFACT,
    UPDATE_NAMESPACE,
)
from ...spec import naming
from ...spec.stage_plan import source_revision_variable
from . import cfn, codebuild, iam, sources
from . import stages as custom_stages
from .agent_config import agent_config_resources

if TYPE_CHECKING:
    from ...spec.models import ServiceConfig

PIPELINE = "Pipeline"
PIPELINE_ROLE = "PipelineRole"
REPOSITORY = "Repository"
# SUPERSEDED rather than QUEUED: each stage still runs one execution at a time, but a newer
# commit overtakes an older execution waiting between stages, so the service is never taken
# through a deploy of an image that is already out of date, and an approver approves the newest
# build instead of working through a queue of stale ones.
EXECUTION_MODE = "SUPERSEDED"


DESCRIPTION_LIMIT = 1024  # CloudFormation's limit on a template Description


def stack_description(c: "ServiceConfig", summary: str) -> str:
    """`summary`, then the spec's description, within CloudFormation's limit."""
    text = f"{summary}. {c.description.strip()}" if c.description.strip() else summary
    text = " ".join(text.split())
    return text if len(text) <= DESCRIPTION_LIMIT else text[:DESCRIPTION_LIMIT - 3] + "..."


def _repository(c: "ServiceConfig") -> dict:
    lifecycle = {"rules": [{
        "rulePriority": 1,
        "description": f"Keep the {c.build.keep_images} most recent images",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": c.build.keep_images},
        "action": {"type": "expire"},
    }]}
    return {
        "Type": "AWS::ECR::Repository",
        # Images are data other stacks and running tasks depend on: never delete them with the stack.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Metadata": cfn.checkov_skips({
            "CKV_AWS_51": "Tags are commit ids; a re-run of the same commit pushes the same tag again, "
                          "which immutable tags would reject.",
        }),
        "Properties": {
            "RepositoryName": c.build.ecr_repository,
            "ImageTagMutability": "MUTABLE",
            "ImageScanningConfiguration": {"ScanOnPush": True},
            # KMS with the AWS managed aws/ecr key: tasks pulling the image need no key permissions.
            "EncryptionConfiguration": {"EncryptionType": "KMS"},
            "LifecyclePolicy": {"LifecyclePolicyText": json.dumps(lifecycle, separators=(",", ":"))},
            "Tags": iam.resource_tags(c),
        },
    }


def _pipeline_role(c: "ServiceConfig", source_statements: tuple[dict, ...]) -> dict:
    statements = [
        *iam.artifact_statements(),
        *source_statements,
        cfn.allow(["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
                  [cfn.getatt(p, "Arn") for p in (codebuild.BUILD_PROJECT, codebuild.UPDATE_PROJECT,
                                                  codebuild.DEPLOY_PROJECT, *custom_stages.project_ids(c))],
                  sid="RunProjects"),
    ]
    return iam.role("codepipeline.amazonaws.com", "pipeline", statements, iam.resource_tags(c),
                    f"CodePipeline {naming.pipeline_name(c)}", name=naming.role_name(c, "pipeline"))


def _codebuild_action(name: str, project_id: str, inputs: list[str], output: str | None,
                      namespace: str | None = None, environment_variables: str | None = None) -> dict:
    config: dict = {"ProjectName": cfn.ref(project_id)}
    if len(inputs) > 1:
        config["PrimarySource"] = inputs[0]
    if environment_variables is not None:
        config["EnvironmentVariables"] = environment_variables
    action: dict = {
        "Name": name,
        "ActionTypeId": {"Category": "Build", "Owner": "AWS", "Provider": "CodeBuild", "Version": "1"},
        "Configuration": config,
        "InputArtifacts": [{"Name": i} for i in inputs],
        **({"OutputArtifacts": [{"Name": output}]} if output else {}),
        "RunOrder": 1,
    }
    if namespace:
        action["Namespace"] = namespace
    return action


def _stages(c: "ServiceConfig", src: sources.SourceStage) -> list[dict]:
    image_env = cfn.compact_json([{"name": IMAGE_VARIABLE, "value": f"#{{{BUILD_NAMESPACE}.{IMAGE_VARIABLE}}}",
                                   "type": "PLAINTEXT"}])
    deployment_env = cfn.compact_json([{"name": v, "value": f"#{{{UPDATE_NAMESPACE}.{v}}}", "type": "PLAINTEXT"}
                                       for v in DEPLOYMENT_VARIABLES])
    approval = {"Name": "Approval", "Actions": [{
        "Name": "Approval",
        "ActionTypeId": {"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"},
        "Configuration": {"CustomData": f"Deploy {c.name} to {c.environment.name} "
                                        f"(cluster {c.service.cluster}, service {c.ecs_service_name})?"},
        "RunOrder": 1,
    }]}
    # CODEBUILD_RESOLVED_SOURCE_VERSION may be unset for builds CodePipeline starts (AWS): the build
    # tags the image with the source variable instead (service_files.build_buildspec).
    revision, expression = source_revision_variable(c)
    source_env = cfn.compact_json([{"name": revision, "value": expression, "type": "PLAINTEXT"}])
    stages = [
        {"Name": "Source", "Actions": list(src.actions)},
        # Additional sources are secondary inputs of the build (CODEBUILD_SRC_DIR_<name>).
        {"Name": "Build", "Actions": [_codebuild_action("Build", codebuild.BUILD_PROJECT, list(src.artifacts),
                                                        BUILD_ARTIFACT, namespace=BUILD_NAMESPACE,
                                                        environment_variables=source_env)]},
        *([approval] if c.deploy.approval else []),
        # The run's one rollout: a new revision and one update-service call (its identity exported).
        {"Name": "UpdateService", "Actions": [_codebuild_action(
            "UpdateService", codebuild.UPDATE_PROJECT, [PRIMARY_ARTIFACT], UPDATE_ARTIFACT,
            namespace=UPDATE_NAMESPACE, environment_variables=image_env)]},
        # Follows exactly that rollout; fails unless it succeeded (a rollback fails the run).
        {"Name": "Deploy", "Actions": [_codebuild_action(
            "Deploy", codebuild.DEPLOY_PROJECT, [PRIMARY_ARTIFACT], None,
            environment_variables=deployment_env)]},
    ]
    return custom_stages.insert_stages(c, stages)  # the spec's own stages, after the stage each names


def _pipeline(c: "ServiceConfig", src: sources.SourceStage) -> dict:
    props: dict = {
        "Name": naming.pipeline_name(c),
        "PipelineType": "V2",
        "ExecutionMode": EXECUTION_MODE,
        "RoleArn": cfn.getatt(PIPELINE_ROLE, "Arn"),
        "ArtifactStore": {
            "Type": "S3",
            "Location": iam.artifact_bucket(),
            "EncryptionKey": {"Type": "KMS", "Id": iam.artifact_key_arn()},
        },
        "Stages": _stages(c, src),
    }
    if src.triggers:
        props["Triggers"] = list(src.triggers)
    props["Tags"] = iam.resource_tags(c)
    return {"Type": "AWS::CodePipeline::Pipeline", "Properties": props}


def render_pipeline(c: "ServiceConfig") -> dict:
    repository_id = REPOSITORY if c.build.manage_repository else None
    src = sources.source_stage(c, PIPELINE)
    resources: dict[str, dict] = {}
    if repository_id:
        resources[REPOSITORY] = _repository(c)
    resources.update(codebuild.render_projects(c, repository_id))
    resources.update(custom_stages.render_resources(c))
    resources.update(agent_config_resources(c))  # EC2 launch type only: ECS agent clean-up settings
    resources[PIPELINE_ROLE] = _pipeline_role(c, src.statements)
    resources[PIPELINE] = _pipeline(c, src)
    for rid, res in src.resources:
        resources[rid] = res
    outputs: dict = {
        "PipelineName": {"Description": "CodePipeline pipeline name", "Value": cfn.ref(PIPELINE)},
        "BuildProjectName": {"Description": "CodeBuild project that builds the image",
                             "Value": cfn.ref(codebuild.BUILD_PROJECT)},
        "UpdateProjectName": {"Description": "CodeBuild project that registers the revision and starts the rollout",
                              "Value": cfn.ref(codebuild.UPDATE_PROJECT)},
        "DeployProjectName": {"Description": "CodeBuild project that follows the rollout",
                              "Value": cfn.ref(codebuild.DEPLOY_PROJECT)},
    }
    if repository_id:
        outputs["RepositoryUri"] = {"Description": "ECR repository URI",
                                    "Value": cfn.getatt(REPOSITORY, "RepositoryUri")}
    stages = " -> ".join(custom_stages.stage_order(c))
    return cfn.template(stack_description(c, f"shipspec pipeline for {c.name} ({c.environment.name}): {stages} to "
                                              f"ECS service {c.service.cluster}/{c.ecs_service_name}"),
                        resources, outputs)
