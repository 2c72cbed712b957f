"""Faults the plan/apply code must survive or report clearly, against moto's server over HTTP.

moto cannot produce rollbacks, failed change sets or throttling by itself: those are injected
(moto's in-process state for the first two, a botocore `before-send` hook for the last).
"""

from __future__ import annotations

import threading
from collections import Counter
from unittest import mock

import pytest

from support.plan import STG, by_name, emu, moto_endpoint, on_clients, plan_json  # noqa: F401 (fixtures)

from compiler.deploy.aws import changesets
from compiler.deploy.aws.protect import stack_policy

pytestmark = pytest.mark.slow


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_):
        yield self.body


def throttling_response():
    from botocore.awsrequest import AWSResponse

    body = (b'<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type>'
            b"<Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>t</RequestId></ErrorResponse>")
    return AWSResponse("http://throttled", 400, {"Content-Type": "text/xml"}, _Raw(body))


def ok_response():
    from botocore.awsrequest import AWSResponse

    return AWSResponse("http://stub", 200, {}, _Raw(b""))


def add_event(stack, lid: str, rtype: str, status: str, reason: str | None = None) -> None:
    from moto.cloudformation.models import Event

    stack.events.append(Event(stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=lid,
                              physical_resource_id="", resource_type=rtype, resource_status=status,
                              resource_status_reason=reason, resource_properties=None))


def test_rollback_complete_must_be_recreated_with_reason(emu):
    assert emu.cli("bootstrap", "--local", "--yes", "--env", "stg").status == 0
    assert emu.cli("apply", "--local", "--yes", "photo-thumbs", "--env", "stg").status == 0
    stack = emu.backend(STG).get_stack("photo-thumbs-stg-pipeline")
    add_event(stack, "Repository", "AWS::ECR::Repository", "CREATE_FAILED", "Resource handler returned message: quota")
    add_event(stack, "BuildRole", "AWS::IAM::Role", "DELETE_COMPLETE", "Resource creation cancelled")
    stack.status = "ROLLBACK_COMPLETE"
    doc, r = plan_json(emu, "photo-thumbs", "--env", "stg")
    assert r.status == 1
    s = by_name(doc)[("photo-thumbs-stg-pipeline", STG)]
    assert s["status"] == "error"
    assert s["error"].startswith("must be recreated")
    assert "CREATE_FAILED on Repository (AWS::ECR::Repository): Resource handler returned message: quota" in s["error"]
    assert "shipspec retire photo-thumbs --env stg" in s["error"]
    assert by_name(doc)[("photo-thumbs-stg-notification", STG)]["status"] == "no-change"  # the others still planned


def test_leftover_review_in_progress_stack_is_created(emu):
    cfn = emu.client("cloudformation", STG)
    cfn.create_change_set(StackName="shipspec-bootstrap", ChangeSetName="killed-run", ChangeSetType="CREATE",
                          TemplateBody='{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}')
    assert emu.stacks(STG)["shipspec-bootstrap"]["StackStatus"] == "REVIEW_IN_PROGRESS"
    doc, r = plan_json(emu, "photo-thumbs", "--env", "stg")
    boot = by_name(doc)[("shipspec-bootstrap", STG)]
    assert boot["status"] == "create" and boot["change_set"]["type"] == "CREATE"
    r = emu.cli("bootstrap", "--local", "--yes", "--env", "stg")
    assert r.status == 0, r.err
    stacks = [s for s in cfn.describe_stacks()["Stacks"] if s["StackName"] == "shipspec-bootstrap"]
    assert [s["StackStatus"] for s in stacks] == ["CREATE_COMPLETE"]


def test_failed_change_set_reports_its_reason_and_is_cleaned_up(emu):
    original = changesets.create
    reason = "Template format error: Unresolved resource dependencies [Nope] in the Resources block of the template"

    def failing(ctx, cfn, name, cs_type, template, parameters, tags):
        cs_name, cs_id = original(ctx, cfn, name, cs_type, template, parameters, tags)
        change_set = emu.backend(STG).change_sets[cs_id]
        change_set.status, change_set.status_reason, change_set.execution_status = "FAILED", reason, "UNAVAILABLE"
        return cs_name, cs_id

    with mock.patch.object(changesets, "create", failing):
        doc, r = plan_json(emu, "photo-thumbs", "--env", "stg")
    assert r.status == 1
    boot = by_name(doc)[("shipspec-bootstrap", STG)]
    assert boot["status"] == "error" and boot["error"] == f"change set failed: {reason}"
    assert emu.stacks(STG) == {}  # the failed change set's shell is gone
    text = emu.cli("plan", "--local", "--env", "stg")  # without the fault: fine again
    assert text.status == 0


def _throttle(ops: dict[str, int], counter: Counter, only: bytes = b""):
    def register(service, client):
        for op in ops:
            def handler(request, _op=op, **_):
                body = request.body or b""
                if only and only not in (body if isinstance(body, bytes) else body.encode()):
                    return None
                with lock:
                    if counter[_op] >= ops[_op]:
                        return None
                    counter[_op] += 1
                return throttling_response()
            client.meta.events.register(f"before-send.{service}.{op}", handler)
    lock = threading.Lock()
    return register


def test_throttling_is_retried_and_survived(emu):
    counter: Counter = Counter()
    # adaptive retries slow the client down after each Throttling (by design): a few suffice here
    ops = {"CreateChangeSet": 2, "DescribeChangeSet": 1}
    with on_clients(_throttle(ops, counter)):
        doc, r = plan_json(emu, "photo-thumbs", "--env", "stg")
    assert r.status == 0, r.err
    assert counter == Counter(ops)  # every injected Throttling was answered with a retry
    assert by_name(doc)[("shipspec-bootstrap", STG)]["status"] == "create"


def test_endless_throttling_is_a_per_stack_error(emu):
    counter: Counter = Counter()
    with on_clients(_throttle({"CreateChangeSet": 10_000}, counter, only=b"StackName=shipspec-bootstrap")):
        doc, r = plan_json(emu, "photo-thumbs", "--env", "stg")
    assert r.status == 1
    boot = by_name(doc)[("shipspec-bootstrap", STG)]
    assert boot["status"] == "error" and "Throttling" in boot["error"]
    assert counter["CreateChangeSet"] >= 2
    assert by_name(doc)[("photo-thumbs-stg-pipeline", STG)]["status"] == "create"  # the others were planned
    assert "internal error" not in r.err


@pytest.fixture
def aws_mode(emu, monkeypatch):
    """shipspec without --local: boto3 resolves the endpoint from AWS_ENDPOINT_URL (the moto server)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", emu.endpoint)
    return emu


def test_account_mismatch_is_refused_before_any_change(aws_mode):
    r = aws_mode.cli("plan", "photo-thumbs", "--env", "stg")
    assert r.status == 1
    assert "account mismatch" in r.err and "111111111111" in r.err and "123456789012" in r.err
    assert aws_mode.stacks(STG) == {}


SIMPLE = b"""Resources:
  Queue:
    Type: AWS::SQS::Queue
  Bucket:
    Type: AWS::S3::Bucket
Outputs:
  QueueUrl:
    Value: {Ref: Queue}
"""


def _aws_run(name: str, template: bytes = SIMPLE):
    """plan_stack then apply_stack on AWS (AWS_ENDPOINT_URL): moto cannot run shipspec's real templates
    outside the emulator adaptations, so these use a small one."""
    from compiler.deploy.aws.apply import ApplyOptions, apply_stack
    from compiler.deploy.aws.inputs import StackInput
    from compiler.deploy.aws.planner import plan_stack
    from compiler.deploy.aws.runctx import RunContext, Timing
    from compiler.deploy.aws.session import Endpoint, Sessions
    from compiler.build.ir import Stack

    lines = []
    ctx = RunContext(Sessions(Endpoint()), Timing(poll=0.02), log=lines.append, keep=True)
    si = StackInput(Stack(name, "pipeline", STG, "ap-northeast-1", "t.yml", "svc", "stg",
                          tags=(("shipspec:service", "svc"),)), template)
    plan = plan_stack(ctx, si)
    return plan, apply_stack(ctx, si, plan, ApplyOptions()), lines


def test_role_per_account_and_change_set_execution_on_aws(aws_mode, monkeypatch):
    monkeypatch.setenv("SHIPSPEC_ROLE_NAME", "shipspec-deploy")
    calls = []

    def register(service, client):
        if service == "cloudformation":
            def stub(params, **_):  # moto has no UpdateTerminationProtection: record the call instead
                calls.append({k: params["body"][k] for k in ("StackName", "EnableTerminationProtection")})
                return ok_response(), {"StackId": "stub"}
            client.meta.events.register("before-call.cloudformation.UpdateTerminationProtection", stub)

    with on_clients(register):
        plan, result, _ = _aws_run("svc-stg-pipeline")
    assert plan.status == "create" and plan.change_set is not None
    assert result.status == "applied", result.message
    assert calls == [{"StackName": "svc-stg-pipeline", "EnableTerminationProtection": "true"}]
    cfn = aws_mode.client("cloudformation", STG)  # in the role's account, 111111111111
    assert cfn.describe_stacks(StackName="svc-stg-pipeline")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    executed = cfn.list_change_sets(StackName="svc-stg-pipeline")["Summaries"]
    assert [(c["ChangeSetId"], c["ExecutionStatus"]) for c in executed] == [(plan.change_set.id, "EXECUTE_COMPLETE")]
    assert cfn.get_stack_policy(StackName="svc-stg-pipeline")["StackPolicyBody"] == stack_policy()


def test_apply_failure_names_the_first_failed_resource(aws_mode, monkeypatch):
    monkeypatch.setenv("SHIPSPEC_ROLE_NAME", "shipspec-deploy")

    def register(service, client):
        if service != "cloudformation":
            return

        def fail(**_):  # moto never rolls back: make the executed stack look like a failed create
            stack = aws_mode.backend(STG).get_stack("svc-stg-pipeline")
            add_event(stack, "Queue", "AWS::SQS::Queue", "CREATE_IN_PROGRESS")
            add_event(stack, "Queue", "AWS::SQS::Queue", "CREATE_FAILED", "Queue name is not valid")
            add_event(stack, "Bucket", "AWS::S3::Bucket", "CREATE_FAILED", "Resource creation cancelled")
            add_event(stack, "Bucket", "AWS::S3::Bucket", "DELETE_COMPLETE")
            stack.status = "ROLLBACK_COMPLETE"
        client.meta.events.register("after-call.cloudformation.ExecuteChangeSet", fail)
        client.meta.events.register("before-call.cloudformation.UpdateTerminationProtection",
                                    lambda **_: (ok_response(), {}))

    with on_clients(register):
        _, result, lines = _aws_run("svc-stg-pipeline")
    assert result.status == "error"
    assert result.message == ("CREATE_FAILED Queue (AWS::SQS::Queue): Queue name is not valid; "
                              "the stack is now ROLLBACK_COMPLETE")
    assert any("CREATE_FAILED" in x and "Bucket" in x for x in lines)  # every event was streamed


def test_busy_stack_is_waited_for_then_applied(emu, monkeypatch):
    from compiler.deploy.aws.runctx import RunContext

    assert emu.cli("bootstrap", "--local", "--yes", "--env", "stg").status == 0
    assert emu.cli("apply", "--local", "--yes", "photo-thumbs", "--env", "stg").status == 0
    emu.edit("photo-thumbs", "ecr_repository: media/photo-thumbs", "ecr_repository: media/photo-thumbs\n  keep_images: 12")
    stack = emu.backend(STG).get_stack("photo-thumbs-stg-pipeline")
    stack.status = "UPDATE_IN_PROGRESS"  # another apply's update (or a killed one's) is running
    original, naps = RunContext.sleep, []

    def sleep(self, seconds=None):  # the other update finishes after shipspec has waited a few polls
        naps.append(stack.status)
        if len(naps) == 3:
            stack.status = "UPDATE_COMPLETE"
        return original(self, seconds)

    monkeypatch.setenv("SHIPSPEC_BUSY_TIMEOUT", "60")
    with mock.patch.object(RunContext, "sleep", sleep):
        r = emu.cli("apply", "--local", "--yes", "photo-thumbs", "--env", "stg")
    assert r.status == 0, r.out + r.err
    assert naps[:3] == ["UPDATE_IN_PROGRESS"] * 3
    assert "UPDATE_IN_PROGRESS (another apply" in r.err and "waiting" in r.err
    assert "APPLIED    photo-thumbs-stg-pipeline" in r.out


def test_busy_stack_gives_up_after_the_bound(emu, monkeypatch):
    assert emu.cli("bootstrap", "--local", "--yes", "--env", "stg").status == 0
    emu.backend(STG).get_stack("shipspec-bootstrap").status = "UPDATE_IN_PROGRESS"
    monkeypatch.setenv("SHIPSPEC_BUSY_TIMEOUT", "0.3")
    doc, r = plan_json(emu, "photo-thumbs", "--env", "stg")
    assert r.status == 1
    assert "still UPDATE_IN_PROGRESS after 0.3 s" in by_name(doc)[("shipspec-bootstrap", STG)]["error"]


def test_ctrl_c_says_what_was_left_where(emu):
    original = changesets.wait_ready

    def interrupted(ctx, cfn, name, cs_id):
        if name == "shipspec-bootstrap":
            raise KeyboardInterrupt
        return original(ctx, cfn, name, cs_id)

    with mock.patch.object(changesets, "wait_ready", interrupted):
        r = emu.cli("plan", "--local", "photo-thumbs", "--env", "stg")
    assert r.status == 130
    assert "interrupted. Left behind:" in r.err
    assert "shipspec-bootstrap (111111111111/ap-northeast-1): change set shipspec-" in r.err
    assert "REVIEW_IN_PROGRESS shell" in r.err


def test_first_failure_is_of_this_operation(emu):
    cfn = emu.client("cloudformation", STG)
    cfn.create_stack(StackName="s", TemplateBody='{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}')
    stack = emu.backend(STG).get_stack("s")
    add_event(stack, "Q", "AWS::SQS::Queue", "UPDATE_FAILED", "an old failure")
    marker = changesets.latest_event_id(cfn, "s")
    add_event(stack, "Q", "AWS::SQS::Queue", "UPDATE_IN_PROGRESS")
    add_event(stack, "Q", "AWS::SQS::Queue", "UPDATE_FAILED", "this update's failure")
    add_event(stack, "Q", "AWS::SQS::Queue", "UPDATE_FAILED", "Resource update cancelled")
    assert changesets.first_failure(cfn, "s", marker) == ("Q", "AWS::SQS::Queue", "UPDATE_FAILED",
                                                         "this update's failure")
    assert changesets.first_failure(cfn, "s")[3] == "an old failure"


def _deployed(emu, account: str, stack: str):
    return emu.client("cloudformation", account).get_template(StackName=stack)["TemplateBody"]


def test_plan_file_with_emptied_changes_but_its_fingerprint_kept_is_refused(emu, tmp_path):
    """Someone hides a change from the reviewer: one stack's `changes` emptied, its fingerprint (and
    the plan's) kept. apply recomputes every fingerprint from the file's contents and refuses;
    nothing changes."""
    import json

    assert emu.cli("bootstrap", "--local", "--yes", "--env", "stg").status == 0
    assert emu.cli("apply", "--local", "--yes", "photo-thumbs", "--env", "stg").status == 0
    emu.edit("photo-thumbs", "ecr_repository: media/photo-thumbs", "ecr_repository: media/photo-thumbs\n  keep_images: 5")
    plan_file = tmp_path / "plan.json"
    r = emu.cli("plan", "--local", "photo-thumbs", "--env", "stg", "--format", "json", "--output", str(plan_file))
    assert r.status == 0, r.err
    doc = json.loads(plan_file.read_text())
    stack = next(s for s in doc["stacks"] if s["stack_name"] == "photo-thumbs-stg-pipeline")
    assert stack["changes"], "the edit must change the pipeline stack"
    stack["changes"] = []  # the fingerprint fields stay as shipspec wrote them
    plan_file.write_text(json.dumps(doc))
    before = _deployed(emu, STG, "photo-thumbs-stg-pipeline")
    r = emu.cli("apply", "--local", "--yes", "--plan", str(plan_file))
    assert r.status == 1
    assert "photo-thumbs-stg-pipeline" in r.err and "do not match its fingerprint" in r.err
    assert _deployed(emu, STG, "photo-thumbs-stg-pipeline") == before
    again, _ = plan_json(emu, "photo-thumbs", "--env", "stg")
    assert by_name(again)[("photo-thumbs-stg-pipeline", STG)]["status"] == "update"  # still pending: not applied


def test_a_change_set_whose_stack_changed_since_is_not_executed_on_aws(aws_mode, monkeypatch):
    """The AWS path (change sets executed): a plan is made, then another writer updates the stack
    before this apply executes its change set. CloudFormation itself marks such change sets
    obsolete; shipspec refuses before it asks, and the other writer's update stands."""
    from compiler.build.ir import Stack
    from compiler.deploy.aws.apply import ApplyOptions, apply_stack
    from compiler.deploy.aws.inputs import StackInput
    from compiler.deploy.aws.planner import plan_stack
    from compiler.deploy.aws.runctx import RunContext, Timing
    from compiler.deploy.aws.session import Endpoint, Sessions

    monkeypatch.setenv("SHIPSPEC_ROLE_NAME", "shipspec-deploy")

    def register(service, client):
        if service == "cloudformation":
            client.meta.events.register("before-call.cloudformation.UpdateTerminationProtection",
                                        lambda **_: (ok_response(), {}))

    with on_clients(register):
        _, created, _ = _aws_run("svc-stg-pipeline")
        assert created.status == "applied", created.message
        ctx = RunContext(Sessions(Endpoint()), Timing(poll=0.02), log=lambda _: None, keep=True)
        mine = SIMPLE.replace(b"Outputs:", b"  Topic:\n    Type: AWS::SNS::Topic\nOutputs:")
        si = StackInput(Stack("svc-stg-pipeline", "pipeline", STG, "ap-northeast-1", "t.yml", "svc", "stg",
                              tags=(("shipspec:service", "svc"),)), mine)
        plan = plan_stack(ctx, si)
        assert plan.status == "update" and plan.deployed is not None
        theirs = SIMPLE.replace(b"Outputs:", b"  Other:\n    Type: AWS::SQS::Queue\nOutputs:")
        cfn = aws_mode.client("cloudformation", STG)
        cfn.update_stack(StackName="svc-stg-pipeline", TemplateBody=theirs.decode())  # the other working copy
        result = apply_stack(ctx, si, plan, ApplyOptions())
    assert result.status == "error" and "the stack changed since it was planned" in result.message
    resources = {r["LogicalResourceId"] for r in cfn.list_stack_resources(StackName="svc-stg-pipeline")["StackResourceSummaries"]}
    assert "Other" in resources and "Topic" not in resources
    assert [c["ChangeSetId"] for c in cfn.list_change_sets(StackName="svc-stg-pipeline")["Summaries"]
            if c["ExecutionStatus"] == "AVAILABLE"] == []  # the refused change set was deleted
