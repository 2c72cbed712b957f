"""Show the pipeline's latest executions (state, time, commit; per stage when the endpoint reports
it), the ECS service's deployments (desired/running/pending, rollout state, task definition revision
and image) and its latest events, on one screen. Exit 1 when the ECS service is not found."""

from __future__ import annotations

from . import _ops

HELP = "pipeline executions, service deployments and events of one service in one environment"


def configure(p) -> None:
    _ops.configure(p)


def run(args, console) -> int:
    from ...ops.status import gather
    from ..report_ops import format_status

    _config, snapshot = _ops.gather(args, console, "status", gather)
    console.print(format_status(snapshot, args.format))
    return 0 if snapshot.ecs.found else 1
