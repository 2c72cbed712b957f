"""Clients for one account and region: endpoint, credentials, retries, timeouts, identity check.

Endpoint: `--local` gives the emulator's endpoint (from `.shipspec/local.json`); otherwise boto3
resolves it as the AWS CLI does (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`, or AWS).

Credentials for an environment's account, first match wins:
1. `SHIPSPEC_ROLE_<ACCOUNT>`: a role ARN (or a role name in that account) to assume;
2. a role name (`--role-name` or `SHIPSPEC_ROLE_NAME`) assumed in the target account;
3. on the emulator, the role `shipspec-local` in the target account, assumed through the
   emulator's STS (moto serves the account named in the role ARN, so one emulator serves all);
4. otherwise the usual chain (environment, profile, SSO, instance role) as it is.

Before any other call for an account, `verify` checks that STS GetCallerIdentity answers that
account, or refuses naming both.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import CredentialProvider, Credentials, DeferredRefreshableCredentials

from ...core.errors import ShipspecError

ROLE_ENV_PREFIX = "SHIPSPEC_ROLE_"
ROLE_NAME_ENV = "SHIPSPEC_ROLE_NAME"
LOCAL_ROLE_NAME = "shipspec-local"
SESSION_NAME = "shipspec"
# The emulator accepts any credentials; these never leave the loopback interface.
LOCAL_CREDENTIALS = ("shipspec-local", "shipspec-local")


@dataclass(frozen=True)
class Endpoint:
    """Where API calls go. `url=None` lets boto3 resolve it (AWS, or `AWS_ENDPOINT_URL`)."""

    url: str | None = None
    emulated: bool = False

    def describe(self) -> str:
        if self.emulated:
            return f"local emulator at {self.url}"
        env = os.environ.get("AWS_ENDPOINT_URL")
        return f"endpoint {env} (AWS_ENDPOINT_URL)" if env else "AWS"


@dataclass(frozen=True)
class ClientSettings:
    connect_timeout: float = 10.0
    read_timeout: float = 70.0
    max_attempts: int = 10  # adaptive retries (throttling, 5xx, timeouts)


def client_config(region: str, settings: ClientSettings) -> Config:
    return Config(region_name=region, connect_timeout=settings.connect_timeout,
                  read_timeout=settings.read_timeout,
                  retries={"mode": "adaptive", "max_attempts": settings.max_attempts})


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def role_arn_for(account: str, region: str, emulated: bool, role_name: str | None = None,
                 environ: Any = None) -> str | None:
    """The role to assume in `account`, or None to use the ambient credentials as they are."""
    environ = os.environ if environ is None else environ
    given = environ.get(f"{ROLE_ENV_PREFIX}{account}", "").strip()
    name = given or (role_name or environ.get(ROLE_NAME_ENV, "")).strip()
    if not name and emulated:
        name = LOCAL_ROLE_NAME
    if not name:
        return None
    if name.startswith("arn:"):
        return name
    return f"arn:{partition(region)}:iam::{account}:role/{name}"


_loader_lock = threading.Lock()
_loader: Any = None


def _core_session() -> botocore.session.Session:
    """A botocore session sharing one data loader (service models, endpoints) with the others:
    loading them is most of a session's cost, and a run makes one session per account."""
    global _loader
    with _loader_lock:
        if _loader is None:
            _loader = botocore.session.get_session().get_component("data_loader")
        core = botocore.session.get_session()
        core.register_component("data_loader", _loader)
        return core


class _AssumedRole(CredentialProvider):
    """Credentials of an assumed role, refreshed before they expire (long applies)."""

    METHOD = CANONICAL_NAME = "shipspec-assume-role"

    def __init__(self, sts_client, role_arn: str):
        super().__init__()
        self._sts, self._role_arn = sts_client, role_arn

    def _fetch(self) -> dict:
        try:
            c = self._sts.assume_role(RoleArn=self._role_arn, RoleSessionName=SESSION_NAME,
                                      DurationSeconds=3600)["Credentials"]
        except Exception as exc:  # botocore ClientError / NoCredentialsError
            raise ShipspecError(f"cannot assume role {self._role_arn}: {exc}") from None
        expiry = c["Expiration"]
        if isinstance(expiry, datetime):
            expiry = expiry.astimezone(timezone.utc).isoformat()
        return {"access_key": c["AccessKeyId"], "secret_key": c["SecretAccessKey"],
                "token": c["SessionToken"], "expiry_time": expiry}

    def load(self) -> Credentials:
        return DeferredRefreshableCredentials(refresh_using=self._fetch, method=self.METHOD)


@dataclass
class AccountSession:
    """Clients for one (account, region). Clients are created once and shared (thread-safe)."""

    account: str
    region: str
    endpoint: Endpoint
    settings: ClientSettings
    role_arn: str | None
    _session: Any = None
    _clients: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _base_session(self) -> boto3.Session:
        if self.endpoint.emulated:
            key, secret = LOCAL_CREDENTIALS
            return boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, region_name=self.region,
                                 botocore_session=_core_session())
        return boto3.Session(region_name=self.region, botocore_session=_core_session())

    def _boto_session(self) -> boto3.Session:
        if self._session is None:
            base = self._base_session()
            if self.role_arn is None:
                self._session = base
            else:
                sts = base.client("sts", endpoint_url=self.endpoint.url,
                                  config=client_config(self.region, self.settings))
                core = _core_session()
                core.get_component("credential_provider").insert_before("env", _AssumedRole(sts, self.role_arn))
                self._session = boto3.Session(botocore_session=core, region_name=self.region)
        return self._session

    def client(self, service: str):
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._boto_session().client(
                    service, endpoint_url=self.endpoint.url, config=client_config(self.region, self.settings))
            return self._clients[service]

    def caller_account(self) -> tuple[str, str]:
        """(account, ARN) that the credentials resolve to."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            ident = self.client("sts").get_caller_identity()
        except (BotoCoreError, ClientError) as exc:
            raise ShipspecError(f"cannot check the credentials for account {self.account} "
                                f"({self.endpoint.describe()}): {exc}") from None
        return ident["Account"], ident.get("Arn", "")


class Sessions:
    """One `AccountSession` per (account, region), created on demand; identity checked once
    per account."""

    def __init__(self, endpoint: Endpoint, role_name: str | None = None,
                 settings: ClientSettings | None = None):
        self.endpoint = endpoint
        self.role_name = role_name
        self.settings = settings or ClientSettings(max_attempts=3 if endpoint.emulated else 10)
        self._sessions: dict[tuple[str, str], AccountSession] = {}
        self._verified: dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, account: str, region: str) -> AccountSession:
        with self._lock:
            key = (account, region)
            if key not in self._sessions:
                self._sessions[key] = AccountSession(
                    account, region, self.endpoint, self.settings,
                    role_arn_for(account, region, self.endpoint.emulated, self.role_name))
            return self._sessions[key]

    def verify(self, account: str, region: str, what: str) -> None:
        """Refuse unless the credentials for `account` really are that account's.
        `what` names the environment(s) using it, for the message."""
        if account in self._verified:
            return
        s = self.get(account, region)
        actual, arn = s.caller_account()
        if actual != account:
            how = (f"assumed role {s.role_arn}" if s.role_arn else
                   f"the ambient credentials ({arn or 'unknown identity'})")
            if self.endpoint.emulated:
                raise ShipspecError(
                    f"account mismatch: {what} is account {account}, but the emulator answered as account {actual}; "
                    "an emulator started with MOTO_ACCOUNT_ID serves one account only: restart it with "
                    "`shipspec local down` and `shipspec local up`")
            raise ShipspecError(
                f"account mismatch: {what} is account {account}, but {how} resolve to account {actual}; "
                f"refusing to touch it. Use credentials for {account} (a profile, or "
                f"{ROLE_ENV_PREFIX}{account}=<role ARN>, or {ROLE_NAME_ENV}=<role name in each account>)")
        self._verified[account] = actual
