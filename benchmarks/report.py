"""The benchmark's table and its targets (docs/performance.md): formatting only, no measuring."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from benchmarks.proc import Measurement

PR_NAME = "PR with one spec changed, fresh runner"
PAIRED = "paired cold build"  # timed next to each PR run, not part of its sum
PR_LIMIT = 2.5  # times a cold build of the same fleet
PR_FROM = 100  # smaller fleets: start-up dominates, the ratio is reported only
CDK_NAME = "CDK synth (N = stacks)"  # AWS CDK synthesising N equivalent pipeline stacks
BESIDE_CDK = "build cold, interleaved with CDK"  # our cold build in the same rounds as the CDK synths
CDK_ONE_LIMIT = 20.0  # CDK's one-stack synth over our one-service build, at least
CDK_EACH_LIMIT = 10.0  # CDK's cost per additional stack over ours per additional service, at least
REBUILD_LIMIT = 10.0  # no-op and one-spec-changed builds, percent of the cold build at most
REBUILD_SIZES = (500, 5000)
GROWTH = (500, 5000, 1.3)  # cold build per service at 5000 within 1.3x of that at 500
PEAK_LIMITS = {1000: 500, 5000: 1000}  # peak memory of the process tree (MB) at N services


def _find(results: list["Measurement"], name: str, size: int | None = None) -> Optional["Measurement"]:
    found = [m for m in results if m.name == name and m.seconds and (size is None or m.size == size)]
    return max(found, key=lambda m: m.size) if found else None


def marginal_ms(results: list["Measurement"], size: int) -> float | None:
    """Cost of each service beyond the first in a cold build, from the one-service repository."""
    one, big = _find(results, "build cold", 1), _find(results, "build cold", size)
    if not one or not big or size <= 1:
        return None
    return 1000 * (big.median - one.median) / (size - 1)


def cdk_comparison(results: list["Measurement"]) -> dict[str, float | None]:
    """The interleaved CDK rounds: CDK's one-stack synth and its cost per additional stack
    ((t_many - t_1) / (many - 1)), ours for one service and per additional service (the same
    over the comparison's fleet), and the two ratios. Medians of the interleaved runs."""
    out: dict[str, float | None] = dict.fromkeys(("cdk_one_s", "cdk_each_ms", "ours_one_s", "ours_each_ms",
                                                  "ours_each_pair_ms", "one_ratio", "each_ratio", "pair_ratio"))
    c1, o1 = _find(results, CDK_NAME, 1), _find(results, BESIDE_CDK, 1)
    many = [m for m in results if m.name == CDK_NAME and m.seconds and m.size > 1]
    big = [m for m in results if m.name == BESIDE_CDK and m.seconds and m.size > 1]
    if c1:
        out["cdk_one_s"] = c1.median
    if o1:
        out["ours_one_s"] = o1.median
    if c1 and many:
        cn = max(many, key=lambda m: m.size)
        out["cdk_each_ms"] = 1000 * (cn.median - c1.median) / (cn.size - 1)
    if o1 and big:
        on = max(big, key=lambda m: m.size)
        out["ours_each_ms"] = 1000 * (on.median - o1.median) / (on.size - 1)
        if on.pairs > o1.pairs:  # a CDK stack is one pair: ours per additional pair is like for like
            out["ours_each_pair_ms"] = 1000 * (on.median - o1.median) / (on.pairs - o1.pairs)
    if c1 and o1:
        out["one_ratio"] = c1.median / o1.median
    if out["cdk_each_ms"] is not None and out["ours_each_ms"]:
        out["each_ratio"] = out["cdk_each_ms"] / out["ours_each_ms"] if out["ours_each_ms"] > 0 else None
    if out["cdk_each_ms"] is not None and out["ours_each_pair_ms"] and out["ours_each_pair_ms"] > 0:
        out["pair_ratio"] = out["cdk_each_ms"] / out["ours_each_pair_ms"]
    return out


def per_service_ms(results: list["Measurement"], name: str, size: int) -> float | None:
    m = _find(results, name, size)
    return 1000 * m.median / m.size if m else None


def pr_ratio(results: list["Measurement"], size: int) -> float | None:
    """The PR row over a cold build of the same fleet: the median of each run over the cold build
    timed next to it, else (older results) the two medians."""
    import statistics

    pr = _find(results, PR_NAME, size)
    if pr is None:
        return None
    paired = pr.parts.get(PAIRED, [])
    if len(paired) == len(pr.seconds) and all(paired):
        return statistics.median(s / c for s, c in zip(pr.seconds, paired))
    cold = _find(results, "build cold", size)
    return pr.median / cold.median if cold else None


def targets(results: list["Measurement"]) -> list[dict]:
    out = []

    def check(what: str, value: float | None, limit: float | None, unit: str, at_most: bool = True) -> None:
        """One target; with `limit` None, a figure reported beside the targets (met is None)."""
        ok = None if value is None or limit is None else (value <= limit if at_most else value >= limit)
        out.append({"target": what, "value": value, "limit": limit, "unit": unit,
                    "met": ok, "comparison": "<=" if at_most else ">="})

    def median(name: str, size: int | None = None) -> float | None:
        m = _find(results, name, size)
        return m.median if m else None

    sizes = sorted({m.size for m in results if m.name == "build cold" and m.size > 1})
    big = max((s for s in sizes if s <= 1000), default=None)
    check("build, one-service repository (20x faster than a ~10 s CDK synth)", median("build cold", 1), 0.5, "s")
    if big:
        check(f"each additional service, cold build (N={big})", marginal_ms(results, big), 15, "ms")
    check("cold build, 500 services", median("build cold", 500), 10, "s")
    check("no-op build, 500 services", median("build no-op", 500), 1, "s")
    check("one-spec-changed build, 500 services", median("build one spec changed", 500), 1, "s")
    check("lint after one spec changed (warm cache), 500 services", median("lint one spec changed (warm)", 500), 3, "s")
    validate_one = [m.median for m in results if m.name == "validate one spec" and m.seconds]
    check("validate one spec (largest fleet measured)", max(validate_one) if validate_one else None, 0.5, "s")
    for model, limit, label in (
            ("AWS-like latency", 4.0, "emulator with its AWS-like latency model"),
            ("instant emulator", None, "instant emulator: CPU-bound, so at most ~2x on 2 cores")):
        j1, j8 = median(f"plan --jobs 1 ({model})"), median(f"plan --jobs 8 ({model})")
        check(f"plan --jobs 8 speed-up over --jobs 1 ({label})", j1 / j8 if j1 and j8 else None, limit, "x",
              at_most=False)
    for size in sorted({m.size for m in results if m.name == PR_NAME and m.seconds}):
        check(f"PR with one spec changed on a fresh runner (validate + check + lint --changed-since + "
              f"affected) over a cold build, N={size}", pr_ratio(results, size),
              PR_LIMIT if size >= PR_FROM else None, "x")
    cdk = cdk_comparison(results)
    if any(m.name == CDK_NAME for m in results):
        check("CDK synth, one stack (interleaved)", cdk["cdk_one_s"], None, "s")
        check("CDK synth, each additional stack", cdk["cdk_each_ms"], None, "ms")
        check("shipspec cold build, one service (interleaved with CDK)", cdk["ours_one_s"], None, "s")
        check("shipspec cold build, each additional service (interleaved with CDK)", cdk["ours_each_ms"], None, "ms")
        check("CDK one-stack synth over shipspec one-service build", cdk["one_ratio"], CDK_ONE_LIMIT, "x",
              at_most=False)
        check("CDK per additional stack over shipspec per additional service", cdk["each_ratio"], CDK_EACH_LIMIT,
              "x", at_most=False)
        check("CDK per additional stack over shipspec per additional (service, environment) pair, like for like",
              cdk["pair_ratio"], None, "x")
    for size in REBUILD_SIZES:
        cold = median("build cold", size)
        for name in ("build no-op", "build one spec changed"):
            value = median(name, size)
            if cold and value is not None:
                check(f"{name} over cold build, {size} services", 100 * value / cold, REBUILD_LIMIT, "%")
    small, large, limit = GROWTH
    at_small, at_large = per_service_ms(results, "build cold", small), per_service_ms(results, "build cold", large)
    if at_small and at_large is not None:
        check(f"cold build per service, {large} over {small} services", at_large / at_small, limit, "x")
    for size, limit in PEAK_LIMITS.items():
        peak = [m.tree_rss_mb for m in results if m.size == size and m.seconds and not m.name.startswith("plan")
                and m.name not in (CDK_NAME, BESIDE_CDK)]
        if peak:
            check(f"peak memory, {size} services (process tree)", max(peak), limit, "MB")
    return out


def growth_line(results: list["Measurement"]) -> str:
    """Cold build per service as N grows: `N=10: 94.1 ms, N=500: 14.5 ms, ...` (empty without rows)."""
    sizes = sorted({m.size for m in results if m.name == "build cold" and m.seconds})
    parts = [f"N={s}: {per_service_ms(results, 'build cold', s):.1f} ms" for s in sizes]
    return "cold build per service as N grows: " + ", ".join(parts) if parts else ""


def _num(value: float) -> str:
    """Three significant digits, without an exponent for large values (2197 MB, not 2.2e+03)."""
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def breakdown(m: "Measurement") -> str:
    """Each step's median of a row made of several steps: `validate 1.40 s, check 6.43 s, ...`."""
    import statistics

    return ", ".join(f"{step} {statistics.median(times):.2f} s" for step, times in m.parts.items())


def _load(values) -> str:
    return "/".join(f"{v:.1f}" for v in values) if values else "unknown"


def table(results: list["Measurement"], goals: list[dict], machine: dict) -> str:
    lines = [f"shipspec {machine['shipspec']} on {machine['cores']} cores, Python {machine['python']}, "
             f"{machine['platform']}", f"load average (1, 5, 15 min) at start {_load(machine.get('load_average_at_start'))}, "
             f"at end {_load(machine.get('load_average_at_end'))}", ""]
    head = f"{'N':>5} {'pairs':>5}  {'measurement':<38} {'median s':>9} {'min':>7} {'max':>7} {'ms/service':>10} {'RSS MB':>7} {'tree MB':>7}"
    lines += [head, "-" * len(head)]
    for m in results:
        if m.error:
            lines.append(f"{m.size:>5} {m.pairs:>5}  {m.name:<38} ERROR {m.error[:80]}")
            continue
        lines.append(f"{m.size:>5} {m.pairs:>5}  {m.name:<38} {m.median:>9.3f} {min(m.seconds):>7.3f} "
                     f"{max(m.seconds):>7.3f} {1000 * m.median / m.size:>10.1f} {m.max_rss_mb:>7.0f} {m.tree_rss_mb:>7.0f}")
    sizes = sorted({m.size for m in results if m.name == "build cold" and m.size > 1})
    if sizes:
        lines += ["", "cold build, cost of each service beyond the first: " + ", ".join(
            f"N={s}: {marginal_ms(results, s):.1f} ms" for s in sizes if marginal_ms(results, s) is not None)]
    if growth_line(results):
        lines.append(growth_line(results))
    lines += [f"{m.name}, N={m.size}: {breakdown(m)}" for m in results if m.parts and m.seconds]
    lines += ["", "targets:"]
    for g in goals:
        if g["limit"] is None:
            value = "not measured" if g["value"] is None else f"{_num(g['value'])} {g['unit']}"
            lines.append(f"  [info] {g['target']}: {value}")
            continue
        if g["met"] is None:
            lines.append(f"  [ -- ] {g['target']}: not measured")
            continue
        mark = " ok " if g["met"] else "MISS"
        lines.append(f"  [{mark}] {g['target']}: {_num(g['value'])} {g['unit']} ({g['comparison']} {g['limit']} {g['unit']})")
    return "\n".join(lines)


def markdown(results: list["Measurement"], goals: list[dict]) -> str:
    """The measured table and the targets table as docs/performance.md shows them."""
    lines = ["| N | pairs | measurement | median | min | max | ms per service | RSS MB | tree MB |",
             "|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    for m in results:
        if m.error:
            lines.append(f"| {m.size} | {m.pairs} | {m.name} | error | | | | | |")
            continue
        lines.append(f"| {m.size} | {m.pairs} | {m.name} | {m.median:.3f} | {min(m.seconds):.3f} | "
                     f"{max(m.seconds):.3f} | {1000 * m.median / m.size:.1f} | {m.max_rss_mb:.0f} | {m.tree_rss_mb:.0f} |")
    if growth_line(results):
        lines += ["", growth_line(results) + "."]
    parts = [f"- {m.name}, N={m.size}: {breakdown(m)}" for m in results if m.parts and m.seconds]
    if parts:
        lines += ["", "Steps of the rows made of several commands (medians):", "", *parts]
    lines += ["", "| target | measured | limit | met |", "|---|---:|---:|---|"]
    for g in goals:
        value = "not measured" if g["value"] is None else f"{_num(g['value'])} {g['unit']}"
        limit = "(reported)" if g["limit"] is None else f"{g['comparison']} {g['limit']:g} {g['unit']}"
        met = "" if g["limit"] is None else ("--" if g["met"] is None else ("yes" if g["met"] else "**no**"))
        lines.append(f"| {g['target']} | {value} | {limit} | {met} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """`python -m benchmarks.report BENCH.json`: the tables of docs/performance.md again, in
    markdown, from the JSON of one `make bench` run (`--output`), targets recomputed."""
    import argparse
    import json
    from pathlib import Path

    from benchmarks.proc import Measurement

    p = argparse.ArgumentParser(prog="python -m benchmarks.report", description=main.__doc__.split("\n")[0])
    p.add_argument("json", type=Path, help="the file `make bench BENCH_ARGS=--output FILE` wrote")
    args = p.parse_args(argv)
    doc = json.loads(args.json.read_text(encoding="utf-8"))
    results = [Measurement.from_dict(r) for r in doc["results"]]
    print(markdown(results, targets(results)), end="")
    cdk = doc.get("cdk") or {}
    if cdk:
        print(f"\nCDK comparison: {'skipped: ' + cdk['skipped'] if cdk.get('skipped') else cdk.get('describe', '')}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
