"""Exactly one thing can start each pipeline, whatever the mix of sources (issue 5, item 4).

The bug this guards against: a Source stage with several actions ran the pipeline once per
trigger, because CloudFormation defaults PollForSourceChanges (CodeCommit, S3, GitHub v1) and
DetectChanges (CodeStarSourceConnection) to true on every source action.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from compiler.spec.models import ServiceConfig
from compiler.build.render import cfn, pipeline
from compiler.lint.triggers import count_triggers

ACCOUNT, REGION = "444444444444", "us-east-1"
CONNECTION = f"arn:aws:codestar-connections:{REGION}:{ACCOUNT}:connection/primary-1"
OTHER_CONNECTION = f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/other-2"
TOKEN = {"id": "ci/github-token", "key": "token"}
OTHER_TOKEN = {"id": "ci/other-token", "key": "pat"}
PROVIDERS = ("codestar", "github-token", "codecommit", "s3")
# (primary provider, trigger_paths)
PRIMARIES = [("codestar", None), ("codestar", ["app/**", "Dockerfile"]), ("github-token", None),
             ("codecommit", None), ("s3", None)]
MIXES = [mix for n in range(4) for mix in itertools.product(PROVIDERS, repeat=n)]


def _repository(provider: str, name: str) -> str:
    return {"codestar": f"acme/{name}", "github-token": f"acme/{name}", "codecommit": name,
            "s3": f"acme-src-bucket/{name}/source.zip"}[provider]


def config(primary: str, trigger_paths: list[str] | None, mix: tuple[str, ...]) -> ServiceConfig:
    source: dict[str, Any] = {"provider": primary, "repository": _repository(primary, "app"), "branch": "release"}
    if primary == "codestar":
        source["connection_arn"] = CONNECTION
        if trigger_paths:
            source["trigger_paths"] = trigger_paths
    if primary == "github-token":
        source["token_secret"] = TOKEN
    additional = []
    for i, provider in enumerate(mix):
        add: dict[str, Any] = {"name": f"extra{i}", "provider": provider, "repository": _repository(provider, f"extra{i}"),
                               "branch": f"b{i}"}
        # Same provider as the primary: omit the credentials to exercise inheritance; otherwise bring its own.
        if provider == "codestar" and primary != "codestar":
            add["connection_arn"] = OTHER_CONNECTION
        if provider == "github-token" and primary != "github-token":
            add["token_secret"] = OTHER_TOKEN
        additional.append(add)
    source["additional"] = additional
    return ServiceConfig.model_validate({
        "name": "multi-src",
        "source": source,
        "build": {"ecr_repository": "acme/multi-src"},
        "service": {"cluster": "apps"},
        "environment": {"name": "test", "account": ACCOUNT, "region": REGION},
    })


def source_actions(t: dict) -> list[dict]:
    return t["Resources"]["Pipeline"]["Properties"]["Stages"][0]["Actions"]


def of_type(t: dict, kind: str) -> dict[str, dict]:
    return {rid: r for rid, r in t["Resources"].items() if r["Type"] == kind}


CASES = [(p, paths, mix) for p, paths in PRIMARIES for mix in MIXES]


def _id(case: tuple) -> str:
    p, paths, mix = case
    return f"{p}{'+paths' if paths else ''}[{','.join(mix)}]"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_exactly_one_trigger(case):
    primary, paths, mix = case
    c = config(primary, paths, mix)
    t = pipeline.render_pipeline(c)
    triggers = count_triggers(t)
    assert len(triggers) == 1, triggers

    actions = source_actions(t)
    assert [a["Name"] for a in actions] == ["Source"] + [f"extra{i}" for i in range(len(mix))]
    first, *rest = actions
    config_of = {a["Name"]: a["Configuration"] for a in actions}

    # Additional sources never detect changes themselves.
    for action, provider in zip(rest, mix):
        cfg = action["Configuration"]
        if provider == "codestar":
            assert cfg["DetectChanges"] is False
            assert cfg["ConnectionArn"] == (CONNECTION if primary == "codestar" else OTHER_CONNECTION)
        else:
            assert cfg["PollForSourceChanges"] is False
        if provider == "github-token":
            token = TOKEN if primary == "github-token" else OTHER_TOKEN
            assert cfg["OAuthToken"] == f"{{{{resolve:secretsmanager:{token['id']}:SecretString:{token['key']}}}}}"

    hooks = of_type(t, "AWS::CodePipeline::Webhook")
    rules = of_type(t, "AWS::Events::Rule")
    pipe = t["Resources"]["Pipeline"]["Properties"]
    if primary == "codestar":
        assert hooks == {} and rules == {}
        if paths:
            assert config_of["Source"]["DetectChanges"] is False
            (trigger,) = pipe["Triggers"]
            assert trigger["ProviderType"] == "CodeStarSourceConnection"
            git = trigger["GitConfiguration"]
            assert git["SourceActionName"] == "Source"
            assert git["Push"] == [{"Branches": {"Includes": ["release"]}, "FilePaths": {"Includes": paths}}]
        else:
            assert config_of["Source"]["DetectChanges"] is True
            assert "Triggers" not in pipe
    else:
        assert "Triggers" not in pipe
        assert first["Configuration"]["PollForSourceChanges"] is False
    if primary == "github-token":
        (hook,) = hooks.values()
        assert hook["Properties"]["TargetAction"] == "Source"
        assert hook["Properties"]["TargetPipeline"] == {"Ref": "Pipeline"}
        assert hook["Properties"]["Filters"] == [{"JsonPath": "$.ref", "MatchEquals": "refs/heads/release"}]
        assert hook["Properties"]["RegisterWithThirdParty"] is True
        assert rules == {}
    if primary in ("codecommit", "s3"):
        assert hooks == {}
        (rule,) = rules.values()
        (target,) = rule["Properties"]["Targets"]
        assert target["Arn"] == {"Fn::Sub": "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:${Pipeline}"}
        role = t["Resources"][target["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
        (statement,) = role["Policies"][0]["PolicyDocument"]["Statement"]
        assert statement["Action"] == ["codepipeline:StartPipelineExecution"]
        assert statement["Resource"] == target["Arn"]
        pattern = rule["Properties"]["EventPattern"]
        if primary == "codecommit":
            assert pattern["source"] == ["aws.codecommit"]
            assert pattern["resources"] == [{"Fn::Sub": "arn:${AWS::Partition}:codecommit:${AWS::Region}:"
                                                         "${AWS::AccountId}:app"}]
            assert pattern["detail"]["referenceName"] == ["release"]
        else:
            assert pattern["source"] == ["aws.s3"]
            assert pattern["detail"] == {"bucket": {"name": ["acme-src-bucket"]}, "object": {"key": ["app/source.zip"]}}


@pytest.fixture(scope="module")
def lint_runner():
    from cfnlint.api import ManualArgs
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(**ManualArgs(regions=[REGION], include_checks=["I"])))


@pytest.mark.slow
@pytest.mark.parametrize("primary,paths", PRIMARIES)
def test_mixed_sources_lint_clean(primary, paths, lint_runner):
    from cfnlint.decode.decode import decode_str

    t = pipeline.render_pipeline(config(primary, paths, ("codestar", "github-token", "codecommit")))
    decoded, errors = decode_str(cfn.dump_yaml(t))
    assert not errors
    assert [str(m) for m in lint_runner.validate_template(decoded)] == []


# --- the counter itself, on hand-written templates -------------------------------------------------

def _pipeline(*actions: dict, triggers: list | None = None) -> dict:
    props: dict = {"Stages": [{"Name": "Source", "Actions": list(actions)}]}
    if triggers is not None:
        props["Triggers"] = triggers
    return {"Type": "AWS::CodePipeline::Pipeline", "Properties": props}


def _src(name: str, provider: str, **config: Any) -> dict:
    return {"Name": name, "ActionTypeId": {"Category": "Source", "Provider": provider}, "Configuration": config}


def test_counter_sees_the_historic_double_run():
    """Two GitHub v1 actions left at CloudFormation's default poll: the pipeline ran twice per push."""
    t = {"Resources": {
        "P": _pipeline(_src("App", "GitHub"), _src("Config", "GitHub")),
        "Hook": {"Type": "AWS::CodePipeline::Webhook", "Properties": {"TargetAction": "App"}},
    }}
    assert len(count_triggers(t)) == 3


def test_counter_defaults_and_string_flags():
    t = {"Resources": {"P": _pipeline(
        _src("A", "CodeStarSourceConnection"),  # DetectChanges absent: on
        _src("B", "CodeStarSourceConnection", DetectChanges="false"),
        _src("C", "CodeCommit", PollForSourceChanges="true"),
        _src("D", "S3", PollForSourceChanges=False),
        _src("E", "ECR"),  # no polling flag: started through its own EventBridge rule, not counted here
    )}}
    found = count_triggers(t)
    assert len(found) == 2
    assert "'A'" in found[0] and "'C'" in found[1]


def test_counter_trigger_replaces_default_detection_of_its_action_only():
    t = {"Resources": {"P": _pipeline(
        _src("Source", "CodeStarSourceConnection"),
        _src("Other", "CodeStarSourceConnection"),
        triggers=[{"ProviderType": "CodeStarSourceConnection", "GitConfiguration": {"SourceActionName": "Source"}}],
    )}}
    found = count_triggers(t)
    assert len(found) == 2 and "Triggers[0]" in found[0] and "'Other'" in found[1]


def test_counter_rules_target_pipelines_only_when_enabled():
    target = {"Id": "p", "Arn": {"Fn::Sub": "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:${P}"}}
    lambda_target = {"Id": "f", "Arn": {"Fn::GetAtt": ["Fn", "Arn"]}}
    t = {"Resources": {
        "P": _pipeline(_src("Source", "CodeCommit", PollForSourceChanges=False)),
        "On": {"Type": "AWS::Events::Rule", "Properties": {"Targets": [target]}},
        "Off": {"Type": "AWS::Events::Rule", "Properties": {"State": "DISABLED", "Targets": [target]}},
        "Notify": {"Type": "AWS::Events::Rule", "Properties": {"Targets": [lambda_target]}},
    }}
    assert count_triggers(t) == ["On: EventBridge rule targets the pipeline (target 'p')"]
