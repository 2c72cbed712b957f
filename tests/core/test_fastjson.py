"""compiler.core.fastjson: orjson only for large documents (its import costs a small build more
than it saves), and the same values either way."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from compiler.core import fastjson
from support.cli import REPO


@pytest.mark.parametrize("value, items, big", [
    ({}, 0, False),
    ({"files": {str(i): [i, i] for i in range(2000)}}, 6001, True),  # 1 + 2000 + 4000 items
    ({"files": {str(i): [i, i] for i in range(1000)}}, 3001, False),
    ([[1, 2, 3]] * 1500, 6000, True),
    ("x" * 10_000_000, 0, False),  # long, but one item: json is as fast
])
def test_large_counts_items_through_containers(value, items, big):
    assert fastjson.large(value) is big


def test_large_stops_counting_early():
    deep = {"a": list(range(10**6))}
    assert fastjson.large(deep)


def test_small_documents_never_load_orjson(tmp_path):
    code = ("import sys\nfrom pathlib import Path\nfrom compiler.build import cache\n"
            f"s = cache.Store(Path({str(tmp_path)!r}), 'ns')\n"
            "s.put('k', {'files': {'a': [1, 2]}})\nassert s.get('k') == {'files': {'a': [1, 2]}}\n"
            "from compiler.core import jsonfmt\nassert jsonfmt.dumps_plain({'a': ['b']})\n"
            "print('orjson' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_large_documents_go_through_orjson_and_read_back_the_same(monkeypatch):
    value = {"files": {f"generated/s{i}/prod/x.yml": ["f" * 64, i, 2**62, 2**62, i] for i in range(3000)}}
    body = fastjson.dumps_compact(value)
    import orjson

    assert body == orjson.dumps(value)
    monkeypatch.setattr(fastjson, "LARGE_BYTES", 0)
    assert fastjson.loads(body) == value == json.loads(body)


def test_a_large_document_with_integers_beyond_64_bits_reads_back_exactly(monkeypatch):
    value = {"n": [2**64 + i for i in range(5000)], "k": {1: "one"}}
    body = fastjson.dumps_compact(value)
    assert body.startswith(b" ")  # json wrote it, and says so
    monkeypatch.setattr(fastjson, "LARGE_BYTES", 0)
    assert fastjson.loads(body) == json.loads(json.dumps(value))
    assert fastjson.loads(body)["n"][0] == 2**64  # not 1.8446744073709552e+19
