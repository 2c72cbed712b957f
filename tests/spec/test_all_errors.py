"""Every spec error in one run: a schema error no longer hides the checks beyond the schema
(compiler/spec/partial.py). The golden case all-errors-one-run shows a full report."""

from __future__ import annotations

import textwrap

import pytest

from compiler.core.diagnostics import SpecError
from compiler.spec.project import load_project

DEFAULTS = """\
source:
  connection_arn: arn:aws:codeconnections:ap-northeast-1:111111111111:connection/abc
environments:
  stg: {account: "111111111111", region: ap-northeast-1}
  prod: {account: "222222222222", region: ap-northeast-1}
"""
BASE = """\
name: svc-a
source:
  repository: example-corp/svc-a
build:
  ecr_repository: media/svc-a
service:
  cluster: media
"""
STG_SECRET = "arn:aws:secretsmanager:ap-northeast-1:111111111111:secret:db-AbCdEf"


def errors(tmp_path, extra: str) -> list[tuple[str, str]]:
    (tmp_path / "services").mkdir(exist_ok=True)
    (tmp_path / "services/_defaults.yaml").write_text(DEFAULTS)
    (tmp_path / "services/svc-a.yaml").write_text(BASE + textwrap.dedent(extra))
    with pytest.raises(SpecError) as info:
        load_project(tmp_path)
    return [(d.path, d.message) for d in info.value.diagnostics]


def test_unknown_key_does_not_hide_an_account_mismatch(tmp_path):
    found = errors(tmp_path, """\
        notifications:
          topic_arn: arn:aws:sns:ap-northeast-1:111111111111:alerts
          emial: [ops@example.com]
        """)
    paths = [p for p, _ in found]
    assert "notifications.emial" in paths
    assert "notifications.topic_arn" in paths  # prod's account differs


def test_bad_stage_hides_neither_other_stages_nor_their_indices(tmp_path):
    found = dict(errors(tmp_path, """\
        stages:
          - {name: 1st, after: Source, actions: [{name: A, commands: [x]}]}
          - {name: Ok, after: Source, actions: [{name: A, commands: [x]}]}
          - {name: Late, after: Source, actions: [{name: A, commands: [x], needs_image: true}]}
        """))
    assert "stages[0].name" in found
    assert "needs_image" in found["stages[2].actions[0].needs_image"]  # the spec's index, not the remaining list's


def test_a_default_standing_in_reports_nothing_that_depends_on_it(tmp_path):
    # deploy.approval is invalid; with the default (false) in its place the stage after Approval
    # would be misplaced -- a finding that is not the user's, so it is not reported
    found = errors(tmp_path, """\
        deploy:
          approval: maybe
        stages:
          - {name: Migrate, after: Approval, actions: [{name: A, commands: [x]}]}
        environments:
          prod:
            service:
              secrets: {DB: %s}
        """ % STG_SECRET)
    paths = [p for p, _ in found]
    assert "deploy.approval" in paths
    assert "service.secrets.DB" in paths  # prod's account differs
    assert not any(p.startswith("stages") for p in paths), found


def test_a_missing_required_field_leaves_the_schema_errors(tmp_path):
    (tmp_path / "services").mkdir()
    (tmp_path / "services/_defaults.yaml").write_text(DEFAULTS)
    (tmp_path / "services/svc-a.yaml").write_text("name: svc-a\nsource: {repository: example-corp/svc-a}\n"
                                                  "service: {cluster: media}\n")
    with pytest.raises(SpecError) as info:
        load_project(tmp_path)
    assert {d.path for d in info.value.diagnostics} == {"build"}
