"""The emulator's model of resource import and retained deletion (compiler/local/cfn_import.py),
against moto's server over HTTP: what `shipspec adopt` relies on, as AWS does it."""

from __future__ import annotations

import json

import pytest

from compiler.local.cfn_import import install
from support.aws import bare_moto_endpoint, client

pytestmark = pytest.mark.slow

moto_endpoint = bare_moto_endpoint()

PIPELINE = {"Type": "AWS::CodePipeline::Pipeline", "Properties": {"Name": "legacy-stg", "RoleArn": "arn:aws:iam::123456789012:role/x",
                                                                  "Stages": []}}
REPO = {"Type": "AWS::ECR::Repository", "Properties": {"RepositoryName": "media/legacy",
                                                       "EncryptionConfiguration": {"EncryptionType": "KMS"}}}
ROLE = {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "legacy-stg-codebuild", "AssumeRolePolicyDocument": {
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"},
                                            "Action": "sts:AssumeRole"}]}}}


@pytest.fixture
def aws(moto_endpoint):
    install()
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST", data=b""))
    return lambda service: client(service, moto_endpoint)


def _pipeline(aws, name="legacy-stg"):
    """A pipeline made through the API: moto's CloudFormation cannot create one from a template."""
    iam = aws("iam")
    try:
        arn = iam.get_role(RoleName="pipeline-service")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(RoleName="pipeline-service", AssumeRolePolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "codepipeline.amazonaws.com"}}]}))[
            "Role"]["Arn"]
    aws("codepipeline").create_pipeline(pipeline={
        "name": name, "roleArn": arn,
        "artifactStore": {"type": "S3", "location": "bucket"},
        "stages": [{"name": "Source", "actions": [{"name": "S", "actionTypeId": {
            "category": "Source", "owner": "AWS", "provider": "S3", "version": "1"}, "configuration": {}}]},
            {"name": "Build", "actions": [{"name": "B", "actionTypeId": {
                "category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"}}]}]})


def _wait(cfn, name, cs):
    cfn.get_waiter("change_set_create_complete").wait(ChangeSetName=cs, StackName=name,
                                                      WaiterConfig={"Delay": 0.1})


def test_deleting_a_stack_deletes_its_pipeline_unless_retained(aws):
    """The emulator creates the pipeline a stack declares (compiler/local/pipeline_resources.py), and
    deleting the stack deletes it unless it is retained."""
    cfn = aws("cloudformation")
    for name, policy in (("deleted", None), ("kept", "Retain")):
        res = {"Type": "AWS::CodePipeline::Pipeline", "Properties": {
            "Name": f"{name}-pipe", "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
            "ArtifactStore": {"Type": "S3", "Location": "bucket"},
            "Stages": [{"Name": "Source", "Actions": [{"Name": "S", "ActionTypeId": {
                "Category": "Source", "Owner": "AWS", "Provider": "S3", "Version": "1"}}]},
                {"Name": "Build", "Actions": [{"Name": "B", "ActionTypeId": {
                    "Category": "Build", "Owner": "AWS", "Provider": "CodeBuild", "Version": "1"}}]}]}}
        if policy:
            res["DeletionPolicy"] = policy
        role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": "codepipeline.amazonaws.com"}}]}}}
        cfn.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": {"Pipeline": res, "Role": role}}))
        assert {p["name"] for p in aws("codepipeline").list_pipelines()["pipelines"]} >= {f"{name}-pipe"}
        cfn.delete_stack(StackName=name)
    names = {p["name"] for p in aws("codepipeline").list_pipelines()["pipelines"]}
    assert names == {"kept-pipe"}


def test_a_stack_cannot_create_a_pipeline_whose_name_is_taken(aws):
    """As on AWS, a named resource that exists is not taken over by creating a stack (only by import)."""
    _pipeline(aws, "taken")
    cfn = aws("cloudformation")
    with pytest.raises(Exception, match="taken.*already exists"):
        cfn.create_stack(StackName="clash", TemplateBody=json.dumps({"Resources": {"Pipeline": {
            **PIPELINE, "Properties": {**PIPELINE["Properties"], "Name": "taken"}}}}))


def test_import_existing_resources_binds_what_exists_and_creates_the_rest(aws):
    cfn, ecr = aws("cloudformation"), aws("ecr")
    _pipeline(aws)
    aws("codepipeline").start_pipeline_execution(name="legacy-stg")
    repo_arn = ecr.create_repository(repositoryName="media/legacy",
                                     encryptionConfiguration={"encryptionType": "KMS"})["repository"]["repositoryArn"]
    role_id = aws("iam").create_role(RoleName="legacy-stg-codebuild",
                                     AssumeRolePolicyDocument=json.dumps(ROLE["Properties"]["AssumeRolePolicyDocument"]))[
        "Role"]["RoleId"]
    template = {"Resources": {
        "Pipeline": {**PIPELINE, "DeletionPolicy": "Retain"},
        "Repository": {**REPO, "DeletionPolicy": "Retain"},
        "BuildRole": {**ROLE, "DeletionPolicy": "Retain"},
        "Fresh": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": "/new/group"}},
        "NotRetained": {**ROLE, "Properties": {**ROLE["Properties"], "RoleName": "other-role"}},
    }}
    cs = cfn.create_change_set(StackName="new", ChangeSetName="adopt", ChangeSetType="CREATE",
                               TemplateBody=json.dumps(template), ImportExistingResources=True,
                               Capabilities=["CAPABILITY_NAMED_IAM"])["Id"]
    _wait(cfn, "new", cs)
    actions = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]["Action"]
               for c in cfn.describe_change_set(ChangeSetName=cs, StackName="new")["Changes"]}
    assert actions == {"Pipeline": "Import", "Repository": "Import", "BuildRole": "Import", "Fresh": "Add",
                       "NotRetained": "Add"}
    cfn.execute_change_set(ChangeSetName=cs, StackName="new")
    listed = {r["LogicalResourceId"]: r["PhysicalResourceId"]
              for r in cfn.list_stack_resources(StackName="new")["StackResourceSummaries"]}
    assert listed["Pipeline"] == "legacy-stg" and listed["Repository"] == "media/legacy"
    # the same physical resources, with their history
    assert ecr.describe_repositories(repositoryNames=["media/legacy"])["repositories"][0]["repositoryArn"] == repo_arn
    assert aws("iam").get_role(RoleName="legacy-stg-codebuild")["Role"]["RoleId"] == role_id
    assert aws("codepipeline").list_pipeline_executions(pipelineName="legacy-stg")["pipelineExecutionSummaries"]
    # imported into a stack, the pipeline now goes with it (not retained) ...
    template["Resources"]["Pipeline"].pop("DeletionPolicy")
    cfn.update_stack(StackName="new", TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_NAMED_IAM"])
    cfn.delete_stack(StackName="new")
    assert aws("codepipeline").list_pipelines()["pipelines"] == []
    # ... and the retained repository stays
    assert ecr.describe_repositories(repositoryNames=["media/legacy"])["repositories"]


def test_a_resource_another_stack_holds_is_not_imported(aws):
    cfn = aws("cloudformation")
    cfn.create_stack(StackName="old", TemplateBody=json.dumps({"Resources": {"Repository": REPO}}))
    cs = cfn.create_change_set(StackName="new", ChangeSetName="adopt", ChangeSetType="CREATE",
                               TemplateBody=json.dumps({"Resources": {"Repository": {**REPO, "DeletionPolicy": "Retain"}}}),
                               ImportExistingResources=True)["Id"]
    _wait(cfn, "new", cs)
    changes = cfn.describe_change_set(ChangeSetName=cs, StackName="new")["Changes"]
    assert [c["ResourceChange"]["Action"] for c in changes] == ["Add"]


def test_without_the_flag_nothing_is_imported(aws):
    cfn = aws("cloudformation")
    _pipeline(aws)
    cs = cfn.create_change_set(StackName="new", ChangeSetName="plain", ChangeSetType="CREATE",
                               TemplateBody=json.dumps({"Resources": {"Pipeline": {**PIPELINE,
                                                                                   "DeletionPolicy": "Retain"}}}))["Id"]
    _wait(cfn, "new", cs)
    changes = cfn.describe_change_set(ChangeSetName=cs, StackName="new")["Changes"]
    assert [c["ResourceChange"]["Action"] for c in changes] == ["Add"]
