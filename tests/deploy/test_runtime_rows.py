"""Runtime rows: a change that reaches the running container is a row of its own in plan (text,
markdown, JSON), in plan-gate and in diff, and with `build.buildspec: repo` names the files to
copy to the service repository (against moto's server over HTTP)."""

from __future__ import annotations

import json

import pytest

from support.plan import STG, by_name, emu, moto_endpoint, plan_json  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow

STACK = "photo-thumbs-stg-pipeline"


def _repo_mode(emu) -> None:
    emu.edit("photo-thumbs", "ecr_repository: media/photo-thumbs",
             "ecr_repository: media/photo-thumbs\n  buildspec: repo")
    emu.edit("photo-thumbs", "cluster: media", "cluster: media\n  environment:\n    LOG_LEVEL: info")


def test_a_runtime_only_change_in_repo_mode_is_an_update_with_rows_and_an_action_item(emu, tmp_path):
    _repo_mode(emu)
    assert emu.cli("bootstrap", "--local", "--yes", "--env", "stg").status == 0
    assert emu.cli("apply", "--local", "--yes", "photo-thumbs", "--env", "stg").status == 0
    # what used to change only the service repository's update_taskdefinition.sh
    emu.edit("photo-thumbs", "    LOG_LEVEL: info", "    LOG_LEVEL: debug\n    FEATURE_FLAG: \"on\"\n  cpu: 512")
    doc, r = plan_json(emu, "photo-thumbs", "--env", "stg")
    assert r.status == 0, r.err
    s = by_name(doc)[(STACK, STG)]
    assert s["status"] == "update"  # not "0 to update" any more
    rt = s["runtime"]
    assert (rt["service"], rt["environment"], rt["mode"], rt["status"]) == ("photo-thumbs", "stg", "repo", "changed")
    assert rt["changes"] == [
        {"field": "cpu", "key": "", "op": "add", "before": None, "after": 512},
        {"field": "environment", "key": "FEATURE_FLAG", "op": "add", "before": None, "after": "on"},
        {"field": "environment", "key": "LOG_LEVEL", "op": "modify", "before": "info", "after": "debug"}]
    assert {"from": "generated/photo-thumbs/stg/update_taskdefinition.sh", "to": "codepipeline/update_taskdefinition.sh",
            "repository": "example-corp/photo-thumbs", "branch": "main"} in rt["copy"]

    text = emu.cli("plan", "--local", "photo-thumbs", "--env", "stg").out
    assert "Runtime changes (what the next pipeline run does to the running service):" in text
    assert '+ environment variable FEATURE_FLAG = "on"' in text and '~ environment variable LOG_LEVEL: "info" -> "debug"' in text
    assert "+ task cpu = 512" in text
    assert ("action item: photo-thumbs (stg): copy generated/photo-thumbs/stg/update_taskdefinition.sh to "
            "codepipeline/update_taskdefinition.sh in repository example-corp/photo-thumbs, branch main") in text
    md = emu.cli("plan", "--local", "photo-thumbs", "--env", "stg", "--format", "markdown").out
    assert "### Runtime changes" in md and "### Action items" in md
    assert "- [ ] photo-thumbs (stg): copy generated/photo-thumbs/stg/update_taskdefinition.sh" in md

    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(doc))
    out = tmp_path / "gh-output"
    gate = emu.cli("plan-gate", "--plan", str(plan), "--danger-only", "--github-output", str(out),
                   "--summary", str(tmp_path / "summary.md"))
    assert gate.status == 0, gate.err
    assert "action item: photo-thumbs (stg): copy generated/photo-thumbs/stg/update_taskdefinition.sh" in gate.err
    items = json.loads(next(line for line in out.read_text().splitlines() if line.startswith("action-items="))
                       .split("=", 1)[1])
    assert any("codepipeline/update_taskdefinition.sh in repository example-corp/photo-thumbs" in i for i in items)
    assert ":warning: action item (not done by apply)" in (tmp_path / "summary.md").read_text()

    assert emu.cli("apply", "--local", "--yes", "photo-thumbs", "--env", "stg").status == 0
    again, _ = plan_json(emu, "photo-thumbs", "--env", "stg")
    s = by_name(again)[(STACK, STG)]
    assert s["status"] == "no-change" and s["runtime"]["status"] == "unchanged" and s["runtime"]["changes"] == []


def test_removing_a_variable_says_the_running_container_keeps_it(emu):
    _repo_mode(emu)
    assert emu.cli("bootstrap", "--local", "--yes", "--env", "stg").status == 0
    assert emu.cli("apply", "--local", "--yes", "photo-thumbs", "--env", "stg").status == 0
    emu.edit("photo-thumbs", "  environment:\n    LOG_LEVEL: info\n", "")
    text = emu.cli("plan", "--local", "photo-thumbs", "--env", "stg").out
    assert ('- environment variable LOG_LEVEL (was "info"): no longer set by the spec; the update keeps it in the '
            "running container") in text
