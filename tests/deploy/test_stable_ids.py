"""Logical ids that come from a list are keyed by the element, not its position: removing or
reordering one e-mail address leaves every other subscription untouched, in the change set and
in the deployed template (so on AWS the same subscription stays: nobody has to confirm again).
The emulator stores templates but does not create AWS::SNS::Subscription resources: the change
set and the deployed template are what is compared."""

from __future__ import annotations

import pytest

from support.plan import STG, by_name, emu, moto_endpoint, plan_json  # noqa: F401 (fixtures)

from compiler.build.render.notification import subscription_id

pytestmark = pytest.mark.slow

A, B, C = "alerts-a@example.com", "alerts-b@example.com", "alerts-c@example.com"
STACK = "news-web-stg-notification"


def _subscriptions(emu) -> dict[str, dict]:
    """The subscriptions of the deployed notification template, by logical id."""
    from compiler.deploy.predict import load_template

    body = emu.client("cloudformation", STG).get_template(StackName=STACK)["TemplateBody"]
    resources = (body if isinstance(body, dict) else load_template(body))["Resources"]
    return {k: v for k, v in resources.items() if v["Type"] == "AWS::SNS::Subscription"}


def test_removing_and_reordering_addresses_changes_only_the_removed_one(emu):
    emu.edit("news-web", "emails: [media-news@example.com]", f"emails: [{A}, {B}, {C}]")
    assert emu.cli("bootstrap", "--local", "--yes", "--env", "stg").status == 0
    r = emu.cli("apply", "--local", "--yes", "news-web", "--env", "stg")
    assert r.status == 0, r.err
    before = _subscriptions(emu)
    assert set(before) == {subscription_id(A), subscription_id(B), subscription_id(C)}

    emu.edit("news-web", f"emails: [{A}, {B}, {C}]", f"emails: [{C}, {A}]")  # B removed, the rest reordered
    doc, r = plan_json(emu, "news-web", "--env", "stg")
    assert r.status == 0, r.err
    changes = by_name(doc)[(STACK, STG)]["changes"]
    assert [(c["logical_id"], c["action"]) for c in changes if c["resource_type"] == "AWS::SNS::Subscription"] == [
        (subscription_id(B), "Remove")]

    r = emu.cli("apply", "--local", "--yes", "news-web", "--env", "stg")
    assert r.status == 0, r.err
    after = _subscriptions(emu)
    assert after == {k: v for k, v in before.items() if k != subscription_id(B)}  # the others exactly as they were


def test_subscription_ids_depend_on_the_address_only():
    assert subscription_id(A) == subscription_id(A) != subscription_id(B)
    assert subscription_id(A).startswith("EmailSubscription") and subscription_id(A).isalnum()
