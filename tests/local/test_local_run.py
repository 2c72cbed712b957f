"""`shipspec local run` end to end on the emulator of `shipspec local up`: each example service and golden
output case is applied, its pipeline run as stored in the emulator, and its effects read back over HTTP:
one new task-definition revision with the built image and the spec's environment and secrets, the
service pointed at it, the notifications the spec asks for delivered through the handler to SNS (and
read back from SQS); failures stop the run where CodePipeline stops it."""

from __future__ import annotations

import contextlib
import copy
import json
import threading
import time
from pathlib import Path

import pytest

from compiler.build.render.service_files import repository_uri
from compiler.local.git_source import scratch_repository
from compiler.spec import naming
from compiler.spec.project import load_project
from support.cli import REPO
from support.ecs import KEPT_ENV, KEPT_SECRET
from support.local_run import (PLACEHOLDER, Project, apply, prepare_world, project, service_task_definition,
                               source_repository, stand_ins, task_definitions)
from support.plan import local_emulator

pytestmark = pytest.mark.slow

GOLDEN = REPO / "tests" / "golden" / "output"


def _cases() -> list[tuple[str, Path, str, str]]:
    """(id, services directory, service, environment): every example service in every environment, and
    every golden output case in each of its environments."""
    out = []
    for services in [REPO / "services", *sorted(d / "services" for d in GOLDEN.iterdir() if d.is_dir())]:
        label = "example" if services.parent == REPO else services.parent.name
        for s in load_project(services.parent).services:
            c = s.config
            out.append((f"{label}:{c.name}-{c.environment.name}", services, c.name, c.environment.name))
    return out


CASES = _cases()


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    """One emulator (a real `shipspec local up`) for the module; the root that started it."""
    with local_emulator(tmp_path_factory.mktemp("emulator"), services=("_defaults",)) as (root, _url, _up):
        yield root


def _world(emulator: Path, tmp_path: Path, services: Path, name: str, env: str):
    p = project(tmp_path / "repo", services, emulator)
    apply(p, name, env)
    c = p.config(name, env)
    seeded = prepare_world(p, c)
    return p, c, seeded


def _actions(doc: dict) -> dict[str, dict]:
    return {f"{s['name']}/{a['name']}": a for s in doc["stages"] for a in s["actions"]}


def _delivered(doc: dict) -> set[str]:
    return {d["event"] for d in doc["deliveries"] if d["result"] == "published"}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_the_pipeline_runs_end_to_end(case, emulator, tmp_path):
    _id, services, name, env = case
    p, c, seeded = _world(emulator, tmp_path, services, name, env)
    before = set(task_definitions(p, c))
    repo = source_repository(tmp_path / "source", c)
    approve = ["--approve"] if c.deploy.approval else []
    doc, r = p.run(name, env, "--source", str(repo), "--tools", str(stand_ins(tmp_path / "tools")), *approve)
    assert r.status == 0, "\n".join(f"{a['stage']}/{a['name']}: {a['error']}\n" + "\n".join(a["log_tail"])
                                    for a in _actions(doc).values() if a["error"]) or r.err
    assert doc["status"] == "Succeeded" and all(s["status"] == "Succeeded" for s in doc["stages"])
    actions = _actions(doc)
    image = actions["Build/Build"]["variables"]["IMAGE_URI"]
    commit = actions["Source/Source"]["summary"].split(" @ ", 1)[1][:7]
    assert image == f"{repository_uri(c)}:{commit}"
    # one new revision, with the built image and the spec's environment and secrets; the service runs it
    td = service_task_definition(p, c)
    assert set(task_definitions(p, c)) - before == {td["taskDefinitionArn"]} and seeded in before
    assert td["taskDefinitionArn"] == actions["UpdateService/UpdateService"]["variables"]["TASK_DEFINITION_ARN"]
    container = next(x for x in td["containerDefinitions"] if x["name"] == c.container_name)
    assert container["image"] == image
    environment = {e["name"]: e["value"] for e in container.get("environment", [])}
    secrets = {s["name"]: s["valueFrom"] for s in container.get("secrets", [])}
    assert {**environment, **dict(c.service.environment)} == environment and KEPT_ENV["name"] in environment
    assert {**secrets, **dict(c.service.secrets)} == secrets and KEPT_SECRET["name"] in secrets
    ecr = p.client("ecr", c.environment.account, c.environment.region)
    assert ecr.describe_images(repositoryName=c.build.ecr_repository, imageIds=[{"imageTag": commit}])["imageDetails"]
    # the notifications the spec asks for, through the handler to SNS and back from the SQS inbox
    pipeline = naming.pipeline_name(c)
    assert {"pipeline STARTED", "pipeline SUCCEEDED"} <= set(doc["events"])
    wanted = {s for s in ("STARTED", "SUCCEEDED") if s in c.notifications.events}
    assert {e for e in _delivered(doc) if e.startswith("pipeline ")} == {f"pipeline {s}" for s in wanted}
    subjects = [m["subject"] for m in doc["received"]]
    assert sorted(s for s in subjects if "pipeline execution" in s) == sorted(
        f"{s}: {pipeline} pipeline execution" for s in wanted)


@pytest.fixture(scope="module")
def news_web(emulator, tmp_path_factory):
    """news-web applied in stg and prod, for the tests that change things."""
    tmp = tmp_path_factory.mktemp("news-web")
    p = project(tmp / "repo", REPO / "services", emulator)
    for env in ("stg", "prod"):
        apply(p, "news-web", env)
    return p


def _seed(p: Project, env: str):
    """news-web's service in ENV seeded again (a new revision it runs); (config, that revision)."""
    c = p.config("news-web", env)
    return c, prepare_world(p, c)


def test_a_failing_build_fails_the_run_at_build_with_failed_delivered_and_nothing_registered(news_web, tmp_path):
    c, seeded = _seed(news_web, "stg")
    # a commit without its Dockerfile: the build's `docker build` fails
    repo = scratch_repository(tmp_path / "source", (c.source.branch,), {"README.md": "no Dockerfile\n"},
                              "Remove the Dockerfile")
    doc, r = news_web.run("news-web", "stg", "--source", str(repo))
    assert r.status == 1 and doc["status"] == "Failed"
    assert [(s["name"], s["status"]) for s in doc["stages"]] == [
        ("Source", "Succeeded"), ("Build", "Failed"), ("UpdateService", ""), ("Deploy", "")]
    build = _actions(doc)["Build/Build"]
    assert "docker build" in build["error"] and "no such file" in "\n".join(build["log_tail"])
    assert doc["failure"].startswith("Build/Build: ")
    assert _delivered(doc) == {"pipeline FAILED"}
    assert [m["subject"] for m in doc["received"]] == ["FAILED: news-web-stg pipeline execution"]
    assert "State:        FAILED" in doc["received"][0]["message"] and "Remove the Dockerfile" in doc["received"][0][
        "message"]
    assert task_definitions(news_web, c)[-1] == seeded, "nothing registered after the seeded revision"
    assert service_task_definition(news_web, c)["taskDefinitionArn"] == seeded
    text = news_web.cli("local", "run", "news-web", "--env", "stg", "--source", str(repo))
    assert text.status == 1 and "FAILED Build/Build" in text.out and "log tail" in text.out


def test_a_rejected_approval_stops_before_update_service(news_web, tmp_path):
    c, seeded = _seed(news_web, "prod")
    doc, r = news_web.run("news-web", "prod", "--reject")
    assert r.status == 1
    assert [(s["name"], s["status"]) for s in doc["stages"]] == [
        ("Source", "Succeeded"), ("Build", "Succeeded"), ("Approval", "Failed"), ("UpdateService", ""),
        ("Deploy", "")]
    assert "rejected" in _actions(doc)["Approval/Approval"]["error"]
    assert service_task_definition(news_web, c)["taskDefinitionArn"] == seeded
    # prod's rule also matches the approval's STARTED event (a message with a link to approve)
    assert _delivered(doc) == {"action Approval/Approval STARTED", "pipeline FAILED"}
    assert any(m["subject"].startswith("APPROVAL NEEDED: news-web-prod") for m in doc["received"])


def test_an_approval_waits_for_an_answer_given_with_the_aws_api(news_web):
    """Without --approve or --reject the run waits; PutApprovalResult (here: another caller) answers."""
    c, seeded = _seed(news_web, "prod")
    cp = news_web.client("codepipeline", c.environment.account, c.environment.region)
    answered = []

    def approver():
        deadline = time.time() + 120
        while time.time() < deadline and not answered:
            for stage in cp.get_pipeline_state(name="news-web-prod")["stageStates"]:
                for action in stage["actionStates"]:
                    latest = action.get("latestExecution") or {}
                    if stage["stageName"] == "Approval" and latest.get("status") == "InProgress" and latest.get("token"):
                        cp.put_approval_result(pipelineName="news-web-prod", stageName="Approval", actionName="Approval",
                                               token=latest["token"], result={"status": "Approved",
                                                                              "summary": "looks good"})
                        answered.append(latest["token"])
            time.sleep(0.2)

    thread = threading.Thread(target=approver, daemon=True)
    thread.start()
    doc, r = news_web.run("news-web", "prod")
    thread.join(5)
    assert answered and r.status == 0, r.err
    assert _actions(doc)["Approval/Approval"]["summary"] == "approved: looks good"
    assert service_task_definition(news_web, c)["taskDefinitionArn"] != seeded
    with pytest.raises(Exception, match="ApprovalAlreadyCompleted"):
        cp.put_approval_result(pipelineName="news-web-prod", stageName="Approval", actionName="Approval",
                               token=answered[0], result={"status": "Rejected", "summary": "too late"})


@contextlib.contextmanager
def _edited(p: Project, c, change):
    """The stored pipeline changed with UpdatePipeline (as a person could), then put back."""
    cp = p.client("codepipeline", c.environment.account, c.environment.region)
    original = cp.get_pipeline(name=naming.pipeline_name(c))["pipeline"]
    pipeline = copy.deepcopy(original)
    change({a["name"]: a for s in pipeline["stages"] for a in s["actions"]})
    cp.update_pipeline(pipeline=pipeline)
    try:
        yield
    finally:
        cp.update_pipeline(pipeline=original)


def test_a_variable_never_exported_fails_the_run_naming_the_action(news_web):
    c, seeded = _seed(news_web, "stg")

    def reference_a_missing_variable(actions):
        actions["UpdateService"]["configuration"]["EnvironmentVariables"] = json.dumps(
            [{"name": "IMAGE_URI", "value": "#{BuildVariables.IMAGE_DIGEST}", "type": "PLAINTEXT"}])

    with _edited(news_web, c, reference_a_missing_variable):
        doc, r = news_web.run("news-web", "stg")
    assert r.status == 1 and _actions(doc)["Build/Build"]["status"] == "Succeeded"
    error = _actions(doc)["UpdateService/UpdateService"]["error"]
    assert doc["failure"].startswith("UpdateService/UpdateService: ")
    assert "#{BuildVariables.IMAGE_DIGEST}" in error and "Build/Build" in error and "IMAGE_URI" in error
    assert service_task_definition(news_web, c)["taskDefinitionArn"] == seeded


def test_an_artifact_read_before_it_is_written_fails_the_run_naming_the_action(news_web):
    c, seeded = _seed(news_web, "stg")

    def read_the_update_artifact_early(actions):
        actions["Build"]["inputArtifacts"] = [{"name": "source"}, {"name": "update"}]

    with _edited(news_web, c, read_the_update_artifact_early):
        doc, r = news_web.run("news-web", "stg")
    assert r.status == 1
    assert doc["failure"] == "Build/Build: input artifact update is read before any earlier action wrote it"
    assert [(s["name"], s["status"]) for s in doc["stages"]][:2] == [("Source", "Succeeded"), ("Build", "Failed")]


def test_secret_values_given_to_a_build_never_reach_its_log(news_web, tmp_path):
    """A build that prints a SECRETS_MANAGER variable: the value is masked on the terminal, in the JSON
    and in the run's log files, as CodeBuild masks it; the build still sees the real value."""
    c, _seeded = _seed(news_web, "stg")
    sm = news_web.client("secretsmanager", c.environment.account, c.environment.region)
    try:
        secret = sm.create_secret(Name="news/masking-test", SecretString=PLACEHOLDER)["ARN"]
    except sm.exceptions.ResourceExistsException:
        secret = sm.describe_secret(SecretId="news/masking-test")["ARN"]
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "docker").write_text('#!/bin/sh\necho "docker sees [$LEAKY]"\n'
                                  '[ "$LEAKY" = "$EXPECTED" ] && echo "the build got the real value"\nexit 1\n')
    (tools / "docker").chmod(0o755)

    def give_the_build_a_secret(actions):
        config = actions["Build"]["configuration"]
        config["EnvironmentVariables"] = json.dumps(json.loads(config.get("EnvironmentVariables") or "[]") + [
            {"name": "LEAKY", "value": secret, "type": "SECRETS_MANAGER"},
            {"name": "EXPECTED", "value": PLACEHOLDER, "type": "PLAINTEXT"}])

    with _edited(news_web, c, give_the_build_a_secret):
        doc, r = news_web.run("news-web", "stg", "--tools", str(tools))
        text = news_web.cli("local", "run", "news-web", "--env", "stg", "--tools", str(tools))
    assert r.status == 1 and text.status == 1
    tail = "\n".join(_actions(doc)["Build/Build"]["log_tail"])
    assert "docker sees [***]" in tail and "the build got the real value" in tail, tail
    logs = "".join(f.read_text(errors="replace") for f in (news_web.root / ".shipspec" / "runs").rglob("*")
                   if f.is_file())
    assert "docker sees [***]" in logs
    # the only place the value may appear is the PLAINTEXT variable this test gave for comparison
    for where, out in (("json", json.dumps(doc["stages"])), ("text", text.out + text.err)):
        assert f"[{PLACEHOLDER}]" not in out, where
    assert f"[{PLACEHOLDER}]" not in logs


def test_status_shows_the_execution_the_run_recorded(news_web):
    c, _seeded = _seed(news_web, "stg")
    doc, r = news_web.run("news-web", "stg")
    assert r.status == 0, r.err
    status = news_web.cli("status", "news-web", "--env", "stg", "--local", "--format", "json")
    snap = json.loads(status.out)
    latest = snap["pipeline"]["executions"][0]
    assert (latest["id"], latest["status"], latest["trigger"]) == (doc["execution_id"], "Succeeded",
                                                                  "StartPipelineExecution")
    assert latest["commit"] and latest["summary"].startswith("Throw-away commit")
    assert [(s["name"], s["status"]) for s in snap["pipeline"]["stages"]] == [
        ("Source", "Succeeded"), ("Build", "Succeeded"), ("UpdateService", "Succeeded"), ("Deploy", "Succeeded")]
    text = news_web.cli("status", "news-web", "--env", "stg", "--local")
    assert doc["execution_id"] in text.out


STAGED = """name: stage-check
source:
  repository: example-corp/stage-check
  branch: main
build:
  ecr_repository: media/stage-check
service:
  cluster: media
stages:
  - name: Checks
    after: Source
    actions:
      - name: Left
        commands:
          - 'touch "$MEET/left"'
          - 'for i in $(seq 300); do [ -f "$MEET/right" ] && break; sleep 0.1; done; test -f "$MEET/right"'
        environment: {MEET: "%(meet)s"}
      - name: Right
        commands:
          - 'touch "$MEET/right"'
          - 'for i in $(seq 300); do [ -f "$MEET/left" ] && break; sleep 0.1; done; test -f "$MEET/left"'
        environment: {MEET: "%(meet)s"}
  - name: Smoke
    after: Deploy
    actions:
      - name: SeesImage
        commands: ['echo "image under test: ${IMAGE_URI:-none}"', 'test -n "$IMAGE_URI"']
        needs_image: true
      - name: Later
        run_order: 2
        commands: ['echo "after the smoke test"']
"""


def test_custom_stages_run_in_their_places_parallel_actions_together_and_needs_image_sees_the_image(emulator, tmp_path):
    services = tmp_path / "services"
    services.mkdir()
    (services / "_defaults.yaml").write_text((REPO / "services" / "_defaults.yaml").read_text())
    meet = tmp_path / "meet"
    meet.mkdir()
    (services / "stage-check.yaml").write_text(STAGED % {"meet": meet})
    p, c, _seeded = _world(emulator, tmp_path, services, "stage-check", "stg")
    doc, r = p.run("stage-check", "stg")
    assert r.status == 0, r.err
    assert [s["name"] for s in doc["stages"]] == ["Source", "Checks", "Build", "UpdateService", "Deploy", "Smoke"]
    events = doc["events"]
    # Left and Right wait for each other's file: both succeed only when they run at the same time
    started = [events.index(f"action Checks/{a} STARTED") for a in ("Left", "Right")]
    ended = [events.index(f"action Checks/{a} SUCCEEDED") for a in ("Left", "Right")]
    assert max(started) < min(ended)
    assert events.index("stage Checks SUCCEEDED") < events.index("stage Build STARTED")
    assert events.index("stage Deploy SUCCEEDED") < events.index("stage Smoke STARTED")
    # run order 2 starts once run order 1 has finished
    assert events.index("action Smoke/SeesImage SUCCEEDED") < events.index("action Smoke/Later STARTED")
    image = _actions(doc)["Build/Build"]["variables"]["IMAGE_URI"]
    log = Path(p.root / _actions(doc)["Smoke/SeesImage"]["log"]).read_text()
    assert f"image under test: {image}" in log


def test_a_pipeline_not_applied_is_named_with_what_to_do(emulator, tmp_path):
    services = tmp_path / "services"
    services.mkdir()
    (services / "_defaults.yaml").write_text((REPO / "services" / "_defaults.yaml").read_text())
    (services / "never-applied.yaml").write_text(
        "name: never-applied\nsource: {repository: example-corp/never-applied}\n"
        "build: {ecr_repository: media/never-applied}\nservice: {cluster: media}\n")
    p = project(tmp_path / "repo", services, emulator)
    r = p.cli("local", "run", "never-applied", "--env", "stg")
    assert r.status == 1
    assert "pipeline never-applied-stg is not in the emulator (account 111111111111" in r.err
    assert "shipspec apply --local" in r.err



def test_an_artifact_name_that_is_a_path_fails_the_action_and_nothing_leaves_the_run_folder(news_web):
    """An output artifact named `../..` in the stored pipeline (UpdatePipeline takes it): the action fails
    naming it; no folder outside .shipspec/runs/ is made or removed."""
    c, seeded = _seed(news_web, "stg")
    keep = news_web.root / "escaped-artifact"
    keep.mkdir()
    (keep / "mine.txt").write_text("kept")
    escaped = "../../../../escaped-artifact"

    def name_an_artifact_with_a_path(actions):
        actions["Source"]["outputArtifacts"] = [{"name": escaped}]
        actions["Build"]["inputArtifacts"] = [{"name": escaped}]

    with _edited(news_web, c, name_an_artifact_with_a_path):
        doc, r = news_web.run("news-web", "stg")
    assert r.status == 1
    assert doc["failure"].startswith(f"Source/Source: output artifact name '{escaped}' is not a valid artifact name")
    assert (keep / "mine.txt").read_text() == "kept" and list(keep.iterdir()) == [keep / "mine.txt"]
    assert service_task_definition(news_web, c)["taskDefinitionArn"] == seeded
