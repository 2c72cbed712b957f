"""The local emulator's process (`compiler/local/emuserver.py`), started by `shipspec local up` as a real
server on loopback: moto with libyaml template parsing and the optional latency model."""

from __future__ import annotations

import json
import time

import pytest
import yaml

from support.cli import REPO, run_cli
from support.plan import REGION, local_emulator

pytestmark = pytest.mark.slow

TOPIC = "Resources:\n  T:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Sub '${AWS::StackName}-t'\n"


@pytest.fixture(scope="module")
def slow_emulator(tmp_path_factory):
    """`shipspec local up` with change sets ready 1.5 s after creation and 50 ms per API call."""
    with local_emulator(tmp_path_factory.mktemp("emu"), up_args=("--change-set-seconds", "1.5", "--api-latency-ms", "50"),
                        env={"SHIPSPEC_POLL_SECONDS": "0.1"}) as (root, endpoint, up):
        assert "50 ms per API call, change sets ready after 1.5 s" in up.err
        yield root, endpoint


def cfn(endpoint: str):
    import boto3

    return boto3.client("cloudformation", region_name=REGION, endpoint_url=endpoint)


def until_computed(c, cs_id: str, stack: str) -> dict:
    deadline = time.monotonic() + 20
    while True:
        d = c.describe_change_set(ChangeSetName=cs_id, StackName=stack)
        if d["Status"] != "CREATE_IN_PROGRESS" or time.monotonic() > deadline:
            return d
        time.sleep(0.1)


def test_change_set_is_in_progress_then_ready_and_cannot_run_early(slow_emulator):
    _, endpoint = slow_emulator
    c = cfn(endpoint)
    made = time.monotonic()
    cs = c.create_change_set(StackName="early", ChangeSetName="c1", ChangeSetType="CREATE", TemplateBody=TOPIC)
    first = c.describe_change_set(ChangeSetName=cs["Id"], StackName="early")
    assert (first["Status"], first["ExecutionStatus"], first.get("Changes", [])) == \
        ("CREATE_IN_PROGRESS", "UNAVAILABLE", [])
    assert c.list_change_sets(StackName="early")["Summaries"][0]["Status"] == "CREATE_IN_PROGRESS"
    with pytest.raises(c.exceptions.ClientError) as err:
        c.execute_change_set(ChangeSetName=cs["Id"], StackName="early")
    assert err.value.response["Error"]["Code"] == "InvalidChangeSetStatus"
    assert c.describe_stacks(StackName="early")["Stacks"][0]["StackStatus"] == "REVIEW_IN_PROGRESS"
    ready = until_computed(c, cs["Id"], "early")
    assert time.monotonic() - made >= 1.5  # the request began before the change set was made
    assert (ready["Status"], ready["ExecutionStatus"]) == ("CREATE_COMPLETE", "AVAILABLE")
    assert [ch["ResourceChange"]["LogicalResourceId"] for ch in ready["Changes"]] == ["T"]
    c.execute_change_set(ChangeSetName=cs["Id"], StackName="early")
    assert c.describe_stacks(StackName="early")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_no_change_is_reported_only_once_computed(slow_emulator):
    _, endpoint = slow_emulator
    c = cfn(endpoint)
    c.create_stack(StackName="same", TemplateBody=TOPIC)
    cs = c.create_change_set(StackName="same", ChangeSetName="c2", ChangeSetType="UPDATE", TemplateBody=TOPIC)
    assert c.describe_change_set(ChangeSetName=cs["Id"], StackName="same")["Status"] == "CREATE_IN_PROGRESS"
    done = until_computed(c, cs["Id"], "same")
    assert done["Status"] == "FAILED" and "didn't contain changes" in done["StatusReason"]


def test_every_api_call_waits_the_modelled_round_trip(slow_emulator):
    _, endpoint = slow_emulator
    c = cfn(endpoint)
    c.list_stacks()  # connection and signer warmed up
    start = time.monotonic()
    for _ in range(4):
        c.list_stacks()
    assert time.monotonic() - start >= 4 * 0.05  # a lower bound: never flaky on a slow machine


def test_plan_waits_for_asynchronous_change_sets(slow_emulator):
    root, _ = slow_emulator
    r = run_cli("plan", "--local", "photo-thumbs", "--env", "stg", "--format", "json", root=root)
    assert r.status == 0, r.err
    doc = json.loads(r.out)
    pipeline = next(s for s in doc["stacks"] if s["kind"] == "pipeline")
    assert pipeline["status"] == "create" and pipeline["changes"]


def test_status_reports_the_model_and_a_different_one_is_refused(slow_emulator):
    root, endpoint = slow_emulator
    status = run_cli("local", "status", root=root)
    assert status.status == 0 and "change sets ready after 1.5 s" in status.out
    same = run_cli("local", "up", root=root)  # no latency options: keep the running one
    assert same.status == 0 and same.out.strip() == endpoint
    other = run_cli("local", "up", "--change-set-seconds", "0", root=root)
    assert other.status == 1 and "`shipspec local down` first" in other.err
    bad = run_cli("local", "up", "--api-latency-ms", "-5", root=root)
    assert bad.status == 2 and "--api-latency-ms" in bad.err


def test_libyaml_loader_reads_templates_exactly_as_moto_does():
    from moto.cloudformation.utils import yaml_tag_constructor

    from compiler.local.emuserver import libyaml_loader

    class PurePython(yaml.Loader):  # what moto uses, without touching the global loader
        pass

    PurePython.add_multi_constructor("", yaml_tag_constructor)
    fast = libyaml_loader()
    assert fast is not None
    templates = sorted((REPO / "generated").rglob("*.yml"))
    assert len(templates) > 20
    for path in templates:
        text = path.read_text(encoding="utf-8")
        assert yaml.load(text, Loader=fast) == yaml.load(text, Loader=PurePython), path
