"""Text, JSON and markdown of `shipspec drift` (pure; the command prints). Problems first: drifted
stacks and services, then those that could not be checked, then the clean count."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from ..ops.drift import BUSY, DRIFTED, FAILED, NOT_DEPLOYED, StackDrift
from ..ops.runtime_drift import RuntimeDrift

MARKER = "<!-- shipspec-drift -->"
VERSION = 1


@dataclass(frozen=True)
class Report:
    stacks: tuple[StackDrift, ...]
    runtime: tuple[RuntimeDrift, ...]
    shard: str = ""
    target: str = "aws"  # or "local" (the emulator)
    runtime_checked: bool = True

    @property
    def drifted(self) -> tuple[StackDrift, ...]:
        return tuple(s for s in self.stacks if s.status == DRIFTED)

    @property
    def runtime_drifted(self) -> tuple[RuntimeDrift, ...]:
        return tuple(r for r in self.runtime if r.status == DRIFTED)

    @property
    def failed(self) -> tuple:
        return tuple(s for s in self.stacks if s.status == FAILED) + tuple(r for r in self.runtime if r.status == FAILED)

    @property
    def problem(self) -> bool:
        """Exit 1: something drifted, or could not be checked because of an error."""
        return bool(self.drifted or self.runtime_drifted or self.failed)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def summary(r: Report) -> str:
    parts = [f"{_count(len(r.drifted), 'stack')} drifted of {len(r.stacks)}"]
    if r.runtime_checked:
        parts.append(f"{len(r.runtime_drifted)} of {len(r.runtime)} running task definitions differ from the specs")
    busy = sum(1 for s in r.stacks if s.status == BUSY)
    absent = sum(1 for s in r.stacks if s.status == NOT_DEPLOYED)
    unfound = sum(1 for x in r.runtime if x.status == "NOT_FOUND")
    if r.failed:
        parts.append(f"{len(r.failed)} could not be checked")
    if busy:
        parts.append(f"{_count(busy, 'stack')} busy")
    if absent:
        parts.append(f"{_count(absent, 'stack')} not deployed")
    if unfound:
        parts.append(f"{_count(unfound, 'ECS service')} not found")
    shard = f" (shard {r.shard})" if r.shard else ""
    return f"drift{shard}: " + ", ".join(parts)


# --- JSON ---------------------------------------------------------------------------------------

def as_dict(r: Report) -> dict:
    return {"version": VERSION, "target": r.target, "shard": r.shard, "clean": not r.problem,
            "summary": summary(r), "stacks": [asdict(s) for s in r.stacks],
            "runtime": [asdict(x) for x in r.runtime], "runtime_checked": r.runtime_checked}


# --- text ---------------------------------------------------------------------------------------

def text(r: Report) -> str:
    lines: list[str] = []
    for s in r.drifted:
        lines.append(f"DRIFTED {s.label}" + (f"  [{s.service} {s.environment}]" if s.service else ""))
        for res in s.resources:
            lines.append(f"  {res.logical_id} ({res.type}) {res.status.lower()}"
                         + (f": {res.physical_id}" if res.physical_id else ""))
            for p in res.properties:
                lines.append(f"    {p.path}: expected {p.expected or '(none)'}, actual {p.actual or '(none)'}"
                             + ("" if p.kind == "NOT_EQUAL" else f" [{p.kind.lower()}]"))
    for x in r.runtime_drifted:
        lines.append(f"DRIFTED service {x.ecs_service} in cluster {x.cluster} ({x.account}/{x.region})  "
                     f"[{x.service} {x.environment}], task definition {x.task_definition}")
        for d in x.differences:
            lines.append(f"  {d.field}: expected {d.expected}, actual {d.actual}")
    for s in (s for s in r.stacks if s.status == FAILED):
        lines.append(f"FAILED  {s.label}: {s.reason}")
    for x in (x for x in r.runtime if x.status == FAILED):
        lines.append(f"FAILED  service {x.ecs_service} ({x.service} {x.environment}): {x.reason}")
    for s in (s for s in r.stacks if s.status == BUSY):
        lines.append(f"busy    {s.label}: {s.reason}")
    for s in (s for s in r.stacks if s.status == NOT_DEPLOYED):
        lines.append(f"absent  {s.label}: {s.reason}")
    for x in (x for x in r.runtime if x.status == "NOT_FOUND"):
        lines.append(f"absent  service {x.ecs_service} in cluster {x.cluster} ({x.service} {x.environment}): "
                     "not found, runtime not checked")
    clean = [s for s in r.stacks if s.status == "IN_SYNC"]
    if clean:
        lines.append(f"in sync {_count(len(clean), 'stack')} ({sum(s.checked for s in clean)} resources compared, "
                     f"{sum(s.not_checked for s in r.stacks)} of types drift detection does not check)")
    if r.target == "local":
        lines.append("note: local emulator: drift detection compares the resource types it models "
                     "(compiler/local/emudrift.py); CodePipeline and CodeBuild are not kept there")
    return "\n".join(lines) if lines else "nothing selected"


# --- markdown -----------------------------------------------------------------------------------

def _cell(value: str) -> str:
    value = (value or "").replace("|", "\\|").replace("\n", " ")
    return f"`{value}`" if value and len(value) <= 120 else (value[:117] + "..." if value else "")


def markdown(r: Report) -> str:
    shard = f" (shard {r.shard})" if r.shard else ""
    lines = [MARKER, f"### shipspec drift{shard}: {'clean' if not r.problem else 'drift found'}", "",
             summary(r) + ".", ""]
    if r.drifted:
        lines += ["#### Stacks", "", "| stack | account/region | resource | property | expected | actual |",
                  "|---|---|---|---|---|---|"]
        for s in r.drifted:
            for res in s.resources:
                rows = res.properties or ()
                if not rows:
                    lines.append(f"| {s.stack} | {s.account}/{s.region} | {res.logical_id} ({res.type}) | "
                                 f"{res.status.lower()} | | |")
                for p in rows:
                    lines.append(f"| {s.stack} | {s.account}/{s.region} | {res.logical_id} ({res.type}) | "
                                 f"`{p.path}` | {_cell(p.expected)} | {_cell(p.actual)} |")
        lines.append("")
    if r.runtime_drifted:
        lines += ["#### Running task definitions", "", "| service | environment | ECS service | task definition | "
                  "what | expected | actual |", "|---|---|---|---|---|---|---|"]
        for x in r.runtime_drifted:
            for d in x.differences:
                lines.append(f"| {x.service} | {x.environment} | {x.cluster}/{x.ecs_service} | {x.task_definition} "
                             f"| {d.field} | {_cell(d.expected)} | {_cell(d.actual)} |")
        lines.append("")
    others = [(s.label, s.status, s.reason) for s in r.stacks if s.status in (FAILED, BUSY)]
    others += [(f"service {x.ecs_service} ({x.service} {x.environment})", x.status, x.reason)
               for x in r.runtime if x.status == FAILED]
    if others:
        lines += ["#### Not checked", ""] + [f"- **{status.lower()}** {label}: {reason}" for label, status, reason in others]
        lines.append("")
    if r.problem:
        lines.append("Fix the drift by applying the specs again (`shipspec plan`, then the deploy), or change the "
                     "specs to what is running now; then run the drift workflow again.")
    return "\n".join(lines).rstrip("\n") + "\n"


def render(r: Report, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(as_dict(r), indent=2, sort_keys=True) + "\n"
    if fmt == "markdown":
        return markdown(r)
    return text(r) + "\n"
