"""The benchmark's table and its targets (docs/performance.md): formatting only, no measuring."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:
    from benchmarks.proc import Measurement

PR_NAME = "PR with one spec changed, fresh runner"
PAIRED = "paired cold build"  # timed next to each PR run, not part of its sum
PR_LIMIT = 2.5  # times a cold build of the same fleet
PR_FROM = 100  # smaller fleets: start-up dominates, the ratio is reported only


def _find(results: list["Measurement"], name: str, size: int | None = None) -> Optional["Measurement"]:
    found = [m for m in results if m.name == name and m.seconds and (size is None or m.size == size)]
    return max(found, key=lambda m: m.size) if found else None


def marginal_ms(results: list["Measurement"], size: int) -> float | None:
    """Cost of each service beyond the first in a cold build, from the one-service repository."""
    one, big = _find(results, "build cold", 1), _find(results, "build cold", size)
    if not one or not big or size <= 1:
        return None
    return 1000 * (big.median - one.median) / (size - 1)


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
    top = max((m.size for m in results), default=0)
    peak = [m.tree_rss_mb for m in results if m.size == top and m.seconds and not m.name.startswith("plan")]
    if top >= 1000:
        check(f"peak memory, {top} services (process tree)", max(peak) if peak else None, 500, "MB")
    return out


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
    lines += [f"{m.name}, N={m.size}: {breakdown(m)}" for m in results if m.parts and m.seconds]
    lines += ["", "targets:"]
    for g in goals:
        if g["limit"] is None:
            value = "not measured" if g["value"] is None else f"{g['value']:.3g} {g['unit']}"
            lines.append(f"  [info] {g['target']}: {value}")
            continue
        if g["met"] is None:
            lines.append(f"  [ -- ] {g['target']}: not measured")
            continue
        mark = " ok " if g["met"] else "MISS"
        lines.append(f"  [{mark}] {g['target']}: {g['value']:.3g} {g['unit']} ({g['comparison']} {g['limit']} {g['unit']})")
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
    parts = [f"- {m.name}, N={m.size}: {breakdown(m)}" for m in results if m.parts and m.seconds]
    if parts:
        lines += ["", "Steps of the rows made of several commands (medians):", "", *parts]
    lines += ["", "| target | measured | limit | met |", "|---|---:|---:|---|"]
    for g in goals:
        value = "not measured" if g["value"] is None else f"{g['value']:.3g} {g['unit']}"
        limit = "(reported)" if g["limit"] is None else f"{g['comparison']} {g['limit']:g} {g['unit']}"
        met = "" if g["limit"] is None else ("--" if g["met"] is None else ("yes" if g["met"] else "**no**"))
        lines.append(f"| {g['target']} | {value} | {limit} | {met} |")
    return "\n".join(lines) + "\n"
