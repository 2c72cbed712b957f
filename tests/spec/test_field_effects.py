"""Every spec field changes the output, and where: one mutation per field, from the
news-web/prod baseline. A new field without an entry here fails `test_every_field_has_an_effect_test`.
A field that changes what validation accepts rather than the output (`allow_cross_account`) has its
effect shown on validation instead (`VALIDATION_EFFECTS`)."""

from __future__ import annotations

import typing

import pytest
import yaml
from pydantic import BaseModel

from compiler.build.compile import render_service
from compiler.core.diagnostics import SpecError
from compiler.spec.models import CrossAccountArn, ServiceConfig
from compiler.spec.project import load_project

ARN = "arn:aws:codeconnections:ap-northeast-1:222222222222:connection/99999999-0000-0000-0000-000000000000"
SM = "arn:aws:secretsmanager:ap-northeast-1:222222222222:secret:news/other-QwErTy"
GH = {"provider": "github-token", "connection_arn": None, "trigger_paths": None, "additional": [],
      "token_secret": {"id": "cicd/github-token", "key": "token"}}

STACKS = "@stacks"  # the stack list (account, region, names) rather than a file
PROBE = "arn:aws:sns:ap-northeast-1:222222222222:probe"


def _stage(stage: dict | None = None, **action) -> dict:
    """A `stages` patch: one stage (after Build unless `stage` says otherwise) with one action."""
    return {"stages": [{"name": "Check", "after": "Build", **(stage or {}),
                        "actions": [{"name": "Run", "commands": ["make check"], **action}]}]}


def _statement(**fields) -> dict:
    return _stage(policy_statements=[{"Effect": "Allow", "Action": "sns:Publish", "Resource": PROBE, **fields}])


ELB = "arn:aws:elasticloadbalancing:ap-northeast-1:222222222222"
LB = {"target_group_arn": f"{ELB}:targetgroup/news-blue/0123456789abcdef",
      "alternate_target_group_arn": f"{ELB}:targetgroup/news-green/fedcba9876543210",
      "production_listener_rule_arn": f"{ELB}:listener-rule/app/news/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee",
      "infrastructure_role_arn": "arn:aws:iam::222222222222:role/ecs-infrastructure",
      "container_port": 8080}
HOOK = {"lambda_arn": "arn:aws:lambda:ap-northeast-1:222222222222:function:news-smoke",
        "role_arn": "arn:aws:iam::222222222222:role/ecs-hooks", "stages": ["POST_TEST_TRAFFIC_SHIFT"]}


def _shifting(strategy: str = "blue_green", lb: dict | None = None, **deploy) -> dict:
    """A traffic-shifting strategy with the load balancer it needs."""
    return {"service": {"load_balancer": {**LB, **(lb or {})}},
            "deploy": {"strategy": strategy, "timeout_minutes": 120, **deploy}}


# field path -> (patch merged into the baseline, file that must change, text that must appear in it)
EFFECTS: dict[str, tuple[dict, str, str]] = {
    "name": ({"name": "news-mobile"}, "codepipeline.yml", "news-mobile-prod"),
    "description": ({"description": "Front end of the news portal v2"}, "codepipeline.yml", "news portal v2"),
    "tags": ({"tags": {"cost-center": "cc-42"}}, "codepipeline.yml", "cc-42"),
    "source.provider": ({"source": {"provider": "codecommit", "repository": "news-web", "connection_arn": None,
                                    "trigger_paths": None, "additional": []}}, "codepipeline.yml", "CodeCommit"),
    "source.repository": ({"source": {"repository": "example-corp/news-portal"}}, "codepipeline.yml", "example-corp/news-portal"),
    "source.branch": ({"source": {"branch": "release"}}, "codepipeline.yml", "release"),
    "source.connection_arn": ({"source": {"connection_arn": ARN}}, "codepipeline.yml", "99999999-0000"),
    "source.token_secret.id": ({"source": {**GH, "token_secret": {"id": "cicd/other", "key": "token"}}},
                               "codepipeline.yml", "resolve:secretsmanager:cicd/other:"),
    "source.token_secret.key": ({"source": {**GH, "token_secret": {"id": "cicd/github-token", "key": "pat"}}},
                                "codepipeline.yml", "SecretString:pat}}"),
    "source.trigger_paths": ({"source": {"trigger_paths": ["src/**"]}}, "codepipeline.yml", "src/**"),
    "source.additional": ({"source": {"additional": []}}, "codepipeline.yml", "example-corp/news-config"),
    "source.additional.name": ({"source": {"additional": [{"name": "settings", "repository": "example-corp/news-config"}]}},
                               "codepipeline.yml", "settings"),
    "source.additional.provider": ({"source": {"additional": [{"name": "config", "provider": "codecommit",
                                                               "repository": "news-config"}]}}, "codepipeline.yml", "CodeCommit"),
    "source.additional.repository": ({"source": {"additional": [{"name": "config", "repository": "example-corp/cfg"}]}},
                                     "codepipeline.yml", "example-corp/cfg"),
    "source.additional.branch": ({"source": {"additional": [{"name": "config", "repository": "example-corp/news-config",
                                                             "branch": "stable"}]}}, "codepipeline.yml", "BranchName: stable"),
    "source.additional.connection_arn": ({"source": {"additional": [{"name": "config", "repository": "example-corp/c",
                                                                     "connection_arn": ARN}]}}, "codepipeline.yml", "99999999-0000"),
    "source.additional.token_secret.id": ({"source": {**GH, "additional": [{"name": "config", "provider": "github-token",
                                                                             "repository": "example-corp/c",
                                                                             "token_secret": {"id": "cicd/cfg-token"}}]}},
                                          "codepipeline.yml", "cicd/cfg-token"),
    "source.additional.token_secret.key": ({"source": {**GH, "additional": [{"name": "config", "provider": "github-token",
                                                                              "repository": "example-corp/c",
                                                                              "token_secret": {"id": "cicd/github-token",
                                                                                               "key": "cfgkey"}}]}},
                                           "codepipeline.yml", "SecretString:cfgkey}}"),
    "build.ecr_repository": ({"build": {"ecr_repository": "media/news-portal"}}, "codepipeline.yml", "media/news-portal"),
    "build.manage_repository": ({"build": {"manage_repository": False}}, "codepipeline.yml", "AWS::ECR::Repository"),
    "build.keep_images": ({"build": {"keep_images": 7}}, "codepipeline.yml", '"countNumber":7'),
    "build.dockerfile": ({"build": {"dockerfile": "docker/Prod.Dockerfile"}}, "buildspec.yml", "docker/Prod.Dockerfile"),
    "build.context": ({"build": {"context": "app"}}, "buildspec.yml", "app"),
    "build.build_args": ({"build": {"build_args": {"NODE_VERSION": "22"}}}, "buildspec.yml", "NODE_VERSION=22"),
    "build.secrets": ({"build": {"secrets": {"NPM_TOKEN": SM}}}, "buildspec.yml", "--secret id=NPM_TOKEN,env=NPM_TOKEN"),
    "build.compute_type": ({"build": {"compute_type": "BUILD_GENERAL1_LARGE"}}, "codepipeline.yml", "BUILD_GENERAL1_LARGE"),
    "build.image": ({"build": {"image": "aws/codebuild/standard:8.0"}}, "codepipeline.yml", "aws/codebuild/standard:8.0"),
    "build.timeout_minutes": ({"build": {"timeout_minutes": 77}}, "codepipeline.yml", "TimeoutInMinutes: 77"),
    "build.buildspec": ({"build": {"buildspec": "repo"}}, "codepipeline.yml", "codepipeline/buildspec.yml"),
    "service.cluster": ({"service": {"cluster": "media-blue"}}, "update_taskdefinition.sh", "media-blue"),
    "service.name": ({"service": {"name": "news-web-v2"}}, "codepipeline.yml", "news-web-v2"),
    "service.container": ({"service": {"container": "frontend"}}, "update_taskdefinition.sh", "frontend"),
    "service.launch_type": ({"service": {"launch_type": "EC2"}}, "ecs-agent.config", "ECS_IMAGE_CLEANUP_INTERVAL"),
    "service.ec2_agent_config.task_cleanup_wait": (
        {"service": {"launch_type": "EC2", "ec2_agent_config": {"task_cleanup_wait": "45m"}}},
        "ecs-agent.config", "ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION=45m"),
    "service.ec2_agent_config.image_cleanup_interval": (
        {"service": {"launch_type": "EC2", "ec2_agent_config": {"image_cleanup_interval": "2h"}}},
        "ecs-agent.config", "ECS_IMAGE_CLEANUP_INTERVAL=2h"),
    "service.ec2_agent_config.image_minimum_cleanup_age": (
        {"service": {"launch_type": "EC2", "ec2_agent_config": {"image_minimum_cleanup_age": "3h"}}},
        "ecs-agent.config", "ECS_IMAGE_MINIMUM_CLEANUP_AGE=3h"),
    "service.ec2_agent_config.num_images_delete_per_cycle": (
        {"service": {"launch_type": "EC2", "ec2_agent_config": {"num_images_delete_per_cycle": 9}}},
        "ecs-agent.config", "ECS_NUM_IMAGES_DELETE_PER_CYCLE=9"),
    "service.ec2_agent_config.disable_image_cleanup": (
        {"service": {"launch_type": "EC2", "ec2_agent_config": {"disable_image_cleanup": True}}},
        "ecs-agent.config", "ECS_DISABLE_IMAGE_CLEANUP=true"),
    "service.ec2_agent_config.instance_tag_key": (
        {"service": {"launch_type": "EC2", "ec2_agent_config": {"instance_tag_key": "ecs-pool"}}},
        "codepipeline.yml", "tag:ecs-pool"),
    "service.ec2_agent_config.instance_tag_value": (
        {"service": {"launch_type": "EC2", "ec2_agent_config": {"instance_tag_value": "media-pool-b"}}},
        "codepipeline.yml", "media-pool-b"),
    "build.max_image_mb": ({"build": {"max_image_mb": 333}}, "buildspec.yml", "(333 MB)"),
    "service.environment": ({"service": {"environment": {"FEATURE_FLAGS": "beta"}}}, "update_taskdefinition.sh", "FEATURE_FLAGS"),
    "service.secrets": ({"service": {"secrets": {"DB_PASSWORD": SM}}}, "update_taskdefinition.sh", "news/other-QwErTy"),
    "service.cpu": ({"service": {"cpu": 4096}}, "update_taskdefinition.sh", "4096"),
    "service.memory": ({"service": {"memory": 8192}}, "update_taskdefinition.sh", "8192"),
    "deploy.approval": ({"deploy": {"approval": False}}, "codepipeline.yml", "Provider: Manual"),
    "deploy.timeout_minutes": ({"deploy": {"timeout_minutes": 55}}, "codepipeline.yml", "TimeoutInMinutes: 55"),
    "deploy.strategy": (_shifting(), "update_taskdefinition.sh", '"strategy":"BLUE_GREEN"'),
    "deploy.bake_minutes": (_shifting(bake_minutes=17), "update_taskdefinition.sh", '"bakeTimeInMinutes":17'),
    "deploy.rolling.min_healthy_percent": ({"deploy": {"rolling": {"min_healthy_percent": 50}}},
                                           "update_taskdefinition.sh", '"minimumHealthyPercent":50'),
    "deploy.rolling.max_percent": ({"deploy": {"rolling": {"max_percent": 150}}}, "update_taskdefinition.sh",
                                   '"maximumPercent":150'),
    "deploy.linear.step_percent": (_shifting("linear", linear={"step_percent": 12.5}), "update_taskdefinition.sh",
                                   '"stepPercent":12.5'),
    "deploy.linear.step_bake_minutes": (_shifting("linear", linear={"step_bake_minutes": 4}),
                                        "update_taskdefinition.sh", '"stepBakeTimeInMinutes":4'),
    "deploy.canary.percent": (_shifting("canary", canary={"percent": 7.5}), "update_taskdefinition.sh",
                              '"canaryPercent":7.5'),
    "deploy.canary.bake_minutes": (_shifting("canary", canary={"bake_minutes": 21}), "update_taskdefinition.sh",
                                   '"canaryBakeTimeInMinutes":21'),
    "deploy.alarms": ({"deploy": {"alarms": ["news-web-5xx"]}}, "update_taskdefinition.sh",
                      '"alarmNames":["news-web-5xx"]'),
    "deploy.hooks": (_shifting(hooks=[HOOK]), "codepipeline.yml", "role/ecs-hooks"),
    "deploy.hooks.lambda_arn": (_shifting(hooks=[{**HOOK, "lambda_arn": HOOK["lambda_arn"] + "-v2"}]),
                                "update_taskdefinition.sh", "function:news-smoke-v2"),
    "deploy.hooks.role_arn": (_shifting(hooks=[{**HOOK, "role_arn": "arn:aws:iam::222222222222:role/hooks-b"}]),
                              "codepipeline.yml", "role/hooks-b"),
    "deploy.hooks.stages": (_shifting(hooks=[{**HOOK, "stages": ["PRE_SCALE_UP"]}]), "update_taskdefinition.sh",
                            '"lifecycleStages":["PRE_SCALE_UP"]'),
    "service.load_balancer.target_group_arn": (_shifting(lb={"target_group_arn": f"{ELB}:targetgroup/t-9/99"}),
                                               "update_taskdefinition.sh", "targetgroup/t-9/99"),
    "service.load_balancer.alternate_target_group_arn": (
        _shifting(lb={"alternate_target_group_arn": f"{ELB}:targetgroup/a-9/99"}), "update_taskdefinition.sh",
        "targetgroup/a-9/99"),
    "service.load_balancer.production_listener_rule_arn": (
        _shifting(lb={"production_listener_rule_arn": f"{ELB}:listener/app/news/1/2"}), "update_taskdefinition.sh",
        '"productionListenerRule":"arn:aws:elasticloadbalancing:ap-northeast-1:222222222222:listener/app/news/1/2"'),
    "service.load_balancer.test_listener_rule_arn": (
        _shifting(lb={"test_listener_rule_arn": f"{ELB}:listener/app/news/1/3"}), "update_taskdefinition.sh",
        '"testListenerRule"'),
    "service.load_balancer.infrastructure_role_arn": (
        _shifting(lb={"infrastructure_role_arn": "arn:aws:iam::222222222222:role/infra-b"}), "codepipeline.yml",
        "role/infra-b"),
    "service.load_balancer.container_port": (_shifting(lb={"container_port": 9443}), "update_taskdefinition.sh",
                                             '"containerPort":9443'),
    "notifications.events": ({"notifications": {"events": ["STOPPED"]}}, "codepipeline-status-notification.yml", "STOPPED"),
    "notifications.emails": ({"notifications": {"emails": ["oncall@example.com"]}},
                             "codepipeline-status-notification.yml", "oncall@example.com"),
    "notifications.topic_arn": ({"notifications": {"topic_arn": "arn:aws:sns:ap-northeast-1:222222222222:alerts"}},
                                "codepipeline-status-notification.yml", "arn:aws:sns:ap-northeast-1:222222222222:alerts"),
    "notifications.approval": ({"notifications": {"approval": False}}, "codepipeline-status-notification.yml",
                               "ApprovalWaitingRule"),
    "notifications.slack_webhook_secret": ({"notifications": {"slack_webhook_secret": "chatops/slack-webhook"}},
                                           "codepipeline-status-notification.yml", "chatops/slack-webhook"),
    "stages": (_stage(), "codepipeline.yml", "StageCheckRunProject"),
    "stages.name": (_stage({"name": "Audit"}), "codepipeline.yml", "- Name: Audit"),
    "stages.after": (_stage({"after": "Deploy"}), "codepipeline.yml", "Deploy -> Check"),
    "stages.actions": ({"stages": [{"name": "Check", "after": "Build", "actions": [
        {"name": "Run", "commands": ["make check"]}, {"name": "Lint", "commands": ["make lint"]}]}]},
        "codepipeline.yml", "StageCheckLintProject"),
    "stages.actions.name": (_stage(name="Probe"), "codepipeline.yml", "StageCheckProbeProject"),
    "stages.actions.commands": (_stage(commands=["make smoke-test-42"]), "Check-Run.buildspec.yml", "smoke-test-42"),
    "stages.actions.image": (_stage(image="aws/codebuild/amazonlinux2-x86_64-standard:5.0"), "codepipeline.yml",
                             "amazonlinux2-x86_64-standard:5.0"),
    "stages.actions.compute_type": (_stage(compute_type="BUILD_GENERAL1_2XLARGE"), "codepipeline.yml",
                                    "BUILD_GENERAL1_2XLARGE"),
    "stages.actions.timeout_minutes": (_stage(timeout_minutes=123), "codepipeline.yml", "TimeoutInMinutes: 123"),
    "stages.actions.environment": (_stage(environment={"PROBE_LEVEL": "deep"}), "codepipeline.yml", "PROBE_LEVEL"),
    "stages.actions.secrets": (_stage(secrets={"PROBE_KEY": SM.replace("news/other", "news/probe")}),
                               "codepipeline.yml", "news/probe-QwErTy"),
    "stages.actions.inputs": (_stage(inputs=["config", "source"]), "codepipeline.yml", "PrimarySource: config"),
    "stages.actions.needs_image": (_stage(needs_image=True), "codepipeline.yml",
                                   'PLAINTEXT"},{"name":"IMAGE_URI"'),
    "stages.actions.run_order": (_stage(run_order=7), "codepipeline.yml", "RunOrder: 7"),
    "stages.actions.policy_statements": (_statement(), "codepipeline.yml", "sns:Publish"),
    "stages.actions.policy_statements.Sid": (_statement(Sid="ProbeTopic"), "codepipeline.yml", "Sid: ProbeTopic"),
    "stages.actions.policy_statements.Effect": (_statement(Effect="Deny"), "codepipeline.yml", "Effect: Deny"),
    "stages.actions.policy_statements.Action": (_statement(Action=["sns:GetTopicAttributes"]), "codepipeline.yml",
                                                "sns:GetTopicAttributes"),
    "stages.actions.policy_statements.Resource": (_statement(Resource=PROBE + "-topic"), "codepipeline.yml",
                                                  "probe-topic"),
    "stages.actions.policy_statements.Condition": (_statement(Condition={"StringEquals": {
        "aws:RequestedRegion": "ap-northeast-1"}}), "codepipeline.yml", "aws:RequestedRegion"),
    "stages.actions.policy_statements.wildcard_reason": (_statement(
        Sid="ProbeTopics", Resource=PROBE + "-*", wildcard_reason="one topic per shard, probe-<shard>"),
        "codepipeline.yml", "one topic per shard"),
    "environment.name": ({"environment": {"name": "live"}}, "codepipeline.yml", "news-web-live"),
    # account and region place the stacks (templates use AWS::AccountId / AWS::Region)
    "environment.account": ({"environment": {"account": "333333333333"}, "source": {"connection_arn": ARN.replace(
        "222222222222", "333333333333")}}, STACKS, "333333333333"),
    "environment.region": ({"environment": {"region": "eu-west-1"}}, STACKS, "eu-west-1"),
    # names kept from an adopted pipeline: each becomes the physical name CloudFormation imports
    "names.pipeline": ({"names": {"pipeline": "news-web-production"}}, "codepipeline.yml", "Name: news-web-production"),
    "names.build_project": ({"names": {"build_project": "newsweb-docker"}}, "codepipeline.yml", "Name: newsweb-docker"),
    "names.update_project": ({"names": {"update_project": "newsweb-deploy"}}, "codepipeline.yml",
                             "Name: newsweb-deploy"),
    "names.pipeline_role": ({"names": {"pipeline_role": "newsweb-codepipeline"}}, "codepipeline.yml",
                            "RoleName: newsweb-codepipeline"),
    "names.build_role": ({"names": {"build_role": "newsweb-codebuild"}}, "codepipeline.yml",
                         "RoleName: newsweb-codebuild"),
    "names.update_role": ({"names": {"update_role": "newsweb-codebuild-update"}}, "codepipeline.yml",
                          "RoleName: newsweb-codebuild-update"),
}
# fields with no effect on purpose, and why
NO_EFFECT = {
    "version": "only version 1 exists",
    # read by `shipspec ci-roles` (the deploy role's kms:Decrypt), not by build: tests/cli/test_ci_roles_cmd.py
    "source.token_secret.kms_key_arn": "grants the CI deploy role kms:Decrypt (shipspec ci-roles)",
    "source.additional.token_secret.kms_key_arn": "grants the CI deploy role kms:Decrypt (shipspec ci-roles)",
}

# fields whose effect is on what validation accepts: path -> a patch of news-web's prod environment
# from a value written as the patch function gives it (plain, or {arn, allow_cross_account: true})
STG_SECRET = "arn:aws:secretsmanager:ap-northeast-1:111111111111:secret:shared/token-AbCdEf"
STG_TOPIC = "arn:aws:sns:ap-northeast-1:111111111111:alerts"


def _entry(value: str, allow: bool) -> object:
    return {"arn": value, "allow_cross_account": True} if allow else value


VALIDATION_EFFECTS = {
    "service.secrets.allow_cross_account":
        lambda allow: {"service": {"secrets": {"DB_PASSWORD": _entry(STG_SECRET, allow)}}},
    "build.secrets.allow_cross_account": lambda allow: {"build": {"secrets": {"NPM_TOKEN": _entry(STG_SECRET, allow)}}},
    "stages.actions.secrets.allow_cross_account":
        lambda allow: _stage(secrets={"PROBE_KEY": _entry(STG_SECRET, allow)}),
    "stages.actions.policy_statements.allow_cross_account":
        lambda allow: _stage(policy_statements=[{"Effect": "Allow", "Action": "sns:Publish", "Resource": STG_TOPIC,
                                                 **({"allow_cross_account": True} if allow else {})}]),
    "notifications.topic_arn.allow_cross_account":
        lambda allow: {"notifications": {"topic_arn": _entry(STG_TOPIC, allow)}},
    "notifications.slack_webhook_secret.allow_cross_account":
        lambda allow: {"notifications": {"slack_webhook_secret": _entry(STG_SECRET, allow)}},
}


def _leaf_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every field; a field holding models counts through its own fields (a list of models
    also counts itself: adding or removing items is an effect of its own). An ARN value that may
    be written as a CrossAccountArn counts itself (its `arn` is that value) and its allowance."""
    out = []
    for name, f in model.model_fields.items():
        path = f"{prefix}{name}"
        inner = [tp for tp in _models_in(f.annotation) if tp is not CrossAccountArn]
        if not inner or typing.get_origin(f.annotation) is list:
            out.append(path)
        if CrossAccountArn in _models_in(f.annotation):
            out.append(f"{path}.allow_cross_account")
        for tp in inner:
            out += _leaf_paths(tp, path + ".")
    return out


def _models_in(tp) -> list[type[BaseModel]]:
    found = [a for arg in typing.get_args(tp) for a in _models_in(arg)]
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        found.append(tp)
    return found


def _deep(base, patch):
    if isinstance(base, dict) and isinstance(patch, dict):
        return {**base, **{k: _deep(base.get(k), v) for k, v in patch.items()}}
    return patch


@pytest.fixture(scope="module")
def baseline(repo_root):
    project = load_project(repo_root, ["news-web"])
    return next(s for s in project.services if s.config.environment.name == "prod")


def _files(config: ServiceConfig) -> dict[str, bytes]:
    artifacts, stacks = render_service(config, "services/news-web.yaml", "lambda/notify-0000000000000000.zip")
    files = {a.path.rsplit("/", 1)[-1]: a.content for a in artifacts}
    files[STACKS] = repr(stacks).encode()
    return files


def test_every_field_has_an_effect_test():
    fields = set(_leaf_paths(ServiceConfig))
    missing = fields - set(EFFECTS) - set(NO_EFFECT) - set(VALIDATION_EFFECTS)
    assert not missing, f"fields without an effect test: {sorted(missing)}"
    assert not (set(EFFECTS) - fields), "effect tests for fields that no longer exist"
    assert not (set(VALIDATION_EFFECTS) - fields), "validation effect tests for fields that no longer exist"


def _validate_with_prod(repo, patch: dict) -> list[str]:
    """Errors of news-web with `patch` merged into its prod environment ([] when valid)."""
    spec = repo / "services/news-web.yaml"
    data = yaml.safe_load(spec.read_text())
    data["environments"]["prod"] = _deep(data["environments"]["prod"], patch)
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    try:
        load_project(repo, ["news-web"])
    except SpecError as exc:
        return [d.render() for d in exc.diagnostics]
    return []


@pytest.mark.parametrize("field", sorted(VALIDATION_EFFECTS))
def test_field_changes_what_validation_accepts(field, example_repo):
    """The stg account's ARN in prod is refused as written, and accepted when marked as intended."""
    plain = _validate_with_prod(example_repo, VALIDATION_EFFECTS[field](False))
    assert plain and all("account 111111111111 in the ARN differs from environment 'prod'" in e for e in plain), plain
    assert _validate_with_prod(example_repo, VALIDATION_EFFECTS[field](True)) == []


@pytest.mark.parametrize("field", sorted(EFFECTS))
def test_field_changes_output(field, baseline):
    patch, filename, needle = EFFECTS[field]
    before = _files(baseline.config)
    config = ServiceConfig.model_validate(_deep(baseline.config.model_dump(), patch))
    after = _files(config)
    assert filename in after, f"{filename} not generated"
    assert before.get(filename) != after[filename], f"{field}: {filename} did not change"
    present_after = needle.encode() in after[filename]
    present_before = needle.encode() in before.get(filename, b"")
    assert present_after != present_before, f"{field}: {needle!r} should appear in (or vanish from) {filename}"
