"""Validate and render many specs at once in worker processes (a cold or mostly-cold build).

Each spec is independent until the fleet-wide checks, so the specs the cache misses are split
into chunks and each worker runs exactly what the serial path runs for a spec
(`validate._load_service`, then `build.render_service` per environment) and sends back the
configurations and rendered files. The caller (compiler/build/incremental.py) then runs
`validate.load_project` over everything as always, with the workers' results standing in for
the specs they did; a spec a worker could not do (an invalid one, say) is loaded serially
there, so its diagnostics are exactly the uncached ones.

Workers are spawned (fresh interpreters: safe whatever threads the parent runs); start-up
costs a few hundred milliseconds, so this only pays for itself from `MIN_SPECS` specs. They die
with the build (compiler/build/lifeline.py): a killed build leaves no worker behind.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

MIN_SPECS = 48
MAX_JOBS = 8

# (display path, [(config, files, stacks) per environment]) per spec
Result = list[tuple[str, list[tuple[object, list, list]]]]


def default_jobs() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_JOBS, cpus))


def worth_it(count: int, jobs: int) -> bool:
    return jobs > 1 and count >= MIN_SPECS


def prerender(root: Path, paths: Sequence[Path], render: bool, jobs: int) -> Result | None:
    """Validate (and render, when `render`) each spec in a pool. Specs that failed (invalid ones
    included) are left out; None if the pool itself failed."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from .lifeline import watch_parent

    paths = list(paths)
    chunks = max(1, min(len(paths), jobs * 4))
    parts = [[str(p) for p in paths[i::chunks]] for i in range(chunks)]
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=watch_parent, initargs=(os.getpid(),)) as pool:
            results = list(pool.map(_work, [str(root)] * len(parts), parts, [render] * len(parts)))
    except Exception:  # a crashed or unstartable worker: the serial path will do it all
        return None
    return [item for chunk in results for item in chunk]


_DEFAULTS: dict = {}


def _work(root: str, paths: list[str], render: bool) -> Result:
    from ..spec.project import DEFAULTS_FILE, _load_service, rel
    from ..spec.yamlsrc import LDict, load_file
    from .compile import lambda_files, render_service

    base = Path(root)
    try:
        if root not in _DEFAULTS:
            dpath = base / "services" / DEFAULTS_FILE
            _DEFAULTS[root] = load_file(dpath, rel(base, dpath)) if dpath.exists() else LDict()
        lambda_key = lambda_files()[1] if render else ""
    except Exception:
        return []
    out: Result = []
    for path in paths:
        try:
            envs = _load_service(base, Path(path), _DEFAULTS[root])
            out.append((rel(base, Path(path)),
                        [(s.config, *(render_service(s.config, s.file, lambda_key) if render else ([], [])))
                         for s in envs]))
        except Exception:  # an invalid spec: the serial loader reports it exactly
            continue
    return out
