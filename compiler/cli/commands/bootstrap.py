"""Plan and apply only the bootstrap stacks (`shipspec-bootstrap`: the artifact bucket and KMS
key of each account and region the specs use). Run once per account/region before the first
apply, and again when shipspec's bootstrap template changes."""

from __future__ import annotations

from ._common import add_env
from ._deploy import add_target

HELP = "create or update the per-account bootstrap stacks (artifact bucket, KMS key)"


def configure(p) -> None:
    add_env(p)
    add_target(p)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation (required when not on a terminal)")


def run(args, console) -> int:
    from ._apply_flow import run_apply

    args.names = []
    return run_apply(args, console, kinds=("bootstrap",))
