"""Text and JSON for `shipspec status` and `shipspec doctor` (pure; the commands print)."""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict
from typing import Any

from ..ops.doctor import Diagnosis, Finding
from ..ops.evidence import Evidence
from ..ops.rollouts import Rollouts
from ..ops.status import Snapshot

WIDTH = 100
_LABEL = {"error": "PROBLEM", "warning": "WARNING"}


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True)


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False) or [indent.rstrip()]


def _heading(snap: Snapshot) -> str:
    return f"{snap.service} ({snap.environment}) - account {snap.account}, region {snap.region}"


def rollout_lines(r: Rollouts) -> list[str]:
    """The service's rollouts (ECS service deployments), newest first: each judged by its own status."""
    if not r.items and not r.notes:
        return ["  rollouts: none recorded (ECS lists service deployments started since 2024)"]
    lines = ["  rollouts (service deployments, newest first):"] if r.items else []
    for x in r.items:
        counts = f", {x.running} of {x.desired} running" if x.in_progress else ""
        stage = f" ({x.stage})" if x.stage and x.in_progress else ""
        lines.append(f"    {x.id:<22} {x.strategy or '-':<10} {x.status + stage:<22} "
                     f"{', '.join(x.source) or '?'} -> {x.target or '?'}{counts}")
        lines.append(f"    {'':<22} created {x.created or '-'}" + (f", finished {x.finished}" if x.finished else ""))
        for reason in dict.fromkeys(t for t in (x.reason, x.rollback_reason) if t):
            lines.append(f"    {'':<22} {reason}")
    lines += [f"  note: {n}" for n in r.notes]
    return lines


def status_lines(snap: Snapshot, rollouts: Rollouts | None = None) -> list[str]:
    p, s = snap.pipeline, snap.ecs
    lines = [_heading(snap), "", f"Pipeline {p.name}"]
    if p.found:
        if p.executions:
            lines.append("  latest executions:")
            for e in p.executions:
                commit = e.commit or "-"
                summary = f'  "{e.summary}"' if e.summary else ""
                lines.append(f"    {e.status:<11} {e.started or '-':<20} {commit:<12} {e.id}{summary}")
        else:
            lines.append("  no executions yet")
        if p.stages:
            lines.append("  stages:")
            for st in p.stages:
                lines.append(f"    {st.name:<14} {st.status or 'never ran':<11} {st.changed or '-':<20} "
                             f"{st.revision or ''}".rstrip())
    lines += [f"  note: {n}" for n in p.notes]
    lines.append("")
    if not s.found:
        lines.append(f"Service {s.name} in cluster {s.cluster}: not found")
        lines += [f"  note: {n}" for n in s.notes]
        return lines
    lines.append(f"Service {s.name} in cluster {s.cluster} ({s.launch_type or '?'}): {s.status}, "
                 f"{s.running} of {s.desired} running, {s.pending} pending")
    if rollouts is not None:
        lines += rollout_lines(rollouts)
    if s.deployments:
        lines.append("  tasks by deployment:" if rollouts is not None else "  deployments:")
    for d in s.deployments:
        lines.append(f"    {d.status:<8} {d.rollout_state or '-':<12} {d.task_definition:<24} "
                     f"{d.running} of {d.desired} running, {d.pending} pending, {d.failed} failed, "
                     f"created {d.created or '-'}")
        lines += [f"             {image}" for image in d.images]
        if d.rollout_reason:
            lines.append(f"             {d.rollout_reason}")
    if s.events:
        lines.append("  latest events:")
        lines += [f"    {e.created:<20} {e.message}" for e in s.events]
    else:
        lines.append("  no service events")
    lines += [f"  note: {n}" for n in s.notes]
    return lines


def format_status(snap: Snapshot, fmt: str = "text", rollouts: Rollouts | None = None) -> str:
    if fmt == "json":
        return _json({**asdict(snap), **({"rollouts": asdict(rollouts)} if rollouts is not None else {})})
    return "\n".join(status_lines(snap, rollouts))


def finding_lines(f: Finding) -> list[str]:
    lines = [f"{_LABEL.get(f.severity, f.severity.upper())} {f.id}: {f.title}"]
    if f.evidence:
        lines.append("  seen:")
        lines += [f"    {e}" for e in f.evidence]
    lines += _wrap(f"what it means: {f.meaning}", "  ")
    lines += _wrap(f"how to fix it: {f.fix}", "  ")
    lines += [f"    {cmd}" if cmd.startswith("#") else f"    $ {cmd}" for cmd in f.commands]
    lines += [f"  {d}" for d in f.details]
    lines.append(f"  more: {f.anchor} and {f.doc_url}")
    return lines


def format_doctor(ev: Evidence, d: Diagnosis, fmt: str = "text") -> str:
    if fmt == "json":
        return _json({"healthy": d.healthy, "summary": d.summary,
                      "findings": [dict(asdict(f), anchor=f.anchor) for f in d.findings],
                      "evidence": asdict(ev)})
    s = ev.snapshot.ecs
    lines = [f"doctor: {_heading(ev.snapshot)}",
             f"service {s.name} in cluster {s.cluster}", ""]
    for f in d.findings:
        lines += finding_lines(f) + [""]
    notes = (*ev.notes, *ev.rollouts.notes)
    if notes:
        lines += [f"note: {n}" for n in notes] + [""]
    lines.append(d.summary)
    return "\n".join(lines)
