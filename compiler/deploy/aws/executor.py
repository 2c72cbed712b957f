"""A bounded thread pool over stacks (`--jobs N`), optionally in dependency order: a stack starts
once the stacks it depends on have finished, and is skipped when one of them failed. Ctrl-C
sets the run's cancel flag (waits poll it and stop), then raises `Cancelled`."""

from __future__ import annotations

import concurrent.futures as cf
from typing import Callable, Hashable, Iterable, Mapping, TypeVar

from .runctx import Cancelled, RunContext

T = TypeVar("T")
R = TypeVar("R")
K = TypeVar("K", bound=Hashable)

MAX_JOBS = 32


def bounded_jobs(jobs: int | None, default: int = 4) -> int:
    return max(1, min(MAX_JOBS, jobs or default))


def run_pool(ctx: RunContext, items: Iterable[T], key: Callable[[T], K], work: Callable[[T], R], jobs: int,
             deps: Mapping[K, tuple[K, ...]] | None = None,
             failed: Callable[[R], bool] = lambda r: False,
             skipped: Callable[[T, K], R] | None = None) -> dict[K, R]:
    """Run `work` over `items`, at most `jobs` at once; with `deps`, in dependency order (a stack
    whose dependency `failed` gets `skipped(item, that dependency)` instead of running)."""
    items = list(items)
    deps = deps or {}
    pending = {key(i): i for i in items}
    selected = set(pending)
    results: dict[K, R] = {}
    running: dict[cf.Future, K] = {}
    pool = cf.ThreadPoolExecutor(max_workers=bounded_jobs(jobs), thread_name_prefix="shipspec")
    try:
        while pending or running:
            ready = [k for k in pending if all(d in results for d in deps.get(k, ()) if d in selected)]
            if not ready and not running:
                raise RuntimeError(f"dependency cycle among {sorted(map(str, pending))}")
            for k in ready:
                bad = next((d for d in deps.get(k, ()) if d in results and failed(results[d])), None)
                item = pending.pop(k)
                if bad is not None and skipped is not None:
                    results[k] = skipped(item, bad)
                    continue
                running[pool.submit(work, item)] = k
            if not running:
                continue  # everything ready was skipped; look again
            done, _ = cf.wait(running, timeout=0.5, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                k = running.pop(fut)
                results[k] = fut.result()  # Cancelled and bugs propagate
    except (KeyboardInterrupt, Cancelled):
        ctx.cancel.set()
        for fut in running:
            fut.cancel()
        cf.wait(running, timeout=10)
        pool.shutdown(wait=False, cancel_futures=True)
        raise Cancelled() from None
    except BaseException:
        ctx.cancel.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results
