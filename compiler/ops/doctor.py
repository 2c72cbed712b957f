"""`shipspec doctor`: why new tasks do not start, from gathered `Evidence` (pure).

`diagnose(evidence, config)` reads the latest rollout first (a rolled-back or stopped one is a
finding of its own, whatever the service's state), then matches its reasons, the service's recent
events, the deployment's rollout reason and the stopped tasks' reasons (task and container) against the table of known failures, adds
what the evidence shows by itself (an image missing from ECR, a missing secret, no instance with
room for the task, agent settings that differ from the spec), and returns `Finding`s sorted by
severity. `healthy` is true when no finding is an error and the service runs its desired count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from ..spec.agent_settings import agent_settings, parse_recorded, recorded_value, target_tag
from .doctor_checks import Check, check
from .evidence import Evidence
from ..core.known_failures import KnownFailure, doc_anchor, entry, fill, match_reason

if TYPE_CHECKING:
    from ..spec.models import ServiceConfig

MAX_SAMPLES = 3
_RANK = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Finding:
    id: str
    severity: str  # error | warning
    title: str
    evidence: tuple[str, ...]
    meaning: str
    fix: str
    commands: tuple[str, ...]
    doc_url: str
    details: tuple[str, ...] = ()  # extra, finding-specific guidance (e.g. the spec's agent settings)

    @property
    def anchor(self) -> str:
        return doc_anchor(self.id)


@dataclass(frozen=True)
class Diagnosis:
    findings: tuple[Finding, ...]
    healthy: bool
    summary: str


class _Collector:
    """Evidence lines per finding id, in first-seen order, deduplicated."""

    def __init__(self) -> None:
        self.lines: dict[str, list[str]] = {}

    def add(self, finding_id: str, line: str) -> None:
        lines = self.lines.setdefault(finding_id, [])
        if line not in lines:
            lines.append(line)


def placeholders(c: "ServiceConfig", ev: Evidence) -> dict[str, str]:
    key, value = target_tag(c)
    values = {"region": c.environment.region, "cluster": c.service.cluster, "service": c.ecs_service_name,
              "repository": c.build.ecr_repository, "tag-key": key, "tag-value": value}
    td = ev.task_definition
    if td:
        values["task-definition"] = td.family_revision
        if len(td.log_groups) == 1:
            values["log-group"] = td.log_groups[0]
    if ev.stopped_tasks:
        values["task-arn"] = ev.stopped_tasks[0].arn
    if ev.instances:
        values["container-instance-id"] = " ".join(i.arn.rsplit("/", 1)[-1] for i in ev.instances)
    return values


def _specific(text: str) -> bool:
    e = match_reason(text)
    return bool(e) and e.severity == "error" and e.id != "essential-container-exited"


def _reason_texts(ev: Evidence) -> list[tuple[str, str, str]]:
    """(where, text, task ARN) for every reason ECS reported, the latest failed rollout's first, then
    most recent first. A task stopped with "Essential container in task exited" whose container
    reports a known cause is listed only by that cause."""
    out: list[tuple[str, str, str]] = []
    failed = ev.rollouts.latest_failed
    if failed is not None:
        out += [(f"rollout {failed.id}", text, "") for text in dict.fromkeys((failed.reason, failed.rollback_reason))
                if text]
    primary = ev.snapshot.ecs.primary
    if primary and primary.rollout_reason:
        out.append(("deployment", primary.rollout_reason, ""))
    out += [("service event", e.message, "") for e in ev.recent_events]
    for t in ev.stopped_tasks:
        task = t.arn.rsplit("/", 1)[-1]
        explained = any(_specific(x.reason) for x in t.containers if x.reason)
        generic = match_reason(t.stopped_reason)
        if t.stopped_reason and not (explained and generic and generic.id == "essential-container-exited"):
            out.append((f"task {task}", t.stopped_reason, t.arn))
        out += [(f"task {task} container {x.name}", x.reason, t.arn) for x in t.containers if x.reason]
    return out


def _matched(ev: Evidence, c: "ServiceConfig", found: _Collector,
             tasks: dict[str, str]) -> dict[str, KnownFailure]:
    """Known failures in the reasons; `tasks` gets the first task ARN seen per finding."""
    matched: dict[str, KnownFailure] = {}
    unknown: list[str] = []
    for where, text, arn in _reason_texts(ev):
        e = match_reason(text)
        if e is None:
            if where.startswith("task ") and " container " not in where:
                unknown.append(f"{where}: {text}")
            continue
        if e.severity == "info":
            continue
        matched[e.id] = e
        if arn:
            tasks.setdefault(e.id, arn)
        if len(found.lines.get(e.id, [])) < MAX_SAMPLES:
            found.add(e.id, f"{where}: {text}")
    steady = _steady(ev)
    if unknown and not steady:
        for line in unknown[:MAX_SAMPLES]:
            found.add("unrecognised-stop-reason", line)
    return matched


def _steady(ev: Evidence) -> bool:
    s = ev.snapshot.ecs
    primary = s.primary
    return bool(primary) and primary.running >= primary.desired and len(s.deployments) == 1 \
        and s.running >= s.desired


def _capacity(ev: Evidence, c: "ServiceConfig", found: _Collector) -> None:
    s, td = ev.snapshot.ecs, ev.task_definition
    if c.service.launch_type != "EC2" or _steady(ev):
        return
    active = [i for i in ev.instances if i.status == "ACTIVE"]
    for i in ev.instances:
        if i.status == "ACTIVE" and not i.agent_connected:
            found.add("agent-disconnected", f"instance {i.ec2_instance_id}: agent not connected")
    usable = [i for i in active if i.agent_connected]
    if not active:
        if not any("cannot read the cluster's container instances" in n for n in ev.notes):
            found.add("no-container-instances", f"cluster {s.cluster} has no ACTIVE container instances")
        return
    if td is None or not usable:
        return
    need = f"the task needs {td.cpu} CPU units and {td.memory} MiB"
    fits_resources = [i for i in usable if i.remaining_cpu >= td.cpu and i.remaining_memory >= td.memory]
    if not fits_resources:
        found.add("placement-resources", f"{need}; no instance has that free:")
        for i in usable:
            found.add("placement-resources", f"  {i.ec2_instance_id}: {i.remaining_cpu} CPU units, "
                                             f"{i.remaining_memory} MiB free")
        return
    ports = set(td.host_ports)
    if ports and not [i for i in fits_resources if not ports & set(i.used_ports)]:
        found.add("placement-ports", f"host port(s) {', '.join(map(str, sorted(ports)))} already used on every "
                                     f"instance with room for the task")


def _agent_config(ev: Evidence, c: "ServiceConfig", found: _Collector) -> list[str]:
    """Per-instance agent settings vs the spec; returns the spec's lines (for details)."""
    if c.service.launch_type != "EC2":
        return []
    cfg = c.service.ec2_agent_config
    want = dict(agent_settings(cfg))
    key, value = target_tag(c)
    for i in ev.instances:
        if i.status != "ACTIVE":
            continue
        if i.tags is not None and (key, value) not in i.tags:
            found.add("agent-config-untargeted", f"instance {i.ec2_instance_id} lacks the tag {key}={value}")
        if i.recorded_config is None:
            found.add("agent-config-unrecorded", f"instance {i.ec2_instance_id} has no attribute "
                                                 f"shipspec.ecs-agent-config")
            continue
        if i.recorded_config == recorded_value(cfg):
            continue
        have = parse_recorded(i.recorded_config)
        if have is None:
            found.add("agent-config-drift", f"instance {i.ec2_instance_id}: unreadable record {i.recorded_config!r}")
            continue
        diffs = [f"{var}={have[var]} (spec: {want[var]})" for var in want if have.get(var) != want[var]]
        found.add("agent-config-drift", f"instance {i.ec2_instance_id}: {', '.join(diffs)}")
    return [f"{var}={val}" for var, val in want.items()]


def _checks(ev: Evidence, found: _Collector) -> None:
    for r in ev.image_checks:
        if r.status == "missing":
            found.add("image-missing-in-ecr", f"{r.subject}: {r.detail}")
    for r in ev.secret_checks:
        if r.status == "missing":
            found.add("secret-missing", f"{r.subject}: {r.detail}")


FARGATE_DISK = ("on Fargate the task's own ephemeral storage is full (20 GiB unless the task definition sets "
                "ephemeralStorage.sizeInGiB, up to 200): raise it, or write less to the container's file system; "
                "the EC2 agent settings and commands do not apply")


def _disk_details(ev: Evidence, c: "ServiceConfig", spec_lines: list[str]) -> tuple[str, ...]:
    if c.service.launch_type != "EC2":
        return (FARGATE_DISK,)
    arns = {t.container_instance for t in ev.stopped_tasks if t.container_instance}
    hosts = sorted(i.ec2_instance_id for i in ev.instances if i.arn in arns)
    out = []
    if hosts:
        out.append(f"affected instances: {', '.join(hosts)}")
    key, value = target_tag(c)
    out.append(f"the spec's agent settings (service.ec2_agent_config), applied by the SSM association to "
               f"instances tagged {key}={value}:")
    out += [f"  {line}" for line in spec_lines or [f"{k}={v}" for k, v in agent_settings(c.service.ec2_agent_config)]]
    return tuple(out)


def _finding(item: "KnownFailure | Check", lines: list[str], values: dict[str, str],
             details: tuple[str, ...] = (), history: bool = False, launch_type: str = "") -> Finding:
    severity = "warning" if history or item.severity == "info" else item.severity
    if history:
        details = ("the service is steady now: these tasks failed earlier (ECS keeps stopped tasks about an "
                   "hour)", *details)
    commands = item.commands
    if launch_type and launch_type not in getattr(item, "launch_types", (launch_type,)):
        commands = ()  # e.g. the EC2 instance commands for a Fargate service
    return Finding(item.id, severity, item.title, tuple(lines), item.meaning, item.fix,
                   tuple(fill(cmd, values) for cmd in commands), item.doc_url, details)


def _lookup(finding_id: str) -> "KnownFailure | Check":
    try:
        return entry(finding_id)
    except KeyError:
        return check(finding_id)


def diagnose(ev: Evidence, c: "ServiceConfig") -> Diagnosis:
    s = ev.snapshot.ecs
    values = placeholders(c, ev)
    if not s.found:
        item = check(s.problem or "service-not-found")
        return Diagnosis((_finding(item, list(s.notes), values),), False, s.notes[0] if s.notes else item.title)
    found = _Collector()
    tasks: dict[str, str] = {}
    failed = ev.rollouts.latest_failed
    if failed is not None:  # the latest rollout first: it did not deliver its revision
        found.add("rollout-failed", f"rollout {failed.summary()}" + (f", ended {failed.finished}" if failed.finished
                                                                     else ""))
    from_reasons = set(_matched(ev, c, found, tasks))
    _checks(ev, found)
    _capacity(ev, c, found)
    spec_lines = _agent_config(ev, c, found)
    primary = s.primary
    if primary and primary.running < primary.desired and not any(
            _lookup(fid).severity == "error" for fid in found.lines):
        found.add("deployment-stalled", f"deployment {primary.id} ({primary.task_definition}): "
                                        f"{primary.running} of {primary.desired} running, {primary.pending} pending, "
                                        f"rollout {primary.rollout_state or 'unknown'}")
    steady = _steady(ev)
    findings = []
    for fid, lines in found.lines.items():
        item = _lookup(fid)
        details = _disk_details(ev, c, spec_lines) if fid == "disk-full" else ()
        here = {**values, "task-arn": tasks[fid]} if fid in tasks else values
        history = steady and fid in from_reasons and failed is None  # a failed latest rollout is no history
        findings.append(_finding(item, lines, here, details, history=history, launch_type=c.service.launch_type))
    findings.sort(key=lambda f: (_RANK.get(f.severity, 3), f.id != "rollout-failed", f.id))
    errors = [f for f in findings if f.severity == "error"]
    healthy = not errors and steady
    return Diagnosis(tuple(findings), healthy, _summary(ev, findings, healthy))


def _summary(ev: Evidence, findings: list[Finding], healthy: bool) -> str:
    s = ev.snapshot.ecs
    counts = f"{s.running} of {s.desired} tasks running"
    if healthy:
        warn = f"; {len(findings)} warning(s)" if findings else ""
        return f"healthy: service {s.name} in cluster {s.cluster}, {counts}{warn}"
    errors = sum(1 for f in findings if f.severity == "error")
    what = f"{errors} problem(s) found" if errors else "not steady yet"
    return f"{what}: service {s.name} in cluster {s.cluster}, {counts}"


def exit_status(d: Diagnosis) -> int:
    return 0 if d.healthy else 1


def first_error(d: Diagnosis) -> Optional[Finding]:
    return next((f for f in d.findings if f.severity == "error"), None)
