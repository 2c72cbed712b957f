"""Pipeline status notifications: an EventBridge event from CodePipeline -> one SNS message (and Slack).

Lambda handler `handler.handler`. Standard library and boto3 only (boto3 is in the runtime).

Environment:
  TOPIC_ARN             SNS topic that receives one message per event.
  SLACK_WEBHOOK_SECRET  optional Secrets Manager id; its SecretString is the incoming-webhook URL,
                        or JSON with the URL under "url".

Nothing here raises to Lambda: a malformed event or an SNS/Slack failure is logged as one JSON
line and reported in the returned dict, so an asynchronous invocation is not retried forever.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.request

SOURCE = "aws.codepipeline"
DETAIL_TYPES = {
    "CodePipeline Pipeline Execution State Change": "pipeline",
    "CodePipeline Stage Execution State Change": "stage",
    "CodePipeline Action Execution State Change": "action",
}
SUBJECT_MAX = 100
SLACK_TIMEOUT_SECONDS = 5
EMOJI = {"FAILED": ":x:", "SUCCEEDED": ":white_check_mark:", "STARTED": ":arrow_forward:",
         "CANCELED": ":no_entry_sign:", "STOPPED": ":octagonal_sign:", "STOPPING": ":double_vertical_bar:",
         "SUPERSEDED": ":fast_forward:", "RESUMED": ":repeat:", "ABANDONED": ":warning:"}

_clients: dict = {}


class MalformedEvent(ValueError):
    pass


def log(level: str, message: str, **context) -> None:
    """One JSON line on stdout (CloudWatch Logs keeps it whole)."""
    sys.stdout.write(json.dumps({"level": level, "message": message, **context}, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def _client(service: str, region: str | None):
    """boto3 clients, created on first use (boto3 reads AWS_ENDPOINT_URL itself)."""
    key = (service, region, os.environ.get("AWS_ENDPOINT_URL"))
    if key not in _clients:
        import boto3

        _clients[key] = boto3.client(service, region_name=region) if region else boto3.client(service)
    return _clients[key]


def _text(value, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MalformedEvent(f"{field} is missing or not a string")
    return value.strip()


def parse(event) -> dict:
    """The facts of a CodePipeline state-change event; MalformedEvent when it is not one."""
    if not isinstance(event, dict):
        raise MalformedEvent("event is not a JSON object")
    if event.get("source") != SOURCE:
        raise MalformedEvent(f"source is {event.get('source')!r}, not {SOURCE}")
    kind = DETAIL_TYPES.get(event.get("detail-type"))
    if kind is None:
        raise MalformedEvent(f"detail-type {event.get('detail-type')!r} is not a CodePipeline execution state change")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise MalformedEvent("detail is missing or not an object")
    facts = {
        "kind": kind,
        "pipeline": _text(detail.get("pipeline"), "detail.pipeline"),
        "state": _text(detail.get("state"), "detail.state").upper(),
        "execution_id": _text(detail.get("execution-id"), "detail.execution-id"),
        "region": event.get("region") if isinstance(event.get("region"), str) else os.environ.get("AWS_REGION", ""),
        "account": str(event.get("account") or ""),
        "time": str(event.get("time") or ""),
        "stage": detail.get("stage") if isinstance(detail.get("stage"), str) else "",
        "action": detail.get("action") if isinstance(detail.get("action"), str) else "",
    }
    if kind != "pipeline" and not facts["stage"]:
        raise MalformedEvent(f"detail.stage is missing from a {kind} event")
    if kind == "action" and not facts["action"]:
        raise MalformedEvent("detail.action is missing from an action event")
    return facts


def console_url(pipeline: str, execution_id: str, region: str) -> str:
    from urllib.parse import quote

    return (f"https://{region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/{quote(pipeline, safe='')}"
            f"/executions/{quote(execution_id, safe='')}/timeline?region={region}")


def sanitize_subject(text: str) -> str:
    """SNS subjects: printable ASCII, no line breaks, at most 100 characters."""
    text = re.sub(r"[^\x20-\x7e]+", " ", text)
    text = re.sub(r" {2,}", " ", text).strip() or "CodePipeline notification"
    if len(text) > SUBJECT_MAX:
        text = text[: SUBJECT_MAX - 3].rstrip() + "..."
    return text


def what(f: dict) -> str:
    if f["kind"] == "action":
        return f"action {f['stage']}/{f['action']}"
    if f["kind"] == "stage":
        return f"stage {f['stage']}"
    return "pipeline execution"


def render(f: dict) -> tuple[str, str, str]:
    """(subject, body, console link) for one event."""
    link = console_url(f["pipeline"], f["execution_id"], f["region"])
    subject = sanitize_subject(f"{f['state']}: {f['pipeline']} {what(f)}")
    lines = [
        f"{f['state']}: {f['pipeline']} {what(f)}",
        "",
        f"Pipeline:     {f['pipeline']}",
        f"State:        {f['state']}",
    ]
    if f["stage"]:
        lines.append(f"Stage:        {f['stage']}")
    if f["action"]:
        lines.append(f"Action:       {f['action']}")
    lines += [
        f"Execution id: {f['execution_id']}",
        f"Account:      {f['account']}",
        f"Region:       {f['region']}",
        f"Time:         {f['time']}",
        "",
        f"Execution in the console: {link}",
    ]
    return subject, "\n".join(lines) + "\n", link


def slack_message(f: dict, link: str) -> dict:
    emoji = EMOJI.get(f["state"], ":information_source:")
    title = f"{emoji} *{f['state']}*: {f['pipeline']} {what(f)}"
    return {"text": f"{title}\n<{link}|Execution {f['execution_id']}> ({f['region']}, {f['time']})"}


def slack_url(secret_id: str) -> str:
    value = _client("secretsmanager", None).get_secret_value(SecretId=secret_id).get("SecretString") or ""
    value = value.strip()
    if value.startswith("{"):
        value = str(json.loads(value).get("url") or "")
    if not value.startswith("https://") and not value.startswith("http://"):
        raise ValueError("the secret holds no webhook URL (a URL, or JSON with key 'url')")
    return value


def post_slack(url: str, message: dict) -> int:
    request = urllib.request.Request(url, data=json.dumps(message).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=SLACK_TIMEOUT_SECONDS) as response:  # noqa: S310 - https webhook
        return response.status


def _topic_region(topic_arn: str) -> str | None:
    parts = topic_arn.split(":")
    return parts[3] if len(parts) >= 6 and parts[0] == "arn" and parts[3] else None


def handler(event, context=None) -> dict:
    """Publish one notification for one CodePipeline event; never raises."""
    request_id = getattr(context, "aws_request_id", None)
    try:
        f = parse(event)
    except MalformedEvent as exc:
        log("error", "ignored a malformed event", reason=str(exc), request_id=request_id,
            event_id=event.get("id") if isinstance(event, dict) else None)
        return {"status": "ignored", "reason": str(exc)}
    subject, body, link = render(f)
    result = {"status": "ok", "pipeline": f["pipeline"], "state": f["state"], "kind": f["kind"],
              "execution_id": f["execution_id"], "subject": subject, "link": link, "sns": "skipped", "slack": "skipped"}
    context_fields = {"pipeline": f["pipeline"], "state": f["state"], "execution_id": f["execution_id"],
                      "request_id": request_id}

    topic_arn = os.environ.get("TOPIC_ARN", "")
    if topic_arn:
        try:
            response = _client("sns", _topic_region(topic_arn)).publish(TopicArn=topic_arn, Subject=subject, Message=body)
            result["sns"] = "published"
            result["message_id"] = response.get("MessageId")
        except Exception as exc:  # an SNS failure must not make Lambda retry the event
            result.update(status="error", sns=f"error: {type(exc).__name__}: {exc}")
            log("error", "could not publish to SNS", topic_arn=topic_arn, error=str(exc), **context_fields)
    else:
        log("warning", "TOPIC_ARN is not set; no SNS message sent", **context_fields)

    secret_id = os.environ.get("SLACK_WEBHOOK_SECRET", "")
    if secret_id:
        try:
            status = post_slack(slack_url(secret_id), slack_message(f, link))
            result["slack"] = f"posted ({status})"
        except Exception as exc:  # Slack being down must not fail the notification
            result.update(status="error", slack=f"error: {type(exc).__name__}: {_safe_error(exc)}")
            log("error", "could not post to Slack", secret_id=secret_id, error=_safe_error(exc), **context_fields)

    log("info", "notified", **{k: result[k] for k in ("sns", "slack", "subject")}, **context_fields)
    return result


def _safe_error(exc: Exception) -> str:
    """Error text without the webhook URL (it is a credential)."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return f"cannot reach the webhook: {exc.reason}"
    return str(exc)
