"""`shipspec import` from CloudFormation templates: one pipeline template (and optionally its
notification template) per environment -> one spec, with the report of every field.

Nothing is written unless every environment maps without error and the spec the import would
write loads with the project's own loader and comes out as mapped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ..core.diagnostics import Diagnostic, Location, SpecError
from ..core.errors import UsageError
from ..spec.models import NAME_RE, ServiceConfig
from . import specwriter
from .cfn_actions import other_actions, repository
from .cfn_notify import map_notification, read_notification
from .cfn_pipeline import PipelineMapper, known
from .compare import notification_differences, pipeline_differences
from .facts import pipeline_resource, read_facts
from .findings import Findings, Report, merge_findings
from .resolve import Context
from .tsource import Template

_NAME = re.compile(NAME_RE)


@dataclass(frozen=True)
class TemplateInput:
    """One environment's templates, where they will live, and the parameter values known for them."""

    env: str
    pipeline: Template
    account: str
    region: str
    notification: Template | None = None
    parameters: Mapping[str, str] = field(default_factory=dict)
    notification_parameters: Mapping[str, str] = field(default_factory=dict)
    stack_name: str = ""
    notification_stack_name: str = ""


@dataclass(frozen=True)
class ImportResult:
    name: str
    text: str  # the spec, as written to services/<name>.yaml
    report: Report
    configs: Mapping[str, ServiceConfig]


def declared_places(root: Path, envs: list[str]) -> dict[str, tuple[str, str]]:
    """(account, region) of each environment, from services/_defaults.yaml; UsageError for one it does
    not declare."""
    declared = specwriter.defaults_of(root).get("environments") or {}
    out = {}
    for env in envs:
        entry = declared.get(env) if isinstance(declared, dict) else None
        if not isinstance(entry, dict) or "account" not in entry or "region" not in entry:
            raise UsageError(f"environment '{env}' is not declared in services/_defaults.yaml (account and region); "
                             f"declare it there first (declared: {', '.join(sorted(declared)) or 'none'})")
        out[env] = (str(entry["account"]), str(entry["region"]))
    return out


def _derive_name(facts, env: str) -> str | None:
    """A spec name from the pipeline's name (less a trailing -<env>) or the ECS service's."""
    for raw in (facts.name.value, facts.deploy.service.value if facts.deploy else None):
        if not isinstance(raw, str):
            continue
        text = re.sub(rf"[-_.]{re.escape(env)}$", "", raw.lower())
        text = re.sub(r"[-_.](service|svc|pipeline)$", "", text)
        text = re.sub(r"[^a-z0-9-]", "-", text).strip("-")
        if _NAME.match(text):
            return text
    return None


def _tags(m: PipelineMapper) -> None:
    tags = m.f.tags.value
    if isinstance(tags, list):
        found = {t.get("Key"): t.get("Value") for t in tags if isinstance(t, dict) and isinstance(t.get("Key"), str)
                 and not t["Key"].startswith(("aws:", "shipspec:")) and isinstance(t.get("Value"), str)}
        if found:
            m.map(m.f.tags.path, "tags", found)


def import_templates(root: Path, inputs: list[TemplateInput], name: str | None = None,
                     ecr_repository: str | None = None) -> ImportResult:
    errors: list[Diagnostic] = []
    per_env: dict[str, dict] = {}
    parts: list[Findings] = []
    facts_of: dict[str, tuple] = {}
    for inp in inputs:
        t = inp.pipeline
        pids = pipeline_resource(t)
        if len(pids) != 1:
            types = sorted({str(r.get("Type")) for r in t.resources.values() if isinstance(r, dict)})
            what = ("no AWS::CodePipeline::Pipeline resource (it has: " + (", ".join(types) or "no resources") + ")"
                    if not pids else f"{len(pids)} pipelines ({', '.join(pids)}); import one template per pipeline")
            errors.append(Diagnostic(t.where(("Resources",)) if pids else Location(t.file),
                                     f"not a pipeline template: {what}"))
            continue
        ctx = Context.of(t.data, inp.parameters, inp.account, inp.region, inp.stack_name)
        facts = read_facts(t, ctx, pids[0])
        out = Findings(inp.env)
        m = PipelineMapper(t, facts, ctx, out)
        name = name or _derive_name(facts, inp.env)
        if name is None:
            errors.append(Diagnostic(t.where(facts.name.path), "cannot derive a service name from the pipeline's "
                                     "name: pass --name NAME (3-32 lowercase letters, digits and hyphens)"))
            continue
        m.sources()
        repository(m, ecr_repository)
        m.build()
        m.service_values(name)
        m.names(f"{name}-{inp.env}")
        other_actions(m)
        _tags(m)
        old_notify = None
        if inp.notification is not None:
            nctx = Context.of(inp.notification.data, inp.notification_parameters, inp.account, inp.region,
                              inp.notification_stack_name)
            try:
                pipeline_name = facts.name.value if known(facts.name.value) else f"{name}-{inp.env}"
                m.m.values["notifications"] = map_notification(inp.notification, nctx, out, pipeline_name)
                old_notify = read_notification(inp.notification, nctx)
            except SpecError as exc:
                errors.extend(exc.diagnostics)
        else:
            out.default("notifications", None, "no notification template given: services/_defaults.yaml's "
                        "notifications apply")
        errors.extend(m.m.errors)
        per_env[inp.env] = m.m.values
        parts.append(out)
        facts_of[inp.env] = (facts, old_notify)
    if errors:
        raise SpecError(errors)
    assert name is not None
    defaults = specwriter.defaults_of(root)
    places = {i.env: (i.account, i.region) for i in inputs}
    doc, dropped = specwriter.minimal(defaults, name, per_env, places)
    sources = ", ".join(f"{i.stack_name or i.pipeline.file} ({i.env})" for i in inputs)
    text = specwriter.emit(doc, [f"Imported by `shipspec import` from {sources}.",
                                 "Review it with the import report, then run `shipspec check`."])
    configs = specwriter.verify(root, name, text, per_env)
    for out in parts:
        old, old_notify = facts_of[out.env]
        differences(configs[out.env], old, old_notify, out)
    report = merge_findings(name, f"services/{name}.yaml", parts, dropped)
    return ImportResult(name, text, report, configs)


def differences(c: ServiceConfig, old, old_notify, out: Findings) -> None:
    """Compare the original pipeline with the one shipspec renders for `c`."""
    from ..build.render.notification import render_notification
    from ..build.render.pipeline import render_pipeline

    gen = Template("generated", render_pipeline(c))
    ctx = Context.of(gen.data, {}, c.environment.account, c.environment.region)
    new = read_facts(gen, ctx, pipeline_resource(gen)[0])
    pipeline_differences(old, new, out)
    if old_notify is not None:
        ngen = Template("generated", render_notification(c, "lambda/notify.zip"))
        new_notify = read_notification(ngen, Context.of(ngen.data, {}, c.environment.account, c.environment.region))
        notification_differences(old_notify, new_notify, out, created_topic=not c.notifications.topic_arn)
