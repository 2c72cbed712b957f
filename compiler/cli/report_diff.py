"""Text and JSON for `shipspec diff`: per stack, the changes most dangerous first, then a summary."""

from __future__ import annotations

import json
from typing import Any, Iterable

from ..deploy.changes import RISK_ORDER, PropertyChange, ResourceChange, counts
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


def property_line(p: PropertyChange) -> str:
    recreation = f"  [requires recreation: {p.requires_recreation}]" if p.requires_recreation not in ("", "Never") else ""
    if p.cause:
        return f"{p.path}: {format_value(p.after)}  (value changes: {p.cause}){recreation}"
    before, after = format_pair(p.before, p.after)
    return f"{p.path}: {before} -> {after}{recreation}"


def change_lines(change: ResourceChange) -> list[str]:
    head = f"{change.risk.upper() if change.risk == 'danger' else change.risk:<8} {change.action:<7} " \
           f"{change.logical_id} ({change.resource_type})"
    extra = "; ".join(x for x in (_replacement(change), _policy(change)) if x)
    lines = [f"  {head}" + (f"  {extra}" if extra else "")]
    lines += [f"      {property_line(p)}" for p in change.properties]
    return lines


def stack_lines(d: StackDiff) -> list[str]:
    where = "/".join(x for x in (d.account, d.region) if x)
    n = len(d.changes)
    lines = [f"{d.stack} [{_STATUS.get(d.status, d.status)}] {d.template}" + (f" ({where})" if where else "")
             + f": {n} resource change{'s' if n != 1 else ''}"]
    for change in d.changes:
        lines += change_lines(change)
    if d.sections:
        lines.append(f"  also changed: {', '.join(d.sections)}")
    return lines


def summary(diffs: Iterable[StackDiff]) -> dict:
    diffs = list(diffs)
    status = {s: sum(1 for d in diffs if d.status == s) for s in ("changed", "new", "removed", "unchanged")}
    risk = counts(c for d in diffs for c in d.changes)
    return {"stacks": status, "changes": sum(risk.values()), "risk": risk}


def summary_line(diffs: Iterable[StackDiff], ref: str) -> str:
    s = summary(diffs)
    st = s["stacks"]
    touched = st["changed"] + st["new"] + st["removed"]
    risks = ", ".join(f"{s['risk'][r]} {r}" for r in RISK_ORDER)
    return (f"{touched} stack{'s' if touched != 1 else ''} differ{'s' if touched == 1 else ''} from {ref}: "
            f"{st['new']} new, {st['removed']} removed, {st['unchanged']} unchanged; "
            f"{s['changes']} resource change{'s' if s['changes'] != 1 else ''}: {risks}")


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
