"""The direct text emitter writes exactly PyYAML's pure-Python emitter's bytes, or refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.fleet import write_fleet
from compiler.build.compile import compile_project
from compiler.build.render import cfn, yamlemit, yamltext
from compiler.spec.project import load_project
from support.cli import REPO


def python_dump(data) -> str:
    return yaml.dump(data, Dumper=cfn._Dumper, sort_keys=False, default_flow_style=False, width=120,
                     allow_unicode=True)


# Shared across examples on purpose: the per-string memos must not leak one context into another.
EMITTER = yamltext.TextEmitter(cfn._Dumper.yaml_implicit_resolvers)

# Whole strings the resolver or analyze_scalar treat specially, and pieces to build more of them.
SPECIAL = ["", " ", "   ", "-", "?", ":", "#", "---", "...", "--- a", "... a", "- a", "? a", ": a", "a:", "a: b",
           "a :b", "a #b", "a#b", "#a", "-a", "?a", ":a", "a:b", "true", "True", "TRUE", "yes", "No", "off", "On",
           "y", "n", "null", "Null", "NULL", "~", "0", "-0", "+1", "012", "0o17", "0x1F", "0b101", "1_000", "1:20",
           "190:20:30", "1e3", "1.0e+3", "1.5", ".5", "1.", "-.inf", ".Inf", ".nan", ".NaN", "2001-12-14",
           "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5", "<<", "=", "!", "&", "*", "!Ref", "&a",
           "*a", "|", ">", "'", '"', "%a", "@a", "`a", "{a}", "[a]", "a,b", "a'b", "'a'", "é", "日本語", "\xa0",
           "a\xa0", "${AWS::Region}", "arn:aws:s3:::b/*", "a  b", " a", "a ", "x" * 130]
PIECES = SPECIAL + list("abcXYZ019 :#-'\",.[]{}?!&*|>%@`~=<\\/_") + ["  ", " #", ": ", "é", "日本", "word " * 5]
line = st.one_of(st.sampled_from(SPECIAL), st.lists(st.sampled_from(PIECES), max_size=12).map("".join))
# Long lines with single and double spaces: folding at column 120 (plain and single-quoted).
words = st.lists(st.sampled_from(["a", "bb", "ccc", "dddddddd", "'q'", "x:", "é", "#", "-", "1", "y" * 25]),
                 min_size=10, max_size=60)
long_line = st.tuples(words, st.lists(st.sampled_from([" ", " ", " ", "  ", "   "]), min_size=60, max_size=60),
                      st.sampled_from(["", "'", "-", " ", ":"])).map(
    lambda t: t[2] + "".join(w + s for w, s in zip(t[0], t[1])).rstrip(" ") + t[2])
block_line = st.one_of(st.just(""), st.lists(st.sampled_from(PIECES), min_size=1, max_size=8).map("".join))
block_line = st.one_of(block_line, block_line.map(str.strip))
multi = st.tuples(st.lists(block_line, min_size=2, max_size=6), st.booleans()).map(
    lambda t: "\n".join(t[0]) + ("\n" if t[1] else ""))
text = st.one_of(line, line, long_line, multi)
key = st.one_of(st.sampled_from(SPECIAL[:-1]), st.lists(st.sampled_from(PIECES[:-1]), min_size=1, max_size=6).map("".join),
                st.just("k" * 101), st.just("K" * 100))
scalar = st.one_of(text, st.integers(-10, 10**12), st.booleans(), st.none(),
                   st.floats(allow_nan=True), st.sampled_from([0.0, -0.0, 1e20, 1e-5, 1e16, -1.5e300]))
tree = st.recursive(scalar, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                     st.dictionaries(key, kids, max_size=4)), max_leaves=30)


def nest(data, keys: list[str]):
    """Push `data` deeper (wider columns, more folding and indentation), alternating lists and maps."""
    for i, k in enumerate(keys):
        data = [data] if i % 3 == 2 else {k: data}
    return data


@settings(max_examples=2000, deadline=None)
@given(tree, st.lists(st.sampled_from(["A", "Properties", "k" * 40]), max_size=6))
def test_direct_text_is_the_python_emitters_or_refused(data, keys):
    doc = {"Resources": nest(data, keys)}
    got = EMITTER.emit(doc)
    if got is not None:
        assert got == python_dump(doc)
    # It refuses only what c_emittable refuses (so real templates take it), never accepts more.
    assert (got is not None) == yamlemit.c_emittable(doc)
    assert cfn.dump_yaml(doc) == python_dump(doc)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(key, tree, min_size=1, max_size=5))
def test_top_level_mappings(doc):
    got = EMITTER.emit(doc)
    if got is not None:
        assert got == python_dump(doc)
    assert (got is not None) == yamlemit.c_emittable(doc)


@pytest.mark.parametrize("doc", [{}, [], "a", 1, None, [{"a": 1}], {"a": ("t",)}, {1: "a"}, {"a": b"x"},
                                 {"a": "keep\n\n"}, {"a": "\x85"}, {"a": "x\ud800"}, {"": 1}, {"k" * 101: 1}])
def test_refused_documents_still_dump_as_before(doc):
    assert EMITTER.emit(doc) is None
    before = cfn._CDumper if cfn._CDumper is not None and yamlemit.c_emittable(doc) else cfn._Dumper
    assert cfn.dump_yaml(doc) == yaml.dump(doc, Dumper=before, sort_keys=False, default_flow_style=False,
                                           width=120, allow_unicode=True)


def _all_documents(roots: list[Path]) -> list:
    seen: list = []
    original = cfn._text.emit

    def spy(data):
        seen.append(data)
        return original(data)

    cfn._text.emit = spy
    try:
        for root in roots:
            compile_project(load_project(root))
    finally:
        del cfn._text.emit
    return seen


def test_every_real_template_is_written_directly_and_identically(tmp_path):
    """services/, every golden output case and a generated fleet: each document the build dumps."""
    write_fleet(tmp_path / "fleet", 12)
    cases = sorted(p for p in (REPO / "tests" / "golden" / "output").iterdir() if p.is_dir())
    docs = _all_documents([REPO, tmp_path / "fleet", *cases])
    assert len(docs) > 100
    for doc in docs:
        got = EMITTER.emit(doc)
        assert got is not None, "a real template fell back to PyYAML"
        assert got == python_dump(doc)


def _around_the_width():
    """Values whose first lone space falls on either side of column 120, at many columns and depths:
    plain and single-quoted, a space first or last, in mappings and list items."""
    for depth in (0, 1, 20, 45, 59):
        for klen in (1, 7, 40, 100):
            col = 2 * depth + klen + 1  # the column after `key:`
            for n in range(max(0, 116 - col), max(6, 126 - col)):
                word = "x" * n
                for value in (word + " y z", word + "  y z", " " + word + " y", word + " y ", "'" + word + " y",
                              word + "' y'", word + " " + "y" * 130, " y"):
                    for inner in ({"k" * klen: value}, {"k" * klen: [value, [value]]}):
                        doc = inner
                        for _ in range(depth):
                            doc = {"a": doc}
                        yield doc


def test_folding_at_the_width_boundary():
    docs = list(_around_the_width())
    assert len(docs) > 1000
    for doc in docs:
        assert EMITTER.emit(doc) == python_dump(doc)


class _Dict(dict):
    pass


@pytest.mark.parametrize("doc", ["a", 1, None, True, 1.5, {"a": set()}, {"a": _Dict(b=1)}, {"a": bytearray(b"x")},
                                 {"a": frozenset()}, [1, "x"], {"a": [set()]}],
                         ids=["str", "int", "none", "bool", "float", "set", "dict-subclass", "bytearray",
                              "frozenset", "list", "set-in-list"])
def test_any_value_dumps_as_the_python_emitter_dumps_it(doc):
    """Whatever path takes it, the text (or the refusal) is PyYAML's own: a bare scalar ends with
    `...`, a set is `!!set`, a value PyYAML cannot represent is PyYAML's error, never a crash here."""
    try:
        want = python_dump(doc)
    except yaml.YAMLError as exc:
        with pytest.raises(type(exc)):
            cfn.dump_yaml(doc)
        return
    assert cfn.dump_yaml(doc) == want


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_the_ascii_patterns_are_the_full_patterns_on_ascii_text(text):
    from compiler.build.render.yamlemit import _patterns

    for fast, full in zip(_patterns(True), _patterns(False)):
        assert bool(fast.match(text)) == bool(full.match(text))
