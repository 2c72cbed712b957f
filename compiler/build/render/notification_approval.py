"""The notification stack's approval rule: with deploy.approval (and notifications.approval), an
EventBridge rule on the Approval action's STARTED state invokes the notification Lambda, which
sends a message with a link to approve. A rule in this stack, not the Approval action's
NotificationArn: the topic lives here, and the pipeline stack must not depend on it. Pure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...spec import naming
from . import cfn, iam

if TYPE_CHECKING:
    from ...spec.models import ServiceConfig

APPROVAL_RULE = "ApprovalWaitingRule"
APPROVAL_PERMISSION = "ApprovalInvokePermission"
ACTION_DETAIL_TYPE = "CodePipeline Action Execution State Change"


def wanted(c: "ServiceConfig") -> bool:
    return c.deploy.approval and c.notifications.approval


def approval_resources(c: "ServiceConfig", function_id: str) -> dict[str, dict]:
    """The rule and the invoke permission (none without an approval to announce)."""
    if not wanted(c):
        return {}
    rule = {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Description": f"A manual approval of pipeline {naming.pipeline_name(c)} starts waiting",
            "EventPattern": {
                "source": ["aws.codepipeline"],
                "detail-type": [ACTION_DETAIL_TYPE],
                "detail": {"pipeline": [naming.pipeline_name(c)], "state": ["STARTED"],
                           "type": {"category": ["Approval"]}},
            },
            "State": "ENABLED",
            "Targets": [{"Id": "notify", "Arn": cfn.getatt(function_id, "Arn")}],
            "Tags": iam.resource_tags(c),
        },
    }
    permission = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {"FunctionName": cfn.ref(function_id), "Action": "lambda:InvokeFunction",
                       "Principal": "events.amazonaws.com", "SourceArn": cfn.getatt(APPROVAL_RULE, "Arn")},
    }
    return {APPROVAL_RULE: rule, APPROVAL_PERMISSION: permission}


def execution_lookup_statement(c: "ServiceConfig") -> dict:
    """The Lambda reads the execution's trigger and commit (GetPipelineExecution) of this pipeline only."""
    return cfn.allow(["codepipeline:GetPipelineExecution"], cfn.arn("codepipeline", naming.pipeline_name(c)),
                     sid="ReadExecution")
