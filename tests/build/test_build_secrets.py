"""build.secrets: build-time secrets on the Build CodeBuild project as SECRETS_MANAGER /
PARAMETER_STORE variables, passed to docker build as BuildKit secrets (never build args), with the
build role allowed to read exactly those -- through the one statement builder stage actions use.
The byte-for-byte output is the golden case tests/golden/output/build-secrets."""

from __future__ import annotations

import re

import pytest
import yaml

from compiler.build.render import codebuild, iam, pipeline
from compiler.build.render import stages as st
from compiler.build.render.service_files import build_buildspec
from compiler.spec import naming
from compiler.spec import stage_plan as plan
from compiler.spec.models import ServiceConfig
from compiler.spec.project import load_project
from support.cli import REPO

SECRET = "arn:aws:secretsmanager:ap-northeast-1:222222222222:secret:ci/npm-AbCdEf"
KEYED = "arn:aws:secretsmanager:ap-northeast-1:222222222222:secret:ci/pypi-QwErTy:token"
PARAMETER = "/news-web/sentry-token"


@pytest.fixture(scope="module")
def base() -> ServiceConfig:
    project = load_project(REPO, ["news-web"])
    return next(s.config for s in project.services if s.config.environment.name == "prod")


def with_secrets(base: ServiceConfig, secrets: dict) -> ServiceConfig:
    data = base.model_dump()
    data["build"]["secrets"] = secrets
    return ServiceConfig.model_validate(data)


def commands(buildspec: str) -> list[str]:
    phases = yaml.safe_load(buildspec)["phases"]
    return [c for phase in phases.values() for c in phase["commands"]]


def statements(template: dict, role: str) -> dict[str, dict]:
    doc = template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]
    return {s.get("Sid"): s for s in doc["Statement"]}


def test_build_project_gets_the_secrets_by_reference(base):
    c = with_secrets(base, {"NPM_TOKEN": SECRET, "PYPI_TOKEN": KEYED, "SENTRY_TOKEN": PARAMETER})
    t = pipeline.render_pipeline(c)
    variables = t["Resources"][codebuild.BUILD_PROJECT]["Properties"]["Environment"]["EnvironmentVariables"]
    by_name = {v["Name"]: (v["Type"], v["Value"]) for v in variables}
    assert by_name["NPM_TOKEN"] == ("SECRETS_MANAGER", SECRET)
    assert by_name["PYPI_TOKEN"] == ("SECRETS_MANAGER", KEYED)
    assert by_name["SENTRY_TOKEN"] == ("PARAMETER_STORE", PARAMETER)
    assert [v["Name"] for v in variables] == sorted(by_name)
    # the update project gets none of them
    update = t["Resources"][codebuild.UPDATE_PROJECT]["Properties"]["Environment"]
    assert "EnvironmentVariables" not in update


def test_build_role_reads_exactly_those(base):
    c = with_secrets(base, {"NPM_TOKEN": SECRET, "PYPI_TOKEN": KEYED, "SENTRY_TOKEN": PARAMETER})
    role = statements(pipeline.render_pipeline(c), codebuild.BUILD_ROLE)
    assert role["ReadSecrets"]["Resource"] == sorted([SECRET, KEYED.rsplit(":", 1)[0]])
    assert role["DecryptSecrets"]["Condition"]["StringEquals"]["kms:EncryptionContext:SecretARN"] == \
        role["ReadSecrets"]["Resource"]
    assert role["DecryptSecrets"]["Condition"]["StringEquals"]["kms:ViaService"] == \
        ["secretsmanager.ap-northeast-1.amazonaws.com"]
    assert role["ReadParameters"]["Action"] == ["ssm:GetParameters"]
    assert role["ReadParameters"]["Resource"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/news-web/sentry-token"}]
    # without build.secrets the build role reads no secret at all
    plain = statements(pipeline.render_pipeline(base), codebuild.BUILD_ROLE)
    assert not {"ReadSecrets", "DecryptSecrets", "ReadParameters", "DecryptParameters"} & set(plain)
    # nor does the update role
    assert not {"ReadSecrets", "ReadParameters"} & set(statements(pipeline.render_pipeline(c), codebuild.UPDATE_ROLE))


def test_stage_actions_and_the_build_share_one_statement_builder(base):
    secrets = {"NPM_TOKEN": SECRET, "SENTRY_TOKEN": PARAMETER}
    data = with_secrets(base, secrets).model_dump()
    data["stages"] = [{"name": "Check", "after": "Build", "actions": [{"name": "Run", "commands": ["true"],
                                                                        "secrets": secrets}]}]
    c = ServiceConfig.model_validate(data)
    t = pipeline.render_pipeline(c)
    (p,) = plan.plans(c)
    expected = iam.secret_read_statements(secrets.values())
    build = [s for s in statements(t, codebuild.BUILD_ROLE).values() if s in expected]
    action = [s for s in st.role_statements(p) if s in expected]
    assert build == action == expected and len(expected) == 4
    assert not hasattr(st, "_secret_statements"), "one home for the statement builder"


def test_docker_build_reads_them_as_buildkit_secrets(base):
    c = with_secrets(base, {"NPM_TOKEN": SECRET, "SENTRY_TOKEN": PARAMETER})
    spec = build_buildspec(c)
    command = next(c for c in commands(spec) if "docker build" in c)
    assert command.startswith("DOCKER_BUILDKIT=1 docker build")
    assert "--secret id=NPM_TOKEN,env=NPM_TOKEN --secret id=SENTRY_TOKEN,env=SENTRY_TOKEN" in command
    assert "--build-arg NPM_TOKEN" not in spec and SECRET not in spec
    assert "DOCKER_BUILDKIT" not in build_buildspec(base)  # unchanged without build.secrets


def test_build_variables_lists_every_variable_the_build_sets(base):
    """build.secrets may not take a name the Build project or its buildspec sets (naming.BUILD_VARIABLES)."""
    t = pipeline.render_pipeline(base)
    project = {v["Name"] for v in t["Resources"][codebuild.BUILD_PROJECT]["Properties"]["Environment"]
               ["EnvironmentVariables"]}
    lines = [line for c in commands(build_buildspec(base)) for line in c.splitlines()]
    assigned = {m.group(1) for line in lines if (m := re.match(r"\s*([A-Z][A-Z0-9_]*)=", line))}
    assert {"IMAGE_TAG", "IMAGE_URI", "IMAGE_BYTES", "IMAGE_MB"} <= assigned
    assert project | assigned <= set(naming.BUILD_VARIABLES)
