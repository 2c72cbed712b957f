"""`shipspec plan-gate` on plan documents: the change fingerprint, the reviewed-plan comparison,
the danger label, environment order and the CI outputs. (The whole flow against moto's server is
in test_gitops_flow.py.)"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from compiler.deploy import gate
from compiler.deploy.changes import PropertyChange, ResourceChange
from compiler.deploy.plan import ChangeSetRef, Plan, StackPlan, combine, dumps
from support.cli import run_cli


def change(lid, rtype, action="Modify", replacement="False", risk="safe", policy_action=None):
    return ResourceChange(lid, rtype, action, replacement, (PropertyChange("X", 1, 2, "Never"),), risk, "both",
                          policy_action)


def stack(name, env, account, changes=(), status="update", service="news-web"):
    return StackPlan(name, "pipeline", account, "ap-northeast-1", service, env, status, "t-" + name, (),
                     tuple(changes), ChangeSetRef("shipspec-abc", "arn:cs/1", "UPDATE"))


def plan(*stacks):
    return Plan(tuple(stacks), base="b", head="h")


def edit_stack(p, i, **fields):
    stacks = list(p.stacks)
    stacks[i] = replace(stacks[i], **fields)
    return replace(p, stacks=tuple(stacks))


def edit_value(p, i, after):
    s = p.stacks[i]
    first = replace(s.changes[0], properties=(replace(s.changes[0].properties[0], after=after),))
    return edit_stack(p, i, changes=(first, *s.changes[1:]))


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
    again = plan(BOOT, PROD, STG)
    again = replace(again, head="h2", notes=("planned at another time",), stacks=tuple(
        replace(s, change_set=ChangeSetRef("shipspec-other", "arn:cs/2", "UPDATE"), notes=("later",),
                changes=tuple(replace(c, source="change-set") for c in s.changes)) for s in again.stacks))
    assert again.fingerprint == whole.fingerprint
    shards = [plan(STG, BOOT), plan(PROD, BOOT)]  # the bootstrap stack in both shards counts once
    assert combine(shards).fingerprint == whole.fingerprint


@pytest.mark.parametrize("edit", [
    lambda p: edit_value(p, 0, 3),  # a different value
    lambda p: edit_stack(p, 0, template_sha256="other"),
    lambda p: edit_stack(p, 1, changes=p.stacks[1].changes + (change("Extra", "AWS::Logs::LogGroup", "Add", None),)),
    lambda p: replace(p, stacks=p.stacks + (QA,)),  # a stack more
    lambda p: replace(p, stacks=p.stacks[1:]),
])
def test_fingerprint_sees_what_would_change_differently(edit):
    edited = edit(plan(STG, PROD))
    assert edited.fingerprint != plan(STG, PROD).fingerprint
    result = gate.evaluate(edited, approved=[plan(STG, PROD)], labels=["allow-danger"])
    assert not result.ok and "differs from the reviewed plan" in result.problems[0]


def test_environment_fingerprint_compares_only_that_environment():
    changed = edit_value(plan(STG, PROD), 1, 9)
    assert changed.only("stg").fingerprint == plan(STG, PROD).only("stg").fingerprint
    assert changed.only("prod").fingerprint != plan(STG, PROD).only("prod").fingerprint
    assert gate.evaluate(changed, approved=[plan(STG, PROD)], env="stg").ok


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
    assert gate.evaluate(p, approved=[stale], expected=p.fingerprint).ok
    assert not gate.evaluate(p, expected="0" * 64).ok
    assert gate.evaluate(plan(BOOT)).ok  # nothing to change needs no review


def test_danger_only_skips_the_review():
    assert gate.evaluate(plan(STG), review=False).ok
    assert not gate.evaluate(plan(PROD), review=False).ok


def write(tmp_path, name, p) -> str:
    path = tmp_path / name
    path.write_text(dumps(p))
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
    assert got["allow-replace"] == "Repository" and got["fingerprint"] == plan(STG, PROD).fingerprint
    assert "Deploy gate: passed" in summary.read_text()
    stopped = run_cli("plan-gate", "--plan", p, "--approved", a1, "--github-output", str(out))
    assert stopped.status == 1 and "stop:" in stopped.err
    assert "ok=false" in out.read_text().splitlines()


@pytest.mark.parametrize("content,message", [("{not json", "not JSON"), ('{"stacks": 3}', "not a shipspec plan")])
def test_cli_bad_plan_file(tmp_path, content, message):
    bad = tmp_path / "plan.json"
    bad.write_text(content)
    r = run_cli("plan-gate", "--plan", str(bad))
    assert r.status == 1 and message in r.err and "Traceback" not in r.err
    missing = run_cli("plan-gate", "--plan", str(tmp_path / "nope.json"))
    assert missing.status == 1 and "cannot read it" in missing.err
