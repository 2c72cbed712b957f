"""`shipspec ci-roles`: the CI roles template for one account, from the specs' accounts.

cfn-lint clean (every check, informational too), `shipspec lint`'s rules clean with every
exception justified, deterministic bytes, hub and spoke variants as docs/ci.md describes them,
and bad options refused with exit status 2 and a message naming the option."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from support.cli import REPO, run_cli

EXAMPLES = ("_defaults.yaml", "news-web.yaml", "video-api.yaml")  # video-api uses a github-token source
OWNER_REPO = "example-corp/shipspec-config"
STG, PROD = "111111111111", "222222222222"  # services/_defaults.yaml: stg and prod accounts
TOKEN = "cicd/github-token"  # services/video-api.yaml: its token secret


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ci-roles")
    (root / "services").mkdir()
    for name in EXAMPLES:
        shutil.copy(REPO / "services" / name, root / "services" / name)
    return root


def ci_roles(root: Path, *args: str) -> str:
    res = run_cli("ci-roles", "--repo", OWNER_REPO, *args, root=root)
    assert res.status == 0, res.err
    return res.out


VARIANTS = {
    "single": (),  # no hub: this account signs in with GitHub itself
    "hub": ("--hub-account", STG, "--account", STG),
    "spoke": ("--hub-account", STG, "--account", PROD),
}


@pytest.fixture(scope="module")
def texts(root) -> dict[str, str]:
    return {name: ci_roles(root, *args) for name, args in VARIANTS.items()}


def resources(text: str) -> dict:
    return yaml.safe_load(text)["Resources"]


def statements(text: str, logical: str) -> dict[str, dict]:
    doc = resources(text)[logical]["Properties"]["Policies"][0]["PolicyDocument"]
    return {st["Sid"]: st for st in doc["Statement"]}


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_cfn_lint_clean(texts, variant):
    from cfnlint.api import ManualArgs, lint

    matches = lint(texts[variant], config=ManualArgs(regions=["us-east-1"], include_checks=["I"]))
    assert not matches, "\n".join(str(m) for m in matches)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_shipspec_lint_rules_clean_and_every_exception_justified(texts, variant):
    from compiler.lint.engine import Template, check_template
    from compiler.lint.registry import all_rules

    text = texts[variant]
    found, honoured = check_template(Template("ci.yml", text, "us-east-1"), {}, None)
    assert not found, "\n".join(f"{d.code} {d.message}" for d in found)
    known = {r.id for r in all_rules()}
    entries = [(logical, e) for logical, res in resources(text).items()
               for e in res.get("Metadata", {}).get("shipspec", {}).get("suppress", [])]
    assert honoured == len(entries) > 0
    for logical, e in entries:
        assert e["id"] in known, (logical, e)
        assert e["reason"].strip() and "\n" not in e["reason"], (logical, e)
    # Without the suppressions the same rules fire: they are exceptions, not dead entries.
    bare = yaml.safe_load(text)
    for res in bare["Resources"].values():
        res.pop("Metadata", None)
    from compiler.build.render.cfn import dump_yaml

    raw, _ = check_template(Template("ci.yml", dump_yaml(bare), "us-east-1"), {}, None)
    assert {d.code for d in raw} == {e["id"] for _l, e in entries}


def test_output_is_deterministic_and_output_file_holds_the_same_bytes(root, texts, tmp_path):
    assert ci_roles(root) == texts["single"]
    out = tmp_path / "ci.yml"
    res = run_cli("ci-roles", "--repo", OWNER_REPO, "--output", str(out), root=root)
    assert res.status == 0 and res.out == ""
    assert out.read_text(encoding="utf-8") == texts["single"]
    assert "CAPABILITY_NAMED_IAM" in res.err
    again = run_cli("ci-roles", "--repo", OWNER_REPO, "--output", str(out), root=root)
    assert "is up to date" in again.err


def test_named_roles_need_capability_named_iam(texts):
    # Fixed RoleNames (shipspec assumes the roles by name) make CAPABILITY_IAM insufficient.
    for text in texts.values():
        names = [r["Properties"]["RoleName"] for r in resources(text).values() if r["Type"] == "AWS::IAM::Role"]
        assert names == ["shipspec-plan", "shipspec-deploy"]
        assert "--capabilities CAPABILITY_NAMED_IAM" in text.split("AWSTemplateFormatVersion")[0]


@pytest.mark.parametrize("variant", ["single", "hub"])
def test_hub_trusts_github_and_reaches_every_spec_account(texts, variant):
    text = texts[variant]
    r = resources(text)
    assert "GitHubOidcProvider" in r
    deploy_trust = {st["Sid"]: st for st in r["DeployRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]}
    subjects = deploy_trust["GitHubActions"]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"]
    # The GitHub environments are the specs' environment names.
    assert subjects == [f"repo:{OWNER_REPO}:environment:prod", f"repo:{OWNER_REPO}:environment:stg"]
    for logical, name in (("PlanRole", "shipspec-plan"), ("DeployRole", "shipspec-deploy")):
        hop = statements(text, logical)["SameRoleInTargetAccounts"]
        assert hop["Resource"] == [{"Fn::Sub": f"arn:${{AWS::Partition}}:iam::{a}:role/{name}"} for a in (STG, PROD)]


def test_spoke_trusts_only_the_hub(texts):
    r = resources(texts["spoke"])
    assert "GitHubOidcProvider" not in r
    for logical, name in (("PlanRole", "shipspec-plan"), ("DeployRole", "shipspec-deploy")):
        trust = r[logical]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert [st["Sid"] for st in trust] == ["HubRole"]
        assert trust[0]["Condition"]["ArnEquals"]["aws:PrincipalArn"] == {
            "Fn::Sub": f"arn:${{AWS::Partition}}:iam::{STG}:role/{name}"}
        assert "SameRoleInTargetAccounts" not in statements(texts["spoke"], logical)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_deploy_role_may_read_the_token_secret_of_its_account(texts, variant):
    secret = statements(texts[variant], "DeployRole")["ResolveTokenSecrets"]
    assert secret["Resource"] == [{"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:*:${AWS::AccountId}:"
                                              f"secret:{TOKEN}-??????"}]


def test_token_secret_given_by_arn_is_granted_by_arn(root, tmp_path):
    other = tmp_path / "repo"
    shutil.copytree(root, other)
    spec = other / "services" / "video-api.yaml"
    arn = f"arn:aws:secretsmanager:ap-northeast-1:{STG}:secret:{TOKEN}"
    spec.write_text(spec.read_text(encoding="utf-8").replace(f"id: {TOKEN}", f"id: {arn}"), encoding="utf-8")
    text = ci_roles(other, "--account", STG)
    assert statements(text, "DeployRole")["ResolveTokenSecrets"]["Resource"] == [arn, f"{arn}-??????"]
    # prod (another account) names the same ARN: its deploy role is granted exactly that secret too.
    spoke = ci_roles(other, "--hub-account", STG, "--account", PROD)
    assert statements(spoke, "DeployRole")["ResolveTokenSecrets"]["Resource"] == [arn, f"{arn}-??????"]


def test_token_secret_kms_key_grants_decrypt_on_exactly_that_key(root, tmp_path):
    other = tmp_path / "repo"
    shutil.copytree(root, other)
    spec = other / "services" / "video-api.yaml"
    key = f"arn:aws:kms:ap-northeast-1:{STG}:key/0a1b2c3d-0000-4000-8000-000000000001"
    spec.write_text(spec.read_text(encoding="utf-8").replace(
        "    key: token\n", f"    key: token\n    kms_key_arn: {key}\n"), encoding="utf-8")
    for args in ((), ("--account", STG), ("--hub-account", STG, "--account", PROD)):
        decrypt = statements(ci_roles(other, *args), "DeployRole")["DecryptTokenSecrets"]
        assert decrypt["Action"] == ["kms:Decrypt"] and decrypt["Resource"] == [key]
        assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": ["secretsmanager.ap-northeast-1.amazonaws.com"]}}
    # without kms_key_arn (the AWS managed key) no kms:Decrypt is granted for the tokens
    assert "DecryptTokenSecrets" not in statements(ci_roles(root), "DeployRole")


def test_permissions_boundary_on_the_deploy_role(root):
    boundary = f"arn:aws:iam::{STG}:policy/shipspec-deploy-boundary"
    text = ci_roles(root, "--permissions-boundary", boundary)
    r = resources(text)
    assert r["DeployRole"]["Properties"]["PermissionsBoundary"] == boundary
    assert "PermissionsBoundary" not in r["PlanRole"]["Properties"]
    assert f"--permissions-boundary {boundary}" in text.splitlines()[0]
    assert "PermissionsBoundary" not in resources(ci_roles(root))["DeployRole"]["Properties"]


def test_no_oidc_provider_and_branch(root):
    text = ci_roles(root, "--no-oidc-provider", "--branch", "release/2024")
    r = resources(text)
    assert "GitHubOidcProvider" not in r
    trust = {st["Sid"]: st for st in r["PlanRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]}
    assert trust["GitHubActions"]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == [
        f"repo:{OWNER_REPO}:pull_request", f"repo:{OWNER_REPO}:ref:refs/heads/release/2024"]
    assert "--no-oidc-provider" in text.splitlines()[0] and "--branch release/2024" in text.splitlines()[0]


def test_any_account_allows_an_account_no_spec_uses(root):
    text = ci_roles(root, "--hub-account", STG, "--account", "333333333333", "--any-account")
    assert "GitHubOidcProvider" not in resources(text)
    assert "ResolveTokenSecrets" not in statements(text, "DeployRole")


@pytest.mark.parametrize("args, message", [
    (("--repo", "just-a-name"), "--repo 'just-a-name': expected OWNER/NAME"),
    (("--repo", "a/b/c"), "expected OWNER/NAME"),
    (("--repo", OWNER_REPO, "--account", "12345"), "--account '12345': expected a 12-digit AWS account id"),
    (("--repo", OWNER_REPO, "--hub-account", "1111111111111", "--account", STG), "--hub-account '1111111111111'"),
    (("--repo", OWNER_REPO, "--account", "333333333333"),
     f"--account 333333333333: no spec environment uses this account (they use: {STG}, {PROD})"),
    (("--repo", OWNER_REPO, "--hub-account", STG), "--hub-account needs --account"),
    (("--repo", OWNER_REPO, "--branch", "feature/*"), "--branch 'feature/*'"),
    (("--repo", OWNER_REPO, "--permissions-boundary", "arn:aws:iam::111111111111:policy/*"),
     "--permissions-boundary 'arn:aws:iam::111111111111:policy/*': expected a managed policy ARN"),
    (("--account", STG), "the following arguments are required: --repo"),
])
def test_bad_input_is_a_usage_error(root, args, message):
    res = run_cli("ci-roles", *args, root=root)
    assert res.status == 2
    assert message in res.err
    assert res.out == "" and "Traceback" not in res.err


def test_output_to_a_directory_is_a_usage_error(root, tmp_path):
    res = run_cli("ci-roles", "--repo", OWNER_REPO, "--output", str(tmp_path), root=root)
    assert res.status == 2 and "is a directory" in res.err
