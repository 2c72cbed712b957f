"""`shipspec drift --local` against the real emulator process (`shipspec local up`), whose server
models drift detection (compiler/local/emuserver.py, compiler/local/emudrift.py): a change made
through the emulator's API behind shipspec's back is found. With the latency model on, each
detection stays in progress for a while, so the polling is exercised too."""

from __future__ import annotations

import json

import pytest

from support.plan import REGION, STG, local_emulator

pytestmark = pytest.mark.slow


def client(endpoint: str, service: str, account: str):
    import boto3

    sts = boto3.client("sts", region_name=REGION, endpoint_url=endpoint)
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/test", RoleSessionName="tests")["Credentials"]
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint, aws_access_key_id=c["AccessKeyId"],
                        aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])


def test_drift_on_the_emulator_finds_a_change_made_behind_shipspecs_back(tmp_path):
    from support.cli import run_cli

    with local_emulator(tmp_path, up_args=("--change-set-seconds", "0.3")) as (root, endpoint, _):
        assert run_cli("apply", "--local", "--yes", "photo-thumbs", root=root).status == 0
        clean = run_cli("drift", "--local", "photo-thumbs", "--no-runtime", "--format", "json", root=root)
        assert clean.status == 0, clean.out + clean.err
        assert json.loads(clean.out)["clean"] is True

        events = client(endpoint, "events", STG)
        rule = next(r["Name"] for r in events.list_rules()["Rules"] if "photo-thumbs" in r["Name"])
        events.disable_rule(Name=rule)  # someone switched the notifications off in the console
        found = run_cli("drift", "--local", "photo-thumbs", "--no-runtime", root=root)
    assert found.status == 1, found.out + found.err
    assert "DRIFTED photo-thumbs-stg-notification (111111111111/ap-northeast-1)" in found.out
    assert "PipelineStateRule (AWS::Events::Rule) modified" in found.out
    assert "/State: expected ENABLED, actual DISABLED" in found.out
