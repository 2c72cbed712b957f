"""`shipspec import --stack`: the deployed template (GetTemplate) and its parameter values
(DescribeStacks) read through the same sessions as `plan`, on moto's server over HTTP."""

from __future__ import annotations

import pytest

from support.adopt import HANDWRITTEN, scratch_repo
from support.cli import run_cli
from support.plan import STG, emu, moto_endpoint  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


def test_a_deployed_stack_imports_like_its_template_file(emu, tmp_path):
    cfn = emu.client("cloudformation", STG)
    cfn.create_stack(StackName="video-api-stg-legacy", TemplateBody=(HANDWRITTEN / "video-api-stg.yml").read_text(),
                     Capabilities=["CAPABILITY_NAMED_IAM"],
                     Parameters=[{"ParameterKey": "GitHubBranch", "ParameterValue": "release"},
                                 {"ParameterKey": "DeployUserAccessKeyId", "ParameterValue": "not-a-key"},
                                 {"ParameterKey": "DeployUserSecretAccessKey", "ParameterValue": "not-a-secret"}])
    r = emu.cli("import", "--stack", "stg=video-api-stg-legacy", "--local")
    assert r.status == 0, r.err
    from_stack = (emu.root / "services" / "video-api.yaml").read_text()
    # the stack's parameter value, not the template's default
    assert "branch: release" in from_stack
    assert "stack video-api-stg-legacy" in r.out
    files = scratch_repo(tmp_path / "from-file")
    r = run_cli("import", f"stg={HANDWRITTEN / 'video-api-stg.yml'}", "--param", "GitHubBranch=release", root=files)
    assert r.status == 0, r.err
    from_file = (files / "services" / "video-api.yaml").read_text()
    assert from_stack.splitlines()[2:] == from_file.splitlines()[2:]  # all but the "imported from" line


def test_a_missing_stack_is_one_clear_error(emu):
    r = emu.cli("import", "--stack", "stg=nothing-here", "--local")
    assert r.status == 1
    assert r.err.strip() == "error: stack nothing-here does not exist (in this account and region)"
