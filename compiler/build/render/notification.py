"""The notification stack `<name>-<env>-notification`: EventBridge rule -> Lambda -> SNS topic.

Pure: `render_notification(c, lambda_key)` returns the template dict. `lambda_key` is the
content-addressed key of the Lambda zip in the bootstrap artifact bucket, so a new handler
means a new key and CloudFormation updates the function's code.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from ...spec import naming
from . import cfn, iam
from .codebuild import LOG_RETENTION_DAYS, log_group
from .notification_approval import approval_resources, execution_lookup_statement
from .pipeline import stack_description

if TYPE_CHECKING:
    from ...spec.models import ServiceConfig

RULE = "PipelineStateRule"
FUNCTION = "NotifyFunction"
FUNCTION_ROLE = "NotifyRole"
FUNCTION_LOGS = "NotifyLogGroup"
PERMISSION = "NotifyInvokePermission"
TOPIC = "NotifyTopic"
RUNTIME = "python3.12"
HANDLER = "handler.handler"
TIMEOUT_SECONDS = 30
DETAIL_TYPE = "CodePipeline Pipeline Execution State Change"

__all__ = ["render_notification", "function_name", "LOG_RETENTION_DAYS"]


def function_name(c: "ServiceConfig") -> str:
    return f"{naming.base(c)}-notify"


def subscription_id(email: str) -> str:
    """The subscription's logical id, from a hash of its address: adding, removing or reordering
    one address leaves every other subscription (and its confirmation) untouched, which a
    position in the list would not."""
    return f"EmailSubscription{hashlib.sha256(email.encode('utf-8')).hexdigest()[:12]}"


def _secret_arn(secret_id: str) -> object:
    """ARN pattern of a Secrets Manager secret given by name or ARN.

    A name resolves to an ARN with a random 6-character suffix, matched by "-??????".
    """
    if secret_id.startswith("arn:"):
        return secret_id
    return cfn.arn("secretsmanager", f"secret:{secret_id}-??????")


def _topic_arn(c: "ServiceConfig") -> object:
    return c.notifications.topic_arn or cfn.ref(TOPIC)


def _role(c: "ServiceConfig") -> dict:
    statements = [
        iam.logs_statement(FUNCTION_LOGS),
        cfn.allow(["sns:Publish"], _topic_arn(c), sid="PublishToTopic"),
        execution_lookup_statement(c),
    ]
    if c.notifications.slack_webhook_secret:
        statements.append(cfn.allow(["secretsmanager:GetSecretValue"],
                                    _secret_arn(c.notifications.slack_webhook_secret), sid="ReadSlackWebhook"))
    return iam.role("lambda.amazonaws.com", "notify", statements, iam.resource_tags(c),
                    f"Lambda {function_name(c)}: publish pipeline state changes")


def _function(c: "ServiceConfig", lambda_key: str) -> dict:
    env = {"TOPIC_ARN": _topic_arn(c)}
    if c.notifications.slack_webhook_secret:
        env["SLACK_WEBHOOK_SECRET"] = c.notifications.slack_webhook_secret
    return {
        "Type": "AWS::Lambda::Function",
        "Metadata": cfn.checkov_skips({
            "CKV_AWS_115": "Runs once per pipeline state change; reserving concurrency can fail deploys in "
                           "accounts near the unreserved-concurrency minimum.",
            "CKV_AWS_116": "Invoked asynchronously by EventBridge, which retries; a lost notification is tolerable.",
            "CKV_AWS_117": "Calls only public AWS and Slack endpoints; a VPC would add a NAT for no isolation gain.",
            "CKV_AWS_173": "The environment holds a topic ARN and a secret name, never secret values.",
        }),
        "Properties": {
            "FunctionName": function_name(c),
            "Description": f"Notifies pipeline {naming.pipeline_name(c)} state changes",
            "Runtime": RUNTIME,
            "Handler": HANDLER,
            "Code": {"S3Bucket": iam.artifact_bucket(), "S3Key": lambda_key},
            "Role": cfn.getatt(FUNCTION_ROLE, "Arn"),
            "Timeout": TIMEOUT_SECONDS,
            "MemorySize": 128,
            "Environment": {"Variables": env},
            # Our log group (with retention) instead of one Lambda would create without it.
            "LoggingConfig": {"LogGroup": cfn.ref(FUNCTION_LOGS)},
            "Tags": iam.resource_tags(c),
        },
    }


def _rule(c: "ServiceConfig") -> dict:
    return {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "Description": f"State changes of pipeline {naming.pipeline_name(c)}",
            "EventPattern": {
                "source": ["aws.codepipeline"],
                "detail-type": [DETAIL_TYPE],
                "detail": {"pipeline": [naming.pipeline_name(c)], "state": list(dict.fromkeys(c.notifications.events))},
            },
            "State": "ENABLED",
            "Targets": [{"Id": "notify", "Arn": cfn.getatt(FUNCTION, "Arn")}],
            "Tags": iam.resource_tags(c),
        },
    }


def _topic(c: "ServiceConfig") -> dict:
    return {
        "Type": "AWS::SNS::Topic",
        # Subscribers (confirmed emails, other teams' subscriptions) live on the topic: keep it.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "DisplayName": f"{c.name} {c.environment.name} pipeline",
            "KmsMasterKeyId": "alias/aws/sns",
            "Tags": iam.resource_tags(c),
        },
    }


def render_notification(c: "ServiceConfig", lambda_key: str) -> dict:
    resources: dict[str, dict] = {}
    if not c.notifications.topic_arn:
        resources[TOPIC] = _topic(c)
    for email in c.notifications.emails:
        resources[subscription_id(email)] = {
            "Type": "AWS::SNS::Subscription",
            "Properties": {"TopicArn": _topic_arn(c), "Protocol": "email", "Endpoint": email},
        }
    resources[FUNCTION_LOGS] = log_group(f"/aws/lambda/{function_name(c)}", iam.resource_tags(c))
    resources[FUNCTION_ROLE] = _role(c)
    resources[FUNCTION] = _function(c, lambda_key)
    resources[RULE] = _rule(c)
    resources.update(approval_resources(c, FUNCTION))  # with deploy.approval: "approval waiting" messages
    resources[PERMISSION] = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "FunctionName": cfn.ref(FUNCTION),
            "Action": "lambda:InvokeFunction",
            "Principal": "events.amazonaws.com",
            "SourceArn": cfn.getatt(RULE, "Arn"),
        },
    }
    outputs = {
        "TopicArn": {"Description": "SNS topic the notifications go to", "Value": _topic_arn(c)},
        "FunctionName": {"Description": "Notification Lambda function", "Value": cfn.ref(FUNCTION)},
    }
    summary = (f"shipspec notifications for pipeline {naming.pipeline_name(c)}: "
               f"{', '.join(dict.fromkeys(c.notifications.events))} -> Lambda -> SNS")
    return cfn.template(stack_description(c, summary), resources, outputs)
