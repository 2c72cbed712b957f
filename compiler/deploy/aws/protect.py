"""What protects deployed stacks: termination protection, and a stack policy that denies
replacing or deleting stateful resources (the types of `changes.STATEFUL_TYPES`) unless
`apply --allow-replace LOGICAL_ID` names them. Pure."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable

from ..changes import STATEFUL_PREFIXES, STATEFUL_TYPES, ResourceChange, is_stateful


def stack_policy(allow_replace: Iterable[str] = ()) -> str:
    """The stack policy JSON (deterministic). The deny names resource types, not logical ids, so a
    resource removed from the template is still protected by the policy of the deployed stack."""
    allowed = sorted(set(allow_replace))
    target: dict = ({"NotResource": [f"LogicalResourceId/{lid}" for lid in allowed]} if allowed
                    else {"Resource": "*"})
    statements = [
        {"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": ["Update:Replace", "Update:Delete"], "Principal": "*", **target,
         "Condition": {"StringEquals": {"ResourceType": sorted(STATEFUL_TYPES)}}},
        {"Effect": "Deny", "Action": ["Update:Replace", "Update:Delete"], "Principal": "*", **target,
         "Condition": {"StringLike": {"ResourceType": [f"{p}*" for p in STATEFUL_PREFIXES]}}},
    ]
    return json.dumps({"Statement": statements}, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class Blocked:
    """A change the stack policy would stop."""

    logical_id: str
    resource_type: str
    what: str  # "replaced" | "removed" | "may be replaced"
    certain: bool


def blocked_changes(changes: Iterable[ResourceChange], allow_replace: Iterable[str] = ()) -> list[Blocked]:
    allowed = set(allow_replace)
    out = []
    for c in changes:
        if c.logical_id in allowed or not is_stateful(c.resource_type):
            continue
        if c.action == "Remove":
            out.append(Blocked(c.logical_id, c.resource_type, "removed", True))
        elif c.action == "Modify" and c.replacement == "True":
            out.append(Blocked(c.logical_id, c.resource_type, "replaced", True))
        elif c.action in ("Modify", "Dynamic") and c.replacement == "Conditional":
            out.append(Blocked(c.logical_id, c.resource_type, "may be replaced", False))
    return out
