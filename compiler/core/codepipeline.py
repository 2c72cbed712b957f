"""CodePipeline's facts, and the names shipspec's pipeline gives its stages, artifacts and variables.

One home, so the spec checks, the renderers and the lint rules agree: what a pipeline variable
reference looks like, which variables each source provider outputs (the CodePipeline action
reference, "Output variables"), how long a configuration value may be, and the built-in stage
order with the namespaces and artifacts that exist after each stage.
"""

from __future__ import annotations

import re

# --- CodePipeline --------------------------------------------------------------------------------

VARIABLE_RE = re.compile(r"#\{([A-Za-z0-9@_-]+)\.([A-Za-z0-9@_.-]+)\}")  # #{Namespace.Variable}
ANY_VARIABLE_RE = re.compile(r"#\{[^}]*\}?")  # anything that tries to be one
MAX_CONFIGURATION_VALUE = 1000  # characters of one action configuration value

PIPELINE_NAMESPACE = "codepipeline"
DECLARED_NAMESPACE = "variables"  # pipeline-level variables, #{variables.NAME}
# Variables available to every action without a producing action.
PIPELINE_VARIABLES: dict[str, tuple[str, ...]] = {PIPELINE_NAMESPACE: ("PipelineExecutionId",)}

# Output variables of source actions by action provider.
SOURCE_VARIABLES: dict[str, tuple[str, ...]] = {
    "CodeStarSourceConnection": ("AuthorDate", "BranchName", "CommitId", "CommitMessage", "ConnectionArn",
                                 "FullRepositoryName"),
    "CodeCommit": ("AuthorDate", "BranchName", "CommitId", "CommitMessage", "CommitterDate", "RepositoryName"),
    "GitHub": ("AuthorDate", "BranchName", "CommitId", "CommitMessage", "CommitterDate", "CommitUrl",
               "RepositoryName"),
    "S3": ("ETag", "VersionId"),
    "ECR": ("ImageDigest", "ImageTag", "ImageURI", "RegistryId", "RepositoryName"),
}
# Providers whose variables are defined by what they run (stack outputs, function output): any name.
OPEN_PROVIDERS = ("CloudFormation", "Lambda", "StepFunctions")

# The source action provider of each spec `source.provider`.
ACTION_PROVIDERS: dict[str, str] = {"codestar": "CodeStarSourceConnection", "github-token": "GitHub",
                                    "codecommit": "CodeCommit", "s3": "S3"}


def source_outputs(provider: str) -> tuple[str, ...]:
    """The output variables of the primary source action of a spec provider."""
    return SOURCE_VARIABLES[ACTION_PROVIDERS[provider]]


# --- shipspec's pipeline -------------------------------------------------------------------------

# Approval comes before UpdateService: update_taskdefinition.sh already points the ECS service at
# the new revision (it starts the run's one rollout), so an approval after UpdateService would gate
# nothing. Deploy follows that rollout to its end.
BUILTIN_STAGES = ("Source", "Build", "Approval", "UpdateService", "Deploy")
SOURCE_NAMESPACE = "SourceVariables"  # the primary source action's namespace
BUILD_NAMESPACE = "BuildVariables"  # the Build action's namespace
IMAGE_VARIABLE = "IMAGE_URI"  # what Build exports: the pushed image
UPDATE_NAMESPACE = "UpdateVariables"  # the UpdateService action's namespace
# What UpdateService exports: the rollout it started (its service deployment ARN, "-" when ECS
# reported none; the service's deployment id), and the task-definition revision it registered.
DEPLOYMENT_VARIABLES = ("SERVICE_DEPLOYMENT_ARN", "DEPLOYMENT_ID", "TASK_DEFINITION_ARN")
PIPELINE_NAMESPACES = (PIPELINE_NAMESPACE, DECLARED_NAMESPACE, SOURCE_NAMESPACE, BUILD_NAMESPACE,
                       UPDATE_NAMESPACE)

PRIMARY_ARTIFACT = "source"  # the primary source's output
BUILD_ARTIFACT = "build"  # Build's output
UPDATE_ARTIFACT = "update"  # UpdateService's output: imagedefinitions.json and deployment.json
RESERVED_ARTIFACTS = (PRIMARY_ARTIFACT, BUILD_ARTIFACT, UPDATE_ARTIFACT)
