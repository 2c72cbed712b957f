"""What the notification says about the run: who or what started it, the commit, STOPPED and
SUPERSEDED, and a waiting manual approval with a link to approve. Events are shaped like AWS's
documented samples (EventBridge reference, "CodePipeline events"): pipeline-level events carry
`execution-trigger` {trigger-type, trigger-detail}; action-level events carry `type` {owner,
category, provider, version}. The execution is read from the emulator's CodePipeline."""

from __future__ import annotations

import uuid

import pytest

from compiler.assets.notify import handler as notify

from support.aws import client, moto_server_fixture
from test_notify_lambda import event, received, topic  # noqa: F401 - the topic fixture

pytestmark = pytest.mark.slow

REGION = "ap-northeast-1"
COMMIT = "4f2c9e1d0b7a8c6e5f4d3c2b1a0987654321fedc"
moto_endpoint = moto_server_fixture()


def documented_pipeline_event(state: str, pipeline: str, execution_id: str, trigger: dict | None) -> dict:
    """A "CodePipeline Pipeline Execution State Change" event as the AWS sample shows it."""
    ev = event("pipeline", state, pipeline=pipeline, region=REGION)
    ev["detail"]["execution-id"] = execution_id
    ev["detail"]["start-time"] = "2026-01-01T00:00:00.000Z"
    ev["detail"]["pipeline-execution-attempt"] = 1.0
    if trigger is not None:
        ev["detail"]["execution-trigger"] = trigger
    return ev


@pytest.fixture
def execution(moto_endpoint):
    """A pipeline with one execution whose source revision is COMMIT (moto reports none by itself:
    written into the in-process emulator's execution, as the source action would record it)."""
    from moto.codepipeline.models import codepipeline_backends

    cp = client("codepipeline", moto_endpoint, REGION)
    iam = client("iam", moto_endpoint, REGION)
    name = f"shop-web-{uuid.uuid4().hex[:6]}"
    trust = '{"Statement": [{"Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"}, ' \
             '"Action": "sts:AssumeRole"}]}'
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    cp.create_pipeline(pipeline={
        "name": name, "roleArn": role, "artifactStore": {"type": "S3", "location": "bucket"},
        "stages": [{"name": "Source", "actions": [{"name": "Source", "actionTypeId": {
            "category": "Source", "owner": "AWS", "provider": "S3", "version": "1"},
            "configuration": {"S3Bucket": "b", "S3ObjectKey": "k"}, "outputArtifacts": [{"name": "source"}]}]},
            {"name": "Build", "actions": [{"name": "Build", "actionTypeId": {
                "category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "configuration": {"ProjectName": "p"}, "inputArtifacts": [{"name": "source"}]}]}]})
    execution_id = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    account = client("sts", moto_endpoint, REGION).get_caller_identity()["Account"]
    stored = codepipeline_backends[account][REGION].pipelines[name].executions[execution_id]
    original = stored.to_dict

    def with_revision():
        doc = original()
        doc["artifactRevisions"] = [{"name": "source", "revisionId": COMMIT,
                                     "revisionSummary": '{"ProviderType":"GitHub","CommitMessage":"Fix the cart total\\n\\nlong body"}',
                                     "revisionUrl": f"https://github.com/example-corp/shop-web/commit/{COMMIT}"}]
        return doc

    stored.to_dict = with_revision
    return name, execution_id


def test_the_trigger_from_the_event_and_the_commit_from_the_execution(execution, topic, moto_endpoint):  # noqa: F811
    name, execution_id = execution
    _, queue = topic
    trigger = {"trigger-type": "StartPipelineExecution",
               "trigger-detail": "arn:aws:sts::123456789012:assumed-role/Admin/my-user"}
    result = notify.handler(documented_pipeline_event("STARTED", name, execution_id, trigger))
    assert result["sns"] == "published" and result["trigger"] == "StartPipelineExecution"
    body = received(moto_endpoint, queue)[0]["body"]
    assert "Started by:   StartPipelineExecution (arn:aws:sts::123456789012:assumed-role/Admin/my-user)" in body
    assert f"Commit:       {COMMIT[:12]} Fix the cart total" in body
    assert f"https://github.com/example-corp/shop-web/commit/{COMMIT}" in body
    assert (f"https://{REGION}.console.aws.amazon.com/codesuite/codepipeline/pipelines/{name}/executions/"
            f"{execution_id}/timeline?region={REGION}") in body


def test_without_a_trigger_in_the_event_the_execution_says_what_started_it(execution, topic, moto_endpoint):  # noqa: F811
    name, execution_id = execution
    _, queue = topic
    notify.handler(documented_pipeline_event("FAILED", name, execution_id, None))
    body = received(moto_endpoint, queue)[0]["body"]
    assert "Started by:   StartPipelineExecution" in body and f"Commit:       {COMMIT[:12]}" in body


@pytest.mark.parametrize("state,meaning", [
    ("SUPERSEDED", "A newer execution overtook this one"),
    ("STOPPED", "Someone or something stopped this execution"),
])
def test_stopped_and_superseded_runs_say_what_happened(state, meaning, execution, topic, moto_endpoint):  # noqa: F811
    name, execution_id = execution
    _, queue = topic
    trigger = {"trigger-type": "Webhook", "trigger-detail": "arn:aws:codepipeline:ap-northeast-1:1:webhook:w"}
    notify.handler(documented_pipeline_event(state, name, execution_id, trigger))
    (message,) = received(moto_endpoint, queue)
    assert message["subject"] == f"{state}: {name} pipeline execution"
    assert meaning in message["body"] and "Started by:   Webhook" in message["body"]


def test_a_waiting_approval_gets_a_message_with_a_link_to_approve(execution, topic, moto_endpoint):  # noqa: F811
    name, execution_id = execution
    _, queue = topic
    ev = event("action", "STARTED", pipeline=name, region=REGION)
    ev["detail"].update({"execution-id": execution_id, "stage": "Approval", "action": "Approval",
                         "type": {"owner": "AWS", "provider": "Manual", "category": "Approval", "version": "1"}})
    result = notify.handler(ev)
    assert result["sns"] == "published"
    (message,) = received(moto_endpoint, queue)
    assert message["subject"] == f"APPROVAL NEEDED: {name} Approval/Approval"
    review = f"https://{REGION}.console.aws.amazon.com/codesuite/codepipeline/pipelines/{name}/view?region={REGION}"
    assert f"Approve or reject it (Review): {review}" in message["body"]
    assert f"Commit:       {COMMIT[:12]}" in message["body"]
    # the Slack text links to the same place
    assert review in notify.slack_message(notify.parse(ev), result["link"])["text"]


def test_when_the_execution_cannot_be_read_the_message_still_goes_out(topic, moto_endpoint):  # noqa: F811
    _, queue = topic
    ev = documented_pipeline_event("FAILED", "no-such-pipeline", str(uuid.uuid4()),
                                   {"trigger-type": "PollForSourceChanges", "trigger-detail": ""})
    result = notify.handler(ev)
    assert result["sns"] == "published" and result["status"] == "ok"
    body = received(moto_endpoint, queue)[0]["body"]
    assert "Started by:   PollForSourceChanges" in body
    assert "Commit:       unknown (" in body and "PipelineNotFoundException" in body
