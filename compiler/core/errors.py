"""The errors a command ends with: an expected failure with a message for the user.

Raised anywhere in the flow, caught and printed once by the CLI (`compiler/cli/main.py`): exit
status 1 (or the one given), 2 for a usage error. Spec problems are `SpecError`
(`compiler/core/diagnostics.py`), which carries every located diagnostic instead.
"""

from __future__ import annotations


class ShipspecError(Exception):
    """An expected failure with a message for the user (exit status 1 unless given)."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


class UsageError(ShipspecError):
    """The command line asked for something that cannot be (exit status 2)."""

    def __init__(self, message: str):
        super().__init__(message, status=2)
