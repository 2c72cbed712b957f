"""`shipspec plan-gate` on plan documents: the change fingerprint, the reviewed-plan comparison,
the danger label, environment order and the CI outputs. (The whole flow against moto's server is
in test_gitops_flow.py.)"""

from __future__ import annotations

import copy
import json

import pytest

from compiler.deploy import gate
from conftest import run_cli


def change(lid, rtype, action="Modify", replacement="False", risk="safe", **extra):
    return {"logical_id": lid, "resource_type": rtype, "action": action, "replacement": replacement,
            "properties": ["X"], "details": [{"path": "X", "before": 1, "after": 2, "requires_recreation": "Never"}],
            "risk": risk, "source": "both", "policy_action": None, **extra}


def stack(name, env, account, changes=(), status="update", service="news-web"):
    return {"service": service, "environment": env, "kind": "pipeline", "stack_name": name, "account": account,
            "region": "ap-northeast-1", "status": status,
            "change_set": {"name": "shipspec-abc", "id": "arn:cs/1", "type": "UPDATE"}, "error": None,
            "template_sha256": "t-" + name, "parameters": {}, "fingerprint": "sha256:x", "notes": [],
            "changes": list(changes)}


def plan(*stacks):
    return {"version": 1, "fingerprint": "sha256:whole", "base": "b", "head": "h", "target": "aws", "notes": [],
            "stacks": list(stacks), "orphans": []}


STG = stack("news-web-stg-pipeline", "stg", "111111111111",
            [change("Project", "AWS::CodeBuild::Project")])
PROD = stack("news-web-prod-pipeline", "prod", "222222222222",
             [change("Repository", "AWS::ECR::Repository", replacement="True", risk="caution",
                     policy_action="ReplaceAndRetain")])
BOOT = stack("shipspec-bootstrap", None, "111111111111", status="no-change", service=None)
QA = stack("video-api-qa-pipeline", "qa", "111111111111", [change("Pipeline", "AWS::CodePipeline::Pipeline")],
           service="video-api")


def test_fingerprint_ignores_order_sharding_and_run_details():
    whole = plan(STG, PROD, BOOT)
    again = copy.deepcopy(plan(BOOT, PROD, STG))
    for s in again["stacks"]:
        s["change_set"] = {"name": "shipspec-other", "id": "arn:cs/2", "type": "UPDATE"}
        s["notes"] = ["planned at another time"]
        for c in s["changes"]:
            c["source"] = "change-set"
    again["fingerprint"], again["head"] = "sha256:other", "h2"
    assert gate.digest(again) == gate.digest(whole)
    shards = [plan(STG, BOOT), plan(PROD, BOOT)]  # the bootstrap stack in both shards counts once
    assert gate.digest(gate.combine(shards)) == gate.digest(whole)


@pytest.mark.parametrize("edit", [
    lambda p: p["stacks"][0]["changes"][0]["details"][0].update(after=3),  # a different value
    lambda p: p["stacks"][0].update(template_sha256="other"),
    lambda p: p["stacks"][1]["changes"].append(change("Extra", "AWS::Logs::LogGroup", "Add", None)),
    lambda p: p["stacks"].append(QA),  # a stack more
    lambda p: p["stacks"].pop(0),
])
def test_fingerprint_sees_what_would_change_differently(edit):
    edited = copy.deepcopy(plan(STG, PROD))
    edit(edited)
    assert gate.digest(edited) != gate.digest(plan(STG, PROD))
    result = gate.evaluate(edited, approved=[plan(STG, PROD)], labels=["allow-danger"])
    assert not result.ok and "differs from the reviewed plan" in result.problems[0]


def test_environment_digest_compares_only_that_environment():
    changed = copy.deepcopy(plan(STG, PROD))
    changed["stacks"][1]["changes"][0]["details"][0]["after"] = 9
    assert gate.digest(changed, "stg") == gate.digest(plan(STG, PROD), "stg")
    assert gate.digest(changed, "prod") != gate.digest(plan(STG, PROD), "prod")


def test_matching_plan_with_label_passes_with_order_and_allow_replace():
    result = gate.evaluate(plan(STG, PROD, BOOT, QA), approved=[plan(QA, STG), plan(PROD, BOOT)],
                           labels=["docs", "allow-danger"], env_order=["stg", "prod"])
    assert result.ok, result.problems
    assert result.environments == ("stg", "prod", "qa")  # named first in order, then the rest
    assert result.allow_replace == ("Repository",)


def test_protected_replacement_needs_the_label_even_when_not_danger():
    result = gate.evaluate(plan(STG, PROD), approved=[plan(STG, PROD)], labels=["docs"])
    assert not result.ok and result.allow_replace == ()
    assert "Repository (AWS::ECR::Repository) Modify with replacement, risk caution" in result.problems[0]
    assert "allow-danger" in result.problems[0]


def test_danger_risk_needs_the_configured_label():
    loses = stack("x-stg-notification", "stg", "111111111111",
                  [change("NotifyLogGroup", "AWS::Logs::LogGroup", "Remove", None, risk="danger")])
    assert not gate.evaluate(plan(loses), approved=[plan(loses)], labels=["allow-danger"],
                             danger_label="data-loss-ok").ok
    assert gate.evaluate(plan(loses), approved=[plan(loses)], labels=["data-loss-ok"],
                         danger_label="data-loss-ok").ok


def test_no_reviewed_plan_stops_unless_allowed_and_a_given_fingerprint_wins():
    p = plan(STG)
    alone = gate.evaluate(p)
    assert not alone.ok and "no reviewed plan" in alone.problems[0] and alone.fingerprint in alone.problems[0]
    assert gate.evaluate(p, unreviewed="apply").ok
    stale = plan(stack("news-web-stg-pipeline", "stg", "111111111111"))
    # A person reviewed this run's plan by its fingerprint: the stale pull-request plan is moot.
    assert gate.evaluate(p, approved=[stale], expected=gate.digest(p)).ok
    assert not gate.evaluate(p, expected="0" * 64).ok
    assert gate.evaluate(plan(BOOT)).ok  # nothing to change needs no review


def test_danger_only_skips_the_review():
    assert gate.evaluate(plan(STG), review=False).ok
    assert not gate.evaluate(plan(PROD), review=False).ok


def write(tmp_path, name, doc) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_cli_outputs_for_the_workflow(tmp_path):
    p = write(tmp_path, "plan.json", plan(STG, PROD, BOOT))
    a1, a2 = write(tmp_path, "plan-1.json", plan(STG)), write(tmp_path, "plan-2.json", plan(PROD, BOOT))
    out, summary = tmp_path / "out", tmp_path / "summary.md"
    r = run_cli("plan-gate", "--plan", p, "--approved", a1, "--approved", a2, "--labels", "allow-danger",
                "--env-order", "prod,stg", "--github-output", str(out), "--summary", str(summary))
    assert r.status == 0, r.err
    got = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert got["ok"] == "true" and json.loads(got["environments"]) == ["prod", "stg"]
    assert got["allow-replace"] == "Repository" and got["fingerprint"] == gate.digest(plan(STG, PROD))
    assert "Deploy gate: passed" in summary.read_text()
    stopped = run_cli("plan-gate", "--plan", p, "--approved", a1, "--github-output", str(out))
    assert stopped.status == 1 and "stop:" in stopped.err
    assert "ok=false" in out.read_text().splitlines()


@pytest.mark.parametrize("content,message", [("{not json", "is not JSON"), ('{"stacks": 3}', "not a shipspec plan")])
def test_cli_bad_plan_file(tmp_path, content, message):
    bad = tmp_path / "plan.json"
    bad.write_text(content)
    r = run_cli("plan-gate", "--plan", str(bad))
    assert r.status == 1 and message in r.err and "Traceback" not in r.err
    missing = run_cli("plan-gate", "--plan", str(tmp_path / "nope.json"))
    assert missing.status == 1 and "cannot read it" in missing.err
