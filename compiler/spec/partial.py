"""Every error in one run: the checks beyond the schema, run on what is valid of an invalid spec.

When a service environment fails the schema, its semantic checks (accounts of ARNs, stage
placement, provider rules, ...) would otherwise wait for the next run. `partial_config` sets the
invalid parts aside instead: a custom stage with an error, a map entry with an error (a secret,
an environment variable, a tag), an unknown key; a scalar with a default falls back to it, and
the checks that read it are not reported. What remains is validated again, and the caller runs
the checks on it, translating stage indices back to the spec's (`Partial.translate`). When
what is invalid cannot be set aside (a required field, the environment), there is no partial
configuration and the schema errors are all there is.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from dataclasses import dataclass
from typing import Any, Optional

from pydantic import BaseModel, ValidationError

from ..core.diagnostics import Diagnostic
from .models import ServiceConfig
from .pydantic_errors import types_at, without_form_tags
from .yamlsrc import LDict, LList

ROUNDS = 4  # set-aside rounds: a value set aside can uncover another error behind it
# Checks that read these sections also check stages (variables, inputs, the Approval stage).
STAGE_INPUTS = ("source", "deploy")
_STAGE_INDEX = re.compile(r"\bstages\[(\d+)\]")


@dataclass(frozen=True)
class Partial:
    config: ServiceConfig
    tree: LDict
    kept_stages: tuple[int, ...]  # spec index of each remaining stage
    tainted: frozenset[str]  # sections where a value fell back to its default

    def translate(self, diags: list[Diagnostic]) -> list[Diagnostic]:
        """The checks' findings on the partial configuration, with the spec's stage indices, less
        those about sections where a default stands in for the written value."""
        hidden = set(self.tainted) | ({"stages"} if self.tainted & set(STAGE_INPUTS) else set())

        def index(m: re.Match) -> str:
            k = int(m.group(1))
            return f"stages[{self.kept_stages[k]}]" if k < len(self.kept_stages) else m.group(0)

        out = []
        for d in diags:
            if re.split(r"[.\[]", d.path, maxsplit=1)[0] in hidden:
                continue
            out.append(dataclasses.replace(d, path=_STAGE_INDEX.sub(index, d.path),
                                           message=_STAGE_INDEX.sub(index, d.message)))
        return out


def _copy(node: Any) -> Any:
    if isinstance(node, LDict):
        out = LDict(((k, _copy(v)) for k, v in node.items()), loc=node.loc)
        out.key_locs.update(node.key_locs)
        out.value_locs.update(node.value_locs)
        return out
    if isinstance(node, LList):
        out_list = LList((_copy(v) for v in node), loc=node.loc)
        out_list.item_locs.extend(node.item_locs)
        return out_list
    return node


def _is_map(tp: Any) -> bool:
    return typing.get_origin(tp) is dict


def _field_default(loc: tuple) -> bool:
    """Whether the field at `loc` (a model field) has a default to fall back to."""
    if not loc or not isinstance(loc[-1], str):
        return False
    for tp in types_at(ServiceConfig, loc[:-1]):
        if isinstance(tp, type) and issubclass(tp, BaseModel) and loc[-1] in tp.model_fields:
            return not tp.model_fields[loc[-1]].is_required()
    return False


def _delete(tree: LDict, path: tuple) -> bool:
    node: Any = tree
    for part in path[:-1]:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    if isinstance(node, dict) and path[-1] in node:
        del node[path[-1]]
        node.key_locs.pop(path[-1], None)
        node.value_locs.pop(path[-1], None)
        return True
    return False


class _SetAside:
    def __init__(self, tree: LDict):
        self.tree = tree
        self.stages: set[int] = set()  # indices into the tree's stage list as it stands
        self.tainted: set[str] = set()

    def error(self, err: dict) -> bool:
        """Set aside what `err` is about; False when that is not possible."""
        loc = without_form_tags(ServiceConfig, tuple(err["loc"]))
        if loc and loc[-1] == "[key]":
            loc = loc[:-1]
        if not loc or loc[0] == "environment":
            return False
        if loc[0] == "stages":
            if len(loc) >= 2 and isinstance(loc[1], int):
                self.stages.add(loc[1])
                return True
            return False
        if err["type"] == "extra_forbidden":
            return _delete(self.tree, loc)
        for depth in range(len(loc) - 1, 0, -1):  # the innermost map entry holding the error
            if any(_is_map(tp) for tp in types_at(ServiceConfig, loc[:depth])):
                return _delete(self.tree, loc[: depth + 1])
        if err["type"] != "missing" and _field_default(loc) and _delete(self.tree, loc):
            self.tainted.add(str(loc[0]))
            return True
        return False

    def drop_stages(self) -> list[int]:
        """Remove the set-aside stages from the tree; the remaining stages' previous indices."""
        stages = self.tree.get("stages")
        if not isinstance(stages, LList):
            return []
        keep = [i for i in range(len(stages)) if i not in self.stages]
        kept = LList((stages[i] for i in keep), loc=stages.loc)
        kept.item_locs.extend(stages.item_locs[i] for i in keep if i < len(stages.item_locs))
        self.tree["stages"] = kept
        self.stages.clear()
        return keep


def partial_config(exc: ValidationError, tree: LDict) -> Optional[Partial]:
    """The configuration without what `exc` reports, or None when that cannot be set aside."""
    work = _copy(tree)
    aside = _SetAside(work)
    stages = work.get("stages")
    kept = list(range(len(stages))) if isinstance(stages, list) else []
    for _ in range(ROUNDS):
        if not all(aside.error(err) for err in exc.errors(include_url=False)):
            return None
        kept = [kept[i] for i in aside.drop_stages()] if aside.stages else kept
        try:
            config = ServiceConfig.model_validate(work)
        except ValidationError as again:
            exc = again
            continue
        return Partial(config, work, tuple(kept), frozenset(aside.tainted))
    return None
