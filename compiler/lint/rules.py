"""The rule framework: small registered rule classes with stable ids, run on parsed templates.

A rule looks at one `TemplateDoc` and yields `Finding`s (a path inside the template and a
message). It never formats or prints: `compiler.lint.engine` turns findings into
`compiler.core.diagnostics.Diagnostic` values (positions, suppressions), and the CLI formats them.

Ids are stable: SS1xx least-privilege IAM, SS2xx stateful/logging resources, SS3xx pipeline
wiring, SS0xx the suppression mechanism itself. Every rule is documented in docs/security.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable, Iterator, Mapping, Union

from ..core.iam_policy import as_list, resolved_text  # noqa: F401 (helpers of the rule modules)

PathPart = Union[str, int]
Path = tuple[PathPart, ...]
RULE_ID = re.compile(r"^SS[0-9]{3}$")


@dataclass(frozen=True)
class Finding:
    """One problem a rule found: where in the template, and what is wrong."""

    path: Path
    message: str


@dataclass(frozen=True)
class TemplateDoc:
    """One generated CloudFormation template, parsed, with the files generated beside it."""

    path: str  # repository-relative path of the generated file
    data: Mapping[str, Any]
    files: Mapping[str, bytes] = field(default_factory=dict)  # every generated file, by path
    region: str = ""

    def resources(self) -> dict[str, dict]:
        res = self.data.get("Resources") if isinstance(self.data, Mapping) else None
        if not isinstance(res, Mapping):
            return {}
        return {k: v for k, v in res.items() if isinstance(v, Mapping)}

    def of_type(self, *types: str) -> Iterator[tuple[str, dict, dict]]:
        """(logical id, resource, properties) of every resource of these types, in template order."""
        for rid, res in self.resources().items():
            if res.get("Type") in types:
                props = res.get("Properties")
                yield rid, res, props if isinstance(props, Mapping) else {}

    def sibling(self, name: str) -> str | None:
        """Text of a generated file in the same directory as this template, if there is one."""
        directory = self.path.rsplit("/", 1)[0] if "/" in self.path else ""
        content = self.files.get(f"{directory}/{name}" if directory else name)
        return content.decode("utf-8") if content is not None else None


class Rule:
    """Subclass, set the four class attributes, implement `check`, and decorate with @register."""

    id: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]  # what the rule guarantees when it passes
    hint: ClassVar[str]  # how to fix a finding

    def check(self, doc: TemplateDoc) -> Iterable[Finding]:
        raise NotImplementedError


REGISTRY: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    for attr in ("id", "title", "description", "hint"):
        if not getattr(cls, attr, "").strip():
            raise ValueError(f"rule {cls.__name__} has no {attr}")
    if not RULE_ID.match(cls.id):
        raise ValueError(f"rule {cls.__name__}: id {cls.id!r} is not SSnnn")
    if cls.id in REGISTRY and REGISTRY[cls.id] is not cls:
        raise ValueError(f"rule id {cls.id} registered twice ({REGISTRY[cls.id].__name__}, {cls.__name__})")
    REGISTRY[cls.id] = cls
    return cls


# --- helpers shared by the rule modules -----------------------------------------------------------

def refs_to(value: Any, logical_id: str) -> bool:
    """Whether a template value refers to a resource: Ref, Fn::GetAtt (both forms) or ${id...} in Fn::Sub."""
    if isinstance(value, Mapping):
        if value.get("Ref") == logical_id:
            return True
        getatt = value.get("Fn::GetAtt")
        if isinstance(getatt, list) and getatt and getatt[0] == logical_id:
            return True
        if isinstance(getatt, str) and getatt.split(".", 1)[0] == logical_id:
            return True
        sub = value.get("Fn::Sub")
        text = sub[0] if isinstance(sub, list) and sub else sub
        if isinstance(text, str) and re.search(r"\$\{" + re.escape(logical_id) + r"(\.[A-Za-z.]+)?\}", text):
            return True
        return any(refs_to(v, logical_id) for v in value.values())
    if isinstance(value, list):
        return any(refs_to(v, logical_id) for v in value)
    return False
