"""JSON at fleet scale: orjson for large documents, the json module for small ones.

orjson writes large documents about ten times as fast as json and reads them twice as fast (a
build's record and state at 500 services: 20 ms to write became 2). But loading its extension
costs a process about 12 ms (5 once pydantic's Rust core is loaded), more than a small document
takes with json, so it writes only documents with many items (`large`) and reads only long ones
(`LARGE_BYTES`): a one-service build never loads it. Both write the same JSON values; the text
differs only in what neither reader cares about.
"""

from __future__ import annotations

import json
from typing import Any

LARGE_BYTES = 256 * 1024  # read by orjson from this length
LARGE_ITEMS = 4000  # a value with more items than this, counted through its containers, is large


def large(value: Any) -> bool:
    """Whether `value` holds more than LARGE_ITEMS items (dict entries and list elements, at any
    depth); stops counting there, so it costs little however large the value."""
    count, todo = 0, [value]
    while todo:
        v = todo.pop()
        if type(v) is dict:
            count += len(v)
            todo += [x for x in v.values() if type(x) in (dict, list)]
        elif type(v) is list:
            count += len(v)
            todo += [x for x in v if type(x) in (dict, list)]
        if count > LARGE_ITEMS:
            return True
    return False


def loads(data: bytes) -> Any:
    """json.loads, by orjson when `data` is long and `dumps_compact` did not mark it as json's
    (orjson would read an integer beyond 64 bits as a float). ValueError if it is not JSON."""
    if len(data) >= LARGE_BYTES and data[:1] != b" ":
        return _orjson().loads(data)
    return json.loads(data)


def dumps_compact(value: Any) -> bytes:
    """Compact JSON, keys in insertion order; by orjson when `value` is large and orjson takes it.
    A large value it refuses (an integer beyond 64 bits, a key that is not a string) is written
    by json after one space, which `loads` takes as the sign to read it with json. For values
    without non-finite floats (orjson writes those as null): what the cache stores."""
    if large(value):
        try:
            return _orjson().dumps(value)
        except TypeError:
            return b" " + json.dumps(value, separators=(",", ":")).encode("utf-8")
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def dumps_sorted_indented(value: Any) -> bytes | None:
    """`json.dumps(value, indent=2, sort_keys=True)` as bytes, written by orjson, for a large
    `value` holding no floats; None when orjson's text could differ (a string with a character
    outside printable ASCII, which json escapes; an integer beyond 64 bits) or `value` is small."""
    if not large(value):
        return None
    orjson = _orjson()
    try:
        text = orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
    return text if text.isascii() and b"\x7f" not in text else None


def _orjson():
    import orjson

    return orjson
