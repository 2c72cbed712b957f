"""The rendered stacks against moto's server over HTTP: exports/imports line up, the notifier is
created from the uploaded zip, and the EventBridge patterns match the events AWS sends.

moto's CloudFormation does not model CodePipeline or CodeBuild, so the pipeline stack itself is
covered by cfn-lint (tests/build/test_templates.py); its trigger rules' patterns are exercised here.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import zipfile
from typing import Any

import pytest

from support.aws import client, moto_server_fixture
from compiler.spec import naming
from compiler.spec.models import ServiceConfig
from compiler.build.render import bootstrap, cfn, notification, pipeline

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"  # moto's default account
LAMBDA_KEY = "lambda/notify-0123456789abcdef.zip"

moto_endpoint = moto_server_fixture()
# moto warns about the resource types its CloudFormation skips (bucket policy, SNS subscriptions).
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")]
_probe_ids = itertools.count(1)


def config(**source: Any) -> ServiceConfig:
    return ServiceConfig.model_validate({
        "name": "stack-test",
        "tags": {"team": "qa"},
        "source": {"provider": "codestar", "repository": "acme/stack-test",
                   "connection_arn": f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/c-1", **source},
        "build": {"ecr_repository": "acme/stack-test"},
        "service": {"cluster": "apps"},
        "notifications": {"events": ["FAILED", "SUCCEEDED"], "emails": ["team@example.com"]},
        "environment": {"name": "dev", "account": ACCOUNT, "region": REGION},
    })


def resolve(value: Any) -> Any:
    """Resolve the pseudo parameters in Fn::Sub strings the way CloudFormation would here."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        pseudo = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
        return re.sub(r"\$\{([^}]+)\}", lambda m: pseudo[m.group(1)], value["Fn::Sub"])
    if isinstance(value, dict):
        return {k: resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v) for v in value]
    return value


def create_stack(cf, name: str, template: dict) -> dict:
    cf.create_stack(StackName=name, TemplateBody=cfn.dump_yaml(template), Capabilities=["CAPABILITY_IAM"])
    stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


@pytest.fixture(scope="module")
def bootstrap_outputs(moto_endpoint) -> dict:
    template = bootstrap.render_bootstrap(ACCOUNT, REGION)
    # moto's KMS reads CloudFormation key tags in the KMS API's TagKey/TagValue shape; CloudFormation
    # itself takes Key/Value (validated by cfn-lint). Only the tags are dropped for moto.
    template["Resources"][bootstrap.KEY]["Properties"].pop("Tags")
    return create_stack(client("cloudformation", moto_endpoint), naming.BOOTSTRAP_STACK, template)


def test_bootstrap_exports_what_the_other_stacks_import(moto_endpoint, bootstrap_outputs):
    exports = {e["Name"]: e["Value"] for e in client("cloudformation", moto_endpoint).list_exports()["Exports"]}
    c = config()
    wanted = set()
    for t in (pipeline.render_pipeline(c), notification.render_notification(c, LAMBDA_KEY)):
        wanted |= {v for v in re.findall(r'"Fn::ImportValue": "([^"]+)"', json.dumps(t))}
    assert wanted and wanted <= set(exports)
    bucket = exports[naming.bootstrap_export("ArtifactBucket")]
    assert exports[naming.bootstrap_export("ArtifactBucketArn")] == f"arn:aws:s3:::{bucket}"
    s3 = client("s3", moto_endpoint)
    # (moto's CloudFormation applies a bucket's encryption and tags only; the rest is checked structurally.)
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    key_id = exports[naming.bootstrap_export("ArtifactKeyArn")]
    kms = client("kms", moto_endpoint)
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    assert bootstrap.ALIAS_NAME in aliases


def test_notification_stack_creates_the_notifier_from_the_uploaded_zip(moto_endpoint, bootstrap_outputs):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("handler.py", "def handler(event, context):\n    return None\n")
    client("s3", moto_endpoint).put_object(Bucket=bootstrap_outputs["ArtifactBucket"], Key=LAMBDA_KEY,
                                           Body=buf.getvalue())
    c = config()
    outputs = create_stack(client("cloudformation", moto_endpoint), naming.stack_names(c)[naming.NOTIFICATION],
                           notification.render_notification(c, LAMBDA_KEY))
    fn = client("lambda", moto_endpoint).get_function(FunctionName=notification.function_name(c))["Configuration"]
    assert fn["Runtime"] == "python3.12" and fn["Handler"] == "handler.handler"
    assert fn["Environment"]["Variables"]["TOPIC_ARN"] == outputs["TopicArn"]
    assert outputs["TopicArn"].startswith(f"arn:aws:sns:{REGION}:{ACCOUNT}:")
    groups = client("logs", moto_endpoint).describe_log_groups(
        logGroupNamePrefix=f"/aws/lambda/{notification.function_name(c)}")["logGroups"]
    assert [g["retentionInDays"] for g in groups] == [notification.LOG_RETENTION_DAYS]
    events = client("events", moto_endpoint)
    (rule,) = [r for r in events.list_rules()["Rules"] if r.get("EventPattern")]
    assert json.loads(rule["EventPattern"])["detail"]["pipeline"] == [naming.pipeline_name(c)]
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"] == fn["FunctionArn"]


# --- patterns against events shaped as AWS sends them (reference/aws-facts.md) --------------------

def delivered(endpoint: str, pattern: dict, events: list[dict]) -> list[str]:
    """Put `events` on a bus of their own with a rule using `pattern` -> SQS; return the probes delivered.

    A separate bus keeps the notification stack's own rule (Lambda target) out of the way."""
    sqs, eb = client("sqs", endpoint), client("events", endpoint)
    name = f"probe-{next(_probe_ids)}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    eb.create_event_bus(Name=name)
    eb.put_rule(Name=name, EventBusName=name, EventPattern=json.dumps(pattern), State="ENABLED")
    eb.put_targets(Rule=name, EventBusName=name, Targets=[{"Id": "q", "Arn": arn}])
    try:
        for e in events:
            entry = {"Source": e["source"], "DetailType": e["detail-type"], "Detail": json.dumps(e["detail"]),
                     "Resources": e.get("resources", []), "EventBusName": name}
            assert eb.put_events(Entries=[entry])["FailedEntryCount"] == 0
        got = []
        while True:
            msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                break
            got += [json.loads(m["Body"])["detail"]["probe"] for m in msgs]
            for m in msgs:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return sorted(got)
    finally:
        eb.remove_targets(Rule=name, EventBusName=name, Ids=["q"])
        eb.delete_rule(Name=name, EventBusName=name)
        eb.delete_event_bus(Name=name)


def pipeline_event(probe: str, pipeline_name: str, state: str, detail_type: str = notification.DETAIL_TYPE) -> dict:
    detail = {"pipeline": pipeline_name, "version": "1", "state": state, "execution-id": "e-1", "probe": probe}
    return {"source": "aws.codepipeline", "detail-type": detail_type, "detail": detail,
            "resources": [f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:{pipeline_name}"]}


def test_notification_pattern_matches_only_configured_states_of_this_pipeline(moto_endpoint):
    c = config()
    t = notification.render_notification(c, LAMBDA_KEY)
    pattern = t["Resources"][notification.RULE]["Properties"]["EventPattern"]
    name = naming.pipeline_name(c)
    events = [
        pipeline_event("failed", name, "FAILED"),
        pipeline_event("succeeded", name, "SUCCEEDED"),
        pipeline_event("started", name, "STARTED"),
        pipeline_event("other-pipeline", "someone-else", "FAILED"),
        pipeline_event("stage-event", name, "FAILED", "CodePipeline Stage Execution State Change"),
    ]
    assert delivered(moto_endpoint, pattern, events) == ["failed", "succeeded"]


def test_codecommit_trigger_fires_on_its_branch_only(moto_endpoint):
    c = config(provider="codecommit", repository="stack-test", branch="main", connection_arn=None)
    t = pipeline.render_pipeline(c)
    pattern = resolve(t["Resources"]["SourceEventRule"]["Properties"]["EventPattern"])
    repo_arn = f"arn:aws:codecommit:{REGION}:{ACCOUNT}:stack-test"

    def push(probe: str, branch: str, repo: str = repo_arn, event: str = "referenceUpdated") -> dict:
        return {"source": "aws.codecommit", "detail-type": "CodeCommit Repository State Change", "resources": [repo],
                "detail": {"event": event, "referenceType": "branch", "referenceName": branch,
                           "repositoryName": repo.rsplit(":", 1)[1], "probe": probe}}

    events = [push("main", "main"), push("new-main", "main", event="referenceCreated"), push("feature", "feature"),
              push("other-repo", "main", repo=repo_arn.replace("stack-test", "other"))]
    assert delivered(moto_endpoint, pattern, events) == ["main", "new-main"]


def test_s3_trigger_fires_on_its_object_only(moto_endpoint):
    c = config(provider="s3", repository="src-bucket/app/source.zip", connection_arn=None)
    t = pipeline.render_pipeline(c)
    pattern = resolve(t["Resources"]["SourceEventRule"]["Properties"]["EventPattern"])

    def created(probe: str, bucket: str, key: str) -> dict:
        return {"source": "aws.s3", "detail-type": "Object Created",
                "detail": {"bucket": {"name": bucket}, "object": {"key": key}, "probe": probe}}

    events = [created("ours", "src-bucket", "app/source.zip"), created("other-key", "src-bucket", "app/other.zip"),
              created("other-bucket", "elsewhere", "app/source.zip")]
    assert delivered(moto_endpoint, pattern, events) == ["ours"]
