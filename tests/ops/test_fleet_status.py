"""`shipspec status --all`: against the emulator seeded with one healthy, one failing and one missing
service (compiler/local/seed.py), and the pure classification of rows from hand-built snapshots
(pipeline states that need runs are tested there; tests/local/test_local_run.py runs pipelines)."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import pytest

from compiler.cli.report_fleet import fleet_text
from compiler.ops.fleet_status import DEPLOYING, FAILING, HEALTHY, MISSING, age, classify, ordered
from compiler.ops.status import Deployment, Execution, PipelineStatus, ServiceStatus, Snapshot, StageState
from support.plan import STG, Emu, make_repo, moto_endpoint, reset  # noqa: F401 (fixture)

SERVICES = ("_defaults", "news-web", "photo-thumbs", "video-api")


@pytest.fixture(scope="module")
def seeded(moto_endpoint, tmp_path_factory):
    reset(moto_endpoint)
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("SHIPSPEC_ROLE") or key in ("AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID",
                                                           "MOTO_ECS_SERVICE_RUNNING"):
                mp.delenv(key)
        emu = Emu(make_repo(tmp_path_factory.mktemp("fleet"), moto_endpoint, SERVICES), moto_endpoint)
        for argv in (("bootstrap", "--local", "--yes"), ("apply", "--local", "--yes")):
            r = emu.cli(*argv)
            assert r.status == 0, r.err  # the pipelines exist, as status reads them on AWS
        for argv in (("news-web", "--env", "stg"), ("photo-thumbs", "--env", "stg", "--broken", "pull")):
            r = emu.cli("local", "seed", *argv)
            assert r.status == 0, r.err
        yield emu  # video-api stg: nothing seeded, its service is missing


@pytest.mark.slow
def test_status_all_puts_problems_first_and_suggests_doctor(seeded):
    r = seeded.cli("status", "--all", "--env", "stg", "--local")
    assert r.status == 1, r.err
    lines = r.out.splitlines()
    assert lines[0].split()[:3] == ["HEALTH", "SERVICE", "ENV"]
    rows = [line.split()[:3] for line in lines[1:4]]
    assert rows == [["MISSING", "video-api", "stg"], ["FAILING", "photo-thumbs", "stg"], ["healthy", "news-web", "stg"]]
    assert "no task running (0 of 1)" in lines[2] and "0/1" in lines[2]
    assert "1/1" in lines[3] and "COMPLETED" in lines[3]
    assert lines[1].endswith("not found")
    assert "  shipspec doctor video-api --env stg --local" in lines
    assert "  shipspec doctor photo-thumbs --env stg --local" in lines
    assert not any("doctor news-web" in line for line in lines)
    assert lines[-1] == "3 service environments: 1 failing, 1 healthy, 1 missing; 2 with a problem"


@pytest.mark.slow
def test_status_all_json_and_failing_filter(seeded):
    r = seeded.cli("status", "--all", "--env", "stg", "--local", "--failing", "--format", "json")
    assert r.status == 1
    doc = json.loads(r.out)
    assert doc["healthy"] is False and doc["summary"].endswith("2 with a problem")
    assert [(x["service"], x["health"]) for x in doc["rows"]] == [("video-api", MISSING), ("photo-thumbs", FAILING)]
    photo = doc["rows"][1]
    assert (photo["running"], photo["desired"], photo["deployment"]) == (0, 1, "IN_PROGRESS")
    assert photo["doctor"] == "shipspec doctor photo-thumbs --env stg --local"
    assert photo["account"] == STG and photo["cluster"] == "media"
    # the applied pipelines are found (none has run yet): no pipeline problem
    assert all("pipeline" not in p for x in doc["rows"] for p in x["problems"])
    every = json.loads(seeded.cli("status", "--all", "--local", "--format", "json").out)
    assert len(every["rows"]) == 6  # three services, stg and prod
    healthy = seeded.cli("status", "--all", "--env", "stg", "--local", "--failing")
    assert "news-web" not in healthy.out


@pytest.mark.slow
def test_usage(seeded):
    assert seeded.cli("status", "--local").status == 2
    assert seeded.cli("status", "news-web", "--all", "--local").status == 2
    assert seeded.cli("status", "news-web", "--env", "stg", "--local", "--failing").status == 2
    one = seeded.cli("status", "news-web", "--env", "stg", "--local")
    assert one.status == 0 and "Service news-web in cluster media" in one.out  # NAME --env ENV as before


def snap(executions=(), stages=(), found=True, ecs: ServiceStatus | None = None) -> Snapshot:
    pipeline = PipelineStatus("svc-stg", found, tuple(executions), tuple(stages))
    ecs = ecs or ServiceStatus("media", "svc", True, running=2, desired=2, deployments=(dep("COMPLETED"),))
    return Snapshot("svc", "stg", "111111111111", "ap-northeast-1", pipeline, ecs)


def dep(state: str, status: str = "PRIMARY", failed: int = 0, reason: str = "") -> Deployment:
    return Deployment("ecs-svc/1", status, state, reason, 2, 2, 0, failed, "svc:3", (), "", "")


def execution(status: str) -> Execution:
    return Execution("e1", status, "2026-01-01T10:00:00Z", "", "3f9c2ab", "fix", "Webhook")


def test_classify():
    assert classify(snap([execution("Succeeded")])).health == HEALTHY
    failed = classify(snap([execution("Failed")], [StageState("Source", "Succeeded", "", ""),
                                                   StageState("Build", "Failed", "", "")]))
    assert (failed.health, failed.stage, failed.problems) == (FAILING, "Build", ("pipeline failed in stage Build",))
    assert failed.commit == "3f9c2ab" and failed.execution == "Failed"
    assert classify(snap(found=False)).problems == ("pipeline svc-stg not found",)
    rolling = ServiceStatus("media", "svc", True, running=1, desired=2,
                            deployments=(dep("IN_PROGRESS"), dep("COMPLETED", "ACTIVE")))
    assert classify(snap(ecs=rolling)).health == DEPLOYING
    short = ServiceStatus("media", "svc", True, running=1, desired=2, deployments=(dep("COMPLETED"),))
    assert classify(snap(ecs=short)).problems == ("1 of 2 tasks running",)
    down = ServiceStatus("media", "svc", True, running=0, desired=2, deployments=(dep("IN_PROGRESS"),))
    assert classify(snap(ecs=down)).problems == ("no task running (0 of 2)",)
    broke = ServiceStatus("media", "svc", True, running=2, desired=2,
                          deployments=(dep("FAILED", reason="circuit breaker"),))
    assert classify(snap(ecs=broke)).problems == ("deployment failed: circuit breaker",)
    gone = ServiceStatus("media", "svc", False, "cluster-not-found")
    assert (classify(snap(ecs=gone)).health, classify(snap(ecs=gone)).problems) == (MISSING, ("cluster media not found",))


def test_order_age_and_table():
    rows = [classify(snap([execution("Succeeded")])),
            classify(snap([execution("Failed")])),
            classify(snap(ecs=ServiceStatus("media", "svc", False, "service-not-found")))]
    assert [r.health for r in ordered(rows)] == [MISSING, FAILING, HEALTHY]
    now = datetime(2026, 1, 1, 13, 0, 5, tzinfo=timezone.utc)
    assert [age("2026-01-01T10:00:00Z", now), age("2026-01-01T13:00:00Z", now), age("", now)] == ["3h", "5s", ""]
    text = fleet_text(ordered(rows), rows, now)
    assert "3h" in text and "shipspec doctor svc --env stg" in text and "--local" not in text
