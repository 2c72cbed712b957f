"""`shipspec local seed` against a real emulator started by `shipspec local up` (a moto server
process on loopback), read back with `status --local`, `doctor --local` and plain boto3 clients.

Each scenario uses its own cluster or account (the emulator's ListTasks ignores serviceName, so
services sharing a cluster would see each other's stopped tasks).
"""

from __future__ import annotations

import json
from unittest import mock

import pytest

from support.cli import run_cli
from support.plan import REGION, local_emulator, make_repo
from compiler.local.seed import BANNER, broken_kinds, plan_seed, stop_reason
from compiler.core.known_failures import entry, match_reason
from compiler.spec.project import load_project

pytestmark = pytest.mark.slow

STG, PROD = "111111111111", "222222222222"
SERVICES = ("_defaults", "news-web", "photo-thumbs", "video-api")


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    """A scratch repository with `shipspec local up` running; (root, endpoint)."""
    with local_emulator(tmp_path_factory.mktemp("seed"), SERVICES) as (root, endpoint, _):
        yield root, endpoint


def client(endpoint: str, service: str, account: str):
    import boto3

    sts = boto3.client("sts", region_name=REGION, endpoint_url=endpoint)
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/test", RoleSessionName="tests")["Credentials"]
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint, aws_access_key_id=c["AccessKeyId"],
                        aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])


def config(name: str, env: str):
    from support.cli import REPO

    return next(s.config for s in load_project(REPO, [name]).services if s.config.environment.name == env)


def cli_json(root, *args: str) -> tuple[int, dict]:
    r = run_cli(*args, "--format", "json", root=root)
    try:
        return r.status, json.loads(r.out)
    except ValueError:
        raise AssertionError(f"{args} printed no JSON (status {r.status}):\n{r.out}\n{r.err}") from None


def errors(doc: dict) -> set[str]:
    return {f["id"] for f in doc["findings"] if f["severity"] == "error"}


def test_healthy_seed_gives_status_a_deployment_and_doctor_a_healthy_service(emulator):
    root, endpoint = emulator
    seeded = run_cli("local", "seed", "news-web", "--env", "stg", root=root)
    assert seeded.status == 0, seeded.err
    assert seeded.out.startswith(BANNER) and "emulator only" in seeded.out and endpoint in seeded.out

    status, snap = cli_json(root, "status", "news-web", "--env", "stg", "--local")
    assert status == 0 and snap["account"] == STG
    ecs = snap["ecs"]
    assert ecs["found"] and (ecs["cluster"], ecs["name"], ecs["launch_type"]) == ("media", "news-web", "FARGATE")
    assert (ecs["desired"], ecs["running"]) == (1, 1)
    [deployment] = ecs["deployments"]
    assert deployment["status"] == "PRIMARY" and deployment["rollout_state"] == "COMPLETED"
    [image] = deployment["images"]
    container, uri = image.split("=", 1)
    assert container == "web"  # service.container of services/news-web.yaml
    repo_uri, tag = uri.rsplit(":", 1)

    # what status shows is really there, in the environment's account and only there
    ecr = client(endpoint, "ecr", STG)
    assert ecr.describe_repositories(repositoryNames=["media/news-web"])["repositories"][0]["repositoryUri"] == repo_uri
    assert ecr.describe_images(repositoryName="media/news-web", imageIds=[{"imageTag": tag}])["imageDetails"]
    td = client(endpoint, "ecs", STG).describe_task_definition(taskDefinition=deployment["task_definition"])[
        "taskDefinition"]
    assert td["family"] == "news-web" and (td["cpu"], td["memory"]) == ("256", "512")
    [c] = td["containerDefinitions"]
    assert c["logConfiguration"]["logDriver"] == "awslogs"
    assert {s["name"]: s["valueFrom"] for s in c["secrets"]} == dict(config("news-web", "stg").service.secrets)
    prod = client(endpoint, "ecs", PROD)
    try:  # the other account has no such service (its cluster may exist: another test seeds one)
        assert prod.describe_services(cluster="media", services=["news-web"])["services"] == []
    except prod.exceptions.ClusterNotFoundException:
        pass

    # the spec's secret exists (metadata only), so the doctor's secret check passes too
    status, doc = cli_json(root, "doctor", "news-web", "--env", "stg", "--local")
    assert status == 0 and doc["healthy"] is True and errors(doc) == set()
    checks = doc["evidence"]["image_checks"] + doc["evidence"]["secret_checks"]
    assert [c["status"] for c in checks] == ["ok", "ok"]
    text = run_cli("doctor", "news-web", "--env", "stg", "--local", root=root)
    assert text.status == 0 and "healthy: service news-web in cluster media, 1 of 1 tasks running" in text.out


def test_broken_pull_makes_doctor_report_the_missing_image(emulator):
    root, endpoint = emulator
    seeded = run_cli("local", "seed", "photo-thumbs", "--env", "prod", "--broken", "pull", root=root)
    assert seeded.status == 0, seeded.err

    status, snap = cli_json(root, "status", "photo-thumbs", "--env", "prod", "--local")
    assert status == 0 and snap["account"] == PROD
    assert (snap["ecs"]["desired"], snap["ecs"]["running"]) == (1, 0)
    assert snap["ecs"]["deployments"][0]["rollout_state"] == "IN_PROGRESS"

    status, doc = cli_json(root, "doctor", "photo-thumbs", "--env", "prod", "--local")
    assert status == 1 and doc["healthy"] is False
    assert {"image-not-found", "image-missing-in-ecr"} <= errors(doc)
    stopped = doc["evidence"]["stopped_tasks"]
    assert len(stopped) == 2 and all(match_reason(t["stopped_reason"]).id == "image-not-found" for t in stopped)
    image = doc["evidence"]["task_definition"]["images"][0]
    assert all(image in t["stopped_reason"] for t in stopped)  # the reason names the service's own image
    ecr = client(endpoint, "ecr", PROD)
    assert ecr.list_images(repositoryName="media/photo-thumbs")["imageIds"] == []
    text = run_cli("doctor", "photo-thumbs", "--env", "prod", "--local", root=root)
    assert text.status == 1 and "PROBLEM image-not-found" in text.out


def test_disk_full_on_ec2_then_a_healthy_reseed(emulator):
    root, endpoint = emulator
    seeded = run_cli("local", "seed", "video-api", "--env", "stg", "--broken", "disk-full", root=root)
    assert seeded.status == 0, seeded.err
    status, doc = cli_json(root, "doctor", "video-api", "--env", "stg", "--local")
    assert status == 1 and "disk-full" in errors(doc)
    [instance] = doc["evidence"]["instances"]
    disk = next(f for f in doc["findings"] if f["id"] == "disk-full")
    assert f"affected instances: {instance['ec2_instance_id']}" in disk["details"]
    # the instance is tagged for the agent-config association and recorded the spec's settings
    assert not {f["id"] for f in doc["findings"]} & {"agent-config-untargeted", "agent-config-unrecorded",
                                                     "agent-config-drift"}

    again = run_cli("local", "seed", "video-api", "--env", "stg", root=root)
    assert again.status == 0, again.err
    status, doc = cli_json(root, "doctor", "video-api", "--env", "stg", "--local")
    assert status == 0 and doc["healthy"] is True
    assert [f["severity"] for f in doc["findings"] if f["id"] == "disk-full"] == ["warning"]  # history now
    services = client(endpoint, "ecs", STG).describe_services(cluster="media-ec2", services=["video-api-service"])
    assert [s["status"] for s in services["services"]] == ["ACTIVE"]
    assert services["services"][0]["taskDefinition"].endswith(":2")  # a new revision


def test_refuses_without_a_running_emulator(tmp_path):
    root = make_repo(tmp_path, "http://127.0.0.1:9", SERVICES)  # recorded, but nothing answers
    r = run_cli("local", "seed", "news-web", "--env", "stg", root=root)
    assert r.status == 1 and "local emulator only" in r.err and "run `shipspec local up`" in r.err
    (root / ".shipspec" / "local.json").unlink()
    r = run_cli("local", "seed", "news-web", "--env", "stg", root=root)
    assert r.status == 1 and "the local emulator is not running" in r.err


def test_refuses_an_endpoint_that_is_not_loopback(tmp_path):
    root = make_repo(tmp_path, "http://10.20.30.40:4566", SERVICES)
    with mock.patch("compiler.local.emulator.healthy", return_value=True), \
            mock.patch("compiler.ops.clients.client_factory", side_effect=AssertionError("no clients")):
        r = run_cli("local", "seed", "news-web", "--env", "stg", root=root)
    assert r.status == 1 and "not a loopback address" in r.err and "10.20.30.40" in r.err


def test_bad_usage():
    assert run_cli("local", "seed", "news-web").status == 2  # --env is required
    r = run_cli("local", "seed", "news-web", "--env", "stg", "--broken", "gremlins")
    assert r.status == 2 and "disk-full" in r.err
    r = run_cli("local", "seed", "news-web", "--env", "qa")
    assert r.status == 1 and "no environment 'qa'" in r.err


@pytest.mark.parametrize("kind", broken_kinds())
def test_every_broken_kind_is_diagnosed_as_itself(kind):
    """The seeded reason (the table's example, naming the service's image) matches its own entry."""
    image = f"{STG}.dkr.ecr.{REGION}.amazonaws.com/media/news-web:abc1234"
    plan = plan_seed(config("news-web", "stg"), kind)
    reason = stop_reason(plan.broken, image)
    assert match_reason(reason).id == plan.broken == {"pull": "image-not-found"}.get(kind, kind)
    if "dkr.ecr" in entry(plan.broken).example:
        assert image in reason and "video-api" not in reason


def test_plan_leaves_out_what_the_broken_kind_needs_missing():
    news = config("news-web", "prod")
    assert [s.value_from for s in plan_seed(news).create_secrets] == [news.service.secrets["DB_PASSWORD"]]
    assert plan_seed(news, "secret-unavailable").create_secrets == ()
    assert plan_seed(news).push_image and not plan_seed(news, "pull").push_image
    assert plan_seed(news).create_log_group and not plan_seed(news, "log-config").create_log_group
