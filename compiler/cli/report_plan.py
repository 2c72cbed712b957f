"""Text (terminal) and markdown (pull-request comment) for `shipspec plan`, and apply's lines.

Markdown starts with the hidden marker `<!-- shipspec-plan -->` (CI finds and updates its
comment by it), gives head/base commits and the fingerprint, a table with one row per stack,
the runtime changes (what reaches the running containers) with their action items (files to
copy to service repositories), then per stack its changes most dangerous first in `<details>`
blocks. It never exceeds
`MARKDOWN_LIMIT` characters: property values go first, then whole stack sections (the most
dangerous stacks keep theirs longest), and it says what was left out.
"""

from __future__ import annotations

from typing import Iterable

from ..deploy.changes import RISK_ORDER, ResourceChange, sort_key
from ..deploy.plan import Plan, StackPlan
from .report_diff import added_summary, change_lines, describe, format_pair, format_value, ordered_properties, runtime_lines, runtime_row

MARKER = "<!-- shipspec-plan -->"
MARKDOWN_LIMIT = 60_000
_STATUS = {"create": "create", "update": "update", "no-change": "no change", "error": "error"}


def _short(commit: str | None) -> str:
    return commit[:12] if commit else "none"


def _target(plan: Plan) -> str:
    return "the local emulator" if plan.target == "local" else "AWS"


def totals(plan: Plan) -> dict[str, int]:
    out = {k: 0 for k in _STATUS}
    for s in plan.stacks:
        out[s.status] = out.get(s.status, 0) + 1
    return out


def summary_line(plan: Plan) -> str:
    t = totals(plan)
    danger = sum(s.risk_counts()["danger"] for s in plan.stacks)
    runtime, items = len(plan.runtime), len(plan.action_items())
    return (f"{t['create']} to create, {t['update']} to update, {t['no-change']} unchanged, "
            f"{t['error']} error{'s' if t['error'] != 1 else ''}; {danger} dangerous change{'s' if danger != 1 else ''}"
            + (f"; runtime changes in {runtime} service environment{'s' if runtime != 1 else ''}" if runtime else "")
            + (f"; {items} action item{'s' if items != 1 else ''}" if items else ""))


def _row(s: StackPlan) -> list[str]:
    return [s.stack_name, s.service or "(bootstrap)", s.environment or "-", f"{s.account}/{s.region}",
            _STATUS[s.status], str(len(s.changes)), str(s.replacements), str(s.risk_counts()["danger"])]


HEADERS = ["Stack", "Service", "Env", "Account/region", "Status", "Changes", "Replacements", "Danger"]


# --- text ------------------------------------------------------------------------------------------

def text(plan: Plan) -> str:
    lines = [f"shipspec plan against {_target(plan)}: {len(plan.stacks)} stack{'s' if len(plan.stacks) != 1 else ''}"
             f" (head {_short(plan.head)}, base {_short(plan.base)})",
             f"fingerprint {plan.fingerprint}", ""]
    rows = [HEADERS] + [_row(s) for s in plan.stacks]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    if plan.runtime:
        lines += ["", "Runtime changes (what the next pipeline run does to the running service):"]
        for rc in plan.runtime:
            lines += runtime_lines(rc)
    for s in plan.stacks:
        if s.status == "no-change" and not s.notes:
            continue
        lines += ["", f"{s.stack_name} ({s.account}/{s.region}): {_STATUS[s.status]}"
                  + (f", {len(s.changes)} change{'s' if len(s.changes) != 1 else ''}" if s.changes else "")]
        if s.error:
            lines.append(f"  error: {s.error}")
        for c in sorted(s.changes, key=sort_key):
            lines += change_lines(c)
        lines += [f"  note: {n}" for n in s.notes]
    lines += _orphan_text(plan)
    lines += ["", *[f"note: {n}" for n in plan.notes], summary_line(plan)]
    return "\n".join(lines) + "\n"


def _orphan_text(plan: Plan) -> list[str]:
    if not plan.orphans:
        return []
    lines = ["", "Orphaned stacks (their spec or environment is gone; shipspec never deletes them: "
             "`shipspec retire NAME --env ENV` does, after confirmation):"]
    lines += [f"  {o.stack_name} ({o.account}/{o.region}) {o.status}: service {o.service}, environment {o.environment}"
              for o in plan.orphans]
    return lines


# --- markdown --------------------------------------------------------------------------------------

def _html(text_: str) -> str:
    return text_.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _md(text_: str) -> str:
    return text_.replace("|", "\\|").replace("\n", " ")


def _code(value: str) -> str:
    value = value.replace("\n", " ")
    fence = "``" if "`" in value else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{value}{pad}{fence}".replace("|", "\\|")


def _md_replacement(c: ResourceChange) -> str:
    if c.action != "Modify":
        return "-"
    return {"True": "**yes**", "False": "no", "Conditional": "conditional"}.get(c.replacement or "", "unknown")


def _md_change_rows(s: StackPlan, values: bool) -> list[str]:
    lines = ["| Risk | Action | Resource | Type | Replacement | Source |", "|---|---|---|---|---|---|"]
    ordered = sorted(s.changes, key=sort_key)
    for c in ordered:
        risk = f"**{c.risk}**" if c.risk == "danger" else c.risk
        lines.append(f"| {risk} | {c.action} | {_code(c.logical_id)} | {_code(c.resource_type)} | "
                     f"{_md_replacement(c)} | {c.source} |")
    if values:
        props = [(c, p) for c in ordered for p in ordered_properties(c)]
        if props:
            lines += ["", "Property changes:", ""]
            for c, p in props:
                lines.append(f"- {_code(c.logical_id)} {_md_property(p)}")
    else:
        n = sum(len(c.properties) for c in s.changes)
        if n:
            lines += ["", f"_{n} property change{'s' if n != 1 else ''} left out for length; see the JSON plan._"]
    return lines


def _md_property(p) -> str:
    rec = f" (requires recreation: {p.requires_recreation})" if p.requires_recreation not in ("", "Never") else ""
    if p.cause:
        return f"{_code(p.path)}: {_code(format_value(p.after))} (value changes: {_md(p.cause)}){rec}"
    if p.op == "add":
        where = f" ({_md(p.position)})" if p.position else ""
        summary = added_summary(p)
        return f"**added** {_code(describe(p))}{where}" + (f": {_code(summary)}" if summary else "") + rec
    if p.op == "remove":
        return f"**removed** {_code(describe(p))}: was {_code(format_value(p.before))}{rec}"
    if p.op == "move":
        return f"**moved** {_code(describe(p))}: {_md(str(p.before))} -> {_md(str(p.after))}"
    if p.op == "reorder":
        return f"{_code(p.path)}: same elements, new order (no effect)"
    before, after = format_pair(p.before, p.after)
    return f"{_code(p.path)}: {_code(before)} -> {_code(after)}{rec}"


def _md_runtime(plan: Plan) -> list[str]:
    if not plan.runtime:
        return []
    lines = ["### Runtime changes", "",
             "What the next pipeline run does to the running service (the task definition revision it registers):", ""]
    for rc in plan.runtime:
        title = runtime_lines(rc, indent="")[0]
        lines.append(f"- **{_md(rc.service)}** ({_md(rc.environment)}): {_md(title.split(': ', 1)[1])}")
        lines += [f"  - {_code(runtime_row(r))}" for r in rc.rows]
    items = plan.action_items()
    if items:
        lines += ["", "### Action items", "", "Applying the stacks is not enough for these:", ""]
        lines += [f"- [ ] {_md(item)}" for item in items]
    return lines + [""]


def _md_section(s: StackPlan, values: bool) -> str:
    counts = s.risk_counts()
    risk = ", ".join(f"{counts[r]} {r}" for r in RISK_ORDER if counts[r])
    summary = f"<code>{_html(s.stack_name)}</code>: {_STATUS[s.status]}, {len(s.changes)} change{'s' if len(s.changes) != 1 else ''}"
    summary += f" ({risk})" if risk else ""
    body = []
    if s.error:
        body.append(f"**Error:** {_md(s.error)}")
    if s.changes:
        body += _md_change_rows(s, values)
    if s.notes:
        body += [""] + [f"- note: {_md(n)}" for n in s.notes]
    open_attr = " open" if s.status == "error" or counts["danger"] else ""
    return "\n".join([f"<details{open_attr}><summary>{summary}</summary>", "", *body, "", "</details>", ""])


def _section_order(stacks: Iterable[StackPlan]) -> list[StackPlan]:
    def rank(s: StackPlan) -> tuple:
        c = s.risk_counts()
        worst = next((i for i, r in enumerate(RISK_ORDER) if c[r]), len(RISK_ORDER))
        return (0 if s.status == "error" else 1, worst)
    shown = [s for s in stacks if s.status != "no-change" or s.notes]
    return sorted(shown, key=rank)  # stable: plan order within a rank


def markdown(plan: Plan, limit: int = MARKDOWN_LIMIT) -> str:
    head = [MARKER, "## shipspec plan", "",
            f"Target: {_target(plan)} · head {_code(_short(plan.head))} · base {_code(_short(plan.base))} · "
            f"fingerprint {_code(plan.fingerprint)}", "",
            f"**{summary_line(plan)}**", "",
            "| " + " | ".join(HEADERS) + " |", "|" + "---|" * 4 + "---|" + "---:|" * 3]
    head += ["| " + " | ".join([_code(r[0]), *[_md(x) for x in r[1:]]]) + " |" for r in map(_row, plan.stacks)]
    head.append("")
    if plan.notes:
        head += [f"> {_md(n)}" for n in plan.notes] + [""]
    head += _md_runtime(plan)
    tail = []
    if plan.orphans:
        tail += ["### Orphaned stacks", "",
                 "Their spec or environment is gone. shipspec never deletes them; "
                 "`shipspec retire NAME --env ENV` does, after confirmation.", ""]
        tail += [f"- {_code(o.stack_name)} ({o.account}/{o.region}, {o.status}): service {_md(o.service)}, "
                 f"environment {_md(o.environment)}" for o in plan.orphans] + [""]
    base = "\n".join(head) + "\n"
    end = "\n".join(tail)
    budget = limit - len(base) - len(end) - 400  # room for the truncation note
    sections, trimmed, dropped = [], 0, []
    for s in _section_order(plan.stacks):
        full = _md_section(s, values=True)
        compact = _md_section(s, values=False)
        if len(full) <= budget:
            sections.append(full)
            budget -= len(full)
        elif len(compact) <= budget:
            sections.append(compact)
            budget -= len(compact)
            trimmed += 1
        else:
            dropped.append(s.stack_name)
    note = ""
    if trimmed or dropped:
        parts = []
        if trimmed:
            parts.append(f"property values of {trimmed} stack{'s' if trimmed != 1 else ''}")
        if dropped:
            parts.append(f"the details of {len(dropped)} stack{'s' if len(dropped) != 1 else ''}")
        note = (f"> Left out to stay under {limit:,} characters: {' and '.join(parts)}. "
                "The full plan is in the JSON artifact (`shipspec plan --format json`).\n\n")
    out = base + "".join(sections) + note + end
    if len(out) > limit:  # the table alone is too long (thousands of stacks): cut it, say so
        cut = "\n\n> Truncated: the full plan is in the JSON artifact (`shipspec plan --format json`).\n"
        out = out[: limit - len(cut)] + cut
    return out


# --- apply -----------------------------------------------------------------------------------------

def apply_summary(results) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    order = ("applied", "no-change", "error", "skipped")
    return ", ".join(f"{counts.get(k, 0)} {k.replace('-', ' ')}" for k in order)


def apply_lines(results) -> list[str]:
    lines = []
    for r in results:
        lines.append(f"{r.status.upper():<10} {r.label}" + (f": {r.message}" if r.message else ""))
        lines += [f"           note: {n}" for n in r.notes]
    return lines
