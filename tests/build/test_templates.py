"""The three CloudFormation templates: structure that matters, least privilege, tags, cfn-lint clean."""

from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from compiler.spec import naming
from compiler.spec.models import ServiceConfig
from compiler.core.codepipeline import SOURCE_NAMESPACE
from compiler.build.render import (
    bootstrap,
    cfn,
    codebuild,
    follow_script,
    notification,
    pipeline,
    service_files,
    stages,
)
from compiler.build.render.iam import actions_of
from compiler.lint.triggers import count_triggers
from compiler.spec.project import load_project
from support.cli import REPO

LAMBDA_KEY = "lambda/notify-0123456789abcdef.zip"
# Actions AWS authorises only against Resource "*" (or, for ListTasks, "*" narrowed by a condition).
STAR_RESOURCE_ACTIONS = {"ecr:GetAuthorizationToken", "ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition",
                         "ecs:ListTasks"}


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def examples() -> list[ServiceConfig]:
    return [s.config for s in load_project(REPO).services]


@pytest.fixture(scope="module")
def lint_clean():
    """cfn-lint with informational checks, one runner per region, reused across templates."""
    from cfnlint.api import ManualArgs
    from cfnlint.config import ConfigMixIn
    from cfnlint.decode.decode import decode_str
    from cfnlint.runner import Runner

    runners: dict[str, Any] = {}

    def check(template: dict, region: str) -> None:
        if region not in runners:
            runners[region] = Runner(ConfigMixIn(**ManualArgs(regions=[region], include_checks=["I"])))
        decoded, errors = decode_str(cfn.dump_yaml(template))
        assert not errors, errors
        matches = [str(m) for m in runners[region].validate_template(decoded)]
        assert matches == [], f"{template['Description']}:\n" + "\n".join(matches)

    return check


def base_spec(**overrides: Any) -> dict:
    spec: dict = {
        "name": "orders-api",
        "tags": {"team": "orders", "cost-center": "42"},
        "source": {"provider": "codestar", "repository": "acme/orders-api",
                   "connection_arn": "arn:aws:codeconnections:eu-west-1:333333333333:connection/abc-123"},
        "build": {"ecr_repository": "shop/orders-api"},
        "service": {"cluster": "shop", "name": "orders", "container": "api"},
        "environment": {"name": "dev", "account": "333333333333", "region": "eu-west-1"},
    }
    for key, value in overrides.items():
        spec[key] = {**spec.get(key, {}), **value} if isinstance(value, dict) and key != "tags" else value
    return spec


def variant(**overrides: Any) -> ServiceConfig:
    return ServiceConfig.model_validate(base_spec(**overrides))


VARIANTS = {
    "codestar-inline": {},
    "codestar-paths-approval": {"source": {"trigger_paths": ["src/**"]}, "deploy": {"approval": True}},
    "github-token-repo-spec": {"source": {"provider": "github-token", "connection_arn": None,
                                          "token_secret": {"id": "ci/github", "key": "oauth"}},
                               "build": {"ecr_repository": "shop/orders-api", "buildspec": "repo"}},
    "codecommit-unmanaged-repo": {"source": {"provider": "codecommit", "repository": "orders-api", "connection_arn": None},
                                  "build": {"ecr_repository": "shop/orders-api", "manage_repository": False}},
    "s3-with-additional": {"source": {"provider": "s3", "repository": "acme-src/orders/source.zip", "connection_arn": None,
                                      "additional": [{"name": "config", "provider": "codecommit", "repository": "orders-config"}]},
                           "notifications": {"topic_arn": "arn:aws:sns:eu-west-1:333333333333:ops",
                                             "slack_webhook_secret": "chat/slack-hook", "emails": ["a@example.com"]}},
    "codestar-three-additional": {
        "source": {"additional": [
            {"name": "config", "repository": "acme/config"},
            {"name": "assets", "provider": "s3", "repository": "acme-assets/site.zip"},
            {"name": "legacy", "provider": "github-token", "repository": "acme/legacy",
             "token_secret": {"id": "arn:aws:secretsmanager:eu-west-1:333333333333:secret:gh-AbCdEf"}}]},
        "notifications": {"events": ["STARTED", "FAILED", "STARTED"], "emails": ["x@example.com", "y@example.com"],
                          "slack_webhook_secret": "arn:aws:secretsmanager:eu-west-1:333333333333:secret:slack-XyZ123"}},
}


def all_configs(examples: list[ServiceConfig]) -> Iterator[ServiceConfig]:
    yield from examples
    for overrides in VARIANTS.values():
        yield variant(**overrides)


# --- helpers ------------------------------------------------------------------------------------

def resources_of(t: dict, kind: str) -> dict[str, dict]:
    return {rid: r for rid, r in t["Resources"].items() if r["Type"] == kind}


def stages_of(t: dict) -> list[dict]:
    (p,) = resources_of(t, "AWS::CodePipeline::Pipeline").values()
    return p["Properties"]["Stages"]


def stage(t: dict, name: str) -> dict:
    return next(s for s in stages_of(t) if s["Name"] == name)


def trusted_principal(t: dict, role_ref: Any) -> str:
    """The service principal trusted by the role a GetAtt <Role>.Arn points at."""
    role_id = role_ref["Fn::GetAtt"][0]
    doc = t["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]
    (st,) = doc["Statement"]
    assert st["Action"] == "sts:AssumeRole"
    return st["Principal"]["Service"]


def walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from walk(v)


def imports_of(t: dict) -> set[str]:
    return {v["Fn::ImportValue"] for v in walk(t) if isinstance(v, dict) and "Fn::ImportValue" in v}


# --- pipeline -----------------------------------------------------------------------------------

def test_stage_names_and_order(examples):
    for c in all_configs(examples):
        custom = {s.name for s in c.stages}  # custom stages are tested in test_stages.py
        names = [s["Name"] for s in stages_of(pipeline.render_pipeline(c)) if s["Name"] not in custom]
        # Approval precedes UpdateService, which already points the service at the new revision.
        expected = ["Source", "Build"] + (["Approval"] if c.deploy.approval else []) + ["UpdateService", "Deploy"]
        assert names == expected, (c.name, c.environment.name)
    prod = {c.name: c for c in examples if c.environment.name == "prod"}
    assert all(c.deploy.approval for c in prod.values())  # the examples exercise both branches


def test_pipeline_is_v2_with_execution_mode_and_imported_artifact_store(examples):
    for c in all_configs(examples):
        (p,) = resources_of(pipeline.render_pipeline(c), "AWS::CodePipeline::Pipeline").values()
        props = p["Properties"]
        assert props["Name"] == naming.pipeline_name(c)
        assert props["PipelineType"] == "V2"
        assert props["ExecutionMode"] in ("QUEUED", "SUPERSEDED")
        store = props["ArtifactStore"]
        assert store["Type"] == "S3"
        assert store["Location"] == {"Fn::ImportValue": naming.bootstrap_export("ArtifactBucket")}
        assert store["EncryptionKey"] == {"Type": "KMS", "Id": {"Fn::ImportValue": naming.bootstrap_export("ArtifactKeyArn")}}


def test_variables_flow_from_build_to_update(examples):
    for c in all_configs(examples):
        t = pipeline.render_pipeline(c)
        (primary, *additional) = stage(t, "Source")["Actions"]
        assert primary["Namespace"] == SOURCE_NAMESPACE
        assert primary["OutputArtifacts"] == [{"Name": "source"}]
        assert [a["Name"] for a in additional] == [a.name for a in c.source.additional]
        assert [a["OutputArtifacts"] for a in additional] == [[{"Name": a.name}] for a in c.source.additional]
        assert all("Namespace" not in a for a in additional)
        (build,) = stage(t, "Build")["Actions"]
        assert build["Namespace"] == "BuildVariables"
        assert build["InputArtifacts"][0] == {"Name": "source"}
        assert build["OutputArtifacts"] == [{"Name": "build"}]
        if c.source.additional:
            assert build["Configuration"]["PrimarySource"] == "source"
        (update,) = stage(t, "UpdateService")["Actions"]
        env = update["Configuration"]["EnvironmentVariables"]
        assert isinstance(env, str), "CodeBuild action EnvironmentVariables must be a JSON string"
        assert json.loads(env) == [{"name": "IMAGE_URI", "value": "#{BuildVariables.IMAGE_URI}", "type": "PLAINTEXT"}]
        assert update["InputArtifacts"] == [{"Name": "source"}]
        assert update["OutputArtifacts"] == [{"Name": "update"}]
        assert update["Namespace"] == "UpdateVariables"


def test_deploy_action_follows_the_rollout_update_service_started(examples):
    """Deploy is a CodeBuild action (the ECS deploy action would register a second revision and
    start a second rollout): it gets exactly what UpdateService exported."""
    for c in all_configs(examples):
        t = pipeline.render_pipeline(c)
        (deploy,) = stage(t, "Deploy")["Actions"]
        assert deploy["ActionTypeId"] == {"Category": "Build", "Owner": "AWS", "Provider": "CodeBuild", "Version": "1"}
        assert deploy["Configuration"]["ProjectName"] == {"Ref": codebuild.DEPLOY_PROJECT}
        assert json.loads(deploy["Configuration"]["EnvironmentVariables"]) == [
            {"name": v, "value": f"#{{UpdateVariables.{v}}}", "type": "PLAINTEXT"}
            for v in ("SERVICE_DEPLOYMENT_ARN", "DEPLOYMENT_ID", "TASK_DEFINITION_ARN")]
        assert "OutputArtifacts" not in deploy
        providers = [a["ActionTypeId"]["Provider"] for s in stages_of(t) for a in s["Actions"]]
        assert "ECS" not in providers
        project = t["Resources"][codebuild.DEPLOY_PROJECT]["Properties"]
        assert project["TimeoutInMinutes"] == c.deploy.timeout_minutes
        assert project["Environment"]["PrivilegedMode"] is False


def test_approval_action():
    t = pipeline.render_pipeline(variant(deploy={"approval": True}))
    (a,) = stage(t, "Approval")["Actions"]
    assert a["ActionTypeId"] == {"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"}


def test_codebuild_projects(examples):
    for c in all_configs(examples):
        t = pipeline.render_pipeline(c)
        build = t["Resources"][codebuild.BUILD_PROJECT]["Properties"]
        update = t["Resources"][codebuild.UPDATE_PROJECT]["Properties"]
        assert build["Environment"]["PrivilegedMode"] is True
        assert update["Environment"]["PrivilegedMode"] is False
        for p in (build, update):
            assert p["Environment"]["Type"] == "LINUX_CONTAINER"
            assert p["Environment"]["Image"] == c.build.image
            assert p["Environment"]["ComputeType"] == c.build.compute_type
            assert p["Source"]["Type"] == "CODEPIPELINE"
        assert build["TimeoutInMinutes"] == c.build.timeout_minutes
        if c.build.buildspec == "inline":
            assert build["Source"]["BuildSpec"] == service_files.build_buildspec(c)
            assert update["Source"]["BuildSpec"] == service_files.update_buildspec(c)
        else:
            assert build["Source"]["BuildSpec"] == "codepipeline/buildspec.yml"
            assert update["Source"]["BuildSpec"] == "codepipeline/updatespec.yml"
        env = {e["Name"]: e["Value"] for e in build["Environment"]["EnvironmentVariables"]}
        assert env == service_files.build_project_environment(c)
        deploy = t["Resources"][codebuild.DEPLOY_PROJECT]["Properties"]
        if c.build.buildspec == "inline":
            assert deploy["Source"]["BuildSpec"] == follow_script.deploy_buildspec(c)
        else:
            assert deploy["Source"]["BuildSpec"] == "codepipeline/deployspec.yml"
        stage_projects = {a["Configuration"]["ProjectName"]["Ref"] for s in stages_of(t) for a in s["Actions"]
                          if a["ActionTypeId"]["Provider"] == "CodeBuild"}
        custom = {p.project_id for p in stages.plans(c)}
        assert stage_projects == {codebuild.BUILD_PROJECT, codebuild.UPDATE_PROJECT, codebuild.DEPLOY_PROJECT} | custom


def test_inline_and_repo_buildspecs_differ_only_where_they_should():
    inline = pipeline.render_pipeline(variant())
    repo = pipeline.render_pipeline(variant(build={"ecr_repository": "shop/orders-api", "buildspec": "repo"}))
    assert "phases" in inline["Resources"]["BuildProject"]["Properties"]["Source"]["BuildSpec"]
    assert repo["Resources"]["BuildProject"]["Properties"]["Source"]["BuildSpec"] == "codepipeline/buildspec.yml"


def test_log_groups_have_retention_and_are_the_ones_used(examples):
    for c in all_configs(examples):
        for t in (pipeline.render_pipeline(c), notification.render_notification(c, LAMBDA_KEY)):
            groups = resources_of(t, "AWS::Logs::LogGroup")
            assert groups
            for g in groups.values():
                assert g["Properties"]["RetentionInDays"] > 0
                assert g["Properties"]["KmsKeyId"] == {"Fn::ImportValue": naming.bootstrap_export("ArtifactKeyArn")}
            for p in resources_of(t, "AWS::CodeBuild::Project").values():
                ref = p["Properties"]["LogsConfig"]["CloudWatchLogs"]["GroupName"]["Ref"]
                assert groups[ref]["Properties"]["LogGroupName"] == f"/aws/codebuild/{p['Properties']['Name']}"
            for f in resources_of(t, "AWS::Lambda::Function").values():
                ref = f["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
                assert groups[ref]["Properties"]["LogGroupName"] == f"/aws/lambda/{f['Properties']['FunctionName']}"


def test_ecr_repository_is_retained_with_lifecycle(examples):
    for c in all_configs(examples):
        t = pipeline.render_pipeline(c)
        repos = resources_of(t, "AWS::ECR::Repository")
        if not c.build.manage_repository:
            assert repos == {} and "RepositoryUri" not in t["Outputs"]
            continue
        (r,) = repos.values()
        assert r["DeletionPolicy"] == "Retain" and r["UpdateReplacePolicy"] == "Retain"
        props = r["Properties"]
        assert props["RepositoryName"] == c.build.ecr_repository
        assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert props["EncryptionConfiguration"]["EncryptionType"] in ("AES256", "KMS")
        policy = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])
        (rule,) = policy["rules"]
        assert rule["selection"]["countType"] == "imageCountMoreThan"
        assert rule["selection"]["countNumber"] == c.build.keep_images
        assert rule["action"] == {"type": "expire"}
        assert "RepositoryUri" in t["Outputs"]


def test_roles_trust_exactly_their_principal(examples):
    for c in all_configs(examples):
        t = pipeline.render_pipeline(c)
        (p,) = resources_of(t, "AWS::CodePipeline::Pipeline").values()
        assert trusted_principal(t, p["Properties"]["RoleArn"]) == "codepipeline.amazonaws.com"
        for proj in resources_of(t, "AWS::CodeBuild::Project").values():
            assert trusted_principal(t, proj["Properties"]["ServiceRole"]) == "codebuild.amazonaws.com"
        for rule in resources_of(t, "AWS::Events::Rule").values():
            for target in rule["Properties"]["Targets"]:
                assert trusted_principal(t, target["RoleArn"]) == "events.amazonaws.com"
        roles = resources_of(t, "AWS::IAM::Role")
        used = {p["Properties"]["RoleArn"]["Fn::GetAtt"][0]}
        used |= {x["Properties"]["ServiceRole"]["Fn::GetAtt"][0] for x in resources_of(t, "AWS::CodeBuild::Project").values()}
        used |= {tg["RoleArn"]["Fn::GetAtt"][0] for r in resources_of(t, "AWS::Events::Rule").values()
                 for tg in r["Properties"]["Targets"]}
        assert set(roles) == used, "one role per principal, none unused"
        n = notification.render_notification(c, LAMBDA_KEY)
        (fn,) = resources_of(n, "AWS::Lambda::Function").values()
        assert trusted_principal(n, fn["Properties"]["Role"]) == "lambda.amazonaws.com"
        for r in resources_of(pipeline.render_pipeline(c), "AWS::IAM::Role").values():
            assert "RoleName" not in r["Properties"]


def test_no_wildcard_actions_and_star_resources_only_where_aws_requires(examples):
    for c in all_configs(examples):
        for t in (pipeline.render_pipeline(c), notification.render_notification(c, LAMBDA_KEY)):
            for role, action, resource in actions_of(t):
                service, _, name = action.partition(":")
                assert name and "*" not in name and action != "*", (role, action)
                if resource == "*" or (isinstance(resource, list) and "*" in resource):
                    assert action in STAR_RESOURCE_ACTIONS, (role, action)


def test_iam_is_scoped_to_the_service_and_artifacts(examples):
    for c in all_configs(examples):
        t = pipeline.render_pipeline(c)
        by_action: dict[str, list] = {}
        for role, action, resource in actions_of(t):
            by_action.setdefault(action, []).append((role, resource))
        service_arn = f"service/{c.service.cluster}/{c.ecs_service_name}"
        for _role, res in by_action["ecs:UpdateService"]:
            assert res["Fn::Sub"].endswith(service_arn)
        for _role, res in by_action["s3:PutObject"]:
            assert res["Fn::Sub"][0] == "${BucketArn}/*"
            assert res["Fn::Sub"][1]["BucketArn"] == {"Fn::ImportValue": naming.bootstrap_export("ArtifactBucketArn")}
        custom_roles = {p.role_id for p in stages.plans(c)}  # their secrets' keys: see test_stages.py
        for role, res in by_action["kms:Decrypt"]:
            if role not in custom_roles:
                assert res == {"Fn::ImportValue": naming.bootstrap_export("ArtifactKeyArn")}
        (pipeline_role, projects), = by_action["codebuild:StartBuild"]
        assert pipeline_role == pipeline.PIPELINE_ROLE
        assert projects == [{"Fn::GetAtt": ["BuildProject", "Arn"]}, {"Fn::GetAtt": ["UpdateProject", "Arn"]},
                            {"Fn::GetAtt": ["DeployProject", "Arn"]}] + [
            {"Fn::GetAtt": [p.project_id, "Arn"]} for p in stages.plans(c)]
        # only UpdateService changes the service; the pipeline role has no ECS access at all
        assert {role for role, _res in by_action["ecs:UpdateService"]} == {codebuild.UPDATE_ROLE}
        assert not [a for role, a, _res in actions_of(t) if role == pipeline.PIPELINE_ROLE and a.startswith("ecs:")]
        ((_role, deployments),) = by_action["ecs:DescribeServiceDeployments"]
        assert deployments["Fn::Sub"].endswith(f":service-deployment/{c.service.cluster}/{c.ecs_service_name}/*")
        ((push_role, repo_arn),) = by_action["ecr:PutImage"]
        assert push_role == codebuild.BUILD_ROLE
        if c.build.manage_repository:
            assert repo_arn == {"Fn::GetAtt": ["Repository", "Arn"]}
        else:
            assert repo_arn["Fn::Sub"].endswith(f":repository/{c.build.ecr_repository}")
        for role, res in by_action["logs:PutLogEvents"]:
            group = {codebuild.BUILD_ROLE: codebuild.BUILD_LOGS, codebuild.UPDATE_ROLE: codebuild.UPDATE_LOGS,
                     codebuild.DEPLOY_ROLE: codebuild.DEPLOY_LOGS,
                     **{p.role_id: p.logs_id for p in stages.plans(c)}}[role]
            assert f"log-group:${{{group}}}:*" in res["Fn::Sub"]
        statements = [st for r in resources_of(t, "AWS::IAM::Role").values()
                      for pol in r["Properties"]["Policies"] for st in pol["PolicyDocument"]["Statement"]]
        for st in statements:
            if "iam:PassRole" in st["Action"]:
                assert st["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
        connections = {s.connection_arn or c.source.connection_arn
                       for s in [c.source, *c.source.additional] if s.provider == "codestar"}
        granted = {r for _role, res in by_action.get("codeconnections:UseConnection", []) for r in res}
        assert {a.replace(":codestar-connections:", ":codeconnections:") for a in connections} == granted
        legacy = {r for _role, res in by_action.get("codestar-connections:UseConnection", []) for r in res}
        assert {a.replace(":codeconnections:", ":codestar-connections:") for a in connections} == legacy


def test_github_token_is_a_dynamic_reference_never_a_parameter(examples):
    configs = [c for c in all_configs(examples)
               if "github-token" in {s.provider for s in [c.source, *c.source.additional]}]
    assert configs
    for c in configs:
        t = pipeline.render_pipeline(c)
        assert "Parameters" not in t
        for action in stage(t, "Source")["Actions"]:
            if action["ActionTypeId"]["Provider"] != "GitHub":
                continue
            src = next(s for s in [c.source, *c.source.additional]
                       if (s is c.source and action["Name"] == "Source") or getattr(s, "name", None) == action["Name"])
            secret = src.token_secret or c.source.token_secret
            assert action["Configuration"]["OAuthToken"] == \
                f"{{{{resolve:secretsmanager:{secret.id}:SecretString:{secret.key}}}}}"
        for hook in resources_of(t, "AWS::CodePipeline::Webhook").values():
            # the webhook's own generated secret (issue 16), never the OAuth token
            token = hook["Properties"]["AuthenticationConfiguration"]["SecretToken"]
            assert token == {"Fn::Sub": "{{resolve:secretsmanager:${SourceWebhookSecret}:SecretString:token}}"}


def test_each_webhook_has_its_own_generated_secret(examples):
    pairs = [(c, pipeline.render_pipeline(c)) for c in all_configs(examples) if c.source.provider == "github-token"]
    assert len({c.environment.name for c, _ in pairs}) >= 2  # stg and prod: two webhooks, two secrets
    for c, t in pairs:
        secret = t["Resources"]["SourceWebhookSecret"]
        assert secret["Type"] == "AWS::SecretsManager::Secret"
        props = secret["Properties"]
        assert props["GenerateSecretString"]["GenerateStringKey"] == "token"
        assert "SecretString" not in props  # generated by Secrets Manager, never written in the template
        # its name holds the stack's id: unique per stack, and a stack created again gets a new secret
        name, variables = props["Name"]["Fn::Sub"]
        assert name == f"shipspec/webhook/{c.name}-{c.environment.name}-${{StackId}}"
        assert variables["StackId"] == {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}
        token = c.source.token_secret.id
        assert token not in json.dumps(t["Resources"]["SourceWebhook"])


def test_no_template_has_parameters(examples):
    for c in all_configs(examples):
        assert "Parameters" not in pipeline.render_pipeline(c)
        assert "Parameters" not in notification.render_notification(c, LAMBDA_KEY)
    assert "Parameters" not in bootstrap.render_bootstrap("111111111111", "ap-northeast-1")


def test_every_taggable_resource_is_tagged(examples):
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    for c in all_configs(examples):
        want = {**c.tags, "shipspec:service": c.name, "shipspec:environment": c.environment.name}
        for t in (pipeline.render_pipeline(c), notification.render_notification(c, LAMBDA_KEY)):
            for rid, r in t["Resources"].items():
                schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(c.environment.region, r["Type"]).schema
                if "Tags" not in schema.get("properties", {}):
                    continue
                tags = {x["Key"]: x["Value"] for x in r["Properties"].get("Tags", [])}
                assert tags == want, (c.name, rid)


def test_templates_are_deterministic(examples):
    for c in all_configs(examples):
        again = ServiceConfig.model_validate(json.loads(c.model_dump_json()))
        shuffled = again.model_copy(update={"tags": dict(reversed(list(c.tags.items())))})
        for render in (pipeline.render_pipeline, lambda x: notification.render_notification(x, LAMBDA_KEY)):
            first = cfn.render_template(render(c), "header")
            assert cfn.render_template(render(again), "header") == first
            assert cfn.render_template(render(shuffled), "header") == first
    assert cfn.dump_yaml(bootstrap.render_bootstrap("1" * 12, "us-east-1")) == \
        cfn.dump_yaml(bootstrap.render_bootstrap("1" * 12, "us-east-1"))


def test_examples_have_exactly_one_trigger(examples):
    for c in all_configs(examples):
        assert len(count_triggers(pipeline.render_pipeline(c))) == 1, c.name


# --- notification -------------------------------------------------------------------------------

def test_notification_rule_lambda_topic(examples):
    for c in all_configs(examples):
        t = notification.render_notification(c, LAMBDA_KEY)
        rules = resources_of(t, "AWS::Events::Rule")
        rule_id, rule = notification.RULE, rules[notification.RULE]
        # the only other rule announces a waiting approval (tests/build/test_notification_rules.py)
        assert set(rules) - {rule_id} == ({"ApprovalWaitingRule"} if c.deploy.approval else set())
        pattern = rule["Properties"]["EventPattern"]
        assert pattern == {"source": ["aws.codepipeline"],
                           "detail-type": ["CodePipeline Pipeline Execution State Change"],
                           "detail": {"pipeline": [naming.pipeline_name(c)], "state": list(dict.fromkeys(c.notifications.events))}}
        (fn_id, fn), = resources_of(t, "AWS::Lambda::Function").items()
        assert rule["Properties"]["Targets"] == [{"Id": "notify", "Arn": {"Fn::GetAtt": [fn_id, "Arn"]}}]
        perm = resources_of(t, "AWS::Lambda::Permission")[notification.PERMISSION]
        assert perm["Properties"] == {"FunctionName": {"Ref": fn_id}, "Action": "lambda:InvokeFunction",
                                      "Principal": "events.amazonaws.com", "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}
        props = fn["Properties"]
        assert props["Runtime"] == "python3.12" and props["Handler"] == "handler.handler"
        assert props["Code"] == {"S3Bucket": {"Fn::ImportValue": naming.bootstrap_export("ArtifactBucket")},
                                 "S3Key": LAMBDA_KEY}
        assert 10 <= props["Timeout"] <= 60
        assert props["FunctionName"] == f"{c.name}-{c.environment.name}-notify"
        env = props["Environment"]["Variables"]
        topics = resources_of(t, "AWS::SNS::Topic")
        if c.notifications.topic_arn:
            assert topics == {} and env["TOPIC_ARN"] == c.notifications.topic_arn
            topic_ref: Any = c.notifications.topic_arn
        else:
            (topic_id, topic), = topics.items()
            assert topic["DeletionPolicy"] == "Retain" and topic["UpdateReplacePolicy"] == "Retain"
            assert topic["Properties"]["KmsMasterKeyId"]
            topic_ref = {"Ref": topic_id}
            assert env["TOPIC_ARN"] == topic_ref
        subs = resources_of(t, "AWS::SNS::Subscription").values()
        assert sorted(s["Properties"]["Endpoint"] for s in subs) == sorted(c.notifications.emails)
        assert all(s["Properties"]["Protocol"] == "email" and s["Properties"]["TopicArn"] == topic_ref for s in subs)
        granted = {(a, json.dumps(r, sort_keys=True)) for _role, a, r in actions_of(t)}
        assert ("sns:Publish", json.dumps(topic_ref, sort_keys=True)) in granted
        assert [a for a, _ in granted if a == "sns:Publish"] == ["sns:Publish"]
        secret = c.notifications.slack_webhook_secret
        reads = [r for a, r in granted if a == "secretsmanager:GetSecretValue"]
        if secret:
            assert env["SLACK_WEBHOOK_SECRET"] == secret
            (arn,) = reads
            assert secret in arn
        else:
            assert "SLACK_WEBHOOK_SECRET" not in env and reads == []


# --- bootstrap ----------------------------------------------------------------------------------

def test_bootstrap_bucket_and_key():
    t = bootstrap.render_bootstrap("111111111111", "ap-northeast-1")
    (key_id, key), = resources_of(t, "AWS::KMS::Key").items()
    (bucket_id, bucket), = resources_of(t, "AWS::S3::Bucket").items()
    for r in (key, bucket):
        assert r["DeletionPolicy"] == "Retain" and r["UpdateReplacePolicy"] == "Retain"
    assert key["Properties"]["EnableKeyRotation"] is True
    root, logs = key["Properties"]["KeyPolicy"]["Statement"]
    assert root["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    # CloudWatch Logs may use the key for this account's log groups only (the templates' log groups use it).
    assert logs["Principal"] == {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}
    assert logs["Condition"] == {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"}}}
    assert "*" not in "".join(logs["Action"])
    (alias,) = resources_of(t, "AWS::KMS::Alias").values()
    assert alias["Properties"] == {"AliasName": "alias/shipspec-artifacts", "TargetKeyId": {"Ref": key_id}}
    props = bucket["Properties"]
    assert "BucketName" not in props
    (enc,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert enc["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]}}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    rules = props["LifecycleConfiguration"]["Rules"]
    assert any(r.get("NoncurrentVersionExpiration") for r in rules)
    assert any(r.get("ExpirationInDays") for r in rules)
    (policy,) = resources_of(t, "AWS::S3::BucketPolicy").values()
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert policy["Properties"]["Bucket"] == {"Ref": bucket_id}


def test_every_import_is_a_bootstrap_export(examples):
    exported = {o["Export"]["Name"] for o in bootstrap.render_bootstrap("111111111111", "ap-northeast-1")["Outputs"].values()}
    assert exported == {naming.bootstrap_export(w) for w in ("ArtifactBucket", "ArtifactBucketArn", "ArtifactKeyArn")}
    used: set[str] = set()
    for c in all_configs(examples):
        used |= imports_of(pipeline.render_pipeline(c)) | imports_of(notification.render_notification(c, LAMBDA_KEY))
    assert used and used <= exported


# --- cfn-lint -----------------------------------------------------------------------------------

@pytest.mark.slow
def test_cfn_lint_clean(examples, lint_clean):
    targets = set()
    for c in all_configs(examples):
        region = c.environment.region
        lint_clean(pipeline.render_pipeline(c), region)
        lint_clean(notification.render_notification(c, LAMBDA_KEY), region)
        targets.add((c.environment.account, region))
    for account, region in sorted(targets):
        lint_clean(bootstrap.render_bootstrap(account, region), region)


def test_lint_fixture_catches_problems(lint_clean):
    """The lint fixture is not vacuous: a log group without policies is reported."""
    t = pipeline.render_pipeline(variant())
    del t["Resources"][codebuild.BUILD_LOGS]["DeletionPolicy"]
    with pytest.raises(AssertionError, match="I3011"):
        lint_clean(t, "eu-west-1")


@pytest.mark.slow
def test_shipspec_lint_rules_pass_on_every_variant(examples):
    """The project's own template rules (least privilege, triggers, ...) on configs the examples don't cover."""
    from compiler.lint.engine import Template, check_template

    def check(path: str, t: dict, region: str, files: dict[str, bytes]) -> None:
        diags, _ = check_template(Template(path, cfn.dump_yaml(t), region), files, None)
        assert [d.render() for d in diags] == []

    for c in all_configs(examples):
        d, region = naming.service_dir(c), c.environment.region
        beside = {f"{d}/buildspec.yml": service_files.build_buildspec(c).encode(),
                  f"{d}/updatespec.yml": service_files.update_buildspec(c).encode()}
        check(f"{d}/codepipeline.yml", pipeline.render_pipeline(c), region, beside)
        check(f"{d}/codepipeline-status-notification.yml", notification.render_notification(c, LAMBDA_KEY), region,
              beside)
    check(f"{naming.bootstrap_dir('1' * 12, 'us-east-1')}/bootstrap.yml",
          bootstrap.render_bootstrap("1" * 12, "us-east-1"), "us-east-1", {})


def test_spec_description_reaches_the_stack_descriptions():
    described = variant(description="Order intake API")
    assert "Order intake API" not in pipeline.render_pipeline(variant())["Description"]
    for t in (pipeline.render_pipeline(described), notification.render_notification(described, LAMBDA_KEY)):
        assert t["Description"].endswith("Order intake API")
    long = pipeline.render_pipeline(variant(description="x" * 1024))["Description"]
    assert len(long) <= 1024 and long.endswith("...")


def test_the_build_action_passes_the_source_revision(examples):
    # CODEBUILD_RESOLVED_SOURCE_VERSION may be unset under CodePipeline (AWS): the Build action passes the
    # source's revision itself, which the build buildspec falls back to.
    seen = set()
    for c in all_configs(examples):
        (build,) = stage(pipeline.render_pipeline(c), "Build")["Actions"]
        variables = json.loads(build["Configuration"]["EnvironmentVariables"])
        expected = ({"name": "SOURCE_VERSION_ID", "value": "#{SourceVariables.VersionId}", "type": "PLAINTEXT"}
                    if c.source.provider == "s3" else
                    {"name": "SOURCE_COMMIT_ID", "value": "#{SourceVariables.CommitId}", "type": "PLAINTEXT"})
        assert variables == [expected]
        seen.add(c.source.provider)
        assert '${CODEBUILD_RESOLVED_SOURCE_VERSION:-${SOURCE_COMMIT_ID:-${SOURCE_VERSION_ID:-}}}' in \
            service_files.build_buildspec(c)
    assert {"codestar", "github-token"} <= seen
