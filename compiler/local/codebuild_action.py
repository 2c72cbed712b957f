"""The CodeBuild action of `shipspec local run`: one build of a project as stored in the emulator
(`batch-get-projects`), run on this machine (compiler/local/buildspec_run.py) in the environment CodeBuild
gives it.

- **The project's buildspec**: inline (`source.buildspec` holds YAML) or a file of the primary source
  (`buildspec.yml` when none is named).
- **Sources**: each input artifact is copied for the build (artifacts are immutable); the primary one
  (the action's `PrimarySource`, else its only input) is `CODEBUILD_SRC_DIR` and the working directory,
  the others are `CODEBUILD_SRC_DIR_<artifact name>`.
- **Environment variables**, later ones winning, as CodeBuild documents: the buildspec's `env`
  (`variables`, `parameter-store`, `secrets-manager`), the project's `environmentVariables`, the action's
  `EnvironmentVariables` (a JSON string, variables already resolved). PARAMETER_STORE and
  SECRETS_MANAGER values are read from the emulator (a secret with no value fails the build, saying
  how to give it one). Then CodeBuild's own: `CODEBUILD_BUILD_ID`, `CODEBUILD_BUILD_ARN`,
  `CODEBUILD_BUILD_NUMBER`, `CODEBUILD_BUILD_IMAGE`, `CODEBUILD_INITIATOR` (`codepipeline/<pipeline>`),
  `CODEBUILD_KMS_KEY_ID`, `CODEBUILD_SOURCE_VERSION`, `CODEBUILD_SRC_DIR*`, `CODEBUILD_START_TIME`,
  `CODEBUILD_CI`; `CODEBUILD_RESOLVED_SOURCE_VERSION` is left unset, as it may be for builds CodePipeline
  starts (the pipeline passes the commit explicitly).
- **Secret values stay out of the log**: every PARAMETER_STORE and SECRETS_MANAGER value the build was
  given is replaced by `***` in each line the build logs (what the terminal shows, the run's log files,
  `--format json`), as CodeBuild hides them in its logs. Exported variables are passed on as the
  build exported them.
- **AWS**: the credentials of the project's service role from the emulator's STS, the emulator's endpoint,
  the real AWS CLI, and the stand-in `docker` (compiler/local/docker_standin.py) first on PATH, after the
  directories of `--tools` (stand-ins for what exists only in AWS, such as the hosts a smoke test calls).
  The rest of PATH is this machine's: commands use its tools. `FOLLOW_POLL_SECONDS` is short (time in the emulator
  is reads).
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..core.arns import parse_secret_ref
from ..core.errors import ShipspecError
from ..deploy.aws.errors import client_errors, error_code, short_error
from . import buildspec_run
from .aws_cli_env import emulator_environment, role_credentials


@dataclass(frozen=True)
class BuildWorld:
    """What every build of one run shares."""

    pipeline: str
    execution_id: str
    account: str
    region: str
    endpoint: str
    cli: str
    clients: Callable[[str], Any]
    tools: tuple[Path, ...]  # first on PATH: the user's stand-ins (--tools), then the stand-in docker's directory
    docker_state: Path
    artifact_bucket: str


@dataclass(frozen=True)
class BuildOutcome:
    succeeded: bool
    reason: str
    build_id: str
    exported: dict[str, str]
    notes: tuple[str, ...] = ()


def tools_dir(path: Path) -> Path:
    """A directory holding the stand-in `docker` (a shim running docker_standin.py with this Python)."""
    path.mkdir(parents=True, exist_ok=True)
    shim = path / "docker"
    program = Path(__file__).with_name("docker_standin.py")
    shim.write_text(f"#!/bin/sh\nexec {json.dumps(sys.executable)} {json.dumps(str(program))} \"$@\"\n",
                    encoding="utf-8")
    shim.chmod(0o755)
    return path


def _project(world: BuildWorld, name: str) -> dict:
    found = world.clients("codebuild").batch_get_projects(names=[name]).get("projects") or []
    if not found:
        raise ShipspecError(f"CodeBuild project {name} does not exist in the emulator (account {world.account}, "
                            f"region {world.region}): apply the pipeline's stack (shipspec apply --local)")
    return found[0]


def _secret_value(world: BuildWorld, variable: str, reference: str) -> str:
    ref = parse_secret_ref(reference, expect="secret")
    if ref is None:
        raise ShipspecError(f"environment variable {variable}: {reference!r} is not a secret reference")
    try:
        text = world.clients("secretsmanager").get_secret_value(SecretId=ref.secret_arn).get("SecretString") or ""
    except client_errors() as exc:
        raise ShipspecError(f"environment variable {variable}: secret {ref.secret_arn} cannot be read in the "
                            f"emulator ({short_error(exc)}); give it a value: aws secretsmanager put-secret-value "
                            f"--secret-id {ref.secret_arn} --secret-string ... --endpoint-url {world.endpoint}") \
            from None
    if not ref.json_key:
        return text
    try:
        return str(json.loads(text)[ref.json_key])
    except (ValueError, KeyError, TypeError):
        raise ShipspecError(f"environment variable {variable}: secret {ref.secret_arn} has no JSON key "
                            f"{ref.json_key}") from None


def _parameter_value(world: BuildWorld, variable: str, name: str) -> str:
    ref = parse_secret_ref(name, expect="parameter")
    wanted = ref.name if ref is not None else name
    try:
        return world.clients("ssm").get_parameter(Name=wanted, WithDecryption=True)["Parameter"]["Value"]
    except client_errors() as exc:
        if error_code(exc) == "ParameterNotFound":
            raise ShipspecError(f"environment variable {variable}: SSM parameter {wanted} is not in the emulator; "
                                f"create it: aws ssm put-parameter --name {wanted} --type SecureString --value ... "
                                f"--endpoint-url {world.endpoint}") from None
        raise


SECRET_KINDS = ("PARAMETER_STORE", "SECRETS_MANAGER")
MASK = "***"


def masker(secrets: set[str]) -> Callable[[str], str]:
    """Replace each secret value in a line by MASK, longest first (a value inside another is hidden too)."""
    values = sorted((v for v in secrets if v), key=len, reverse=True)

    def mask(line: str) -> str:
        for v in values:
            line = line.replace(v, MASK)
        return line
    return mask


def _masked(emit: Callable[[str], None], mask: Callable[[str], str]) -> Callable[[str], None]:
    return lambda line: emit(mask(line))


def _value(world: BuildWorld, name: str, value: str, kind: str) -> str:
    kind = (kind or "PLAINTEXT").upper()
    if kind == "PARAMETER_STORE":
        return _parameter_value(world, name, value)
    if kind == "SECRETS_MANAGER":
        return _secret_value(world, name, value)
    return value


def action_variables(text: str) -> list[dict]:
    """The CodeBuild action's `EnvironmentVariables`: a JSON string holding a list of name/value/type."""
    if not text:
        return []
    try:
        items = json.loads(text)
    except ValueError as exc:
        raise ShipspecError(f"EnvironmentVariables is not valid JSON ({exc}); CodePipeline passes it as a JSON "
                            "string: [{\"name\": ..., \"value\": ..., \"type\": \"PLAINTEXT\"}]") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) and "name" in i for i in items):
        raise ShipspecError("EnvironmentVariables must be a JSON list of {name, value, type}")
    return items


def _buildspec(project: dict, src: Path) -> tuple[str, str]:
    text = str((project.get("source") or {}).get("buildspec") or "")
    if "\n" in text or text.lstrip().startswith("version"):
        return text, f"the buildspec of project {project['name']}"
    path = src / (text or "buildspec.yml")
    if not path.is_file():
        raise ShipspecError(f"YAML_FILE_ERROR: the buildspec {text or 'buildspec.yml'} of project "
                            f"{project['name']} is not in the primary source")
    return path.read_text(encoding="utf-8"), f"{text or 'buildspec.yml'} (primary source)"


def run_build(world: BuildWorld, configuration: dict, inputs: dict[str, Path], outputs: tuple[str, ...],
              write_output: Callable[[str], Path], work: Path, emit: Callable[[str], None]) -> BuildOutcome:
    """One CodeBuild action: `configuration` with variables resolved, `inputs` by artifact name."""
    project = _project(world, str(configuration.get("ProjectName", "")))
    build_id = f"{project['name']}:{uuid.uuid4()}"
    primary = str(configuration.get("PrimarySource") or (next(iter(inputs)) if inputs else ""))
    if inputs and primary not in inputs:
        raise ShipspecError(f"PrimarySource {primary} is not one of the action's input artifacts")
    sources = {}
    for name, path in inputs.items():
        copy = work / ("src" if name == primary else f"src_{name}")
        shutil.copytree(path, copy, symlinks=True)
        sources[name] = copy
    src = sources.get(primary) or (work / "src")
    src.mkdir(parents=True, exist_ok=True)
    text, where = _buildspec(project, src)
    spec = buildspec_run.parse(text, where)
    env_in = project.get("environment") or {}
    creds = role_credentials(world.clients("sts"), project["serviceRole"], "shipspec-local-codebuild")
    home = work / "home"
    home.mkdir(exist_ok=True)
    env = emulator_environment(world.endpoint, world.region, creds, world.cli,
                               path_first=tuple(str(t) for t in world.tools))
    env.update(HOME=str(home), DOCKER_STANDIN_STATE=str(world.docker_state))
    env.update(spec.variables)
    given = [(k, v, "PARAMETER_STORE") for k, v in spec.parameter_store.items()]
    given += [(k, v, "SECRETS_MANAGER") for k, v in spec.secrets_manager.items()]
    given += [(str(item["name"]), str(item.get("value", "")), str(item.get("type", "")))
              for item in env_in.get("environmentVariables") or []]
    given += [(str(item["name"]), str(item.get("value", "")), str(item.get("type", "")))
              for item in action_variables(str(configuration.get("EnvironmentVariables") or ""))]
    secrets: set[str] = set()
    for name, value, kind in given:
        env[name] = _value(world, name, value, kind)
        if (kind or "").upper() in SECRET_KINDS:
            secrets.add(env[name])
    emit = _masked(emit, masker(secrets))
    arn = f"arn:aws:codebuild:{world.region}:{world.account}:build/{build_id}"
    env.update({
        "CODEBUILD_BUILD_ID": build_id, "CODEBUILD_BUILD_ARN": arn, "CODEBUILD_BUILD_NUMBER": "1",
        "CODEBUILD_BUILD_IMAGE": str(env_in.get("image", "")), "CODEBUILD_CI": "true",
        "CODEBUILD_INITIATOR": f"codepipeline/{world.pipeline}",
        "CODEBUILD_KMS_KEY_ID": str(project.get("encryptionKey", "")),
        "CODEBUILD_SOURCE_VERSION": f"arn:aws:s3:::{world.artifact_bucket}/{world.pipeline}/{primary}",
        "CODEBUILD_SRC_DIR": str(src), "CODEBUILD_START_TIME": str(int(time.time() * 1000)),
        **{f"CODEBUILD_SRC_DIR_{name}": str(path) for name, path in sources.items() if name != primary}})
    emit(f"[Container] build {build_id} of project {project['name']} ({where}), image {env_in.get('image', '?')}")
    result = buildspec_run.run(spec, src, env, work / "control", emit, int(project.get("timeoutInMinutes") or 60))
    if not result.succeeded:
        return BuildOutcome(False, f"Build failed in phase {result.failed_phase}: {result.reason}", build_id, {})
    try:
        notes = buildspec_run.collect(spec, src, outputs, write_output)
    except ShipspecError as exc:
        emit(f"[Container] Phase complete: UPLOAD_ARTIFACTS State: FAILED: {exc}")
        return BuildOutcome(False, f"Build failed in phase UPLOAD_ARTIFACTS: {exc}", build_id, {})
    for note in notes:
        emit(f"[Container] {note}")
    return BuildOutcome(True, "", build_id, result.exported, notes)
