"""The side-by-side comparison with AWS CDK in one run: interleaved rounds of

  CDK synth of 1 stack -> our cold build of 1 service -> CDK synth of K stacks -> our cold build of N services

so that a machine that slows down for a while slows both sides alike; each row is the median of
its runs. A CDK stack holds what shipspec generates for one (service, environment) pair; the
one-service repository has one pair, the K stacks are the fleet's first K pairs, and the N-service
fleet is the benchmark's own (about two pairs per service), so comparing CDK's cost per additional
*stack* with ours per additional *service* understates our lead by about that factor.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from benchmarks import cdk as cdkbench
from benchmarks.proc import Measurement, Run, run_cli
from benchmarks.report import BESIDE_CDK, CDK_NAME

if TYPE_CHECKING:
    from benchmarks.bench import Bench


@dataclass(frozen=True)
class Plan:
    stacks: int  # K: CDK's many-stack synth
    services: int  # N: our cold build beside it
    runs: int


@dataclass(frozen=True)
class Step:
    row: Measurement
    run: Callable[[], Run]
    check: Callable[[], str]  # "" when the run did its work, else what went wrong


def _record(m: Measurement, r: Run, problem: str) -> None:
    if r.status or problem:
        m.error = problem or f"exit {r.status}: {r.stderr.strip()[-500:]}"
        return
    m.seconds.append(r.seconds)
    m.max_rss_mb = max(m.max_rss_mb, r.max_rss_mb)
    m.tree_rss_mb = max(m.tree_rss_mb, r.tree_rss_mb)


def _cold(root: Path) -> None:
    shutil.rmtree(root / "generated", ignore_errors=True)
    shutil.rmtree(root / ".shipspec", ignore_errors=True)


def interleaved(bench: "Bench", cdk: cdkbench.Cdk, plan: Plan, progress: Callable[[Measurement], None]) -> list[Measurement]:
    """The four rows, measured in `plan.runs` interleaved rounds after one warm-up of each side
    (CDK's jsii runtime unpacks its libraries into a cache once; our runs compile bytecode once)."""
    apps = {k: cdkbench.write_app(bench.work / f"cdk-{k}", k) for k in (1, plan.stacks)}
    ours = {n: bench.fleet(n, f"cdk-fleet-{n}") for n in (1, plan.services)}
    steps: list[Step] = []
    for k, n in ((1, 1), (plan.stacks, plan.services)):
        app = apps[k]
        steps.append(Step(Measurement(CDK_NAME, k, k), lambda app=app: cdkbench.synth(cdk, app),
                          lambda app=app, k=k: "" if cdkbench.stacks_written(app) == k
                          else f"the synth wrote {cdkbench.stacks_written(app)} templates, not {k}"))
        root, pairs = ours[n]
        steps.append(Step(Measurement(BESIDE_CDK, n, pairs),
                          lambda root=root: (_cold(root), run_cli(root, ["build"]))[1],
                          lambda root=root: "" if (root / "generated" / "index.json").is_file()
                          else "the build wrote no generated/index.json"))
    for step in steps:  # warm-up, not recorded
        r = step.run()
        if r.status:
            step.row.error = f"warm-up: exit {r.status}: {r.stderr.strip()[-500:]}"
    for _ in range(plan.runs):
        for step in steps:
            if not step.row.error:
                r = step.run()
                _record(step.row, r, "" if r.status else step.check())
    rows = [s.row for s in steps]
    for m in rows:
        progress(m)
    return rows
