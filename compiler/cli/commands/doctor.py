"""Find out why new tasks do not start: match the service's events, its deployment's rollout reason
and its stopped tasks' reasons (task and container) against the table in docs/troubleshooting.md,
check that the image is in ECR and the referenced secrets exist, compare the container instances'
free CPU and memory with the task's needs and their recorded ECS agent settings with the spec.
Exit 0 when the service is healthy, 1 when a problem was found."""

from __future__ import annotations

from . import _ops

HELP = "diagnose why new tasks of a service do not start (exit 1 on a problem)"


def configure(p) -> None:
    _ops.configure(p)


def run(args, console) -> int:
    from ...ops.doctor import diagnose, exit_status
    from ...ops.evidence import gather_evidence
    from ..report_ops import format_doctor

    config, evidence = _ops.gather(args, console, "state", gather_evidence)
    diagnosis = diagnose(evidence, config)
    console.print(format_doctor(evidence, diagnosis, args.format))
    return exit_status(diagnosis)
