"""Specs are composed by libyaml where it builds exactly PyYAML's nodes (compiler/spec/yamlsrc.py:
`_compose`), by PyYAML otherwise: the node trees -- tags, values, line and column of every node --
and every error message are PyYAML's, whichever parser ran."""

from __future__ import annotations


import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from compiler.core.diagnostics import SpecError
from compiler.spec import yamlsrc
from support.cli import REPO

pytestmark = pytest.mark.skipif(yamlsrc._C_LOADER is None, reason="PyYAML without libyaml: one parser only")


def _shape(node):
    """What the loader reads of a node: kind, tag, value, and where it starts."""
    if node is None:
        return None
    where = (node.start_mark.line, node.start_mark.column)
    if isinstance(node, yaml.ScalarNode):
        return ("scalar", node.tag, node.value, where)
    if isinstance(node, yaml.SequenceNode):
        return ("seq", node.tag, [_shape(n) for n in node.value], where)
    return ("map", node.tag, [(_shape(k), _shape(v)) for k, v in node.value], where)


def _python(text: str):
    try:
        return _shape(yaml.compose(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        return ("error", str(exc))
    except RecursionError:
        return ("error", "recursion")


def _ours(text: str):
    try:
        return _shape(yamlsrc._compose(text))
    except yaml.YAMLError as exc:
        return ("error", str(exc))
    except RecursionError:
        return ("error", "recursion")


def _c_path_taken(text: str) -> bool:
    return yamlsrc.for_libyaml(text)


YAML_FILES = sorted(p for top in ("services", "tests", "schema", ".github") for p in (REPO / top).rglob("*")
                    if p.suffix in (".yaml", ".yml") and p.is_file())


def test_every_yaml_file_of_the_repository_composes_the_same():
    taken = 0
    for path in YAML_FILES:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert _ours(text) == _python(text), path.relative_to(REPO)
        taken += _c_path_taken(text) and (_python(text) or ("",))[0] != "error"
    assert taken > 50, "libyaml composed almost nothing: the comparison says little"


TOKENS = ["a", "b: ", "- ", "? ", ": ", ":", "\n", "\n  ", "\n    ", " ", "#", "'", '"', "[", "]", "{", "}", ",",
          "&x ", "*x", "!!str ", "!!binary ", "!t ", "|", ">", "|-", "---", "...", "%YAML 1.1\n", "\t", "\\",
          "é", "\u00a0", "1", "0x1F", "true", "null", "~", "<<: ", "=", "2001-12-14", "\r\n", "\x85", "\u2028",
          "\ufeff", "\x07", "😀", "|#", "|-#", ">2", "- - ", "''", "k: |\n  text\n",
          "a?", "?b", "/x?y=1"]


@pytest.mark.parametrize("text", ["? ", "k:\n", "- \n- a\n", "a\t", "a: |#\n  b\n", "a: |-#\n  b\n", "a: >2#\n  b\n",
                                  "a: b\r\nc: d\n", "a: \u2028\n", "\ufeffa: b\n", "health: [/health?full=1]\n",
                                  "{a?: b}\n", "[a, b?c: d]\n"])
def test_where_libyaml_reads_differently_pyyaml_decides(text):
    """Each text here is one libyaml composes otherwise (an empty value placed elsewhere, a tab or a
    block header PyYAML refuses, another line break): the result is PyYAML's."""
    assert _ours(text) == _python(text)


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
def test_libyaml_and_pyyaml_agree_on_generated_text(text):
    assert _ours(text) == _python(text)


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.one_of(st.text(max_size=12), st.integers(), st.booleans(), st.none()),
                    lambda kids: st.one_of(st.lists(kids, max_size=4),
                                           st.dictionaries(st.text(max_size=8), kids, max_size=4)), max_leaves=30),
       st.sampled_from([None, True, False]))
def test_libyaml_and_pyyaml_agree_on_dumped_documents(value, flow):
    text = yaml.safe_dump(value, default_flow_style=flow, allow_unicode=True)
    assert _ours(text) == _python(text)


@pytest.mark.parametrize("text", ["- " * 5000 + "x\n", "a:\n" + "".join(" " * i + "- b:\n" for i in range(0, 800, 2))],
                         ids=["compact-sequences", "indented-blocks"])
def test_deep_block_nesting_is_refused_by_pyyaml_rules_not_a_crash(text):
    assert not _c_path_taken(text)
    with pytest.raises(SpecError):
        yamlsrc.load_text(text, "deep.yaml")


@pytest.mark.parametrize("i", range(6))
def test_the_fast_path_is_taken_for_ordinary_specs(monkeypatch, i):
    from benchmarks.fleet import spec_text

    used = []
    real = yaml.compose
    monkeypatch.setattr(yamlsrc.yaml, "compose", lambda text, Loader: used.append(Loader) or real(text, Loader=Loader))
    yamlsrc.load_text(spec_text(i), "x.yaml")
    yamlsrc.load_text((REPO / "services" / "news-web.yaml").read_text(), "news-web.yaml")
    assert used == [yamlsrc._C_LOADER] * 2


@pytest.mark.parametrize("text, message", [
    ('a: "\\U00110000"\n', "YAML error"), ("a: !!bool x\n", "is not a valid bool"),
    ("a: !!timestamp x\n", "is not a valid timestamp"), ("a: !!int x\n", "invalid value")])
def test_values_pyyaml_cannot_construct_are_diagnostics_not_crashes(text, message):
    with pytest.raises(SpecError) as exc:
        yamlsrc.load_text(text, "x.yaml")
    assert message in exc.value.diagnostics[0].message


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_the_ascii_check_is_the_full_check_on_ascii_text(text):
    assert bool(yamlsrc._NOT_FOR_C_ASCII.search(text)) == bool(yamlsrc._not_for_c().search(text))
