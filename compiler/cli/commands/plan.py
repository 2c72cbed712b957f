"""Preview what apply would change: for every selected service and environment (and the bootstrap
stacks they need), a CloudFormation change set is created, read in full with property values,
merged with the offline replacement prediction, and deleted again (unless --keep). List elements
are named by their keys (`+ stage Test (after Source)`, `~ Tags[team].Value`); each service's
runtime change (image, environment variables, secrets, cpu/memory, cluster/service/container)
is a row of its own, with the files to copy to the service repository for build.buildspec: repo
(action items). The JSON plan records the deployed state of each stack for apply to check.

Exit status: 0 when every stack was planned, 1 when any stack could not be (each is reported).
"""

from __future__ import annotations

from pathlib import Path

from ._common import add_env, add_names
from ._deploy import add_changed_since, add_target

HELP = "preview the change sets apply would execute (text, markdown or JSON)"


def configure(p) -> None:
    add_names(p)
    add_env(p)
    add_target(p)
    add_changed_since(p)
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                   help="text (terminal), markdown (pull-request comment) or json (for apply --plan)")
    p.add_argument("--output", metavar="FILE", type=Path, help="write the plan to FILE instead of stdout")
    p.add_argument("--json-output", metavar="FILE", type=Path,
                   help="also write the JSON plan to FILE (CI: the comment and the artifact from one plan)")
    p.add_argument("--keep", action="store_true",
                   help="keep the change sets (and new stacks' REVIEW_IN_PROGRESS shells) for inspection")


def prepare(args, console, keep: bool, kinds=("bootstrap", "pipeline", "notification"), only_pairs=None):
    """(selection, ctx): which stacks, and the run context with every account checked."""
    from . import _deploy

    selection = _deploy.select(console.root, args.names, args.env, getattr(args, "changed_since", None),
                               kinds, only_pairs)
    ctx = _deploy.context(args, console, keep=keep)
    _deploy.verify_accounts(ctx, selection.inputs)
    return selection, ctx


def build_plan(ctx, selection, jobs: int, orphans: bool = True):
    """The Plan of every selected stack; raises Cancelled on Ctrl-C."""
    from ...deploy.aws.executor import bounded_jobs
    from ...deploy.aws.planner import plan_all
    from ...deploy.plan import Plan
    from . import _deploy

    plans = plan_all(ctx, list(selection.inputs), bounded_jobs(jobs))
    found, problems = _deploy.find_orphans(ctx, selection) if orphans else ([], [])
    return Plan(tuple(plans), selection.base, selection.head, "local" if ctx.emulated else "aws",
                _deploy.emulator_notes(ctx) + tuple(problems), tuple(found))


def render(plan, fmt: str) -> str:
    from ...deploy.plan import dumps
    from .. import report_plan

    if fmt == "json":
        return dumps(plan)
    if fmt == "markdown":
        return report_plan.markdown(plan)
    return report_plan.text(plan)


def run(args, console) -> int:
    from ...deploy.aws.runctx import Cancelled
    from ..report_plan import summary_line
    from ._deploy import interrupted

    selection, ctx = prepare(args, console, keep=args.keep)
    try:
        plan = build_plan(ctx, selection, args.jobs)
    except Cancelled:
        return interrupted(ctx, console)
    out = render(plan, args.format)
    if args.json_output:
        _write(args.json_output, render(plan, "json"))
        console.error(f"wrote {args.json_output}")
    if args.output:
        _write(args.output, out)
        console.error(f"wrote {args.output}: {summary_line(plan)}")
    else:
        console.print(out.rstrip("\n"))
    return 1 if plan.errors else 0


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
