"""compiler.core.jsonfmt writes exactly what json.dumps(indent=2, sort_keys=True) writes."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.core import jsonfmt
from compiler.build.compile import compile_project
from compiler.spec.project import load_project

scalars = st.one_of(st.text(max_size=20), st.integers(), st.booleans(), st.none(),
                    st.floats(allow_nan=True), st.sampled_from(["\u2028", "é", "\x00", '"\\', "\U0001F600"]))
values = st.recursive(scalars, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=8), kids, max_size=4),
    st.dictionaries(st.integers(), kids, max_size=2)), max_leaves=25)


@settings(max_examples=500, deadline=None)
@given(values)
def test_same_text_as_json_dumps(value):
    assert jsonfmt.dumps(value) == json.dumps(value, indent=2, sort_keys=True)


plain_scalars = st.one_of(st.text(max_size=20), st.integers(), st.integers(min_value=2**63 - 2, max_value=2**66),
                         st.booleans(), st.none(),
                         st.sampled_from(["\u2028", "é", "\x00", "\x1f", "\x7f", '"\\', "\U0001F600", "</a>"]))
plain = st.recursive(plain_scalars, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=8), kids, max_size=4)), max_leaves=25)


@settings(max_examples=500, deadline=None)
@given(plain)
def test_plain_documents_written_by_orjson_are_the_same_text(value):
    from compiler.core import fastjson

    want = json.dumps(value, indent=2, sort_keys=True)
    assert jsonfmt.dumps_plain(value) == want  # small: our writer
    large, fastjson.LARGE_ITEMS = fastjson.LARGE_ITEMS, -1  # every value large: orjson where it may
    try:
        assert jsonfmt.dumps_plain(value) == want
    finally:
        fastjson.LARGE_ITEMS = large


def test_the_index_of_the_example_repository(repo_root):
    index = next(a for a in compile_project(load_project(repo_root)).artifacts if a.path == "generated/index.json")
    doc = json.loads(index.content)
    assert jsonfmt.dumps(doc) + "\n" == index.content.decode()
    assert jsonfmt.dumps(doc) == json.dumps(doc, indent=2, sort_keys=True) == jsonfmt.dumps_plain(doc)
