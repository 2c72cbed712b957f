"""IAM building blocks for the templates: one role per principal, statements scoped to ARNs.

Every statement names the resources it acts on. The few that must use Resource "*"
say why next to where they are built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from ...core.arns import parse_secret_ref
from ...spec import naming
from . import cfn

if TYPE_CHECKING:
    from ...spec.models import ServiceConfig



def resource_tags(c: "ServiceConfig") -> list[dict]:
    """The spec's tags plus the two shipspec tags, as a CloudFormation tag list (sorted by key)."""
    return cfn.tag_list(dict(naming.service_tags(c)))


def role(principal: str, policy_name: str, statements: list[dict], tags: list[dict], description: str,
         metadata: dict | None = None, name: str | None = None) -> dict:
    """An AWS::IAM::Role trusted by one service principal, with one inline policy.

    No RoleName unless `name` is given (`names.*_role`, a role kept from an adopted pipeline):
    CloudFormation generates it, so two stacks never clash. Inline policies are created with the
    role, before anything that uses the role can run.
    """
    out: dict = {"Type": "AWS::IAM::Role"}
    if metadata:
        out["Metadata"] = metadata
    out["Properties"] = {
        **({"RoleName": name} if name else {}),
        "Description": description,
        "AssumeRolePolicyDocument": cfn.assume_role_policy(principal),
        "Policies": [{"PolicyName": policy_name, "PolicyDocument": cfn.policy(statements)}],
        "Tags": tags,
    }
    return out


# --- shared ARNs -------------------------------------------------------------------------------

def artifact_bucket() -> dict:
    return cfn.import_value(naming.bootstrap_export("ArtifactBucket"))


def artifact_key_arn() -> dict:
    return cfn.import_value(naming.bootstrap_export("ArtifactKeyArn"))


def artifact_objects_arn() -> dict:
    """Every object in the bootstrap artifact bucket."""
    return {"Fn::Sub": ["${BucketArn}/*", {"BucketArn": cfn.import_value(naming.bootstrap_export("ArtifactBucketArn"))}]}


def log_group_arn(log_group_logical_id: str) -> dict:
    """The log streams of one log group (Ref of an AWS::Logs::LogGroup is its name)."""
    return cfn.sub(f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:${{{log_group_logical_id}}}:*")


def ecs_service_arn(c: "ServiceConfig") -> dict:
    return cfn.arn("ecs", f"service/{c.service.cluster}/{c.ecs_service_name}")


def ecs_cluster_arn(c: "ServiceConfig") -> dict:
    return cfn.arn("ecs", f"cluster/{c.service.cluster}")


def ecr_repository_arn(c: "ServiceConfig", managed_logical_id: str | None) -> dict:
    if managed_logical_id:
        return cfn.getatt(managed_logical_id, "Arn")
    return cfn.arn("ecr", f"repository/{c.build.ecr_repository}")


# --- statements --------------------------------------------------------------------------------

def artifact_statements(write: bool = True) -> list[dict]:
    """Read (and write) pipeline artifacts in the bootstrap bucket, encrypted with its key."""
    s3_actions = ["s3:GetObject", "s3:GetObjectVersion"] + (["s3:PutObject"] if write else [])
    kms_actions = ["kms:Decrypt", "kms:DescribeKey"] + (["kms:Encrypt", "kms:GenerateDataKey"] if write else [])
    return [
        cfn.allow(s3_actions, artifact_objects_arn(), sid="Artifacts"),
        cfn.allow(kms_actions, artifact_key_arn(), sid="ArtifactKey"),
    ]


def secret_read_statements(values: Iterable[str]) -> list[dict]:
    """Read exactly these secret references (a CodeBuild project's SECRETS_MANAGER and PARAMETER_STORE
    variables), and decrypt them under a customer managed key only through the service that holds them."""
    refs = [r for r in map(parse_secret_ref, values) if r is not None]
    secret_refs = [r for r in refs if r.full_secret_arn]
    secrets = sorted({r.secret_arn for r in secret_refs})
    params = sorted({r.parameter_path for r in refs if r.parameter})
    out: list[dict] = []
    if secrets:
        keys = sorted({f"arn:{r.arn.partition}:kms:{r.region}:{r.account}:key/*" for r in secret_refs if r.arn})
        regions = sorted({r.region for r in secret_refs})
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


def logs_statement(log_group_logical_id: str) -> dict:
    return cfn.allow(["logs:CreateLogStream", "logs:PutLogEvents"], log_group_arn(log_group_logical_id), sid="Logs")


def pass_role_suppression() -> dict:
    """The accepted `shipspec lint` finding for pass_task_roles_statement, for the roles carrying it."""
    return cfn.shipspec_suppressions({
        "SS103": "The spec does not name the task and execution roles; PassRole is limited to this account's "
                 "roles passed to ecs-tasks.amazonaws.com.",
    })


def pass_task_roles_statement(sid: str = "PassTaskRoles") -> dict:
    """iam:PassRole for the task and execution roles of the service's task definition.

    Limitation: the spec does not name those roles, so the statement allows any role of this
    account, but only when it is passed to ECS tasks (iam:PassedToService). Naming the roles in
    the spec would let this narrow to their ARNs.
    """
    return cfn.allow(["iam:PassRole"], cfn.sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"), sid=sid,
                     condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}})


def connection_statements(connection_arns: list[str]) -> list[dict]:
    """UseConnection under both service prefixes (the service was renamed; either may be checked).

    Each statement lists the connections with the ARN prefix its action belongs to.
    """
    def as_service(arn: str, service: str) -> str:
        parts = arn.split(":", 5)
        if len(parts) == 6 and parts[2] in ("codestar-connections", "codeconnections"):
            parts[2] = service
        return ":".join(parts)

    out = []
    for service, sid in (("codeconnections", "UseConnection"), ("codestar-connections", "UseConnectionLegacyPrefix")):
        arns = sorted({as_service(a, service) for a in connection_arns})
        out.append(cfn.allow([f"{service}:UseConnection"], arns, sid=sid))
    return out


def start_pipeline_statement(pipeline_logical_id: str) -> dict:
    return cfn.allow(["codepipeline:StartPipelineExecution"], pipeline_arn(pipeline_logical_id), sid="StartPipeline")


def pipeline_arn(pipeline_logical_id: str) -> dict:
    """ARN of a pipeline in this stack (Ref of AWS::CodePipeline::Pipeline is its name)."""
    return cfn.sub(f"arn:${{AWS::Partition}}:codepipeline:${{AWS::Region}}:${{AWS::AccountId}}:${{{pipeline_logical_id}}}")


def actions_of(template: dict) -> list[tuple[str, str, Any]]:
    """(role logical id, action, resource) of every Allow statement in the template's roles (for tests)."""
    out = []
    for rid, res in template.get("Resources", {}).items():
        if res.get("Type") != "AWS::IAM::Role":
            continue
        for pol in res["Properties"].get("Policies", []):
            for st in pol["PolicyDocument"]["Statement"]:
                if st.get("Effect") != "Allow":
                    continue
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                for a in actions:
                    out.append((rid, a, st["Resource"]))
    return out
