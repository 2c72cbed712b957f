"""Stacks shipspec made whose spec (or environment) is gone: found by their `shipspec:service`
and `shipspec:environment` tags, listed, never deleted (`shipspec retire` is the only way)."""

from __future__ import annotations

from typing import Iterable

from botocore.exceptions import BotoCoreError, ClientError

from ...spec.naming import ENVIRONMENT_TAG, SERVICE_TAG
from ..plan import Orphan
from .runctx import RunContext


def tagged_stacks(cfn) -> list[dict]:
    """Every live stack in the account/region that carries the `shipspec:service` tag."""
    out = []
    for page in cfn.get_paginator("describe_stacks").paginate():
        for s in page.get("Stacks", []):
            tags = {t["Key"]: t["Value"] for t in s.get("Tags") or ()}
            if SERVICE_TAG in tags and s.get("StackStatus") != "DELETE_COMPLETE":
                out.append({**s, "_tags": tags})
    return out


def find_orphans(ctx: RunContext, targets: Iterable[tuple[str, str]], spec_names: set[str],
                 known_pairs: set[tuple[str, str]]) -> tuple[list[Orphan], list[str]]:
    """(orphans, problems). A stack is orphaned when no spec file has its service, or the service
    is loaded here and no longer has its environment."""
    orphans, problems = [], []
    for account, region in sorted(set(targets)):
        try:
            stacks = tagged_stacks(ctx.sessions.get(account, region).client("cloudformation"))
        except (ClientError, BotoCoreError) as exc:
            problems.append(f"could not list stacks in {account}/{region} to look for orphans: {exc}")
            continue
        loaded = {svc for svc, _ in known_pairs}
        for s in stacks:
            svc, env = s["_tags"][SERVICE_TAG], s["_tags"].get(ENVIRONMENT_TAG, "")
            if svc not in spec_names or (svc in loaded and (svc, env) not in known_pairs):
                orphans.append(Orphan(svc, env, s["StackName"], account, region, s.get("StackStatus", "")))
    return sorted(orphans, key=lambda o: (o.account, o.region, o.stack_name)), problems
