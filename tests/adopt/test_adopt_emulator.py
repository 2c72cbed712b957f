"""`shipspec adopt` end to end on the emulator: a deployed hand-written stack becomes shipspec's
stacks, the pipeline (with its execution history), the ECR repository and the named roles are the
same physical resources before and after, nothing is deleted, and a run interrupted after any step
(or between creating and executing the import change set) finishes when run again."""

from __future__ import annotations

import dataclasses
import json
from unittest import mock

import pytest

from compiler.adopt import steps as adopt_steps
from compiler.adopt import takeover
from compiler.build.render import codebuild, notification, sources
from compiler.build.render import pipeline as render_pipeline
from compiler.local.cfn_import import install
from compiler.local.adapt import adapt
from support.adopt import HANDWRITTEN
from support.plan import STG, Emu, emu, local_emulator, moto_endpoint, on_clients  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow

OLD = "video-api-stg-legacy"
PIPELINE, NOTIFY = "video-api-stg-pipeline", "video-api-stg-notification"


def _deploy_hand_written(emu) -> dict:
    """The hand-written stack as it runs: created from its template (the emulator creates the
    repository, the roles, the CodeBuild projects and the pipeline), with one pipeline execution in its
    history."""
    cfn = emu.client("cloudformation", STG)
    body, _notes = adapt((HANDWRITTEN / "video-api-stg.yml").read_bytes())
    cfn.create_stack(StackName=OLD, TemplateBody=body.decode(), Capabilities=["CAPABILITY_NAMED_IAM"],
                     Parameters=[{"ParameterKey": "DeployUserAccessKeyId", "ParameterValue": "not-a-key"},
                                 {"ParameterKey": "DeployUserSecretAccessKey", "ParameterValue": "not-a-secret"}])
    projects = emu.client("codebuild", STG).list_projects()["projects"]
    assert {"video-api-docker-build-stg", "video-api-update-service-stg"} <= set(projects)
    emu.client("codepipeline", STG).start_pipeline_execution(name="video-api-stg")
    return _identity(emu)


def _identity(emu) -> dict:
    """What makes each kept resource the same physical resource."""
    pipe = emu.client("codepipeline", STG).get_pipeline(name="video-api-stg")["metadata"]
    repo = emu.client("ecr", STG).describe_repositories(repositoryNames=["media/video-api"])["repositories"][0]
    iam = emu.client("iam", STG)
    return {"pipeline": (pipe["pipelineArn"], pipe["created"]),
            "executions": len(emu.client("codepipeline", STG).list_pipeline_executions(
                pipelineName="video-api-stg")["pipelineExecutionSummaries"]),
            "repository": (repo["repositoryArn"], repo["createdAt"]),
            "roles": tuple(iam.get_role(RoleName=n)["Role"]["RoleId"]
                           for n in ("video-api-stg-codepipeline", "video-api-stg-codebuild"))}


def _spec(emu) -> None:
    r = emu.cli("import", f"stg={HANDWRITTEN / 'video-api-stg.yml'}")
    assert r.status == 0, r.err


@pytest.fixture
def adopting(emu):
    install()
    _spec(emu)
    return emu, _deploy_hand_written(emu)


def _adopt(emu, *extra):
    return emu.cli("adopt", "video-api", "--env", "stg", "--stack", OLD, "--local", *extra)


def _assert_taken_over(emu, before: dict) -> None:
    stacks = emu.stacks(STG)
    assert OLD not in stacks, "the old stack is gone"
    assert stacks[PIPELINE]["StackStatus"].endswith("_COMPLETE") and NOTIFY in stacks
    assert _identity(emu) == before, "the pipeline, its history, the repository and the roles are the same"
    listed = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in emu.client("cloudformation", STG)
              .list_stack_resources(StackName=PIPELINE)["StackResourceSummaries"]}
    assert listed[render_pipeline.PIPELINE] == "video-api-stg"
    assert listed[render_pipeline.REPOSITORY] == "media/video-api"
    # nothing deleted: the old CodeBuild projects are retained (shipspec made its own)
    projects = emu.client("codebuild", STG).list_projects()["projects"]
    assert {"video-api-docker-build-stg", "video-api-update-service-stg"} <= set(projects)
    done = _adopt(emu, "--format", "json")
    assert done.status == 0, done.err
    assert json.loads(done.out)["done"] is True


def test_plan_shows_imports_creations_and_what_stays_unmanaged(adopting):
    emu, before = adopting
    r = _adopt(emu, "--format", "json")
    assert r.status == 0, r.err
    plan = json.loads(r.out)
    imported = {(i["logical_id"], i["name"]) for i in plan["imported"]}
    assert imported == {(render_pipeline.PIPELINE, "video-api-stg"), (render_pipeline.REPOSITORY, "media/video-api"),
                        (render_pipeline.PIPELINE_ROLE, "video-api-stg-codepipeline"),
                        (codebuild.BUILD_ROLE, "video-api-stg-codebuild")}
    created = {c["logical_id"] for c in plan["created"]}
    assert {codebuild.BUILD_PROJECT, codebuild.UPDATE_PROJECT, codebuild.UPDATE_ROLE, sources.WEBHOOK,
            notification.TOPIC} <= created
    unmanaged = {u["logical_id"]: u for u in plan["retained_unmanaged"]}
    assert set(unmanaged) == {"BuildProject", "UpdateProject", "Webhook"}
    assert "starts the pipeline" in unmanaged["Webhook"]["note"]
    assert [s["step"] for s in plan["steps"] if not s["done"]] == ["bootstrap", "retain", "release", "import",
                                                                   "converge"]
    retain = plan["retain_change_sets"][OLD]
    assert {c["logical_id"] for c in retain} >= {"Repository", "CodePipelineRole", "CodeBuildRole"}
    assert OLD in emu.stacks(STG), "planning changes nothing"
    assert _identity(emu) == before
    text = _adopt(emu)
    assert "Left retained and unmanaged (3)" in text.out and "--yes" in text.out


def test_adopt_takes_the_stack_over_and_keeps_the_resources(adopting):
    emu, before = adopting
    r = _adopt(emu, "--yes")
    assert r.status == 0, r.err
    _assert_taken_over(emu, before)


@pytest.mark.parametrize("step", adopt_steps.STEP_ACTIONS)
def test_a_run_interrupted_after_each_step_finishes_when_run_again(adopting, step):
    emu, before = adopting
    real = adopt_steps.STEP_ACTIONS[step]

    def then_interrupt(ctx, plan):
        real(ctx, plan)
        raise KeyboardInterrupt

    with mock.patch.dict(adopt_steps.STEP_ACTIONS, {step: then_interrupt}):
        first = _adopt(emu, "--yes")
    assert first.status == 130, first.err
    again = _adopt(emu, "--yes")
    assert again.status == 0, again.err
    _assert_taken_over(emu, before)


def test_a_run_interrupted_before_the_import_change_set_runs_finishes(adopting):
    emu, before = adopting
    stop = {"armed": True}

    def register(service, client):
        if service != "cloudformation":
            return

        def before_execute(params, **_):
            if params.get("StackName") == PIPELINE and stop["armed"]:
                stop["armed"] = False
                raise KeyboardInterrupt

        client.meta.events.register("provide-client-params.cloudformation.ExecuteChangeSet", before_execute)

    with on_clients(register):
        first = _adopt(emu, "--yes")
    assert first.status == 130 and not stop["armed"]
    assert emu.stacks(STG)[PIPELINE]["StackStatus"] == "REVIEW_IN_PROGRESS"
    again = _adopt(emu, "--yes")
    assert again.status == 0, again.err
    _assert_taken_over(emu, before)


def test_the_old_stack_is_never_deleted_while_a_resource_is_not_retained(adopting):
    """Even when the plan believes the old stack is retained, release reads the deployed template
    again and refuses to delete a stack that would take a resource with it."""
    emu, before = adopting
    read_old = takeover.read_old

    def believed_retained(*args, **kwargs):
        return dataclasses.replace(read_old(*args, **kwargs), all_retained=True)

    with mock.patch.object(takeover, "read_old", believed_retained):
        r = _adopt(emu, "--yes")
    assert r.status == 1
    assert f"{OLD}: not deleted: " in r.err and "would be deleted with it" in r.err
    assert OLD in emu.stacks(STG) and _identity(emu) == before


def test_adopt_on_the_emulator_server_process(tmp_path):
    """The same takeover against `shipspec local up` (the emulator server hooks the import model in)."""
    with local_emulator(tmp_path, services=("_defaults",)) as (root, _out, _up):
        endpoint = json.loads((root / ".shipspec" / "local.json").read_text())["endpoint"]
        emu = Emu(root, endpoint)
        _spec(emu)
        before = _deploy_hand_written(emu)
        r = _adopt(emu, "--yes")
        assert r.status == 0, r.err
        _assert_taken_over(emu, before)


def test_a_codebuild_project_name_cloudformation_cannot_import_blocks_the_takeover(adopting):
    """Keeping the old project's name would make creating shipspec's stack fail (CloudFormation cannot
    import a CodeBuild project): the plan says so, and nothing is changed."""
    emu, before = adopting
    emu.edit("video-api", "names:\n", "names:\n  build_project: video-api-docker-build-stg\n")
    r = _adopt(emu, "--yes")
    assert r.status == 1
    assert "BuildProject (AWS::CodeBuild::Project video-api-docker-build-stg) exists, and CloudFormation cannot " \
           "import" in r.out
    assert OLD in emu.stacks(STG) and PIPELINE not in emu.stacks(STG) and _identity(emu) == before
