"""Suppressions: a finding is silenced only per resource, by id, with a one-line reason.

    Metadata:
      shipspec:
        suppress:
          - id: SS102
            reason: "one-line justification"

The same entry silences a cfn-lint finding (id W1234) on that resource. An entry with a `sid`
silences findings in that one statement of the resource's policies only (a stage's
policy_statements wildcard allowance: `{id: SS102, sid: ReadReports, reason: "..."}`). cfn-lint's own
directives (Metadata cfn-lint config ignore_checks) are not honoured: the linter runs every
check as mandatory, and SS001 reports them. checkov's skips (Metadata checkov skip, with
`comment`) are read by checkov; SS001 requires their comment too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping

from .rules import Finding, Path, Rule, TemplateDoc, as_list, register

CHECK_ID = re.compile(r"^(SS[0-9]{3}|[EWI][0-9]{4})$")
CHECKOV_ID = re.compile(r"^CKV2?_AWS_[0-9]+$")


@dataclass(frozen=True)
class Suppression:
    resource: str
    id: str
    reason: str
    path: Path  # of the entry in the template
    sid: str = ""  # only findings inside the policy statement with this Sid


def _entries(value: Any, path: Path) -> Iterator[tuple[Path, Mapping]]:
    for i, entry in enumerate(as_list(value)):
        yield path + (i,), entry if isinstance(entry, Mapping) else {}


def suppressions(doc: TemplateDoc) -> list[Suppression]:
    """Every shipspec suppression in the template, in template order."""
    out = []
    for rid, res in doc.resources().items():
        meta = res.get("Metadata")
        ours = meta.get("shipspec") if isinstance(meta, Mapping) else None
        if not isinstance(ours, Mapping):
            continue
        for path, entry in _entries(ours.get("suppress"), ("Resources", rid, "Metadata", "shipspec", "suppress")):
            out.append(Suppression(rid, str(entry.get("id", "")), str(entry.get("reason") or "").strip(), path,
                                   str(entry.get("sid") or "")))
    return out


def statement_sid(data: Any, path: Path) -> str:
    """The Sid of the policy statement `path` points into ("" when it is in none, or it has none)."""
    if "Statement" not in path:
        return ""
    cut = len(path) - 1 - path[::-1].index("Statement")
    node = data
    for part in path[:cut + 2]:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return ""
    sid = node.get("Sid") if isinstance(node, Mapping) else None
    return sid if isinstance(sid, str) else ""


def checkov_skips(doc: TemplateDoc) -> list[Suppression]:
    """Every checkov skip in the template (the `comment` is its reason)."""
    out = []
    for rid, res in doc.resources().items():
        meta = res.get("Metadata")
        ck = meta.get("checkov") if isinstance(meta, Mapping) else None
        if not isinstance(ck, Mapping):
            continue
        for path, entry in _entries(ck.get("skip"), ("Resources", rid, "Metadata", "checkov", "skip")):
            out.append(Suppression(rid, str(entry.get("id", "")), str(entry.get("comment") or "").strip(), path))
    return out


def _one_line(reason: str) -> bool:
    return bool(reason) and "\n" not in reason


@register
class JustifiedSuppressions(Rule):
    id = "SS001"
    title = "Every suppression is justified"
    description = ("Every shipspec suppression names a check id (SSnnn or a cfn-lint id) and gives a one-line "
                   "reason; every checkov skip names a CKV id and gives a one-line comment; no template uses "
                   "cfn-lint's own ignore_checks directives (they bypass the reason requirement). SS001 and "
                   "SS002 cannot be suppressed.")
    hint = 'Write the entry as {id: SS102, reason: "why this resource needs the exception"}.'

    def check(self, doc: TemplateDoc) -> Iterator[Finding]:
        for s in suppressions(doc):
            if not CHECK_ID.match(s.id) or s.id in ("SS001", "SS002"):
                yield Finding(s.path, f"{s.resource}: suppression id {s.id!r} is not a suppressible check id "
                              "(SSnnn or a cfn-lint id like W3005)")
            if not _one_line(s.reason):
                yield Finding(s.path, f"{s.resource}: suppression of {s.id} has no one-line reason")
        for s in suppressions(doc):
            if s.sid and not re.fullmatch(r"[A-Za-z0-9]{1,100}", s.sid):
                yield Finding(s.path, f"{s.resource}: suppression of {s.id} names sid {s.sid!r}, which is not a "
                              "statement id (letters and digits)")
        for s in checkov_skips(doc):
            if not CHECKOV_ID.match(s.id):
                yield Finding(s.path, f"{s.resource}: checkov skip id {s.id!r} is not a CKV_AWS id")
            if not _one_line(s.reason):
                yield Finding(s.path, f"{s.resource}: checkov skip of {s.id} has no one-line comment")
        meta = doc.data.get("Metadata") if isinstance(doc.data, Mapping) else None
        if isinstance(meta, Mapping) and "cfn-lint" in meta:
            yield Finding(("Metadata", "cfn-lint"), "template-level cfn-lint directives are not honoured; "
                          "suppress per resource under Metadata.shipspec.suppress with a reason")
        for rid, res in doc.resources().items():
            rmeta = res.get("Metadata")
            if isinstance(rmeta, Mapping) and "cfn-lint" in rmeta:
                yield Finding(("Resources", rid, "Metadata", "cfn-lint"), f"{rid}: cfn-lint directives are not "
                              "honoured; use Metadata.shipspec.suppress with a reason")


@register
class UsedSuppressions(Rule):
    id = "SS002"
    title = "Every suppression suppresses something"
    description = ("A suppression that no longer matches a finding on its resource is reported, so stale "
                   "exceptions do not accumulate. (Reported by the lint engine after all checks ran.)")
    hint = "Remove the suppression entry."

    def check(self, doc: TemplateDoc) -> Iterator[Finding]:
        return iter(())


@dataclass(frozen=True)
class Issue:
    """A finding from any checker, before suppression: code, template path, message, optional position."""

    code: str
    path: Path
    message: str
    line: int = 0
    col: int = 0


def apply(issues: list[Issue], sups: list[Suppression], checked: tuple[str, ...],
          sid_at: Callable[[Path], str] = lambda path: "") -> tuple[list[Issue], int]:
    """Drop suppressed issues; add an SS002 issue for each suppression whose id prefix is in
    `checked` (the checkers that ran, e.g. ("SS", "E", "W", "I")) but matched nothing. `sid_at`
    gives the Sid of the statement a finding's path is in (for suppressions scoped by `sid`).
    Returns the remaining issues and how many suppressions were used."""
    used: set[Suppression] = set()
    kept = []
    for issue in issues:
        match = None
        if issue.code not in ("SS001", "SS002") and len(issue.path) >= 2 and issue.path[0] == "Resources":
            match = next((s for s in sups if s.resource == issue.path[1] and s.id == issue.code
                          and _one_line(s.reason) and (not s.sid or s.sid == sid_at(issue.path))), None)
        if match is None:
            kept.append(issue)
        else:
            used.add(match)
    for s in sups:
        if s not in used and CHECK_ID.match(s.id) and s.id.startswith(checked) and _one_line(s.reason):
            scope = f" in statement {s.sid}" if s.sid else ""
            kept.append(Issue("SS002", s.path, f"{s.resource}: suppression of {s.id}{scope} matches no finding; "
                              "remove it"))
    return kept, len(used)
