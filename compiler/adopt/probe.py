"""Whether a named resource exists outside the stacks being taken over (a log group CodeBuild made by
itself, a role created by hand): one read per type, clients from the session passed in. Only the
types shipspec's templates name are probed; anything else counts as absent."""

from __future__ import annotations

from typing import Callable

from botocore.exceptions import ClientError


def _missing(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    return code in ("NoSuchEntity", "RepositoryNotFoundException", "PipelineNotFoundException",
                    "ResourceNotFoundException", "NotFoundException", "ValidationException")


def _log_group(session, name: str) -> bool:
    groups = session.client("logs").describe_log_groups(logGroupNamePrefix=name).get("logGroups", [])
    return any(g.get("logGroupName") == name for g in groups)


def _role(session, name: str) -> bool:
    session.client("iam").get_role(RoleName=name)
    return True


def _repository(session, name: str) -> bool:
    session.client("ecr").describe_repositories(repositoryNames=[name])
    return True


def _pipeline(session, name: str) -> bool:
    session.client("codepipeline").get_pipeline(name=name)
    return True


def _project(session, name: str) -> bool:
    return bool(session.client("codebuild").batch_get_projects(names=[name]).get("projects"))


def _function(session, name: str) -> bool:
    session.client("lambda").get_function(FunctionName=name)
    return True


PROBES: dict[str, Callable] = {
    "AWS::Logs::LogGroup": _log_group, "AWS::IAM::Role": _role, "AWS::ECR::Repository": _repository,
    "AWS::CodePipeline::Pipeline": _pipeline, "AWS::CodeBuild::Project": _project,
    "AWS::Lambda::Function": _function,
}


def exists(session, resource_type: str, name: str) -> bool:
    probe = PROBES.get(resource_type)
    if probe is None:
        return False
    try:
        return probe(session, name)
    except ClientError as exc:
        if _missing(exc):
            return False
        raise
