"""Shared set-up for the plan/apply tests (no tests here): one moto server per test module over
HTTP on loopback, a scratch repository whose `.shipspec/local.json` points `--local` at it, and
clients into any account through the server's STS (as shipspec itself gets them)."""

from __future__ import annotations

import json
import os
import shutil
from contextlib import contextmanager
from unittest import mock
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.aws import bare_moto_endpoint
from support.cli import REPO, run_cli

REGION = "ap-northeast-1"
STG, PROD = "111111111111", "222222222222"


moto_endpoint = bare_moto_endpoint()


@dataclass
class Emu:
    root: Path
    endpoint: str

    def cli(self, *args: str):
        return run_cli(*args, root=self.root)

    def client(self, service: str, account: str):
        import boto3

        sts = boto3.client("sts", region_name=REGION, endpoint_url=self.endpoint)
        c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/test", RoleSessionName="tests")["Credentials"]
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint,
                            aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                            aws_session_token=c["SessionToken"])

    def stacks(self, account: str) -> dict[str, dict]:
        cfn = self.client("cloudformation", account)
        return {s["StackName"]: s for s in cfn.describe_stacks()["Stacks"]}

    def backend(self, account: str):
        """moto's CloudFormation state for the account (the server runs in this process): used only
        to inject faults moto cannot produce (rollbacks, failed change sets)."""
        from moto.cloudformation.models import cloudformation_backends

        return cloudformation_backends[account][REGION]

    def spec(self, name: str) -> Path:
        return self.root / "services" / f"{name}.yaml"

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.spec(name)
        text = path.read_text()
        assert old in text, f"{old!r} not in {path.name}"
        path.write_text(text.replace(old, new))


def reset(endpoint: str) -> None:
    req = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST", data=b"")
    urllib.request.urlopen(req, timeout=10).read()  # noqa: S310 - loopback


@contextmanager
def local_emulator(tmp_path: Path, services=("_defaults", "photo-thumbs", "news-web"), up_args=(),
                   env: dict[str, str] | None = None):
    """A scratch repository with a real `shipspec local up` running (options `up_args`), with no
    role, endpoint or account pinned from outside; (root, endpoint, what `up` printed)."""
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("SHIPSPEC_ROLE") or key in ("AWS_ENDPOINT_URL", "MOTO_ACCOUNT_ID"):
                mp.delenv(key)
        for key, value in (env or {}).items():
            mp.setenv(key, value)
        root = make_repo(tmp_path, "http://127.0.0.1:9", services)
        (root / ".shipspec" / "local.json").unlink()
        up = run_cli("local", "up", *up_args, root=root)
        assert up.status == 0, up.err
        try:
            yield root, up.out.strip(), up
        finally:
            assert run_cli("local", "down", root=root).status == 0


def make_repo(tmp_path: Path, endpoint: str, services=("_defaults", "photo-thumbs", "news-web")) -> Path:
    root = tmp_path / "repo"
    (root / "services").mkdir(parents=True)
    for name in services:
        shutil.copy(REPO / "services" / f"{name}.yaml", root / "services" / f"{name}.yaml")
    (root / ".shipspec").mkdir()
    (root / ".shipspec" / "local.json").write_text(json.dumps({"pid": 0, "port": 0, "endpoint": endpoint}))
    return root


@pytest.fixture
def emu(moto_endpoint, tmp_path, monkeypatch) -> Emu:
    reset(moto_endpoint)
    monkeypatch.setenv("SHIPSPEC_POLL_SECONDS", "0.02")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for key in list(os.environ):
        if key.startswith("SHIPSPEC_ROLE"):
            monkeypatch.delenv(key)
    return Emu(make_repo(tmp_path, moto_endpoint), moto_endpoint)


def plan_json(emu: Emu, *args: str) -> tuple[dict, object]:
    r = emu.cli("plan", "--local", "--format", "json", *args)
    try:
        return json.loads(r.out), r
    except ValueError:
        raise AssertionError(f"plan did not print JSON (status {r.status}):\n{r.out}\n{r.err}") from None


def by_name(doc: dict) -> dict[tuple[str, str], dict]:
    return {(s["stack_name"], s["account"]): s for s in doc["stacks"]}


@contextmanager
def on_clients(register):
    """Call register(service, client) for every client shipspec creates (to hook its events)."""
    from compiler.deploy.aws.session import AccountSession

    original = AccountSession.client
    seen: set[int] = set()

    def client(self, service):
        c = original(self, service)
        if id(c) not in seen:
            seen.add(id(c))
            register(service, c)
        return c

    with mock.patch.object(AccountSession, "client", client):
        yield
