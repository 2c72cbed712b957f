"""Text and JSON of `shipspec status --all` (pure; the command prints)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from typing import Sequence

from ..ops.fleet_status import FleetRow, age

COLUMNS = ("HEALTH", "SERVICE", "ENV", "PIPELINE", "STAGE", "AGE", "COMMIT", "TASKS", "DEPLOYMENT", "PROBLEM")


def doctor_command(r: FleetRow, local: bool) -> str:
    return f"shipspec doctor {r.service} --env {r.environment}" + (" --local" if local else "")


def _counts(rows: Sequence[FleetRow]) -> str:
    by: dict[str, int] = {}
    for r in rows:
        by[r.health] = by.get(r.health, 0) + 1
    unhealthy = sum(1 for r in rows if r.unhealthy)
    parts = ", ".join(f"{n} {h}" for h, n in sorted(by.items()))
    return f"{len(rows)} service environment{'s' if len(rows) != 1 else ''}: {parts or 'none'}; " \
           f"{unhealthy} with a problem"


def fleet_text(shown: Sequence[FleetRow], rows: Sequence[FleetRow], now: datetime, local: bool = False) -> str:
    """The table (`shown`: all rows, or the failing ones), then the doctor commands, then counts."""
    table = [COLUMNS]
    for r in shown:
        tasks = f"{r.running}/{r.desired}" if r.health != "missing" else "-"
        table.append((r.health.upper() if r.unhealthy else r.health, r.service, r.environment, r.execution or "-",
                      r.stage or "-", age(r.started, now) or "-", r.commit or "-", tasks, r.deployment or "-",
                      "; ".join(r.problems) or "-"))
    widths = [max(len(str(row[i])) for row in table) for i in range(len(COLUMNS) - 1)]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(row[:-1], widths)) + "  " + str(row[-1]) for row in table]
    bad = [r for r in shown if r.unhealthy]
    if bad:
        lines += ["", "next:"] + [f"  {doctor_command(r, local)}" for r in bad]
    lines += ["", _counts(rows)]
    return "\n".join(line.rstrip() for line in lines)


def fleet_json(shown: Sequence[FleetRow], rows: Sequence[FleetRow], local: bool = False) -> str:
    return json.dumps({"summary": _counts(rows), "healthy": not any(r.unhealthy for r in rows),
                       "rows": [dict(asdict(r), unhealthy=r.unhealthy,
                                     doctor=doctor_command(r, local) if r.unhealthy else "") for r in shown]},
                      indent=2, sort_keys=True)
