"""The optional GitHub OIDC provider and CI roles (compiler/build/render/ci_roles.py): cfn-lint clean,
trust scoped to the repository (pull requests and the default branch may plan, only GitHub
environments may deploy), least privilege, and every CloudFormation call shipspec makes allowed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from compiler.build.render import cfn
from compiler.build.render.ci_roles import render_ci_roles
from support.cli import REPO

REPO_NAME = "example-corp/shipspec-config"
HUB, SPOKE = "111111111111", "222222222222"


def hub() -> dict:
    return render_ci_roles(REPO_NAME, environments=("prod", "stg"), target_accounts=(SPOKE,),
                           token_secrets=("cicd/github-token",))


def spoke() -> dict:
    return render_ci_roles(REPO_NAME, hub_account=HUB)


def statements(resource: dict) -> list[dict]:
    return resource["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


def actions(resource: dict) -> set[str]:
    return {a for st in statements(resource) for a in st["Action"]}


def trust(resource: dict) -> dict[str, dict]:
    return {st["Sid"]: st for st in resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]}


@pytest.mark.slow
@pytest.mark.parametrize("resources", [hub(), spoke()], ids=["hub", "spoke"])
def test_cfn_lint_clean(resources):
    from cfnlint.api import ManualArgs, lint

    text = cfn.dump_yaml(cfn.template("shipspec CI roles", resources))
    matches = lint(text, config=ManualArgs(regions=["ap-northeast-1"], include_checks=["I"]))
    assert not matches, "\n".join(str(m) for m in matches)


def test_hub_trusts_github_for_this_repository_only():
    r = hub()
    assert r["GitHubOidcProvider"]["Properties"]["Url"] == "https://token.actions.githubusercontent.com"
    plan = trust(r["PlanRole"])["GitHubActions"]["Condition"]["StringEquals"]
    assert plan["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    assert plan["token.actions.githubusercontent.com:sub"] == [f"repo:{REPO_NAME}:pull_request",
                                                              f"repo:{REPO_NAME}:ref:refs/heads/main"]
    deploy = trust(r["DeployRole"])["GitHubActions"]["Condition"]["StringEquals"]
    # Jobs with `environment:` carry that subject; a pull request or a branch cannot deploy.
    assert deploy["token.actions.githubusercontent.com:sub"] == [f"repo:{REPO_NAME}:environment:prod",
                                                                f"repo:{REPO_NAME}:environment:stg"]
    # The hub's roles may assume the role of their name in the target accounts.
    hop = next(st for st in statements(r["PlanRole"]) if st.get("Sid") == "SameRoleInTargetAccounts")
    assert hop["Action"] == ["sts:AssumeRole"]
    assert hop["Resource"] == [{"Fn::Sub": f"arn:${{AWS::Partition}}:iam::{SPOKE}:role/shipspec-plan"}]


def test_spoke_trusts_only_the_hub_role_of_the_same_name():
    r = spoke()
    assert "GitHubOidcProvider" not in r
    for logical, name in (("PlanRole", "shipspec-plan"), ("DeployRole", "shipspec-deploy")):
        t = trust(r[logical])
        assert set(t) == {"HubRole"}
        assert t["HubRole"]["Condition"]["ArnEquals"]["aws:PrincipalArn"] == {
            "Fn::Sub": f"arn:${{AWS::Partition}}:iam::{HUB}:role/{name}"}
        assert r[logical]["Properties"]["RoleName"] == name


PLAN_WRITES = {"cloudformation:CreateChangeSet", "cloudformation:DeleteChangeSet", "cloudformation:DeleteStack",
               "s3:PutObject", "kms:GenerateDataKey", "kms:Decrypt", "sts:AssumeRole"}
READ = re.compile(r"^[a-z0-9-]+:(Describe|Get|List|BatchGet|BatchDescribe|Detect)[A-Za-z]+$")


def test_plan_role_cannot_change_anything():
    plan = actions(hub()["PlanRole"])
    for forbidden in ("cloudformation:ExecuteChangeSet", "cloudformation:CreateStack", "cloudformation:UpdateStack",
                      "cloudformation:SetStackPolicy", "cloudformation:UpdateTerminationProtection"):
        assert forbidden not in plan
    # Beyond making change sets (and templates through the bucket), only reads: drift detection and
    # the live configuration it compares (docs/ci.md).
    assert {a for a in plan if not READ.match(a)} == PLAN_WRITES
    assert {a.split(":")[0] for a in plan if a not in PLAN_WRITES} >= {"cloudformation", "ecs", "iam"}
    assert all(READ.match(a) for a in plan if a.startswith("iam:"))


def test_plan_role_may_detect_drift_on_shipspecs_stacks_only():
    st = {s["Sid"]: s for s in statements(hub()["PlanRole"])}
    detect = st["DetectDriftOfShipspecStacks"]
    assert detect["Action"] == ["cloudformation:DescribeStackResourceDrifts", "cloudformation:DetectStackDrift",
                                "cloudformation:DetectStackResourceDrift"]
    assert [r["Fn::Sub"].rsplit(":", 1)[1] for r in detect["Resource"]] == [
        "stack/*-pipeline/*", "stack/*-notification/*", "stack/shipspec-bootstrap/*"]
    assert st["ReadForDriftIam"]["Condition"] == {"Null": {"aws:ResourceTag/shipspec:service": "false"}}


@pytest.mark.parametrize("logical", ["PlanRole", "DeployRole"])
def test_least_privilege(logical):
    for st in statements(hub()[logical]):
        assert not any(a == "*" or a.endswith(":*") for a in st["Action"]), st
        if st["Resource"] == "*":
            # Only where IAM allows nothing narrower (listing stacks; creating a key; a random string; a
            # drift detection's status, type configurations, task definitions and key aliases).
            assert st["Sid"] in ("ListStacksForOrphans", "CreateBootstrapKey", "GenerateWebhookSecrets",
                                 "DriftDetectionStatus"), st
            assert st["Action"] in (["cloudformation:DescribeStacks"], ["kms:CreateKey"],
                                    ["secretsmanager:GetRandomPassword"], [
                "cloudformation:BatchDescribeTypeConfigurations", "cloudformation:DescribeStackDriftDetectionStatus",
                "ecs:DescribeTaskDefinition", "kms:ListAliases"])
def test_deploy_role_manages_only_shipspec_webhook_secrets():
    deploy = {st["Sid"]: st for st in statements(hub()["DeployRole"])}
    assert deploy["WebhookSecrets"]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:*:${AWS::AccountId}:secret:shipspec/webhook/*"}
    assert "GetSecretValue" in " ".join(deploy["WebhookSecrets"]["Action"])
    # no github-token source in the account: no webhook secrets either
    assert "WebhookSecrets" not in {st["Sid"] for st in statements(spoke()["DeployRole"])}


def test_deploy_role_manages_only_tagged_roles():
    deploy = {st["Sid"]: st for st in statements(hub()["DeployRole"])}
    assert deploy["CreateTaggedRoles"]["Condition"] == {"Null": {"aws:RequestTag/shipspec:service": "false"}}
    assert deploy["PassShipspecRoles"]["Action"] == ["iam:PassRole"]
    assert deploy["PassShipspecRoles"]["Condition"] == {
        "Null": {"aws:ResourceTag/shipspec:service": "false"},
        "StringEquals": {"iam:PassedToService": ["codebuild.amazonaws.com", "codepipeline.amazonaws.com",
                                                 "events.amazonaws.com", "lambda.amazonaws.com"]}}
    assert deploy["ManageShipspecRoles"]["Condition"] == {"Null": {"aws:ResourceTag/shipspec:service": "false"}}
    secret = deploy["ResolveTokenSecrets"]["Resource"]
    assert secret == [{"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:*:${AWS::AccountId}:"
                                  "secret:cicd/github-token-??????"}]


def _camel(method: str) -> str:
    return "".join(part.capitalize() for part in method.split("_"))


def cfn_calls(*files: str) -> set[str]:
    calls = set()
    for f in files:
        text = (REPO / "compiler" / "deploy" / "aws" / f).read_text()
        for method in re.findall(r"\bcfn\.([a-z_]+)\(", text):
            calls.add("cloudformation:" + ("DescribeStacks" if method == "get_paginator" else _camel(method)))
    return calls


def test_every_cloudformation_call_is_allowed():
    r = hub()
    plan_calls = cfn_calls("changesets.py", "planner.py", "orphans.py")
    assert "cloudformation:CreateChangeSet" in plan_calls  # the scan found the calls
    assert plan_calls <= actions(r["PlanRole"])
    apply_calls = plan_calls | cfn_calls("apply.py")
    assert "cloudformation:ExecuteChangeSet" in apply_calls
    assert apply_calls <= actions(r["DeployRole"])


def test_every_drift_call_is_allowed_to_the_plan_role():
    plan = actions(hub()["PlanRole"])
    text = (REPO / "compiler" / "ops" / "drift.py").read_text()
    calls = {"cloudformation:" + _camel(m) for m in re.findall(r"\bcfn\.([a-z_]+)\b", text)}
    assert {"cloudformation:DetectStackDrift", "cloudformation:DescribeStackDriftDetectionStatus",
            "cloudformation:DescribeStackResourceDrifts", "cloudformation:DescribeStacks"} <= calls
    assert calls <= plan
    runtime = (REPO / "compiler" / "ops" / "runtime_drift.py").read_text() + (
        REPO / "compiler" / "ops" / "status.py").read_text()
    ecs = {"ecs:" + _camel(m) for m in re.findall(r"\becs\.([a-z_]+)\(", runtime)}
    ecs |= {"ecs:" + _camel(m) for m in re.findall(r'clients\("ecs"\)\.([a-z_]+)\(', runtime)}
    assert {"ecs:DescribeServices", "ecs:DescribeTaskDefinition"} <= ecs <= plan


def test_uploads_are_allowed_where_shipspec_puts_them():
    from compiler.deploy.aws.artifacts import TEMPLATE_PREFIX
    from compiler.build.lambda_zip import lambda_key

    def prefixes(logical: str) -> set[str]:
        st = next(s for s in statements(hub()[logical]) if s["Sid"] == "TemplatesThroughTheArtifactBucket")
        return {Path(x["Fn::Sub"].split(":::", 1)[1]).parent.as_posix().split("/", 1)[1] for x in st["Resource"]}

    assert prefixes("PlanRole") == {TEMPLATE_PREFIX}
    assert prefixes("DeployRole") == {TEMPLATE_PREFIX, lambda_key().split("/")[0]}


def test_bad_repository_name_is_refused():
    with pytest.raises(ValueError, match="owner/name"):
        render_ci_roles("just-a-name")
