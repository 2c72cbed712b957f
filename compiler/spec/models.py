"""The spec language: frozen pydantic models, the single source of truth.

`ServiceConfig` is one service merged for one environment (what the generators
consume). `ServiceFile` is what a file under services/ may contain; it generates
the published JSON Schema. Every field has a description: the schema and the
README's spec reference are generated from them.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    WithJsonSchema,
    field_validator,
)

from ..core.codepipeline import BUILTIN_STAGES
from .rollout import Deploy, LoadBalancer
from .physical_names import Names

NAME_RE = r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$"
ENV_RE = r"^[a-z][a-z0-9]{0,9}$"

ComputeType = Literal[
    "BUILD_GENERAL1_SMALL",
    "BUILD_GENERAL1_MEDIUM",
    "BUILD_GENERAL1_LARGE",
    "BUILD_GENERAL1_XLARGE",
    "BUILD_GENERAL1_2XLARGE",
]
PipelineState = Literal["STARTED", "SUCCEEDED", "FAILED", "CANCELED", "SUPERSEDED", "RESUMED", "STOPPED", "STOPPING"]
Provider = Literal["codestar", "github-token", "codecommit", "s3"]
EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")]
AccountId = Annotated[str, StringConstraints(pattern=r"^[0-9]{12}$")]
Region = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$")]
TagMap = dict[Annotated[str, StringConstraints(min_length=1, max_length=128)], Annotated[str, StringConstraints(max_length=256)]]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CrossAccountArn(_Model):
    """An ARN written as a mapping, to accept it on purpose in another account than the environment's
    (the rare intended case, e.g. a secret shared from a central account). Written as a plain string, an
    ARN must be in the environment's account and region: that catches a prod environment silently using
    the stg account's secrets because its override was forgotten."""

    arn: str = Field(min_length=1, description="The ARN, as the plain form would hold it.")
    allow_cross_account: bool = Field(
        default=False, description="Accept an account other than the environment's (and a region other than "
        "its own where the reader can reach it there: a container secret or the notification topic).")


# Tags of the two forms an ARN value may take; pydantic puts them in error locations (dropped there).
ARN_FORMS = ("plain", "entry")


def _arn_form(value: object) -> str:
    return ARN_FORMS[1] if isinstance(value, (dict, CrossAccountArn)) else ARN_FORMS[0]


def _arn_text(value: "str | CrossAccountArn") -> str:
    return value.arn if isinstance(value, CrossAccountArn) else value


# A plain ARN string, or {arn: ..., allow_cross_account: true}. Validated to the ARN string: the
# generators see a string either way; the account checks read the allowance from the spec
# (compiler/spec/arn_checks.py).
ArnValue = Annotated[
    Union[Annotated[str, Tag(ARN_FORMS[0])], Annotated[CrossAccountArn, Tag(ARN_FORMS[1])]],
    Discriminator(_arn_form),
    AfterValidator(_arn_text),
]


class TokenSecret(_Model):
    """Where the legacy GitHub OAuth token is kept (github-token only)."""

    id: str = Field(min_length=1, max_length=512, description="Secrets Manager secret id or name holding the token.")
    key: str = Field(default="token", min_length=1, description="JSON key inside the secret's value.")
    kms_key_arn: Optional[str] = Field(
        default=None, description="ARN of the customer managed KMS key the secret is encrypted with "
        "(arn:aws:kms:<region>:<account>:key/<id>, not an alias). The CI deploy role (`shipspec ci-roles`), "
        "whose credentials CloudFormation uses to resolve the token, may then kms:Decrypt with exactly this key, "
        "only through Secrets Manager. Leave it out for the AWS managed key aws/secretsmanager.")


class AdditionalSource(_Model):
    """An extra source action (a config repository, say). It never starts the pipeline."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,29}$")] = Field(
        description="Artifact and action name, unique within the pipeline; later actions refer to it by this name."
    )
    provider: Provider = Field(default="codestar", description="Where the source lives; see source.provider.")
    repository: str = Field(min_length=1, description="owner/repo (codestar, github-token), repository name (codecommit), or bucket/key.zip (s3).")
    branch: str = Field(default="main", min_length=1, description="Branch to fetch (not used for s3).")
    connection_arn: Optional[str] = Field(default=None, description="CodeConnections connection ARN (codestar only; defaults to the primary source's).")
    token_secret: Optional[TokenSecret] = Field(default=None, description="GitHub token secret (github-token only; defaults to the primary source's).")


class Source(_Model):
    """The repository the pipeline builds from."""

    provider: Provider = Field(
        default="codestar",
        description="codestar: GitHub/Bitbucket/GitLab through a CodeConnections connection (recommended). "
        "github-token: legacy GitHub OAuth token kept in Secrets Manager. codecommit. s3: a zip in a bucket.",
    )
    repository: str = Field(min_length=1, description="owner/repo (codestar, github-token), repository name (codecommit), or bucket/key.zip (s3).")
    branch: str = Field(default="main", min_length=1, description="Branch that starts the pipeline (not used for s3).")
    connection_arn: Optional[str] = Field(default=None, description="CodeConnections connection ARN; required for codestar, not allowed otherwise.")
    token_secret: Optional[TokenSecret] = Field(default=None, description="Secrets Manager reference to the GitHub token; required for github-token, not allowed otherwise.")
    trigger_paths: Optional[list[Annotated[str, StringConstraints(min_length=1)]]] = Field(
        default=None, description="codestar only: start the pipeline only when a push changes these paths (glob patterns)."
    )
    additional: list[AdditionalSource] = Field(
        default_factory=list, max_length=4,
        description="Extra source actions (at most 4: a CodeBuild action reads at most 5 inputs); they never start the pipeline.")


class Build(_Model):
    """How the container image is built and where it is pushed."""

    ecr_repository: Annotated[str, StringConstraints(pattern=r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$", min_length=2, max_length=256)] = Field(
        description="ECR repository name, e.g. media/news-web."
    )
    manage_repository: bool = Field(default=True, description="The pipeline stack owns the ECR repository (retained on delete), with a lifecycle policy.")
    keep_images: int = Field(default=30, ge=1, le=1000, description="The lifecycle policy keeps this many most recent images.")
    dockerfile: str = Field(default="Dockerfile", min_length=1, description="Path of the Dockerfile in the source repository.")
    context: str = Field(default=".", min_length=1, description="Docker build context directory.")
    build_args: dict[EnvVarName, str] = Field(
        default_factory=dict, description="docker build --build-arg values (not secret: they stay in the image's "
        "history; secrets go under build.secrets).")
    secrets: dict[EnvVarName, ArnValue] = Field(
        default_factory=dict,
        description="Secrets the image build needs (a package registry token, say): variable name -> full "
        "Secrets Manager secret ARN (optionally :json-key[:version-stage:version-id]) or SSM parameter ARN or "
        "name (/path/name), in the environment's account and region. They are set on the Build CodeBuild "
        "project as SECRETS_MANAGER / PARAMETER_STORE variables (the build role may read exactly these, and "
        "decrypt them through the service) and passed to docker build as BuildKit secrets, `--secret "
        "id=<NAME>,env=<NAME>`, which never enter the image: read one in the Dockerfile with `RUN "
        "--mount=type=secret,id=<NAME> ...` (the value is in /run/secrets/<NAME>). For the running "
        "container's secrets see service.secrets.")
    compute_type: ComputeType = Field(default="BUILD_GENERAL1_SMALL", description="CodeBuild compute type.")
    image: str = Field(default="aws/codebuild/standard:7.0", min_length=1, description="CodeBuild build image.")
    timeout_minutes: int = Field(default=30, ge=5, le=480, description="CodeBuild timeout in minutes.")
    buildspec: Literal["inline", "repo"] = Field(
        default="inline",
        description="inline: the buildspecs are embedded in the CodeBuild projects. repo: read codepipeline/buildspec.yml "
        "and codepipeline/updatespec.yml from the source repository.",
    )
    max_image_mb: int = Field(
        default=1024, ge=1,
        description="The build prints the pushed image's size and warns when it exceeds this many MB "
        "(large images fill the Docker volume of EC2 container instances; use a multi-stage Dockerfile).",
    )


Duration = Annotated[str, StringConstraints(pattern=r"^[0-9]+(s|m|h)$")]


def _duration_seconds(text: str) -> int:
    return int(text[:-1]) * {"s": 1, "m": 60, "h": 3600}[text[-1]]


class Ec2AgentConfig(_Model):
    """ECS container agent settings for the cluster's EC2 instances (launch_type EC2 only): shorter
    image and stopped-container lifecycles keep the Docker volume from filling up."""

    task_cleanup_wait: Duration = Field(
        default="30m", description="ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION: how long stopped containers are kept "
        "before the agent removes them (at least 1m), e.g. 30m.")
    image_cleanup_interval: Duration = Field(
        default="30m", description="ECS_IMAGE_CLEANUP_INTERVAL: time between automated image clean-up cycles "
        "(at least 10m), e.g. 30m.")
    image_minimum_cleanup_age: Duration = Field(
        default="1h", description="ECS_IMAGE_MINIMUM_CLEANUP_AGE: an image pulled more recently than this is "
        "never removed, e.g. 1h.")
    num_images_delete_per_cycle: int = Field(
        default=5, ge=1, le=1000, description="ECS_NUM_IMAGES_DELETE_PER_CYCLE: images removed per clean-up cycle.")
    disable_image_cleanup: bool = Field(
        default=False, description="ECS_DISABLE_IMAGE_CLEANUP: turn the agent's automated image clean-up off "
        "(not recommended).")
    instance_tag_key: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+\-=._:/@ ]{1,128}$")] = Field(
        default="ecs-cluster", description="The SSM association applies the settings to EC2 instances carrying "
        "this tag (tag the cluster's instances, e.g. through the Auto Scaling group).")
    instance_tag_value: Optional[Annotated[str, StringConstraints(min_length=1, max_length=256)]] = Field(
        default=None, description="Value of instance_tag_key on the cluster's instances; defaults to service.cluster.")

    @field_validator("task_cleanup_wait")
    @classmethod
    def _min_task_cleanup(cls, v: str) -> str:
        if _duration_seconds(v) < 60:
            raise ValueError("must be at least 1m (the agent ignores shorter values)")
        return v

    @field_validator("image_cleanup_interval")
    @classmethod
    def _min_image_cleanup(cls, v: str) -> str:
        if _duration_seconds(v) < 600:
            raise ValueError("must be at least 10m (the agent ignores shorter values)")
        return v


class Service(_Model):
    """The existing ECS service the pipeline deploys to."""

    cluster: str = Field(min_length=1, max_length=255, description="ECS cluster name.")
    name: Optional[str] = Field(default=None, min_length=1, max_length=255, description="ECS service name; defaults to the spec name.")
    container: Optional[str] = Field(default=None, min_length=1, max_length=255, description="Container name in the task definition; defaults to the spec name.")
    launch_type: Literal["FARGATE", "EC2"] = Field(default="FARGATE", description="Launch type of the service.")
    environment: dict[EnvVarName, str] = Field(default_factory=dict, description="Plain container environment variables (never secrets).")
    secrets: dict[EnvVarName, ArnValue] = Field(
        default_factory=dict, description="Container secrets: variable name -> Secrets Manager secret ARN or SSM "
        "parameter ARN, in the environment's account and region (or {arn: ..., allow_cross_account: true}).")
    cpu: Optional[int] = Field(default=None, ge=128, le=16384, description="Task CPU units override.")
    memory: Optional[int] = Field(default=None, ge=128, le=122880, description="Task memory (MiB) override.")
    ec2_agent_config: Ec2AgentConfig = Field(
        default_factory=Ec2AgentConfig,
        description="ECS agent settings applied to the cluster's instances by a generated SSM document and "
        "association (only when launch_type is EC2).")
    load_balancer: Optional[LoadBalancer] = Field(
        default=None, description="The target groups, listener rules and infrastructure role that "
        "deploy.strategy blue_green, linear and canary shift traffic with (see LoadBalancer).")


class Notifications(_Model):
    """Pipeline status notifications: EventBridge -> Lambda -> SNS."""

    events: list[PipelineState] = Field(default_factory=lambda: ["FAILED", "SUCCEEDED"], min_length=1,
                                        description="Pipeline execution states that notify (at least one). "
                                        "STOPPED and SUPERSEDED runs say what happened; every message names what "
                                        "started the run and its commit.")
    emails: list[Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]] = Field(default_factory=list, description="Email addresses subscribed to the topic.")
    topic_arn: Optional[ArnValue] = Field(
        default=None, description="An existing SNS topic, in the environment's account and region (or {arn: ..., "
        "allow_cross_account: true}); when absent the notification stack creates one.")
    slack_webhook_secret: Optional[ArnValue] = Field(
        default=None, description="Secrets Manager id or ARN of a secret holding a Slack incoming-webhook URL (an ARN "
        "in the environment's account and region, or {arn: ..., allow_cross_account: true} for another account).")
    approval: bool = Field(
        default=True, description="With deploy.approval: a message, with a link to approve, as soon as the Approval "
        "stage waits (whatever `events` lists).")


# --- custom pipeline stages -------------------------------------------------------------------

STAGE_NAME_RE = r"^[A-Za-z][A-Za-z0-9]{0,30}$"
StageName = Annotated[str, StringConstraints(pattern=STAGE_NAME_RE)]
StageAnchor = Literal[BUILTIN_STAGES]  # type: ignore[valid-type]  # one of the built-in stages
ArtifactName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,29}$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


# IAM accepts a single string or a list wherever a statement lists values; the model keeps a list.
OneOrMany = Annotated[
    list[Annotated[str, StringConstraints(min_length=1, max_length=2048)]],
    BeforeValidator(_one_or_many),
    WithJsonSchema({"anyOf": [{"type": "string", "minLength": 1},
                              {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}]}),
]


class PolicyStatement(_Model):
    """An extra IAM statement for a stage action's role, written as in an IAM policy document. The
    least-privilege rules (SS101-SS103) check it in the spec and again in the generated template."""

    Sid: Optional[Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,100}$")]] = Field(
        default=None, description="Statement id (letters and digits), unique within the role's policy.")
    Effect: Literal["Allow", "Deny"] = Field(description="Allow or Deny.")
    Action: OneOrMany = Field(
        min_length=1, description="One IAM action or a list, e.g. cloudfront:CreateInvalidation. No wildcards "
        "(`*`, `<service>:*`) in an Allow statement.")
    Resource: OneOrMany = Field(
        min_length=1, description="One ARN or a list. ${AWS::Partition}, ${AWS::Region}, ${AWS::AccountId} and "
        "${AWS::URLSuffix} are replaced by the environment's values; other ${...} (IAM policy variables such as "
        "${aws:username}) are kept. \"*\" only for actions AWS authorises on \"*\" alone.")
    Condition: dict[NonEmpty, dict[NonEmpty, OneOrMany]] = Field(
        default_factory=dict, description="IAM condition block: operator -> condition key -> value(s), e.g. "
        "{StringEquals: {aws:ResourceTag/team: search}}.")
    allow_cross_account: bool = Field(
        default=False, description="shipspec's, not IAM's: accept Resource ARNs in another account or region than "
        "the environment's (by default an error, as a forgotten per-environment override would be). Not "
        "written into the policy.")
    wildcard_reason: Optional[Annotated[str, StringConstraints(min_length=10, max_length=300,
                                                                pattern=r"^[^\x00-\x1f\x7f]+$")]] = Field(
        default=None, description="Why this statement needs a wildcard resource (Resource \"*\" for an action AWS "
        "can scope, or * or ? in an ARN's region, account or resource name), in one line. Without it such a "
        "statement is refused; with it the statement needs a Sid, and `shipspec lint` accepts the wildcard for "
        "exactly that statement (SS102), with this reason recorded in the template.")


class StageAction(_Model):
    """One action of a custom stage: shell commands run in a CodeBuild project of its own, with its own
    least-privilege role and log group."""

    name: StageName = Field(
        description="Action name (a letter, then up to 30 letters or digits), unique within the stage; the "
        "CodeBuild project is `<service>-<env>-<stage>-<action>` in lowercase.")
    commands: list[NonEmpty] = Field(
        min_length=1, max_length=100,
        description="Shell commands run in order by bash (the build phase of an inline buildspec, also written to "
        "`generated/<service>/<env>/stages/<Stage>-<Action>.buildspec.yml`); the first failing command fails the "
        "action. They start in the first input artifact's directory; other inputs are in "
        "`$CODEBUILD_SRC_DIR_<name>`. Built-in environment variables: PIPELINE_EXECUTION_ID "
        "(#{codepipeline.PipelineExecutionId}), SOURCE_COMMIT_ID (#{SourceVariables.CommitId}; "
        "SOURCE_VERSION_ID, #{SourceVariables.VersionId}, for an s3 source) and, with needs_image, IMAGE_URI "
        "(#{BuildVariables.IMAGE_URI}). #{...} is not resolved inside commands: use these variables, or "
        "an environment entry.")
    image: Optional[NonEmpty] = Field(default=None, description="CodeBuild image; defaults to build.image.")
    compute_type: Optional[ComputeType] = Field(
        default=None, description="CodeBuild compute type; defaults to build.compute_type.")
    timeout_minutes: int = Field(default=15, ge=5, le=480, description="CodeBuild timeout in minutes (5-480).")
    environment: dict[EnvVarName, str] = Field(
        default_factory=dict,
        description="Plain environment variables (never secrets). A value may use the pipeline variables "
        "#{codepipeline.PipelineExecutionId}, `#{SourceVariables.<output of the source provider>}` and, after "
        "Build, #{BuildVariables.IMAGE_URI}, and after UpdateService the rollout it started, "
        "#{UpdateVariables.SERVICE_DEPLOYMENT_ARN} (also DEPLOYMENT_ID, TASK_DEFINITION_ARN): the pipeline passes "
        "those values per execution; the others are "
        "set on the CodeBuild project. The built-in names and CODEBUILD_* are reserved.")
    secrets: dict[EnvVarName, ArnValue] = Field(
        default_factory=dict,
        description="Secret environment variables: name -> full Secrets Manager secret ARN (optionally "
        ":json-key[:version-stage:version-id]), passed as SECRETS_MANAGER, or SSM parameter ARN or name "
        "(/path/name), passed as PARAMETER_STORE, in the environment's account and region (a secret in another "
        "account: {arn: ..., allow_cross_account: true}). The action's role may read exactly these (and decrypt "
        "them through the service).")
    inputs: list[ArtifactName] = Field(
        default_factory=lambda: ["source"], min_length=1, max_length=5,
        description="Artifacts the action reads, the first being its working directory: source (the primary "
        "source), an additional source by name, build (after Build), update (after UpdateService: "
        "imagedefinitions.json).")
    needs_image: bool = Field(
        default=False, description="Pass the image URI the Build action pushed as IMAGE_URI (stages after Build "
        "only).")
    run_order: int = Field(
        default=1, ge=1, le=999, description="Actions of a stage with the same run_order run in parallel; lower "
        "run_order runs first.")
    policy_statements: list[PolicyStatement] = Field(
        default_factory=list, max_length=20,
        description="Extra IAM statements for this action's role (what its commands call, e.g. "
        "cloudfront:CreateInvalidation on one distribution).")


class Stage(_Model):
    """A custom pipeline stage, inserted after a built-in stage. The built-in order is Source, Build,
    [Approval], UpdateService, Deploy; UpdateService already points the ECS service at the new task
    definition, so work that must finish before the new version serves belongs after Build or Approval."""

    name: StageName = Field(
        description="Stage name (a letter, then up to 30 letters or digits), unique in the pipeline and not a "
        "built-in stage name (Source, Build, Approval, UpdateService, Deploy).")
    after: StageAnchor = Field(
        description="The built-in stage this stage follows: Source, Build, Approval (only with "
        "deploy.approval), UpdateService or Deploy. Stages with the same `after` run in list order.")
    actions: list[StageAction] = Field(min_length=1, max_length=50, description="The stage's actions.")


SECTION_MODELS = {
    "source": Source,
    "build": Build,
    "service": Service,
    "deploy": Deploy,
    "notifications": Notifications,
    "names": Names,
}


class Environment(_Model):
    """Where one environment of the service lives."""

    name: Annotated[str, StringConstraints(pattern=ENV_RE)]
    account: AccountId = Field(description="12-digit AWS account id, quoted.")
    region: Region = Field(description="AWS region code, e.g. ap-northeast-1.")


class ServiceConfig(_Model):
    """One service merged for one environment: what the generators consume."""

    version: Literal[1] = Field(default=1, description="Spec language version.")
    name: Annotated[str, StringConstraints(pattern=NAME_RE)] = Field(
        description="Service name: 3-32 lowercase letters, digits and hyphens; must equal the file name stem.")
    description: str = Field(default="", max_length=1024, description="What the service is, for people.")
    tags: TagMap = Field(default_factory=dict, description="Tags added to every stack and taggable resource.")
    source: Source = Field(description=Source.__doc__)
    build: Build = Field(description=Build.__doc__)
    service: Service = Field(description=Service.__doc__)
    deploy: Deploy = Field(default_factory=Deploy, description=Deploy.__doc__)
    notifications: Notifications = Field(default_factory=Notifications, description=Notifications.__doc__)
    stages: list[Stage] = Field(
        default_factory=list, max_length=40,
        description="Custom pipeline stages, each inserted after a built-in stage (see Stage).")
    names: Names = Field(default_factory=Names, description=Names.__doc__)
    environment: Environment = Field(description="The environment this configuration is for (from `environments`).")

    @property
    def ecs_service_name(self) -> str:
        return self.service.name or self.name

    @property
    def container_name(self) -> str:
        return self.service.container or self.name
