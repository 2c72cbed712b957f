"""Undo the service's latest rollout. When a rollout is in progress, stop it with rollback
(StopServiceDeployment, stopType ROLLBACK): ECS returns the service to the revision it ran before.
When none is, point the service back at the previous revision (the one the latest rollout started
from), which starts a rollout of its own. The plan is shown first and confirmed (--yes for CI).
Follow the result with `shipspec status`."""

from __future__ import annotations

from . import _ops

HELP = "stop the rollout in progress with rollback, or go back to the previous revision"


def configure(p) -> None:
    _ops.configure(p)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def run(args, console) -> int:
    from ...core.errors import ShipspecError
    from ...deploy.aws.errors import aws_errors
    from ...ops.rollback import execute, plan_rollback
    from ...ops.status import family_revision

    config, (clients, plan) = _ops.gather(args, console, "rollouts",
                                          lambda clients, c: (clients, plan_rollback(clients, c)))
    console.print(f"rollback {args.name} ({args.env}): {plan.describe()}")
    if not args.yes:
        if not console.interactive:
            raise ShipspecError("refusing to roll back without --yes: not on a terminal, so nobody can confirm; "
                                "nothing was changed")
        if not console.confirm("Roll back?"):
            console.error("nothing was changed")
            return 1
    with aws_errors(f"cannot roll back {args.name} ({args.env})"):
        result = execute(clients, plan)
    what = "stopped with rollback" if plan.kind == "stop" else f"now rolling out {family_revision(plan.previous)}"
    console.print(f"{what}: service deployment {result.deployment_arn or '(not reported)'}")
    console.print(f"follow it: shipspec status {args.name} --env {args.env}" + (" --local" if args.local else ""))
    return 0
