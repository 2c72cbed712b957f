"""Offline change prediction on real rendered templates, with cfn-lint's real provider schemas."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compiler.build.compile import compile_project
from compiler.deploy.changes import (
    CAUTION,
    CHURN,
    DANGER,
    SAFE,
    PropertyChange,
    ResourceChange,
    classify,
    merge,
    pointer_to_path,
    sort_key,
)
from compiler.deploy.predict import create_only_properties, diff_templates, load_template
from compiler.spec.project import load_project
from support.cli import REPO

PIPELINE = "generated/news-web/prod/codepipeline.yml"
REGION = "ap-northeast-1"


def render(tmp: Path, edits: dict[str, list[tuple[str, str]]] | None = None,
           names: tuple[str, ...] = ("news-web", "video-api")) -> dict[str, dict]:
    """Templates (parsed) of example specs, after text edits {spec file: [(old, new)]}."""
    root = tmp / f"r{len(list(tmp.iterdir()))}"
    shutil.copytree(REPO / "services", root / "services")
    for name, pairs in (edits or {}).items():
        path = root / "services" / name
        text = path.read_text()
        for old, new in pairs:
            assert old in text, f"{old!r} not in {name}"
            text = text.replace(old, new)
        path.write_text(text)
    output = compile_project(load_project(root, names))
    return {s.template_path: load_template(output.by_path()[s.template_path].content) for s in output.stacks}


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict[str, dict]:
    return render(tmp_path_factory.mktemp("base"))


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("edits")


def by_id(changes: list[ResourceChange]) -> dict[str, ResourceChange]:
    return {c.logical_id: c for c in changes}


def resource_of_type(template: dict, rtype: str) -> str:
    ids = [k for k, v in template["Resources"].items() if v["Type"] == rtype]
    assert ids, f"no {rtype} in template"
    return ids[0]


def test_renaming_the_ecr_repository_replaces_it_and_is_danger(base, scratch):
    new = render(scratch, {"news-web.yaml": [("ecr_repository: media/news-web", "ecr_repository: media/news-web-v2")]}, ("news-web",))
    changes = diff_templates(base[PIPELINE], new[PIPELINE], REGION)
    repo_id = resource_of_type(base[PIPELINE], "AWS::ECR::Repository")
    repo = by_id(changes)[repo_id]
    assert (repo.action, repo.replacement, repo.risk) == ("Modify", "True", DANGER)
    name = next(p for p in repo.properties if p.path == "RepositoryName")
    assert (name.before, name.after, name.requires_recreation) == ("media/news-web", "media/news-web-v2", "Always")
    # The template retains the old repository: the change set would say ReplaceAndRetain.
    assert repo.policy_action == "ReplaceAndRetain"
    assert changes[0].logical_id == repo_id  # most dangerous first
    # Resources that refer to the repository see its new ARN: predicted as in-place changes.
    def refers(props) -> bool:
        text = json.dumps(props)
        return any(f in text for f in (f'{{"Ref": "{repo_id}"}}', f'["{repo_id}", "Arn"]', "${" + repo_id))

    referrers = [lid for lid, res in new[PIPELINE]["Resources"].items()
                 if lid != repo_id and refers(res.get("Properties"))]
    assert referrers
    for lid in referrers:
        c = by_id(changes)[lid]
        assert any(p.cause == f"{repo_id} is replaced" for p in c.properties), c


def test_compute_type_is_an_in_place_modify(base, scratch):
    new = render(scratch, {"news-web.yaml": [("compute_type: BUILD_GENERAL1_MEDIUM",
                                              "compute_type: BUILD_GENERAL1_LARGE")]}, ("news-web",))
    changes = diff_templates(base[PIPELINE], new[PIPELINE], REGION)
    projects = [c for c in changes if c.resource_type == "AWS::CodeBuild::Project"]
    assert projects
    for c in projects:
        assert (c.action, c.replacement, c.risk) == ("Modify", "False", SAFE)
        compute = [p for p in c.properties if "ComputeType" in p.path]
        assert compute and compute[0].path == "Environment.ComputeType"
        assert (compute[0].before, compute[0].after) == ("BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE")
        assert compute[0].requires_recreation == "Never"
    assert {c.resource_type for c in changes} == {"AWS::CodeBuild::Project"}


def test_new_and_deleted_stacks_are_all_add_or_all_remove(base):
    template = base[PIPELINE]
    added = diff_templates(None, template, REGION)
    assert {c.logical_id for c in added} == set(template["Resources"])
    assert {(c.action, c.replacement, c.risk) for c in added} == {("Add", None, SAFE)}
    removed = by_id(diff_templates(template, None, REGION))
    assert set(removed) == set(template["Resources"])
    for lid, res in template["Resources"].items():
        c = removed[lid]
        assert c.action == "Remove"
        kept = res.get("DeletionPolicy") == "Retain"
        assert c.policy_action == ("Retain" if kept else "Delete")
        if res["Type"] == "AWS::ECR::Repository":
            assert kept and c.risk == CAUTION  # retained: not data loss
        if res["Type"] == "AWS::Logs::LogGroup" and not kept:
            assert c.risk == DANGER  # the logs go with it
        if res["Type"] == "AWS::IAM::Role":
            assert c.risk == CAUTION


def test_removing_a_resource_from_a_template_and_adding_one():
    old = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket"},
                         "Kept": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"}}}
    new = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "t"}}}}
    changes = by_id(diff_templates(old, new))
    assert (changes["Bucket"].action, changes["Bucket"].risk) == ("Remove", DANGER)
    assert (changes["Kept"].action, changes["Kept"].risk) == ("Remove", CAUTION)
    assert (changes["Topic"].action, changes["Topic"].risk) == ("Add", SAFE)


def test_secret_references_are_masked(base, scratch):
    path = "generated/video-api/prod/codepipeline.yml"
    new = render(scratch, {"video-api.yaml": [("id: cicd/github-token", "id: cicd/github-token-rotated")]},
                 ("video-api",))
    changes = diff_templates(base[path], new[path], REGION)
    props = [p for c in changes for p in c.properties]
    assert props, "changing the token secret must change the pipeline"
    assert all(p.before == "****" and p.after == "****" for p in props)
    assert "github-token-rotated" not in repr(changes)


def test_attribute_changes_are_reported_without_replacement():
    old = {"Resources": {"Log": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Delete",
                                 "Properties": {"RetentionInDays": 30}}}}
    new = {"Resources": {"Log": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain", "DependsOn": "Other",
                                 "Properties": {"RetentionInDays": 30}}}}
    (c,) = diff_templates(old, new)
    assert (c.action, c.replacement, c.risk) == ("Modify", "False", SAFE)
    assert [(p.path, p.before, p.after, p.requires_recreation) for p in c.properties] == [
        ("DeletionPolicy", "Delete", "Retain", "Never"), ("DependsOn", None, ["Other"], "Never")]


def test_lists_are_compared_by_index_with_before_and_after():
    old = {"Resources": {"R": {"Type": "AWS::SNS::Topic", "Properties": {
        "Subscription": [{"Protocol": "email", "Endpoint": "a@example.com"}]}}}}
    new = {"Resources": {"R": {"Type": "AWS::SNS::Topic", "Properties": {
        "Subscription": [{"Protocol": "email", "Endpoint": "b@example.com"},
                         {"Protocol": "email", "Endpoint": "c@example.com"}]}}}}
    (c,) = diff_templates(old, new)
    assert [(p.path, p.before, p.after) for p in c.properties] == [
        ("Subscription[0].Endpoint", "a@example.com", "b@example.com"),
        ("Subscription[1]", None, {"Protocol": "email", "Endpoint": "c@example.com"})]
    assert c.replacement == "False"


@pytest.mark.parametrize("before, after, expected", [
    ("/a/log", "/b/log", ("Always", "True")),
    ({"Fn::Sub": "/a/${AWS::StackName}"}, {"Fn::Sub": "/b/${AWS::StackName}"}, ("Always", "True")),
    ("/a/log", {"Fn::ImportValue": "LogName"}, ("Conditionally", "Conditional")),
    ({"Fn::GetAtt": ["X", "Name"]}, {"Fn::GetAtt": ["Y", "Name"]}, ("Conditionally", "Conditional")),
    ({"Fn::Join": ["/", ["", "a"]]}, "/a", ("Never", "False")),  # same value, written differently
])
def test_create_only_changes_replace_always_or_conditionally(before, after, expected):
    def t(v):
        return {"Resources": {"Log": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": v}}}}

    (c,) = diff_templates(t(before), t(after), "eu-west-1")
    assert (c.properties[0].requires_recreation, c.replacement) == expected


def test_parameter_default_changes_count_and_noecho_values_are_masked():
    def t(name, token):
        return {"Parameters": {"Name": {"Type": "String", "Default": name},
                               "Token": {"Type": "String", "NoEcho": True, "Default": token}},
                "Resources": {"Log": {"Type": "AWS::Logs::LogGroup", "Properties": {
                    "LogGroupName": {"Ref": "Name"}, "Tags": [{"Key": "t", "Value": {"Ref": "Token"}}]}}}}

    (c,) = diff_templates(t("a", "s3cr3t-one"), t("b", "s3cr3t-two"))
    props = {p.path: p for p in c.properties}
    assert (props["LogGroupName"].before, props["LogGroupName"].after) == ("a", "b")
    assert props["LogGroupName"].requires_recreation == "Always" and c.replacement == "True"
    assert (props["Tags[t].Value"].before, props["Tags[t].Value"].after) == ("****", "****")
    assert "s3cr3t" not in repr(c)


def test_unknown_types_have_unknown_replacement():
    old = {"Resources": {"X": {"Type": "Custom::Thing", "Properties": {"ServiceToken": "arn:a", "A": 1}}}}
    new = {"Resources": {"X": {"Type": "Custom::Thing", "Properties": {"ServiceToken": "arn:a", "A": 2}}}}
    (c,) = diff_templates(old, new)
    assert c.properties[0].requires_recreation in ("", "Never")
    old["Resources"]["X"]["Type"] = new["Resources"]["X"]["Type"] = "Acme::Not::AType"
    (c,) = diff_templates(old, new)
    assert (c.replacement, c.properties[0].requires_recreation, c.risk) == (None, "", CAUTION)


def test_create_only_properties_come_from_cfn_lint():
    assert ("RepositoryName",) in create_only_properties("AWS::ECR::Repository", REGION)
    assert ("Name",) in create_only_properties("AWS::CodeBuild::Project", REGION)
    assert ("Environment",) not in create_only_properties("AWS::CodeBuild::Project", REGION)
    assert create_only_properties("Acme::Not::AType", REGION) is None


def test_short_form_intrinsics_and_dates_load():
    t = load_template("AWSTemplateFormatVersion: 2010-09-09\nResources:\n  A:\n    Type: AWS::SNS::Topic\n"
                      "    Properties:\n      TopicName: !Sub '${AWS::StackName}-t'\n"
                      "      DisplayName: !GetAtt B.Name\n      KmsMasterKeyId: !Ref Key\n")
    assert t["AWSTemplateFormatVersion"] == "2010-09-09"
    props = t["Resources"]["A"]["Properties"]
    assert props == {"TopicName": {"Fn::Sub": "${AWS::StackName}-t"},
                     "DisplayName": {"Fn::GetAtt": ["B", "Name"]}, "KmsMasterKeyId": {"Ref": "Key"}}
    with pytest.raises(ValueError):
        load_template("- a list")


def test_prediction_is_deterministic(base, scratch):
    new = render(scratch, {"news-web.yaml": [("ecr_repository: media/news-web", "ecr_repository: media/other")]}, ("news-web",))
    assert diff_templates(base[PIPELINE], new[PIPELINE], REGION) == diff_templates(base[PIPELINE], new[PIPELINE], REGION)
    assert diff_templates(base[PIPELINE], base[PIPELINE], REGION) == []


# --- risk table and merge --------------------------------------------------------------------------

@pytest.mark.parametrize("change, template, risk", [
    (ResourceChange("R", "AWS::ECR::Repository", "Modify", "True"), None, DANGER),
    (ResourceChange("R", "AWS::KMS::Key", "Modify", "True", policy_action="ReplaceAndRetain"), None, DANGER),
    (ResourceChange("R", "AWS::RDS::DBInstance", "Remove", None), None, DANGER),
    (ResourceChange("R", "AWS::SNS::Topic", "Remove", None, policy_action="Delete"), None, DANGER),
    (ResourceChange("R", "AWS::S3::Bucket", "Modify", "Conditional", policy_action="ReplaceAndDelete"), None, DANGER),
    (ResourceChange("R", "AWS::S3::Bucket", "Remove", None), {"DeletionPolicy": "Retain"}, CAUTION),
    (ResourceChange("R", "AWS::S3::Bucket", "Remove", None, policy_action="Retain"), None, CAUTION),
    (ResourceChange("R", "AWS::S3::Bucket", "Modify", "Conditional"), None, CAUTION),
    (ResourceChange("R", "AWS::IAM::Role", "Modify", "True"), None, CAUTION),
    (ResourceChange("R", "AWS::IAM::Role", "Remove", None), None, CAUTION),
    (ResourceChange("R", "AWS::IAM::Role", "Dynamic", None), None, CAUTION),
    (ResourceChange("R", "AWS::IAM::Role", "Modify", None), None, CAUTION),
    (ResourceChange("R", "AWS::S3::Bucket", "Modify", "False"), None, SAFE),
    (ResourceChange("R", "AWS::S3::Bucket", "Add", None), None, SAFE),
    (ResourceChange("R", "AWS::ECS::TaskDefinition", "Modify", "True"), None, CHURN),
    (ResourceChange("R", "AWS::Lambda::Version", "Remove", None), None, CHURN),
])
def test_risk_table(change, template, risk):
    assert classify(change, template) == risk


def test_sort_key_orders_by_risk_then_id():
    cs = [ResourceChange(i, "T", "Add", None, risk=r) for i, r in
          (("b", SAFE), ("a", CHURN), ("z", DANGER), ("c", CAUTION), ("a", DANGER))]
    assert [(c.risk, c.logical_id) for c in sorted(cs, key=sort_key)] == [
        (DANGER, "a"), (DANGER, "z"), (CAUTION, "c"), (SAFE, "b"), (CHURN, "a")]


def test_merge_fills_what_the_engine_left_out(base, scratch):
    new = render(scratch, {"news-web.yaml": [("ecr_repository: media/news-web", "ecr_repository: media/news-web-v3")]}, ("news-web",))
    predicted = diff_templates(base[PIPELINE], new[PIPELINE], REGION)
    repo = next(c for c in predicted if c.resource_type == "AWS::ECR::Repository")
    # What a local emulator reports: the action, no replacement, a property name without values.
    engine = [ResourceChange(repo.logical_id, repo.resource_type, "Modify", None,
                             (PropertyChange("RepositoryName"),), risk=SAFE, source="change-set"),
              ResourceChange("Extra", "AWS::IAM::Role", "Modify", "False", source="change-set")]
    merged = {c.logical_id: c for c in merge(engine, predicted)}
    m = merged[repo.logical_id]
    assert (m.replacement, m.source, m.risk, m.policy_action) == ("True", "both", DANGER, "ReplaceAndRetain")
    assert m.properties == (PropertyChange("RepositoryName", "media/news-web", "media/news-web-v3", "Always"),)
    assert merged["Extra"].source == "change-set" and merged["Extra"].risk == SAFE
    only_predicted = [c for c in predicted if c.logical_id != repo.logical_id]
    assert only_predicted and all(merged[c.logical_id].source == "predicted" for c in only_predicted)
    assert list(merged)[0] == repo.logical_id  # most dangerous first


def test_merge_keeps_engine_values_and_refines_coarse_paths():
    engine = [ResourceChange("P", "AWS::CodeBuild::Project", "Modify", "False",
                             (PropertyChange("Environment", requires_recreation="Never"),), source="change-set")]
    predicted = [ResourceChange("P", "AWS::CodeBuild::Project", "Modify", "False", (
        PropertyChange("Environment.ComputeType", "S", "L", "Never"),
        PropertyChange("TimeoutInMinutes", 10, 20, "Never")))]
    (m,) = merge(engine, predicted)
    assert [p.path for p in m.properties] == ["Environment.ComputeType", "TimeoutInMinutes"]
    assert m.source == "both"
    # A Remove the engine reports for a retained resource stays caution (policy action).
    (r,) = merge([ResourceChange("B", "AWS::S3::Bucket", "Remove", None, policy_action="Retain")], [])
    assert r.risk == CAUTION and r.source == "change-set"


def test_pointer_to_path():
    assert pointer_to_path("/Properties/Stages/2/Actions/0/Configuration") == "Stages[2].Actions[0].Configuration"
    assert pointer_to_path("/Properties/Environment/ComputeType") == "Environment.ComputeType"


def test_importing_the_modules_does_not_load_cfn_lint():
    code = ("import sys, compiler.deploy.predict, compiler.deploy.changes, compiler.cli.commands.diff, compiler.deploy.stackdiff; "
            "bad = [m for m in ('cfnlint', 'boto3', 'moto') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


# --- lists keyed by what names their elements (compiler/deploy/keyed.py) ---------------------------

def _pipeline(stages: list) -> dict:
    return {"Resources": {"Pipeline": {"Type": "AWS::CodePipeline::Pipeline", "Properties": {
        "RoleArn": "arn:aws:iam::111111111111:role/p", "Stages": stages}}}}


def _stage(name: str, *actions: str) -> dict:
    return {"Name": name, "Actions": [
        {"Name": a, "ActionTypeId": {"Category": "Build", "Owner": "AWS", "Provider": "CodeBuild", "Version": "1"},
         "RunOrder": 1} for a in actions]}


def _props(c) -> list[tuple]:
    return [(p.op, p.path, p.position) for p in c.properties]


def test_inserting_a_stage_is_one_added_stage_not_renamed_ones():
    old = _pipeline([_stage("Source", "Src"), _stage("Build", "Build"), _stage("Deploy", "Deploy")])
    new = _pipeline([_stage("Source", "Src"), _stage("Test", "Unit"), _stage("Build", "Build"),
                     _stage("Deploy", "Deploy")])
    (c,) = diff_templates(old, new)
    assert _props(c) == [("add", "Stages[Test]", "after Source")]
    assert c.properties[0].after["Actions"][0]["Name"] == "Unit" and c.properties[0].before is None


def test_adding_an_action_and_changing_a_run_order():
    old = _pipeline([_stage("Source", "Src"), _stage("Build", "Build")])
    new = _pipeline([_stage("Source", "Src"), _stage("Build", "Lint", "Build")])
    new["Resources"]["Pipeline"]["Properties"]["Stages"][1]["Actions"][1]["RunOrder"] = 2
    (c,) = diff_templates(old, new)
    assert _props(c) == [("modify", "Stages[Build].Actions[Build].RunOrder", ""),
                         ("add", "Stages[Build].Actions[Lint]", "")]  # action order in the list: no effect


def test_a_stage_that_changes_place_is_a_move_and_an_unordered_list_only_reorders():
    old = _pipeline([_stage("Source", "Src"), _stage("Build", "Build"), _stage("Test", "Unit")])
    new = _pipeline([_stage("Source", "Src"), _stage("Test", "Unit"), _stage("Build", "Build")])
    (c,) = diff_templates(old, new)
    (move,) = c.properties
    assert (move.op, move.path, move.before, move.after) in [
        ("move", "Stages[Test]", "after Build", "after Source"), ("move", "Stages[Build]", "after Source", "after Test")]
    tags = lambda *keys: {"Resources": {"R": {"Type": "AWS::SNS::Topic", "Properties": {  # noqa: E731
        "Tags": [{"Key": k, "Value": "v"} for k in keys]}}}}
    (c,) = diff_templates(tags("a", "b"), tags("b", "a"))
    assert [(p.op, p.path, p.before, p.after) for p in c.properties] == [("reorder", "Tags", ["a", "b"], ["b", "a"])]


def test_environment_variables_statements_and_tags_are_named_by_their_keys():
    def project(env, statements, tags):
        return {"Resources": {
            "Project": {"Type": "AWS::CodeBuild::Project", "Properties": {
                "Environment": {"EnvironmentVariables": [{"Name": k, "Type": "PLAINTEXT", "Value": v} for k, v in env]},
                "Tags": [{"Key": k, "Value": v} for k, v in tags]}},
            "Role": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyName": "build", "PolicyDocument": {
                "Statement": [{"Sid": s, "Effect": "Allow", "Action": ["x:Y"], "Resource": "*"} for s in statements]}}]}}}}

    old = project([("IMAGE_TAG", "a"), ("REGION", "r")], ["Logs", "EcrPush"], [("team", "media")])
    new = project([("IMAGE_TAG", "b"), ("REGION", "r")], ["Logs"], [("team", "search"), ("cost", "x")])
    changes = {c.logical_id: c for c in diff_templates(old, new)}
    assert [(p.op, p.path, p.before, p.after) for p in changes["Project"].properties] == [
        ("modify", "Environment.EnvironmentVariables[IMAGE_TAG].Value", "a", "b"),
        ("modify", "Tags[team].Value", "media", "search"),
        ("add", "Tags[cost]", None, {"Key": "cost", "Value": "x"})]
    (removal,) = changes["Role"].properties
    assert (removal.op, removal.path, removal.after) == ("remove", "Policies[build].PolicyDocument.Statement[EcrPush]", None)


def test_json_held_in_a_string_is_compared_by_content():
    def action(env):
        return _pipeline([{"Name": "Test", "Actions": [{"Name": "Unit", "Configuration": {
            "EnvironmentVariables": json.dumps([{"name": k, "value": v, "type": "PLAINTEXT"} for k, v in env])}}]}])

    (c,) = diff_templates(action([("A", "1"), ("B", "2")]), action([("A", "1"), ("B", "3")]))
    assert [(p.path, p.before, p.after) for p in c.properties] == [
        ("Stages[Test].Actions[Unit].Configuration.EnvironmentVariables[B].value", "2", "3")]


def test_keys_that_look_like_indexes_or_hold_punctuation_are_quoted():
    from compiler.deploy.keyed import Key, format_path

    assert format_path(("Tags", Key("1"), "Value")) == 'Tags["1"].Value'
    assert format_path(("Tags", Key("team.name"))) == 'Tags["team.name"]'
    assert format_path(("Tags", Key("shipspec:service"))) == "Tags[shipspec:service]"


def test_engine_paths_by_index_give_way_to_the_keyed_prediction():
    """A change set names list elements by position (`Stages/1`); the prediction of the same two
    templates names them by key, and the plan shows the prediction's paths."""
    predicted = [ResourceChange("Pipeline", "AWS::CodePipeline::Pipeline", "Modify", "False",
                                (PropertyChange("Stages[Test]", None, {"Name": "Test"}, "Never", op="add",
                                                position="after Source"),))]
    engine = [ResourceChange("Pipeline", "AWS::CodePipeline::Pipeline", "Modify", "False",
                             (PropertyChange("Stages[1].Name", "Build", "Test", "Never"),
                              PropertyChange("Stages[2].Name", "Deploy", "Build", "Never")), source="change-set")]
    (m,) = merge(engine, predicted)
    assert [(p.op, p.path) for p in m.properties] == [("add", "Stages[Test]")]


def test_event_targets_are_named_by_their_id():
    def rule(*targets):
        return {"Resources": {"Rule": {"Type": "AWS::Events::Rule", "Properties": {
            "Targets": [{"Id": i, "Arn": arn} for i, arn in targets]}}}}

    (c,) = diff_templates(rule(("pipeline", "arn:a"), ("audit", "arn:b")), rule(("audit", "arn:c")))
    assert [(p.op, p.path) for p in c.properties] == [("remove", "Targets[pipeline]"), ("modify", "Targets[audit].Arn")]


def test_json_is_decoded_only_when_both_sides_hold_json():
    def t(v):
        return {"Resources": {"P": {"Type": "AWS::CodeBuild::Project", "Properties": {"Description": v}}}}

    (c,) = diff_templates(t('["a"]'), t("plain text"))
    assert [(p.path, p.before, p.after) for p in c.properties] == [("Description", '["a"]', "plain text")]
