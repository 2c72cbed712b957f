"""Run one `python -m compiler ...` as a real subprocess and measure it: wall time (interpreter
start-up included), the largest resident set of any one process (wait4's ru_maxrss) and the
peak of the whole process tree's resident sets (worker processes included), sampled from /proc."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

SAMPLE_SECONDS = 0.05
LINGER_SECONDS = 30.0  # at most, for descendants that outlive the command


@dataclass
class Measurement:
    name: str
    size: int  # services in the repository
    pairs: int  # service/environment pairs (two stacks each)
    seconds: list[float] = field(default_factory=list)
    max_rss_mb: float = 0.0
    tree_rss_mb: float = 0.0
    error: str = ""
    parts: dict[str, list[float]] = field(default_factory=dict)  # a row of several steps: each step's times

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")

    @classmethod
    def from_dict(cls, d: dict) -> "Measurement":
        """A row of the benchmark's JSON (`as_dict`) back: the tables can be rendered again from it."""
        return cls(d["name"], d["size"], d["pairs"], list(d["seconds"]), d["max_rss_mb"], d["tree_rss_mb"],
                   d.get("error", ""), {k: list(v) for k, v in d.get("parts", {}).items()})

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(median=self.median, min=min(self.seconds, default=None), max=max(self.seconds, default=None),
                 runs=len(self.seconds), per_service_ms=1000 * self.median / self.size if self.seconds else None)
        return d


@dataclass(frozen=True)
class Run:
    seconds: float
    max_rss_mb: float  # the largest single process (the CLI or one of its workers)
    tree_rss_mb: float  # peak sum over the CLI and its descendants (0 when /proc is unavailable)
    status: int
    stderr: str


PYCACHE: list[str] = []  # set by the benchmark: where runs keep compiled bytecode
PYTHONPATH: list[str] = []  # set by the benchmark: the snapshot of the compiler the runs import


def cli_env() -> dict[str, str]:
    """The environment benchmark runs get: fake credentials, no profile, no CI annotations, cache on,
    and bytecode caching on (as on any installation), kept in a scratch directory."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "GITHUB_ACTIONS",
                        "SHIPSPEC_NO_CACHE", "PYTHONDONTWRITEBYTECODE")}
    if PYCACHE:
        env["PYTHONPYCACHEPREFIX"] = PYCACHE[0]
    if PYTHONPATH:
        env["PYTHONPATH"] = os.pathsep.join(PYTHONPATH + [p for p in [env.get("PYTHONPATH", "")] if p])
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    return env


def run_cli(root: Path, args: list[str], timeout: float = 3600) -> Run:
    """`python -m compiler --root ROOT ARGS...`, measured."""
    return run_command([sys.executable, "-m", "compiler", "--root", str(root), *args], root, cli_env(), timeout)


def run_command(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 3600) -> Run:
    """Any command (the CDK synth too), measured the same way: wall time, the largest process's
    ru_maxrss and the peak resident set of the process tree."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL,
                                env=env, cwd=cwd)
        peak = [0]
        seen: set[int] = set()
        stop = threading.Event()
        sampler = threading.Thread(target=_sample, args=(proc.pid, peak, stop, seen), daemon=True)
        sampler.start()
        deadline = time.monotonic() + timeout
        status, usage = _wait(proc, deadline)
        seconds = time.perf_counter() - start
        stop.set()
        sampler.join()
        _linger(seen - {proc.pid}, time.monotonic() + LINGER_SECONDS)
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
    return Run(seconds, usage / 1024, peak[0] / 1024, status, text)


def _wait(proc: subprocess.Popen, deadline: float) -> tuple[int, int]:
    while True:
        pid, wstatus, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(wstatus)
            return proc.returncode, usage.ru_maxrss
        if time.monotonic() > deadline:
            proc.kill()
        time.sleep(0.005)


def _sample(pid: int, peak: list[int], stop: threading.Event, seen: set[int]) -> None:
    while not stop.is_set():
        tree = _tree(pid)
        seen.update(tree)
        peak[0] = max(peak[0], sum(_rss_kb(p) for p in tree))
        stop.wait(SAMPLE_SECONDS)


def _linger(pids: set[int], deadline: float) -> None:
    """Wait (untimed) until the descendants seen while the command ran are gone: a process that
    outlives its parent (CDK's jsii runtime cleaning up after the Python process exited) would
    otherwise take the CPU from the next measurement."""
    while pids and time.monotonic() < deadline:
        pids = {p for p in pids if _alive(p)}
        if pids:
            time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except OSError:
            continue
    return out


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0
