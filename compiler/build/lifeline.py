"""Worker processes die with the shipspec process that started them.

A pool worker (the build's prerender pool, the cfn-lint pool) blocks on its task queue; when its
parent is killed (SIGKILL, the OOM killer, a CI runner's timeout) nothing closes that queue for
it, so without help it would wait for ever, and the multiprocessing resource tracker, which lives
until the last process holding its pipe exits, with it. `watch_parent(pid)`, a pool initializer,
makes the worker exit as soon as the process `pid` is gone:

- on Linux, `prctl(PR_SET_PDEATHSIG, SIGKILL)`: the kernel kills the worker when its parent
  process dies (for a forkserver's worker that is the fork server, which itself exits when
  shipspec does);
- everywhere, a daemon thread that checks every `INTERVAL` seconds whether its parent changed
  (it was re-parented: the parent died) or the process `pid` is gone or a zombie, and then ends
  the worker at once (`os._exit`).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

INTERVAL = 0.2  # seconds between checks
PR_SET_PDEATHSIG = 1


def watch_parent(pid: int) -> None:
    """In a worker: exit when the process `pid` (the shipspec process that made the pool) dies."""
    first_parent = os.getppid()
    _parent_death_signal()
    if not alive(pid):  # it died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch, args=(pid, first_parent), daemon=True, name="shipspec-lifeline").start()


def _parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl here: the watching thread still works
        pass


def _watch(pid: int, first_parent: int) -> None:
    while True:
        if os.getppid() != first_parent or not alive(pid):
            os._exit(1)
        time.sleep(INTERVAL)


def alive(pid: int) -> bool:
    """Whether process `pid` exists and is not a zombie (a killed parent not yet reaped is one)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except FileNotFoundError:
        return False
    except (OSError, IndexError):  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
