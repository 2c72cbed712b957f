"""Our rules run in a thread while cfn-lint works (`engine.alongside`): the same findings, in order,
and a failure in that thread is raised in the caller's, not lost."""

from __future__ import annotations

import threading

import pytest

from compiler.lint.engine import Template, alongside, check_template, finish, prepare
from compiler.lint.registry import all_rules

GOOD = """\
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: x
"""


def templates() -> list[Template]:
    return [Template(f"generated/s{i}/prod/codepipeline.yml", GOOD if i % 2 else "a: [", "eu-west-1") for i in range(4)]


def test_alongside_runs_the_work_here_and_our_rules_elsewhere_in_order():
    seen = []

    def work():
        seen.append(threading.current_thread() is threading.main_thread())
        return "cfn-lint results"

    result, checked = alongside(templates(), {}, all_rules(), work)
    assert result == "cfn-lint results" and seen == [True]
    assert [c.template.path for c in checked] == [t.path for t in templates()]
    for t, c in zip(templates(), checked):
        assert finish(c, None) == check_template(t, {}, None) == finish(prepare(t, {}), None)
    assert finish(checked[0], None)[0][0].code == "SS000"  # not YAML: reported, nothing else


def test_a_failure_in_the_rules_thread_reaches_the_caller():
    with pytest.raises(AttributeError):
        alongside(templates()[1:2], {}, [object()], lambda: None)  # a broken rule
