"""`shipspec retire` deletes only the stacks of a spec or environment that is gone, found by their
shipspec tags, never by their names alone (against moto's server over HTTP)."""

from __future__ import annotations

import json
import shutil

import pytest

from support.cli import REPO
from support.plan import REGION, STG, emu, moto_endpoint  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow

TEMPLATE = '{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}'


def _stack(emu, name: str, tags: dict[str, str]) -> None:
    emu.client("cloudformation", STG).create_stack(
        StackName=name, TemplateBody=TEMPLATE, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


def test_a_name_that_reads_like_another_services_stacks_deletes_nothing(emu):
    """The reproduction: `retire video --env api-stg` must not take video-api's stg stacks."""
    shutil.copy(REPO / "services" / "video-api.yaml", emu.spec("video-api"))
    assert emu.cli("bootstrap", "--local", "--yes", "--env", "stg").status == 0
    assert emu.cli("apply", "--local", "--yes", "video-api", "--env", "stg").status == 0
    before = set(emu.stacks(STG))
    assert {"video-api-stg-pipeline", "video-api-stg-notification"} <= before
    r = emu.cli("retire", "video", "--env", "api-stg", "--local", "--yes", "--account", STG, "--region", REGION)
    assert r.status == 2 and "not an environment name" in r.err and "nothing was deleted" in r.err
    assert set(emu.stacks(STG)) == before


def test_stacks_named_like_the_pair_but_not_tagged_for_it_are_refused(emu):
    _stack(emu, "legacy-stg-pipeline", {})  # made by hand, not by shipspec
    _stack(emu, "ghost-stg-pipeline", {"shipspec:service": "other", "shipspec:environment": "stg"})
    for name, why in (("legacy", "no shipspec:service tag: shipspec did not create it"),
                      ("ghost", "tagged shipspec:service=other, shipspec:environment=stg")):
        r = emu.cli("retire", name, "--env", "stg", "--local", "--yes")
        assert r.status == 1, r.out + r.err
        assert "refusing to retire; nothing was deleted" in r.err and why in r.err
    assert {"legacy-stg-pipeline", "ghost-stg-pipeline"} <= set(emu.stacks(STG))


def test_a_stack_the_index_gives_to_another_service_is_refused(emu):
    _stack(emu, "spare-stg-pipeline", {"shipspec:service": "spare", "shipspec:environment": "stg"})
    (emu.root / "generated").mkdir()
    (emu.root / "generated" / "index.json").write_text(json.dumps(
        {"version": 1, "services": {"other": {"stg": {"stacks": {"pipeline": "spare-stg-pipeline"}}}}}))
    r = emu.cli("retire", "spare", "--env", "stg", "--local", "--yes")
    assert r.status == 1 and "generated/index.json gives it to other in stg" in r.err
    assert "spare-stg-pipeline" in emu.stacks(STG)


def test_only_a_failed_creation_is_deleted_while_the_spec_exists(emu):
    assert emu.cli("bootstrap", "--local", "--yes", "--env", "stg").status == 0
    assert emu.cli("apply", "--local", "--yes", "photo-thumbs", "--env", "stg").status == 0
    emu.backend(STG).get_stack("photo-thumbs-stg-pipeline").status = "ROLLBACK_COMPLETE"
    r = emu.cli("retire", "photo-thumbs", "--env", "stg", "--local", "--yes")
    assert r.status == 0, r.err
    assert "deleted photo-thumbs-stg-pipeline" in r.out
    assert "leaves photo-thumbs-stg-notification (CREATE_COMPLETE) alone" in r.out
    assert "photo-thumbs-stg-notification" in emu.stacks(STG) and "photo-thumbs-stg-pipeline" not in emu.stacks(STG)


def test_the_listing_comes_before_the_question(emu):
    assert emu.cli("bootstrap", "--local", "--yes", "--env", "stg").status == 0
    assert emu.cli("apply", "--local", "--yes", "photo-thumbs", "--env", "stg").status == 0
    emu.spec("photo-thumbs").unlink()
    r = emu.cli("retire", "photo-thumbs", "--env", "stg", "--local")
    assert r.status == 1 and "without --yes" in r.err
    lines = r.out.splitlines()
    assert lines[0] == f"retire photo-thumbs in stg ({STG}/{REGION}) will delete 2 stack(s):"
    assert lines[1].startswith("  stack photo-thumbs-stg-notification (CREATE_COMPLETE) arn:aws:cloudformation:")
    assert "tagged shipspec:service=photo-thumbs, shipspec:environment=stg" in lines[1]
    assert any(line.startswith("    deletes NotifyFunction (AWS::Lambda::Function) ") for line in lines)
    assert {"photo-thumbs-stg-pipeline", "photo-thumbs-stg-notification"} <= set(emu.stacks(STG))
