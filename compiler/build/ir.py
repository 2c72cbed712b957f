"""The intermediate model between validation and writing: files and stacks, all frozen."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from typing import Literal

StackKind = Literal["bootstrap", "pipeline", "notification"]


@dataclass(frozen=True)
class Artifact:
    """One generated file: its path relative to the repository root and its exact bytes."""

    path: str
    content: bytes

    @functools.cached_property
    def sha256(self) -> str:  # computed once: the cache check and index.json both need it
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Stack:
    """One CloudFormation stack to plan and apply."""

    name: str
    kind: StackKind
    account: str
    region: str
    template_path: str
    service: str = ""  # empty for bootstrap stacks
    environment: str = ""
    depends_on: tuple[str, ...] = ()  # stack names that must exist first
    lambda_zip: bool = False  # needs the notification Lambda zip uploaded first
    tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class BuildOutput:
    artifacts: tuple[Artifact, ...]
    stacks: tuple[Stack, ...] = field(default=())

    def by_path(self) -> dict[str, Artifact]:
        return {a.path: a for a in self.artifacts}
