"""Decide whether a plan may be applied (for the deploy workflow): it must be the plan that was
reviewed (the same change fingerprint as the pull request's plan, or the fingerprint given to
a manual run), and danger changes need the danger label. Exit 0 to go on, 1 to stop, with the reasons.
Action items (files to copy to a service repository for build.buildspec: repo) are listed, never
stop the gate."""

from __future__ import annotations

from pathlib import Path

NAME = "plan-gate"
HELP = "check a plan against the reviewed plan and the danger label before applying (for CI)"


def configure(p) -> None:
    p.add_argument("--plan", required=True, type=Path, metavar="FILE", action="append",
                   help="plan JSON about to be applied; repeat for the shards of one run")
    p.add_argument("--approved", type=Path, metavar="FILE", action="append", default=[],
                   help="the reviewed plan JSON (the pull request's plan artifact); repeat for shards")
    p.add_argument("--fingerprint", default="", metavar="FP",
                   help="the fingerprint a person approved (a manual run without a pull request)")
    p.add_argument("--labels", default="", metavar="A,B",
                   help="comma-separated labels of the pull request")
    p.add_argument("--danger-label", default="", metavar="LABEL",
                   help="label that allows danger changes (default: allow-danger)")
    p.add_argument("--danger-only", action="store_true",
                   help="only the danger check (a pull request's own run: will the deploy need the label?)")
    p.add_argument("--env", metavar="ENV", help="only compare and check this environment's stacks")
    p.add_argument("--unreviewed", choices=("stop", "apply"), default="stop",
                   help="what to do when no reviewed plan or fingerprint is given (default: stop)")
    p.add_argument("--env-order", default="", metavar="A,B",
                   help="deploy order of environments, e.g. stg,prod (others follow alphabetically)")
    p.add_argument("--github-output", type=Path, metavar="FILE",
                   help="append ok=, fingerprint=, environments= (JSON list), allow-replace= (logical ids "
                        "for `apply --allow-replace`, when the danger label is given) and action-items= (JSON list) "
                        "to this file ($GITHUB_OUTPUT)")
    p.add_argument("--summary", type=Path, metavar="FILE",
                   help="append a markdown report to this file ($GITHUB_STEP_SUMMARY)")


def run(args, console) -> int:
    import json

    from ...deploy.gate import DEFAULT_DANGER_LABEL, evaluate, summary_markdown
    from ...deploy.plan import combine
    from ._apply_flow import read_plan_file

    plan = combine(read_plan_file(path, "--plan") for path in args.plan)
    approved = [read_plan_file(path, "--approved") for path in args.approved]
    result = evaluate(
        plan, approved=approved, expected=args.fingerprint, labels=args.labels.split(","),
        danger_label=args.danger_label.strip() or DEFAULT_DANGER_LABEL, env=args.env or None,
        unreviewed=args.unreviewed, env_order=[e.strip() for e in args.env_order.split(",")],
        source="the reviewed plan", review=not args.danger_only)
    if args.github_output:
        with open(args.github_output, "a", encoding="utf-8") as fh:
            fh.write(f"ok={'true' if result.ok else 'false'}\n")
            fh.write(f"fingerprint={result.fingerprint}\n")
            fh.write(f"environments={json.dumps(list(result.environments))}\n")
            fh.write(f"allow-replace={' '.join(result.allow_replace)}\n")
            fh.write(f"action-items={json.dumps(list(result.action_items))}\n")
    if args.summary:
        with open(args.summary, "a", encoding="utf-8") as fh:
            fh.write(summary_markdown(result))
    for note in result.notes:
        console.error(f"note: {note}")
    for item in result.action_items:
        console.error(f"action item: {item}")
    for problem in result.problems:
        console.error(f"stop: {problem}")
    if result.ok:
        envs = ", ".join(result.environments) or "none (nothing to change)"
        console.print(f"gate passed; fingerprint {result.fingerprint}; environments: {envs}")
        return 0
    return 1
