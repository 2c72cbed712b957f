"""The EventBridge side of `shipspec local run`: every state change of the run becomes the event AWS
documents (aws-facts.md, "EventBridge events from CodePipeline"), each event is matched against the
EventBridge rules of the pipeline's account and region as stored in the emulator (their EventPattern,
with the emulator's TestEventPattern), and each match is delivered to the rule's targets.

- **Lambda targets** run shipspec's notification handler (compiler/assets/notify/handler.py, the code the
  notification stack deploys) in a subprocess with the function's stored environment (TOPIC_ARN, ...) and
  the credentials of the function's role, against the emulator: it reads the execution back
  (GetPipelineExecution) and publishes to the SNS topic. Other functions (another handler) are not run;
  the delivery says so. Other target types are listed, not delivered.
- **The inbox**: the emulator cannot send email, so before the first delivery to a topic the run subscribes
  an SQS queue to it (`shipspec-local-inbox-<topic>`, emptied first) and, after the run, reads the messages
  back: what the on-call person would have received.
"""

from __future__ import annotations

import json
import sys
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from ..deploy.aws.errors import client_errors, short_error
from .aws_cli_env import emulator_environment, role_credentials, stream

SOURCE = "aws.codepipeline"
DETAIL_TYPES = {"pipeline": "CodePipeline Pipeline Execution State Change",
                "stage": "CodePipeline Stage Execution State Change",
                "action": "CodePipeline Action Execution State Change"}
HANDLER = Path(__file__).resolve().parent.parent / "assets" / "notify" / "handler.py"
SHIPSPEC_HANDLER = "handler.handler"
RESULT_MARK = "SHIPSPEC_HANDLER_RESULT "
RUN_HANDLER = ("import json, sys\nsys.path.insert(0, sys.argv[1])\nimport handler\n"
               "result = handler.handler(json.load(sys.stdin))\n"
               f"print({RESULT_MARK!r} + json.dumps(result, sort_keys=True, default=str))\n")


@dataclass(frozen=True)
class Delivery:
    event: str  # "pipeline FAILED", "stage Build FAILED", "action Build/Build FAILED"
    rule: str
    target: str  # the function's name (or the target's ARN)
    result: str  # published, error: ..., not delivered: ...
    subject: str = ""
    message_id: str = ""


@dataclass(frozen=True)
class Received:
    """A message the inbox read back from SNS."""

    queue: str
    subject: str
    message: str
    message_id: str


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Events:
    """Emits one run's events; thread-safe (parallel actions emit concurrently)."""

    def __init__(self, clients: Callable[[str], Any], account: str, region: str, pipeline: str, version: int,
                 execution_id: str, trigger: dict, endpoint: str, cli: str, emit: Callable[[str], None]) -> None:
        self.clients, self.account, self.region, self.pipeline = clients, account, region, pipeline
        self.version, self.execution_id, self.trigger = version, execution_id, trigger
        self.endpoint, self.cli, self.emit = endpoint, cli, emit
        self.arn = f"arn:aws:codepipeline:{region}:{account}:{pipeline}"
        self.emitted: list[dict] = []
        self.deliveries: list[Delivery] = []
        self.queues: dict[str, str] = {}  # topic ARN -> queue URL
        self._lock = threading.Lock()
        self._rules = self._load_rules()
        self._functions: dict[str, dict] = {}

    def _load_rules(self) -> list[tuple[str, str, list[dict]]]:
        events = self.clients("events")
        rules, token = [], None
        while True:
            page = events.list_rules(**({"NextToken": token} if token else {}))
            for rule in page.get("Rules", []):
                if rule.get("State") == "ENABLED" and rule.get("EventPattern"):
                    targets = events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", [])
                    rules.append((rule["Name"], rule["EventPattern"], targets))
            token = page.get("NextToken")
            if not token:
                return rules

    def pipeline_state(self, state: str) -> None:
        detail = {"pipeline": self.pipeline, "version": str(self.version), "state": state,
                  "execution-id": self.execution_id,
                  "execution-trigger": {"trigger-type": self.trigger.get("triggerType", ""),
                                        "trigger-detail": self.trigger.get("triggerDetail", "")}}
        self._send("pipeline", detail, f"pipeline {state}")

    def stage_state(self, stage: str, state: str) -> None:
        detail = {"pipeline": self.pipeline, "version": str(self.version), "state": state,
                  "execution-id": self.execution_id, "stage": stage}
        self._send("stage", detail, f"stage {stage} {state}")

    def action_state(self, stage: str, action: str, type_id: dict, state: str) -> None:
        detail = {"pipeline": self.pipeline, "version": str(self.version), "state": state,
                  "execution-id": self.execution_id, "stage": stage, "action": action, "region": self.region,
                  "type": {k: type_id.get(k, "") for k in ("owner", "category", "provider", "version")}}
        self._send("action", detail, f"action {stage}/{action} {state}")

    def _send(self, kind: str, detail: dict, label: str) -> None:
        event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": DETAIL_TYPES[kind], "source": SOURCE,
                 "account": self.account, "time": _now(), "region": self.region, "resources": [self.arn],
                 "detail": detail}
        with self._lock:
            self.emitted.append(event)
            for name, pattern, targets in self._rules:
                matched = self.clients("events").test_event_pattern(EventPattern=pattern,
                                                                    Event=json.dumps(event))["Result"]
                if matched:
                    for target in targets:
                        self.deliveries.append(self._deliver(event, label, name, target))

    def _deliver(self, event: dict, label: str, rule: str, target: dict) -> Delivery:
        arn = str(target.get("Arn", ""))
        if ":lambda:" not in arn:
            return Delivery(label, rule, arn, "not delivered: the local run delivers to Lambda targets only")
        config = self._function(arn)
        name = config.get("FunctionName", arn)
        if config.get("Handler") != SHIPSPEC_HANDLER:
            return Delivery(label, rule, name, f"not delivered: the local run runs shipspec's notification "
                            f"handler only ({name} has handler {config.get('Handler')})")
        variables = (config.get("Environment") or {}).get("Variables") or {}
        if variables.get("TOPIC_ARN"):
            self._subscribe_inbox(variables["TOPIC_ARN"])
        creds = role_credentials(self.clients("sts"), config["Role"], "shipspec-local-notify")
        env = {**emulator_environment(self.endpoint, self.region, creds, self.cli), **variables,
               "AWS_LAMBDA_FUNCTION_NAME": name}
        lines: list[str] = []
        status = stream([sys.executable, "-c", RUN_HANDLER, str(HANDLER.parent)], HANDLER.parent, env, lines.append,
                        timeout=int(config.get("Timeout") or 30), stdin=json.dumps(event))
        result = next((json.loads(line[len(RESULT_MARK):]) for line in lines if line.startswith(RESULT_MARK)), None)
        if status != 0 or result is None:
            return Delivery(label, rule, name, "error: the handler failed: " + " | ".join(lines[-3:]))
        outcome = "published" if result.get("sns") == "published" else f"error: {result.get('sns')}"
        self.emit(f"notification: {label} -> {name} -> SNS: {outcome}")
        return Delivery(label, rule, name, outcome, str(result.get("subject", "")), str(result.get("message_id", "")))

    def _function(self, arn: str) -> dict:
        if arn not in self._functions:
            self._functions[arn] = self.clients("lambda").get_function_configuration(FunctionName=arn)
        return self._functions[arn]

    def _subscribe_inbox(self, topic_arn: str) -> None:
        if topic_arn in self.queues:
            return
        sqs, sns = self.clients("sqs"), self.clients("sns")
        name = ("shipspec-local-inbox-" + topic_arn.rsplit(":", 1)[-1])[:80]
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        drain(sqs, url)
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        subscribed = sns.list_subscriptions_by_topic(TopicArn=topic_arn).get("Subscriptions", [])
        if not any(s.get("Endpoint") == queue_arn for s in subscribed):
            sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        self.queues[topic_arn] = url

    def read_inbox(self) -> tuple[Received, ...]:
        """The messages the topics delivered to the inbox queues during the run."""
        sqs, out = self.clients("sqs"), []
        for url in self.queues.values():
            for body in drain(sqs, url):
                try:
                    envelope = json.loads(body)
                except ValueError:
                    envelope = {"Message": body}
                out.append(Received(url.rsplit("/", 1)[-1], str(envelope.get("Subject") or ""),
                                    str(envelope.get("Message") or ""), str(envelope.get("MessageId") or "")))
        return tuple(out)


def drain(sqs: Any, url: str) -> list[str]:
    """Every message body in the queue, deleted as read."""
    bodies = []
    try:
        while True:
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not messages:
                return bodies
            for m in messages:
                bodies.append(m["Body"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    except client_errors() as exc:  # an inbox that cannot be read: said, not fatal
        return bodies + [json.dumps({"Subject": "", "Message": f"(cannot read {url}: {short_error(exc)})"})]
