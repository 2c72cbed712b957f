"""Lists compared by what names their elements, not by position: the semantic half of the diff.

CloudFormation properties are full of lists whose elements carry their own name: CodePipeline
`Stages` and `Actions` (`Name`), CodeBuild `EnvironmentVariables` (`Name`; `name` in a
CodeBuild action's JSON string), `Tags` (`Key`), IAM `Statement` (`Sid`) and `Policies`
(`PolicyName`), container `Environment`/`Secrets` (`Name`), EventBridge `Targets` (`Id`).
Compared index by index, inserting one stage renames every stage after it. Compared by key,
the same edit is one added stage.

A list is keyed by the first field of `KEY_FIELDS` that every element on both sides has, as a
string, with no repeats on either side; otherwise it is compared by index (a list of plain
values is compared as one value). Only `ORDERED` lists (stages: they run in order) report an
element that moved; in the others order has no effect (actions run by their `RunOrder`, which
is a property like any other), and an order-only change is reported once, as such.

Paths name keyed elements in brackets: `Stages[Test].Actions[Unit].RunOrder`,
`Environment.EnvironmentVariables[IMAGE_TAG].Value`, `Policies[build].PolicyDocument.Statement[EcrPush]`
(a key that could be mistaken for an index, or holds `[`, `]`, `.`, `"` or spaces, is written as a
JSON string: `Tags["team.name"]`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

KEY_FIELDS = ("Name", "name", "Key", "Sid", "PolicyName", "Id")
ORDERED = frozenset({"Stages"})
PLAIN_KEY = re.compile(r"^[A-Za-z0-9_:/@+=,-]*[A-Za-z_:/@+=,-][A-Za-z0-9_:/@+=,-]*$")

# What a change does to its path (PropertyChange.op).
MODIFY, ADD, REMOVE, MOVE, REORDER = "modify", "add", "remove", "move", "reorder"
OPS = (REMOVE, MODIFY, MOVE, REORDER, ADD)  # display order within a resource: losses first


@dataclass(frozen=True)
class Key:
    """A path segment naming a list element by its key (`Stages[Test]`)."""

    value: str

    def __str__(self) -> str:
        return self.value


def segment(key: str) -> str:
    return f"[{key}]" if PLAIN_KEY.match(key) else f"[{json.dumps(key, ensure_ascii=False)}]"


def format_path(path: Iterable[Any]) -> str:
    """('Stages', Key('Test'), 'Actions', 0) -> 'Stages[Test].Actions[0]'."""
    out = ""
    for part in path:
        if isinstance(part, Key):
            out += segment(part.value)
        elif isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _is_plain_dict(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    if len(value) == 1:
        key = next(iter(value))
        if key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")):
            return False
    return True


def list_key(*sides: Sequence[Any]) -> str | None:
    """The field keying these lists (every element of every side has it, unique per side), or None."""
    elements = [e for side in sides for e in side]
    if not elements or not all(_is_plain_dict(e) for e in elements):
        return None
    for name in KEY_FIELDS:
        if all(isinstance(e.get(name), str) for e in elements) and all(
                len({e[name] for e in side}) == len(side) for side in sides):
            return name
    return None


def is_plain_list(value: Any) -> bool:
    """A list of plain values (strings, numbers, booleans, nulls): compared as one value."""
    return isinstance(value, list) and all(v is None or isinstance(v, (str, int, float, bool)) for v in value)


def decode_json(value: Any) -> Any:
    """A JSON document held in a string property (a CodeBuild action's EnvironmentVariables, an
    ECR lifecycle policy) as its value, so it is compared by content; anything else unchanged."""
    if isinstance(value, str) and value[:1] in ("[", "{"):
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        if isinstance(decoded, (list, dict)):
            return decoded
    return value


def moved(before: Sequence[str], after: Sequence[str]) -> list[str]:
    """Keys present on both sides that changed place: those outside a longest common subsequence
    of the two orders (so inserting or removing an element moves nothing)."""
    common_b = [k for k in before if k in set(after)]
    common_a = [k for k in after if k in set(before)]
    n, m = len(common_b), len(common_a)
    table = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            table[i][j] = (table[i + 1][j + 1] + 1 if common_b[i] == common_a[j]
                           else max(table[i + 1][j], table[i][j + 1]))
    keep, i, j = set(), 0, 0
    while i < n and j < m:
        if common_b[i] == common_a[j]:
            keep.add(common_b[i])
            i, j = i + 1, j + 1
        elif table[i + 1][j] >= table[i][j + 1]:
            i += 1
        else:
            j += 1
    return [k for k in common_a if k not in keep]


def position(order: Sequence[str], key: str) -> str:
    """Where `key` stands in `order`, for a person: 'first' or 'after <previous key>'."""
    i = list(order).index(key)
    return "first" if i == 0 else f"after {order[i - 1]}"


def list_name(path: Sequence[Any]) -> str:
    """The property name of the list at `path` (its last plain segment)."""
    return next((str(p) for p in reversed(path) if isinstance(p, str)), "")


def keyed_index_path(root: Any, path: Sequence[Any]) -> tuple:
    """`path` (list positions as ints, as a template walk finds them) with each position in a
    keyed list replaced by the element's key, reading the lists in `root`."""
    out: list[Any] = []
    value = root
    for part in path:
        if isinstance(part, int) and isinstance(value, list) and part < len(value):
            field = list_key(value)
            out.append(Key(value[part][field]) if field else part)
            value = value[part]
        else:
            out.append(part)
            value = value.get(part) if isinstance(value, dict) else None
    return tuple(out)
