"""The notification Lambda against emulated SNS, SQS and Secrets Manager, and a local Slack stand-in."""

from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from compiler.assets.notify import handler as notify

from support.aws import client, moto_server_fixture

pytestmark = pytest.mark.slow

PIPELINE_STATES = ["STARTED", "SUCCEEDED", "RESUMED", "FAILED", "CANCELED", "SUPERSEDED", "STOPPING", "STOPPED"]
STAGE_STATES = [s for s in PIPELINE_STATES if s != "SUPERSEDED"]
ACTION_STATES = ["STARTED", "SUCCEEDED", "FAILED", "CANCELED", "ABANDONED"]
CASES = ([("pipeline", s) for s in PIPELINE_STATES] + [("stage", s) for s in STAGE_STATES]
         + [("action", s) for s in ACTION_STATES])
DETAIL_TYPE = {"pipeline": "CodePipeline Pipeline Execution State Change",
               "stage": "CodePipeline Stage Execution State Change",
               "action": "CodePipeline Action Execution State Change"}

moto_endpoint = moto_server_fixture()


def event(kind: str, state: str, pipeline: str = "news-web-prod", region: str = "eu-west-1") -> dict:
    """An EventBridge event as CodePipeline documents it."""
    detail = {"pipeline": pipeline, "version": 3, "state": state, "execution-id": str(uuid.uuid4())}
    if kind in ("stage", "action"):
        detail["stage"] = "Deploy"
    if kind == "action":
        detail["action"] = "DeployToECS"
        detail["type"] = {"owner": "AWS", "category": "Deploy", "provider": "ECS", "version": "1"}
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": DETAIL_TYPE[kind], "source": "aws.codepipeline",
        "account": "222222222222", "time": "2026-01-01T00:00:00Z", "region": region,
        "resources": [f"arn:aws:codepipeline:{region}:222222222222:{pipeline}"], "detail": detail,
    }


@pytest.fixture
def topic(moto_endpoint, monkeypatch):
    """A fresh topic with an SQS queue subscribed; yields (topic ARN, queue URL)."""
    sns, sqs = client("sns", moto_endpoint), client("sqs", moto_endpoint)
    name = f"t-{uuid.uuid4().hex[:8]}"
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("TOPIC_ARN", topic_arn)
    monkeypatch.delenv("SLACK_WEBHOOK_SECRET", raising=False)
    return topic_arn, queue_url


def received(moto_endpoint: str, queue_url: str) -> list[dict]:
    """Every notification in the queue, unwrapped from the SNS envelope."""
    sqs = client("sqs", moto_endpoint)
    out = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return out
        for m in batch:
            envelope = json.loads(m["Body"])
            out.append({"subject": envelope.get("Subject"), "body": envelope["Message"]})
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


def log_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


@pytest.mark.parametrize("kind,state", CASES)
def test_one_message_per_event(kind, state, topic, moto_endpoint):
    _, queue_url = topic
    ev = event(kind, state)
    result = notify.handler(ev)
    assert result["status"] == "ok" and result["sns"] == "published"

    messages = received(moto_endpoint, queue_url)
    assert len(messages) == 1
    subject, body = messages[0]["subject"], messages[0]["body"]
    execution = ev["detail"]["execution-id"]
    assert subject.startswith(f"{state}: news-web-prod")
    assert len(subject) <= 100 and subject.isascii() and "\n" not in subject
    link = (f"https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/news-web-prod"
            f"/executions/{execution}/timeline?region=eu-west-1")
    for text in ("news-web-prod", state, execution, "222222222222", "eu-west-1", "2026-01-01T00:00:00Z", link):
        assert text in body
    if kind in ("stage", "action"):
        assert "Deploy" in subject and "Stage:        Deploy" in body
    if kind == "action":
        assert "DeployToECS" in subject and "Action:       DeployToECS" in body
    assert result["link"] == link and result["execution_id"] == execution


def test_failures_stand_out(topic, moto_endpoint):
    _, queue_url = topic
    for state in ("SUCCEEDED", "FAILED"):
        notify.handler(event("pipeline", state))
    subjects = sorted(m["subject"] for m in received(moto_endpoint, queue_url))
    assert subjects == ["FAILED: news-web-prod pipeline execution", "SUCCEEDED: news-web-prod pipeline execution"]


def test_link_follows_the_event_region(topic, moto_endpoint):
    _, queue_url = topic
    ev = event("pipeline", "FAILED", region="us-east-2")
    notify.handler(ev)
    body = received(moto_endpoint, queue_url)[0]["body"]
    assert f"https://us-east-2.console.aws.amazon.com/codesuite/codepipeline/pipelines/news-web-prod/executions/" \
           f"{ev['detail']['execution-id']}/timeline?region=us-east-2" in body
    assert "eu-west-1" not in body


def test_long_or_odd_names_give_a_valid_subject(topic, moto_endpoint):
    _, queue_url = topic
    ev = event("action", "FAILED", pipeline="p" * 90)
    ev["detail"]["action"] = "Deploy\nwith\tcontrol\u00e9chars"
    result = notify.handler(ev)
    assert result["sns"] == "published"
    subject = received(moto_endpoint, queue_url)[0]["subject"]
    assert subject.startswith("FAILED: ppp") and len(subject) <= 100 and subject.endswith("...")
    assert subject.isascii() and all(32 <= ord(ch) < 127 for ch in subject)


@pytest.mark.parametrize("bad,reason", [
    (None, "not a JSON object"),
    ({}, "source"),
    ({**event("pipeline", "FAILED"), "source": "aws.ecs"}, "source"),
    ({**event("pipeline", "FAILED"), "detail-type": "ECS Task State Change"}, "detail-type"),
    ({**event("pipeline", "FAILED"), "detail": "oops"}, "detail"),
    ({**event("pipeline", "FAILED"), "detail": {"state": "FAILED", "execution-id": "x"}}, "detail.pipeline"),
    ({**event("pipeline", "FAILED"), "detail": {"pipeline": "p", "execution-id": "x"}}, "detail.state"),
    ({**event("pipeline", "FAILED"), "detail": {"pipeline": "p", "state": "FAILED"}}, "detail.execution-id"),
    ({**event("stage", "FAILED"), "detail": {"pipeline": "p", "state": "FAILED", "execution-id": "x"}}, "detail.stage"),
])
def test_malformed_event_is_logged_not_raised(bad, reason, topic, moto_endpoint, capsys):
    _, queue_url = topic
    result = notify.handler(bad)
    assert result["status"] == "ignored" and reason in result["reason"]
    lines = log_lines(capsys)
    assert any(line["level"] == "error" and reason in line["reason"] for line in lines)
    assert received(moto_endpoint, queue_url) == []


def test_sns_error_is_logged_not_raised(topic, monkeypatch, capsys):
    missing = topic[0] + "-missing"
    monkeypatch.setenv("TOPIC_ARN", missing)
    ev = event("pipeline", "FAILED")
    result = notify.handler(ev)
    assert result["status"] == "error" and result["sns"].startswith("error:")
    errors = [line for line in log_lines(capsys) if line["level"] == "error"]
    assert errors and errors[0]["topic_arn"] == missing
    assert errors[0]["pipeline"] == "news-web-prod" and errors[0]["execution_id"] == ev["detail"]["execution-id"]


class _Slack:
    """A local stand-in for a Slack incoming webhook, answering with a fixed status."""

    def __init__(self, status: int = 200):
        self.posts: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length", 0))
                outer.posts.append({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                    "json": json.loads(self.rfile.read(length))})
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"error")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T000/B000/XXXX"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _secret(moto_endpoint: str, value: str) -> str:
    name = f"slack-{uuid.uuid4().hex[:8]}"
    client("secretsmanager", moto_endpoint).create_secret(Name=name, SecretString=value)
    return name


@pytest.mark.parametrize("as_json", [False, True])
def test_slack_message_posted(as_json, topic, moto_endpoint, monkeypatch):
    _, queue_url = topic
    with _Slack() as slack:
        value = json.dumps({"url": slack.url}) if as_json else slack.url
        monkeypatch.setenv("SLACK_WEBHOOK_SECRET", _secret(moto_endpoint, value))
        ev = event("stage", "FAILED")
        result = notify.handler(ev)
    assert result["status"] == "ok" and result["slack"] == "posted (200)"
    assert len(slack.posts) == 1
    post = slack.posts[0]
    assert post["path"] == "/services/T000/B000/XXXX" and post["content_type"] == "application/json"
    text = post["json"]["text"]
    execution = ev["detail"]["execution-id"]
    assert "*FAILED*" in text and "news-web-prod" in text and "Deploy" in text
    assert (f"<https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/news-web-prod/executions/"
            f"{execution}/timeline?region=eu-west-1|Execution {execution}>") in text
    assert len(received(moto_endpoint, queue_url)) == 1  # SNS still gets its message


def test_slack_server_error_is_logged_not_raised(topic, moto_endpoint, monkeypatch, capsys):
    _, queue_url = topic
    with _Slack(status=500) as slack:
        monkeypatch.setenv("SLACK_WEBHOOK_SECRET", _secret(moto_endpoint, slack.url))
        result = notify.handler(event("pipeline", "FAILED"))
    assert result["status"] == "error" and "HTTP 500" in result["slack"]
    assert result["sns"] == "published" and len(received(moto_endpoint, queue_url)) == 1
    errors = [line for line in log_lines(capsys) if line["level"] == "error"]
    assert errors and "HTTP 500" in errors[0]["error"]
    assert "/services/T000" not in json.dumps(errors)  # the webhook URL is a credential: never logged


def test_slack_connection_refused_is_logged_not_raised(topic, moto_endpoint, monkeypatch, capsys):
    with _Slack() as slack:
        url = slack.url
    # The server is closed now: nothing listens on that port.
    monkeypatch.setenv("SLACK_WEBHOOK_SECRET", _secret(moto_endpoint, url))
    result = notify.handler(event("pipeline", "FAILED"))
    assert result["status"] == "error" and result["slack"].startswith("error:")
    assert any(line["level"] == "error" and "webhook" in line["error"] for line in log_lines(capsys))


def test_missing_slack_secret_is_logged_not_raised(topic, monkeypatch, capsys):
    monkeypatch.setenv("SLACK_WEBHOOK_SECRET", "does-not-exist")
    result = notify.handler(event("pipeline", "SUCCEEDED"))
    assert result["status"] == "error" and result["sns"] == "published"
    assert any(line["level"] == "error" and line["secret_id"] == "does-not-exist" for line in log_lines(capsys))
