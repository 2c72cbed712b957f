"""Custom pipeline stages (spec `stages`): one CodeBuild project, role and log group per action,
and the stages wired into the pipeline after the built-in stage each one names.

The facts the renderer and the checks (compiler/spec/stage_checks.py) share live here, so both agree:
which built-in stages run (`builtin_order`), what artifacts and variables exist after each one
(`artifacts_after`, `namespaces_after`), and which environment variables an action's commands get
(`builtin_variables`). Pure: everything is computed from the ServiceConfig.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ...spec import naming
from ...lint.pipeline_rules import SOURCE_VARIABLES
from . import cfn, codebuild, iam, sources
from .service_files import BUILD_NAMESPACE, IMAGE_VARIABLE, SOURCE_NAMESPACE

if TYPE_CHECKING:
    from ...spec.models import PolicyStatement, ServiceConfig, Stage, StageAction

BUILD_ARTIFACT = "build"
UPDATE_ARTIFACT = "update"
STAGES_DIR = "stages"
PSEUDO_PARAMETERS = ("AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::URLSuffix")
SUBSTITUTION_RE = re.compile(r"\$\{([^}]*)\}")
# Output variables of the primary source action by spec provider: the table SS301 checks against.
SOURCE_OUTPUTS: dict[str, tuple[str, ...]] = {
    provider: SOURCE_VARIABLES[action_provider] for provider, action_provider in (
        ("codestar", "CodeStarSourceConnection"), ("github-token", "GitHub"), ("codecommit", "CodeCommit"),
        ("s3", "S3"))
}
PIPELINE_NAMESPACE = "codepipeline"
SECRET_ARN_RE = re.compile(r"^arn:(?P<partition>aws[a-z-]*):secretsmanager:(?P<region>[a-z0-9-]+):"
                           r"(?P<account>[0-9]{12}):secret:(?P<name>[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6})"
                           r"(?::[^:]*){0,3}$")
PARAMETER_ARN_RE = re.compile(r"^arn:(?P<partition>aws[a-z-]*):ssm:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
                              r"parameter/(?P<path>[A-Za-z0-9_.\-/]+)$")
PARAMETER_NAME_RE = re.compile(r"^/?[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$")
ROLE_SIDS = ("Logs", "Artifacts", "ArtifactKey", "ReadSecrets", "DecryptSecrets", "ReadParameters",
             "DecryptParameters")


# --- what exists where ---------------------------------------------------------------------------

def builtin_order(c: "ServiceConfig") -> tuple[str, ...]:
    """The built-in stages this environment's pipeline has, in order."""
    from ...spec.models import BUILTIN_STAGES

    return tuple(s for s in BUILTIN_STAGES if s != "Approval" or c.deploy.approval)


def _produces(c: "ServiceConfig") -> dict[str, tuple[str, ...]]:
    return {"Source": (sources.PRIMARY_ARTIFACT, *(a.name for a in c.source.additional)),
            "Build": (BUILD_ARTIFACT,), "Approval": (), "UpdateService": (UPDATE_ARTIFACT,), "Deploy": ()}


def producer_of(c: "ServiceConfig", artifact: str) -> str | None:
    """The built-in stage producing `artifact`, or None if no stage does."""
    return next((stage for stage, arts in _produces(c).items() if artifact in arts), None)


def _upto(c: "ServiceConfig", after: str) -> tuple[str, ...]:
    """The built-in stages that have run when a stage placed after `after` starts. Approval directly
    follows Build; without it (a spec error the checks report) the stage is treated as after Build."""
    order = builtin_order(c)
    if after not in order:
        after = "Build" if after == "Approval" else order[-1]
    return order[: order.index(after) + 1]


def has_run(c: "ServiceConfig", after: str, builtin: str) -> bool:
    """Whether built-in stage `builtin` has run before a stage placed after `after`."""
    return builtin in _upto(c, after)


def artifacts_after(c: "ServiceConfig", after: str) -> tuple[str, ...]:
    """Artifacts that exist for a stage placed after built-in stage `after`."""
    produced = _produces(c)
    return tuple(a for stage in _upto(c, after) for a in produced[stage])


def namespaces_after(c: "ServiceConfig", after: str) -> dict[str, tuple[str, ...]]:
    """Pipeline variables (namespace -> names) an action placed after `after` can use."""
    out = {PIPELINE_NAMESPACE: ("PipelineExecutionId",), SOURCE_NAMESPACE: SOURCE_OUTPUTS[c.source.provider]}
    if has_run(c, after, "Build"):
        out[BUILD_NAMESPACE] = (IMAGE_VARIABLE,)
    return out


@dataclass(frozen=True)
class BuiltinVariable:
    """An environment variable shipspec sets on every action that can have it."""

    name: str
    expression: str  # the pipeline variable it carries
    provided: bool  # whether this action gets it
    why_not: str = ""  # when it does not: why, and what to do


def builtin_variables(c: "ServiceConfig", stage: "Stage", action: "StageAction") -> tuple[BuiltinVariable, ...]:
    """Every built-in variable name, and whether this action's commands get it."""
    s3 = c.source.provider == "s3"
    after_build = has_run(c, stage.after, "Build")
    image_why = ("the image exists only after Build; place the stage after Build" if not after_build
                 else "set needs_image: true on the action")
    return (
        BuiltinVariable("PIPELINE_EXECUTION_ID", f"#{{{PIPELINE_NAMESPACE}.PipelineExecutionId}}", True),
        BuiltinVariable("SOURCE_COMMIT_ID", f"#{{{SOURCE_NAMESPACE}.CommitId}}", not s3,
                        "an s3 source has no commit; use SOURCE_VERSION_ID"),
        BuiltinVariable("SOURCE_VERSION_ID", f"#{{{SOURCE_NAMESPACE}.VersionId}}", s3,
                        "only an s3 source has an object version; use SOURCE_COMMIT_ID"),
        BuiltinVariable(IMAGE_VARIABLE, f"#{{{BUILD_NAMESPACE}.{IMAGE_VARIABLE}}}", action.needs_image and after_build,
                        image_why),
    )


RESERVED_VARIABLES = ("PIPELINE_EXECUTION_ID", "SOURCE_COMMIT_ID", "SOURCE_VERSION_ID", IMAGE_VARIABLE)


# --- values --------------------------------------------------------------------------------------

def iam_value(text: str) -> object:
    """A statement value: Fn::Sub when it names a pseudo parameter (other ${...}, IAM policy
    variables, are escaped so CloudFormation keeps them), else the literal string."""
    names = SUBSTITUTION_RE.findall(text)
    if not any(n in PSEUDO_PARAMETERS for n in names):
        return text
    return cfn.sub(SUBSTITUTION_RE.sub(lambda m: m.group(0) if m.group(1) in PSEUDO_PARAMETERS
                                       else "${!" + m.group(1) + "}", text))


def _one(values: list[str]) -> object:
    return iam_value(values[0]) if len(values) == 1 else [iam_value(v) for v in values]


def user_statement(st: "PolicyStatement") -> dict:
    out: dict = {}
    if st.Sid:
        out["Sid"] = st.Sid
    out["Effect"] = st.Effect
    out["Action"] = list(st.Action)
    out["Resource"] = [iam_value(r) for r in st.Resource]
    if st.Condition:
        out["Condition"] = {op: {key: _one(vals) for key, vals in keys.items()} for op, keys in st.Condition.items()}
    return out


def secret_kind(value: str) -> str | None:
    """SECRETS_MANAGER, PARAMETER_STORE, or None for a value that is neither (the checks report it)."""
    if SECRET_ARN_RE.match(value):
        return "SECRETS_MANAGER"
    if PARAMETER_ARN_RE.match(value) or (not value.startswith("arn:") and PARAMETER_NAME_RE.match(value)):
        return "PARAMETER_STORE"
    return None


def parameter_path(value: str) -> str:
    """`media/db-url` for /media/db-url or its ARN (the ARN's resource drops the leading slash)."""
    m = PARAMETER_ARN_RE.match(value)
    return m.group("path") if m else value.lstrip("/")


def parameter_name(value: str) -> str:
    """What CodeBuild's PARAMETER_STORE type takes: the parameter name."""
    if not PARAMETER_ARN_RE.match(value):
        return value
    path = parameter_path(value)
    return f"/{path}" if "/" in path else path


def secret_arn(value: str) -> str:
    """The secret's ARN without the :json-key:version-stage:version-id qualifiers."""
    return ":".join(value.split(":")[:7])


# --- one action ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ActionPlan:
    """Everything rendered for one stage action."""

    stage: "Stage"
    action: "StageAction"
    prefix: str  # logical id prefix, Stage<Stage><Action>
    project_name: str
    buildspec_path: str

    @property
    def project_id(self) -> str:
        return f"{self.prefix}Project"

    @property
    def role_id(self) -> str:
        return f"{self.prefix}Role"

    @property
    def logs_id(self) -> str:
        return f"{self.prefix}LogGroup"


def logical_prefix(stage: str, action: str) -> str:
    return f"Stage{stage}{action}"


def plans(c: "ServiceConfig") -> tuple[ActionPlan, ...]:
    d = naming.service_dir(c)
    return tuple(
        ActionPlan(stage, action, logical_prefix(stage.name, action.name),
                   f"{naming.base(c)}-{stage.name.lower()}-{action.name.lower()}",
                   f"{d}/{STAGES_DIR}/{stage.name}-{action.name}.buildspec.yml")
        for stage in c.stages for action in stage.actions)


def buildspec(c: "ServiceConfig", p: ActionPlan) -> str:
    header = (f"# Generated by shipspec for service {c.name}, environment {c.environment.name}: stage "
              f"{p.stage.name}, action {p.action.name}.\n# Do not edit: change the spec and run `shipspec build`.\n")
    spec = {"version": 0.2, "env": {"shell": "bash"}, "phases": {"build": {"commands": list(p.action.commands)}}}
    return header + cfn.dump_yaml(spec)


def action_environment(c: "ServiceConfig", p: ActionPlan) -> list[dict]:
    """The action's EnvironmentVariables: the built-in variables it gets, then spec values carrying #{...}."""
    out = [{"name": v.name, "value": v.expression, "type": "PLAINTEXT"}
           for v in builtin_variables(c, p.stage, p.action) if v.provided]
    out += [{"name": k, "value": v, "type": "PLAINTEXT"} for k, v in sorted(p.action.environment.items()) if "#{" in v]
    return out


def environment_json(c: "ServiceConfig", p: ActionPlan) -> str:
    return cfn.compact_json(action_environment(c, p))


def project_environment(p: ActionPlan) -> list[dict]:
    """Project variables: plain values without pipeline variables, and the secrets by reference."""
    out = [{"Name": k, "Type": "PLAINTEXT", "Value": v} for k, v in p.action.environment.items() if "#{" not in v]
    for name, value in p.action.secrets.items():
        kind = secret_kind(value) or "SECRETS_MANAGER"
        out.append({"Name": name, "Type": kind, "Value": parameter_name(value) if kind == "PARAMETER_STORE" else value})
    return sorted(out, key=lambda v: v["Name"])


def _secret_statements(action: "StageAction") -> list[dict]:
    secrets = sorted({secret_arn(v) for v in action.secrets.values() if secret_kind(v) == "SECRETS_MANAGER"})
    params = sorted({parameter_path(v) for v in action.secrets.values() if secret_kind(v) == "PARAMETER_STORE"})
    out: list[dict] = []
    if secrets:
        parsed = [SECRET_ARN_RE.match(a) for a in secrets]
        keys = sorted({f"arn:{m['partition']}:kms:{m['region']}:{m['account']}:key/*" for m in parsed if m})
        regions = sorted({m["region"] for m in parsed if m})
        out.append(cfn.allow(["secretsmanager:GetSecretValue"], secrets, sid="ReadSecrets"))
        # Customer managed keys: decrypt only through Secrets Manager, only for these secrets.
        out.append(cfn.allow(["kms:Decrypt"], keys, sid="DecryptSecrets", condition={"StringEquals": {
            "kms:ViaService": [f"secretsmanager.{r}.amazonaws.com" for r in regions],
            "kms:EncryptionContext:SecretARN": secrets}}))
    if params:
        arns = [cfn.arn("ssm", f"parameter/{p}") for p in params]
        out.append(cfn.allow(["ssm:GetParameters"], arns, sid="ReadParameters"))
        # SecureString parameters under a customer managed key: decrypt only through SSM, only these.
        out.append(cfn.allow(["kms:Decrypt"], cfn.arn("kms", "key/*"), sid="DecryptParameters", condition={
            "StringEquals": {"kms:ViaService": cfn.sub("ssm.${AWS::Region}.amazonaws.com"),
                             "kms:EncryptionContext:PARAMETER_ARN": arns}}))
    return out


def role_statements(p: ActionPlan) -> list[dict]:
    return [
        iam.logs_statement(p.logs_id),
        *iam.artifact_statements(write=False),  # reads its inputs; it has no output artifact
        *_secret_statements(p.action),
        *(user_statement(st) for st in p.action.policy_statements),
    ]


def _project(c: "ServiceConfig", p: ActionPlan) -> dict:
    environment: dict = {
        "Type": "LINUX_CONTAINER",
        "ComputeType": p.action.compute_type or c.build.compute_type,
        "Image": p.action.image or c.build.image,
        "ImagePullCredentialsType": "CODEBUILD",
        "PrivilegedMode": False,
    }
    env = project_environment(p)
    if env:
        environment["EnvironmentVariables"] = env
    return {
        "Type": "AWS::CodeBuild::Project",
        "Properties": {
            "Name": p.project_name,
            "Description": f"{c.name} ({c.environment.name}): stage {p.stage.name}, action {p.action.name}",
            "ServiceRole": cfn.getatt(p.role_id, "Arn"),
            "Artifacts": {"Type": "CODEPIPELINE"},
            "Source": {"Type": "CODEPIPELINE", "BuildSpec": buildspec(c, p)},
            "Environment": environment,
            "EncryptionKey": iam.artifact_key_arn(),
            "TimeoutInMinutes": p.action.timeout_minutes,
            "LogsConfig": {"CloudWatchLogs": {"Status": "ENABLED", "GroupName": cfn.ref(p.logs_id)}},
            "Tags": iam.resource_tags(c),
        },
    }


def render_resources(c: "ServiceConfig") -> dict[str, dict]:
    """Log group, role and project of every stage action, in spec order."""
    tags = iam.resource_tags(c)
    out: dict[str, dict] = {}
    for p in plans(c):
        out[p.logs_id] = codebuild.log_group(f"/aws/codebuild/{p.project_name}", tags)
        out[p.role_id] = iam.role("codebuild.amazonaws.com", "stage-action", role_statements(p), tags,
                                  f"CodeBuild {p.project_name}: stage {p.stage.name}, action {p.action.name}")
        out[p.project_id] = _project(c, p)
    return out


def project_ids(c: "ServiceConfig") -> list[str]:
    return [p.project_id for p in plans(c)]


def _pipeline_action(c: "ServiceConfig", p: ActionPlan) -> dict:
    inputs = list(p.action.inputs)
    config: dict = {"ProjectName": cfn.ref(p.project_id)}
    if len(inputs) > 1:
        config["PrimarySource"] = inputs[0]
    config["EnvironmentVariables"] = environment_json(c, p)
    return {
        "Name": p.action.name,
        "ActionTypeId": {"Category": "Build", "Owner": "AWS", "Provider": "CodeBuild", "Version": "1"},
        "Configuration": config,
        "InputArtifacts": [{"Name": i} for i in inputs],
        "RunOrder": p.action.run_order,
    }


def insert_stages(c: "ServiceConfig", builtin: list[dict]) -> list[dict]:
    """`builtin` stages with each custom stage right after the built-in stage it names (list order)."""
    by_stage: dict[str, list[ActionPlan]] = {}
    for p in plans(c):
        by_stage.setdefault(p.stage.name, []).append(p)
    out: list[dict] = []
    for stage in builtin:
        out.append(stage)
        for custom in c.stages:
            if custom.after == stage["Name"]:
                out.append({"Name": custom.name, "Actions": [_pipeline_action(c, p) for p in by_stage[custom.name]]})
    return out


def stage_order(c: "ServiceConfig") -> list[str]:
    """Names of every stage of the pipeline, in order (for the stack description)."""
    out: list[str] = []
    for name in builtin_order(c):
        out.append(name)
        out += [s.name for s in c.stages if s.after == name]
    return out


def buildspec_files(c: "ServiceConfig") -> list[tuple[str, str]]:
    """(repository path, text) of every stage action's buildspec, for review beside the template."""
    return [(p.buildspec_path, buildspec(c, p)) for p in plans(c)]
