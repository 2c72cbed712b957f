"""The client factory `status` and `doctor` hand to the gather functions (the AWS edge).

It uses the shared sessions (`compiler.deploy.aws.session`: adaptive retries, role per account, the
STS account check) and, with `--local`, the emulator recorded by `shipspec local up`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .status import ClientFactory

if TYPE_CHECKING:
    from ..spec.models import ServiceConfig


def client_factory(root: Path, c: "ServiceConfig", local: bool, role_name: str | None = None) -> ClientFactory:
    """Clients for the environment's account and region, after checking the credentials are that
    account's (raises ShipspecError otherwise)."""
    from ..deploy.aws.session import Endpoint, Sessions

    if local:
        from ..local.emulator import endpoint

        ep = Endpoint(endpoint(root), emulated=True)
    else:
        ep = Endpoint()
    sessions = Sessions(ep, role_name)
    env = c.environment
    sessions.verify(env.account, env.region, f"{c.name} ({env.name})")
    return sessions.get(env.account, env.region).client
