"""The doctor reads the latest rollout first (pure: hand-built evidence). A rolled-back rollout is a
problem even though the service is steady again; a later successful one makes it history."""

from __future__ import annotations

from compiler.cli.report_ops import format_status
from compiler.core.known_failures import entry
from compiler.ops.doctor import diagnose
from compiler.ops.evidence import Evidence, StoppedTask
from compiler.ops.rollback import RollbackPlan
from compiler.ops.rollouts import Rollout, Rollouts
from compiler.ops.status import Deployment, PipelineStatus, ServiceStatus, Snapshot
from compiler.spec.project import load_project
from support.cli import REPO

C = next(s.config for s in load_project(REPO, ["news-web"]).services if s.config.environment.name == "stg")
HEALTH = entry("container-health-check").example


def rollout(status: str, reason: str = "", source: str = "news-web:1", target: str = "news-web:2") -> Rollout:
    arn = f"arn:aws:ecs:ap-northeast-1:111111111111:service-deployment/media/news-web/{status.lower()}"
    td = "arn:aws:ecs:ap-northeast-1:111111111111:task-definition/"
    return Rollout(arn, arn.rsplit("/", 1)[-1], status, "ROLLING", (source,), target, (td + source,), td + target,
                   "", 0, 0, 1, "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z", reason, reason)


def steady_evidence(rollouts: Rollouts) -> Evidence:
    """The service runs 1 of 1 on its old revision (what a circuit-breaker rollback leaves)."""
    deployment = Deployment("ecs-svc/9", "PRIMARY", "COMPLETED", "", 1, 1, 0, 0, "news-web:1", (), "", "")
    snap = Snapshot("news-web", "stg", "111111111111", "ap-northeast-1", PipelineStatus("news-web-stg", False),
                    ServiceStatus("media", "news-web", True, "", "ACTIVE", "FARGATE", 1, 1, 0, (deployment,)))
    task = StoppedTask("arn:aws:ecs:t/1", "news-web:2", HEALTH, "TaskFailedToStart", "2026-01-01T00:01:00Z", "", ())
    return Evidence(snap, stopped_tasks=(task,), rollouts=rollouts)


def by_id(d):
    return {f.id: f for f in d.findings}


def test_a_rolled_back_latest_rollout_is_the_first_problem_although_the_service_is_steady():
    cb = "ECS deployment circuit breaker: tasks failed to start."
    d = diagnose(steady_evidence(Rollouts((rollout("ROLLBACK_SUCCESSFUL", cb), rollout("SUCCESSFUL")))), C)
    assert d.findings[0].id == "rollout-failed" and d.findings[0].severity == "error"
    assert d.findings[0].evidence == ("rollout rollback_successful ROLLING ROLLBACK_SUCCESSFUL: news-web:1 -> "
                                      "news-web:2, ended 2026-01-01T00:05:00Z",)
    found = by_id(d)
    assert found["container-health-check"].severity == "error"  # the cause, not "history"
    assert found["circuit-breaker"].evidence[0] == f"rollout rollback_successful: {cb}"
    assert not d.healthy


def test_after_a_successful_rollout_earlier_failures_are_history():
    d = diagnose(steady_evidence(Rollouts((rollout("SUCCESSFUL"), rollout("ROLLBACK_SUCCESSFUL", "x")))), C)
    assert "rollout-failed" not in by_id(d)
    assert by_id(d)["container-health-check"].severity == "warning"
    assert d.healthy


def test_status_text_lists_rollouts_newest_first_with_revisions():
    ev = steady_evidence(Rollouts((rollout("IN_PROGRESS", source="news-web:2", target="news-web:3"),
                                   rollout("ROLLBACK_SUCCESSFUL", "cb"))))
    text = format_status(ev.snapshot, "text", ev.rollouts)
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if "in_progress" in line)
    assert "IN_PROGRESS" in lines[first] and "news-web:2 -> news-web:3, 0 of 1 running" in lines[first]
    assert any("ROLLBACK_SUCCESSFUL" in line and "news-web:1 -> news-web:2" in line for line in lines[first + 1:])
    assert "tasks by deployment:" in text


def test_the_rollback_plan_says_what_it_will_do():
    stop = RollbackPlan("stop", "media", "news-web", "td/news-web:3", "td/news-web:2",
                        rollout("IN_PROGRESS", source="news-web:2", target="news-web:3"))
    assert stop.describe() == ("stop rollout in_progress (ROLLING, IN_PROGRESS) of service news-web in cluster media "
                               "with rollback: news-web:3 -> back to news-web:2")
    back = RollbackPlan("previous", "media", "news-web", "td/news-web:3", "td/news-web:2", why="why")
    assert "point service news-web in cluster media back from news-web:3 to news-web:2 (why)" in back.describe()
