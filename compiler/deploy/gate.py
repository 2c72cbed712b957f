"""The deploy gate: may this plan be applied without a person looking again?

Pure functions over plan JSON documents (what `shipspec plan --format json` writes). Two
questions, both must pass:

1. Review. The plan about to be applied must be the plan that was reviewed: its change
   fingerprint equals the reviewed plan's (the pull request's plan artifacts, one per shard,
   taken together), or a fingerprint a person typed into a manual run. The change fingerprint
   is a hash of what each stack would change (stack, status, and per resource the action,
   replacement, risk, policy and property values), so it does not depend on how the plan was
   sharded, when it ran or which change sets it made. With `env`, only that environment's
   stacks count, so each environment's deploy job re-checks its own part just before it
   applies. Without any reviewed plan (a direct push) the gate stops unless the policy says
   `apply`.
2. Danger. A change whose risk is `danger` (data loss: see `compiler.deploy.changes`), or that
   replaces or removes a stateful resource (which the stack policy blocks unless
   `apply --allow-replace` names it: see `compiler.deploy.aws.protect`), needs the danger label on the
   pull request (or the manual run's `allow_danger` input). With the label, the gate gives the
   logical ids to pass to `apply --allow-replace`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

DANGER = "danger"
DEFAULT_DANGER_LABEL = "allow-danger"
NO_CHANGE_STATUSES = frozenset({"no-change", "unchanged", "no-changes", "no_changes", "none", "noop"})
# Fields of a change that say what changes; the rest (who reported it) may differ between runs.
CHANGE_FIELDS = ("logical_id", "resource_type", "action", "replacement", "risk", "policy_action", "properties",
                 "details")


@dataclass(frozen=True)
class GateResult:
    ok: bool
    fingerprint: str
    environments: tuple[str, ...]  # environments with changes, in deploy order
    danger: tuple[str, ...]  # "stack: LogicalId (Type) Action"
    problems: tuple[str, ...]  # why the gate stops (empty when ok)
    notes: tuple[str, ...]  # what a person should know anyway
    allow_replace: tuple[str, ...] = ()  # logical ids for `apply --allow-replace` (label given)


def stack_name(stack: dict) -> str:
    return str(stack.get("stack_name") or stack.get("stack") or stack.get("name") or "?")


def stack_label(stack: dict) -> str:
    """The stack's name, with its account/region (one name, e.g. the bootstrap stack's, exists in
    several)."""
    where = "/".join(str(stack[k]) for k in ("account", "region") if stack.get(k))
    return f"{stack_name(stack)} ({where})" if where else stack_name(stack)


def stacks_of(plan: dict, env: str | None = None) -> list[dict]:
    stacks = [s for s in plan.get("stacks") or [] if isinstance(s, dict)]
    if env:
        stacks = [s for s in stacks if s.get("environment") == env]
    return sorted(stacks, key=stack_label)


def has_changes(stack: dict) -> bool:
    if stack.get("changes"):
        return True
    return str(stack.get("status") or "unchanged").lower() not in NO_CHANGE_STATUSES


def _canonical_stack(stack: dict) -> dict:
    changes = [{k: c.get(k) for k in CHANGE_FIELDS} for c in stack.get("changes") or [] if isinstance(c, dict)]
    changes.sort(key=lambda c: json.dumps(c, sort_keys=True, default=str))
    return {"stack": stack_name(stack), "service": stack.get("service"), "environment": stack.get("environment"),
            "account": stack.get("account"), "region": stack.get("region"), "status": stack.get("status"),
            "template_sha256": stack.get("template_sha256"), "parameters": stack.get("parameters"),
            "changes": changes}


def digest(plan: dict, env: str | None = None) -> str:
    """A stable hash of what the stacks (of one environment) would change."""
    body = [_canonical_stack(s) for s in stacks_of(plan, env) if has_changes(s)]
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def combine(plans: Sequence[dict]) -> dict:
    """Several plans (shards of one run) as one; a stack in more than one counts once."""
    stacks = {stack_label(s): s for p in plans for s in stacks_of(p)}
    return {"stacks": list(stacks.values())}


def _protected(change: dict) -> bool:
    """Whether the stack policy blocks this change unless `--allow-replace` names it."""
    from .aws.protect import blocked_changes
    from .changes import ResourceChange

    rc = ResourceChange(str(change.get("logical_id")), str(change.get("resource_type")), str(change.get("action")),
                        change.get("replacement"))
    return bool(blocked_changes([rc]))


def needs_label(change: dict) -> bool:
    return change.get("risk") == DANGER or _protected(change)


def danger_changes(plan: dict, env: str | None = None) -> list[str]:
    out = []
    for s in stacks_of(plan, env):
        rows = [c for c in s.get("changes") or [] if isinstance(c, dict) and needs_label(c)]
        for c in rows:
            out.append(f"{stack_label(s)}: {c.get('logical_id', '?')} ({c.get('resource_type', '?')}) "
                       f"{c.get('action', '?')}"
                       + (" with replacement" if c.get("replacement") == "True" else "")
                       + (" (conditional replacement)" if c.get("replacement") == "Conditional" else "")
                       + f", risk {c.get('risk', '?')}")
        if not rows and s.get("risk") == DANGER:
            out.append(f"{stack_label(s)}: a danger change")
    return out


def allow_replace_ids(plan: dict, env: str | None = None) -> tuple[str, ...]:
    return tuple(sorted({str(c.get("logical_id")) for s in stacks_of(plan, env) for c in s.get("changes") or []
                         if isinstance(c, dict) and _protected(c)}))


def environments(plan: dict, order: Iterable[str] = ()) -> tuple[str, ...]:
    """Environments with changes: those named in `order` first, in that order, then the rest
    alphabetically."""
    envs = {str(s["environment"]) for s in stacks_of(plan) if s.get("environment") and has_changes(s)}
    order = [e for e in order if e]
    ranked = [e for e in order if e in envs]
    return tuple(ranked + sorted(envs - set(ranked)))


def stack_differences(plan: dict, approved: dict, env: str | None = None) -> list[str]:
    """What differs between two plans, stack by stack, for a person to read."""
    mine = {stack_label(s): _canonical_stack(s) for s in stacks_of(plan, env) if has_changes(s)}
    theirs = {stack_label(s): _canonical_stack(s) for s in stacks_of(approved, env) if has_changes(s)}
    out = []
    for name in sorted(set(mine) | set(theirs)):
        if name not in theirs:
            out.append(f"{name}: changes now, had none in the reviewed plan")
        elif name not in mine:
            out.append(f"{name}: no changes now, had changes in the reviewed plan")
        elif mine[name] != theirs[name]:
            out.append(f"{name}: its changes differ from the reviewed plan")
    return out


def evaluate(plan: dict, *, approved: Sequence[dict] | None = None, expected: str = "", labels: Iterable[str] = (),
             danger_label: str = DEFAULT_DANGER_LABEL, env: str | None = None, unreviewed: str = "stop",
             env_order: Iterable[str] = (), source: str = "the reviewed plan",
             review: bool = True) -> GateResult:
    """`review=False` skips the review question (a pull request's own check: only danger)."""
    fp = digest(plan, env)
    scope = f" for environment '{env}'" if env else ""
    problems: list[str] = []
    notes: list[str] = []
    if not review:
        pass
    elif expected:
        if expected.strip() != fp:
            problems.append(f"the plan{scope} has fingerprint {fp}, not the {expected.strip()} given: the plan "
                            "changed since it was reviewed; review this run's plan and run again with its fingerprint")
        else:
            notes.append(f"the plan{scope} matches the fingerprint given ({fp[:12]})")
    elif approved:
        reviewed = combine(approved)
        theirs = digest(reviewed, env)
        if theirs != fp:
            diffs = stack_differences(plan, reviewed, env)
            problems.append(
                f"the plan{scope} ({fp[:12]}) differs from {source} ({theirs[:12]}): something changed between "
                "review and deploy (another merge, a manual change in AWS, or drift)."
                + ("".join(f"\n  - {d}" for d in diffs))
                + f"\n  Review this run's plan, then run the Deploy workflow by hand with fingerprint={fp}.")
        else:
            notes.append(f"the plan{scope} matches {source} (fingerprint {fp[:12]})")
    elif any(has_changes(s) for s in stacks_of(plan, env)):
        if unreviewed == "apply":
            notes.append("no reviewed plan for this commit; applying anyway (SHIPSPEC_UNREVIEWED_PUSH=apply)")
        else:
            problems.append(
                "no reviewed plan for this commit (pushed without a pull request, or the pull request's plan "
                "artifact is missing or expired). Review the plan in this run's summary, then run the Deploy "
                f"workflow by hand with fingerprint={fp}.")
    danger = danger_changes(plan, env)
    labels = {label.strip() for label in labels if label.strip()}
    allowed = danger_label in labels
    if danger:
        if allowed:
            notes.append(f"{len(danger)} dangerous change(s) allowed by the '{danger_label}' label")
        else:
            problems.append(
                f"{len(danger)} change(s){scope} would lose data or replace/remove a stateful resource:"
                + "".join(f"\n  - {d}" for d in danger)
                + f"\n  Add the '{danger_label}' label to the pull request (a manual run: set allow_danger) "
                  "once you have checked them.")
    return GateResult(not problems, fp, environments(plan, env_order) if env is None else
                      ((env,) if any(has_changes(s) for s in stacks_of(plan, env)) else ()),
                      tuple(danger), tuple(problems), tuple(notes),
                      allow_replace_ids(plan, env) if allowed else ())


def summary_markdown(result: GateResult) -> str:
    head = "### Deploy gate: passed" if result.ok else "### Deploy gate: stopped"
    lines = [head, "", f"Change fingerprint (a manual deploy run's `fingerprint` input): `{result.fingerprint}`", ""]
    for p in result.problems:
        first, *rest = p.split("\n")
        lines.append(f"- :no_entry: {first}")
        lines += [f"  {r.strip()}" for r in rest]
    lines += [f"- {n}" for n in result.notes]
    if result.environments:
        lines.append(f"- environments to deploy, in order: {', '.join(result.environments)}")
    return "\n".join(lines) + "\n"


def load_plan(text: str, what: str) -> dict[str, Any]:
    """Parse a plan JSON document; ValueError naming the file otherwise."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{what} is not JSON ({exc}); pass the file `shipspec plan --format json` wrote") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("stacks"), list):
        raise ValueError(f"{what} is not a shipspec plan (no 'stacks' list); pass the file "
                         "`shipspec plan --format json` wrote")
    return doc
