"""`make bench` (`python -m benchmarks`): how long shipspec takes on synthetic fleets.

For each size N a scratch git repository gets N generated services (benchmarks/fleet.py) and
every measurement runs `python -m compiler ...` as a real subprocess, interpreter start-up
included, `--runs` times (median, min, max; wall seconds, peak memory):

  validate --no-cache / validate (cached) / validate one spec   build cold / no-op / one spec changed
  diff of one changed service   lint cold (once) / lint after one spec changed (warm cache)
  PR with one spec changed, fresh runner: validate + check + lint --changed-since + affected on
  a fresh clone without .shipspec/cache (the Plan workflow's check job; the sum of the four)
  plan --local --jobs 1 vs --jobs 8 on the emulator (`--plan-services`, default 50), answering at
  once and with its AWS-like latency model (`shipspec local up --api-latency-ms --change-set-seconds`)

plus a cold build of a one-service repository, and AWS CDK (Python) synthesising 1 and 40
equivalent pipeline stacks in rounds interleaved with our cold builds of 1 and 500 services
(benchmarks/compare.py; CDK in a virtual environment of its own, benchmarks/cdk.py; `--no-cdk`).
Fleets above `--heavy-max` services measure only the builds. Prints a table, checks the targets in
docs/performance.md, and writes everything with the machine's description to `--output`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

from benchmarks import proc as benchproc
from benchmarks.fleet import pair_count, service_name, touch_spec, write_fleet
from benchmarks.proc import Measurement, Run, cli_env, run_cli
from benchmarks.report import PAIRED, PR_NAME
from compiler import __version__
from compiler.local.emuserver import Latency

DEFAULT_SIZES = (10, 100, 500, 1000, 5000)
HEAVY_MAX = 1000  # larger fleets: build cold, no-op and one spec changed only


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path):
        self.args = args
        self.work = work
        self.latency = Latency(args.plan_api_latency_ms, args.plan_change_set_seconds)  # for plan
        self.results: list[Measurement] = []

    def measure(self, name: str, root: Path, size: int, pairs: int, argv: list[str], runs: int,
                before: Callable[[int], None] | None = None, ok: tuple[int, ...] = (0,)) -> Measurement:
        m = Measurement(name, size, pairs)
        for i in range(runs):
            if before:
                before(i)
            r: Run = run_cli(root, argv)
            if r.status not in ok:
                m.error = f"exit {r.status}: {r.stderr.strip()[-500:]}"
                break
            m.seconds.append(r.seconds)
            m.max_rss_mb = max(m.max_rss_mb, r.max_rss_mb)
            m.tree_rss_mb = max(m.tree_rss_mb, r.tree_rss_mb)
        self.results.append(m)
        _progress(m)
        return m

    def measure_steps(self, name: str, root: Path, size: int, pairs: int, steps: list[list[str]], runs: int,
                      before: Callable[[int], tuple[Path, dict[str, float]]]) -> Measurement:
        """One row for several commands run one after another (each a subprocess) in the
        repository `before(i)` prepares for run i: their summed time, the largest memory of any;
        each step's own times are kept in `parts`, with what `before` measured beside them (not
        in the sum)."""
        m = Measurement(name, size, pairs)
        for i in range(runs):
            try:
                where, measured = before(i)
            except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
                m.error = f"preparing run {i + 1}: {exc}"
                break
            for label, seconds in measured.items():
                m.parts.setdefault(label, []).append(seconds)
            total = 0.0
            for argv in steps:
                r: Run = run_cli(where, argv)
                if r.status != 0:
                    m.error = f"{argv[0]}: exit {r.status}: {r.stderr.strip()[-500:]}"
                    break
                total += r.seconds
                m.parts.setdefault(argv[0], []).append(r.seconds)
                m.max_rss_mb = max(m.max_rss_mb, r.max_rss_mb)
                m.tree_rss_mb = max(m.tree_rss_mb, r.tree_rss_mb)
            if m.error:
                break
            m.seconds.append(total)
        self.results.append(m)
        _progress(m)
        return m

    def fleet(self, n: int, name: str = "") -> tuple[Path, int]:
        root = self.work / (name or f"fleet-{n}")
        write_fleet(root, n)
        (root / ".gitignore").write_text(".shipspec/\n", encoding="utf-8")
        _git(root, "init", "-q")
        # No automatic `git gc`: a commit of thousands of generated files starts one in the
        # background, which packs and prunes loose objects while the next `git clone` (the
        # pull-request row) hard-links them (at N=1000 the clone then failed with status 128).
        _git(root, "config", "gc.auto", "0")
        _git(root, "add", ".gitignore", "services")
        _git(root, "commit", "-q", "-m", "specs")
        return root, pair_count(n)

    def size(self, n: int) -> None:
        runs = self.args.runs
        root, pairs = self.fleet(n)
        rev = iter(range(1, 1_000_000))
        one = service_name(n // 2)

        def change(_: int) -> None:
            touch_spec(root, n // 2, next(rev))

        def cold(_: int) -> None:
            shutil.rmtree(root / "generated", ignore_errors=True)
            shutil.rmtree(root / ".shipspec", ignore_errors=True)

        m = self.measure
        heavy = n <= self.args.heavy_max
        if heavy:
            m("validate --no-cache", root, n, pairs, ["validate", "--no-cache"], runs)
            run_cli(root, ["validate"])  # warm the cache
            m("validate (cached)", root, n, pairs, ["validate"], runs)
            m("validate one spec", root, n, pairs, ["validate", one], runs)
        m("build cold", root, n, pairs, ["build"], runs, before=cold)
        m("build no-op", root, n, pairs, ["build"], runs)
        m("build one spec changed", root, n, pairs, ["build"], runs, before=change)
        if not heavy:
            return
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", "generated")
        m("diff one changed service", root, n, pairs, ["diff", one], runs, before=change)
        if not self.args.skip_pr:
            self.pull_request(root, n, pairs, rev)
        if self.args.skip_lint or n > self.args.lint_max:
            return

        def cold_lint(_: int) -> None:
            shutil.rmtree(root / ".shipspec" / "cache" / "lint", ignore_errors=True)

        m("lint cold", root, n, pairs, ["lint"], 1 if n > 20 else runs, before=cold_lint, ok=(0, 1))
        m("lint one spec changed (warm)", root, n, pairs, ["lint"], runs, before=change, ok=(0, 1))

    def pull_request(self, root: Path, n: int, pairs: int, rev) -> None:
        """What the Plan workflow's check job costs for a pull request that edits one spec, on a
        fresh runner: a clone of the default branch (specs, generated/ and schema/ committed, no
        .shipspec/), one spec edited and rebuilt by its author and committed, then validate, check,
        lint --changed-since BASE and affected --since BASE, timed each. Just before each run, a
        cold build of the same clone is timed too ("paired cold build"): the target compares each
        run with the cold build next to it, so a busy machine slows both sides alike."""
        for argv in (["build"], ["schema"]):
            r = run_cli(root, argv)
            if r.status:
                self.results.append(Measurement(PR_NAME, n, pairs, error=r.stderr.strip()[-500:]))
                return
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", "default branch")
        base = _git_out(root, "rev-parse", "HEAD")
        clone = self.work / f"pr-{n}"

        def fresh(_: int) -> tuple[Path, dict[str, float]]:
            shutil.rmtree(clone, ignore_errors=True)
            _git(self.work, "clone", "-q", str(root), str(clone))
            touch_spec(clone, n // 2, next(rev))
            r = run_cli(clone, ["build"])  # the author's build, committed with the spec
            if r.status:
                raise RuntimeError(r.stderr.strip()[-500:])
            _git(clone, "add", "-A")
            _git(clone, "commit", "-q", "-m", "one spec changed")
            shutil.rmtree(clone / "generated")
            shutil.rmtree(clone / ".shipspec", ignore_errors=True)
            cold = run_cli(clone, ["build"])  # the paired cold build: it writes the same tree again
            if cold.status or _git_out(clone, "status", "--porcelain"):
                raise RuntimeError("the paired cold build did not write the committed tree")
            shutil.rmtree(clone / ".shipspec", ignore_errors=True)  # a fresh runner has no cache
            return clone, {PAIRED: cold.seconds}

        steps = [["validate"], ["check"], ["lint", "--changed-since", base], ["affected", "--since", base]]
        try:
            self.measure_steps(PR_NAME, root, n, pairs, steps, self.args.runs, before=fresh)
        finally:
            shutil.rmtree(clone, ignore_errors=True)

    def single(self) -> None:
        root, pairs = self.fleet(1)

        def cold(_: int) -> None:
            shutil.rmtree(root / "generated", ignore_errors=True)
            shutil.rmtree(root / ".shipspec", ignore_errors=True)

        run_cli(root, ["build"])  # compiles the snapshot's bytecode, as any installation has done once
        self.measure("build cold", root, 1, pairs, ["build"], self.args.runs, before=cold)
        self.measure("--help", root, 1, pairs, ["--help"], self.args.runs)

    def compare_cdk(self) -> dict:
        """AWS CDK beside our builds, interleaved (benchmarks/compare.py); what ran, or why not."""
        from benchmarks import cdk as cdkbench
        from benchmarks.compare import Plan, interleaved

        cdk = cdkbench.prepare(self.args.cdk_cache or cdkbench.default_cache(),
                               log=lambda text: print(f"  {text}", file=sys.stderr, flush=True))
        info = {"skipped": cdk.skipped, "describe": cdk.describe(), "aws_cdk_lib": cdkbench.CDK_VERSION,
                "pins": list(cdkbench.PINS), "node": cdk.node, "stacks": self.args.cdk_stacks,
                "services": self.args.cdk_services, "runs": self.args.cdk_runs}
        if cdk.skipped:
            print(f"  CDK comparison skipped: {cdk.skipped}", file=sys.stderr, flush=True)
            return info
        plan = Plan(stacks=self.args.cdk_stacks, services=self.args.cdk_services, runs=self.args.cdk_runs)
        self.results += interleaved(self, cdk, plan, _progress)
        return info

    def plan(self, n: int) -> None:
        """`plan --jobs 1` and `--jobs 8` twice: on the instant emulator (CPU-bound: on two cores
        nothing overlaps but the client's and the emulator's CPU) and with the emulator's
        AWS-like latency model, where the jobs overlap the waiting, as they do on AWS."""
        root, pairs = self.fleet(n)
        r = run_cli(root, ["build"])
        if r.status:
            self.results.append(Measurement(PLAN_NAMES[0][1], n, pairs, error=r.stderr.strip()[-500:]))
            return
        names = dict(PLAN_NAMES)
        for model, flags in (("instant emulator", []), ("AWS-like latency", self.latency.cli_args())):
            for argv in (["local", "up", *flags], ["bootstrap", "--local", "--yes"]):
                r = run_cli(root, argv)
                if r.status:
                    run_cli(root, ["local", "down"])
                    self.results.append(Measurement(names[(model, 1)], n, pairs, error=r.stderr.strip()[-500:]))
                    return
            try:
                for jobs in (1, 8):
                    # --jobs 1 with latency is mostly modelled waiting (about 5 minutes for 50
                    # services), which does not vary from run to run: it runs once.
                    runs = 1 if flags and jobs == 1 else self.args.runs
                    self.measure(names[(model, jobs)], root, n, pairs,
                                 ["plan", "--local", "--jobs", str(jobs), "--format", "json",
                                  "--output", str(self.work / "plan.json")], runs)
            finally:
                run_cli(root, ["local", "down"])


# The emulator's latency model for the plan measurement: far below AWS, where a CloudFormation API
# call takes on the order of 100 ms and a change set several seconds to compute.
PLAN_LATENCY = Latency(api_ms=20, change_set_seconds=1.0)
PLAN_NAMES = tuple(((model, jobs), f"plan --jobs {jobs} ({model})")
                   for model in ("instant emulator", "AWS-like latency") for jobs in (1, 8))


def _git(root: Path, *argv: str) -> None:
    env = {**cli_env(), "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    subprocess.run(["git", *argv], cwd=root, env=env, check=True, capture_output=True)


def _git_out(root: Path, *argv: str) -> str:
    return subprocess.run(["git", *argv], cwd=root, env=cli_env(), check=True, capture_output=True,
                          text=True).stdout.strip()


def _progress(m: Measurement) -> None:
    state = f"error: {m.error}" if m.error else f"{m.median:.3f}s"
    print(f"  N={m.size:<5} {m.name:<38} {state}", file=sys.stderr, flush=True)
    for step, seconds in m.parts.items():
        print(f"  N={m.size:<5}   {step:<36} {statistics.median(seconds):.3f}s", file=sys.stderr, flush=True)


def machine() -> dict:
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"cores": cpus, "python": platform.python_version(), "platform": platform.platform(),
            "machine": platform.machine(), "shipspec": __version__, "load_average_at_start": load}


def main(argv: list[str] | None = None) -> int:
    from benchmarks.report import table, targets

    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="fleet sizes (default: %(default)s)")
    p.add_argument("--runs", type=int, default=3, help="runs per measurement (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="sizes 5, one run, 5 services to plan")
    p.add_argument("--lint-max", type=int, default=500, help="lint only fleets up to this size (default: %(default)s)")
    p.add_argument("--skip-lint", action="store_true")
    p.add_argument("--skip-plan", action="store_true")
    p.add_argument("--skip-pr", action="store_true", help="skip the pull-request-on-a-fresh-runner row")
    p.add_argument("--heavy-max", type=int, default=HEAVY_MAX, metavar="N",
                   help="above N services measure only build cold, no-op and one spec changed (default: %(default)s)")
    p.add_argument("--no-cdk", action="store_true", help="skip the comparison with AWS CDK")
    p.add_argument("--cdk-stacks", type=int, default=40, metavar="K",
                   help="stacks in CDK's many-stack synth (default: %(default)s)")
    p.add_argument("--cdk-services", type=int, default=500, metavar="N",
                   help="services in our cold build interleaved with CDK (default: %(default)s)")
    p.add_argument("--cdk-runs", type=int, default=5, help="interleaved rounds with CDK (default: %(default)s)")
    p.add_argument("--cdk-cache", type=Path, default=None, metavar="DIR",
                   help="where CDK's virtual environment is kept (default: ~/.cache/shipspec-bench)")
    p.add_argument("--plan-services", type=int, default=50, help="services planned on the emulator (default: %(default)s)")
    p.add_argument("--plan-api-latency-ms", type=int, default=PLAN_LATENCY.api_ms, metavar="MS",
                   help="the latency model's delay per API call (default: %(default)s)")
    p.add_argument("--plan-change-set-seconds", type=float, default=PLAN_LATENCY.change_set_seconds, metavar="S",
                   help="the latency model's change-set computing time (default: %(default)s)")
    p.add_argument("--output", type=Path, help="write the results as JSON")
    p.add_argument("--markdown", type=Path, metavar="FILE",
                   help="also write the two tables as docs/performance.md shows them")
    p.add_argument("--keep", action="store_true", help="keep the scratch repositories")
    args = p.parse_args(argv)
    if args.quick:
        args.sizes, args.runs, args.plan_services = "5", 1, 5
        args.plan_api_latency_ms, args.plan_change_set_seconds = 5, 0.2
        args.cdk_stacks, args.cdk_services, args.cdk_runs = 2, 5, 1
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    start_load = os.getloadavg() if hasattr(os, "getloadavg") else None
    work = Path(tempfile.mkdtemp(prefix="shipspec-bench-"))
    benchproc.PYCACHE[:] = [str(work / "pycache")]
    # Runs import a snapshot of the compiler taken now: an edit to compiler/ during the run would
    # change the compiler fingerprint and turn every warm-cache measurement into a cold one.
    import compiler

    shutil.copytree(Path(compiler.__file__).resolve().parent, work / "src" / "compiler",
                    ignore=shutil.ignore_patterns("__pycache__"))
    benchproc.PYTHONPATH[:] = [str(work / "src")]
    where = subprocess.run([sys.executable, "-c", "import compiler; print(compiler.__file__)"], env=cli_env(),
                           capture_output=True, text=True, cwd=work).stdout.strip()
    if not where.startswith(str(work / "src")):
        print(f"warning: runs import {where}, not the snapshot", file=sys.stderr)
    bench = Bench(args, work)
    cdk_info: dict = {"skipped": "--no-cdk"}
    try:
        bench.single()
        if not args.no_cdk:
            cdk_info = bench.compare_cdk()
        for n in sizes:
            bench.size(n)
        if not args.skip_plan:
            bench.plan(args.plan_services)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    info = machine()
    info["load_average_at_end"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    doc = {"machine": {**info, "load_average_at_start": start_load}, "sizes": sizes, "runs": args.runs,
           "results": [m.as_dict() for m in bench.results], "targets": targets(bench.results), "cdk": cdk_info}
    if not args.skip_plan:
        doc["plan_latency_model"] = bench.latency.to_json()
    print(table(bench.results, doc["targets"], doc["machine"]))
    print(f"CDK comparison: {'skipped: ' + cdk_info['skipped'] if cdk_info['skipped'] else cdk_info['describe']}")
    if not args.skip_plan:
        print(f"plan: {args.plan_services} services; AWS-like latency model: {bench.latency.describe()}")
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    if args.markdown:
        from benchmarks.report import markdown

        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(bench.results, doc["targets"]), encoding="utf-8")
        print(f"wrote {args.markdown}", file=sys.stderr)
    return 1 if any(m.error for m in bench.results) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
