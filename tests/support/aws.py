"""A moto server on loopback for tests that talk to AWS over HTTP (boto3 or the AWS CLI).

Usage in a test module (one server per module keeps the suite fast):

    from support.aws import client, moto_server_fixture, tool_path

    moto_endpoint = moto_server_fixture()

    def test_x(moto_endpoint):  # the endpoint URL; AWS_* variables point at it
        ...

While the fixture is active the process environment holds fake credentials, a region,
AWS_ENDPOINT_URL and no AWS_PROFILE, so nothing can reach real AWS.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from pathlib import Path
from typing import Iterator

import pytest

REGION = "ap-northeast-1"

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_PAGER": "",
}
_UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
          "AWS_CA_BUNDLE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
          "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")


def emulator_models() -> None:
    """What the local emulator adds to moto's CloudFormation and CodePipeline, in this process: the
    pipeline resources stacks declare, import by name, pipeline executions (idempotent). Templates reach
    the emulator with their pipelines and CodeBuild projects (compiler/local/adapt.py keeps references
    to them), so a server that creates pipeline stacks needs them. ECS service deployments are not
    included: tests that need them install them around a module."""
    from compiler.local.emuserver import model_resource_import
    from compiler.local.pipeline_executions import install

    model_resource_import()
    install()


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """ThreadedMotoServer on 127.0.0.1 (a free port), with the emulator's models (`emulator_models`),
    for the duration; yields its URL."""
    from moto.server import ThreadedMotoServer

    emulator_models()

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def bare_moto_endpoint(scope: str = "module"):
    """A fixture factory: the server's URL only, for code that is given the endpoint explicitly
    (the process environment is left as conftest.py set it: fake credentials, no profile)."""

    @pytest.fixture(scope=scope)
    def _endpoint() -> Iterator[str]:
        with moto_server() as url:
            yield url

    return _endpoint


def moto_server_fixture(scope: str = "module"):
    """A fixture factory: the fixture starts ThreadedMotoServer on 127.0.0.1 and yields its URL,
    with AWS_* variables pointing at it for the duration."""

    @pytest.fixture(scope=scope)
    def _moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
        # Empty config/credentials files: no profile on this machine can leak in.
        home = tmp_path_factory.mktemp("aws-home")
        (home / "config").write_text("")
        (home / "credentials").write_text("")
        with moto_server() as url, pytest.MonkeyPatch.context() as mp:
            for name in _UNSET:
                mp.delenv(name, raising=False)
            for name, value in FAKE_ENV.items():
                mp.setenv(name, value)
            mp.setenv("AWS_CONFIG_FILE", str(home / "config"))
            mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "credentials"))
            mp.setenv("AWS_ENDPOINT_URL", url)
            yield url

    return _moto_endpoint


def aws_cli_dir() -> Path:
    """The directory holding the AWS CLI installed next to this Python (the test environment's)."""
    bindir = Path(sys.executable).parent
    found = shutil.which("aws", path=str(bindir)) or shutil.which("aws")
    if not found:
        pytest.skip("the AWS CLI (awscli) is not installed in the test environment")
    return Path(found).parent


def tool_path(extra: Path | None = None) -> str:
    """PATH for subprocesses: optional stand-ins first, then the AWS CLI's directory, then the system's."""
    parts = [str(extra)] if extra else []
    parts += [str(aws_cli_dir()), os.environ.get("PATH", "/usr/bin:/bin")]
    return os.pathsep.join(parts)


def client(service: str, endpoint: str, region: str = REGION):
    import boto3

    return boto3.client(service, region_name=region, endpoint_url=endpoint)
