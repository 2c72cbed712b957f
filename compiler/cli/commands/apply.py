"""Apply the specs: plan every selected stack (bootstrap stacks first, then pipelines, then
notifications), show the plan, ask for confirmation (or --yes), execute the change sets and
stream their events. With --plan FILE, refuse unless every stack's template, parameters and
changes still match the reviewed plan, and the deployed stack is still the one it was planned
against. Right before executing, each stack is read again: one changed since it was planned
(another apply, from any working copy) is refused, never overwritten. Stateful resources (ECR repositories, buckets, keys, log
groups, topics) are never replaced or removed unless --allow-replace names them. Nothing is
ever deleted here: deleted specs' stacks are listed as orphans (see `shipspec retire`)."""

from __future__ import annotations

from pathlib import Path

from ._common import add_env, add_names
from ._deploy import add_changed_since, add_target

HELP = "execute the planned change sets (asks first; --yes for CI)"


def configure(p) -> None:
    add_names(p)
    add_env(p)
    add_target(p)
    add_changed_since(p)
    p.add_argument("--plan", metavar="FILE", type=Path,
                   help="a plan from `shipspec plan --format json`: refuse unless nothing changed since")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation (required when not on a terminal)")
    p.add_argument("--allow-replace", action="append", metavar="LOGICAL_ID", default=[],
                   help="allow replacing or removing this stateful resource (repeatable)")


def run(args, console) -> int:
    from ._apply_flow import run_apply

    return run_apply(args, console)
