"""The client factory `status` and `doctor` hand to the gather functions (the AWS edge).

It uses the shared sessions (`compiler.deploy.aws.session`: adaptive retries, role per account, the
STS account check) at the endpoint the caller gives (`--local`: the emulator of `shipspec local up`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .status import ClientFactory

if TYPE_CHECKING:
    from ..deploy.aws.session import Endpoint
    from ..spec.models import ServiceConfig


def client_factory(endpoint: "Endpoint", c: "ServiceConfig", role_name: str | None = None) -> ClientFactory:
    """Clients for the environment's account and region at `endpoint` (AWS, or the emulator the
    caller found), after checking the credentials are that account's (ShipspecError otherwise)."""
    from ..deploy.aws.session import Sessions

    sessions = Sessions(endpoint, role_name)
    env = c.environment
    sessions.verify(env.account, env.region, f"{c.name} ({env.name})")
    return sessions.get(env.account, env.region).client
