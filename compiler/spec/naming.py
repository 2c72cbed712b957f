"""Names of everything the compiler creates: one place, so plan, apply and docs agree."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import ServiceConfig

PIPELINE = "pipeline"
NOTIFICATION = "notification"
BOOTSTRAP_STACK = "shipspec-bootstrap"


def base(c: "ServiceConfig") -> str:
    return f"{c.name}-{c.environment.name}"


def pipeline_name(c: "ServiceConfig") -> str:
    return base(c)


def stack_names(c: "ServiceConfig") -> dict[str, str]:
    return {PIPELINE: f"{base(c)}-pipeline", NOTIFICATION: f"{base(c)}-notification"}


def service_dir(c: "ServiceConfig") -> str:
    return f"generated/{c.name}/{c.environment.name}"


def bootstrap_dir(account: str, region: str) -> str:
    return f"generated/_bootstrap/{account}-{region}"


def bootstrap_export(what: str) -> str:
    """Name of a bootstrap stack export (exports are per account/region already)."""
    return f"{BOOTSTRAP_STACK}-{what}"
