"""Known gaps of the local emulator (moto) and how `--local` works around them, in one place.

Templates sent to the emulator go through `adapt`, in plan and apply alike (so its no-change
detection compares like with like); each adaptation is reported as a note. Nothing here is
used against AWS.

- moto's KMS reads CloudFormation `Tags` as TagKey/TagValue pairs and fails on Key/Value:
  Tags of `AWS::KMS::Key` are left out.
- moto skips resource types it does not model (`AWS::SSM::Association`, ...), and then fails on
  any `Ref`/`Fn::GetAtt`/`Fn::Sub` naming them: those references become placeholder strings
  (`emulated-<LogicalId>`). Pipelines, CodeBuild projects and webhooks are not among them: the
  emulator models those (compiler/local/pipeline_resources.py), so references to them are real.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

from ..deploy.templates import load_template
from .emulator import unmodelled_types

_DROP_TAGS = ("AWS::KMS::Key",)


def _placeholder(lid: str, attr: str | None = None) -> str:
    return f"emulated-{lid}" + (f"-{attr}" if attr else "")


def _replace_refs(value: Any, skipped: set[str]) -> tuple[Any, bool]:
    if isinstance(value, list):
        items = [_replace_refs(v, skipped) for v in value]
        return [v for v, _ in items], any(c for _, c in items)
    if not isinstance(value, dict):
        return value, False
    if len(value) == 1 and value.get("Ref") in skipped:
        return _placeholder(value["Ref"]), True
    if len(value) == 1 and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        lid, attr = (target.split(".", 1) if isinstance(target, str) else (target + [None])[:2])
        if lid in skipped:
            return _placeholder(str(lid), str(attr) if attr else None), True
    if len(value) == 1 and "Fn::Sub" in value:
        arg = value["Fn::Sub"]
        text, variables = (arg[0], arg[1] if len(arg) > 1 else {}) if isinstance(arg, list) else (arg, {})
        if isinstance(text, str):
            pattern = re.compile(r"\$\{(" + "|".join(map(re.escape, sorted(skipped))) + r")(?:\.([A-Za-z0-9.]+))?\}")
            new_text = pattern.sub(lambda m: _placeholder(m.group(1), m.group(2)), text) if skipped else text
            new_vars, changed = _replace_refs(variables, skipped)
            if new_text != text or changed:
                return {"Fn::Sub": [new_text, new_vars] if isinstance(arg, list) else new_text}, True
    out, changed = {}, False
    for k, v in value.items():
        out[k], c = _replace_refs(v, skipped)
        changed = changed or c
    return out, changed


def notes(template: Mapping) -> tuple[str, ...]:
    """What a plan says about a template on the emulator: the resource types it skips."""
    types = [str(r.get("Type", "")) for r in (template.get("Resources") or {}).values() if isinstance(r, Mapping)]
    skipped = unmodelled_types(types)
    if not skipped:
        return ()
    return (f"the local emulator does not model {', '.join(skipped)}: they appear in the change set but are "
            "not created locally",)


@dataclass(frozen=True)
class MotoGaps:
    """This module's work-arounds as the `EmulatorGaps` a `RunContext` carries on `--local` runs."""

    def adapt_doc(self, template: bytes, doc: dict) -> tuple[bytes, tuple[str, ...], dict]:
        return adapt_doc(template, doc)

    def notes(self, doc: Mapping) -> tuple[str, ...]:
        return notes(doc)


def adapt(template: bytes) -> tuple[bytes, tuple[str, ...]]:
    """The template as the emulator can run it, and what was changed."""
    body, notes, _ = adapt_doc(template, load_template(template))
    return body, notes


def adapt_doc(template: bytes, doc: dict) -> tuple[bytes, tuple[str, ...], dict]:
    """`adapt` for a template already parsed (`doc`, which is left as it is): (the body the
    emulator is sent, what was changed, the document the emulator runs). Unadapted, that is
    `(template, (), doc)`; adapted, the document is the body's content (the body is its JSON)
    without parsing the body again."""
    resources = doc.get("Resources") or {}
    notes = []
    types = {lid: str(r.get("Type", "")) for lid, r in resources.items() if isinstance(r, dict)}
    skipped_types = set(unmodelled_types(types.values()))
    skipped = {lid for lid, t in types.items() if t in skipped_types}
    out = dict(doc)  # changed sections are replaced, never modified: `doc` stays as parsed
    kept = {}
    for lid, res in resources.items():
        props = res.get("Properties") if isinstance(res, dict) else None
        if isinstance(props, dict) and "Tags" in props and res.get("Type") in _DROP_TAGS:
            res = {**res, "Properties": {k: v for k, v in props.items() if k != "Tags"}}
            notes.append(f"{lid} ({res['Type']}): Tags left out on the emulator (moto's KMS cannot read them)")
        kept[lid] = res
    if notes:
        out["Resources"] = kept
    changed_any = False
    if skipped:
        for section in ("Resources", "Outputs"):
            if isinstance(out.get(section), dict):
                out[section], changed = _replace_refs(out[section], skipped)  # a new structure
                changed_any = changed_any or changed
        if changed_any:
            notes.append(f"references to {', '.join(sorted(skipped))} (types the emulator does not model) "
                         "are placeholders on the emulator")
    if not notes:
        return template, (), doc
    return json.dumps(out, indent=1).encode("utf-8"), tuple(notes), out
