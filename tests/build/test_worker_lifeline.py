"""Worker processes die with their parent: a cold `build` (its prerender pool) or a `lint` (its
cfn-lint pool) killed with SIGKILL leaves no worker, fork server or resource tracker behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.fleet import write_fleet
from compiler.build.lifeline import alive
from compiler.build.prerender import MIN_SPECS

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")]


def _session(sid: int) -> dict[int, str]:
    """pid -> command line of every live process in session `sid` (zombies left out)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
            fields = stat.rsplit(b")", 1)[1].split()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] not in (b"Z", b"X"):
            out[int(entry.name)] = cmd
    return out


# What each command's pool looks like on the command line: the build's spawned prerender workers,
# lint's cfn-lint fork server and the workers it forks (same command line as the server).
POOL = {"build": "multiprocessing.spawn", "lint": "multiprocessing.forkserver"}


@pytest.mark.parametrize("command", ["build", "lint"])
def test_killing_the_parent_kills_every_worker(tmp_path, command):
    write_fleet(tmp_path, MIN_SPECS + 12)  # a cold build of this many specs uses the worker pool
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                                       os.environ.get("PYTHONPATH", "")])}
    base = [sys.executable, "-m", "compiler", "--root", str(tmp_path)]
    if command == "lint":  # a warm cache: lint validates without the prerender pool, then lints on its own
        subprocess.run(base + ["build"], env=env, check=True, capture_output=True, timeout=300)
    proc = subprocess.Popen(base + ([command, "--jobs", "2"] if command == "lint" else [command]),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env=env, start_new_session=True)
    survivors: dict[int, str] = {}
    try:
        deadline = time.monotonic() + 120
        workers: dict[int, str] = {}
        while time.monotonic() < deadline and proc.poll() is None:
            workers = {p: c for p, c in _session(proc.pid).items() if p != proc.pid and POOL[command] in c}
            if len(workers) >= 2:
                break
            time.sleep(0.05)
        assert proc.poll() is None, f"{command} ended before its workers were seen: {proc.stderr.read()[-2000:]!r}"
        assert workers, f"{command} started no worker processes"
        time.sleep(0.5)  # let the workers get to work (initialised, holding their queues)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            survivors = _session(proc.pid)
            if not survivors:
                break
            time.sleep(0.1)
        assert survivors == {}, f"still running 10 s after {command} was killed: {survivors}"
    finally:
        for pid in list(survivors) + ([proc.pid] if proc.poll() is None else []):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc.stderr:
            proc.stderr.close()


def test_alive_treats_a_zombie_as_dead():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while alive(child.pid) and time.monotonic() < deadline:  # exits, then sits unreaped: a zombie
        time.sleep(0.02)
    assert not alive(child.pid)
    child.wait()
    assert alive(os.getpid())
