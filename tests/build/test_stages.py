"""Custom pipeline stages (spec `stages`): placement, resources, least privilege, variables, lint,
triggers, the plan preview, the buildspec actually running, and every validation error at its
spec line. The byte-for-byte output is covered by the golden cases tests/golden/output/custom-stages*
(tests/build/test_output_golden.py); the repository example is services/media-search.yaml."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from compiler.build.compile import render_service
from compiler.lint.buildspec_check import check_buildspec
from compiler.core.diagnostics import SpecError
from compiler.lint.engine import Template, check_template
from compiler.lint.positions import PositionIndex
from compiler.spec.models import ServiceConfig, StageAction
from compiler.deploy.predict import diff_templates
from compiler.build.render import cfn, pipeline
from compiler.build.render import stages as st
from compiler.spec import stage_plan as plan
from compiler.lint.triggers import count_triggers
from compiler.spec.project import load_project
from support.cli import REPO as ROOT

GOLDEN = ROOT / "tests" / "golden" / "output"
LAMBDA_KEY = "lambda/notify-0123456789abcdef.zip"


def configs(root: Path, names=()) -> dict[tuple[str, str], ServiceConfig]:
    return {s.key: s.config for s in load_project(root, names).services}


@pytest.fixture(scope="module")
def cfn_rules():
    """cfn-lint's rules with the informational checks, loaded once for the module."""
    from cfnlint.api import ManualArgs
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(**ManualArgs(include_checks=["I"]))).rules


@pytest.fixture(scope="module")
def examples() -> dict[tuple[str, str], ServiceConfig]:
    out = configs(GOLDEN / "custom-stages")
    out.update(configs(GOLDEN / "custom-stages-s3"))
    out.update(configs(ROOT, ["media-search"]))
    return out


def stages_of(t: dict) -> list[dict]:
    return t["Resources"][pipeline.PIPELINE]["Properties"]["Stages"]


def stage(t: dict, name: str) -> dict:
    return next(s for s in stages_of(t) if s["Name"] == name)


# --- placement and wiring --------------------------------------------------------------------------

def test_stages_are_inserted_after_the_stage_they_name(examples):
    order = {key: [s["Name"] for s in stages_of(pipeline.render_pipeline(c))] for key, c in examples.items()}
    assert order[("catalog-api", "stg")] == ["Source", "Test", "Build", "UpdateService", "Verify", "Deploy", "Smoke"]
    # prod replaces the list (environment override) and has an Approval to place the migration after
    assert order[("catalog-api", "prod")] == ["Source", "Build", "Approval", "Migrate", "UpdateService", "Deploy",
                                              "Smoke"]
    assert order[("batch-report", "stg")] == ["Source", "Validate", "Build", "UpdateService", "Deploy", "Report"]
    assert order[("media-search", "stg")] == ["Source", "Test", "Build", "Migrate", "UpdateService", "Deploy", "Smoke"]
    assert order[("media-search", "prod")] == ["Source", "Test", "Build", "Approval", "Migrate", "UpdateService",
                                               "Deploy", "Smoke"]


def test_stages_with_the_same_anchor_keep_list_order(examples):
    base = examples[("catalog-api", "stg")].model_dump()
    one = {"name": "One", "after": "Build", "actions": [{"name": "A", "commands": ["true"]}]}
    two = {"name": "Two", "after": "Build", "actions": [{"name": "B", "commands": ["true"]}]}
    for stages, expected in (([one, two], ["One", "Two"]), ([two, one], ["Two", "One"])):
        c = ServiceConfig.model_validate({**base, "stages": stages})
        names = [s["Name"] for s in stages_of(pipeline.render_pipeline(c))]
        assert names[names.index("Build") + 1: names.index("UpdateService")] == expected


def test_parallel_actions_share_a_run_order(examples):
    smoke = stage(pipeline.render_pipeline(examples[("catalog-api", "stg")]), "Smoke")
    assert [(a["Name"], a["RunOrder"]) for a in smoke["Actions"]] == [("Health", 1), ("Contract", 1), ("Notify", 2)]
    test = stage(pipeline.render_pipeline(examples[("media-search", "prod")]), "Test")
    assert {a["RunOrder"] for a in test["Actions"]} == {1} and len(test["Actions"]) == 2


def test_each_action_has_its_own_project_role_and_log_group(examples):
    for c in examples.values():
        t = pipeline.render_pipeline(c)
        res = t["Resources"]
        run_projects = next(s for s in res[pipeline.PIPELINE_ROLE]["Properties"]["Policies"][0]["PolicyDocument"]
                            ["Statement"] if s.get("Sid") == "RunProjects")["Resource"]
        for p in plan.plans(c):
            project = res[p.project_id]["Properties"]
            role = res[p.role_id]["Properties"]
            assert project["ServiceRole"] == cfn.getatt(p.role_id, "Arn")
            assert project["LogsConfig"]["CloudWatchLogs"]["GroupName"] == cfn.ref(p.logs_id)
            assert res[p.logs_id]["Properties"]["LogGroupName"] == f"/aws/codebuild/{p.project_name}"
            assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "codebuild.amazonaws.com"}
            assert project["Environment"]["Image"] == (p.action.image or c.build.image)
            assert project["Environment"]["ComputeType"] == (p.action.compute_type or c.build.compute_type)
            assert project["Environment"]["PrivilegedMode"] is False
            assert project["TimeoutInMinutes"] == p.action.timeout_minutes
            assert cfn.getatt(p.project_id, "Arn") in run_projects
            actions = [a for s in role["Policies"][0]["PolicyDocument"]["Statement"] for a in s["Action"]]
            assert "s3:PutObject" not in actions and "kms:GenerateDataKey" not in actions  # reads its inputs only
            # the pipeline action runs this project with the inputs the spec lists
            (action,) = [a for a in stage(t, p.stage.name)["Actions"] if a["Name"] == p.action.name]
            assert action["Configuration"]["ProjectName"] == cfn.ref(p.project_id)
            assert [i["Name"] for i in action["InputArtifacts"]] == list(p.action.inputs)
            assert "OutputArtifacts" not in action


def test_inline_buildspec_is_the_reviewed_file(examples):
    c = examples[("catalog-api", "stg")]
    files = {a.path: a.content.decode() for a in render_service(c, "services/catalog-api.yaml", LAMBDA_KEY)[0]}
    t = pipeline.render_pipeline(c)
    for p in plan.plans(c):
        assert files[p.buildspec_path] == t["Resources"][p.project_id]["Properties"]["Source"]["BuildSpec"]
        assert yaml.safe_load(files[p.buildspec_path])["phases"]["build"]["commands"] == list(p.action.commands)
        assert check_buildspec(files[p.buildspec_path], p.buildspec_path) == []


# --- variables and secrets -------------------------------------------------------------------------

def _action_env(t: dict, stage_name: str, action: str) -> dict[str, str]:
    (a,) = [a for a in stage(t, stage_name)["Actions"] if a["Name"] == action]
    items = json.loads(a["Configuration"]["EnvironmentVariables"])
    assert all(i["type"] == "PLAINTEXT" for i in items)
    return {i["name"]: i["value"] for i in items}


def test_builtin_variables_reach_the_commands_as_environment_variables(examples):
    stg = pipeline.render_pipeline(examples[("catalog-api", "stg")])
    unit = _action_env(stg, "Test", "Unit")
    assert unit == {"PIPELINE_EXECUTION_ID": "#{codepipeline.PipelineExecutionId}",
                    "SOURCE_COMMIT_ID": "#{SourceVariables.CommitId}",
                    "COMMIT_BRANCH": "#{SourceVariables.BranchName}"}  # a spec value carrying a variable
    assert _action_env(stg, "Smoke", "Contract")["IMAGE_URI"] == "#{BuildVariables.IMAGE_URI}"  # needs_image
    assert "IMAGE_URI" not in _action_env(stg, "Smoke", "Health")
    s3 = pipeline.render_pipeline(examples[("batch-report", "stg")])
    manifest = _action_env(s3, "Validate", "Manifest")
    assert manifest["SOURCE_VERSION_ID"] == "#{SourceVariables.VersionId}" and "SOURCE_COMMIT_ID" not in manifest


def test_plain_values_and_secrets_are_set_on_the_project(examples):
    stg = pipeline.render_pipeline(examples[("catalog-api", "stg")])
    unit = stg["Resources"]["StageTestUnitProject"]["Properties"]["Environment"]["EnvironmentVariables"]
    assert unit == [{"Name": "CI", "Type": "PLAINTEXT", "Value": "true"}]  # COMMIT_BRANCH went to the action
    contract = stg["Resources"]["StageSmokeContractProject"]["Properties"]["Environment"]["EnvironmentVariables"]
    secret = "arn:aws:secretsmanager:eu-west-1:444444444444:secret:catalog/api-token-AbCdEf"
    assert contract == [{"Name": "API_TOKEN", "Type": "SECRETS_MANAGER", "Value": secret + ":token"}]
    prod = pipeline.render_pipeline(examples[("catalog-api", "prod")])
    schema = prod["Resources"]["StageMigrateSchemaProject"]["Properties"]["Environment"]["EnvironmentVariables"]
    assert schema == [{"Name": "DATABASE_URL", "Type": "PARAMETER_STORE", "Value": "/catalog/database-url"}]


def test_roles_read_exactly_their_secrets(examples):
    stg = pipeline.render_pipeline(examples[("catalog-api", "stg")])
    secret = "arn:aws:secretsmanager:eu-west-1:444444444444:secret:catalog/api-token-AbCdEf"
    stmts = {s["Sid"]: s for s in stg["Resources"]["StageSmokeContractRole"]["Properties"]["Policies"][0]
             ["PolicyDocument"]["Statement"] if "Sid" in s}
    assert stmts["ReadSecrets"]["Action"] == ["secretsmanager:GetSecretValue"]
    assert stmts["ReadSecrets"]["Resource"] == [secret]
    assert stmts["DecryptSecrets"]["Condition"]["StringEquals"] == {
        "kms:ViaService": ["secretsmanager.eu-west-1.amazonaws.com"], "kms:EncryptionContext:SecretARN": [secret]}
    for rid, res in stg["Resources"].items():  # no other role of the stack can read it
        if res["Type"] == "AWS::IAM::Role" and rid != "StageSmokeContractRole":
            assert secret not in json.dumps(res)
    prod = pipeline.render_pipeline(examples[("catalog-api", "prod")])
    stmts = {s["Sid"]: s for s in prod["Resources"]["StageMigrateSchemaRole"]["Properties"]["Policies"][0]
             ["PolicyDocument"]["Statement"] if "Sid" in s}
    param = cfn.arn("ssm", "parameter/catalog/database-url")
    assert stmts["ReadParameters"]["Resource"] == [param]
    assert stmts["DecryptParameters"]["Condition"]["StringEquals"]["kms:EncryptionContext:PARAMETER_ARN"] == [param]


def test_policy_statements_render_with_pseudo_parameters(examples):
    t = pipeline.render_pipeline(examples[("catalog-api", "stg")])
    stmts = t["Resources"]["StageSmokeNotifyRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert stmts[-1] == {"Effect": "Allow", "Action": ["sns:Publish"],
                         "Resource": [cfn.sub("arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:deploys")]}
    # IAM policy variables survive Fn::Sub escaped; a value without pseudo parameters stays literal
    assert st.iam_value("arn:${AWS::Partition}:s3:::b/${aws:username}/*") == \
        cfn.sub("arn:${AWS::Partition}:s3:::b/${!aws:username}/*")
    assert st.iam_value("arn:aws:s3:::b/${aws:username}/*") == "arn:aws:s3:::b/${aws:username}/*"


def test_builtin_variables_are_documented():
    text = StageAction.model_fields["commands"].description
    for v in plan.RESERVED_VARIABLES:
        assert v in text
    for expression in ("#{codepipeline.PipelineExecutionId}", "#{SourceVariables.CommitId}",
                       "#{BuildVariables.IMAGE_URI}"):
        assert expression in text


# --- lint, triggers, determinism ------------------------------------------------------------------

def _templates(examples):
    for key, c in sorted(examples.items()):
        files = {a.path: a.content for a in render_service(c, f"services/{c.name}.yaml", LAMBDA_KEY)[0]}
        path = f"generated/{c.name}/{c.environment.name}/codepipeline.yml"
        yield key, c, path, files


@pytest.mark.slow
def test_cfn_lint_and_shipspec_rules_are_clean(examples, cfn_rules):
    from cfnlint.api import ManualArgs, lint

    for key, c, path, files in _templates(examples):
        text = files[path].decode()
        diags, _ = check_template(Template(path, text, c.environment.region), files, None)  # every SS rule
        assert diags == [], (key, [d.render() for d in diags])
        if c.name == "media-search":
            continue  # cfn-lint runs on the repository's examples in test_lint_cmd; keep this module fast
        matches = lint(text, cfn_rules, config=ManualArgs(regions=[c.environment.region], include_checks=["I"]))
        assert [str(m) for m in matches] == [], key


def test_exactly_one_trigger_and_same_bytes_twice(examples):
    for key, c, path, files in _templates(examples):
        t = pipeline.render_pipeline(c)
        assert len(count_triggers(t)) == 1, (key, count_triggers(t))
        again = {a.path: a.content for a in render_service(c, f"services/{c.name}.yaml", LAMBDA_KEY)[0]}
        assert again == files


def test_lint_reports_a_wildcard_statement_at_the_template_line(examples):
    base = examples[("catalog-api", "stg")].model_dump()
    bad = {"name": "Open", "after": "Deploy", "actions": [{"name": "All", "commands": ["true"], "policy_statements": [
        {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::bucket/*"}]}]}
    c = ServiceConfig.model_validate({**base, "stages": [bad]})  # the checks would refuse it; render anyway
    text = cfn.dump_yaml(pipeline.render_pipeline(c))
    diags, _ = check_template(Template("generated/x/codepipeline.yml", text, "eu-west-1"), {}, None)
    (d,) = [d for d in diags if d.code == "SS101"]
    path = ("Resources", "StageOpenAllRole", "Properties", "Policies", 0, "PolicyDocument", "Statement", 3, "Action", 0)
    assert (d.location.line, d.location.col) == PositionIndex(text).locate(path)
    assert text.splitlines()[d.location.line - 1].strip() == "- '*'"


# --- the plan preview ------------------------------------------------------------------------------

def test_plan_preview_shows_an_added_stage(examples):
    before = examples[("catalog-api", "stg")].model_dump()
    extra = {"name": "Audit", "after": "Build", "actions": [{"name": "Scan", "commands": ["make audit"]}]}
    old = pipeline.render_pipeline(ServiceConfig.model_validate(before))
    new = pipeline.render_pipeline(ServiceConfig.model_validate({**before, "stages": [*before["stages"], extra]}))
    changes = {c.logical_id: c for c in diff_templates(old, new, "eu-west-1")}
    assert (changes["StageAuditScanProject"].action, changes["StageAuditScanProject"].resource_type) == \
        ("Add", "AWS::CodeBuild::Project")
    assert (changes["StageAuditScanRole"].action, changes["StageAuditScanRole"].resource_type) == \
        ("Add", "AWS::IAM::Role")
    assert changes["StageAuditScanLogGroup"].action == "Add"
    pipe = changes[pipeline.PIPELINE]
    assert (pipe.action, pipe.resource_type, pipe.replacement) == ("Modify", "AWS::CodePipeline::Pipeline", "False")
    assert any(p.path.startswith("Stages") for p in pipe.properties)
    assert changes[pipeline.PIPELINE_ROLE].action == "Modify"  # may now start the new project
    assert all(c.action != "Remove" for c in changes.values())


# --- the buildspec runs ----------------------------------------------------------------------------

def test_generated_buildspec_runs(tmp_path, examples):
    base = examples[("catalog-api", "stg")].model_dump()
    probe = {"name": "Probe", "after": "Build", "actions": [{"name": "Write", "commands": [
        "echo ok > out.txt", 'echo "$GREETING from $PIPELINE_EXECUTION_ID" >> out.txt'],
        "environment": {"GREETING": "hello"}}]}
    c = ServiceConfig.model_validate({**base, "stages": [probe]})
    (p,) = plan.plans(c)
    files = {a.path: a.content.decode() for a in render_service(c, "services/catalog-api.yaml", LAMBDA_KEY)[0]}
    text = files[p.buildspec_path]
    assert check_buildspec(text, p.buildspec_path) == []
    spec = yaml.safe_load(text)
    assert spec["env"]["shell"] == "bash"
    env = {**os.environ, **{v["Name"]: v["Value"] for v in st.project_environment(p)},
           **{v["name"]: "exec-1" for v in plan.action_environment(c, p) if v["name"] == "PIPELINE_EXECUTION_ID"}}
    script = "\n".join(cmd for phase in spec["phases"].values() for cmd in phase["commands"])
    subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env, check=True, timeout=30)
    assert (tmp_path / "out.txt").read_text() == "ok\nhello from exec-1\n"


def test_commands_survive_yaml_quoting(examples):
    tricky = ["true", "1.0", "null", "a: b", "- x", "'quoted'", "echo x # not a comment", "*star", "&amp",
              "ruby -e 'puts \"#{1 + 1}\"'", "for f in *.py; do\n  echo \"$f\"\ndone"]
    base = examples[("catalog-api", "stg")].model_dump()
    c = ServiceConfig.model_validate({**base, "stages": [
        {"name": "Odd", "after": "Deploy", "actions": [{"name": "Quoting", "commands": tricky}]}]})
    (p,) = plan.plans(c)
    text = st.buildspec(c, p)
    assert yaml.safe_load(text)["phases"]["build"]["commands"] == tricky
    assert check_buildspec(text, p.buildspec_path) == []


# --- validation errors at the spec line ------------------------------------------------------------

BASE = """\
name: svc-a
source:
  provider: codestar
  repository: acme/svc-a
  connection_arn: arn:aws:codeconnections:eu-west-1:111111111111:connection/abc
build:
  ecr_repository: acme/svc-a
service:
  cluster: main
stages:
{stages}
environments:
  stg:
    account: "111111111111"
    region: eu-west-1
  prod:
    account: "222222222222"
    region: eu-west-1
    source:
      connection_arn: arn:aws:codeconnections:eu-west-1:222222222222:connection/def
    deploy:
      approval: true
"""


def errors(tmp_path: Path, stages: str) -> tuple[str, list]:
    text = BASE.format(stages=textwrap.indent(textwrap.dedent(stages).strip("\n"), "  "))
    (tmp_path / "services").mkdir(exist_ok=True)
    (tmp_path / "services" / "svc-a.yaml").write_text(text)
    with pytest.raises(SpecError) as exc:
        load_project(tmp_path)
    return text, exc.value.diagnostics


def at(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """1-based line and column of the `nth` occurrence of `needle` in `text`."""
    offset = -1
    for _ in range(nth + 1):
        offset = text.index(needle, offset + 1)
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


CASES = [
    ("unknown after", """
     - name: Test
       after: Tests
       actions: [{name: Unit, commands: [make test]}]""",
     "Tests", "stages[0].after", "'Tests' is not one of Source, Build, Approval, UpdateService or Deploy"),
    ("reserved stage name", """
     - name: deploy
       after: Build
       actions: [{name: Unit, commands: [make test]}]""",
     "deploy", "stages[0].name", "'deploy' is the built-in stage Deploy"),
    ("duplicate stage", """
     - name: Check
       after: Source
       actions: [{name: A, commands: [ls]}]
     - name: Check
       after: Deploy
       actions: [{name: B, commands: [ls]}]""",
     ("Check", 1), "stages[1].name", "duplicate stage name 'Check' (also stages[0]"),
    ("duplicate action", """
     - name: Check
       after: Source
       actions:
         - {name: Unit, commands: [ls]}
         - {name: unit, commands: [ls]}""",
     "unit", "stages[0].actions[1].name", "duplicate action name 'unit' in stage 'Check'"),
    ("clashing resource names", """
     - name: Ab
       after: Source
       actions: [{name: Cd, commands: [ls]}]
     - name: AbC
       after: Deploy
       actions: [{name: d, commands: [ls]}]""",
     ("d, commands", 1), "stages[1].actions[0].name", "would have the same resource names as stage 'Ab' action 'Cd'"),
    ("build input before Build", """
     - name: Check
       after: Source
       actions: [{name: Unit, commands: [ls], inputs: [source, build]}]""",
     "build]", "stages[0].actions[0].inputs[1]", "input 'build' does not exist yet: it is produced by Build"),
    ("update input before UpdateService", """
     - name: Check
       after: Build
       actions: [{name: Unit, commands: [ls], inputs: [update]}]""",
     "update]", "stages[0].actions[0].inputs[0]", "produced by UpdateService, which runs after stage 'Check'"),
    ("unknown input", """
     - name: Check
       after: Deploy
       actions: [{name: Unit, commands: [ls], inputs: [config]}]""",
     "config]", "stages[0].actions[0].inputs[0]", "no artifact named 'config'; inputs can be source, build, update"),
    ("needs_image before Build", """
     - name: Check
       after: Source
       actions: [{name: Unit, commands: [ls], needs_image: true}]""",
     "true", "stages[0].actions[0].needs_image", "the image exists only after Build"),
    ("after Approval without approval", """
     - name: Migrate
       after: Approval
       actions: [{name: Schema, commands: [make migrate]}]""",
     "Approval", "stages[0].after", "environment 'stg' has no Approval stage (deploy.approval is false there)"),
    ("variable before its producer", """
     - name: Check
       after: Source
       actions: [{name: Unit, commands: [ls], environment: {IMG: "#{BuildVariables.IMAGE_URI}"}}]""",
     '"#{Build', "stages[0].actions[0].environment.IMG", "#{BuildVariables.IMAGE_URI} is not produced yet"),
    ("unknown source variable", """
     - name: Check
       after: Source
       actions: [{name: Unit, commands: [ls], environment: {TAG: "#{SourceVariables.ETag}"}}]""",
     '"#{Source', "stages[0].actions[0].environment.TAG", "#{SourceVariables.ETag} is not a variable of SourceVariables"),
    ("unknown namespace", """
     - name: Check
       after: Deploy
       actions: [{name: Unit, commands: [ls], environment: {X: "#{DeployVariables.Id}"}}]""",
     '"#{Deploy', "stages[0].actions[0].environment.X", "#{DeployVariables.Id} has no producer"),
    ("pipeline variable in commands", """
     - name: Check
       after: Source
       actions: [{name: Unit, commands: ["echo #{SourceVariables.CommitId}"]}]""",
     '"echo', "stages[0].actions[0].commands[0]", "is not resolved inside commands (CodeBuild runs them as written); "
     "use $SOURCE_COMMIT_ID"),
    ("IMAGE_URI without needs_image", """
     - name: Check
       after: Deploy
       actions: [{name: Unit, commands: ["docker pull $IMAGE_URI"]}]""",
     '"docker', "stages[0].actions[0].commands[0]", "$IMAGE_URI is not set for this action: set needs_image: true"),
    ("reserved environment name", """
     - name: Check
       after: Deploy
       actions: [{name: Unit, commands: [ls], environment: {IMAGE_URI: x}}]""",
     "IMAGE_URI:", "stages[0].actions[0].environment.IMAGE_URI", "'IMAGE_URI' is reserved"),
    ("secret as plain environment", """
     - name: Check
       after: Deploy
       actions: [{name: Unit, commands: [ls], environment: {API_TOKEN: x}}]""",
     "API_TOKEN", "stages[0].actions[0].environment.API_TOKEN", "looks like a secret but is a plain value"),
    ("secret ARN without suffix", """
     - name: Check
       after: Deploy
       actions: [{name: Unit, commands: [ls], secrets: {T: "arn:aws:secretsmanager:eu-west-1:111111111111:secret:tok"}}]""",
     '"arn', "stages[0].actions[0].secrets.T", "is not a full Secrets Manager secret ARN"),
    ("parameter in another account", """
     - name: Check
       after: Deploy
       actions: [{name: Unit, commands: [ls], secrets: {T: "arn:aws:ssm:eu-west-1:999999999999:parameter/t"}}]""",
     '"arn', "stages[0].actions[0].secrets.T", "account 999999999999 in the ARN differs from environment 'stg'"),
    ("wildcard action", """
     - name: Check
       after: Deploy
       actions:
         - name: Unit
           commands: [ls]
           policy_statements:
             - {Effect: Allow, Action: "*", Resource: "arn:aws:s3:::b/*"}""",
     '"*"', "stages[0].actions[0].policy_statements[0].Action[0]", "Allow statement grants wildcard action '*'"),
    ("star resource", """
     - name: Check
       after: Deploy
       actions:
         - name: Unit
           commands: [ls]
           policy_statements:
             - {Effect: Allow, Action: s3:GetObject, Resource: "*"}""",
     '"*"', "stages[0].actions[0].policy_statements[0].Resource", 'Resource "*" for s3:GetObject'),
    ("wildcard region, account and secret name", """
     - name: Check
       after: Deploy
       actions:
         - name: Unit
           commands: [ls]
           policy_statements:
             - {Effect: Allow, Action: secretsmanager:GetSecretValue, Resource: "arn:aws:secretsmanager:*:*:secret:*"}""",
     '"arn', "stages[0].actions[0].policy_statements[0].Resource[0]", "its wildcard region matches the resource in "
     "every region; name the resources, or narrow the statement with a condition; if the wildcard is intended, give "
     "the statement a Sid and a wildcard_reason saying why"),
    ("every object of every bucket", """
     - name: Check
       after: Deploy
       actions:
         - name: Unit
           commands: [ls]
           policy_statements:
             - {Effect: Allow, Action: s3:GetObject, Resource: "arn:aws:s3:::*/*"}""",
     '"arn', "stages[0].actions[0].policy_statements[0].Resource[0]", "matches every s3 resource"),
    ("wildcard_reason without a Sid", """
     - name: Check
       after: Deploy
       actions:
         - name: Unit
           commands: [ls]
           policy_statements:
             - Effect: Allow
               Action: s3:GetObject
               Resource: "arn:aws:s3:::reports-*/*"
               wildcard_reason: one bucket per day, named reports-YYYYMMDD""",
     "one bucket", "stages[0].actions[0].policy_statements[0].wildcard_reason", "wildcard_reason needs a Sid"),
    ("wildcard_reason without a wildcard", """
     - name: Check
       after: Deploy
       actions:
         - name: Unit
           commands: [ls]
           policy_statements:
             - Sid: Reports
               Effect: Allow
               Action: s3:GetObject
               Resource: "arn:aws:s3:::reports/*"
               wildcard_reason: one bucket per day, named reports-YYYYMMDD""",
     "one bucket", "stages[0].actions[0].policy_statements[0].wildcard_reason", "the statement has no wildcard "
     "resource to allow; remove it"),
    ("duplicate Sid", """
     - name: Check
       after: Deploy
       actions:
         - name: Unit
           commands: [ls]
           policy_statements:
             - {Sid: Read, Effect: Allow, Action: s3:GetObject, Resource: "arn:aws:s3:::b/k"}
             - {Sid: Read, Effect: Allow, Action: s3:ListBucket, Resource: "arn:aws:s3:::b"}""",
     ("Read", 1), "stages[0].actions[0].policy_statements[1].Sid", "duplicate Sid 'Read' (also policy_statements[0])"),
    ("statement without Resource", """
     - name: Check
       after: Deploy
       actions:
         - name: Unit
           commands: [ls]
           policy_statements:
             - Effect: Allow
               Action: s3:GetObject""",
     "Effect", "stages[0].actions[0].policy_statements[0].Resource", "required field 'Resource' is missing"),
    ("bad Effect", """
     - name: Check
       after: Deploy
       actions:
         - name: Unit
           commands: [ls]
           policy_statements:
             - {Effect: Permit, Action: s3:GetObject, Resource: "arn:aws:s3:::b/k"}""",
     "Permit", "stages[0].actions[0].policy_statements[0].Effect", "'Permit' is not one of Allow or Deny"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_validation_error_at_the_spec_line(tmp_path, case):
    _name, stages, needle, path, message = case
    text, diags = errors(tmp_path, stages)
    needle, nth = needle if isinstance(needle, tuple) else (needle, 0)
    line, col = at(text, needle, nth)
    found = [d for d in diags if d.path == path]
    assert found, [d.render() for d in diags]
    d = next((d for d in found if message in d.message), found[0])  # one per environment when both break
    assert message in d.message, d.render()
    assert (d.location.file, d.location.line, d.location.col) == ("services/svc-a.yaml", line, col), d.render()


def test_least_privilege_findings_carry_the_rule_id(tmp_path):
    _text, diags = errors(tmp_path, """
     - name: Check
       after: Deploy
       actions:
         - name: Unit
           commands: [ls]
           policy_statements:
             - {Effect: Allow, Action: "*", Resource: "*"}
             - {Effect: Allow, Action: iam:PassRole, Resource: "arn:aws:iam::${AWS::AccountId}:role/*"}""")
    assert {d.code for d in diags} == {"SS101", "SS102", "SS103"}


def test_an_environment_override_is_reported_in_the_override(tmp_path):
    text = BASE.format(stages="  []") + textwrap.indent(textwrap.dedent("""\
        stages:
          - name: Smoke
            after: Source
            actions: [{name: Probe, commands: [ls], needs_image: true}]
        """), "    ")
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "svc-a.yaml").write_text(text)
    with pytest.raises(SpecError) as exc:
        load_project(tmp_path)
    (d,) = exc.value.diagnostics
    assert d.path == "stages[0].actions[0].needs_image" and "the image exists only after Build" in d.message
    assert (d.location.line, d.location.col) == at(text, "true", 1)  # not approval: true, the override's


def test_too_many_pipeline_variables_for_one_action(tmp_path):
    many = ", ".join(f'V{i}: "#{{SourceVariables.CommitMessage}}"' for i in range(25))
    text, diags = errors(tmp_path, f"""
     - name: Check
       after: Deploy
       actions: [{{name: Unit, commands: [ls], environment: {{{many}}}}}]""")
    (d,) = diags
    assert d.path == "stages[0].actions[0].environment" and "CodePipeline allows 1000" in d.message


def test_the_examples_validate(examples):
    assert {("media-search", "stg"), ("media-search", "prod"), ("catalog-api", "prod")} <= set(examples)


def test_a_justified_wildcard_is_built_and_linted_clean_with_its_reason(tmp_path):
    stages = """
     - name: Check
       after: Deploy
       actions:
         - name: Unit
           commands: [ls]
           policy_statements:
             - Sid: DailyReports
               Effect: Allow
               Action: s3:GetObject
               Resource: "arn:aws:s3:::reports-*/*"
               wildcard_reason: one bucket per day, named reports-YYYYMMDD
             - {Sid: Other, Effect: Allow, Action: s3:GetObject, Resource: "arn:aws:s3:::config/*"}"""
    (tmp_path / "services").mkdir()
    (tmp_path / "services" / "svc-a.yaml").write_text(
        BASE.format(stages=textwrap.indent(textwrap.dedent(stages).strip("\n"), "  ")))
    project = load_project(tmp_path)
    c = project.services[0].config
    t = pipeline.render_pipeline(c)
    role = t["Resources"]["StageCheckUnitRole"]
    assert role["Metadata"] == {"shipspec": {"suppress": [
        {"id": "SS102", "sid": "DailyReports", "reason": "one bucket per day, named reports-YYYYMMDD"}]}}
    text = cfn.dump_yaml(t)
    diags, _ = check_template(Template("generated/x/codepipeline.yml", text, c.environment.region), {}, None)
    assert diags == []
    del t["Resources"]["StageCheckUnitRole"]["Metadata"]
    bare = cfn.dump_yaml(t)
    diags, _ = check_template(Template("generated/x/codepipeline.yml", bare, c.environment.region), {}, None)
    assert [d.code for d in diags] == ["SS102"] and "reports-*" in diags[0].message
    # the allowance is for that statement only: the same wildcard in the other statement is a finding
    other = text.replace("arn:aws:s3:::config/*", "arn:aws:s3:::config-*/*")
    diags, _ = check_template(Template("generated/x/codepipeline.yml", other, c.environment.region), {}, None)
    assert [d.code for d in diags] == ["SS102"] and "config-*" in diags[0].message
