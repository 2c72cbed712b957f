"""Every rule of `shipspec lint`: importing the rule modules registers them (`rules.register`).

The framework (`rules`) knows no rule; this module knows them all, so the rule modules can
import the framework without a cycle.
"""

from __future__ import annotations

from typing import Iterable

from . import iam_rules, pipeline_rules, resource_rules, suppress  # noqa: F401 (registers the rules)
from .rules import REGISTRY, Finding, Rule, TemplateDoc


def all_rules() -> list[Rule]:
    """One instance of every registered rule, sorted by id."""
    return [REGISTRY[k]() for k in sorted(REGISTRY)]


def run_rules(doc: TemplateDoc, rules: Iterable[Rule] | None = None) -> list[tuple[str, Finding]]:
    """(rule id, finding) of every rule on one template, before suppressions."""
    out: list[tuple[str, Finding]] = []
    for rule in rules if rules is not None else all_rules():
        out += [(rule.id, f) for f in rule.check(doc)]
    return out
