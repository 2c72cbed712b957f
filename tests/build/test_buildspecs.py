"""buildspec.yml and updatespec.yml: structure, the structural checker, and their commands executed.

The build buildspec runs with a recording `docker` stand-in and the real AWS CLI against the
emulator's ECR; the update buildspec runs its embedded (or repository) update script against
the emulator's ECS. Commands of all phases run in order in one `bash -e` process, as
CodeBuild (buildspec 0.2, shell bash) runs them.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from compiler.lint.buildspec_check import check_buildspec
from compiler.local.codebuild_action import tools_dir
from compiler.build.render import service_files as sf
from compiler.spec.project import load_project

from support.aws import client, moto_server_fixture, tool_path
from support.ecs import reset, seed
from support.cli import REPO as ROOT

pytestmark = pytest.mark.slow

CONFIGS = {f"{s.config.name}-{s.config.environment.name}": s.config for s in load_project(ROOT).services}
PHASE_ORDER = ("install", "pre_build", "build", "post_build")
COMMIT = "4f2c9e1d0b7a8c6e5f4d3c2b1a0987654321fedc"

moto_endpoint = moto_server_fixture()


def phase_commands(text: str) -> list[str]:
    spec = yaml.safe_load(text)
    return [cmd for phase in PHASE_ORDER if phase in spec["phases"] for cmd in spec["phases"][phase]["commands"]]


def harness(text: str, tmp_path: Path, prelude: str = "", epilogue: str = "") -> Path:
    """One bash script running every phase's commands in order (CodeBuild's 0.2 semantics)."""
    path = tmp_path / "codebuild.sh"
    path.write_text(prelude + "".join(cmd if cmd.endswith("\n") else cmd + "\n" for cmd in phase_commands(text))
                    + epilogue)
    return path


def run_harness(path: Path, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
    full.update(HOME=str(cwd), LANG="C.UTF-8")
    full.update(env)
    return subprocess.run(["bash", "-e", str(path)], cwd=cwd, env=full, capture_output=True, text=True, timeout=120)


# --- structure -----------------------------------------------------------------------------------

@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_generated_buildspecs_are_well_formed(key):
    c = CONFIGS[key]
    build, update = sf.build_buildspec(c), sf.update_buildspec(c)
    assert check_buildspec(build, "buildspec.yml") == []
    assert check_buildspec(update, "updatespec.yml") == []
    b = yaml.safe_load(build)
    assert b["version"] == 0.2 and b["env"]["shell"] == "bash"
    assert b["env"]["exported-variables"] == [sf.IMAGE_VARIABLE]
    assert all(isinstance(cmd, str) for phase in b["phases"].values() for cmd in phase["commands"])
    u = yaml.safe_load(update)
    assert u["version"] == 0.2 and u["artifacts"] == {"files": ["imagedefinitions.json", "deployment.json"]}
    assert u["env"]["exported-variables"] == ["SERVICE_DEPLOYMENT_ARN", "DEPLOYMENT_ID", "TASK_DEFINITION_ARN"]
    # Deterministic text.
    assert sf.build_buildspec(c) == build and sf.update_buildspec(c) == update


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_project_environment_has_the_registry_and_no_secrets(key):
    c = CONFIGS[key]
    env = sf.build_project_environment(c)
    assert env == {"ECR_REGISTRY": f"{c.environment.account}.dkr.ecr.{c.environment.region}.amazonaws.com",
                   "REPOSITORY_URI": f"{env['ECR_REGISTRY']}/{c.build.ecr_repository}"}
    # Every variable the build buildspec reads is provided by the project or by CodeBuild.
    text = sf.build_buildspec(c)
    used = set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", text))
    assigned = set(re.findall(r"(?:^|[\s;])([A-Z_][A-Z0-9_]*)=", text, re.M))  # set by the buildspec itself
    assert {"IMAGE_TAG", sf.IMAGE_VARIABLE} <= assigned
    codebuild = {"CODEBUILD_RESOLVED_SOURCE_VERSION", "AWS_REGION"}
    pipeline = {"SOURCE_COMMIT_ID", "SOURCE_VERSION_ID"}  # the Build action passes one (test_templates.py)
    assert used - assigned <= set(env) | codebuild | pipeline


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_inline_update_buildspec_embeds_the_script_byte_for_byte(key, tmp_path):
    c = CONFIGS[key]
    commands = phase_commands(sf.update_buildspec(c))
    if c.build.buildspec == "repo":
        assert f"bash {sf.REPO_DIR}/update_taskdefinition.sh" in commands
        assert "<<" not in sf.update_buildspec(c)
        return
    (command,) = [cmd for cmd in commands if sf.SCRIPT_DELIMITER in cmd]
    # 1. Read back from the YAML: the heredoc body is the script.
    body = command.split(f"<<'{sf.SCRIPT_DELIMITER}'\n", 1)[1].split(f"\n{sf.SCRIPT_DELIMITER}\n", 1)[0] + "\n"
    assert body == sf.update_script(c)
    # 2. Executed: the file the command writes and hands to bash is the script, byte for byte.
    out = tmp_path / "written.sh"
    script = tmp_path / "capture.sh"
    script.write_text(f'bash() {{ cp "$1" {str(out)!r}; }}\n' + command)
    result = subprocess.run(["bash", "-e", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == sf.update_script(c).encode()


# --- the checker catches broken buildspecs -------------------------------------------------------

GOOD = """version: 0.2
env:
  shell: bash
  exported-variables:
    - IMAGE_URI
phases:
  build:
    commands:
      - echo hi
artifacts:
  files:
    - imagedefinitions.json
"""


@pytest.mark.parametrize("broken,line,words", [
    (GOOD.replace("version: 0.2\n", ""), 1, ["'version' is missing"]),
    (GOOD.replace("version: 0.2", "version: 0.1"), 1, ["0.1", "use version: 0.2"]),
    (GOOD.replace("  shell: bash", "  shell: zsh"), 3, ["shell 'zsh'"]),
    (GOOD.replace("    - IMAGE_URI", "    - AWS_REGION"), 5, ["AWS_REGION", "cannot be exported"]),
    (GOOD.replace("  exported-variables:\n    - IMAGE_URI", "  exported-variables: IMAGE_URI"), 4,
     ["must be a list"]),
    (GOOD.replace("      - echo hi", "      - echo: hi"), 9, ["non-empty string", "quote it"]),
    (GOOD.replace("    commands:\n      - echo hi", "    commands: echo hi"), 8, ["must be a list"]),
    (GOOD.replace("    commands:\n      - echo hi", "    finally:\n      - echo hi"), 8, ["no 'commands'"]),
    (GOOD.replace("  build:", "  deploy:"), 7, ["unknown key 'deploy'"]),
    (GOOD.replace("artifacts:", "artifact:"), 10, ["did you mean 'artifacts'"]),
    (GOOD.replace("  files:\n    - imagedefinitions.json", "  name: x"), 11, ["'files' is missing"]),
    (GOOD.replace("phases:\n  build:\n    commands:\n      - echo hi\n", ""), 1, ["'phases' is missing"]),
    (GOOD.replace("      - echo hi", "      - echo hi\n     - broken"), 10, ["YAML syntax error"]),
    (GOOD.replace("    commands:", "    on-failure: EXPLODE\n    commands:"), 8, ["on-failure"]),
    ("", 1, ["empty"]),
    ("- just\n- a list\n", 1, ["mapping"]),
])
def test_checker_catches_broken_buildspecs(broken, line, words):
    assert check_buildspec(GOOD, "codepipeline/buildspec.yml") == []
    diags = check_buildspec(broken, "codepipeline/buildspec.yml")
    assert diags, broken
    messages = " | ".join(d.message for d in diags)
    for word in words:
        assert word in messages
    assert any(d.location.line == line for d in diags), [(d.location, d.message) for d in diags]
    assert all(d.location.file == "codepipeline/buildspec.yml" and d.severity == "error" for d in diags)


# --- executing the build buildspec ---------------------------------------------------------------

@pytest.fixture
def docker_stand_in(tmp_path):
    """The stand-in docker `shipspec local run` puts on a build's PATH (compiler/local/docker_standin.py):
    it records each call, checks what docker checks, and pushes a manifest to the emulator's ECR."""
    bindir = tools_dir(tmp_path / "bin")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    return bindir, tmp_path / "docker.log"


def docker_calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _build_env(c, bindir: Path, log: Path) -> dict[str, str]:
    return {**sf.build_project_environment(c), "PATH": tool_path(bindir), "DOCKER_LOG": str(log),
            "AWS_REGION": c.environment.region, "AWS_DEFAULT_REGION": c.environment.region}


@pytest.mark.parametrize("key", ["news-web-prod", "video-api-stg"])
def test_build_buildspec_logs_in_builds_tags_and_pushes(key, moto_endpoint, docker_stand_in, tmp_path, monkeypatch):
    c = CONFIGS[key]
    monkeypatch.setenv("MOTO_ACCOUNT_ID", c.environment.account)  # the emulator answers as the spec's account
    reset(moto_endpoint)
    ecr = client("ecr", moto_endpoint, c.environment.region)
    repo_uri = ecr.create_repository(repositoryName=c.build.ecr_repository)["repository"]["repositoryUri"]
    token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    password = base64.b64decode(token).decode().split(":", 1)[1]
    bindir, log = docker_stand_in

    script = harness(sf.build_buildspec(c), tmp_path, epilogue='printf "EXPORTED IMAGE_URI=%s\\n" "$IMAGE_URI"\n')
    result = run_harness(script, tmp_path, {**_build_env(c, bindir, log), "CODEBUILD_RESOLVED_SOURCE_VERSION": COMMIT})
    assert result.returncode == 0, result.stdout + result.stderr

    image = f"{repo_uri}:{COMMIT[:7]}"
    assert f"EXPORTED IMAGE_URI={image}" in result.stdout.splitlines()
    calls = docker_calls(log)
    assert [call["argv"][0] for call in calls] == ["login", "build", "push"]
    login, build, push = calls
    assert login["argv"] == ["login", "--username", "AWS", "--password-stdin", repo_uri.split("/", 1)[0]]
    assert login["stdin"].strip() == password
    expected_args = [a for k, v in sorted(c.build.build_args.items()) for a in ("--build-arg", f"{k}={v}")]
    assert build["argv"] == ["build", "-f", c.build.dockerfile, *expected_args, "-t", image, c.build.context]
    assert push["argv"] == ["push", image]
    # the stand-in pushed the image's manifest: ECR has the tag the build exported
    pushed = ecr.describe_images(repositoryName=c.build.ecr_repository, imageIds=[{"imageTag": COMMIT[:7]}])
    assert [d["imageTags"] for d in pushed["imageDetails"]] == [[COMMIT[:7]]]


def test_build_args_and_paths_are_quoted(moto_endpoint, docker_stand_in, tmp_path, monkeypatch):
    base = CONFIGS["news-web-stg"]
    build = base.build.model_copy(update={
        "dockerfile": "docker/My Dockerfile", "context": "src dir",
        "build_args": {"GREETING": "it's $HOME `id` \"x\"", "EMPTY": ""}})
    c = base.model_copy(update={"build": build})
    monkeypatch.setenv("MOTO_ACCOUNT_ID", c.environment.account)
    reset(moto_endpoint)
    client("ecr", moto_endpoint).create_repository(repositoryName=c.build.ecr_repository)
    bindir, log = docker_stand_in
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "My Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "src dir").mkdir()
    script = harness(sf.build_buildspec(c), tmp_path)
    result = run_harness(script, tmp_path, {**_build_env(c, bindir, log), "CODEBUILD_RESOLVED_SOURCE_VERSION": COMMIT})
    assert result.returncode == 0, result.stderr
    build_call = docker_calls(log)[1]["argv"]
    assert build_call[:3] == ["build", "-f", "docker/My Dockerfile"]
    assert build_call[3:7] == ["--build-arg", "EMPTY=", "--build-arg", "GREETING=it's $HOME `id` \"x\""]
    assert build_call[-1] == "src dir"


def test_build_without_commit_fails_clearly(moto_endpoint, docker_stand_in, tmp_path):
    c = CONFIGS["news-web-stg"]
    bindir, log = docker_stand_in
    script = harness(sf.build_buildspec(c), tmp_path)
    env = _build_env(c, bindir, log)
    result = run_harness(script, tmp_path, env)
    assert result.returncode != 0
    assert "CODEBUILD_RESOLVED_SOURCE_VERSION is unset and the pipeline passed no SOURCE_COMMIT_ID" in result.stderr
    assert docker_calls(log) == []


@pytest.mark.parametrize("variable", ["SOURCE_COMMIT_ID", "SOURCE_VERSION_ID"])
def test_build_uses_the_source_variable_when_codebuild_has_no_resolved_version(
        variable, moto_endpoint, docker_stand_in, tmp_path, monkeypatch):
    # AWS: CODEBUILD_RESOLVED_SOURCE_VERSION may be unset for builds CodePipeline starts; the Build action
    # passes #{SourceVariables.CommitId} (VersionId for s3) as SOURCE_COMMIT_ID (SOURCE_VERSION_ID).
    c = CONFIGS["news-web-stg"]
    monkeypatch.setenv("MOTO_ACCOUNT_ID", c.environment.account)
    reset(moto_endpoint)
    repo_uri = client("ecr", moto_endpoint, c.environment.region).create_repository(
        repositoryName=c.build.ecr_repository)["repository"]["repositoryUri"]
    bindir, log = docker_stand_in
    script = harness(sf.build_buildspec(c), tmp_path, epilogue='printf "EXPORTED IMAGE_URI=%s\\n" "$IMAGE_URI"\n')
    result = run_harness(script, tmp_path, {**_build_env(c, bindir, log), variable: COMMIT})
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"EXPORTED IMAGE_URI={repo_uri}:{COMMIT[:7]}" in result.stdout.splitlines()
    # CodeBuild's own variable wins when it is set
    again = run_harness(script, tmp_path, {**_build_env(c, bindir, log), variable: "f" * 40,
                                           "CODEBUILD_RESOLVED_SOURCE_VERSION": COMMIT})
    assert f"EXPORTED IMAGE_URI={repo_uri}:{COMMIT[:7]}" in again.stdout.splitlines()


# --- executing the update buildspec --------------------------------------------------------------

@pytest.mark.parametrize("key", ["news-web-prod", "photo-thumbs-stg", "video-api-prod"])
def test_update_buildspec_produces_imagedefinitions(key, moto_endpoint, tmp_path):
    c = CONFIGS[key]
    reset(moto_endpoint)
    ecs = client("ecs", moto_endpoint)
    seeded = seed(ecs, c)
    if c.build.buildspec == "repo":  # the source artifact holds codepipeline/update_taskdefinition.sh
        (tmp_path / sf.REPO_DIR).mkdir()
        (tmp_path / sf.REPO_DIR / "update_taskdefinition.sh").write_text(sf.update_script(c))
    image = f"{sf.repository_uri(c)}:{COMMIT[:7]}"
    exported = yaml.safe_load(sf.update_buildspec(c))["env"]["exported-variables"]
    show = "".join(f'echo "EXPORTED {v}=${{{v}}}"\n' for v in exported)  # what CodeBuild would export
    script = harness(sf.update_buildspec(c), tmp_path, epilogue=show)
    result = run_harness(script, tmp_path, {"PATH": tool_path(), "IMAGE_URI": image})
    assert result.returncode == 0, result.stdout + result.stderr
    artifact = yaml.safe_load(sf.update_buildspec(c))["artifacts"]["files"][0]
    assert json.loads((tmp_path / artifact).read_text()) == [{"name": c.container_name, "imageUri": image}]
    svc = ecs.describe_services(cluster=c.service.cluster, services=[c.ecs_service_name])["services"][0]
    assert svc["taskDefinition"] != seeded.task_definition_arn
    values = dict(line.split(" ", 1)[1].split("=", 1) for line in result.stdout.splitlines()
                  if line.startswith("EXPORTED "))
    primary = next(d for d in svc["deployments"] if d["status"] == "PRIMARY")
    # moto alone reports no service deployment ARN ("-"); the emulator does (tests/build/test_follow_deployment.py)
    assert values == {"SERVICE_DEPLOYMENT_ARN": svc.get("currentServiceDeployment", "-"),
                      "DEPLOYMENT_ID": primary["id"], "TASK_DEFINITION_ARN": svc["taskDefinition"]}
    td = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    assert [d["image"] for d in td["containerDefinitions"] if d["name"] == c.container_name] == [image]


def test_update_buildspec_without_image_fails_clearly(moto_endpoint, tmp_path):
    c = CONFIGS["news-web-stg"]
    result = run_harness(harness(sf.update_buildspec(c), tmp_path), tmp_path, {"PATH": tool_path()})
    assert result.returncode != 0 and "IMAGE_URI is not set" in result.stderr
    assert not (tmp_path / "imagedefinitions.json").exists()
