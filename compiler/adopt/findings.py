"""What `shipspec import` found, field by field: the report's values (frozen, printable, JSON-able).

Every value the importer writes into a spec is `Mapped` from somewhere or `Defaulted` with a
reason; what it cannot write is `NotRepresentable` with what to do; and what the generated pipeline
will do differently from the original is a `Difference`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..core.diagnostics import Location


@dataclass(frozen=True)
class Mapped:
    source: Location  # file:line of the template or manifest value
    source_path: str  # e.g. Resources.Pipeline.Properties.Stages[0].Actions[0].Configuration.Branch
    spec_path: str  # e.g. source.branch
    value: Any
    env: str = ""  # "" when it holds for every environment


@dataclass(frozen=True)
class Defaulted:
    spec_path: str
    value: Any
    why: str
    env: str = ""


@dataclass(frozen=True)
class NotRepresentable:
    source: Location
    what: str
    todo: str
    env: str = ""


@dataclass(frozen=True)
class Difference:
    what: str  # what changes, e.g. "stage order"
    original: str
    generated: str
    env: str = ""


@dataclass
class Findings:
    """Collected while mapping one environment (mutable while collecting, then frozen into a report)."""

    env: str
    mapped: list[Mapped] = field(default_factory=list)
    defaulted: list[Defaulted] = field(default_factory=list)
    unrepresentable: list[NotRepresentable] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)

    def map(self, source: Location, source_path: str, spec_path: str, value: Any) -> Any:
        self.mapped.append(Mapped(source, source_path, spec_path, value, self.env))
        return value

    def default(self, spec_path: str, value: Any, why: str) -> Any:
        self.defaulted.append(Defaulted(spec_path, value, why, self.env))
        return value

    def cannot(self, source: Location, what: str, todo: str) -> None:
        self.unrepresentable.append(NotRepresentable(source, what, todo, self.env))

    def differs(self, what: str, original: str, generated: str) -> None:
        self.differences.append(Difference(what, original, generated, self.env))


@dataclass(frozen=True)
class Report:
    """The whole import: which spec files were written, and every finding of every environment."""

    service: str
    spec_file: str
    environments: tuple[str, ...]
    mapped: tuple[Mapped, ...]
    defaulted: tuple[Defaulted, ...]
    unrepresentable: tuple[NotRepresentable, ...]
    differences: tuple[Difference, ...]
    dropped: tuple[str, ...] = ()  # spec paths left out because _defaults.yaml or the model gives them

    def to_json(self) -> dict:
        def loc(x: Location) -> dict:
            return {"file": x.file, "line": x.line}

        return {
            "service": self.service, "spec_file": self.spec_file,
            "environments": list(self.environments),
            "mapped": [{"env": m.env or None, "from": {**loc(m.source), "path": m.source_path},
                        "to": m.spec_path, "value": m.value} for m in self.mapped],
            "defaulted": [{"env": d.env or None, "to": d.spec_path, "value": d.value, "why": d.why}
                          for d in self.defaulted],
            "not_representable": [{"env": n.env or None, **loc(n.source), "what": n.what, "todo": n.todo}
                                  for n in self.unrepresentable],
            "differences": [{"env": d.env or None, "what": d.what, "original": d.original,
                             "generated": d.generated} for d in self.differences],
            "left_to_defaults": list(self.dropped),
        }


def merge_findings(service: str, spec_file: str, parts: list[Findings],
                   dropped: tuple[str, ...] = ()) -> Report:
    """One report from each environment's findings; a finding every environment has alike is shown
    once, without an environment."""
    envs = tuple(p.env for p in parts)

    def fold(kind: str) -> tuple:
        groups: dict = {}
        for p in parts:
            for item in getattr(p, kind):
                groups.setdefault(repr(replace(item, env="")), []).append(item)
        out = []
        for items in groups.values():
            if len(parts) > 1 and len({i.env for i in items}) == len(parts):
                out.append(replace(items[0], env=""))
            else:
                out.extend(items)
        return tuple(out)

    return Report(service, spec_file, envs, fold("mapped"), fold("defaulted"), fold("unrepresentable"),
                  fold("differences"), dropped)
