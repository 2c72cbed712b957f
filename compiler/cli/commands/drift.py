"""Find what changed behind shipspec's back. For each selected stack, CloudFormation drift
detection: each resource whose live configuration differs from its template, property by
property with the expected and actual value. For each service, runtime drift: the task
definition the ECS service runs compared with the spec (container name, image repository,
environment, secrets, cpu and memory). Reads only; nothing is changed.

Every stack of the fleet by default (NAMEs: only their stacks; --shard I/N: one of N disjoint
slices, with every bootstrap stack in slice 1). Stacks being changed are listed as busy and
stacks not deployed as such; neither fails the run. Exit status: 0 clean, 1 when anything drifted
or could not be checked because of an error, 2 for a usage error."""

from __future__ import annotations

from pathlib import Path

from ._common import add_names
from ._fleet import add_fleet_args

HELP = "detect drift: stacks against their templates, running task definitions against the specs"


def configure(p) -> None:
    add_names(p)
    add_fleet_args(p, "stacks and services checked at once (default 8, at most 32)")
    p.add_argument("--shard", metavar="I/N", default="",
                   help="only the I-th of N disjoint slices of the services (1-based); bootstrap stacks in slice 1")
    p.add_argument("--no-runtime", action="store_true", help="skip the running task definitions (stacks only)")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                   help="text (terminal), json, or markdown (an issue or job summary)")
    p.add_argument("--output", metavar="FILE", type=Path, help="write the report to FILE instead of stdout")
    p.add_argument("--json-output", metavar="FILE", type=Path, help="also write the JSON report to FILE")


def run(args, console) -> int:
    from ...build.compile import compile_project
    from ...deploy.aws.inputs import select
    from ...deploy.aws.runctx import Cancelled
    from ...ops import drift, runtime_drift
    from .. import report_drift
    from . import _deploy, _fleet

    fleet = _fleet.load_fleet(console.root, args.names, args.env, args.shard, will_render=True)
    output = compile_project(fleet.project)
    stacks = [si.stack for si in select(output, fleet.pairs, ("pipeline", "notification"))]
    if fleet.first_shard:  # every bootstrap stack the selection uses, each checked by one shard only
        stacks = [si.stack for si in select(output, fleet.unsharded, ("bootstrap",))] + stacks
    ctx = _deploy.context(args, console)
    _fleet.verify(ctx, {(s.account, s.region, s.service or "the bootstrap stack") for s in stacks}
                  | {(c.environment.account, c.environment.region, c.name) for c in fleet.configs})
    checks = [("stack", s) for s in stacks] + ([] if args.no_runtime else [("runtime", c) for c in fleet.configs])
    progress = _fleet.Progress(console, len(checks), "checks")

    def work(item):
        what, x = item
        if what == "stack":
            return drift.detect_stack(ctx, x)
        return runtime_drift.check(ctx.sessions.get(x.environment.account, x.environment.region).client, x)

    def key(item):
        what, x = item
        return (what, x.account, x.region, x.name) if what == "stack" else (what, x.name, x.environment.name)

    try:
        results = _fleet.run_bounded(ctx, checks, key, work, args.jobs, progress)
    except Cancelled:
        console.error("interrupted: drift detection reads only, nothing was left behind")
        return 130
    report = report_drift.Report(
        tuple(results[key(i)] for i in checks if i[0] == "stack"),
        tuple(results[key(i)] for i in checks if i[0] == "runtime"),
        args.shard, "local" if ctx.emulated else "aws", not args.no_runtime)
    out = report_drift.render(report, args.format)
    if args.json_output:
        _write(args.json_output, report_drift.render(report, "json"))
    if args.output:
        _write(args.output, out)
        console.error(f"wrote {args.output}")
    else:
        console.print(out.rstrip("\n"))
    console.error(report_drift.summary(report))
    return 1 if report.problem else 0


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
