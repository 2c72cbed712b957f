"""Text and JSON for `shipspec diff`: per stack, the changes most dangerous first, then a summary."""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from ..deploy.changes import RISK_ORDER, PropertyChange, ResourceChange, counts
from ..deploy.runtime import RuntimeChange, RuntimeRow
from ..deploy.stackdiff import StackDiff

MAX_VALUE = 160
_STATUS = {"new": "new stack", "removed": "stack removed", "changed": "changed", "unchanged": "unchanged"}


def format_value(value: Any) -> str:
    if value is None:
        return "(none)"
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 3] + "..."


def format_pair(before: Any, after: Any) -> tuple[str, str]:
    """Both values; long strings that share a beginning are shown from just before where they
    differ, so the difference stays visible however long the values are."""
    if not (isinstance(before, str) and isinstance(after, str)):
        return format_value(before), format_value(after)
    ja, jb = json.dumps(before, ensure_ascii=False), json.dumps(after, ensure_ascii=False)
    same = next((i for i, (x, y) in enumerate(zip(ja, jb)) if x != y), min(len(ja), len(jb)))
    start = max(0, same - 20)
    if max(len(ja), len(jb)) <= MAX_VALUE or start == 0:
        return format_value(before), format_value(after)

    def window(text: str) -> str:
        part = "..." + text[start:]
        return part if len(part) <= MAX_VALUE else part[:MAX_VALUE - 3] + "..."

    return window(ja), window(jb)


def _replacement(change: ResourceChange) -> str:
    if change.action != "Modify":
        return ""
    text = {"True": "replacement: True (REPLACED)", "False": "in place (replacement: False)",
            "Conditional": "replacement: Conditional (may be replaced)"}.get(
        change.replacement or "", "replacement: unknown (type not in the schemas)")
    return text


def _policy(change: ResourceChange) -> str:
    if change.action == "Remove":
        return {"Retain": "the resource is kept (DeletionPolicy: Retain)",
                "Snapshot": "a snapshot is kept (DeletionPolicy: Snapshot)"}.get(
            change.policy_action or "", "the resource is deleted")
    if change.replacement == "True":
        return {"ReplaceAndRetain": "the old one is kept (UpdateReplacePolicy: Retain)",
                "ReplaceAndSnapshot": "the old one is snapshotted (UpdateReplacePolicy: Snapshot)"}.get(
            change.policy_action or "", "the old one is deleted")
    return ""


_STAGE = re.compile(r"^Stages\[(?P<stage>[^\]\[\"]+)\]$")
_ACTION = re.compile(r"^Stages\[(?P<stage>[^\]\[\"]+)\]\.Actions\[(?P<action>[^\]\[\"]+)\]$")
MARK = {"add": "+", "remove": "-", "modify": "~", "move": ">", "reorder": "~"}


def _provider(action: Any) -> str:
    type_id = action.get("ActionTypeId") if isinstance(action, dict) else None
    return str(type_id.get("Provider", "")) if isinstance(type_id, dict) else ""


def _action(name: str, value: Any) -> str:
    provider = _provider(value)
    return f"action {name}" + (f" ({provider})" if provider else "")


def describe(p: PropertyChange) -> str:
    """What changes at `p.path`, named the way the spec names it: `stage Test`, `action Unit
    (CodeBuild) in stage Build`, else the keyed path."""
    value = p.after if p.op == "add" else p.before
    m = _STAGE.match(p.path)
    if m:
        return f"stage {m['stage']}"
    m = _ACTION.match(p.path)
    if m:
        return f"{_action(m['action'], value)} in stage {m['stage']}"
    return p.path


def added_summary(p: PropertyChange) -> str:
    """The summary of an added element: a stage's actions, else its value."""
    if _STAGE.match(p.path) and isinstance(p.after, dict):
        actions = [a for a in p.after.get("Actions") or () if isinstance(a, dict)]
        return ", ".join(_action(str(a.get("Name", "?")), a) for a in actions)
    if _ACTION.match(p.path):
        return ""
    return format_value(p.after)


def property_line(p: PropertyChange) -> str:
    """One line per change: `+` added, `-` removed, `~` modified, `>` moved (order matters)."""
    recreation = f"  [requires recreation: {p.requires_recreation}]" if p.requires_recreation not in ("", "Never") else ""
    mark = MARK.get(p.op, "~")
    if p.cause:
        return f"{mark} {p.path}: {format_value(p.after)}  (value changes: {p.cause}){recreation}"
    if p.op == "add":
        where = f" ({p.position})" if p.position else ""
        summary = added_summary(p)
        return f"+ {describe(p)}{where}" + (f": {summary}" if summary else "") + recreation
    if p.op == "remove":
        return f"- {describe(p)}{recreation}"
    if p.op == "move":
        return f"> {describe(p)} moves: {p.before} -> {p.after}"
    if p.op == "reorder":
        order = lambda v: ", ".join(map(str, v)) if isinstance(v, list) else format_value(v)  # noqa: E731
        return f"~ {p.path}: same elements, new order (no effect): {order(p.before)} -> {order(p.after)}"
    before, after = format_pair(p.before, p.after)
    return f"~ {p.path}: {before} -> {after}{recreation}"


def ordered_properties(change: ResourceChange) -> list[PropertyChange]:
    """Most dangerous first: what recreates the resource, then removals, changes, moves, additions."""
    rank = {"Always": 0, "Conditionally": 1}
    ops = ("remove", "modify", "move", "reorder", "add")
    return sorted(change.properties, key=lambda p: (rank.get(p.requires_recreation, 2),
                                                    ops.index(p.op) if p.op in ops else 1))


def change_lines(change: ResourceChange) -> list[str]:
    head = f"{change.risk.upper() if change.risk == 'danger' else change.risk:<8} {change.action:<7} " \
           f"{change.logical_id} ({change.resource_type})"
    extra = "; ".join(x for x in (_replacement(change), _policy(change)) if x)
    lines = [f"  {head}" + (f"  {extra}" if extra else "")]
    lines += [f"      {property_line(p)}" for p in ordered_properties(change)]
    return lines


_FIELD = {"image": "image", "cluster": "cluster", "service": "ECS service", "container": "container",
          "cpu": "task cpu", "memory": "task memory", "buildspec": "build.buildspec", "strategy": "deploy.strategy",
          "load_balancers": "load balancers of the traffic-shifting rollout"}


def runtime_row(r: RuntimeRow) -> str:
    """One container-level change, the way the spec says it."""
    if r.field in ("environment", "secrets"):
        what = f"{'environment variable' if r.field == 'environment' else 'secret'} {r.key}"
        if r.op == "add":
            return f"+ {what} = {format_value(r.after)}"
        if r.op == "remove":
            return (f"- {what} (was {format_value(r.before)}): no longer set by the spec; the update keeps it in "
                    "the running container until it is removed from the task definition by hand")
        before, after = format_pair(r.before, r.after)
        return f"~ {what}: {before} -> {after}"
    if r.field == "deployment":  # update-service sends the whole configuration on every run
        what = f"rollout setting {r.key}"
        if r.op == "remove":
            return f"- {what} (was {format_value(r.before)})"
        if r.op == "add":
            return f"+ {what} = {format_value(r.after)}"
        before, after = format_pair(r.before, r.after)
        return f"~ {what}: {before} -> {after}"
    what = _FIELD.get(r.field, r.field)
    if r.op == "add":
        return f"+ {what} = {format_value(r.after)}"
    if r.op == "remove":
        return f"- {what} (was {format_value(r.before)}): the update keeps the current value"
    before, after = format_pair(r.before, r.after)
    return f"~ {what}: {before} -> {after}"


def runtime_title(rc: RuntimeChange) -> str:
    status = {"new": "first deploy", "unknown": "the deployed stack records no runtime settings: all shown as new",
              "changed": f"{len(rc.rows)} change{'s' if len(rc.rows) != 1 else ''}"}.get(rc.status, rc.status)
    return (f"runtime {rc.service} ({rc.environment}): container {rc.container} of ECS service {rc.cluster}/"
            f"{rc.ecs_service}, build.buildspec: {rc.mode}: {status}")


def runtime_lines(rc: RuntimeChange, indent: str = "  ") -> list[str]:
    lines = [f"{indent}{runtime_title(rc)}"]
    lines += [f"{indent}    {runtime_row(r)}" for r in rc.rows]
    lines += [f"{indent}    action item: {item}" for item in rc.action_items()]
    return lines


def stack_lines(d: StackDiff) -> list[str]:
    where = "/".join(x for x in (d.account, d.region) if x)
    n = len(d.changes)
    lines = [f"{d.stack} [{_STATUS.get(d.status, d.status)}] {d.template}" + (f" ({where})" if where else "")
             + f": {n} resource change{'s' if n != 1 else ''}"]
    if d.runtime is not None and d.runtime.changed:
        lines += runtime_lines(d.runtime)
    for change in d.changes:
        lines += change_lines(change)
    if d.sections:
        lines.append(f"  also changed: {', '.join(d.sections)}")
    return lines


def summary(diffs: Iterable[StackDiff]) -> dict:
    diffs = list(diffs)
    status = {s: sum(1 for d in diffs if d.status == s) for s in ("changed", "new", "removed", "unchanged")}
    risk = counts(c for d in diffs for c in d.changes)
    runtime = [d.runtime for d in diffs if d.runtime is not None and d.runtime.changed]
    return {"stacks": status, "changes": sum(risk.values()), "risk": risk,
            "runtime_changes": len(runtime), "action_items": [i for r in runtime for i in r.action_items()]}


def summary_line(diffs: Iterable[StackDiff], ref: str) -> str:
    s = summary(diffs)
    st = s["stacks"]
    touched = st["changed"] + st["new"] + st["removed"]
    risks = ", ".join(f"{s['risk'][r]} {r}" for r in RISK_ORDER)
    runtime = (f"; runtime changes in {s['runtime_changes']} service environment{'s' if s['runtime_changes'] != 1 else ''}"
               if s["runtime_changes"] else "")
    items = f"; {len(s['action_items'])} action item{'s' if len(s['action_items']) != 1 else ''}" \
        if s["action_items"] else ""
    return (f"{touched} stack{'s' if touched != 1 else ''} differ{'s' if touched == 1 else ''} from {ref}: "
            f"{st['new']} new, {st['removed']} removed, {st['unchanged']} unchanged; "
            f"{s['changes']} resource change{'s' if s['changes'] != 1 else ''}: {risks}{runtime}{items}")


def text_report(diffs: list[StackDiff], ref: str, commit: str) -> str:
    lines: list[str] = []
    for d in diffs:
        if d.status != "unchanged":
            lines += stack_lines(d) + [""]
    lines.append(summary_line(diffs, f"{ref} {commit[:12]}"))
    return "\n".join(lines)


def json_report(diffs: list[StackDiff], ref: str, commit: str) -> str:
    doc = {"base": ref, "commit": commit, "summary": summary(diffs), "stacks": [d.to_json() for d in diffs]}
    return json.dumps(doc, indent=2, sort_keys=False, default=str)
