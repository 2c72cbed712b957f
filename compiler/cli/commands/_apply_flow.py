"""The apply flow shared by `apply` and `bootstrap`: plan (keeping the change sets), check the
plan file and the stack policy, confirm, execute in dependency order, report."""

from __future__ import annotations

import sys
from pathlib import Path

from ...core.errors import ShipspecError


def read_plan_file(path: Path, option: str = "--plan"):
    """The typed plan in `path` (version and fingerprints checked), or a ShipspecError saying why not."""
    from ...deploy.plan import PlanFileError, read_plan

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ShipspecError(f"{option} {path}: cannot read it ({exc.strerror})") from None
    try:
        return read_plan(text, f"{option} {path}")
    except PlanFileError as exc:
        raise ShipspecError(str(exc)) from None


def refusals(plan, planned, plan_path, allow_replace) -> list[str]:
    """Why the plan must not be applied: differences from the reviewed plan file, and changes the
    stack policy would stop."""
    from ...deploy.aws.apply import blocked_message

    out = []
    if planned is not None:
        if planned.target != plan.target:
            out.append(f"{plan_path} was planned against {planned.target}, this run targets {plan.target}")
        reviewed = planned.by_key()
        for sp in plan.stacks:
            label = sp.label
            entry = reviewed.get(sp.key)
            if entry is None:
                out.append(f"{label}: not in {plan_path}")
            elif entry.template_sha256 and entry.template_sha256 != sp.template_sha256:
                out.append(f"{label}: its template changed since {plan_path} was made")
            elif sp.status == "no-change" and entry.template_sha256 == sp.template_sha256:
                continue  # already applied as planned (e.g. a bootstrap stack shared with an earlier environment)
            elif sp.status != "error" and entry.deployed != sp.deployed:
                out.append(f"{label}: the deployed stack changed since {plan_path} was made (another apply, or a "
                           "change by hand): that plan was made against what is no longer there; plan again and "
                           "review")
            elif sp.status != "error" and entry.fingerprint != sp.fingerprint:
                out.append(f"{label}: its changes differ from {plan_path} (the deployed stack, or what the "
                           "change set reports, changed since)")
    for sp in plan.stacks:
        blocked = blocked_message(sp.changes, allow_replace)
        if blocked:
            out.append(f"{sp.stack_name} ({sp.account}/{sp.region}): {blocked}")
    return out


def run_apply(args, console, kinds=("bootstrap", "pipeline", "notification")) -> int:
    from ...deploy.aws.apply import ApplyOptions, apply_stack, skipped
    from ...deploy.aws.executor import bounded_jobs, run_pool
    from ...deploy.aws.inputs import dependencies
    from ...deploy.aws.planner import discard
    from ...deploy.aws.runctx import Cancelled
    from .. import report_plan
    from ._deploy import interrupted
    from .plan import build_plan, prepare

    plan_path = getattr(args, "plan", None)
    planned = read_plan_file(plan_path) if plan_path else None
    only = planned.pairs() if planned is not None and not args.names and not args.env else None
    if planned is not None and not planned.stacks:
        raise ShipspecError(f"{plan_path} holds no stacks")
    allow = tuple(getattr(args, "allow_replace", None) or ())
    selection, ctx = prepare(args, console, keep=True, kinds=kinds, only_pairs=only)
    inputs = list(selection.inputs)
    if not inputs:
        console.error("nothing selected to apply")
        return 0
    jobs = bounded_jobs(getattr(args, "jobs", 4))
    try:
        plan = build_plan(ctx, selection, jobs, orphans=tuple(kinds) != ("bootstrap",))
    except Cancelled:
        return interrupted(ctx, console)
    discard(ctx, inputs, plan.errors)  # failed change sets are of no use to apply
    console.print(report_plan.text(plan).rstrip("\n"))
    problems = refusals(plan, planned, plan_path, allow)
    if problems:
        discard(ctx, inputs, plan.stacks)
        raise ShipspecError("refusing to apply; nothing was changed:\n  " + "\n  ".join(problems))
    pending = plan.pending
    if pending and not args.yes:
        if not (console.interactive and sys.stdin.isatty()):
            discard(ctx, inputs, plan.stacks)
            raise ShipspecError(f"refusing to apply {len(pending)} stack change(s) without --yes: not on a "
                                "terminal, so nobody can confirm; nothing was changed")
        where = "the local emulator" if ctx.emulated else "AWS"
        if not console.confirm(f"Apply {len(pending)} stack change(s) to {where}?"):
            discard(ctx, inputs, plan.stacks)
            console.error("not applied; the change sets were deleted")
            return 1
    elif not pending:
        console.error("nothing to change" + (": some stacks could not be planned" if plan.errors else ""))
    by_key = {sp.key: sp for sp in plan.stacks}
    reviewed = planned.by_key() if planned is not None else {}
    expected = {k: (reviewed[k].fingerprint if k in reviewed else sp.fingerprint) for k, sp in by_key.items()}
    opts = ApplyOptions(allow, expected)
    try:
        results = run_pool(ctx, inputs, lambda si: si.key, lambda si: apply_stack(ctx, si, by_key[si.key], opts),
                           jobs, deps=dependencies(inputs), failed=lambda r: r.failed, skipped=skipped)
    except Cancelled:
        return interrupted(ctx, console)
    ordered = [results[si.key] for si in inputs]
    console.print("")
    for line in report_plan.apply_lines(ordered):
        console.print(line)
    console.print(report_plan.apply_summary(ordered))
    return 1 if any(r.failed for r in ordered) else 0
