"""Text and JSON for `shipspec adopt`'s plan (pure; the command prints)."""

from __future__ import annotations

import json

from ..adopt.takeover import TakeoverPlan


def _json(plan: TakeoverPlan, preview: dict) -> dict:
    return {
        "service": plan.service, "environment": plan.env, "account": plan.account, "region": plan.region,
        "done": plan.done, "blockers": list(plan.blockers),
        "steps": [{"step": s.key, "done": s.done, "what": s.what} for s in plan.steps],
        "old_stacks": [{"name": o.name, "present": o.present, "all_retained": o.all_retained} for o in plan.old],
        "imported": [{"stack": t.si.name, "logical_id": i.logical_id, "type": i.resource_type, "name": i.name,
                      "from": i.source} for t in plan.targets for i in t.imports],
        "created": [{"stack": t.si.name, "logical_id": lid, "type": rtype} for t in plan.targets
                    for lid, rtype in t.creates],
        "retained_unmanaged": [{"stack": r.stack, "logical_id": r.logical_id, "type": r.resource_type,
                                "physical_id": r.physical_id, "note": r.note} for r in plan.unmanaged],
        "retain_change_sets": {k: [{"action": a, "logical_id": lid, "type": t} for a, lid, t in v]
                               for k, v in preview.items()},
    }


def format_takeover(plan: TakeoverPlan, preview: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(_json(plan, preview), indent=2, sort_keys=True)
    olds = ", ".join(o.name + ("" if o.present else " (deleted, resources retained)") for o in plan.old)
    lines = [f"Takeover of {plan.service} ({plan.env}) in {plan.account}/{plan.region}: {olds} -> "
             + ", ".join(t.si.name for t in plan.targets), "", "Steps:"]
    for s in plan.steps:
        lines.append(f"  [{'done' if s.done else 'to do'}] {s.key:<9} {s.what}")
    for name, changes in preview.items():
        lines += ["", f"Update of {name} (change set), before anything else:"]
        lines += [f"  {a:<7} {lid} ({t}): DeletionPolicy Retain" for a, lid, t in changes] or ["  (no changes)"]
    imports = [(t.si.name, i) for t in plan.targets for i in t.imports]
    lines += ["", f"Imported into shipspec's stacks ({len(imports)}): the same resources, kept"]
    lines += [f"  {stack}: {i.logical_id} ({i.resource_type} {i.name}) from {i.source}" for stack, i in imports]
    creates = [(t.si.name, lid, rtype) for t in plan.targets for lid, rtype in t.creates]
    lines += ["", f"Created ({len(creates)}):"]
    lines += [f"  {stack}: {lid} ({rtype})" for stack, lid, rtype in creates]
    lines += ["", f"Left retained and unmanaged ({len(plan.unmanaged)}): delete them yourself once the new "
                  "pipeline runs"]
    for r in plan.unmanaged:
        lines.append(f"  {r.stack}: {r.logical_id} ({r.resource_type} {r.physical_id or '-'})"
                     + (f": {r.note}" if r.note else ""))
    if plan.blockers:
        lines += ["", "Blocked:"] + [f"  {b}" for b in plan.blockers]
    return "\n".join(lines)
