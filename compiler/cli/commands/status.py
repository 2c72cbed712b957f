"""Show the pipeline's latest executions (state, time, commit; per stage when the endpoint reports
it), the service's rollouts (ECS service deployments: id, strategy, state, revisions from -> to, why
they ended), its tasks by deployment (desired/running/pending, task definition revision and image)
and its latest events, on one screen. Exit 1 when the ECS service is not found.

With --all (instead of NAME): one table for the fleet, one row per service and environment --
the pipeline's latest execution (state, the stage it stopped in, age, commit) and the service's
health (running/desired, deployment) -- problems first, with `shipspec doctor` suggested for
each unhealthy row; --failing shows only those. Exit 1 when any row has a problem."""

from __future__ import annotations

from ...core.errors import UsageError
from . import _ops

HELP = "pipeline executions, deployments and events of one service; --all: the whole fleet in one table"


def configure(p) -> None:
    p.add_argument("name", nargs="?", metavar="NAME", help="service name (services/NAME.yaml); omit with --all")
    p.add_argument("--env", metavar="ENV", help="environment (required with NAME; with --all: only this one)")
    p.add_argument("--all", action="store_true", help="every service and environment of the fleet, in one table")
    p.add_argument("--failing", action="store_true", help="with --all: only the rows with a problem")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    p.add_argument("--local", action="store_true",
                   help="read from the local emulator started by `shipspec local up` instead of AWS")
    p.add_argument("--role-name", metavar="ROLE",
                   help="IAM role to assume in the environment's account (default: $SHIPSPEC_ROLE_NAME)")
    p.add_argument("--jobs", type=int, default=8, metavar="N",
                   help="with --all: services read at once (default 8, at most 32)")


def run(args, console) -> int:
    if args.all:
        if args.name:
            raise UsageError("status: give NAME or --all, not both")
        return _fleet_table(args, console)
    if not args.name or not args.env:
        raise UsageError("status: give NAME and --env ENV, or --all")
    if args.failing:
        raise UsageError("status: --failing goes with --all")
    from ...ops.rollouts import Rollouts, gather_rollouts
    from ...ops.status import gather
    from ..report_ops import format_status

    def read(clients, c):
        snapshot = gather(clients, c)
        return snapshot, gather_rollouts(clients, c) if snapshot.ecs.found else Rollouts()

    _config, (snapshot, rollouts) = _ops.gather(args, console, "status", read)
    console.print(format_status(snapshot, args.format, rollouts))
    return 0 if snapshot.ecs.found else 1


def _fleet_table(args, console) -> int:
    from datetime import datetime, timezone

    from ...deploy.aws.runctx import Cancelled
    from ...ops.fleet_status import ordered, row
    from ..report_fleet import fleet_json, fleet_text
    from . import _deploy, _fleet

    fleet = _fleet.load_fleet(console.root, (), args.env)
    ctx = _deploy.context(args, console)
    _fleet.verify(ctx, {(c.environment.account, c.environment.region, c.name) for c in fleet.configs})
    progress = _fleet.Progress(console, len(fleet.configs), "services")

    def work(c):
        return row(ctx.sessions.get(c.environment.account, c.environment.region).client, c)

    try:
        found = _fleet.run_bounded(ctx, fleet.configs, lambda c: (c.name, c.environment.name), work, args.jobs,
                                   progress)
    except Cancelled:
        console.error("interrupted: status reads only, nothing was left behind")
        return 130
    rows = ordered(found.values())
    shown = [r for r in rows if r.unhealthy] if args.failing else rows
    if args.format == "json":
        console.print(fleet_json(shown, rows, ctx.emulated))
    else:
        console.print(fleet_text(shown, rows, datetime.now(timezone.utc), ctx.emulated))
    return 1 if any(r.unhealthy for r in rows) else 0
