"""The plan document, its fingerprints, the markdown/text reports, and the pure helpers of the
AWS edge (stack policy, change-set parsing, emulator adaptations, roles, dependency order)."""

from __future__ import annotations

import json
import re
import sys
import threading
from unittest import mock

import pytest

from compiler.local import emulator as localemu
from compiler.deploy.aws.changesets import to_resource_changes
from compiler.local.adapt import adapt, adapt_doc
from compiler.deploy.aws.executor import run_pool
from compiler.deploy.aws.protect import blocked_changes, stack_policy
from compiler.deploy.aws.runctx import RunContext, Timing
from compiler.deploy.aws.session import role_arn_for
from compiler.deploy.changes import PropertyChange, ResourceChange, with_risk
from compiler.deploy.plan import DeployedState, Orphan, Plan, PlanFileError, StackPlan, dumps, read_plan
from compiler.deploy.runtime import CopyItem, RuntimeChange, RuntimeRow
from compiler.deploy.predict import load_template
from compiler.cli.report_plan import MARKER, markdown, text
from support.cli import REPO


def change(lid, rtype="AWS::IAM::Role", action="Modify", replacement="False", props=(), source="both", policy=None):
    c = ResourceChange(lid, rtype, action, replacement,
                       tuple(PropertyChange(p, b, a, "Never") for p, b, a in props), source=source, policy_action=policy)
    return with_risk(c)


def stack(name="news-web-prod-pipeline", status="update", changes=(), service="news-web", env="prod", **kw):
    return StackPlan(stack_name=name, kind="pipeline", account="222222222222", region="ap-northeast-1",
                     service=service, environment=env, status=status, template_sha256="ab" * 32,
                     changes=tuple(changes), **kw)


DANGER = change("Repository", "AWS::ECR::Repository", "Modify", "True",
                (("RepositoryName", "media/a", "media/b"),), policy="ReplaceAndDelete")
SAFE = change("BuildRole", props=(("Policies[0].PolicyName", "a", "b"),))


def test_plan_json_matches_the_contract():
    plan = Plan((stack(changes=[SAFE, DANGER]), stack("shipspec-bootstrap", "no-change", service="", env="")),
                base="b" * 40, head="c" * 40, orphans=(Orphan("old", "prod", "old-prod-pipeline", "2" * 12,
                                                              "ap-northeast-1", "UPDATE_COMPLETE"),))
    doc = json.loads(dumps(plan))
    assert list(doc) == ["version", "fingerprint", "base", "head", "target", "notes", "stacks", "orphans"]
    assert doc["version"] == 2 and re.fullmatch(r"sha256:[0-9a-f]{64}", doc["fingerprint"])
    s = doc["stacks"][0]
    for key in ("service", "environment", "stack_name", "account", "region", "status", "change_set", "error",
                "changes", "fingerprint", "template_sha256", "parameters", "deployed", "runtime"):
        assert key in s
    assert s["status"] in ("create", "update", "no-change", "error")
    c = s["changes"][1]
    assert {k: c[k] for k in ("logical_id", "resource_type", "action", "replacement", "properties", "risk", "source")} \
        == {"logical_id": "Repository", "resource_type": "AWS::ECR::Repository", "action": "Modify",
            "replacement": "True", "properties": ["RepositoryName"], "risk": "danger", "source": "both"}
    assert c["details"] == [{"path": "RepositoryName", "op": "modify", "before": "media/a", "after": "media/b",
                             "position": "", "requires_recreation": "Never", "cause": ""}]
    assert doc["orphans"][0]["stack_name"] == "old-prod-pipeline"
    assert dumps(plan) == dumps(plan)  # deterministic


def test_fingerprint_covers_what_is_applied_and_nothing_else():
    base = stack(changes=[SAFE])
    fp = base.fingerprint
    other_source = stack(changes=[ResourceChange(**{**SAFE.__dict__, "source": "predicted"})],
                         notes=("planned later",))
    assert other_source.fingerprint == fp  # who reported it, and when, do not count
    assert stack(changes=[change("BuildRole", props=(("Policies[0].PolicyName", "a", "c"),))]).fingerprint != fp
    assert stack(changes=[change("BuildRole", props=(("Policies[0].PolicyName", "z", "b"),))]).fingerprint != fp
    assert stack(changes=[change("BuildRole", props=(("Description", "a", "b"),))]).fingerprint != fp
    assert stack(changes=[change("BuildRole", "AWS::IAM::Role", "Modify", "True",
                                 (("Policies[0].PolicyName", "a", "b"),))]).fingerprint != fp
    assert StackPlan(**{**base.__dict__, "template_sha256": "cd" * 32}).fingerprint != fp
    assert StackPlan(**{**base.__dict__, "parameters": (("A", "1"),)}).fingerprint != fp
    assert StackPlan(**{**base.__dict__, "account": "1" * 12}).fingerprint != fp
    assert Plan((base,)).fingerprint != Plan((base, stack("x"))).fingerprint
    assert Plan((base,)).fingerprint == Plan((base, stack("y", "no-change"))).fingerprint  # no change, no say
    # what the plan was made against, and what it does to the running container, count too
    deployed = StackPlan(**{**base.__dict__, "deployed": DeployedState("event-1", "ef" * 32)})
    assert deployed.fingerprint != fp
    assert StackPlan(**{**base.__dict__, "deployed": DeployedState("event-2", "ef" * 32)}).fingerprint != deployed.fingerprint
    assert StackPlan(**{**base.__dict__, "deployed": DeployedState("event-1", "00" * 32)}).fingerprint != deployed.fingerprint
    with_runtime = StackPlan(**{**base.__dict__, "runtime": RUNTIME})
    assert with_runtime.fingerprint != fp
    other_row = RuntimeChange(**{**RUNTIME.__dict__, "rows": (RuntimeRow("environment", "FLAG", "add", None, "off"),)})
    assert StackPlan(**{**base.__dict__, "runtime": other_row}).fingerprint != with_runtime.fingerprint
    moved = change("Pipeline", "AWS::CodePipeline::Pipeline", props=())
    added = ResourceChange(**{**moved.__dict__, "properties": (PropertyChange("Stages[Test]", None, {"Name": "Test"},
                                                                              "Never", op="add", position="first"),)})
    elsewhere = ResourceChange(**{**added.__dict__, "properties": (PropertyChange(
        "Stages[Test]", None, {"Name": "Test"}, "Never", op="add", position="after Source"),)})
    assert stack(changes=[added]).fingerprint != stack(changes=[elsewhere]).fingerprint


RUNTIME = RuntimeChange("news-web", "prod", "changed", "media", "news-web", "web", "repo",
                        (RuntimeRow("environment", "FLAG", "add", None, "on"),),
                        (CopyItem("generated/news-web/prod/update_taskdefinition.sh",
                                  "codepipeline/update_taskdefinition.sh", "example-corp/news-web", "main"),))


def test_runtime_rows_and_deployed_state_survive_the_file_and_show_in_every_format():
    plan = Plan((stack(changes=[SAFE], deployed=DeployedState("ev", "ef" * 32), runtime=RUNTIME),))
    back = read_plan(dumps(plan), "p.json")
    assert back == plan and back.stacks[0].runtime == RUNTIME
    doc = json.loads(dumps(plan))["stacks"][0]
    assert doc["deployed"] == {"last_event_id": "ev", "template_sha256": "ef" * 32}
    assert doc["runtime"]["changes"] == [{"field": "environment", "key": "FLAG", "op": "add", "before": None,
                                          "after": "on"}]
    assert doc["runtime"]["copy"] == [{"from": "generated/news-web/prod/update_taskdefinition.sh",
                                       "to": "codepipeline/update_taskdefinition.sh",
                                       "repository": "example-corp/news-web", "branch": "main"}]
    out = text(plan)
    assert "runtime news-web (prod): container web of ECS service media/news-web, build.buildspec: repo" in out
    assert '+ environment variable FLAG = "on"' in out
    assert ("action item: news-web (prod): copy generated/news-web/prod/update_taskdefinition.sh to "
            "codepipeline/update_taskdefinition.sh in repository example-corp/news-web, branch main") in out
    assert out.rstrip().endswith("runtime changes in 1 service environment; 1 action item")
    md = markdown(plan)
    assert "### Runtime changes" in md and '`+ environment variable FLAG = "on"`' in md
    assert "### Action items" in md and "- [ ] news-web (prod): copy generated/news-web/prod/update_taskdefinition.sh" in md


def test_read_plan_explains_bad_files_and_refuses_edited_ones():
    with pytest.raises(PlanFileError, match="not JSON"):
        read_plan("{", "p.json")
    with pytest.raises(PlanFileError, match="not a shipspec plan of version 2"):
        read_plan('{"version": 3}', "p.json")
    with pytest.raises(PlanFileError, match="a plan of version 1, written by an earlier shipspec; this one reads "
                                            "version 2 .* make the plan again"):
        read_plan('{"version": 1, "stacks": []}', "p.json")
    with pytest.raises(PlanFileError, match="lacks field 'template_sha256'|lacks field"):
        read_plan('{"version": 2, "fingerprint": "x", "stacks": [{"account": "1", "region": "r", '
                  '"stack_name": "s"}]}', "p.json")
    original = Plan((stack(changes=[SAFE, DANGER]), stack("other-prod-pipeline", changes=[SAFE])))
    ok = read_plan(dumps(original), "p.json")
    assert ok.pairs() == {("news-web", "prod")} and ok == original
    doc = json.loads(dumps(original))
    doc["stacks"][0]["changes"] = []  # a reviewer's plan with its dangerous change taken out
    with pytest.raises(PlanFileError, match="news-web-prod-pipeline .*do not match its fingerprint"):
        read_plan(json.dumps(doc), "p.json")
    doc = json.loads(dumps(original))
    doc["stacks"].pop()  # a stack taken out: each stack still matches, the whole does not
    with pytest.raises(PlanFileError, match="do not match the plan's fingerprint"):
        read_plan(json.dumps(doc), "p.json")


def test_markdown_comment_shape():
    plan = Plan((stack("a-prod-pipeline", changes=[SAFE]), stack("b-prod-pipeline", changes=[SAFE, DANGER]),
                 stack("c-prod-pipeline", "no-change"), stack("d-prod-pipeline", "error", error="boom | bang")),
                base="1234567890abcdef", head="fedcba0987654321")
    md = markdown(plan)
    assert md.startswith(MARKER + "\n")
    assert "head `fedcba098765`" in md and "base `1234567890ab`" in md and plan.fingerprint in md
    rows = [line for line in md.splitlines() if line.startswith("| `")]
    assert [r.split("|")[1].strip() for r in rows[:4]] == ["`a-prod-pipeline`", "`b-prod-pipeline`",
                                                          "`c-prod-pipeline`", "`d-prod-pipeline`"]
    assert "| update | 2 | 1 | 1 |" in rows[1]  # status, changes, replacements, danger
    sections = re.findall(r"<details(?: open)?><summary><code>([^<]+)</code>", md)
    assert sections == ["d-prod-pipeline", "b-prod-pipeline", "a-prod-pipeline"]  # errors, then most dangerous
    b = md[md.index("<code>b-prod-pipeline</code>"):]
    assert b.index("`Repository`") < b.index("`BuildRole`")  # most dangerous change first
    assert '`RepositoryName`: `"media/a"` -> `"media/b"`' in b
    assert "boom \\| bang" in md  # table-safe
    assert text(plan).count("b-prod-pipeline") >= 2


def test_markdown_never_exceeds_the_cap_and_says_what_was_left_out():
    big = "x" * 150
    stacks = [stack(f"svc-{i:03d}-prod-pipeline", changes=[
        change(f"Res{j}", props=((f"Prop{k}", big, big + "y") for k in range(5))) for j in range(12)])
        for i in range(120)]
    md = markdown(Plan(tuple(stacks)))
    assert len(md) <= 60_000
    assert "Left out to stay under 60,000 characters" in md and "JSON artifact" in md
    assert all(f"`svc-{i:03d}-prod-pipeline`" in md for i in range(120))  # the table is whole
    small = markdown(Plan(tuple(stacks[:2])))
    assert "Left out" not in small and "Prop4" in small


def test_stack_policy_protects_stateful_types_unless_allowed():
    doc = json.loads(stack_policy())
    deny = [s for s in doc["Statement"] if s["Effect"] == "Deny"]
    assert all(s["Action"] == ["Update:Replace", "Update:Delete"] and s["Resource"] == "*" for s in deny)
    types = deny[0]["Condition"]["StringEquals"]["ResourceType"]
    assert {"AWS::ECR::Repository", "AWS::S3::Bucket", "AWS::KMS::Key", "AWS::Logs::LogGroup",
            "AWS::SNS::Topic"} <= set(types)
    allowed = json.loads(stack_policy(["Repository", "Repository"]))
    assert all(s.get("NotResource") == ["LogicalResourceId/Repository"]
               for s in allowed["Statement"] if s["Effect"] == "Deny")
    assert stack_policy() == stack_policy()


def test_blocked_changes():
    removed = change("Bucket", "AWS::S3::Bucket", "Remove", None)
    maybe = change("Topic", "AWS::SNS::Topic", "Modify", "Conditional")
    role = change("Role", "AWS::IAM::Role", "Modify", "True")
    got = {(b.logical_id, b.what, b.certain) for b in blocked_changes([DANGER, removed, maybe, role, SAFE])}
    assert got == {("Repository", "replaced", True), ("Bucket", "removed", True), ("Topic", "may be replaced", False)}
    assert [b.logical_id for b in blocked_changes([DANGER, removed], ["Repository"])] == ["Bucket"]


def test_change_set_pages_become_resource_changes():
    raw = [{"Type": "Resource", "ResourceChange": {
        "Action": "Modify", "LogicalResourceId": "BuildProject", "ResourceType": "AWS::CodeBuild::Project",
        "Replacement": "False", "Scope": ["Properties"],
        "Details": [
            {"Target": {"Attribute": "Properties", "Name": "Environment", "Path": "/Properties/Environment/ComputeType",
                        "RequiresRecreation": "Never", "BeforeValue": "BUILD_GENERAL1_SMALL",
                        "AfterValue": "BUILD_GENERAL1_LARGE"}, "Evaluation": "Static", "ChangeSource": "DirectModification"},
            {"Target": {"Attribute": "Properties", "Name": "Environment", "Path": "/Properties/Environment/ComputeType",
                        "RequiresRecreation": "Never"}, "Evaluation": "Dynamic", "ChangeSource": "ParameterReference"},
            {"Target": {"Attribute": "Tags", "RequiresRecreation": "Never"}, "Evaluation": "Static"},
            {"Target": {"Attribute": "Properties", "Name": "Stages", "Path": "/Properties/Stages/2/Actions/0",
                        "RequiresRecreation": "Never", "AfterValue": '{"Name": "Deploy"}'}}]}},
        {"Type": "Resource", "ResourceChange": {"Action": "Remove", "LogicalResourceId": "Old",
                                                "ResourceType": "AWS::S3::Bucket", "PolicyAction": "Retain"}}]
    mod, rem = to_resource_changes(raw)
    assert [p.path for p in mod.properties] == ["Environment.ComputeType", "Tags", "Stages[2].Actions[0]"]
    assert (mod.properties[0].before, mod.properties[0].after) == ("BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_LARGE")
    assert mod.properties[2].after == {"Name": "Deploy"}
    assert (mod.replacement, mod.source) == ("False", "change-set")
    assert (rem.action, rem.policy_action, rem.replacement, rem.properties) == ("Remove", "Retain", None, ())


def test_emulator_adaptations_are_reported_and_only_when_needed():
    plain = b"Resources:\n  Q:\n    Type: AWS::SQS::Queue\n"
    assert adapt(plain) == (plain, ())
    t = json.dumps({"Resources": {
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"Tags": [{"Key": "a", "Value": "b"}]}},
        "Project": {"Type": "AWS::SSM::Association", "Properties": {}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"Resource": [
            {"Fn::GetAtt": ["Project", "Arn"]}, {"Ref": "Project"}, {"Fn::Sub": "${Project.Arn}/x-${Key}"}]}]}}},
        "Outputs": {"P": {"Value": {"Ref": "Project"}}}}).encode()
    body, notes = adapt(t)
    doc = json.loads(body)
    assert "Tags" not in doc["Resources"]["Key"]["Properties"]
    assert doc["Resources"]["Role"]["Properties"]["Policies"][0]["Resource"] == [
        "emulated-Project-Arn", "emulated-Project", {"Fn::Sub": "emulated-Project-Arn/x-${Key}"}]
    assert doc["Outputs"]["P"]["Value"] == "emulated-Project"
    assert len(notes) == 2 and "Project" in notes[1]


ADAPTED = json.dumps({"Resources": {
    "Key": {"Type": "AWS::KMS::Key", "Properties": {"Tags": [{"Key": "a", "Value": "b"}], "Description": "k"}},
    "Project": {"Type": "AWS::SSM::Association", "Properties": {}},
    "Role": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"Resource": [
        {"Fn::GetAtt": ["Project", "Arn"]}, {"Ref": "Project"}, {"Fn::Sub": "${Project.Arn}/x-${Key}"}]}]}}},
    "Outputs": {"P": {"Value": {"Ref": "Project"}}}}).encode()


def test_adapt_doc_is_adapt_without_parsing_again():
    """plan hands `adapt_doc` the template it parsed and uses the document it returns: that must be
    `adapt`'s body parsed, with `adapt`'s notes, and the parsed template must be left as it was."""
    generated = REPO / "generated"
    templates = [p.read_bytes() for p in sorted(generated.glob("*/*/codepipeline*.yml"))
                 + sorted(generated.glob("_bootstrap/*/bootstrap.yml"))]
    templates += [ADAPTED, b"Resources:\n  Q:\n    Type: AWS::SQS::Queue\n"]
    assert len(templates) > 4
    adapted = 0
    for template in templates:
        doc = load_template(template)
        body, notes, out = adapt_doc(template, doc)
        assert (body, notes) == adapt(template)
        assert doc == load_template(template)  # not modified
        if notes:
            adapted += 1
            assert out == load_template(body)
        else:
            assert (body, out) == (template, doc)
    assert adapted >= 3  # bootstrap (KMS tags) and unmodelled types alike


def test_unmodelled_types_read_moto_once_and_need_it():
    # pipelines, CodeBuild projects and webhooks: moto skips them, the emulator models them
    types = ["AWS::SQS::Queue", "AWS::CodePipeline::Pipeline", "Custom::Thing", "AWS::SSM::Association",
             "AWS::CloudFormation::WaitConditionHandle", "AWS::CodeBuild::Project", "AWS::CodePipeline::Webhook",
             "AWS::SSM::Association"]
    expected = ["AWS::SSM::Association"]
    assert localemu.unmodelled_types(types) == expected
    with mock.patch("moto.cloudformation.parsing.get_model_map", side_effect=AssertionError("read again")):
        assert localemu.unmodelled_types(iter(types)) == expected
    localemu._modelled_types.cache_clear()
    try:
        with mock.patch.dict(sys.modules, {"moto.cloudformation.parsing": None}):  # moto not importable
            assert localemu.unmodelled_types(types) == []
    finally:
        localemu._modelled_types.cache_clear()
    assert localemu.unmodelled_types(types) == expected


def test_role_to_assume(monkeypatch):
    env = {"SHIPSPEC_ROLE_111111111111": "arn:aws:iam::111111111111:role/custom", "SHIPSPEC_ROLE_NAME": "deploy"}
    assert role_arn_for("111111111111", "us-east-1", False, environ=env) == "arn:aws:iam::111111111111:role/custom"
    assert role_arn_for("222222222222", "cn-north-1", False, environ=env) == "arn:aws-cn:iam::222222222222:role/deploy"
    assert role_arn_for("222222222222", "us-east-1", False, "cli-role", environ={}) == \
        "arn:aws:iam::222222222222:role/cli-role"
    assert role_arn_for("333333333333", "us-east-1", False, environ={}) is None  # ambient credentials as they are
    assert role_arn_for("333333333333", "us-east-1", True, environ={}) == "arn:aws:iam::333333333333:role/shipspec-local"


def test_executor_runs_in_dependency_order_and_skips_dependents_of_failures():
    ctx = RunContext(sessions=None, timing=Timing(poll=0.01))  # type: ignore[arg-type]
    order, lock = [], threading.Lock()
    deps = {"pipe": ("boot",), "note": ("boot", "pipe"), "pipe2": ("boot2",), "boot": (), "boot2": ()}

    def work(k):
        with lock:
            order.append(k)
        return "fail" if k == "boot2" else "ok"

    out = run_pool(ctx, deps, lambda k: k, work, 3, deps=deps, failed=lambda r: r == "fail",
                   skipped=lambda k, d: f"skipped for {d}")
    assert out["pipe2"] == "skipped for boot2" and "pipe2" not in order
    assert order.index("boot") < order.index("pipe") < order.index("note")
    with pytest.raises(RuntimeError, match="cycle"):
        run_pool(ctx, ["a", "b"], lambda k: k, work, 2, deps={"a": ("b",), "b": ("a",)})
