"""Pause Python's cycle collector while a build runs.

A build allocates millions of small objects (spec trees, validated configurations, rendered
documents) and frees them by reference counting; it makes almost no reference cycles, which are
all the collector exists to find. Yet the collector traverses every live object each time a
full collection triggers: a quarter of a one-spec rebuild at 5,000 services, and its cost grows
with the fleet. So a build runs with the collector off and turns it back on at the end; cycles
made meanwhile (an exception caught with its traceback, mainly) are collected then. Standard
library only: the no-op build uses it too.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Run the block without cyclic garbage collection, then restore the collector as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def pause_for_good() -> None:
    """In a worker process, which exits when its work is done: no collector at all."""
    gc.disable()
