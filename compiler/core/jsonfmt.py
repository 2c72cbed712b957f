"""`json.dumps(value, indent=2, sort_keys=True)`, byte for byte, several times faster.

With `indent`, the json module falls back to its pure-Python encoder; generated/index.json
(thousands of entries at fleet scale) was a tenth of a second of every build. `dumps` handles
what the index holds (str-keyed dicts, lists, strings, ints, booleans, None) and hands anything
else to `json.dumps`; `dumps_plain`, for documents of only those, lets orjson write a large one
when that is the same text (tests/core/test_jsonfmt.py checks all three agree).
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _string  # the C version when available
from typing import Any

from . import fastjson


def dumps_plain(value: Any) -> str:
    """`dumps` of a document holding no floats: a large one written by orjson where that is the
    same text (`fastjson.dumps_sorted_indented`)."""
    text = fastjson.dumps_sorted_indented(value)
    return text.decode("ascii") if text is not None else dumps(value)


class _Unsupported(Exception):
    pass


def dumps(value: Any) -> str:
    out: list[str] = []
    try:
        _dump(value, 0, out)
    except _Unsupported:
        return json.dumps(value, indent=2, sort_keys=True)
    return "".join(out)


def _dump(value: Any, level: int, out: list[str]) -> None:
    t = type(value)
    if t is str:
        out.append(_string(value))
    elif t is dict:
        if not value:
            out.append("{}")
            return
        if any(type(k) is not str for k in value):
            raise _Unsupported()
        pad = "\n" + "  " * (level + 1)
        if all(type(v) is str for v in value.values()):  # a leaf (the index's files and stacks): one join
            out.append("{" + ",".join(pad + _string(k) + ": " + _string(value[k]) for k in sorted(value))
                       + "\n" + "  " * level + "}")
            return
        sep = "{"
        for key in sorted(value):
            out.append(sep + pad + _string(key) + ": ")
            sep = ","
            _dump(value[key], level + 1, out)
        out.append("\n" + "  " * level + "}")
    elif t is list:
        if not value:
            out.append("[]")
            return
        pad = "\n" + "  " * (level + 1)
        sep = "["
        for item in value:
            out.append(sep + pad)
            sep = ","
            _dump(item, level + 1, out)
        out.append("\n" + "  " * level + "]")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif value is None:
        out.append("null")
    elif t is int:
        out.append(int.__repr__(value))
    else:
        raise _Unsupported()
