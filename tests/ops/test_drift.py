"""`shipspec drift --local` against moto's server over HTTP, with the emulator's drift detection
(compiler/local/emudrift.py) installed in this process as `shipspec local up` installs it in its own.

One applied fleet (news-web and photo-thumbs, stg and prod) with a healthy news-web stg service
seeded; each test changes something directly through the emulator's API -- behind shipspec's
back -- checks `drift` finds it, and puts it back."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager

import pytest

from compiler.local.emudrift import install
from support.plan import PROD, REGION, STG, Emu, make_repo, moto_endpoint, on_clients, reset  # noqa: F401

pytestmark = pytest.mark.slow

LOG_GROUP = "/aws/codebuild/news-web-stg-build"  # BuildLogGroup of news-web-stg-pipeline
REPOSITORY = "media/news-web"


@pytest.fixture(scope="module")
def fleet(moto_endpoint, tmp_path_factory):
    install()
    reset(moto_endpoint)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SHIPSPEC_POLL_SECONDS", "0.02")
        for key in list(os.environ):
            if key.startswith("SHIPSPEC_ROLE") or key in ("AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID"):
                mp.delenv(key)
        emu = Emu(make_repo(tmp_path_factory.mktemp("drift"), moto_endpoint), moto_endpoint)
        applied = emu.cli("apply", "--local", "--yes")
        assert applied.status == 0, applied.err
        seeded = emu.cli("local", "seed", "news-web", "--env", "stg")
        assert seeded.status == 0, seeded.err
        yield emu


def drift(emu: Emu, *args: str) -> tuple[int, dict]:
    r = emu.cli("drift", "--local", "--format", "json", *args)
    try:
        return r.status, json.loads(r.out)
    except ValueError:
        raise AssertionError(f"drift printed no JSON (status {r.status}):\n{r.out}\n{r.err}") from None


def stacks(doc: dict) -> dict[str, dict]:
    return {f"{s['stack']}@{s['account']}": s for s in doc["stacks"]}


def ecs_task(emu: Emu):
    ecs = emu.client("ecs", STG)
    svc = ecs.describe_services(cluster="media", services=["news-web"])["services"][0]
    return ecs, ecs.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]


def register_like(ecs, td: dict, container: dict) -> str:
    """A new revision of `td` with `container` (as the console's "create new revision" does)."""
    keep = {k: td[k] for k in ("family", "requiresCompatibilities", "networkMode", "cpu", "memory") if td.get(k)}
    return ecs.register_task_definition(containerDefinitions=[container], **keep)["taskDefinition"]["taskDefinitionArn"]


@contextmanager
def running(ecs, arn: str, previous: str):
    ecs.update_service(cluster="media", service="news-web", taskDefinition=arn)
    try:
        yield
    finally:
        ecs.update_service(cluster="media", service="news-web", taskDefinition=previous)


def test_a_clean_fleet_is_clean(fleet):
    status, doc = drift(fleet)
    assert status == 0 and doc["clean"] is True, doc["summary"]
    found = stacks(doc)
    assert {f"news-web-stg-pipeline@{STG}", f"photo-thumbs-prod-notification@{PROD}", f"shipspec-bootstrap@{STG}",
            f"shipspec-bootstrap@{PROD}"} <= set(found)
    assert all(s["status"] == "IN_SYNC" and s["resources"] == [] for s in found.values())
    assert sum(s["checked"] for s in found.values()) > 20  # resources were really compared
    runtime = {(x["service"], x["environment"]): x for x in doc["runtime"]}
    assert runtime[("news-web", "stg")]["status"] == "IN_SYNC"
    assert runtime[("news-web", "prod")]["status"] == "NOT_FOUND"  # not seeded: nothing to compare, no failure
    text = fleet.cli("drift", "--local")
    assert text.status == 0 and "in sync 10 stacks" in text.out and "0 stacks drifted of 10" in text.err


def test_a_resource_changed_directly_is_reported_with_expected_and_actual_values(fleet):
    logs, ecr = fleet.client("logs", STG), fleet.client("ecr", STG)
    logs.put_retention_policy(logGroupName=LOG_GROUP, retentionInDays=7)
    ecr.put_image_tag_mutability(repositoryName=REPOSITORY, imageTagMutability="IMMUTABLE")
    try:
        status, doc = drift(fleet, "news-web")
        text = fleet.cli("drift", "--local", "news-web")
        markdown = fleet.cli("drift", "--local", "news-web", "--format", "markdown")
    finally:
        logs.put_retention_policy(logGroupName=LOG_GROUP, retentionInDays=30)
        ecr.put_image_tag_mutability(repositoryName=REPOSITORY, imageTagMutability="MUTABLE")
    assert status == 1 and doc["clean"] is False
    pipeline = stacks(doc)[f"news-web-stg-pipeline@{STG}"]
    assert pipeline["status"] == "DRIFTED"
    resources = {r["logical_id"]: r for r in pipeline["resources"]}
    assert set(resources) == {"BuildLogGroup", "Repository"}
    assert resources["BuildLogGroup"]["physical_id"] == LOG_GROUP
    assert resources["BuildLogGroup"]["properties"] == [
        {"path": "/RetentionInDays", "expected": "30", "actual": "7", "kind": "NOT_EQUAL"}]
    assert resources["Repository"]["properties"] == [
        {"path": "/ImageTagMutability", "expected": "MUTABLE", "actual": "IMMUTABLE", "kind": "NOT_EQUAL"}]
    others = [s for k, s in stacks(doc).items() if k != f"news-web-stg-pipeline@{STG}"]
    assert others and all(s["status"] == "IN_SYNC" for s in others)  # only what changed
    assert text.status == 1
    assert "DRIFTED news-web-stg-pipeline (111111111111/ap-northeast-1)" in text.out
    assert "/RetentionInDays: expected 30, actual 7" in text.out
    assert markdown.out.startswith("<!-- shipspec-drift -->")
    assert "| news-web-stg-pipeline | 111111111111/ap-northeast-1 | BuildLogGroup (AWS::Logs::LogGroup) | " \
           "`/RetentionInDays` | `30` | `7` |" in markdown.out
    assert drift(fleet)[0] == 0  # put back: clean again


def test_a_deleted_resource_is_reported(fleet):
    sns = fleet.client("sns", STG)
    cfn = fleet.client("cloudformation", STG)
    topic = cfn.describe_stack_resource(StackName="news-web-stg-notification", LogicalResourceId="NotifyTopic")[
        "StackResourceDetail"]["PhysicalResourceId"]
    attributes = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    sns.delete_topic(TopicArn=topic)
    status, doc = drift(fleet, "news-web", "--env", "stg", "--no-runtime")
    assert status == 1
    [res] = [r for r in stacks(doc)[f"news-web-stg-notification@{STG}"]["resources"] if r["logical_id"] == "NotifyTopic"]
    assert res["status"] == "DELETED" and res["physical_id"] == topic
    assert doc["runtime"] == [] and doc["runtime_checked"] is False
    sns.create_topic(Name=topic.rsplit(":", 1)[-1], Attributes={  # put back (same name, same ARN)
        k: attributes[k] for k in ("DisplayName", "KmsMasterKeyId") if attributes.get(k)})
    assert drift(fleet, "news-web", "--env", "stg", "--no-runtime")[0] == 0


def test_a_container_environment_changed_directly_is_runtime_drift(fleet):
    ecs, td = ecs_task(fleet)
    [container] = td["containerDefinitions"]
    changed = dict(container, environment=[dict(e, value="debug") if e["name"] == "LOG_LEVEL" else e
                                           for e in container.get("environment", [])]
                   + [{"name": "EXTRA_FLAG", "value": "on"}])  # not in the spec: the service's own
    assert any(e["name"] == "LOG_LEVEL" for e in container["environment"])
    with running(ecs, register_like(ecs, td, changed), td["taskDefinitionArn"]):
        status, doc = drift(fleet, "news-web", "--env", "stg")
        text = fleet.cli("drift", "--local", "news-web", "--env", "stg")
    assert status == 1
    [x] = doc["runtime"]
    assert x["status"] == "DRIFTED" and x["task_definition"].startswith("news-web:")
    assert x["differences"] == [{"field": "environment LOG_LEVEL", "expected": "info", "actual": "debug"}]
    assert all(s["status"] == "IN_SYNC" for s in doc["stacks"])  # the stacks did not change
    assert "environment LOG_LEVEL: expected info, actual debug" in text.out
    assert drift(fleet, "news-web", "--env", "stg")[0] == 0


def test_another_image_repository_and_size_are_runtime_drift(fleet):
    ecs, td = ecs_task(fleet)
    [container] = td["containerDefinitions"]
    other = dict(container, image=f"{STG}.dkr.ecr.{REGION}.amazonaws.com/someone/else:1")
    with running(ecs, register_like(ecs, td, other), td["taskDefinitionArn"]):
        status, doc = drift(fleet, "news-web", "--env", "stg", "--no-runtime")
        assert status == 0  # --no-runtime: stacks only
        status, doc = drift(fleet, "news-web", "--env", "stg")
    assert status == 1
    [x] = doc["runtime"]
    assert [d["field"] for d in x["differences"]] == ["image repository"]
    assert x["differences"][0]["expected"] == f"{STG}.dkr.ecr.{REGION}.amazonaws.com/media/news-web"


def test_a_stack_being_updated_is_reported_busy_not_crashed(fleet):
    moto_stack = next(s for s in fleet.backend(STG).stacks.values() if s.name == "news-web-stg-notification")
    before = moto_stack.status
    moto_stack.status = "UPDATE_IN_PROGRESS"  # a deploy is running (moto finishes updates at once)
    try:
        status, doc = drift(fleet, "news-web")
    finally:
        moto_stack.status = before
    assert status == 0, doc["summary"]  # busy is not drift; the others were checked
    busy = stacks(doc)[f"news-web-stg-notification@{STG}"]
    assert busy["status"] == "BUSY" and "UPDATE_IN_PROGRESS" in busy["reason"]
    assert stacks(doc)[f"news-web-stg-pipeline@{STG}"]["status"] == "IN_SYNC"
    assert "1 stack busy" in doc["summary"]


def test_a_stack_that_starts_updating_as_detection_starts_is_busy(fleet):
    """The race: the stack was idle when read, and a deploy began before DetectStackDrift."""
    moto_stack = next(s for s in fleet.backend(STG).stacks.values() if s.name == "news-web-stg-pipeline")
    before = moto_stack.status

    def deploy_starts(**_):
        moto_stack.status = "UPDATE_IN_PROGRESS"

    def register(service, c):
        if service == "cloudformation":
            c.meta.events.register("before-call.cloudformation.DetectStackDrift", deploy_starts)

    try:
        with on_clients(register):
            status, doc = drift(fleet, "news-web", "--env", "stg", "--no-runtime")
    finally:
        moto_stack.status = before
    assert stacks(doc)[f"news-web-stg-pipeline@{STG}"]["status"] == "BUSY"
    assert status == 0


def test_throttling_is_waited_out(fleet):
    from botocore.exceptions import ClientError

    calls = []

    def throttle(**_):
        calls.append(1)
        if len(calls) <= 2:  # after botocore's own retries, AWS still says no twice
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "DetectStackDrift")

    def register(service, c):
        if service == "cloudformation":
            c.meta.events.register("before-call.cloudformation.DetectStackDrift", throttle)

    with on_clients(register):
        status, doc = drift(fleet, "photo-thumbs", "--env", "prod", "--no-runtime", "--jobs", "1")
    assert status == 0 and all(s["status"] == "IN_SYNC" for s in doc["stacks"]), doc["summary"]
    assert len(calls) == len(doc["stacks"]) + 2


def test_shards_split_the_fleet_and_bootstrap_stacks_go_to_the_first(fleet):
    docs = [drift(fleet, "--shard", f"{i}/2", "--no-runtime")[1] for i in (1, 2)]
    names = [set(stacks(d)) for d in docs]
    assert not names[0] & names[1]
    assert names[0] | names[1] == set(stacks(drift(fleet, "--no-runtime")[1]))
    assert all(k.startswith("shipspec-bootstrap@") is False for k in names[1])
    assert {k for k in names[0] if k.startswith("shipspec-bootstrap@")} == {f"shipspec-bootstrap@{STG}",
                                                                          f"shipspec-bootstrap@{PROD}"}


def test_usage_errors_exit_2(fleet):
    assert fleet.cli("drift", "--local", "--shard", "3/2").status == 2
    assert fleet.cli("drift", "--local", "--env", "qa").status == 2
    assert fleet.cli("drift", "--local", "--format", "yaml").status == 2
