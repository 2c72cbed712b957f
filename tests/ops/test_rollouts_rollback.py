"""Rollouts end to end on a real `shipspec local up` emulator: `local deploy` runs the generated
UpdateService and Deploy scripts with the AWS CLI, then `status`, `doctor` and `rollback` (both
modes) read and act on the service deployments the emulator models.

Each scenario has its own service (and cluster or account where stopped tasks could mix).
"""

from __future__ import annotations

import json

import pytest

from support.cli import run_cli
from support.plan import REGION, local_emulator

pytestmark = pytest.mark.slow

SERVICES = ("_defaults", "news-web", "photo-thumbs", "video-api")
STG, PROD = "111111111111", "222222222222"


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    with local_emulator(tmp_path_factory.mktemp("rollouts"), SERVICES) as (root, endpoint, _):
        yield root


def ecs(root, account: str):
    import boto3

    endpoint = json.loads((root / ".shipspec" / "local.json").read_text())["endpoint"]
    sts = boto3.client("sts", region_name=REGION, endpoint_url=endpoint)
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/test", RoleSessionName="tests")["Credentials"]
    return boto3.client("ecs", region_name=REGION, endpoint_url=endpoint, aws_access_key_id=c["AccessKeyId"],
                        aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])


def seeded(root, name: str, env: str) -> None:
    r = run_cli("local", "seed", name, "--env", env, root=root)
    assert r.status == 0, r.err


def deploy(root, name: str, env: str, *args: str):
    return run_cli("local", "deploy", name, "--env", env, *args, root=root)


def task_definition(root, account: str, cluster: str, service: str) -> str:
    svc = ecs(root, account).describe_services(cluster=cluster, services=[service])["services"][0]
    return svc["taskDefinition"].rsplit("/", 1)[-1]


def rollouts(root, name: str, env: str) -> list[dict]:
    r = run_cli("status", name, "--env", env, "--local", "--format", "json", root=root)
    assert r.status == 0, r.err
    return json.loads(r.out)["rollouts"]["items"]


def test_status_shows_each_rollout_with_its_strategy_state_and_revisions(root):
    seeded(root, "news-web", "stg")
    ok = deploy(root, "news-web", "stg")
    assert ok.status == 0, ok.out + ok.err
    assert "SUCCESSFUL: deployment" in ok.out
    failed = deploy(root, "news-web", "stg", "--outcome", "rollback", "--reason", "image-not-found")
    assert failed.status == 1
    assert "ROLLED BACK" in failed.out and "DIAGNOSIS image-not-found" in failed.out
    items = rollouts(root, "news-web", "stg")
    assert [(r["status"], r["strategy"], r["source"], r["target"]) for r in items] == [
        ("ROLLBACK_SUCCESSFUL", "ROLLING", ["news-web:2"], "news-web:3"),
        ("SUCCESSFUL", "ROLLING", ["news-web:1"], "news-web:2"),
    ]
    text = run_cli("status", "news-web", "--env", "stg", "--local", root=root).out
    assert "rollouts (service deployments, newest first):" in text
    assert f"{items[0]['id']:<22} ROLLING    ROLLBACK_SUCCESSFUL" in text
    assert "news-web:2 -> news-web:3" in text


def test_doctor_reads_the_latest_failed_rollout_first_even_when_the_service_is_steady(root):
    seeded(root, "photo-thumbs", "prod")
    assert deploy(root, "photo-thumbs", "prod", "--outcome", "rollback", "--reason", "container-health-check").status == 1
    svc = ecs(root, PROD).describe_services(cluster="media", services=["photo-thumbs"])["services"][0]
    assert svc["runningCount"] == svc["desiredCount"]  # steady, on the old revision
    r = run_cli("doctor", "photo-thumbs", "--env", "prod", "--local", "--format", "json", root=root)
    assert r.status == 1, r.out
    doc = json.loads(r.out)
    assert doc["findings"][0]["id"] == "rollout-failed" and doc["findings"][0]["severity"] == "error"
    assert "ROLLBACK_SUCCESSFUL" in doc["findings"][0]["evidence"][0]
    health = next(f for f in doc["findings"] if f["id"] == "container-health-check")
    assert health["severity"] == "error"  # not "history": the latest rollout failed because of it
    assert not doc["healthy"]
    # a later successful rollout makes it history again
    assert deploy(root, "photo-thumbs", "prod").status == 0
    doc = json.loads(run_cli("doctor", "photo-thumbs", "--env", "prod", "--local", "--format", "json",
                             root=root).out)
    assert "rollout-failed" not in {f["id"] for f in doc["findings"]}


def test_rollback_without_a_rollout_in_progress_goes_back_to_the_previous_revision(root):
    seeded(root, "video-api", "stg")
    assert deploy(root, "video-api", "stg").status == 0
    assert task_definition(root, STG, "media-ec2", "video-api-service") == "video-api-service:2"
    r = run_cli("rollback", "video-api", "--env", "stg", "--local", "--yes", root=root)
    assert r.status == 0, r.err
    assert ("no rollout in progress: point service video-api-service in cluster media-ec2 back from "
            "video-api-service:2 to video-api-service:1") in r.out
    assert "now rolling out video-api-service:1: service deployment arn:aws:ecs:" in r.out
    assert task_definition(root, STG, "media-ec2", "video-api-service") == "video-api-service:1"
    latest = rollouts(root, "video-api", "stg")[0]
    assert (latest["source"], latest["target"]) == (["video-api-service:2"], "video-api-service:1")


def test_rollback_stops_the_rollout_in_progress(root):
    seeded(root, "news-web", "prod")
    hung = deploy(root, "news-web", "prod", "--outcome", "hang")
    assert hung.status == 1 and "timed out" in hung.out
    before = rollouts(root, "news-web", "prod")[0]
    assert before["status"] == "IN_PROGRESS"
    r = run_cli("rollback", "news-web", "--env", "prod", "--local", "--yes", root=root)
    assert r.status == 0, r.err
    assert f"stop rollout {before['id']} (ROLLING, IN_PROGRESS)" in r.out
    assert "news-web:2 -> back to news-web:1" in r.out
    assert f"stopped with rollback: service deployment {before['arn']}" in r.out
    after = rollouts(root, "news-web", "prod")[0]
    while after["status"] != "ROLLBACK_SUCCESSFUL":  # the emulator moves it one step per read
        assert after["status"] in ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"), after
        after = rollouts(root, "news-web", "prod")[0]
    assert after["arn"] == before["arn"]
    assert task_definition(root, PROD, "media", "news-web") == "news-web:1"


def test_rollback_asks_first_and_changes_nothing_without_an_answer(root):
    seeded(root, "photo-thumbs", "stg")
    assert deploy(root, "photo-thumbs", "stg").status == 0
    r = run_cli("rollback", "photo-thumbs", "--env", "stg", "--local", root=root)
    assert r.status == 1
    assert "photo-thumbs:1" in r.out  # the plan is shown first
    assert "refusing to roll back without --yes" in r.err and "nothing was changed" in r.err
    assert task_definition(root, STG, "media", "photo-thumbs") == "photo-thumbs:2"


def test_rollback_with_nothing_to_go_back_to_says_so(root, tmp_path):
    client = ecs(root, PROD)
    client.create_cluster(clusterName="lonely")
    td = client.register_task_definition(family="lonely-web", containerDefinitions=[
        {"name": "web", "image": "nginx:1.27", "memory": 128}])["taskDefinition"]["taskDefinitionArn"]
    client.create_service(cluster="lonely", serviceName="lonely-web", taskDefinition=td, desiredCount=1)
    spec = root / "services" / "lonely-web.yaml"
    spec.write_text("name: lonely-web\nsource: {repository: example-corp/lonely-web}\n"
                    "build: {ecr_repository: media/lonely-web}\nservice: {cluster: lonely}\n")
    try:
        r = run_cli("rollback", "lonely-web", "--env", "prod", "--local", "--yes", root=root)
    finally:
        spec.unlink()
    assert r.status == 1
    assert "nothing to roll back to: service lonely-web runs lonely-web:1" in r.err
    assert "Traceback" not in r.err
