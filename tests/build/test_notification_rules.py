"""The notification stack's rules: pipeline states as the spec lists them, and, with an approval
stage, a rule for the Approval action starting to wait; the Lambda may read only its own
pipeline's executions."""

from __future__ import annotations

from compiler.build.render import notification
from compiler.build.render.iam import actions_of
from compiler.spec.models import ServiceConfig
from compiler.spec.project import load_project
from support.cli import REPO

CONFIGS = {f"{s.config.name}-{s.config.environment.name}": s.config for s in load_project(REPO).services}
KEY = "lambda/notify-0123456789abcdef.zip"


def _with(c: ServiceConfig, **notifications) -> ServiceConfig:
    doc = c.model_dump()
    doc["notifications"].update(notifications)
    return ServiceConfig.model_validate(doc)


def test_an_approval_stage_gets_a_rule_for_the_waiting_approval():
    c = CONFIGS["video-api-prod"]
    assert c.deploy.approval
    t = notification.render_notification(c, KEY)
    rule = t["Resources"]["ApprovalWaitingRule"]["Properties"]
    assert rule["EventPattern"] == {
        "source": ["aws.codepipeline"], "detail-type": ["CodePipeline Action Execution State Change"],
        "detail": {"pipeline": ["video-api-prod"], "state": ["STARTED"], "type": {"category": ["Approval"]}}}
    assert rule["Targets"] == [{"Id": "notify", "Arn": {"Fn::GetAtt": ["NotifyFunction", "Arn"]}}]
    permission = t["Resources"]["ApprovalInvokePermission"]["Properties"]
    assert permission["SourceArn"] == {"Fn::GetAtt": ["ApprovalWaitingRule", "Arn"]}
    assert permission["Principal"] == "events.amazonaws.com"


def test_no_approval_rule_without_an_approval_stage_or_when_turned_off():
    assert "ApprovalWaitingRule" not in notification.render_notification(CONFIGS["video-api-stg"], KEY)["Resources"]
    off = _with(CONFIGS["video-api-prod"], approval=False)
    assert "ApprovalWaitingRule" not in notification.render_notification(off, KEY)["Resources"]


def test_stopped_and_superseded_are_announced_when_listed():
    c = CONFIGS["video-api-stg"]
    states = notification.render_notification(c, KEY)["Resources"]["PipelineStateRule"]["Properties"][
        "EventPattern"]["detail"]["state"]
    assert {"STOPPED", "SUPERSEDED"} <= set(states)


def test_the_lambda_reads_only_its_own_pipeline_executions():
    for c in CONFIGS.values():
        granted = [res for _role, action, res in actions_of(notification.render_notification(c, KEY))
                   if action == "codepipeline:GetPipelineExecution"]
        assert granted == [{"Fn::Sub": f"arn:${{AWS::Partition}}:codepipeline:${{AWS::Region}}:${{AWS::AccountId}}:"
                                       f"{c.name}-{c.environment.name}"}]
