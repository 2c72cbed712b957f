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


class FileArtifact(Artifact):
    """An Artifact whose bytes are in a file (`source`, on the repository's file system) that holds
    exactly them: a worker process's rendered output, or a reused file under generated/ itself.
    Read when asked and never held, so a build of thousands of services does not keep every byte in
    memory; the writer links a staged one into place (compiler/build/writer.py)."""

    def __init__(self, path: str, source: str, sha256: str) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "source", source)
        self.__dict__["sha256"] = sha256  # what the worker hashed (cached_property's slot)

    @property
    def content(self) -> bytes:  # type: ignore[override]
        with open(self.source, "rb") as fh:
            return fh.read()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Artifact):
            return NotImplemented
        return self.path == other.path and self.sha256 == other.sha256

    __hash__ = Artifact.__hash__

    def __reduce__(self):
        return (FileArtifact, (self.path, self.source, self.sha256))


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
