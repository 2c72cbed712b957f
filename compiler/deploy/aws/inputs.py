"""Which stacks a command works on, with their templates: pure, from a `BuildOutput`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable

from ...build.ir import BuildOutput, Stack

KIND_ORDER = ("bootstrap", "pipeline", "notification")
StackKey = tuple[str, str, str]  # (account, region, stack name)
Pair = tuple[str, str]  # (service, environment)


@dataclass(frozen=True)
class StackInput:
    """One stack to plan or apply: where it goes, its template bytes and parameters."""

    stack: Stack
    template: bytes
    parameters: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> StackKey:
        return (self.stack.account, self.stack.region, self.stack.name)

    @property
    def name(self) -> str:
        return self.stack.name

    @property
    def template_sha256(self) -> str:
        return hashlib.sha256(self.template).hexdigest()

    @property
    def label(self) -> str:
        """How messages name it: the stack, and where it lives."""
        return f"{self.stack.name} ({self.stack.account}/{self.stack.region})"


def order_key(s: Stack) -> tuple:
    kind = KIND_ORDER.index(s.kind) if s.kind in KIND_ORDER else len(KIND_ORDER)
    return (kind, s.account, s.region, s.service, s.environment, s.name)


def select(output: BuildOutput, pairs: Iterable[Pair] | None = None,
           kinds: Iterable[str] = KIND_ORDER) -> tuple[StackInput, ...]:
    """Stacks of the given (service, environment) pairs (all when None) of the given kinds, plus
    the bootstrap stacks of their accounts and regions, in dependency order."""
    wanted = None if pairs is None else set(pairs)
    kinds = set(kinds)
    files = output.by_path()
    chosen = [s for s in output.stacks if s.kind != "bootstrap"
              and (wanted is None or (s.service, s.environment) in wanted)]
    targets = {(s.account, s.region) for s in chosen}
    if wanted is None:
        targets |= {(s.account, s.region) for s in output.stacks if s.kind == "bootstrap"}
    chosen += [s for s in output.stacks if s.kind == "bootstrap" and (s.account, s.region) in targets]
    out = []
    for s in sorted(chosen, key=order_key):
        if s.kind not in kinds:
            continue
        artifact = files.get(s.template_path)
        if artifact is None:
            raise ValueError(f"stack {s.name}: template {s.template_path} was not generated")
        out.append(StackInput(s, artifact.content))
    return tuple(out)


def dependencies(inputs: Iterable[StackInput]) -> dict[StackKey, tuple[StackKey, ...]]:
    """For each stack, the selected stacks (same account and region) it needs first."""
    inputs = list(inputs)
    keys = {i.key for i in inputs}
    out = {}
    for i in inputs:
        acct, region, _ = i.key
        out[i.key] = tuple(k for k in ((acct, region, d) for d in i.stack.depends_on) if k in keys)
    return out
