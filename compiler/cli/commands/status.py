"""Show the pipeline's latest executions (state, time, commit; per stage when the endpoint reports
it), the service's rollouts (ECS service deployments: id, strategy, state, revisions from -> to, why
they ended), its tasks by deployment (desired/running/pending, task definition revision and image)
and its latest events, on one screen. Exit 1 when the ECS service is not found."""

from __future__ import annotations

from . import _ops

HELP = "pipeline executions, service deployments and events of one service in one environment"


def configure(p) -> None:
    _ops.configure(p)


def run(args, console) -> int:
    from ...ops.rollouts import Rollouts, gather_rollouts
    from ...ops.status import gather

    from ..report_ops import format_status

    def read(clients, c):
        snapshot = gather(clients, c)
        return snapshot, gather_rollouts(clients, c) if snapshot.ecs.found else Rollouts()

    _config, (snapshot, rollouts) = _ops.gather(args, console, "status", read)
    console.print(format_status(snapshot, args.format, rollouts))
    return 0 if snapshot.ecs.found else 1
