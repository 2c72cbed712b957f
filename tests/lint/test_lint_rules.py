"""shipspec's own lint rules: each fires on a template that breaks it, at the offending line, and
stays quiet on one that keeps it; the registry and docs/security.md agree; the generated
templates of the example services are clean and every suppression in them is justified."""

from __future__ import annotations

import copy

import pytest
import yaml

from compiler.build.compile import compile_project
from compiler.lint import rules_doc
from compiler.lint.engine import Template, check_template, templates_of
from compiler.core.iam_policy import STAR_RESOURCE_ACTIONS
from compiler.lint.positions import PositionIndex
from compiler.lint.registry import all_rules
from compiler.lint.rules import REGISTRY, TemplateDoc
from compiler.lint.suppress import checkov_skips, suppressions
from compiler.build.render.cfn import dump_yaml
from compiler.spec.project import load_project
from support.cli import REPO as ROOT

PATH = "generated/demo/stg/codepipeline.yml"


def lint(template: dict, files: dict | None = None) -> tuple[str, list]:
    text = "# header comment\n" + dump_yaml(template)
    diags, _ = check_template(Template(PATH, text, "ap-northeast-1"), files or {}, None)
    return text, diags


def codes(diags) -> list[str]:
    return sorted(d.code for d in diags)


def line_of(text: str, needle: str, after: str | None = None) -> int:
    """1-based number of the first line containing `needle` (after the line containing `after`)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i for i, line in enumerate(lines) if i >= start and needle in line) + 1


def fired(diags, code: str) -> list:
    return [d for d in diags if d.code == code]


# --- building blocks -------------------------------------------------------------------------

def role(principal: str, statements: list[dict], **extra) -> dict:
    props = {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": principal}, "Action": "sts:AssumeRole"}]},
        "Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}]}
    props.update(extra)
    return {"Type": "AWS::IAM::Role", "Properties": props}


def function(role_id: str = "FnRole") -> dict:
    return {"Type": "AWS::Lambda::Function", "Properties": {
        "Runtime": "python3.12", "Handler": "h.h", "Code": {"ZipFile": "x"},
        "Role": {"Fn::GetAtt": [role_id, "Arn"]}, "LoggingConfig": {"LogGroup": {"Ref": "FnLogs"}}}}


def log_group(**extra) -> dict:
    res = {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete",
           "Properties": {"RetentionInDays": 30}}
    res.update(extra)
    return res


def with_function(statements: list[dict]) -> dict:
    """A function whose role has `statements` (everything else clean)."""
    return {"Resources": {"FnLogs": log_group(), "FnRole": role("lambda.amazonaws.com", statements),
                          "Fn": function()}}


OBJECTS = {"Fn::Sub": "arn:${AWS::Partition}:s3:::bucket/*"}


# --- IAM --------------------------------------------------------------------------------------

def test_ss101_wildcard_actions():
    text, diags = lint(with_function([{"Effect": "Allow", "Action": ["s3:*"], "Resource": OBJECTS}]))
    assert [(d.code, d.location.line) for d in diags] == [("SS101", line_of(text, "- s3:*"))]
    text, diags = lint(with_function([{"Effect": "Allow", "NotAction": "s3:DeleteObject", "Resource": OBJECTS}]))
    assert [(d.code, d.location.line) for d in diags] == [("SS101", line_of(text, "NotAction"))]
    _, diags = lint(with_function([{"Effect": "Allow", "Action": "*", "Resource": OBJECTS}]))
    assert codes(diags) == ["SS101"]
    _, diags = lint(with_function([{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": OBJECTS}]))
    assert diags == []


def test_ss101_deny_with_wildcard_is_narrowing_not_granting():
    _, diags = lint(with_function([{"Effect": "Deny", "Action": "s3:*", "Resource": OBJECTS,
                                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]))
    assert diags == []


def test_ss102_star_resource_only_for_allow_listed_actions():
    text, diags = lint(with_function([{"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken", "s3:GetObject"],
                                       "Resource": "*"}]))
    assert [(d.code, d.location.line) for d in diags] == [("SS102", line_of(text, "Resource: '*'"))]
    assert "s3:GetObject" in diags[0].message and "ecr:GetAuthorizationToken" not in diags[0].message
    _, diags = lint(with_function([{"Effect": "Allow", "Action": sorted(STAR_RESOURCE_ACTIONS), "Resource": "*"}]))
    assert diags == []


# The resources issue 16 got through: each names more than one resource by wildcard.
WILDCARD_ARNS = [
    {"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/*/*"},  # cluster "*"
    {"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/media/*"},  # service "*"
    {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:*-??????"},
    {"Fn::Sub": "arn:${AWS::Partition}:s3:::my-bucket/*.zip".replace("my-bucket", "*")},
    "arn:aws:secretsmanager:*:*:secret:*",  # region, account and name
    "arn:aws:secretsmanager:ap-northeast-1:111111111111:secret:*",
    "arn:aws:s3:::*/*",
    "arn:aws:s3:::*",
    "arn:aws:s3:::reports-*/daily/*",  # every bucket starting reports-
    "arn:aws:sqs:ap-northeast-1:*:queue",  # any account
    "arn:*:s3:::bucket/key",  # any partition
    "arn:aws:*:ap-northeast-1:111111111111:thing",  # any service
    "arn:aws:codecommit:ap-northeast-1:111111111111:repo?",
    "arn:aws:s3:::my-bucket/*.zip",  # objects by pattern (s3 source repository my-bucket/*.zip)
    "arn:aws:s3:::my-bucket/build-?/app.zip",
]
# Named resources, with the parts AWS generates left open.
NAMED_ARNS = [
    "arn:aws:s3:::my-bucket/*", "arn:aws:s3:::my-bucket/builds/*", "arn:aws:s3:::my-bucket/builds/app.zip",
    "arn:aws:secretsmanager:ap-northeast-1:111111111111:secret:team/db-??????",
    {"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task/media/*"},
    {"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/media/news-web"},
    {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Logs}:*"},
    {"Fn::Sub": "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:${Pipeline}"},
    "arn:aws:iam::111111111111:role/app",
]


@pytest.mark.parametrize("resource", WILDCARD_ARNS, ids=str)
def test_ss102_wildcard_arns(resource):
    text, diags = lint(with_function([{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [resource]}]))
    assert [d.code for d in diags] == ["SS102"], resource
    assert diags[0].location.line == line_of(text, "Resource:") + 1


@pytest.mark.parametrize("resource", NAMED_ARNS, ids=str)
def test_ss102_named_resources_pass(resource):
    _, diags = lint(with_function([{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [resource]}]))
    assert diags == []


def test_ss102_a_narrowing_condition_or_an_allow_listed_action_may_name_by_wildcard():
    keys = {"Fn::Sub": "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*"}
    _, diags = lint(with_function([{"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": keys}]))
    assert codes(diags) == ["SS102"]
    _, diags = lint(with_function([{"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": keys, "Condition": {
        "StringEquals": {"kms:ViaService": "secretsmanager.ap-northeast-1.amazonaws.com"}}}]))
    assert diags == []
    # ...but no condition makes an account or region wildcard acceptable
    _, diags = lint(with_function([{"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": "arn:aws:kms:*:*:key/*",
                                    "Condition": {"StringEquals": {"kms:ViaService": "s3.x.amazonaws.com"}}}]))
    assert codes(diags) == ["SS102"]
    families = {"Fn::Sub": "arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:task-definition/*"}
    _, diags = lint(with_function([{"Effect": "Allow", "Action": ["ecs:TagResource"], "Resource": families}]))
    assert diags == []
    _, diags = lint(with_function([{"Effect": "Allow", "Action": ["ecs:TagResource", "ecs:DeleteTaskDefinitions"],
                                    "Resource": families}]))
    assert codes(diags) == ["SS102"]


def test_a_suppression_with_a_sid_silences_that_statement_only():
    wild = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::reports-*/*"}
    template = with_function([{"Sid": "Reports", **wild}, {"Sid": "Other", **wild}])
    template["Resources"]["FnRole"]["Metadata"] = {"shipspec": {"suppress": [
        {"id": "SS102", "sid": "Reports", "reason": "one bucket per day, reports-YYYYMMDD"}]}}
    text, diags = lint(template)
    assert [(d.code, d.location.line) for d in diags] == [("SS102", line_of(text, "Resource:", after="Sid: Other"))]
    template["Resources"]["FnRole"]["Metadata"]["shipspec"]["suppress"][0]["sid"] = "Gone"
    _, diags = lint(template)
    assert codes(diags) == ["SS002", "SS102", "SS102"]
    assert "in statement Gone matches no finding" in fired(diags, "SS002")[0].message


def test_ss102_key_policy_star_means_this_key():
    key = {"Type": "AWS::KMS::Key", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "Properties": {
        "KeyPolicy": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
            "Action": ["kms:Decrypt", "kms:PutKeyPolicy"], "Resource": "*"}]}}}
    _, diags = lint({"Resources": {"Key": key}})
    assert diags == []


def test_ss103_passrole_needs_specific_roles_and_a_service_condition():
    text, diags = lint(with_function([{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]))
    assert sorted((d.code, d.location.line) for d in diags) == sorted([
        ("SS102", line_of(text, "Resource: '*'")), ("SS103", line_of(text, "Resource: '*'")),
        ("SS103", line_of(text, "- Effect: Allow", after="PolicyName"))])
    _, diags = lint(with_function([{"Effect": "Allow", "Action": "iam:PassRole",
                                    "Resource": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"},
                                    "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}]))
    assert codes(diags) == ["SS103"] and "role/*" in diags[0].message
    _, diags = lint(with_function([{"Effect": "Allow", "Action": "iam:PassRole",
                                    "Resource": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/app"},
                                    "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}}]))
    assert diags == []


def test_ss104_trust_matches_the_using_service():
    good = with_function([])
    assert lint(good)[1] == []
    wrong = copy.deepcopy(good)
    wrong["Resources"]["FnRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] = {
        "Service": "codebuild.amazonaws.com"}
    text, diags = lint(wrong)
    assert [(d.code, d.location.line) for d in diags] == [("SS104", line_of(text, "AssumeRolePolicyDocument"))]
    assert "lambda.amazonaws.com" in diags[0].message
    two = copy.deepcopy(good)
    two["Resources"]["FnRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] = {
        "Service": ["lambda.amazonaws.com", "codebuild.amazonaws.com"]}
    assert codes(lint(two)[1]) == ["SS104"]
    account = copy.deepcopy(good)
    account["Resources"]["FnRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"].append(
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "sts:AssumeRole"})
    assert codes(lint(account)[1]) == ["SS104"]
    unused = copy.deepcopy(good)
    unused["Resources"]["Spare"] = role("events.amazonaws.com", [])
    text, diags = lint(unused)
    assert [(d.code, d.location.line) for d in diags] == [("SS104", line_of(text, "Spare:"))]


def test_ss104_finds_uses_through_eventbridge_targets():
    tpl = {"Resources": {"StartRole": role("events.amazonaws.com", []), "Rule": {
        "Type": "AWS::Events::Rule", "Properties": {"EventPattern": {"source": ["aws.codecommit"]}, "Targets": [
            {"Id": "p", "Arn": "arn:aws:codepipeline:ap-northeast-1:111111111111:p",
             "RoleArn": {"Fn::GetAtt": "StartRole.Arn"}}]}}}}
    assert lint(tpl)[1] == []


def test_ss105_no_aws_managed_policies():
    tpl = with_function([])
    tpl["Resources"]["FnRole"]["Properties"]["ManagedPolicyArns"] = [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]
    text, diags = lint(tpl)
    assert [(d.code, d.location.line) for d in diags] == [("SS105", line_of(text, "AWSLambdaBasicExecutionRole"))]


# --- resources --------------------------------------------------------------------------------

def bucket_template() -> dict:
    return {"Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain",
                   "Properties": {
                       "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                           {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]},
                       "PublicAccessBlockConfiguration": {k: True for k in (
                           "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")},
                       "VersioningConfiguration": {"Status": "Enabled"}}},
        "BucketPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": {"Ref": "Bucket"}, "PolicyDocument": {
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": {"Fn::Sub": "${Bucket.Arn}/*"},
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}}}}}


def test_ss201_artifact_bucket():
    assert lint(bucket_template())[1] == []
    for mutate, needle in [
        (lambda p: p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
         ["ServerSideEncryptionByDefault"].update(SSEAlgorithm="AES256"), "BucketEncryption"),
        (lambda p: p["PublicAccessBlockConfiguration"].update(RestrictPublicBuckets=False),
         "PublicAccessBlockConfiguration"),
        (lambda p: p.update(VersioningConfiguration={"Status": "Suspended"}), "VersioningConfiguration"),
    ]:
        tpl = bucket_template()
        mutate(tpl["Resources"]["Bucket"]["Properties"])
        text, diags = lint(tpl)
        assert [(d.code, d.location.line) for d in diags] == [("SS201", line_of(text, needle))], needle
    tpl = bucket_template()
    del tpl["Resources"]["BucketPolicy"]
    text, diags = lint(tpl)
    assert [(d.code, d.location.line) for d in diags] == [("SS201", line_of(text, "Bucket:"))]
    assert "TLS" in diags[0].message


def test_ss202_log_retention():
    text, diags = lint({"Resources": {"Logs": log_group(Properties={})}})
    assert [(d.code, d.location.line) for d in diags] == [("SS202", line_of(text, "Properties"))]
    no_group = with_function([])
    del no_group["Resources"]["Fn"]["Properties"]["LoggingConfig"]
    del no_group["Resources"]["FnLogs"]
    text, diags = lint(no_group)
    assert [(d.code, d.location.line) for d in diags] == [("SS202", line_of(text, "Fn:"))]
    project = {"Resources": {"Logs": log_group(), "Role": role("codebuild.amazonaws.com", []), "Project": {
        "Type": "AWS::CodeBuild::Project", "Properties": {
            "ServiceRole": {"Fn::GetAtt": ["Role", "Arn"]}, "Source": {"Type": "CODEPIPELINE"},
            "LogsConfig": {"CloudWatchLogs": {"Status": "ENABLED", "GroupName": {"Ref": "Logs"}}}}}}}
    assert lint(project)[1] == []
    del project["Resources"]["Project"]["Properties"]["LogsConfig"]
    assert codes(lint(project)[1]) == ["SS202"]


def ecr(**props) -> dict:
    base = {"ImageScanningConfiguration": {"ScanOnPush": True},
            "LifecyclePolicy": {"LifecyclePolicyText": "{\"rules\":[]}"}}
    base.update(props)
    return {"Resources": {"Repo": {"Type": "AWS::ECR::Repository", "DeletionPolicy": "Retain",
                                   "UpdateReplacePolicy": "Retain", "Properties": base}}}


def test_ss203_ecr_scan_and_lifecycle():
    assert lint(ecr())[1] == []
    text, diags = lint(ecr(ImageScanningConfiguration={"ScanOnPush": False}))
    assert [(d.code, d.location.line) for d in diags] == [("SS203", line_of(text, "Properties"))]
    tpl = ecr()
    del tpl["Resources"]["Repo"]["Properties"]["LifecyclePolicy"]
    assert codes(lint(tpl)[1]) == ["SS203"]


def test_ss204_stateful_resources_are_retained():
    tpl = ecr()
    tpl["Resources"]["Repo"]["DeletionPolicy"] = "Delete"
    del tpl["Resources"]["Repo"]["UpdateReplacePolicy"]
    text, diags = lint(tpl)
    assert sorted((d.code, d.location.line) for d in diags) == [
        ("SS204", line_of(text, "Repo:")), ("SS204", line_of(text, "DeletionPolicy: Delete"))]
    logs = log_group()
    del logs["DeletionPolicy"]
    assert codes(lint({"Resources": {"Logs": logs}})[1]) == ["SS204"]


# --- pipeline ---------------------------------------------------------------------------------

BUILDSPEC = "version: 0.2\nenv:\n  exported-variables:\n    - IMAGE_URI\nphases:\n  build:\n    commands:\n      - echo\n"


def pipeline(env_vars: object = None, buildspec: str = BUILDSPEC, source_extra: list | None = None,
             namespace: str = "BuildVariables", build_stage_first: bool = False) -> dict:
    def project(name: str, spec: str) -> dict:
        return {"Type": "AWS::CodeBuild::Project", "Properties": {
            "ServiceRole": {"Fn::GetAtt": ["BuildRole", "Arn"]}, "Source": {"Type": "CODEPIPELINE", "BuildSpec": spec},
            "LogsConfig": {"CloudWatchLogs": {"Status": "ENABLED", "GroupName": {"Ref": "Logs"}}}}}

    codebuild = {"Category": "Build", "Owner": "AWS", "Provider": "CodeBuild", "Version": "1"}
    source = {"Name": "Source", "ActionTypeId": {"Category": "Source", "Owner": "AWS",
                                                 "Provider": "CodeStarSourceConnection", "Version": "1"},
              "Configuration": {"ConnectionArn": "arn:aws:codeconnections:ap-northeast-1:111111111111:connection/x",
                                "FullRepositoryId": "o/r", "BranchName": "main"},
              "OutputArtifacts": [{"Name": "source"}], "Namespace": "SourceVariables"}
    build = {"Name": "Build", "ActionTypeId": codebuild, "Configuration": {"ProjectName": {"Ref": "Build"}},
             "InputArtifacts": [{"Name": "source"}], "Namespace": namespace}
    update_cfg: dict = {"ProjectName": {"Ref": "Update"}}
    if env_vars is not None:
        update_cfg["EnvironmentVariables"] = env_vars
    update = {"Name": "Update", "ActionTypeId": codebuild, "Configuration": update_cfg,
              "InputArtifacts": [{"Name": "source"}]}
    stages = [{"Name": "Source", "Actions": [source] + (source_extra or [])},
              {"Name": "Build", "Actions": [build]}, {"Name": "Update", "Actions": [update]}]
    if build_stage_first:
        stages[1], stages[2] = stages[2], stages[1]
    return {"Resources": {
        "Logs": log_group(),
        "BuildRole": role("codebuild.amazonaws.com", []),
        "Build": project("build", buildspec),
        "Update": project("update", "version: 0.2\nphases:\n  build:\n    commands:\n      - echo\n"),
        "PipelineRole": role("codepipeline.amazonaws.com", []),
        "Pipeline": {"Type": "AWS::CodePipeline::Pipeline", "Properties": {
            "RoleArn": {"Fn::GetAtt": ["PipelineRole", "Arn"]}, "Stages": stages}}}}


IMAGE = '[{"name":"IMAGE_URI","value":"#{BuildVariables.IMAGE_URI}","type":"PLAINTEXT"}]'


def test_ss301_variables_have_earlier_producers():
    assert lint(pipeline(IMAGE))[1] == []
    commit = '[{"name":"C","value":"#{SourceVariables.CommitId}-#{codepipeline.PipelineExecutionId}","type":"PLAINTEXT"}]'
    assert lint(pipeline(commit))[1] == []
    for env, words in [
        (IMAGE.replace("IMAGE_URI}", "IMAGE_TAG}"), "not exported"),
        (IMAGE.replace("BuildVariables", "BuildVars"), "no action with Namespace"),
        ('[{"name":"C","value":"#{SourceVariables.CommitSha}","type":"PLAINTEXT"}]', "not an output"),
        ('[{"name":"C","value":"#{codepipeline.PipelineName}","type":"PLAINTEXT"}]', "not a codepipeline variable"),
    ]:
        text, diags = lint(pipeline(env))
        assert [(d.code, d.location.line) for d in diags] == [("SS301", line_of(text, "EnvironmentVariables"))], env
        assert words in diags[0].message
    _, diags = lint(pipeline(IMAGE, build_stage_first=True))
    assert codes(diags) == ["SS301"] and "does not run before" in diags[0].message
    _, diags = lint(pipeline(IMAGE, buildspec=BUILDSPEC.replace("IMAGE_URI", "OTHER")))
    assert codes(diags) == ["SS301"]


def test_ss301_repo_buildspec_is_read_from_the_generated_file_beside_the_template():
    tpl = pipeline(IMAGE, buildspec="codepipeline/buildspec.yml")
    sibling = {"generated/demo/stg/buildspec.yml": BUILDSPEC.encode()}
    assert lint(tpl, sibling)[1] == []
    _, diags = lint(tpl, {})
    assert codes(diags) == ["SS301"] and "cannot be checked" in diags[0].message
    _, diags = lint(tpl, {"generated/demo/stg/buildspec.yml": BUILDSPEC.replace("IMAGE_URI", "X").encode()})
    assert codes(diags) == ["SS301"] and "not exported" in diags[0].message


def test_ss302_environment_variables_shape_and_secrets():
    ok = ('[{"name":"IMAGE_URI","value":"#{BuildVariables.IMAGE_URI}","type":"PLAINTEXT"},'
          '{"name":"DB","value":"arn:aws:secretsmanager:ap-northeast-1:111111111111:secret:db-AbC:password::",'
          '"type":"SECRETS_MANAGER"},{"name":"P","value":"/app/param","type":"PARAMETER_STORE"}]')
    assert lint(pipeline(ok))[1] == []
    for env, words in [
        ([{"name": "IMAGE_URI", "value": "#{BuildVariables.IMAGE_URI}", "type": "PLAINTEXT"}], "JSON string"),
        ('[{"name":"A","value":"b"}]', "exactly name, value and type"),
        ('[{"name":"A","value":"b","type":"SECRET"}]', "is not one of"),
        ('[{"name":"DB_PASSWORD","value":"hunter2","type":"PLAINTEXT"}]', "secret-looking"),
        ('[{"name":"K","value":"AKIAABCDEFGHIJKLMNOP","type":"PLAINTEXT"}]', "credential"),
        ('[{"name":"P","value":"not a parameter!","type":"PARAMETER_STORE"}]', "Parameter Store"),
    ]:
        text, diags = lint(pipeline(env))
        assert [(d.code, d.location.line) for d in diags] == [("SS302", line_of(text, "EnvironmentVariables"))], env
        assert words in diags[0].message, (env, diags[0].message)
    tpl = pipeline()
    tpl["Resources"]["Build"]["Properties"]["Environment"] = {"EnvironmentVariables": [
        {"Name": "API_TOKEN", "Type": "PLAINTEXT", "Value": "abc"}]}
    text, diags = lint(tpl)
    assert [(d.code, d.location.line) for d in diags] == [("SS302", line_of(text, "- Name: API_TOKEN"))]


def test_ss303_exactly_one_trigger():
    assert lint(pipeline())[1] == []
    second = {"Name": "Config", "ActionTypeId": {"Category": "Source", "Owner": "AWS",
                                                 "Provider": "CodeStarSourceConnection", "Version": "1"},
              "Configuration": {"ConnectionArn": "arn:aws:codeconnections:ap-northeast-1:111111111111:connection/x",
                                "FullRepositoryId": "o/c", "BranchName": "main"},
              "OutputArtifacts": [{"Name": "config"}]}
    text, diags = lint(pipeline(source_extra=[second]))
    assert [(d.code, d.location.line) for d in diags] == [("SS303", line_of(text, "Pipeline:"))]
    assert "2 trigger(s)" in diags[0].message
    second["Configuration"]["DetectChanges"] = False
    assert lint(pipeline(source_extra=[second]))[1] == []


# --- suppressions -----------------------------------------------------------------------------

def star_template(suppress: list | None = None, checkov: list | None = None) -> dict:
    tpl = with_function([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}])
    meta = {}
    if suppress is not None:
        meta["shipspec"] = {"suppress": suppress}
    if checkov is not None:
        meta["checkov"] = {"skip": checkov}
    if meta:
        tpl["Resources"]["FnRole"]["Metadata"] = meta
    return tpl


def test_suppression_with_reason_silences_only_that_rule_on_that_resource():
    assert codes(lint(star_template())[1]) == ["SS102"]
    _, diags = lint(star_template([{"id": "SS102", "reason": "the bucket is named at run time"}]))
    assert diags == []
    _, diags = lint(star_template([{"id": "SS101", "reason": "wrong rule"}]))
    assert codes(diags) == ["SS002", "SS102"]


def test_suppression_without_reason_is_a_finding_and_suppresses_nothing():
    text, diags = lint(star_template([{"id": "SS102"}]))
    assert sorted((d.code, d.location.line) for d in diags) == sorted([
        ("SS001", line_of(text, "- id: SS102")), ("SS102", line_of(text, "Resource: '*'"))])
    assert codes(lint(star_template([{"id": "SS102", "reason": "two\nlines"}]))[1]) == ["SS001", "SS102"]
    assert "SS001" in codes(lint(star_template([{"id": "SS001", "reason": "no"}]))[1])


def test_checkov_skips_need_a_comment_and_cfn_lint_directives_are_refused():
    text, diags = lint(star_template([{"id": "SS102", "reason": "r"}], [{"id": "CKV_AWS_18"}]))
    assert [(d.code, d.location.line) for d in diags] == [("SS001", line_of(text, "- id: CKV_AWS_18"))]
    assert lint(star_template([{"id": "SS102", "reason": "r"}], [{"id": "CKV_AWS_18", "comment": "c"}]))[1] == []
    tpl = star_template([{"id": "SS102", "reason": "r"}])
    tpl["Metadata"] = {"cfn-lint": {"config": {"ignore_checks": ["W3005"]}}}
    text, diags = lint(tpl)
    assert [(d.code, d.location.line) for d in diags] == [("SS001", line_of(text, "cfn-lint:"))]


# --- registry, docs, positions --------------------------------------------------------------------

def test_every_rule_is_registered_with_id_title_description_and_hint():
    rules = all_rules()
    assert [r.id for r in rules] == sorted(REGISTRY) and len(rules) >= 14
    for r in rules:
        assert r.id.startswith("SS") and len(r.id) == 5
        for attr in ("title", "description", "hint"):
            assert len(getattr(r, attr).strip()) > 10, (r.id, attr)
    for required in ("SS101", "SS102", "SS103", "SS104", "SS201", "SS202", "SS203", "SS204", "SS301", "SS302",
                     "SS303"):
        assert required in REGISTRY


def test_docs_security_lists_every_rule_and_allow_listed_action():
    doc = (ROOT / rules_doc.DOC).read_text(encoding="utf-8")
    assert rules_doc.splice(doc, rules_doc.render()) == doc, "run `python -m compiler.lint.rules_doc`"
    for rule_id in REGISTRY:
        assert f"| {rule_id} |" in doc
    for action in STAR_RESOURCE_ACTIONS:
        assert f"`{action}`" in doc


def test_positions_point_at_keys_and_fall_back_to_the_deepest_existing_node():
    text = "# c\nA:\n  B:\n    - x\n    - C: 1\n"
    index = PositionIndex(text)
    assert index.locate(("A",)) == (2, 1)
    assert index.locate(("A", "B", 1, "C")) == (5, 7)
    assert index.locate(("A", "B", 0)) == (4, 7)
    assert index.locate(("A", "missing", "deeper")) == (2, 1)
    assert PositionIndex("{unclosed").locate(("A",)) == (1, 1)


# --- the real generated templates ---------------------------------------------------------------

@pytest.fixture(scope="module")
def generated():
    output = compile_project(load_project(ROOT))
    return output, templates_of(output)


def test_generated_templates_pass_every_shipspec_rule(generated):
    output, templates = generated
    files = {a.path: a.content for a in output.artifacts}
    assert {t.path.rsplit("/", 1)[-1] for t in templates} == {
        "bootstrap.yml", "codepipeline.yml", "codepipeline-status-notification.yml"}
    found = []
    for t in templates:
        found += check_template(t, files, None)[0]
    assert [d.render() for d in found] == []


def test_every_suppression_in_the_generated_templates_is_justified(generated):
    _output, templates = generated
    entries = []
    for t in templates:
        doc = TemplateDoc(t.path, yaml.safe_load(t.text))
        entries += [(t.path, s) for s in suppressions(doc) + checkov_skips(doc)]
    for path, s in entries:
        assert s.reason and "\n" not in s.reason and len(s.reason) >= 20, f"{path}: {s.resource} {s.id}: {s.reason!r}"
        assert s.id.startswith(("SS", "CKV_AWS_", "E", "W", "I")), (path, s.id)
    # Every suppressed rule id must be one the rules know (SS) or a checkov/cfn-lint id.
    assert all(s.id in REGISTRY for _p, s in entries if s.id.startswith("SS"))


def test_inline_buildspecs_get_the_structural_check_at_their_line_in_the_template():
    tpl = pipeline(IMAGE, buildspec=BUILDSPEC.replace("    commands:", "    commandz:"))
    text, diags = lint(tpl)
    typo = [d for d in diags if "commandz" in d.message]
    assert [(d.code, d.location.line, d.location.col) for d in typo] == [
        ("buildspec", line_of(text, "commandz:"), text.splitlines()[line_of(text, "commandz:") - 1].index("commandz") + 1)]
    assert "Build inline buildspec" in typo[0].message


# Issue 16's least-privilege repros, rendered as if validation had let them through: lint refuses each.
REPROS = {
    "service.cluster": ({"service": {"cluster": "*"}}, "codepipeline.yml", "service/*/"),
    "service.name": ({"service": {"name": "*"}}, "codepipeline.yml", "/*'"),
    "notifications.slack_webhook_secret": ({"notifications": {"slack_webhook_secret": "*"}},
                                           "codepipeline-status-notification.yml", "secret:*-??????"),
    "source.repository (s3)": ({"source": {"provider": "s3", "repository": "my-bucket/*.zip", "connection_arn": None,
                                           "trigger_paths": None, "additional": []}}, "codepipeline.yml", "*.zip"),
}


@pytest.mark.parametrize("field", sorted(REPROS))
def test_lint_refuses_the_wildcards_ordinary_fields_used_to_reach(field):
    from compiler.build.compile import render_service
    from compiler.spec.models import ServiceConfig

    patch, filename, needle = REPROS[field]
    base = next(s.config for s in load_project(ROOT, ["news-web"]).services if s.config.environment.name == "stg")
    data = base.model_dump()
    for section, values in patch.items():
        data[section] = {**data[section], **values}
    artifacts, _stacks = render_service(ServiceConfig.model_validate(data), "services/news-web.yaml",
                                        "lambda/notify-0000000000000000.zip")
    (art,) = [a for a in artifacts if a.path.endswith("/" + filename)]
    diags, _ = check_template(Template(art.path, art.content.decode(), "ap-northeast-1"), {}, None)
    wild = [d for d in diags if d.code == "SS102"]
    assert wild and any(needle in d.message for d in wild), [d.render() for d in diags]


def test_an_inline_buildspec_longer_than_codebuild_accepts_is_an_error():
    """CodeBuild refuses inline buildspecs over 25,600 characters; the Deploy step's embedded follower
    must stay below it (test_generated_inline_buildspecs_fit below)."""
    long = BUILDSPEC.replace("    commands:", "    commands:\n" + "      - echo " + "x" * 26000 + "\n", 1)
    text, diags = lint(pipeline(IMAGE, buildspec=long))
    found = [d for d in diags if "characters; CodeBuild accepts at most 25,600" in d.message]
    assert [(d.code, d.location.line) for d in found] == [("buildspec", line_of(text, "BuildSpec:"))]
    _text, ok = lint(pipeline(IMAGE, buildspec=BUILDSPEC))
    assert not [d for d in ok if "CodeBuild accepts at most" in d.message]


def test_generated_inline_buildspecs_fit(generated):
    from compiler.lint.engine import INLINE_BUILDSPEC_MAX

    _output, templates = generated
    for t in templates:
        for rid, res in yaml.safe_load(t.text)["Resources"].items():
            spec = res.get("Properties", {}).get("Source", {}).get("BuildSpec", "") if res["Type"] == \
                "AWS::CodeBuild::Project" else ""
            assert len(spec) <= INLINE_BUILDSPEC_MAX * 0.9, f"{t.path} {rid}: {len(spec)} characters, near the limit"
