"""The Source stage: one action per source, and exactly one thing that starts the pipeline.

The primary source starts the pipeline; additional sources never do (their latest revision is
still fetched on every run). Per primary provider the single trigger is:

- codestar: DetectChanges on the primary action, or - with trigger_paths - a V2 `Triggers`
  entry with push filters (then DetectChanges is false: AWS turns default change detection off
  for filtered push triggers and documents DetectChanges false for them);
- github-token: one `AWS::CodePipeline::Webhook`; every GitHub action has PollForSourceChanges false.
  The webhook's HMAC secret is its own: an `AWS::SecretsManager::Secret` the stack generates
  (`GenerateSecretString`) and references dynamically, never the OAuth token (AWS: a unique secret
  per webhook, never reused credentials);
- codecommit: one EventBridge rule on the repository branch;
- s3: one EventBridge rule on the object ("Object Created" events, which S3 sends to EventBridge
  only when the bucket has EventBridge notifications turned on). Polling was the alternative;
  AWS recommends event-based change detection instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Union

from ...core.codepipeline import PRIMARY_ARTIFACT, SOURCE_NAMESPACE
from ...spec import naming
from . import cfn, iam

if TYPE_CHECKING:
    from ...spec.models import AdditionalSource, ServiceConfig, Source, TokenSecret

PRIMARY_ACTION = "Source"
WEBHOOK = "SourceWebhook"
WEBHOOK_SECRET = "SourceWebhookSecret"
WEBHOOK_SECRET_PREFIX = "shipspec/webhook/"  # the CI deploy role may manage secrets under this name only
WEBHOOK_SECRET_KEY = "token"
EVENT_RULE = "SourceEventRule"
EVENT_ROLE = "SourceEventRole"

AnySource = Union["Source", "AdditionalSource"]


@dataclass(frozen=True)
class SourceStage:
    """What the Source stage adds to the pipeline stack."""

    actions: tuple[dict, ...]
    artifacts: tuple[str, ...]  # output artifact names, primary first
    triggers: tuple[dict, ...]  # V2 pipeline Triggers entries
    resources: tuple[tuple[str, dict], ...]  # (logical id, resource) outside the pipeline
    statements: tuple[dict, ...]  # what the pipeline role needs to fetch the sources


def secret_reference(secret: "TokenSecret") -> str:
    """CloudFormation dynamic reference: resolved at deploy time, never stored in the template."""
    return f"{{{{resolve:secretsmanager:{secret.id}:SecretString:{secret.key}}}}}"


def _connection(src: AnySource, primary: "Source") -> Optional[str]:
    return src.connection_arn or primary.connection_arn


def _token(src: AnySource, primary: "Source") -> "TokenSecret":
    token = src.token_secret or primary.token_secret
    if token is None:  # validation rejects this earlier; keep the renderer total
        raise ValueError("github-token source without token_secret")
    return token


def _s3_location(repository: str) -> tuple[str, str]:
    bucket, _, key = repository.partition("/")
    return bucket, key


def _action(src: AnySource, primary: "Source", name: str, artifact: str, is_primary: bool, detect: bool) -> dict:
    """One source action. `detect` is this action's own change detection (only ever the primary's)."""
    p = src.provider
    if p == "codestar":
        type_id = {"Category": "Source", "Owner": "AWS", "Provider": "CodeStarSourceConnection", "Version": "1"}
        config: dict = {
            "ConnectionArn": _connection(src, primary),
            "FullRepositoryId": src.repository,
            "BranchName": src.branch,
            "OutputArtifactFormat": "CODE_ZIP",
            "DetectChanges": detect,
        }
    elif p == "github-token":
        owner, _, repo = src.repository.partition("/")
        type_id = {"Category": "Source", "Owner": "ThirdParty", "Provider": "GitHub", "Version": "1"}
        config = {"Owner": owner, "Repo": repo, "Branch": src.branch,
                  "OAuthToken": secret_reference(_token(src, primary)), "PollForSourceChanges": False}
    elif p == "codecommit":
        type_id = {"Category": "Source", "Owner": "AWS", "Provider": "CodeCommit", "Version": "1"}
        config = {"RepositoryName": src.repository, "BranchName": src.branch,
                  "OutputArtifactFormat": "CODE_ZIP", "PollForSourceChanges": False}
    else:  # s3
        bucket, key = _s3_location(src.repository)
        type_id = {"Category": "Source", "Owner": "AWS", "Provider": "S3", "Version": "1"}
        config = {"S3Bucket": bucket, "S3ObjectKey": key, "PollForSourceChanges": False}
    action: dict = {"Name": name, "ActionTypeId": type_id, "Configuration": config,
                    "OutputArtifacts": [{"Name": artifact}], "RunOrder": 1}
    if is_primary:
        action["Namespace"] = SOURCE_NAMESPACE
    return action


def _event_rule(c: "ServiceConfig", pipeline_id: str, pattern: dict) -> list[tuple[str, dict]]:
    tags = iam.resource_tags(c)
    rule = {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Description": f"Starts pipeline {naming.pipeline_name(c)} when its primary source changes",
            "EventPattern": pattern,
            "State": "ENABLED",
            "Targets": [{"Id": "pipeline", "Arn": iam.pipeline_arn(pipeline_id), "RoleArn": cfn.getatt(EVENT_ROLE, "Arn")}],
            "Tags": tags,
        },
    }
    role = iam.role("events.amazonaws.com", "start-pipeline", [iam.start_pipeline_statement(pipeline_id)], tags,
                    "EventBridge: start this pipeline only")
    return [(EVENT_ROLE, role), (EVENT_RULE, rule)]


def _webhook_secret(c: "ServiceConfig") -> dict:
    """The webhook's own HMAC secret, generated by Secrets Manager when the stack creates it. Its name
    carries the stack's id, so a stack created again after `retire` (which keeps it) gets a new one."""
    stack_id = {"Fn::Select": [2, {"Fn::Split": ["/", cfn.ref("AWS::StackId")]}]}
    return {
        "Type": "AWS::SecretsManager::Secret",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "Name": {"Fn::Sub": [f"{WEBHOOK_SECRET_PREFIX}{c.name}-{c.environment.name}-${{StackId}}",
                                 {"StackId": stack_id}]},
            "Description": f"HMAC secret of the GitHub webhook of pipeline {c.name}-{c.environment.name} "
                           "(generated; never the OAuth token)",
            "GenerateSecretString": {"SecretStringTemplate": "{}", "GenerateStringKey": WEBHOOK_SECRET_KEY,
                                     "PasswordLength": 40, "ExcludePunctuation": True},
            "KmsKeyId": iam.artifact_key_arn(),
            "Tags": iam.resource_tags(c),
        },
    }


def _primary_trigger(c: "ServiceConfig", pipeline_id: str) -> tuple[list[dict], list[tuple[str, dict]]]:
    """(V2 Triggers entries, extra resources) for the primary source's single trigger."""
    src = c.source
    if src.provider == "codestar":
        if not src.trigger_paths:
            return [], []  # DetectChanges on the primary action is the trigger
        return [{
            "ProviderType": "CodeStarSourceConnection",
            "GitConfiguration": {
                "SourceActionName": PRIMARY_ACTION,
                "Push": [{"Branches": {"Includes": [src.branch]}, "FilePaths": {"Includes": list(src.trigger_paths)}}],
            },
        }], []
    if src.provider == "github-token":
        _token(src, src)  # validation requires it; keep the renderer total
        webhook = {
            "Type": "AWS::CodePipeline::Webhook",
            "Properties": {
                "Authentication": "GITHUB_HMAC",
                "AuthenticationConfiguration": {"SecretToken": cfn.sub(
                    f"{{{{resolve:secretsmanager:${{{WEBHOOK_SECRET}}}:SecretString:{WEBHOOK_SECRET_KEY}}}}}")},
                "Filters": [{"JsonPath": "$.ref", "MatchEquals": f"refs/heads/{src.branch}"}],
                "TargetPipeline": cfn.ref(pipeline_id),
                "TargetPipelineVersion": cfn.getatt(pipeline_id, "Version"),
                "TargetAction": PRIMARY_ACTION,
                "RegisterWithThirdParty": True,
                "Tags": iam.resource_tags(c),
            },
        }
        return [], [(WEBHOOK_SECRET, _webhook_secret(c)), (WEBHOOK, webhook)]
    if src.provider == "codecommit":
        pattern = {
            "source": ["aws.codecommit"],
            "detail-type": ["CodeCommit Repository State Change"],
            "resources": [cfn.arn("codecommit", src.repository)],
            "detail": {"event": ["referenceCreated", "referenceUpdated"], "referenceType": ["branch"],
                       "referenceName": [src.branch]},
        }
        return [], _event_rule(c, pipeline_id, pattern)
    bucket, key = _s3_location(src.repository)
    pattern = {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [bucket]}, "object": {"key": [key]}},
    }
    return [], _event_rule(c, pipeline_id, pattern)


def _statements(c: "ServiceConfig") -> list[dict]:
    sources: list[AnySource] = [c.source, *c.source.additional]
    out: list[dict] = []
    connections = sorted({_connection(s, c.source) for s in sources if s.provider == "codestar"} - {None})
    if connections:
        out += iam.connection_statements(connections)  # type: ignore[arg-type]
    repos = sorted({s.repository for s in sources if s.provider == "codecommit"})
    if repos:
        out.append(cfn.allow(
            ["codecommit:CancelUploadArchive", "codecommit:GetBranch", "codecommit:GetCommit",
             "codecommit:GetRepository", "codecommit:GetUploadArchiveStatus", "codecommit:UploadArchive"],
            [cfn.arn("codecommit", r) for r in repos], sid="CodeCommitSources"))
    objects = sorted({_s3_location(s.repository) for s in sources if s.provider == "s3"})
    if objects:
        out.append(cfn.allow(["s3:GetObject", "s3:GetObjectVersion"],
                             [cfn.sub(f"arn:${{AWS::Partition}}:s3:::{b}/{k}") for b, k in objects], sid="S3SourceObjects"))
        out.append(cfn.allow(["s3:GetBucketLocation", "s3:GetBucketVersioning"],
                             [cfn.sub(f"arn:${{AWS::Partition}}:s3:::{b}") for b in sorted({b for b, _ in objects})],
                             sid="S3SourceBuckets"))
    return out


def source_stage(c: "ServiceConfig", pipeline_id: str) -> SourceStage:
    triggers, resources = _primary_trigger(c, pipeline_id)
    primary_detects = c.source.provider == "codestar" and not triggers
    actions = [_action(c.source, c.source, PRIMARY_ACTION, PRIMARY_ARTIFACT, True, primary_detects)]
    for add in c.source.additional:
        actions.append(_action(add, c.source, add.name, add.name, False, False))
    return SourceStage(
        actions=tuple(actions),
        artifacts=(PRIMARY_ARTIFACT, *(a.name for a in c.source.additional)),
        triggers=tuple(triggers),
        resources=tuple(resources),
        statements=tuple(_statements(c)),
    )
