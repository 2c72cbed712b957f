"""Set-up for the `shipspec local run` tests (no tests here): a project applied on a running emulator
(`shipspec local up`), the world a pipeline expects around it (the ECS service it updates, the secrets
and parameters its builds read, the SNS topics its commands publish to), a source repository, and
stand-ins for what exists only in AWS (a smoke test's host, CloudFront)."""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from compiler.local.aws_cli_env import aws_cli
from compiler.local.git_source import scratch_repository
from compiler.local.pipeline_runner import default_source_files
from compiler.spec import naming
from compiler.spec.models import ServiceConfig
from compiler.spec.project import load_project

from support.cli import run_cli
from support.ecs import seed

REGION_RE = re.compile(r"^arn:aws:sns:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]+)$")
PLACEHOLDER = "placeholder-not-a-secret"

# What a custom stage's commands call that exists only outside the emulator: each stand-in says what
# it was asked and succeeds (`aws` hands everything but CloudFront to the real AWS CLI).
STAND_INS = ("curl", "pip", "pytest", "ruff", "make")
AWS_WRAPPER = """#!/bin/sh
if [ "$1" = cloudfront ]; then echo "stand-in: aws $*"; exit 0; fi
exec {aws} "$@"
"""
# Files the example and golden services' custom stages run from their repository.
EXTRA_FILES = {
    "scripts/contract-test.sh": '#!/bin/sh\necho "contract test against $1"\n',
    "search/__init__.py": "",
    "search/migrate.py": 'import os\nprint("migrating the schema (DATABASE_URL set: %s)" % bool(os.environ.get("DATABASE_URL")))\n',
    "requirements.txt": "", "requirements-dev.txt": "",
    "manifest.json": "{}\n",
}


@dataclass(frozen=True)
class Project:
    root: Path
    endpoint: str

    def cli(self, *args: str):
        return run_cli(*args, root=self.root)

    def config(self, name: str, env: str) -> ServiceConfig:
        project = load_project(self.root, [name])
        return next(s.config for s in project.services if s.config.environment.name == env)

    def client(self, service: str, account: str, region: str):
        import boto3

        sts = boto3.client("sts", region_name=region, endpoint_url=self.endpoint)
        c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/test", RoleSessionName="tests")["Credentials"]
        return boto3.client(service, region_name=region, endpoint_url=self.endpoint,
                            aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                            aws_session_token=c["SessionToken"])

    def run(self, name: str, env: str, *args: str) -> tuple[dict, object]:
        r = self.cli("local", "run", name, "--env", env, "--format", "json", *args)
        try:
            return json.loads(r.out), r
        except ValueError:
            raise AssertionError(f"local run printed no JSON (status {r.status}):\n{r.out}\n{r.err}") from None


def project(root: Path, services: Path, state_from: Path) -> Project:
    """A project root holding `services` (specs), using the emulator `state_from` started."""
    if not (root / "services").exists():
        shutil.copytree(services, root / "services")
    (root / ".shipspec").mkdir(parents=True, exist_ok=True)
    shutil.copy(state_from / ".shipspec" / "local.json", root / ".shipspec" / "local.json")
    endpoint = json.loads((root / ".shipspec" / "local.json").read_text())["endpoint"]
    return Project(root, endpoint)


def apply(p: Project, name: str, env: str) -> None:
    for args in (("bootstrap", "--local", "--yes"), ("apply", "--local", "--yes", name, "--env", env)):
        r = p.cli(*args)
        assert r.status == 0, f"{' '.join(args)}:\n{r.out}\n{r.err}"


def prepare_world(p: Project, c: ServiceConfig) -> str:
    """The ECS service as a hand-made setup has it (compiler-independent: tests/support/ecs.py), what the
    spec names without creating it (an ECR repository, a notification topic), the values the pipeline's
    builds read (placeholders), the topics its commands publish to; the seeded task definition's ARN."""
    env = c.environment
    seeded = seed(p.client("ecs", env.account, env.region), c)
    if not c.build.manage_repository:  # an ECR repository shipspec does not create
        p.client("ecr", env.account, env.region).create_repository(repositoryName=c.build.ecr_repository)
    if c.notifications.topic_arn:  # an existing topic the notification stack publishes to
        region, account, topic = c.notifications.topic_arn.split(":")[3:6]
        p.client("sns", account, region).create_topic(Name=topic)
    stored = p.client("codepipeline", env.account, env.region).get_pipeline(name=naming.pipeline_name(c))["pipeline"]
    codebuild = p.client("codebuild", env.account, env.region)
    variables: list[dict] = []
    for stage in stored["stages"]:
        for action in stage["actions"]:
            config = action.get("configuration") or {}
            if "EnvironmentVariables" in config:
                variables += json.loads(config["EnvironmentVariables"])
            if config.get("ProjectName"):
                project = codebuild.batch_get_projects(names=[config["ProjectName"]])["projects"][0]
                variables += project["environment"].get("environmentVariables") or []
    for v in variables:
        kind, value = v.get("type", "PLAINTEXT"), str(v.get("value", ""))
        if kind == "SECRETS_MANAGER":
            _secret(p, env, value)
        elif kind == "PARAMETER_STORE":
            p.client("ssm", env.account, env.region).put_parameter(
                Name=value.split(":parameter", 1)[-1] if value.startswith("arn:") else value,
                Value=PLACEHOLDER, Type="SecureString", Overwrite=True)
        elif REGION_RE.match(value):
            region, account, topic = REGION_RE.match(value).groups()
            p.client("sns", account, region).create_topic(Name=topic)
    return seeded.task_definition_arn


def _secret(p: Project, env, value: str) -> None:
    from compiler.core.arns import parse_secret_ref

    ref = parse_secret_ref(value, expect="secret")
    assert ref is not None, value
    account, region = (ref.account or env.account), (ref.region or env.region)
    text = json.dumps({ref.json_key: PLACEHOLDER}) if ref.json_key else PLACEHOLDER
    sm = p.client("secretsmanager", account, region)
    try:  # the emulator finds a secret's ARN by its last part as a name (AWS's suffix kept)
        sm.create_secret(Name=ref.name, SecretString=text)
    except sm.exceptions.ResourceExistsException:
        sm.put_secret_value(SecretId=ref.name, SecretString=text)


def source_repository(path: Path, c: ServiceConfig, files: dict[str, str] | None = None) -> Path:
    """The service's repository: what the throw-away one holds, the files custom stages run, at the
    branch the primary source action reads."""
    branch = "" if c.source.provider == "s3" else c.source.branch
    content = {**default_source_files(c), **EXTRA_FILES, **(files or {})}
    return scratch_repository(path, (branch or "main",), content, f"Change {c.name} ({c.environment.name})")


def stand_ins(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for tool in STAND_INS:
        (path / tool).write_text(f'#!/bin/sh\necho "stand-in: {tool} $*"\n')
    (path / "aws").write_text(AWS_WRAPPER.format(aws=aws_cli()))
    (path / "python").write_text(f'#!/bin/sh\nexec python3 "$@"\n')
    for f in path.iterdir():
        f.chmod(0o755)
    return path


def task_definitions(p: Project, c: ServiceConfig) -> list[str]:
    """The family's revisions, oldest first."""
    ecs = p.client("ecs", c.environment.account, c.environment.region)
    family = f"{c.name}-{c.environment.name}"  # tests/support/ecs.py's family
    arns = ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"]
    return sorted((a for a in arns if a.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family),
                  key=lambda a: int(a.rsplit(":", 1)[-1]))


def service_task_definition(p: Project, c: ServiceConfig) -> dict:
    ecs = p.client("ecs", c.environment.account, c.environment.region)
    arn = ecs.describe_services(cluster=c.service.cluster, services=[c.ecs_service_name])["services"][0][
        "taskDefinition"]
    return ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]


def environ_path(extra: Path) -> str:
    return os.pathsep.join([str(extra), os.environ.get("PATH", "")])
