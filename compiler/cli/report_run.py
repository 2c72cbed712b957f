"""Text and JSON for `shipspec local run` (pure; the command prints): the execution like the console's
execution view -- each stage and action with its status and time, what it did, the log tail of a failed
action -- then the notifications the rules matched and what the inbox received."""

from __future__ import annotations

import json
import os
from dataclasses import asdict

from ..local.run_model import RunResult

NAME_WIDTH = 26


def _seconds(value: float) -> str:
    return f"{value:.1f}s"


def _where(path: str, root: str) -> str:
    try:
        return os.path.relpath(path, root)
    except ValueError:
        return path


def format_run(r: RunResult, fmt: str = "text", root: str = ".") -> str:
    if fmt == "json":
        doc = asdict(r)
        doc["logs"] = _where(r.logs, root)
        for stage in doc["stages"]:
            for action in stage["actions"]:
                action["log"] = _where(action["log"], root) if action["log"] else ""
        return json.dumps(doc, indent=2, sort_keys=True)
    lines = [f"pipeline {r.pipeline}, execution {r.execution_id}: {r.status} in {_seconds(r.seconds)}",
             f"local emulator {r.endpoint}, account {r.account}, region {r.region}; started {r.started} by "
             f"{r.trigger}", "",
             f"{'STAGE / ACTION':<{NAME_WIDTH}} {'STATUS':<10} {'TIME':>7}  DETAIL"]
    for stage in r.stages:
        status = stage.status or "not run"
        lines.append(f"{stage.name:<{NAME_WIDTH}} {status:<10} {_seconds(stage.seconds) if stage.status else '':>7}")
        for a in stage.actions:
            label = f"  {a.name}" + (f" [{a.run_order}]" if a.run_order != 1 else "")
            detail = a.error or a.summary
            lines.append(f"{label:<{NAME_WIDTH}} {a.status:<10} {_seconds(a.seconds):>7}  {a.provider}: {detail}")
    failed = [a for s in r.stages for a in s.actions if a.error]
    for a in failed:
        lines += ["", f"FAILED {a.stage}/{a.name}: {a.error}", f"  log tail ({_where(a.log, root)}):"]
        lines += [f"    {line}" for line in a.log_tail]
    lines += ["", f"events: {len(r.events)} emitted; {len(r.deliveries)} matched a rule"]
    for d in r.deliveries:
        subject = f': "{d.subject}"' if d.subject else ""
        lines.append(f"  {d.event:<28} rule {d.rule} -> {d.target}: {d.result}{subject}")
    if r.received:
        lines.append("notifications received (SNS -> SQS inbox):")
        for m in r.received:
            lines.append(f"  {m.subject or '(no subject)'}")
            lines += [f"      {line}".rstrip() for line in m.message.strip().splitlines()]
    elif r.deliveries:
        lines.append("notifications received: none")
    lines += ["", f"logs: {_where(r.logs, root)}"]
    return "\n".join(lines)
