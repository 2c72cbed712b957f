"""Take over the running hand-written stacks of NAME in ENV (`--stack OLD`, once per stack: the
pipeline's and the notifications') without deleting the pipeline, its history or its ECR repository.
Without --yes, show the plan: the update setting DeletionPolicy Retain on the old stacks (their change
set), which resources shipspec's stacks import, which they create, and which of the old stacks'
resources stay retained and unmanaged (for a person to delete). With --yes, perform it: bootstrap,
retain, delete the old stacks (every resource retained), create shipspec's stacks importing the
existing resources, apply them. Interrupted at any point, run it again: it continues. No step deletes
a resource. The spec must keep the physical names (`names:`, which `shipspec import` writes)."""

from __future__ import annotations

from ._deploy import add_target

HELP = "take over running hand-written stacks: retain, release, import into shipspec's stacks"


def configure(p) -> None:
    p.add_argument("name", metavar="NAME", help="service name (services/NAME.yaml)")
    p.add_argument("--env", metavar="ENV", required=True, help="environment")
    p.add_argument("--stack", action="append", required=True, metavar="STACK",
                   help="an old stack to take over (repeat for the notification stack)")
    p.add_argument("--yes", action="store_true", help="perform the takeover (default: show the plan only)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    add_target(p, jobs=False)


def run(args, console) -> int:
    from ...adopt.steps import is_converged, perform, retain_preview
    from ...adopt.takeover import plan_takeover
    from ...core.errors import ShipspecError
    from ...deploy.aws.changesets import ChangeSetError
    from ...deploy.aws.errors import aws_errors
    from ...deploy.aws.runctx import Cancelled
    from ..report_adopt import format_takeover
    from ._deploy import context, interrupted, select, verify_accounts

    selection = select(console.root, [args.name], args.env)
    inputs = selection.inputs
    ctx = context(args, console)
    verify_accounts(ctx, inputs)
    journal = console.root / ".shipspec" / "adopt" / f"{args.name}-{args.env}.json"

    def replan():
        return plan_takeover(ctx, inputs, tuple(args.stack), journal, lambda si: is_converged(ctx, si))

    try:
        with aws_errors(f"adopt {args.name} ({args.env})"):
            plan = replan()
            retain_done = next(s.done for s in plan.steps if s.key == "retain")
            preview = retain_preview(ctx, plan) if not retain_done and not plan.blockers else {}
            console.print(format_takeover(plan, preview, args.format))
            if plan.blockers:
                return 1
            if not args.yes:
                if not plan.done and args.format == "text":
                    console.print("\nNothing was changed. Run again with --yes to perform the takeover.")
                return 0
            plan = perform(ctx, replan)
    except (Cancelled, KeyboardInterrupt):
        return interrupted(ctx, console)
    except ChangeSetError as exc:
        raise ShipspecError(f"adopt {args.name} ({args.env}): {exc}") from None
    if args.format == "text":
        console.print("\nDone: " + ", ".join(t.si.name for t in plan.targets) + " are shipspec's; the pipeline "
                      "and the repository are the same resources as before.")
    else:
        console.print(format_takeover(plan, {}, args.format))
    return 0
