"""What every AWS step of one run shares: sessions, timing, cancellation, and a ledger of what
was left in which state (printed when the run is interrupted)."""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable, Mapping, Protocol

from .session import Sessions


class EmulatorGaps(Protocol):
    """How a run works around the local emulator's gaps. `compiler/local/adapt.py` provides it and the
    CLI passes it in: deploy never imports the local emulator."""

    def adapt_doc(self, template: bytes, doc: dict) -> tuple[bytes, tuple[str, ...], dict]:
        """(the body the emulator is sent, what was changed, the document it runs)."""

    def notes(self, doc: Mapping) -> tuple[str, ...]:
        """What a plan should say about this template on the emulator."""


class Cancelled(Exception):
    """The run was interrupted (Ctrl-C); the ledger says what was left where."""


@dataclass(frozen=True)
class Timing:
    poll: float = 5.0  # seconds between status polls
    change_set_timeout: float = 600.0  # creating one change set
    busy_timeout: float = 900.0  # waiting for a stack another run is changing (*_IN_PROGRESS)
    apply_timeout: float = 3600.0  # one stack's create/update, including rollback

    @classmethod
    def for_endpoint(cls, emulated: bool) -> "Timing":
        """Defaults; `SHIPSPEC_POLL_SECONDS` and `SHIPSPEC_BUSY_TIMEOUT` override (tests, impatient CI)."""
        base = cls(poll=0.2, busy_timeout=10.0) if emulated else cls()
        poll = float(os.environ.get("SHIPSPEC_POLL_SECONDS", base.poll))
        busy = float(os.environ.get("SHIPSPEC_BUSY_TIMEOUT", base.busy_timeout))
        return cls(poll, base.change_set_timeout, busy, base.apply_timeout)


class Ledger:
    """Per stack, the last thing done that leaves state behind (thread-safe)."""

    def __init__(self) -> None:
        self._entries: dict[str, str] = {}
        self._lock = threading.Lock()

    def note(self, stack_label: str, state: str) -> None:
        with self._lock:
            self._entries[stack_label] = state

    def clear(self, stack_label: str) -> None:
        with self._lock:
            self._entries.pop(stack_label, None)

    def entries(self) -> list[tuple[str, str]]:
        with self._lock:
            return sorted(self._entries.items())


@dataclass
class RunContext:
    sessions: Sessions
    timing: Timing
    log: Callable[[str], None] = lambda line: None  # progress lines (thread-safe printer)
    progress: Callable[[str, int, int], None] = lambda stack, done, total: None  # resources done
    cancel: threading.Event = field(default_factory=threading.Event)
    ledger: Ledger = field(default_factory=Ledger)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    keep: bool = False  # plan: keep change sets (and new stacks' review shells)
    emulator: EmulatorGaps | None = None  # set exactly when the endpoint is the local emulator

    @property
    def emulated(self) -> bool:
        return self.sessions.endpoint.emulated

    def change_set_name(self, stack_name: str) -> str:
        # Unique per stack and run: names must start with a letter; letters, digits, hyphens; <= 128.
        return f"shipspec-{self.run_id}-{uuid.uuid4().hex[:8]}"

    def sleep(self, seconds: float | None = None) -> None:
        if self.cancel.wait(self.timing.poll if seconds is None else seconds):
            raise Cancelled()

    def deadline(self, seconds: float) -> float:
        return time.monotonic() + seconds
