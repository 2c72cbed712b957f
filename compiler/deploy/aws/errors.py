"""AWS errors as one line of text: the one place that reads botocore's error shape.

Importing this module does not import botocore (the `status`/`doctor` path stays light):
`client_errors()` does, when a caller catches.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from ...core.errors import ShipspecError


def client_errors() -> tuple[type[BaseException], ...]:
    """What a failed AWS call raises: botocore's ClientError and BotoCoreError."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)


def error_code(exc: BaseException) -> str:
    """The AWS error code (`ValidationError`, `ThrottlingException`, ...), else the exception's type."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", "")) or type(exc).__name__


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Message", "")) or str(exc)


def short_error(exc: BaseException) -> str:
    """One line for a failed call; HTML error pages (an emulator's 500) are not shown."""
    message = error_message(exc)
    if "<html" in message.lower() or "<!doctype" in message.lower():
        message = "the endpoint answered with an internal error (not supported there?)"
    return f"{error_code(exc)}: {message.splitlines()[0][:300]}" if message else error_code(exc)


@contextmanager
def aws_errors(what: str) -> Iterator[None]:
    """AWS failures outside the reads that tolerate them become one clear error line."""
    try:
        yield
    except client_errors() as exc:
        raise ShipspecError(f"{what}: {short_error(exc)}") from None
