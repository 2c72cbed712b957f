"""YAML syntax errors come with a hint for their common causes, at the line to fix (the golden
cases yaml-colon-value, yaml-merge-key and yaml-indent show the full messages)."""

from __future__ import annotations

import pytest

from compiler.core.diagnostics import SpecError
from compiler.spec.yamlsrc import load_text


def error(text: str) -> tuple[int, str]:
    with pytest.raises(SpecError) as info:
        load_text(text, "f.yaml")
    (d,) = info.value.diagnostics
    return d.location.line, d.message


def test_unquoted_value_ending_in_double_colon_says_quote_it():
    line, msg = error("service:\n  environment:\n    LOG_PREFIX: svc-a::\n")
    assert line == 3 and 'quote it: `LOG_PREFIX: "svc-a::"`' in msg


def test_unquoted_value_with_colon_space_says_quote_it():
    line, msg = error("description: see: the wiki\n")
    assert line == 1 and 'quote it: `description: "see: the wiki"`' in msg


def test_merge_key_says_write_the_keys_out():
    line, msg = error("base: &b\n  cluster: media\nservice:\n  <<: *b\n  name: x\n")
    assert line == 4 and "merge keys ('<<') are not supported" in msg and "write the keys out" in msg


def test_undefined_alias_says_define_the_anchor_first():
    _line, msg = error("service:\n  cluster: *c\n")
    assert "define the anchor (`&name`) before its first use" in msg


def test_de_indented_line_is_named_when_the_parser_stops_below_it():
    # line 4 left its block (secrets); the parser only stops at line 5
    text = ("service:\n  secrets:\n    A: arn:a\n  B: arn:b\n    C: arn:c\n")
    line, msg = error(text)
    assert line == 5
    assert "If line 4 belongs to the block above it, indent it by 4 spaces like line 3" in msg
    assert "otherwise indent line 5 by 2 spaces like line 4" in msg


def test_line_matching_no_block_lists_the_indentations():
    line, msg = error("service:\n  environment:\n    A: x\n   B: y\n")
    assert line == 4 and "indented by 3 spaces, which matches no block" in msg and "0, 2 or 4" in msg


def test_over_indented_key_under_a_value():
    line, msg = error("source:\n  repository: a/b\n    branch: main\n")
    assert line == 3 and "indent it by 2 spaces like line 2" in msg


def test_list_item_out_of_line():
    line, msg = error("commands:\n  - a\n - b\n")
    assert line == 3 and "indented by 1 space, which matches no block" in msg and "0 or 2" in msg
