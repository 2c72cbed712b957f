"""A hand-written notification template (EventBridge rule -> Lambda or SNS -> e-mail subscribers)
as `notifications:` values, and its facts for comparing with what shipspec generates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from ..core.diagnostics import Diagnostic, Location, SpecError, dotted
from ..spec.models import PipelineState
from .findings import Findings
from .resolve import Context, ResourceRef, evaluate
from .tsource import Template

PIPELINE_EVENT = "CodePipeline Pipeline Execution State Change"
RULE_TYPE = "AWS::Events::Rule"


@dataclass(frozen=True)
class NotificationFacts:
    rule: str  # logical id of the rule
    detail_types: tuple[str, ...]
    pipelines: tuple[str, ...]
    states: tuple[str, ...]
    emails: tuple[tuple[str, tuple], ...]  # (address, template path)
    topic: str | None  # the topic ARN subscriptions use when it is not a topic of this template
    other_protocols: tuple[tuple[str, tuple], ...]
    targets: tuple[str, ...]  # resource types the rule targets


def _pipeline_rules(t: Template, ctx: Context) -> list[str]:
    out = []
    for lid, r in t.resources.items():
        if not isinstance(r, dict) or r.get("Type") != RULE_TYPE:
            continue
        pattern = evaluate((r.get("Properties") or {}).get("EventPattern"), ctx)
        if isinstance(pattern, dict) and "aws.codepipeline" in (pattern.get("source") or ()):
            out.append(lid)
    return out


def read_notification(t: Template, ctx: Context) -> NotificationFacts:
    """The facts of a notification template; SpecError when it has no rule on CodePipeline events."""
    rules = _pipeline_rules(t, ctx)
    if not rules:
        types = sorted({str(r.get("Type")) for r in t.resources.values() if isinstance(r, dict)})
        raise SpecError([Diagnostic(Location(t.file), "not a pipeline notification template: no AWS::Events::Rule "
                                    "matches source aws.codepipeline (it has: " + (", ".join(types) or "no resources")
                                    + ")")])
    rule = rules[0]
    props = t.resources[rule].get("Properties") or {}
    pattern = evaluate(props.get("EventPattern"), ctx)
    detail = pattern.get("detail") if isinstance(pattern.get("detail"), dict) else {}
    emails, other, topic = [], [], None
    for lid, r in t.resources.items():
        if not isinstance(r, dict) or r.get("Type") != "AWS::SNS::Subscription":
            continue
        p = r.get("Properties") or {}
        proto, endpoint = evaluate(p.get("Protocol"), ctx), evaluate(p.get("Endpoint"), ctx)
        arn = evaluate(p.get("TopicArn"), ctx)
        if isinstance(arn, str):
            topic = arn
        if proto == "email" and isinstance(endpoint, str):
            emails.append((endpoint, ("Resources", lid, "Properties", "Endpoint")))
        else:
            other.append((f"{proto} {endpoint}", ("Resources", lid)))
    targets = []
    for target in props.get("Targets") or ():
        ref = evaluate(target.get("Arn"), ctx) if isinstance(target, dict) else None
        if isinstance(ref, ResourceRef):
            targets.append(str((t.resources.get(ref.logical_id) or {}).get("Type")))
        else:
            targets.append(str(ref))
    return NotificationFacts(rule, tuple(pattern.get("detail-type") or ()), tuple(detail.get("pipeline") or ()),
                             tuple(detail.get("state") or ()), tuple(emails), topic, tuple(other), tuple(targets))


def map_notification(t: Template, ctx: Context, out: Findings, pipeline_name: str) -> dict:
    """`notifications:` values of one environment."""
    f = read_notification(t, ctx)
    rule_path = ("Resources", f.rule, "Properties", "EventPattern")
    values: dict = {}
    known = set(get_args(PipelineState))
    states = [s for s in f.states if s in known]
    for s in f.states:
        if s not in known:
            out.cannot(t.where(rule_path + ("detail", "state")), f"state {s}", f"shipspec notifies on "
                       f"{', '.join(sorted(known))}")
    if states:
        values["events"] = states
        out.map(t.where(rule_path + ("detail", "state")), dotted(rule_path + ("detail", "state")),
                "notifications.events", states)
    for dt in f.detail_types:
        if dt != PIPELINE_EVENT:
            out.cannot(t.where(rule_path + ("detail-type",)), f"events of type {dt}",
                       "shipspec notifies on pipeline execution state changes only")
    if f.pipelines and pipeline_name not in f.pipelines:
        out.cannot(t.where(rule_path + ("detail", "pipeline")), f"rule on pipeline(s) {', '.join(map(str, f.pipelines))}",
                   f"shipspec's rule matches this pipeline ({pipeline_name}) only")
    values["emails"] = [e for e, _ in f.emails]
    for email, path in f.emails:
        out.map(t.where(path), dotted(path), "notifications.emails", email)
    for what, path in f.other_protocols:
        out.cannot(t.where(path), f"subscription {what}", "shipspec subscribes e-mail addresses; subscribe "
                   "others to the topic yourself, or use notifications.topic_arn")
    own_topics = {lid for lid, r in t.resources.items() if isinstance(r, dict) and r.get("Type") == "AWS::SNS::Topic"}
    if f.topic and not own_topics:
        values["topic_arn"] = f.topic
        out.map(t.where(("Resources",)), "Resources.*.Properties.TopicArn", "notifications.topic_arn", f.topic)
    return values
