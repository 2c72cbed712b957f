"""plan / apply / bootstrap / retire against moto's server over HTTP (`--local`), through the CLI."""

from __future__ import annotations

import pytest

import json

from support.plan import PROD, STG, by_name, emu, moto_endpoint, plan_json  # noqa: F401 (fixtures)

from compiler.deploy.aws.protect import stack_policy
from compiler.deploy.plan import VERSION as PLAN_VERSION

pytestmark = pytest.mark.slow


def test_bootstrap_creates_protected_stacks_and_is_idempotent(emu):
    r = emu.cli("bootstrap", "--local", "--yes")
    assert r.status == 0, r.err
    for account in (STG, PROD):
        boot = emu.stacks(account)["shipspec-bootstrap"]
        assert boot["StackStatus"] == "CREATE_COMPLETE"
        assert boot["EnableTerminationProtection"] is True
        assert {o["OutputKey"] for o in boot["Outputs"]} >= {"ArtifactBucket", "ArtifactKeyArn"}
        policy = emu.client("cloudformation", account).get_stack_policy(StackName="shipspec-bootstrap")
        assert json.loads(policy["StackPolicyBody"]) == json.loads(stack_policy())
    assert set(emu.stacks(STG)) == {"shipspec-bootstrap"}  # bootstrap touches nothing else
    events = len(emu.client("cloudformation", STG).describe_stack_events(StackName="shipspec-bootstrap")["StackEvents"])
    again = emu.cli("bootstrap", "--local", "--yes")
    assert again.status == 0
    assert "0 applied, 2 no change" in again.out
    after = len(emu.client("cloudformation", STG).describe_stack_events(StackName="shipspec-bootstrap")["StackEvents"])
    assert after == events  # re-running changed nothing


def test_plan_before_bootstrap_predicts_offline_and_leaves_nothing_behind(emu):
    doc, r = plan_json(emu, "photo-thumbs", "--env", "stg")
    assert r.status == 0, r.err
    stacks = by_name(doc)
    boot = stacks[("shipspec-bootstrap", STG)]
    assert boot["status"] == "create" and boot["change_set"]["type"] == "CREATE"
    assert {c["source"] for c in boot["changes"]} == {"both"}
    pipe = stacks[("photo-thumbs-stg-pipeline", STG)]
    assert pipe["status"] == "create" and pipe["change_set"] is None
    assert any("shipspec-bootstrap-ArtifactBucket" in n for n in pipe["notes"])
    assert {c["source"] for c in pipe["changes"]} == {"predicted"}
    # a plan without --keep deletes its change sets and the REVIEW_IN_PROGRESS shells they made
    assert emu.stacks(STG) == {}


def test_plan_keep_leaves_change_set_and_shell(emu):
    doc, r = plan_json(emu, "photo-thumbs", "--env", "stg", "--keep")
    assert r.status == 0
    boot = by_name(doc)[("shipspec-bootstrap", STG)]
    cfn = emu.client("cloudformation", STG)
    assert emu.stacks(STG)["shipspec-bootstrap"]["StackStatus"] == "REVIEW_IN_PROGRESS"
    cs = cfn.describe_change_set(ChangeSetName=boot["change_set"]["id"], StackName="shipspec-bootstrap")
    assert cs["Status"] == "CREATE_COMPLETE"


def test_full_flow_create_noop_modify(emu):
    assert emu.cli("bootstrap", "--local", "--yes").status == 0
    doc, r = plan_json(emu)
    assert r.status == 0, r.err
    statuses = {k[0]: s["status"] for k, s in by_name(doc).items()}
    assert statuses["shipspec-bootstrap"] == "no-change"
    assert statuses["news-web-stg-pipeline"] == "create" and statuses["photo-thumbs-prod-notification"] == "create"
    applied = emu.cli("apply", "--local", "--yes")
    assert applied.status == 0, applied.out + applied.err
    assert "8 applied, 2 no change, 0 error" in applied.out
    # the emulator creates the pipeline and its CodeBuild projects (types moto's CloudFormation skips)
    unmodelled = [line for line in applied.out.splitlines() if "not created on the emulator" in line]
    assert unmodelled and not [line for line in unmodelled if "CodePipeline" in line or "CodeBuild" in line]
    assert emu.client("codepipeline", PROD).get_pipeline(name="news-web-prod")["pipeline"]["stages"][0]["name"] \
        == "Source"
    assert [p["name"] for p in emu.client("codebuild", PROD).batch_get_projects(
        names=["news-web-prod-build"])["projects"]] == ["news-web-prod-build"]
    stacks = emu.stacks(PROD)
    assert stacks["news-web-prod-pipeline"]["StackStatus"] == "CREATE_COMPLETE"
    assert stacks["news-web-prod-pipeline"]["EnableTerminationProtection"] is True
    assert {"Key": "shipspec:service", "Value": "news-web"} in stacks["news-web-prod-pipeline"]["Tags"]
    # the notification Lambda's package was uploaded to the bootstrap bucket before its stack
    bucket = next(o["OutputValue"] for o in stacks["shipspec-bootstrap"]["Outputs"] if o["OutputKey"] == "ArtifactBucket")
    keys = [o["Key"] for o in emu.client("s3", PROD).list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert any(k.startswith("lambda/notify-") for k in keys)

    again = emu.cli("apply", "--local", "--yes")
    assert again.status == 0 and "0 applied, 10 no change" in again.out

    emu.edit("news-web", "keep_images: 30", "keep_images: 45")
    doc, r = plan_json(emu, "news-web", "--env", "prod")
    s = by_name(doc)[("news-web-prod-pipeline", PROD)]
    assert s["status"] == "update"
    repo = next(c for c in s["changes"] if c["logical_id"] == "Repository")
    assert repo["action"] == "Modify" and repo["replacement"] == "False" and repo["source"] == "both"
    # the lifecycle policy is JSON in a string: compared by content, not as one long string
    detail = next(d for d in repo["details"] if d["path"] == "LifecyclePolicy.LifecyclePolicyText.rules[0].selection.countNumber")
    assert (detail["op"], detail["before"], detail["after"]) == ("modify", 30, 45)
    assert by_name(doc)[("news-web-prod-notification", PROD)]["status"] == "no-change"
    assert emu.cli("apply", "--local", "--yes", "news-web", "--env", "prod").status == 0
    doc, _ = plan_json(emu, "news-web", "--env", "prod")
    assert {s["status"] for s in doc["stacks"]} == {"no-change"}


def test_apply_refuses_without_yes_when_not_interactive(emu):
    r = emu.cli("bootstrap", "--local")
    assert r.status == 1 and "without --yes" in r.err
    assert emu.stacks(STG) == {}  # nothing created, change sets and shells discarded


def test_apply_with_plan_file_refuses_on_mismatch_and_applies_on_match(emu, tmp_path):
    assert emu.cli("bootstrap", "--local", "--yes").status == 0
    plan_file = tmp_path / "plan.json"
    r = emu.cli("plan", "--local", "photo-thumbs", "--format", "json", "--output", str(plan_file))
    assert r.status == 0 and plan_file.exists()
    emu.edit("photo-thumbs", "cluster: media", "cluster: media2")
    refused = emu.cli("apply", "--local", "--yes", "--plan", str(plan_file))
    assert refused.status == 1
    assert "refusing to apply" in refused.err and "photo-thumbs-stg-pipeline" in refused.err
    assert "template changed since" in refused.err
    assert "photo-thumbs-stg-pipeline" not in emu.stacks(STG)  # nothing applied, shells discarded
    emu.edit("photo-thumbs", "cluster: media2", "cluster: media")
    ok = emu.cli("apply", "--local", "--yes", "--plan", str(plan_file))
    assert ok.status == 0, ok.out + ok.err
    assert emu.stacks(STG)["photo-thumbs-stg-pipeline"]["StackStatus"] == "CREATE_COMPLETE"


def test_apply_refuses_a_plan_file_that_is_not_a_plan(emu, tmp_path):
    bad = tmp_path / "plan.json"
    bad.write_text('{"version": 7}')
    r = emu.cli("apply", "--local", "--yes", "--plan", str(bad))
    assert r.status == 1 and f"not a shipspec plan of version {PLAN_VERSION}" in r.err


def test_stateful_replacement_needs_allow_replace(emu):
    assert emu.cli("bootstrap", "--local", "--yes").status == 0
    assert emu.cli("apply", "--local", "--yes", "photo-thumbs", "--env", "stg").status == 0
    emu.edit("photo-thumbs", "ecr_repository: media/photo-thumbs", "ecr_repository: media/thumbs")
    doc, _ = plan_json(emu, "photo-thumbs", "--env", "stg")
    repo = next(c for c in by_name(doc)[("photo-thumbs-stg-pipeline", STG)]["changes"] if c["logical_id"] == "Repository")
    assert repo["replacement"] == "True" and repo["risk"] in ("danger", "caution")
    refused = emu.cli("apply", "--local", "--yes", "photo-thumbs", "--env", "stg")
    assert refused.status == 1
    assert "Repository (AWS::ECR::Repository) would be replaced" in refused.err
    assert "--allow-replace Repository" in refused.err
    cfn = emu.client("cloudformation", STG)
    before = cfn.get_template(StackName="photo-thumbs-stg-pipeline")["TemplateBody"]
    assert "media/photo-thumbs" in json.dumps(before)
    ok = emu.cli("apply", "--local", "--yes", "--allow-replace", "Repository", "photo-thumbs", "--env", "stg")
    assert ok.status == 0, ok.out + ok.err
    assert "media/thumbs" in json.dumps(cfn.get_template(StackName="photo-thumbs-stg-pipeline")["TemplateBody"])
    # the exception lasted for that update only: the full policy is back
    assert cfn.get_stack_policy(StackName="photo-thumbs-stg-pipeline")["StackPolicyBody"] == stack_policy()


def test_orphans_are_listed_and_never_deleted(emu):
    assert emu.cli("bootstrap", "--local", "--yes").status == 0
    assert emu.cli("apply", "--local", "--yes", "news-web", "--env", "stg").status == 0
    emu.spec("news-web").unlink()
    doc, r = plan_json(emu)
    assert r.status == 0
    orphans = {(o["stack_name"], o["service"], o["environment"]) for o in doc["orphans"]}
    assert orphans == {("news-web-stg-pipeline", "news-web", "stg"), ("news-web-stg-notification", "news-web", "stg")}
    md = emu.cli("plan", "--local", "--format", "markdown").out
    assert "Orphaned stacks" in md and "news-web-stg-pipeline" in md
    applied = emu.cli("apply", "--local", "--yes")
    assert applied.status == 0 and "Orphaned stacks" in applied.out
    assert emu.stacks(STG)["news-web-stg-pipeline"]["StackStatus"] == "CREATE_COMPLETE"


def test_retire_requires_confirmation_then_deletes(emu):
    assert emu.cli("bootstrap", "--local", "--yes").status == 0
    assert emu.cli("apply", "--local", "--yes", "news-web", "--env", "stg").status == 0
    live = emu.cli("retire", "news-web", "--env", "stg", "--local", "--yes")  # the spec still defines stg
    assert live.status == 1 and "services/news-web.yaml still defines environment stg" in live.err
    assert "news-web-stg-pipeline" in emu.stacks(STG)
    emu.spec("news-web").unlink()
    refused = emu.cli("retire", "news-web", "--env", "stg", "--local")
    assert refused.status == 1 and "without --yes" in refused.err
    assert "stack news-web-stg-pipeline" in refused.out and "keeps   Repository (AWS::ECR::Repository)" in refused.out
    assert "deletes PipelineRole (AWS::IAM::Role)" in refused.out  # every resource that goes is listed
    assert "news-web-stg-pipeline" in emu.stacks(STG)
    done = emu.cli("retire", "news-web", "--env", "stg", "--local", "--yes")
    assert done.status == 0, done.err
    assert done.out.index("deleted news-web-stg-notification") < done.out.index("deleted news-web-stg-pipeline")
    assert set(emu.stacks(STG)) == {"shipspec-bootstrap"}
    # a deleted spec's stacks can still be retired (environment from services/_defaults.yaml)
    assert emu.cli("apply", "--local", "--yes", "photo-thumbs", "--env", "prod").status == 0
    emu.spec("photo-thumbs").unlink()
    gone = emu.cli("retire", "photo-thumbs", "--env", "prod", "--local", "--yes")
    assert gone.status == 0 and set(emu.stacks(PROD)) == {"shipspec-bootstrap"}


def test_local_flag_without_emulator_says_how_to_start_it(emu):
    (emu.root / ".shipspec" / "local.json").unlink()
    r = emu.cli("plan", "--local")
    assert r.status == 1 and "run `shipspec local up`" in r.err


def test_one_apply_from_nothing_holds_deferred_stacks_to_the_plan(emu, tmp_path):
    """Before the bootstrap stack exists the service stacks cannot have change sets (their imports do
    not exist): the plan predicts them, and apply makes their change sets after the bootstrap stack,
    checking them against the reviewed plan file."""
    plan_file = tmp_path / "plan.json"
    assert emu.cli("plan", "--local", "photo-thumbs", "--env", "stg", "--format", "json",
                   "--output", str(plan_file)).status == 0
    planned = by_name(json.loads(plan_file.read_text()))
    assert planned[("photo-thumbs-stg-pipeline", STG)]["change_set"] is None
    r = emu.cli("apply", "--local", "--yes", "--plan", str(plan_file))
    assert r.status == 0, r.out + r.err
    assert "3 applied" in r.out
    assert {n: s["StackStatus"] for n, s in emu.stacks(STG).items()} == {
        "shipspec-bootstrap": "CREATE_COMPLETE", "photo-thumbs-stg-pipeline": "CREATE_COMPLETE",
        "photo-thumbs-stg-notification": "CREATE_COMPLETE"}


def test_deferred_stack_that_differs_from_the_plan_is_not_applied(emu, tmp_path, monkeypatch):
    from compiler.deploy.aws import planner

    original = planner.diff_templates

    def short(old, new, region):  # the prediction misses a resource the change set will have
        return [c for c in original(old, new, region) if c.logical_id != "UpdateRole"] if old is None else \
            original(old, new, region)

    monkeypatch.setattr(planner, "diff_templates", short)
    r = emu.cli("apply", "--local", "--yes", "photo-thumbs", "--env", "stg")
    assert r.status == 1
    assert "photo-thumbs-stg-pipeline (111111111111/ap-northeast-1): the change set made now differs" in r.out
    assert "SKIPPED    photo-thumbs-stg-notification" in r.out
    assert set(emu.stacks(STG)) == {"shipspec-bootstrap"}


def test_changed_since_plans_only_what_changed(emu):
    import subprocess

    def git(*args):
        return subprocess.run(["git", *args], cwd=emu.root, check=True, capture_output=True, text=True).stdout.strip()

    git("init", "-q", "-b", "main")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "add", "services")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "specs")
    head = git("rev-parse", "HEAD")
    emu.edit("news-web", "keep_images: 30", "keep_images: 31")
    doc, r = plan_json(emu, "--changed-since", "HEAD")
    assert r.status == 0, r.err
    assert doc["base"] == head and doc["head"] == head
    assert {(s["service"], s["environment"]) for s in doc["stacks"] if s["service"]} == {
        ("news-web", "stg"), ("news-web", "prod")}
    assert sum(1 for s in doc["stacks"] if s["kind"] == "bootstrap") == 2
