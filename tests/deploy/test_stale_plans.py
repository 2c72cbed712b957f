"""A plan is held to the stack it was made against: apply refuses a stack that changed since
(another apply from this or another working copy, or a change by hand), on the emulator over
HTTP. On AWS CloudFormation would also refuse the reviewed change set once the stack changed;
the check here is what stops the second writer on the emulator, and it is the same code."""

from __future__ import annotations

import json
import shutil
import threading
from unittest import mock

import pytest

from support.cli import run_cli
from support.plan import STG, by_name, emu, moto_endpoint, plan_json  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow

STACK = "photo-thumbs-stg-pipeline"
SIZE = "BUILD_GENERAL1_{}"


def _deployed_size(emu) -> str:
    body = emu.client("cloudformation", STG).get_template(StackName=STACK)["TemplateBody"]
    text = body if isinstance(body, str) else json.dumps(body)
    sizes = {s for s in ("MEDIUM", "XLARGE", "2XLARGE", "LARGE", "SMALL") if f"{SIZE.format(s)}\n" in text
             or f'"{SIZE.format(s)}"' in text}
    assert len(sizes) == 1, sizes
    return sizes.pop()


def _size(emu, old: str, new: str) -> None:
    emu.edit("photo-thumbs", f"compute_type: {SIZE.format(old)}", f"compute_type: {SIZE.format(new)}")


def _start(emu, size: str = "MEDIUM") -> None:
    emu.edit("photo-thumbs", "ecr_repository: media/photo-thumbs",
             f"ecr_repository: media/photo-thumbs\n  compute_type: {SIZE.format(size)}")
    assert emu.cli("bootstrap", "--local", "--yes", "--env", "stg").status == 0
    r = emu.cli("apply", "--local", "--yes", "photo-thumbs", "--env", "stg")
    assert r.status == 0, r.err


def test_a_plan_applied_once_is_not_replayed_over_a_newer_deploy(emu, tmp_path):
    """The reproduction: plan P (MEDIUM -> LARGE), apply it; apply XLARGE; `apply --plan P` again
    must not revert the stack to LARGE."""
    _start(emu, "MEDIUM")
    _size(emu, "MEDIUM", "LARGE")
    plan = tmp_path / "p.json"
    assert emu.cli("plan", "--local", "photo-thumbs", "--env", "stg", "--format", "json", "--output", str(plan)).status == 0
    stack = next(s for s in json.loads(plan.read_text())["stacks"] if s["stack_name"] == STACK)
    assert stack["deployed"]["last_event_id"] and len(stack["deployed"]["template_sha256"]) == 64
    r = emu.cli("apply", "--local", "--yes", "--plan", str(plan))
    assert r.status == 0, r.err
    assert _deployed_size(emu) == "LARGE"
    _size(emu, "LARGE", "XLARGE")
    assert emu.cli("apply", "--local", "--yes", "photo-thumbs", "--env", "stg").status == 0
    assert _deployed_size(emu) == "XLARGE"
    _size(emu, "XLARGE", "LARGE")  # the working copy P was made from
    replay = emu.cli("apply", "--local", "--yes", "--plan", str(plan))
    assert replay.status == 1
    assert f"{STACK} ({STG}/ap-northeast-1): the deployed stack changed since" in replay.err
    assert "nothing was changed" in replay.err
    assert _deployed_size(emu) == "XLARGE"


def test_the_same_changes_against_a_stack_changed_meanwhile_are_refused(emu, tmp_path):
    """Changes alike are not enough: the stack went MEDIUM -> XLARGE -> MEDIUM after P was made, so
    P's change (MEDIUM -> LARGE) reads the same, but P was reviewed against another stack."""
    _start(emu, "MEDIUM")
    _size(emu, "MEDIUM", "LARGE")
    plan = tmp_path / "p.json"
    assert emu.cli("plan", "--local", "photo-thumbs", "--env", "stg", "--format", "json", "--output", str(plan)).status == 0
    for old, new in (("LARGE", "XLARGE"), ("XLARGE", "MEDIUM")):
        _size(emu, old, new)
        assert emu.cli("apply", "--local", "--yes", "photo-thumbs", "--env", "stg").status == 0
    _size(emu, "MEDIUM", "LARGE")
    fresh, _ = plan_json(emu, "photo-thumbs", "--env", "stg")
    reviewed = by_name(json.loads(plan.read_text()))[(STACK, STG)]
    now = by_name(fresh)[(STACK, STG)]
    assert [c["details"] for c in now["changes"]] == [c["details"] for c in reviewed["changes"]]  # same changes
    assert now["deployed"] != reviewed["deployed"] and now["fingerprint"] != reviewed["fingerprint"]
    r = emu.cli("apply", "--local", "--yes", "--plan", str(plan))
    assert r.status == 1 and "the deployed stack changed since" in r.err
    assert _deployed_size(emu) == "MEDIUM"


def test_two_working_copies_applying_at_once_the_second_refuses(emu, tmp_path):
    """Copy A plans LARGE; before A executes, copy B applies XLARGE. A must not overwrite it."""
    _start(emu, "MEDIUM")
    other = tmp_path / "other"
    shutil.copytree(emu.root, other)
    _size(emu, "MEDIUM", "LARGE")
    text = (other / "services/photo-thumbs.yaml").read_text()
    (other / "services/photo-thumbs.yaml").write_text(text.replace(SIZE.format("MEDIUM"), SIZE.format("XLARGE")))

    from compiler.deploy.aws import apply as apply_mod

    real = apply_mod.blocked_message
    b_result = {}

    def b_applies_first(changes, allow):
        # A's worker is about to execute its pipeline stack: copy B gets there first
        if threading.current_thread().name.startswith("shipspec") and not b_result and any(
                c.logical_id == "BuildProject" for c in changes):
            b_result["started"] = True  # B's own apply passes through here too
            b_result["r"] = run_cli("apply", "--local", "--yes", "photo-thumbs", "--env", "stg", root=other)
        return real(changes, allow)

    with mock.patch.object(apply_mod, "blocked_message", side_effect=b_applies_first):
        a = emu.cli("apply", "--local", "--yes", "photo-thumbs", "--env", "stg")
    assert b_result["r"].status == 0, b_result["r"].err
    assert a.status == 1
    assert f"{STACK} ({STG}/ap-northeast-1): refused: the stack changed since it was planned" in a.out
    assert _deployed_size(emu) == "XLARGE"  # B's deploy stands; A changed nothing
