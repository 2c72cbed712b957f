"""Show the pipeline's latest executions (state, time, commit; per stage when the endpoint reports
it), the ECS service's deployments (desired/running/pending, rollout state, task definition revision
and image) and its latest events, on one screen. Exit 1 when the ECS service is not found."""

from __future__ import annotations

from ...deploy.aws.errors import aws_errors
from . import _ops

HELP = "pipeline executions, service deployments and events of one service in one environment"


def configure(p) -> None:
    _ops.configure(p)


def run(args, console) -> int:
    from ..report_ops import format_status
    from ...ops.status import gather

    config = _ops.service_config(console.root, args.name, args.env)
    factory = _ops.clients(args, console, config)
    with aws_errors(f"cannot read the status of {args.name} ({args.env})"):
        snapshot = gather(factory, config)
    console.print(format_status(snapshot, args.format))
    return 0 if snapshot.ecs.found else 1
