"""The reasons the emulator's stopped tasks report: a known failure's example as ECS reports it
(compiler/core/known_failures.py), naming the task's own image. Used by `local seed --broken` and
by the model of service deployments for rollouts that fail. Pure."""

from __future__ import annotations

import re

from ..core.known_failures import KNOWN_FAILURES, entry

ALIASES = {"pull": "image-not-found"}  # `local seed --broken` names besides the table's ids

_ECR_REF = re.compile(r"(?P<registry>[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?)/"
                      r"[a-z0-9._/-]+:(?P<tag>[\w.-]+)")


def stop_reason(kind: str, image: str) -> str:
    """The table entry's example reason, naming `image` instead of the example's image."""
    text = entry(kind).example
    m = _ECR_REF.search(text)
    if not m or ":" not in image:
        return text
    registry, tag = image.split("/", 1)[0], image.rsplit(":", 1)[1]
    text = text.replace(m.group(0), image).replace(m.group("registry"), registry)
    return re.sub(rf"\b{re.escape(m.group('tag'))}\b", tag, text)


def broken_kinds() -> tuple[str, ...]:
    """What `--broken` accepts: the known failures ECS reports as a stopped task's reason
    (errors only), and the aliases."""
    ids = {e.id for e in KNOWN_FAILURES if e.severity == "error" and "stopped task" in e.seen_in}
    return tuple(sorted(ids | set(ALIASES)))
