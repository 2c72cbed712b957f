"""The deploy gate: may this plan be applied without a person looking again?

Pure functions over typed plans (`compiler/deploy/plan.py`, read with `read_plan`, which checks the
version and every fingerprint). Two questions, both must pass:

1. Review. The plan about to be applied must be the plan that was reviewed: its fingerprint
   equals the reviewed plan's (the pull request's plan artifacts, one per shard, taken
   together), or a fingerprint a person typed into a manual run. The fingerprint covers what each
   stack that changes would do (stack, status, template, parameters, and per resource the action,
   replacement, risk, policy and property values), so it does not depend on how the plan was
   sharded, when it ran or which change sets it made. With `env`, only that environment's stacks
   count, so each environment's deploy job re-checks its own part just before it applies. Without
   any reviewed plan (a direct push) the gate stops unless the policy says `apply`.
2. Danger. A change whose risk is `danger` (data loss: see `compiler/deploy/changes.py`), or that
   replaces or removes a stateful resource (which the stack policy blocks unless
   `apply --allow-replace` names it: see `compiler/deploy/aws/protect.py`), needs the danger label
   on the pull request (or the manual run's `allow_danger` input). With the label, the gate gives
   the logical ids to pass to `apply --allow-replace`.

Besides the answer, the gate lists the plan's action items: what applying does not do by itself
(with `build.buildspec: repo`, runtime changes reach the service only once the changed files are
copied to the service repository; compiler/deploy/runtime.py). They never stop the gate; the
summary and the workflow outputs carry them so nobody merges without seeing them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from .aws.protect import blocked_changes
from .changes import DANGER, ResourceChange
from .plan import Plan, combine

DEFAULT_DANGER_LABEL = "allow-danger"


@dataclass(frozen=True)
class GateResult:
    ok: bool
    fingerprint: str
    environments: tuple[str, ...]  # environments with changes, in deploy order
    danger: tuple[str, ...]  # "stack: LogicalId (Type) Action"
    problems: tuple[str, ...]  # why the gate stops (empty when ok)
    notes: tuple[str, ...]  # what a person should know anyway
    allow_replace: tuple[str, ...] = ()  # logical ids for `apply --allow-replace` (label given)
    action_items: tuple[str, ...] = ()  # what a person must do besides applying (never stops the gate)


def _protected(change: ResourceChange) -> bool:
    """Whether the stack policy blocks this change unless `--allow-replace` names it."""
    return bool(blocked_changes([change]))


def needs_label(change: ResourceChange) -> bool:
    return change.risk == DANGER or _protected(change)


def danger_changes(plan: Plan) -> list[str]:
    out = []
    for s in sorted(plan.stacks, key=lambda s: s.label):
        for c in s.changes:
            if needs_label(c):
                out.append(f"{s.label}: {c.logical_id} ({c.resource_type}) {c.action}"
                           + (" with replacement" if c.replacement == "True" else "")
                           + (" (conditional replacement)" if c.replacement == "Conditional" else "")
                           + f", risk {c.risk}")
    return out


def allow_replace_ids(plan: Plan) -> tuple[str, ...]:
    return tuple(sorted({c.logical_id for s in plan.stacks for c in s.changes if _protected(c)}))


def environments(plan: Plan, order: Iterable[str] = ()) -> tuple[str, ...]:
    """Environments with changes: those named in `order` first, in that order, then the rest
    alphabetically."""
    envs = {s.environment for s in plan.stacks if s.environment and s.has_changes}
    ranked = [e for e in order if e and e in envs]
    return tuple(ranked + sorted(envs - set(ranked)))


def stack_differences(plan: Plan, approved: Plan) -> list[str]:
    """What differs between two plans, stack by stack, for a person to read."""
    mine = {s.label: s.fingerprint for s in plan.stacks if s.has_changes}
    theirs = {s.label: s.fingerprint for s in approved.stacks if s.has_changes}
    out = []
    for name in sorted(set(mine) | set(theirs)):
        if name not in theirs:
            out.append(f"{name}: changes now, had none in the reviewed plan")
        elif name not in mine:
            out.append(f"{name}: no changes now, had changes in the reviewed plan")
        elif mine[name] != theirs[name]:
            out.append(f"{name}: its changes differ from the reviewed plan")
    return out


def evaluate(plan: Plan, *, approved: Sequence[Plan] = (), expected: str = "", labels: Iterable[str] = (),
             danger_label: str = DEFAULT_DANGER_LABEL, env: str | None = None, unreviewed: str = "stop",
             env_order: Iterable[str] = (), source: str = "the reviewed plan",
             review: bool = True) -> GateResult:
    """`review=False` skips the review question (a pull request's own check: only danger)."""
    mine = plan.only(env)
    fp = mine.fingerprint
    scope = f" for environment '{env}'" if env else ""
    changes = any(s.has_changes for s in mine.stacks)
    problems: list[str] = []
    notes: list[str] = []
    if not review:
        pass
    elif expected:
        if expected.strip() != fp:
            problems.append(f"the plan{scope} has fingerprint {fp}, not the {expected.strip()} given: the plan "
                            "changed since it was reviewed; review this run's plan and run again with its fingerprint")
        else:
            notes.append(f"the plan{scope} matches the fingerprint given ({fp[:19]})")
    elif approved:
        reviewed = combine(approved).only(env)
        if reviewed.fingerprint != fp:
            diffs = stack_differences(mine, reviewed)
            problems.append(
                f"the plan{scope} ({fp[:19]}) differs from {source} ({reviewed.fingerprint[:19]}): something changed "
                "between review and deploy (another merge, a manual change in AWS, or drift)."
                + ("".join(f"\n  - {d}" for d in diffs))
                + f"\n  Review this run's plan, then run the Deploy workflow by hand with fingerprint={fp}.")
        else:
            notes.append(f"the plan{scope} matches {source} (fingerprint {fp[:19]})")
    elif changes:
        if unreviewed == "apply":
            notes.append("no reviewed plan for this commit; applying anyway (SHIPSPEC_UNREVIEWED_PUSH=apply)")
        else:
            problems.append(
                "no reviewed plan for this commit (pushed without a pull request, or the pull request's plan "
                "artifact is missing or expired). Review the plan in this run's summary, then run the Deploy "
                f"workflow by hand with fingerprint={fp}.")
    danger = danger_changes(mine)
    allowed = danger_label in {label.strip() for label in labels if label.strip()}
    if danger:
        if allowed:
            notes.append(f"{len(danger)} dangerous change(s) allowed by the '{danger_label}' label")
        else:
            problems.append(
                f"{len(danger)} change(s){scope} would lose data or replace/remove a stateful resource:"
                + "".join(f"\n  - {d}" for d in danger)
                + f"\n  Add the '{danger_label}' label to the pull request (a manual run: set allow_danger) "
                  "once you have checked them.")
    envs = environments(mine, env_order) if env is None else ((env,) if changes else ())
    return GateResult(not problems, fp, envs, tuple(danger), tuple(problems), tuple(notes),
                      allow_replace_ids(mine) if allowed else (), tuple(mine.action_items()))


def summary_markdown(result: GateResult) -> str:
    head = "### Deploy gate: passed" if result.ok else "### Deploy gate: stopped"
    lines = [head, "", f"Change fingerprint (a manual deploy run's `fingerprint` input): `{result.fingerprint}`", ""]
    for p in result.problems:
        first, *rest = p.split("\n")
        lines.append(f"- :no_entry: {first}")
        lines += [f"  {r.strip()}" for r in rest]
    lines += [f"- {n}" for n in result.notes]
    lines += [f"- :warning: action item (not done by apply): {item}" for item in result.action_items]
    if result.environments:
        lines.append(f"- environments to deploy, in order: {', '.join(result.environments)}")
    return "\n".join(lines) + "\n"
