"""How the pipeline shipspec generates differs from the original, fact by fact (facts.py on both
templates): what the import report lists under "differences"."""

from __future__ import annotations

from typing import Any

from .cfn_notify import NotificationFacts
from .facts import PipelineFacts, ProjectFact
from .findings import Findings
from .resolve import ResourceRef, Unknown


def _text(value: Any) -> str:
    if isinstance(value, ResourceRef):
        return f"(resource {value.logical_id})"
    if isinstance(value, Unknown):
        return str(value)
    return "(none)" if value is None else str(value)


def triggers(f: PipelineFacts) -> tuple[str, ...]:
    """What starts the pipeline: each source action's own change detection, webhooks, V2 triggers."""
    out = []
    for s in f.sources:
        if s.detects:
            out.append(f"{s.action} ({'change detection' if s.provider == 'codestar' else 'polling'})")
    if f.webhooks:
        out.append("a webhook" if f.webhooks == 1 else f"{f.webhooks} webhooks")
    if f.triggers:
        out.append("a push trigger with file paths")
    return tuple(out)


def _project(out: Findings, what: str, old: ProjectFact | None, new: ProjectFact | None) -> None:
    if old is None or new is None:
        return
    for label, a, b in (("name", old.name.value, new.name.value), ("compute type", old.compute.value, new.compute.value),
                        ("image", old.image.value, new.image.value), ("buildspec", old.buildspec.value,
                                                                      new.buildspec.value),
                        ("timeout (minutes)", old.timeout.value, new.timeout.value)):
        if label == "buildspec" and isinstance(b, str) and "\n" in b:
            b = "shipspec's generated buildspec"
        if label == "buildspec" and isinstance(a, str) and "\n" in a:
            a = "an inline buildspec"
        if _text(a) != _text(b):
            out.differs(f"{what} project {label}", _text(a), _text(b))


def pipeline_differences(old: PipelineFacts, new: PipelineFacts, out: Findings) -> None:
    if old.stage_order != new.stage_order:
        out.differs("stage order", " -> ".join(old.stage_order), " -> ".join(new.stage_order))
    if triggers(old) != triggers(new):
        out.differs("what starts the pipeline", ", ".join(triggers(old)) or "nothing (manual runs only)",
                    ", ".join(triggers(new)))
    token = next((s.token.value for s in old.sources if s.token), None)
    reused = [w == token for w in old.webhook_secrets]
    if any(reused) and not any(w == token for w in new.webhook_secrets):
        out.differs("webhook secret", "the GitHub token, reused as the webhook secret",
                    "a secret of the webhook's own")
    old_sources = [(s.provider, _text(s.repository.value), _text(s.branch.value)) for s in old.sources]
    new_sources = [(s.provider, _text(s.repository.value), _text(s.branch.value)) for s in new.sources]
    if old_sources != new_sources:
        out.differs("sources", "; ".join(" ".join(x) for x in old_sources), "; ".join(" ".join(x) for x in new_sources))
    _project(out, "Build", old.build, new.build)
    _project(out, "UpdateService", old.update, new.update)
    if old.deploy and new.deploy:
        for label, a, b in (("cluster", old.deploy.cluster.value, new.deploy.cluster.value),
                            ("service", old.deploy.service.value, new.deploy.service.value),
                            ("timeout (minutes)", old.deploy.timeout.value, new.deploy.timeout.value)):
            if _text(a) != _text(b):
                out.differs(f"ECS deploy {label}", _text(a), _text(b))
        if old.deploy.file_name.value is not None and new.deploy.file_name.value is None:
            out.differs("Deploy stage", "the ECS deploy action, which registers a second task definition revision "
                        "and starts a second rollout after UpdateService's",
                        "one rollout per run: UpdateService starts it, Deploy follows that rollout and fails when "
                        "it is rolled back (docs/deploys.md)")
    old_roles, new_roles = dict(old.roles), dict(new.roles)
    for what in old_roles:  # kept by name or not, each role's permissions become shipspec's
        a, b = _text(old_roles[what]), _text(new_roles.get(what))
        shared = [w for w in old_roles if w != what and old_roles[w] == old_roles[what]]
        out.differs(f"{what} role", a + (f" (shared with {', '.join(shared)})" if shared else ""),
                    b + " with shipspec's least-privilege policy")
    if bool(old.approvals) != bool(new.approvals):
        out.differs("manual approval", "yes" if old.approvals else "no", "yes" if new.approvals else "no")
    for label, a, b in (("pipeline name", old.name.value, new.name.value),
                        ("pipeline type", old.pipeline_type, new.pipeline_type),
                        ("execution mode", old.execution_mode, new.execution_mode),
                        ("artifact store", old.artifact_store, "the bootstrap stack's bucket (shipspec-bootstrap)"
                         if new.artifact_store is not None else None)):
        if _text(a) != _text(b):
            out.differs(label, _text(a), _text(b))


def notification_differences(old: NotificationFacts | None, new: NotificationFacts | None, out: Findings,
                             created_topic: bool) -> None:
    if old is None or new is None:
        return
    if tuple(old.states) != tuple(new.states):
        out.differs("notified states", ", ".join(map(str, old.states)), ", ".join(map(str, new.states)))
    if sorted(e for e, _ in old.emails) != sorted(e for e, _ in new.emails):
        out.differs("e-mail subscribers", ", ".join(sorted(e for e, _ in old.emails)),
                    ", ".join(sorted(e for e, _ in new.emails)))
    if created_topic and old.emails:
        out.differs("SNS topic", "the template's topic", "a new topic: each e-mail address gets a confirmation "
                    "message to accept again")
    if sorted(old.targets) != sorted(new.targets):
        out.differs("what the rule invokes", ", ".join(old.targets), ", ".join(new.targets))
