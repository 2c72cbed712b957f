"""Validate and render many specs at once in worker processes (a cold or mostly-cold build).

Each spec is independent until the fleet-wide checks, so the specs the cache misses are split
into chunks and each worker runs exactly what the serial path runs for a spec
(`validate._load_service`, then `build.render_service` per environment) and sends back the
configurations and rendered files. The caller (compiler/build/incremental.py) then runs
`validate.load_project` over everything as always, with the workers' results standing in for
the specs they did; a spec a worker could not do (an invalid one, say) is loaded serially
there, so its diagnostics are exactly the uncached ones.

Workers are spawned (fresh interpreters: safe whatever threads the parent runs); start-up
costs a few hundred milliseconds, so this only pays for itself from `MIN_SPECS` specs to build
(`MIN_SPECS_VALIDATE` to validate only). They die
with the build (compiler/build/lifeline.py): a killed build leaves no worker behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Iterator, Sequence

MIN_SPECS = 48
MIN_SPECS_VALIDATE = 500  # validating only, a spec costs about 1 ms: the pool pays from about here
MAX_JOBS = 8
CHUNK_SPECS = 32  # at most this many specs per chunk (about, for big fleets): a worker's memory stays bounded

# (display path, [(config, files, stacks, warnings) per environment]) per spec
Result = list[tuple[str, list[tuple[object, list, list, tuple]]]]


def default_jobs() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_JOBS, cpus))


def worth_it(count: int, jobs: int, render: bool = True) -> bool:
    """Whether `count` missed specs are done faster in a pool than here (measured on two cores:
    validating 100 specs took 0.40 s with the pool and 0.23 s without, 1,000 specs 0.98 s and
    1.35 s)."""
    return jobs > 1 and count >= (MIN_SPECS if render else MIN_SPECS_VALIDATE)


def prerender(root: Path, paths: Sequence[Path], render: bool, jobs: int, spool: str | None = None) -> Result | None:
    """Validate (and render, when `render`) each spec in a pool. Specs that failed (invalid ones
    included) are left out; None if the pool itself failed. With a `spool` folder, the workers
    write the rendered bytes there and send back `FileArtifact`s (a path, a hash, a file), so
    the build never holds every rendered byte at once."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from .lifeline import watch_parent

    paths = list(paths)
    chunks = max(1, min(len(paths), max(jobs * 4, -(-len(paths) // CHUNK_SPECS))))  # a worker holds one chunk
    parts = [[str(p) for p in paths[i::chunks]] for i in range(chunks)]
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=watch_parent, initargs=(os.getpid(),)) as pool:
            results = list(pool.map(_work, [str(root)] * len(parts), parts, [render] * len(parts),
                                    [spool] * len(parts), range(len(parts))))
    except Exception:  # a crashed or unstartable worker: the serial path will do it all
        return None
    return [item for chunk in results for item in chunk]


SPOOL_PARENT = ".shipspec"  # git-ignored, on the repository's file system (the writer links from it)
SPOOL_PREFIX = "spool-"


@contextlib.contextmanager
def spool_folder(root: Path) -> Iterator[str | None]:
    """A folder for the workers' rendered bytes, removed afterwards (with those of builds that were
    killed); None when it cannot be made (the bytes then travel back in memory)."""
    parent = root / SPOOL_PARENT
    try:
        for old in parent.glob(SPOOL_PREFIX + "*"):
            if not _alive(old.name[len(SPOOL_PREFIX):].split("-", 1)[0]):
                shutil.rmtree(old, ignore_errors=True)
        import tempfile

        parent.mkdir(exist_ok=True)
        folder = tempfile.mkdtemp(prefix=f"{SPOOL_PREFIX}{os.getpid()}-", dir=parent)
    except OSError:
        yield None
        return
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: str) -> bool:
    from .lifeline import alive

    return pid.isdigit() and alive(int(pid))


_DEFAULTS: dict = {}


def _work(root: str, paths: list[str], render: bool, spool: str | None = None, chunk: int = 0) -> Result:
    from ..spec.project import DEFAULTS_FILE, _load_service, rel
    from ..spec.yamlsrc import LDict, load_file
    from .compile import lambda_files, render_service

    from .gc_pause import pause_for_good

    pause_for_good()  # a worker process: refcounting frees what it renders (compiler/build/gc_pause.py)
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
            done = []
            for s in envs:
                files, stacks = render_service(s.config, s.file, lambda_key) if render else ([], [])
                if spool is not None:
                    files = [_spooled(a, f"{spool}/{chunk}-{len(out)}-{len(done)}-{i}") for i, a in enumerate(files)]
                done.append((s.config, files, stacks, s.warnings))  # warnings need the located tree: here, once
            out.append((rel(base, Path(path)), done))
        except Exception:  # an invalid spec: the serial loader reports it exactly
            continue
    return out


def _spooled(art, source: str):
    from .ir import FileArtifact

    with open(source, "wb") as fh:
        fh.write(art.content)
    return FileArtifact(art.path, source, art.sha256)
