"""The pure parts of `shipspec drift`: the runtime comparison with the spec, the stack summary and
its masking, the emulator's property comparison, and the three report formats."""

from __future__ import annotations

import json

from compiler.build.ir import Stack
from compiler.cli.report_drift import MARKER, Report, markdown, render, summary, text
from compiler.local.emudrift import differences
from compiler.ops import drift
from compiler.ops.runtime_drift import (
    Difference,
    ExpectedTask,
    RuntimeDrift,
    compare,
    expected,
    image_repository,
)
from compiler.spec.project import load_project
from support.cli import REPO

NEWS_STG = next(s.config for s in load_project(REPO, ["news-web"]).services if s.config.environment.name == "stg")
REPO_URI = "111111111111.dkr.ecr.ap-northeast-1.amazonaws.com/media/news-web"
WANT = ExpectedTask("web", REPO_URI, (("LOG_LEVEL", "info"),),
                    (("DB_PASSWORD", "arn:aws:secretsmanager:ap-northeast-1:111111111111:secret:db-AbCdEf"),),
                    "512", "")


def task(**container) -> dict:
    c = {"name": "web", "image": f"{REPO_URI}:3f9c2ab", "environment": [{"name": "LOG_LEVEL", "value": "info"}],
         "secrets": [{"name": "DB_PASSWORD", "valueFrom": WANT.secrets[0][1]}]}
    c.update(container)
    return {"family": "news-web", "cpu": "512", "memory": "1024", "containerDefinitions": [c]}


def test_expected_task_comes_from_the_spec():
    want = expected(NEWS_STG)
    s = NEWS_STG.service
    assert want.container == NEWS_STG.container_name and want.repository.endswith("/" + NEWS_STG.build.ecr_repository)
    assert want.repository.startswith(f"{NEWS_STG.environment.account}.dkr.ecr.{NEWS_STG.environment.region}.")
    assert dict(want.environment) == s.environment and dict(want.secrets) == s.secrets


def test_a_matching_task_definition_has_no_differences():
    assert compare(WANT, task()) == ()
    # entries the spec does not name are the service's own: the update step keeps them
    extra = task(environment=[{"name": "LOG_LEVEL", "value": "info"}, {"name": "OWN", "value": "x"}])
    assert compare(WANT, extra) == ()


def test_each_field_is_compared():
    td = task(image="123456789012.dkr.ecr.us-east-1.amazonaws.com/other@sha256:abc",
              environment=[{"name": "LOG_LEVEL", "value": "debug"}], secrets=[])
    td["cpu"] = "256"
    assert compare(WANT, td) == (
        Difference("image repository", REPO_URI, "123456789012.dkr.ecr.us-east-1.amazonaws.com/other"),
        Difference("environment LOG_LEVEL", "info", "debug"),
        Difference("secret DB_PASSWORD", WANT.secrets[0][1], "(not set)"),
        Difference("cpu", "512", "256"),
    )


def test_a_missing_container_says_which_there_are():
    td = task(name="app")
    assert compare(WANT, td) == (Difference("container name", "web", "not in the task definition (it has: app)"),)


def test_secret_looking_values_are_masked():
    want = ExpectedTask("web", REPO_URI, (("API_TOKEN", "placeholder"), ("MODE", "a")), (), "", "")
    td = task(environment=[{"name": "API_TOKEN", "value": "changed"},
                           {"name": "MODE", "value": "AKIAABCDEFGHIJKLMNOP"}])
    assert compare(want, td) == (Difference("environment API_TOKEN", "****", "****"),
                                 Difference("environment MODE", "a", "****"))


def test_image_repository():
    assert image_repository("1.dkr.ecr.r.amazonaws.com/a/b:tag") == "1.dkr.ecr.r.amazonaws.com/a/b"
    assert image_repository("1.dkr.ecr.r.amazonaws.com/a/b@sha256:00") == "1.dkr.ecr.r.amazonaws.com/a/b"
    assert image_repository("localhost:5000/app:1") == "localhost:5000/app"
    assert image_repository("nginx") == "nginx"


STACK = Stack("news-web-stg-pipeline", "pipeline", "111111111111", "ap-northeast-1", "generated/x.yml",
              "news-web", "stg")


def test_summarise_keeps_the_drifted_resources_and_masks_secrets():
    entries = [
        {"LogicalResourceId": "Logs", "ResourceType": "AWS::Logs::LogGroup", "StackResourceDriftStatus": "IN_SYNC"},
        {"LogicalResourceId": "Fn", "PhysicalResourceId": "fn", "ResourceType": "AWS::Lambda::Function",
         "StackResourceDriftStatus": "MODIFIED", "PropertyDifferences": [
             {"PropertyPath": "/Environment/Variables/DB_PASSWORD", "ExpectedValue": "a", "ActualValue": "b",
              "DifferenceType": "NOT_EQUAL"},
             {"PropertyPath": "/Timeout", "ExpectedValue": "30", "ActualValue": "60", "DifferenceType": "NOT_EQUAL"},
             {"PropertyPath": "/Token", "ExpectedValue": "{{resolve:secretsmanager:x:SecretString:t}}",
              "ActualValue": "", "DifferenceType": "REMOVE"}]},
        {"LogicalResourceId": "Project", "ResourceType": "AWS::CodeBuild::Project",
         "StackResourceDriftStatus": "NOT_CHECKED"},
    ]
    s = drift.summarise(STACK, entries)
    assert (s.status, s.checked, s.not_checked) == (drift.DRIFTED, 2, 1)
    [fn] = s.resources
    assert [(p.path, p.expected, p.actual) for p in fn.properties] == [
        ("/Environment/Variables/DB_PASSWORD", "****", "****"), ("/Timeout", "30", "60"), ("/Token", "****", "")]
    assert drift.summarise(STACK, entries[:1]).status == drift.IN_SYNC


def test_emulator_differences():
    assert differences({"RetentionInDays": 30}, {"RetentionInDays": "30"}) == []
    assert differences({"ScanOnPush": True, "Other": 1}, {"ScanOnPush": "true"}) == []  # Other: not modelled
    assert differences({"EventPattern": {"a": [1]}}, {"EventPattern": '{"a": [1]}'}) == []
    assert differences({"Environment": {"Variables": {"A": "1", "B": "2"}}},
                       {"Environment": {"Variables": {"A": "1", "C": "3"}}}) == [
        {"PropertyPath": "/Environment/Variables/B", "ExpectedValue": "2", "ActualValue": "", "DifferenceType": "REMOVE"},
        {"PropertyPath": "/Environment/Variables/C", "ExpectedValue": "", "ActualValue": "3", "DifferenceType": "ADD"}]
    assert differences({"State": "ENABLED"}, {"State": "DISABLED"}) == [
        {"PropertyPath": "/State", "ExpectedValue": "ENABLED", "ActualValue": "DISABLED", "DifferenceType": "NOT_EQUAL"}]


def report() -> Report:
    drifted = drift.summarise(STACK, [{"LogicalResourceId": "Logs", "PhysicalResourceId": "/l",
                                       "ResourceType": "AWS::Logs::LogGroup", "StackResourceDriftStatus": "MODIFIED",
                                       "PropertyDifferences": [{"PropertyPath": "/RetentionInDays", "ExpectedValue": "30",
                                                                "ActualValue": "7", "DifferenceType": "NOT_EQUAL"}]}])
    busy = drift.StackDrift("x-prod-pipeline", "pipeline", "x", "prod", "2", "r", drift.BUSY, reason="UPDATE_IN_PROGRESS")
    rt = RuntimeDrift("news-web", "stg", "1", "r", "media", "news-web", "news-web:3", "DRIFTED",
                      (Difference("environment LOG_LEVEL", "info", "debug"),))
    return Report((drifted, busy), (rt,))


def test_reports_put_problems_first_and_agree():
    r = report()
    assert r.problem
    assert summary(r) == ("drift: 1 stack drifted of 2, 1 of 1 running task definitions differ from the specs, "
                          "1 stack busy")
    lines = text(r).splitlines()
    assert lines[0].startswith("DRIFTED news-web-stg-pipeline") and "/RetentionInDays: expected 30, actual 7" in lines[2]
    assert lines[3].startswith("DRIFTED service news-web") and lines[-1].startswith("busy    x-prod-pipeline")
    md = markdown(r)
    assert md.startswith(MARKER) and "| `/RetentionInDays` | `30` | `7` |" in md and "**busy** x-prod-pipeline" in md
    doc = json.loads(render(r, "json"))
    assert doc["clean"] is False and doc["summary"] == summary(r) and doc["version"] == 1
    assert doc["stacks"][0]["resources"][0]["properties"][0]["actual"] == "7"
    clean = Report((drift.summarise(STACK, []),), ())
    assert not clean.problem and json.loads(render(clean, "json"))["clean"] is True
    assert "clean" in markdown(clean).splitlines()[1]
