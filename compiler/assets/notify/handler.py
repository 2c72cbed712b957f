"""Pipeline status notifications: an EventBridge event from CodePipeline -> one SNS message (and Slack).

Lambda handler `handler.handler`. Standard library and boto3 only (boto3 is in the runtime).

Each message says what started the run (the event's `execution-trigger`, else the execution's
trigger from GetPipelineExecution: a push through a webhook or connection, a person's
StartPipelineExecution, polling, a rule), the commit it runs (GetPipelineExecution's artifact
revision: id, first line of the message, link) and a console link to the execution. STOPPED and
SUPERSEDED runs say what that means; a manual approval that starts waiting (an Approval action's
STARTED event) gets a message of its own with a link to approve. The lookup is best effort: when
it fails the message says so and is sent anyway.

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
        "category": str((detail.get("type") or {}).get("category") or "") if isinstance(detail.get("type"), dict)
        else "",
        "execution_trigger": detail.get("execution-trigger") if isinstance(detail.get("execution-trigger"), dict)
        else {},
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


def execution_facts(f: dict, trigger: dict) -> dict:
    """Trigger and commit of the execution: the event's trigger first, GetPipelineExecution for the rest."""
    out = {"trigger": trigger.get("trigger-type") or "", "trigger_detail": trigger.get("trigger-detail") or "",
           "commit": "", "commit_summary": "", "commit_url": "", "lookup_error": ""}
    try:
        execution = _client("codepipeline", f["region"] or None).get_pipeline_execution(
            pipelineName=f["pipeline"], pipelineExecutionId=f["execution_id"]).get("pipelineExecution") or {}
    except Exception as exc:  # the message goes out anyway, saying what is unknown
        out["lookup_error"] = f"{type(exc).__name__}: {exc}"
        return out
    found = execution.get("trigger") or {}
    out["trigger"] = out["trigger"] or found.get("triggerType") or ""
    out["trigger_detail"] = out["trigger_detail"] or found.get("triggerDetail") or ""
    revisions = execution.get("artifactRevisions") or []
    if revisions:
        first = revisions[0]
        out["commit"] = str(first.get("revisionId") or "")
        summary = str(first.get("revisionSummary") or "")
        if summary.startswith("{"):  # CodeStar connections report JSON
            try:
                summary = str(json.loads(summary).get("CommitMessage", ""))
            except (ValueError, AttributeError):
                pass
        out["commit_summary"] = (summary.strip().splitlines() or [""])[0][:120]
        out["commit_url"] = str(first.get("revisionUrl") or "")
    return out


def pipeline_url(pipeline: str, region: str) -> str:
    """The pipeline's page in the console: where a waiting approval is reviewed."""
    from urllib.parse import quote

    return (f"https://{region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/{quote(pipeline, safe='')}"
            f"/view?region={region}")


MEANING = {
    "SUPERSEDED": "A newer execution overtook this one before it finished (execution mode SUPERSEDED): the newer "
                  "commit goes on, this one will not deploy.",
    "STOPPED": "Someone or something stopped this execution (StopPipelineExecution); it will not go on.",
    "STOPPING": "The execution is being stopped.",
}


def approval_waiting(f: dict) -> bool:
    return f["kind"] == "action" and f["category"] == "Approval" and f["state"] == "STARTED"


def what(f: dict) -> str:
    if f["kind"] == "action":
        return f"action {f['stage']}/{f['action']}"
    if f["kind"] == "stage":
        return f"stage {f['stage']}"
    return "pipeline execution"


def _run_lines(x: dict) -> list[str]:
    """What started the run and what it runs."""
    trigger = x["trigger"] or "unknown"
    lines = [f"Started by:   {trigger}" + (f" ({x['trigger_detail']})" if x["trigger_detail"] else "")]
    if x["commit"]:
        lines.append(f"Commit:       {x['commit'][:12]}" + (f" {x['commit_summary']}" if x["commit_summary"] else ""))
        if x["commit_url"]:
            lines.append(f"              {x['commit_url']}")
    else:
        lines.append("Commit:       unknown" + (f" ({x['lookup_error']})" if x["lookup_error"] else ""))
    return lines


def render(f: dict, x: dict | None = None) -> tuple[str, str, str]:
    """(subject, body, console link) for one event; `x` the execution's trigger and commit."""
    x = x or execution_facts(f, f.get("execution_trigger") or {})
    link = console_url(f["pipeline"], f["execution_id"], f["region"])
    if approval_waiting(f):
        review = pipeline_url(f["pipeline"], f["region"])
        subject = sanitize_subject(f"APPROVAL NEEDED: {f['pipeline']} {f['stage']}/{f['action']}")
        lines = [f"Approval needed: {f['pipeline']} is waiting at {f['stage']}/{f['action']}.", "",
                 f"Approve or reject it (Review): {review}", "", f"Pipeline:     {f['pipeline']}",
                 *_run_lines(x), f"Execution id: {f['execution_id']}", f"Account:      {f['account']}",
                 f"Region:       {f['region']}", f"Time:         {f['time']}", "",
                 f"Execution in the console: {link}"]
        return subject, "\n".join(lines) + "\n", link
    subject = sanitize_subject(f"{f['state']}: {f['pipeline']} {what(f)}")
    lines = [
        f"{f['state']}: {f['pipeline']} {what(f)}",
        "",
        *([MEANING[f["state"]], ""] if f["kind"] == "pipeline" and f["state"] in MEANING else []),
        f"Pipeline:     {f['pipeline']}",
        f"State:        {f['state']}",
    ]
    if f["stage"]:
        lines.append(f"Stage:        {f['stage']}")
    if f["action"]:
        lines.append(f"Action:       {f['action']}")
    lines += [
        *_run_lines(x),
        f"Execution id: {f['execution_id']}",
        f"Account:      {f['account']}",
        f"Region:       {f['region']}",
        f"Time:         {f['time']}",
        "",
        f"Execution in the console: {link}",
    ]
    return subject, "\n".join(lines) + "\n", link


def slack_message(f: dict, link: str, x: dict | None = None) -> dict:
    x = x or {"trigger": "", "commit": ""}
    if approval_waiting(f):
        title = f":raised_hand: *Approval needed*: {f['pipeline']} {f['stage']}/{f['action']}"
        return {"text": f"{title}\n<{pipeline_url(f['pipeline'], f['region'])}|Review> "
                        f"<{link}|Execution {f['execution_id']}>"}
    emoji = EMOJI.get(f["state"], ":information_source:")
    title = f"{emoji} *{f['state']}*: {f['pipeline']} {what(f)}"
    started = f" started by {x['trigger']}" if x.get("trigger") else ""
    commit = f", commit {x['commit'][:12]}" if x.get("commit") else ""
    return {"text": f"{title}\n<{link}|Execution {f['execution_id']}>{started}{commit} ({f['region']}, {f['time']})"}


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
    x = execution_facts(f, f["execution_trigger"])
    subject, body, link = render(f, x)
    result = {"status": "ok", "pipeline": f["pipeline"], "state": f["state"], "kind": f["kind"],
              "trigger": x["trigger"], "commit": x["commit"],
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
            status = post_slack(slack_url(secret_id), slack_message(f, link, x))
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
