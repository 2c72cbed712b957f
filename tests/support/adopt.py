"""Shared set-up for the adoption tests (no tests here): a scratch repository with the example
services/_defaults.yaml, the hand-written fixtures, and the semantics of a pipeline (what a person
checks when comparing two pipelines) read from a template."""

from __future__ import annotations

import shutil
from pathlib import Path

from support.cli import REPO

FIXTURES = REPO / "tests" / "adopt" / "fixtures"
HANDWRITTEN = FIXTURES / "handwritten"
ACCOUNTS = {"stg": "111111111111", "prod": "222222222222"}
REGION = "ap-northeast-1"


def scratch_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "services").mkdir(parents=True)
    shutil.copy(REPO / "services" / "_defaults.yaml", root / "services" / "_defaults.yaml")
    return root


def semantics(template_data: dict, env: str, notification: dict | None = None, params: dict | None = None) -> dict:
    """The comparable meaning of a pipeline (and notification) template: sources and branch, the
    projects' compute type, image and buildspec, cluster, service, deploy timeout, approval,
    notified states and e-mails. Keys are the report's "what" labels."""
    from compiler.adopt.cfn_notify import read_notification
    from compiler.adopt.facts import pipeline_resource, read_facts
    from compiler.adopt.resolve import Context
    from compiler.adopt.tsource import Template

    t = Template("t", template_data)
    ctx = Context.of(template_data, params or {}, ACCOUNTS.get(env, "111111111111"), REGION)
    f = read_facts(t, ctx, pipeline_resource(t)[0])
    out = {
        "sources": [(s.provider, s.repository.value, s.branch.value) for s in f.sources],
        "Build project compute type": f.build.compute.value,
        "Build project image": f.build.image.value,
        "Build project buildspec": f.build.buildspec.value,
        "UpdateService project compute type": f.update.compute.value,
        "UpdateService project buildspec": f.update.buildspec.value,
        "ECS deploy cluster": f.deploy.cluster.value,
        "ECS deploy service": f.deploy.service.value,
        "ECS deploy timeout (minutes)": str(f.deploy.timeout.value),
        "manual approval": bool(f.approvals),
        "stage order": f.stage_order,
    }
    if notification is not None:
        nt = Template("n", notification)
        n = read_notification(nt, Context.of(notification, {}, ctx.account, REGION))
        out["notified states"] = tuple(n.states)
        out["e-mail subscribers"] = tuple(sorted(e for e, _ in n.emails))
    return out
