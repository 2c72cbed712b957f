"""The C emitter is used only where it writes exactly the Python emitter's bytes."""

from __future__ import annotations

import string

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.build.compile import compile_project
from compiler.build.render import cfn, yamlemit
from compiler.spec.project import load_project

pytestmark = pytest.mark.skipif(cfn._CDumper is None, reason="PyYAML built without libyaml")


def python_dump(data) -> str:
    return yaml.dump(data, Dumper=cfn._Dumper, sort_keys=False, default_flow_style=False, width=120,
                     allow_unicode=True)


def c_dump(data) -> str:
    return yaml.dump(data, Dumper=cfn._CDumper, sort_keys=False, default_flow_style=False, width=120,
                     allow_unicode=True)


# Pieces that make emitters disagree: indicators, quotes, implicit types, long runs, line breaks,
# spaces around breaks, non-ASCII and non-printable characters.
PIECES = list(string.ascii_letters[:6] + string.digits[:3] + " \n:#-?&*!|>'\"%@`{}[],.~\\/=_\t\r")
PIECES += ["yes", "no", "null", "~", "1.0", "0x1F", "2024-01-01", "<<", "- ", ": ", " #", "  ", "\n  ",
           "${AWS::Region}", "!Ref", "é", "日本語", "\xa0", "\x85", "\u2028", "\ufeff", "\ufffd", "\U0001F600",
           "\x00", "\x7f", "x" * 60]
text = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
scalar = st.one_of(text, st.integers(-10, 10**6), st.booleans(), st.none(), st.floats(allow_nan=False))
tree = st.recursive(scalar, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                     st.dictionaries(text, kids, max_size=4)), max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(tree)
def test_c_emitter_agrees_wherever_it_is_used(data):
    doc = {"Resources": data}
    if yamlemit.c_emittable(doc):
        assert c_dump(doc) == python_dump(doc)
    assert cfn.dump_yaml(doc) == python_dump(doc)


@pytest.mark.parametrize("value", [
    {"": "empty key"}, {"k" * 200: 1}, "trailing space \nnext", "\nleading break", "keep\n\n",
    " leading space\nx", "bom\ufeff", "nul\x00", "long " * 40 + "\x85", "\u2028\n", "a\u2029b\nc",
])
def test_known_disagreements_go_to_the_python_emitter(value):
    doc = {"Value": value}
    assert not yamlemit.c_emittable(doc)
    assert cfn.dump_yaml(doc) == python_dump(doc)


def test_every_example_template_takes_the_fast_path(repo_root):
    """The fast path must actually run on real templates (else the build is 7x slower): the direct text
    emitter (yamltext) writes every one, and c_emittable accepts every one (the C emitter's fallback)."""
    seen = []
    original = cfn._text.emit

    def spy(data):
        text = original(data)
        seen.append(text is not None and yamlemit.c_emittable(data))
        return text

    cfn._text.emit = spy
    try:
        output = compile_project(load_project(repo_root))
    finally:
        del cfn._text.emit
    assert seen and all(seen)
    c_dumper = cfn._CDumper
    cfn._CDumper, cfn.DIRECT = None, False
    try:
        slow = compile_project(load_project(repo_root))
    finally:
        cfn._CDumper, cfn.DIRECT = c_dumper, True
    assert [(a.path, a.content) for a in output.artifacts] == [(a.path, a.content) for a in slow.artifacts]


def test_printable_classes_are_exactly_the_documented_ranges():
    """_P and _G are written as complements (they compile faster): the same characters, every code point."""
    import re

    every = "".join(map(chr, range(0x110000)))
    printable = "\\x20-\\x7e\\xa0-\\u2027\\u202a-\\ud7ff\\ue000-\\ufefe\\uff00-\\ufffd"
    graphic = "\\x21-\\x7e\\xa1-\\u2027\\u202a-\\ud7ff\\ue000-\\ufefe\\uff00-\\ufffd"
    for ours, documented in ((yamlemit._P, printable), (yamlemit._G, graphic)):
        assert re.findall(f"[{ours}]", every) == re.findall(f"[{documented}]", every)
