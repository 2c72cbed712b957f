"""Which writer dumps a template: three paths, one output.

`cfn.dump_yaml` tries, in order:
1. yamltext's direct text emitter: builds the YAML text itself, several times faster than the
   C emitter path (no Node objects, per-string decisions remembered). It takes a non-empty dict
   document exactly when `c_emittable` accepts it (it checks the same patterns below, once per
   distinct string) and refuses (returns None) everything else: other documents, and anything it
   does not write, such as a double-quoted scalar or a tag.
2. libyaml's C emitter, where it writes exactly what PyYAML's Python emitter writes. The two
   emitters agree on block YAML whose strings are printable (keys: short printable ASCII;
   multi-line values: no leading or trailing spaces on a line, no leading or doubled final line
   break) and differ elsewhere (folding of double-quoted scalars, long or empty keys, keep-chomped
   blocks). `c_emittable` checks that cheaply.
3. PyYAML's Python emitter, for everything else.
The output bytes never depend on which path ran: tests/build/test_yamltext.py fuzzes the direct
emitter against the Python emitter and compares every real template; test_cache.py and
test_yamlemit.py fuzz the C emitter against it.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import yaml

# Printable for both emitters: no BOM, and no U+2028/U+2029 (line breaks to YAML, which the two
# emitters write differently: hypothesis found one). That is \x20-\x7e \xa0-\u2027 \u202a-\ud7ff
# \ue000-\ufefe \uff00-\ufffd, written as the complement: the same characters (tests/build/
# test_yamlemit.py checks every code point), but re compiles it ten times faster (a class of large
# ranges is expanded character by character).
_P = "^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029\\ud800-\\udfff\\ufeff\\ufffe\\uffff\\U00010000-\\U0010ffff"
_G = "^\\x00-\\x20\\x7f-\\xa0\\u2028\\u2029\\ud800-\\udfff\\ufeff\\ufffe\\uffff\\U00010000-\\U0010ffff"  # no spaces
_SCALARS = (int, float, bool, type(None))


_P_ASCII = "^\\x00-\\x1f\\x7f"  # the same classes, for text that is all ASCII
_G_ASCII = "^\\x00-\\x20\\x7f"


@functools.lru_cache(maxsize=2)
def _patterns(ascii_only: bool = False) -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    """(single line, mapping key, multi-line block): compiled on first use (the Unicode classes
    take milliseconds, which commands that never dump should not pay). `ascii_only`: the same
    patterns for ASCII text, which compile at once (a build's text is nearly all ASCII)."""
    p, g = (_P_ASCII, _G_ASCII) if ascii_only else (_P, _G)
    return (re.compile(f"[{p}]*\\Z"), re.compile("[\\x20-\\x7e]{1,100}\\Z"),
            re.compile(f"[{g}](?:[{p}]*[{g}])?(?:\\n(?:[{p}]*[{g}])?)*\\n?\\Z"))


class _FastCDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    """The C emitter with a leaner representer for the plain trees templates are.

    Builds the very nodes SafeRepresenter builds (block style, strings through the `str`
    representer the subclass registers, no aliases) without its per-node bookkeeping, and
    remembers implicit-tag resolution of repeated scalars (keys like `Type` recur thousands
    of times per build). Used only for data `c_emittable` accepted."""

    _resolved: dict = {}

    def represent_data(self, data: Any) -> yaml.Node:
        t = type(data)
        if t is str:
            return self.yaml_representers[str](self, data)
        if t is dict:
            rep = self.represent_data
            return yaml.MappingNode("tag:yaml.org,2002:map", [(rep(k), rep(v)) for k, v in data.items()],
                                    flow_style=False)
        if t is list:
            rep = self.represent_data
            return yaml.SequenceNode("tag:yaml.org,2002:seq", [rep(v) for v in data], flow_style=False)
        return super().represent_data(data)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is not yaml.ScalarNode:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = self._resolved.get(key)
        if tag is None:
            if len(self._resolved) > 200_000:
                self._resolved.clear()
            tag = self._resolved[key] = super().resolve(kind, value, implicit)
        return tag


CDumperBase = _FastCDumper if hasattr(yaml, "CSafeDumper") else None  # None without libyaml


def c_emittable(data: Any) -> bool:
    """True when both emitters are known to write `data` identically."""
    if type(data) not in (dict, list):
        return False  # a bare scalar: PyYAML ends the document with `...`, libyaml does not
    line, key, block = _patterns()
    stack = [data]
    while stack:
        x = stack.pop()
        t = type(x)
        if t is str:
            if "\n" in x:
                if x.endswith("\n\n") or not block.match(x):
                    return False
            elif not line.match(x):
                return False
        elif t is dict:
            for k, v in x.items():
                if type(k) is not str or not key.match(k):
                    return False
                stack.append(v)
        elif t is list:
            stack.extend(x)
        elif t not in _SCALARS:
            return False
    return True
