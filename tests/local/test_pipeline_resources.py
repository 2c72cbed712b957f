"""The emulator keeps the pipeline resources a stack declares (compiler/local/pipeline_resources.py): after
`apply --local`, get-pipeline, batch-get-projects and list-webhooks read back what the template says, in
the API's shapes; an update of the stack updates them, deleting the stack deletes them. Over HTTP."""

from __future__ import annotations

import json

import pytest

from compiler.deploy.templates import load_template
from support.cli import REPO
from support.plan import STG, emu, moto_endpoint  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")]


def _template(name: str, env: str) -> dict:
    return load_template((REPO / "generated" / name / env / "codepipeline.yml").read_bytes())["Resources"]


def _apply(emu, *args: str) -> None:
    for cmd in (("bootstrap", "--local", "--yes"), ("apply", "--local", "--yes", *args)):
        r = emu.cli(*cmd)
        assert r.status == 0, r.out + r.err


def _outputs(emu, stack: str) -> dict[str, str]:
    found = emu.client("cloudformation", STG).describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in found.get("Outputs", [])}


def test_apply_creates_the_pipeline_and_projects_as_the_template_declares_them(emu):
    _apply(emu, "news-web", "--env", "stg")
    template = _template("news-web", "stg")
    cp, cb = emu.client("codepipeline", STG), emu.client("codebuild", STG)
    stored = cp.get_pipeline(name="news-web-stg")
    pipeline = stored["pipeline"]
    props = template["Pipeline"]["Properties"]
    assert (pipeline["pipelineType"], pipeline["executionMode"]) == ("V2", "SUPERSEDED")
    assert pipeline["roleArn"] == emu.client("iam", STG).get_role(RoleName=pipeline["roleArn"].rsplit("/", 1)[-1])[
        "Role"]["Arn"]
    assert [s["name"] for s in pipeline["stages"]] == [s["Name"] for s in props["Stages"]]
    declared = {a["Name"]: a for s in props["Stages"] for a in s["Actions"]}
    for stage in pipeline["stages"]:
        for action in stage["actions"]:
            want = declared[action["name"]]
            assert action["actionTypeId"] == {k[0].lower() + k[1:]: v for k, v in want["ActionTypeId"].items()}
            assert action["runOrder"] == want["RunOrder"] and action.get("namespace") == want.get("Namespace")
            assert [i["name"] for i in action["inputArtifacts"]] == [i["Name"] for i in want.get("InputArtifacts", [])]
            assert [o["name"] for o in action["outputArtifacts"]] == [o["Name"] for o in want.get("OutputArtifacts", [])]
            config = action["configuration"]
            for key, value in want["Configuration"].items():
                if isinstance(value, dict):  # Ref: the project the stack created
                    assert config[key] == f"news-web-stg-{value['Ref'][:-len('Project')].lower()}"
                else:  # text as get-pipeline shows it (DetectChanges: false -> "false")
                    assert config[key] == (str(value).lower() if isinstance(value, bool) else value)
    trigger = pipeline["triggers"][0]
    assert trigger["gitConfiguration"]["push"][0]["filePaths"]["includes"] == ["app/**", "Dockerfile", "package.json"]
    tags = cp.list_tags_for_resource(resourceArn=stored["metadata"]["pipelineArn"])["tags"]
    assert {"key": "shipspec:service", "value": "news-web"} in tags
    # the projects, with the template's buildspec and environment
    outputs = _outputs(emu, "news-web-stg-pipeline")
    assert outputs["PipelineName"] == "news-web-stg" and outputs["BuildProjectName"] == "news-web-stg-build"
    (project,) = cb.batch_get_projects(names=["news-web-stg-build"])["projects"]
    want = template["BuildProject"]["Properties"]
    assert project["source"] == {"type": "CODEPIPELINE", "buildspec": want["Source"]["BuildSpec"]}
    assert project["environment"]["computeType"] == "BUILD_GENERAL1_MEDIUM"
    assert project["environment"]["privilegedMode"] is True
    assert project["environment"]["environmentVariables"] == [
        {"name": v["Name"], "type": v["Type"], "value": v["Value"]} for v in want["Environment"]["EnvironmentVariables"]]
    assert project["timeoutInMinutes"] == 30
    assert project["logsConfig"]["cloudWatchLogs"] == {"status": "ENABLED",
                                                       "groupName": "/aws/codebuild/news-web-stg-build"}
    assert project["serviceRole"].endswith(":role/" + project["serviceRole"].rsplit("/", 1)[-1])
    resources = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in emu.client(
        "cloudformation", STG).list_stack_resources(StackName="news-web-stg-pipeline")["StackResourceSummaries"]}
    assert (resources["Pipeline"], resources["BuildProject"]) == ("news-web-stg", "news-web-stg-build")


def test_a_github_pipeline_keeps_its_webhook_and_masks_its_token(emu):
    (emu.root / "services" / "video-api.yaml").write_text((REPO / "services" / "video-api.yaml").read_text())
    _apply(emu, "video-api", "--env", "stg")
    cp = emu.client("codepipeline", STG)
    source = cp.get_pipeline(name="video-api-stg")["pipeline"]["stages"][0]["actions"][0]
    assert source["configuration"]["OAuthToken"] == "****"
    (hook,) = cp.list_webhooks()["webhooks"]
    definition = hook["definition"]
    assert (definition["targetPipeline"], definition["targetAction"], definition["authentication"]) == (
        "video-api-stg", "Source", "GITHUB_HMAC")
    assert definition["filters"] == [{"jsonPath": "$.ref", "matchEquals": "refs/heads/develop"}]
    assert hook["url"].startswith("https://ap-northeast-1.webhooks.aws/")


def test_updating_the_stack_updates_them_and_deleting_it_deletes_them(emu):
    _apply(emu, "news-web", "--env", "stg")
    cp, cb = emu.client("codepipeline", STG), emu.client("codebuild", STG)
    arn = cb.batch_get_projects(names=["news-web-stg-build"])["projects"][0]["arn"]
    emu.edit("news-web", "compute_type: BUILD_GENERAL1_MEDIUM", "compute_type: BUILD_GENERAL1_LARGE")
    emu.edit("news-web", "      branch: develop", "      branch: release")
    _apply(emu, "news-web", "--env", "stg")
    (project,) = cb.batch_get_projects(names=["news-web-stg-build"])["projects"]
    assert (project["arn"], project["environment"]["computeType"]) == (arn, "BUILD_GENERAL1_LARGE")
    pipeline = cp.get_pipeline(name="news-web-stg")["pipeline"]
    assert pipeline["version"] == 2
    assert pipeline["stages"][0]["actions"][0]["configuration"]["BranchName"] == "release"
    cfn = emu.client("cloudformation", STG)
    cfn.delete_stack(StackName="news-web-stg-pipeline")
    assert "news-web-stg" not in [p["name"] for p in cp.list_pipelines()["pipelines"]]
    assert not [n for n in cb.list_projects()["projects"] if n.startswith("news-web-stg-")]


def test_the_template_properties_become_the_api_shapes():
    from compiler.local.pipeline_resources import masked, pipeline_declaration

    decl = pipeline_declaration("p", {"RoleArn": "arn:aws:iam::1:role/r", "RestartExecutionOnUpdate": True,
                                      "Stages": [{"Name": "S", "Actions": [{
                                          "Name": "A", "RunOrder": "2",
                                          "ActionTypeId": {"Category": "Source", "Owner": "ThirdParty",
                                                           "Provider": "GitHub", "Version": "1"},
                                          "Configuration": {"PollForSourceChanges": False, "OAuthToken": "t",
                                                            "Branch": "main"}}]}]})
    assert "RestartExecutionOnUpdate" not in json.dumps(decl)  # not part of the API's declaration
    action = decl["stages"][0]["actions"][0]
    assert action["runOrder"] == 2 and action["actionTypeId"]["provider"] == "GitHub"
    assert action["configuration"] == {"PollForSourceChanges": "false", "OAuthToken": "t", "Branch": "main"}
    assert masked(decl)["stages"][0]["actions"][0]["configuration"]["OAuthToken"] == "****"
