"""The AWS CDK (Python) app the benchmark compares shipspec with: one stack per (service,
environment) pair of the synthetic fleet, holding what shipspec generates for that pair in its two
templates (codepipeline.yml and codepipeline-status-notification.yml): an artifact bucket, the
image repository, the build, update-service and deploy CodeBuild projects with their roles and log
groups, the pipeline (Source -> Build -> UpdateService -> [Approval ->] Deploy, V2, trigger paths)
and the notification (EventBridge rule -> Lambda -> SNS topic with e-mail subscriptions).

Never imported by the benchmark: `benchmarks/cdk.py` copies it into a scratch directory beside
`stacks.json` (the pairs' parameters) and runs it with the Python of CDK's own virtual environment,
`python app.py OUTDIR`, as a user's `cdk synth` runs the app.
"""

import json
import sys
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions

NOTIFY = """\
import json, os
import boto3

def handler(event, context):
    detail = event.get("detail", {})
    boto3.client("sns").publish(TopicArn=os.environ["TOPIC_ARN"],
                                Subject=f"{detail.get('pipeline')}: {detail.get('state')}",
                                Message=json.dumps(detail, indent=2))
"""

COMPUTE = {"BUILD_GENERAL1_SMALL": codebuild.ComputeType.SMALL,
           "BUILD_GENERAL1_MEDIUM": codebuild.ComputeType.MEDIUM,
           "BUILD_GENERAL1_LARGE": codebuild.ComputeType.LARGE}


def source_action(stack, src, output, name):
    p = src["provider"]
    if p == "codestar":
        owner, repo = src["repository"].split("/", 1)
        return actions.CodeStarConnectionsSourceAction(
            action_name=name, connection_arn=src["connection_arn"], owner=owner, repo=repo,
            branch=src["branch"], output=output, trigger_on_push=False,
            variables_namespace=f"{name}Variables")
    if p == "github-token":
        owner, repo = src["repository"].split("/", 1)
        return actions.GitHubSourceAction(
            action_name=name, owner=owner, repo=repo, branch=src["branch"], output=output,
            oauth_token=cdk.SecretValue.secrets_manager(src["token_secret"]),
            trigger=actions.GitHubTrigger.WEBHOOK)
    if p == "codecommit":
        repository = codecommit.Repository.from_repository_name(stack, f"{name}Repository", src["repository"])
        return actions.CodeCommitSourceAction(action_name=name, repository=repository, branch=src["branch"],
                                              output=output)
    bucket, key = src["repository"].split("/", 1)
    return actions.S3SourceAction(action_name=name, output=output, bucket_key=key,
                                  bucket=s3.Bucket.from_bucket_name(stack, f"{name}Bucket", bucket))


def project(stack, name, pair, buildspec, privileged, variables):
    group = logs.LogGroup(stack, f"{name}LogGroup", retention=logs.RetentionDays.ONE_MONTH,
                          log_group_name=f"/aws/codebuild/{pair['pipeline']}-{name.lower()}",
                          removal_policy=cdk.RemovalPolicy.DESTROY)
    return codebuild.PipelineProject(
        stack, f"{name}Project", project_name=f"{pair['pipeline']}-{name.lower()}",
        description=f"{name} step of {pair['service']} ({pair['env']})",
        build_spec=codebuild.BuildSpec.from_object(buildspec),
        environment=codebuild.BuildEnvironment(build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                                               compute_type=COMPUTE[pair["compute_type"]], privileged=privileged),
        environment_variables={k: codebuild.BuildEnvironmentVariable(value=v) for k, v in variables.items()},
        logging=codebuild.LoggingOptions(cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=group)),
        timeout=cdk.Duration.minutes(60))


def pipeline_stack(app, pair):
    stack = cdk.Stack(app, pair["pipeline"], stack_name=f"{pair['pipeline']}-pipeline",
                      env=cdk.Environment(account=pair["account"], region=pair["region"]),
                      tags={"shipspec:service": pair["service"], **pair["tags"]})
    bucket = s3.Bucket(stack, "ArtifactBucket", encryption=s3.BucketEncryption.S3_MANAGED, enforce_ssl=True,
                       block_public_access=s3.BlockPublicAccess.BLOCK_ALL, versioned=True)
    repository = ecr.Repository(stack, "Repository", repository_name=pair["ecr_repository"], image_scan_on_push=True,
                                lifecycle_rules=[ecr.LifecycleRule(max_image_count=pair["keep_images"])])
    phases = {"build": {"commands": ["docker build -t $REPOSITORY_URI:$TAG .", "docker push $REPOSITORY_URI:$TAG"]}}
    build = project(stack, "Build", pair, {"version": "0.2", "phases": phases}, True,
                    {"REPOSITORY_URI": repository.repository_uri, **pair["build_args"]})
    repository.grant_pull_push(build)
    update = project(stack, "Update", pair, {"version": "0.2", "phases": {"build": {"commands": [
        "aws ecs describe-task-definition", "aws ecs register-task-definition"]}}}, False, pair["environment"])
    deploy = project(stack, "Deploy", pair, {"version": "0.2", "phases": {"build": {"commands": [
        "aws ecs update-service", "aws ecs wait services-stable"]}}}, False, {"CLUSTER": pair["cluster"]})
    cluster = f"arn:aws:ecs:{pair['region']}:{pair['account']}"
    for step, verbs in ((update, ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition", "ecs:DescribeServices"]),
                        (deploy, ["ecs:UpdateService", "ecs:DescribeServices", "ecs:DescribeTaskSets"])):
        step.add_to_role_policy(iam.PolicyStatement(actions=verbs, resources=[
            f"{cluster}:service/{pair['cluster']}/{pair['service']}", f"{cluster}:task-definition/{pair['service']}:*"]))
        step.add_to_role_policy(iam.PolicyStatement(actions=["iam:PassRole"], resources=[
            f"arn:aws:iam::{pair['account']}:role/{pair['service']}-*"],
            conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}))
    if pair["secrets"]:
        update.add_to_role_policy(iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"],
                                                      resources=list(pair["secrets"].values())))

    source_out = codepipeline.Artifact("source")
    main = source_action(stack, pair["source"], source_out, "Source")
    extra = [(codepipeline.Artifact(s["name"]), s) for s in pair["additional"]]
    sources = [main, *(source_action(stack, s, out, s["name"]) for out, s in extra)]
    built, updated = codepipeline.Artifact("build"), codepipeline.Artifact("update")
    stages = [codepipeline.StageProps(stage_name="Source", actions=sources),
              codepipeline.StageProps(stage_name="Build", actions=[actions.CodeBuildAction(
                  action_name="Build", project=build, input=source_out, extra_inputs=[o for o, _ in extra],
                  outputs=[built], environment_variables={
                      "BRANCH": codebuild.BuildEnvironmentVariable(value="#{SourceVariables.BranchName}")}
                  if pair["source"]["provider"] == "codestar" else None)]),
              codepipeline.StageProps(stage_name="UpdateService", actions=[actions.CodeBuildAction(
                  action_name="UpdateService", project=update, input=built, outputs=[updated])])]
    if pair["approval"]:
        stages.append(codepipeline.StageProps(stage_name="Approval", actions=[
            actions.ManualApprovalAction(action_name="Approve")]))
    stages.append(codepipeline.StageProps(stage_name="Deploy", actions=[actions.CodeBuildAction(
        action_name="Deploy", project=deploy, input=updated)]))
    triggers = None
    if pair["trigger_paths"]:
        triggers = [codepipeline.TriggerProps(
            provider_type=codepipeline.ProviderType.CODE_STAR_SOURCE_CONNECTION,
            git_configuration=codepipeline.GitConfiguration(source_action=main, push_filter=[
                codepipeline.GitPushFilter(branches_includes=[pair["source"]["branch"]],
                                           file_paths_includes=pair["trigger_paths"])]))]
    pipeline = codepipeline.Pipeline(stack, "Pipeline", pipeline_name=pair["pipeline"], artifact_bucket=bucket,
                                     pipeline_type=codepipeline.PipelineType.V2,
                                     execution_mode=codepipeline.ExecutionMode.SUPERSEDED,
                                     stages=stages, triggers=triggers)

    topic = sns.Topic(stack, "NotifyTopic", display_name=f"{pair['pipeline']} pipeline", enforce_ssl=True)
    for email in pair["emails"]:
        topic.add_subscription(subscriptions.EmailSubscription(email))
    notify_logs = logs.LogGroup(stack, "NotifyLogGroup", retention=logs.RetentionDays.ONE_MONTH,
                                removal_policy=cdk.RemovalPolicy.DESTROY)
    function = lambda_.Function(stack, "NotifyFunction", runtime=lambda_.Runtime.PYTHON_3_12, handler="index.handler",
                                code=lambda_.Code.from_inline(NOTIFY), log_group=notify_logs,
                                timeout=cdk.Duration.seconds(30), environment={"TOPIC_ARN": topic.topic_arn})
    topic.grant_publish(function)
    if pair["slack_secret"]:
        function.add_to_role_policy(iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[
            f"arn:aws:secretsmanager:{pair['region']}:{pair['account']}:secret:{pair['slack_secret']}-*"]))
    pipeline.on_state_change("PipelineStateRule", target=targets.LambdaFunction(function),
                             event_pattern=events.EventPattern(detail={"state": pair["events"]}))
    cdk.CfnOutput(stack, "PipelineName", value=pipeline.pipeline_name)
    cdk.CfnOutput(stack, "RepositoryUri", value=repository.repository_uri)
    cdk.CfnOutput(stack, "TopicArn", value=topic.topic_arn)
    return stack


def main():
    app = cdk.App(outdir=sys.argv[1] if len(sys.argv) > 1 else "cdk.out")
    for pair in json.loads(Path(__file__).with_name("stacks.json").read_text(encoding="utf-8")):
        pipeline_stack(app, pair)
    app.synth()


if __name__ == "__main__":
    main()
