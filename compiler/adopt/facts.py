"""What a pipeline template says, as comparable facts: its sources and branch, the build and update
projects (compute type, image, buildspec, timeout), the ECS deploy target and timeout, approvals and
stage order. Read from a hand-written template and from shipspec's own generated one alike, so an
import can be checked against the original semantically (tests/adopt/).

Every fact keeps the template path it was read from (`At`), for the import report's file:line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .resolve import Context, ResourceRef, Unknown, evaluate
from .tsource import Template

PIPELINE_TYPE = "AWS::CodePipeline::Pipeline"
PROJECT_TYPE = "AWS::CodeBuild::Project"
WEBHOOK_TYPE = "AWS::CodePipeline::Webhook"


@dataclass(frozen=True)
class At:
    """A value and the template path it was read from (the path may be () when implied)."""

    value: Any
    path: tuple = ()


@dataclass(frozen=True)
class SourceFact:
    action: str
    provider: str  # codestar | github-token | codecommit | s3 | <Owner/Provider> when unknown
    repository: At
    branch: At
    artifact: str
    detects: bool  # its own change detection starts the pipeline (polling, DetectChanges)
    path: tuple
    connection: At | None = None
    token: At | None = None  # OAuthToken as written (a dynamic reference, a parameter...)


@dataclass(frozen=True)
class ProjectFact:
    logical_id: str
    action: str
    stage: str
    name: At
    compute: At
    image: At
    buildspec: At  # a path in the repository, or an inline buildspec
    timeout: At  # minutes; CodeBuild's default is 60
    env: tuple  # (name, type, value, path)
    role: At
    path: tuple


@dataclass(frozen=True)
class DeployFact:
    cluster: At
    service: At
    timeout: At  # minutes (CodePipeline's default is 60)
    file_name: At
    path: tuple


@dataclass(frozen=True)
class OtherAction:
    stage: str
    action: str
    kind: str  # Category/Owner/Provider
    path: tuple
    project: ProjectFact | None = None


@dataclass(frozen=True)
class PipelineFacts:
    logical_id: str
    name: At
    role: At
    stage_order: tuple[str, ...]  # Source, Build, Approval, UpdateService, Deploy, or the stage's own name
    sources: tuple[SourceFact, ...]  # the primary first
    build: ProjectFact | None
    update: ProjectFact | None
    deploy: DeployFact | None
    approvals: tuple[At, ...]  # (stage/action name) of manual approvals
    others: tuple[OtherAction, ...]
    webhooks: int
    triggers: tuple  # V2 pipeline Triggers
    tags: At
    pipeline_type: str = "V1"
    execution_mode: str = "SUPERSEDED"
    artifact_store: Any = None
    webhook_secrets: tuple = ()  # SecretToken of each webhook, as written
    roles: tuple = ()  # (what, role) of the pipeline, Build and UpdateService: a role name or "(logical id)"


def _type(action: dict) -> tuple[str, str, str]:
    t = action.get("ActionTypeId") if isinstance(action.get("ActionTypeId"), dict) else {}
    return str(t.get("Category", "")), str(t.get("Owner", "")), str(t.get("Provider", ""))


def _names(items: Any, ctx: Context) -> list[str]:
    return [str(evaluate(i.get("Name"), ctx)) for i in items or () if isinstance(i, dict)]


def _truthy(value: Any, default: bool) -> bool:
    if value is None:
        return default
    return str(value).lower() == "true"


def _source(action: dict, path: tuple, ctx: Context, artifact: str) -> SourceFact:
    _, owner, provider = _type(action)
    config = action.get("Configuration") if isinstance(action.get("Configuration"), dict) else {}
    c = {k: evaluate(v, ctx) for k, v in config.items()}
    cp = path + ("Configuration",)
    name = str(evaluate(action.get("Name"), ctx))
    if provider == "CodeStarSourceConnection":
        return SourceFact(name, "codestar", At(c.get("FullRepositoryId"), cp + ("FullRepositoryId",)),
                          At(c.get("BranchName"), cp + ("BranchName",)), artifact,
                          _truthy(c.get("DetectChanges"), True), path,
                          connection=At(c.get("ConnectionArn"), cp + ("ConnectionArn",)))
    if provider == "GitHub" and owner == "ThirdParty":
        repo = f"{c.get('Owner')}/{c.get('Repo')}" if not any(isinstance(c.get(k), Unknown) for k in ("Owner", "Repo")) \
            else Unknown("the repository")
        return SourceFact(name, "github-token", At(repo, cp + ("Repo",)), At(c.get("Branch"), cp + ("Branch",)),
                          artifact, _truthy(c.get("PollForSourceChanges"), True), path,
                          token=At(c.get("OAuthToken"), cp + ("OAuthToken",)))
    if provider == "CodeCommit":
        return SourceFact(name, "codecommit", At(c.get("RepositoryName"), cp + ("RepositoryName",)),
                          At(c.get("BranchName"), cp + ("BranchName",)), artifact,
                          _truthy(c.get("PollForSourceChanges"), True), path)
    if provider == "S3":
        return SourceFact(name, "s3", At(f"{c.get('S3Bucket')}/{c.get('S3ObjectKey')}", cp + ("S3Bucket",)),
                          At(None), artifact, _truthy(c.get("PollForSourceChanges"), True), path)
    return SourceFact(name, f"{owner}/{provider}", At(None, path), At(None, path), artifact, True, path)


def _project(template: Template, ctx: Context, ref: Any, action: str, stage: str, path: tuple) -> ProjectFact | None:
    if not isinstance(ref, ResourceRef) or ref.attribute:
        return None
    res = template.resources.get(ref.logical_id)
    if not isinstance(res, dict) or res.get("Type") != PROJECT_TYPE:
        return None
    rp = ("Resources", ref.logical_id, "Properties")
    props = res.get("Properties") if isinstance(res.get("Properties"), dict) else {}
    env = props.get("Environment") if isinstance(props.get("Environment"), dict) else {}
    src = props.get("Source") if isinstance(props.get("Source"), dict) else {}
    variables = []
    for i, v in enumerate(env.get("EnvironmentVariables") or ()):
        if isinstance(v, dict):
            variables.append((str(evaluate(v.get("Name"), ctx)), str(evaluate(v.get("Type", "PLAINTEXT"), ctx)),
                              evaluate(v.get("Value"), ctx), rp + ("Environment", "EnvironmentVariables", i)))
    return ProjectFact(
        ref.logical_id, action, stage,
        At(evaluate(props.get("Name"), ctx), rp + ("Name",)),
        At(evaluate(env.get("ComputeType"), ctx), rp + ("Environment", "ComputeType")),
        At(evaluate(env.get("Image"), ctx), rp + ("Environment", "Image")),
        At(evaluate(src.get("BuildSpec"), ctx), rp + ("Source", "BuildSpec")),
        At(evaluate(props.get("TimeoutInMinutes", 60), ctx), rp + ("TimeoutInMinutes",)),
        tuple(variables),
        At(evaluate(props.get("ServiceRole"), ctx), rp + ("ServiceRole",)),
        rp)


def pipeline_resource(template: Template) -> list[str]:
    return [lid for lid, r in template.resources.items() if isinstance(r, dict) and r.get("Type") == PIPELINE_TYPE]


def read_facts(template: Template, ctx: Context, logical_id: str) -> PipelineFacts:
    """The facts of the pipeline `logical_id` of `template`, its values evaluated in `ctx`."""
    res = template.resources[logical_id]
    pp = ("Resources", logical_id, "Properties")
    props = res.get("Properties") if isinstance(res.get("Properties"), dict) else {}
    stages = props.get("Stages") if isinstance(props.get("Stages"), list) else []
    sources: list[SourceFact] = []
    codebuild: list[tuple[dict, tuple, str, str]] = []
    deploy = None
    approvals = []
    others = []
    order = []
    for si, stage in enumerate(stages):
        if not isinstance(stage, dict):
            continue
        stage_name = str(evaluate(stage.get("Name"), ctx))
        kinds = set()
        for ai, action in enumerate(stage.get("Actions") or ()):
            if not isinstance(action, dict):
                continue
            ap = pp + ("Stages", si, "Actions", ai)
            category, owner, provider = _type(action)
            name = str(evaluate(action.get("Name"), ctx))
            if category == "Source":
                outs = _names(action.get("OutputArtifacts"), ctx)
                sources.append(_source(action, ap, ctx, outs[0] if outs else ""))
                kinds.add("Source")
            elif category in ("Build", "Test") and provider == "CodeBuild" and owner == "AWS":
                codebuild.append((action, ap, stage_name, name))
                kinds.add("CodeBuild")
            elif category == "Deploy" and provider == "ECS" and deploy is None:
                c = action.get("Configuration") if isinstance(action.get("Configuration"), dict) else {}
                cp = ap + ("Configuration",)
                deploy = DeployFact(At(evaluate(c.get("ClusterName"), ctx), cp + ("ClusterName",)),
                                    At(evaluate(c.get("ServiceName"), ctx), cp + ("ServiceName",)),
                                    At(evaluate(c.get("DeploymentTimeout", 60), ctx), cp + ("DeploymentTimeout",)),
                                    At(evaluate(c.get("FileName", "imagedefinitions.json"), ctx), cp + ("FileName",)),
                                    ap)
                kinds.add("Deploy")
            elif category == "Approval" and provider == "Manual":
                approvals.append(At(f"{stage_name}/{name}", ap))
                kinds.add("Approval")
            else:
                others.append(OtherAction(stage_name, name, f"{category}/{owner}/{provider}", ap))
                kinds.add(stage_name)
        order.append(_stage_kind(stage_name, kinds))
    if deploy is None:  # a pipeline of shipspec's own shape: UpdateService starts the rollout, Deploy follows it
        build, update, deploy, rest = _shipspec_rollout(template, ctx, codebuild)
    else:
        build, update, rest = _split_codebuild(template, ctx, codebuild, sources, deploy, stages)
    others.extend(rest)
    webhooks = sum(1 for r in template.resources.values() if isinstance(r, dict) and r.get("Type") == WEBHOOK_TYPE
                   and _targets(r, logical_id))
    return PipelineFacts(
        logical_id, At(evaluate(props.get("Name"), ctx), pp + ("Name",)),
        At(evaluate(props.get("RoleArn"), ctx), pp + ("RoleArn",)),
        tuple(_rename(order, build, update)), tuple(sources),
        build, update, deploy, tuple(approvals), tuple(others), webhooks,
        tuple(props.get("Triggers") or ()), At(evaluate(props.get("Tags") or [], ctx), pp + ("Tags",)),
        str(evaluate(props.get("PipelineType", "V1"), ctx)), str(evaluate(props.get("ExecutionMode", "SUPERSEDED"), ctx)),
        evaluate((props.get("ArtifactStore") or {}).get("Location"), ctx) if isinstance(props.get("ArtifactStore"), dict)
        else None,
        tuple(evaluate(((r.get("Properties") or {}).get("AuthenticationConfiguration") or {}).get("SecretToken"), ctx)
              for r in template.resources.values() if isinstance(r, dict) and r.get("Type") == WEBHOOK_TYPE
              and _targets(r, logical_id)),
        _roles(template, ctx, props, build, update))


def role_name(template: Template, ctx: Context, value: Any) -> Any:
    """The name of the role `value` (GetAtt/Ref of a role of the template, or an ARN) names."""
    if isinstance(value, ResourceRef):
        res = template.resources.get(value.logical_id)
        if isinstance(res, dict) and res.get("Type") == "AWS::IAM::Role":
            name = evaluate((res.get("Properties") or {}).get("RoleName"), ctx)
            return name if isinstance(name, str) else f"({value.logical_id}, named by CloudFormation)"
    if isinstance(value, str) and ":role/" in value:
        return value.rsplit("/", 1)[-1]
    return value


def _roles(template: Template, ctx: Context, props: dict, build, update) -> tuple:
    out = [("pipeline", role_name(template, ctx, evaluate(props.get("RoleArn"), ctx)))]
    for what, p in (("Build", build), ("UpdateService", update)):
        if p is not None:
            out.append((what, role_name(template, ctx, p.role.value)))
    return tuple(out)


def _stage_kind(name: str, kinds: set) -> str:
    for k in ("Source", "Deploy", "Approval"):
        if kinds == {k}:
            return k
    return name


def _rename(order: list[str], build: ProjectFact | None, update: ProjectFact | None) -> list[str]:
    out = []
    for name in order:
        if build and name == build.stage:
            name = "Build"
        elif update and name == update.stage:
            name = "UpdateService"
        out.append(name)
    return out


def _targets(webhook: dict, pipeline_id: str) -> bool:
    props = webhook.get("Properties") if isinstance(webhook.get("Properties"), dict) else {}
    return props.get("TargetPipeline") == {"Ref": pipeline_id}


def _shipspec_rollout(template, ctx, actions):
    """(build, update, deploy, other actions) of a pipeline whose UpdateService CodeBuild action starts
    the rollout and whose Deploy CodeBuild action follows it (shipspec's own shape, no ECS deploy
    action): the cluster and service come from the UpdateService project's runtime record
    (Metadata.shipspec.runtime), the timeout from the Deploy project's."""
    facts = []
    for action, ap, stage, name in actions:
        c = action.get("Configuration") if isinstance(action.get("Configuration"), dict) else {}
        facts.append(_project(template, ctx, evaluate(c.get("ProjectName"), ctx), name, stage, ap))
    update_i = next((i for i, (_a, _p, stage, _n) in enumerate(actions) if stage == "UpdateService"), None)
    deploy_i = next((i for i, (_a, _p, stage, _n) in enumerate(actions) if stage == "Deploy"), None)
    build_i = next((i for i in range(len(actions)) if update_i is None or i < update_i), None)
    update = facts[update_i] if update_i is not None else None
    deploy = None
    if update is not None and deploy_i is not None and facts[deploy_i] is not None:
        meta = (template.resources.get(update.logical_id) or {}).get("Metadata") or {}
        runtime = ((meta.get("shipspec") or {}).get("runtime") or {}) if isinstance(meta, dict) else {}
        mp = ("Resources", update.logical_id, "Metadata", "shipspec", "runtime")
        follower = facts[deploy_i]
        deploy = DeployFact(At(runtime.get("cluster"), mp + ("cluster",)), At(runtime.get("service"), mp + ("service",)),
                            follower.timeout, At(None), actions[deploy_i][1])
    rest = [OtherAction(stage, name, "Build/AWS/CodeBuild", ap, facts[i])
            for i, (_a, ap, stage, name) in enumerate(actions) if i not in (build_i, update_i, deploy_i)]
    return (facts[build_i] if build_i is not None else None), update, deploy, rest


def _split_codebuild(template, ctx, actions, sources, deploy, stages):
    """(build, update, other actions): the update project's output feeds the ECS deploy action; the
    build project is the first CodeBuild action before it."""
    deploy_inputs: set[str] = set()
    if deploy is not None:
        si, ai = deploy.path[4], deploy.path[6]
        deploy_inputs = set(_names(stages[si]["Actions"][ai].get("InputArtifacts"), ctx))
    update_i = next((i for i, (a, *_rest) in enumerate(actions)
                     if set(_names(a.get("OutputArtifacts"), ctx)) & deploy_inputs), None)
    build_i = next((i for i in range(len(actions)) if update_i is None or i < update_i), None)
    facts = []
    for action, ap, stage, name in actions:
        c = action.get("Configuration") if isinstance(action.get("Configuration"), dict) else {}
        facts.append(_project(template, ctx, evaluate(c.get("ProjectName"), ctx), name, stage, ap))
    build = facts[build_i] if build_i is not None else None
    update = facts[update_i] if update_i is not None else None
    rest = [OtherAction(stage, name, "Build/AWS/CodeBuild", ap, facts[i])
            for i, (_a, ap, stage, name) in enumerate(actions) if i not in (build_i, update_i)]
    return build, update, rest
