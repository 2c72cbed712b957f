"""Many services planned in parallel, and a template too big to send inline, against moto over HTTP."""

from __future__ import annotations

import pytest

import threading
from unittest import mock

from support.plan import STG, by_name, emu, moto_endpoint, on_clients, plan_json  # noqa: F401 (fixtures)

from compiler.deploy.aws import planner

pytestmark = pytest.mark.slow

SPEC = """name: {name}
source:
  repository: example-corp/{name}
build:
  ecr_repository: media/{name}
service:
  cluster: media
"""


def test_parallel_plans_of_twenty_services(emu):
    for i in range(20):
        name = f"svc-{i:02d}"
        emu.spec(name).write_text(SPEC.format(name=name))
    assert emu.cli("bootstrap", "--local", "--yes", "--env", "stg").status == 0
    active, peak, lock = [0], [0], threading.Lock()
    original = planner.plan_stack

    def counting(ctx, si, exports=None):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            return original(ctx, si, exports)
        finally:
            with lock:
                active[0] -= 1

    with mock.patch.object(planner, "plan_stack", counting):
        doc, r = plan_json(emu, "--env", "stg", "--jobs", "6")
    assert r.status == 0, r.err
    stacks = by_name(doc)
    names = [f"svc-{i:02d}" for i in range(20)] + ["news-web", "photo-thumbs"]
    for n in names:
        for kind in ("pipeline", "notification"):
            s = stacks[(f"{n}-stg-{kind}", STG)]
            assert s["status"] == "create" and s["change_set"] is not None, s
    assert len(doc["stacks"]) == 2 * len(names) + 1
    assert 1 < peak[0] <= 6  # really parallel, and bounded by --jobs
    assert emu.stacks(STG).keys() == {"shipspec-bootstrap"}  # every preview change set and shell cleaned up
    # document order is deterministic: bootstrap, pipelines, notifications, each by name
    order = [s["stack_name"] for s in doc["stacks"]]
    assert order[0] == "shipspec-bootstrap"
    assert order[1:] == sorted(order[1:], key=lambda n: (n.endswith("-notification"), n))


def test_oversized_template_goes_through_the_artifact_bucket(emu):
    args = "\n".join(f"    ARG_{i:03d}: value-number-{i:03d}-with-some-padding-text-to-make-it-longer"
                     for i in range(400))
    emu.spec("big-svc").write_text(SPEC.format(name="big-svc").replace(
        "  ecr_repository: media/big-svc\n", f"  ecr_repository: media/big-svc\n  build_args:\n{args}\n"))
    sent: dict[str, list[str]] = {}

    def record(service, client):
        if service == "cloudformation":
            def before(params, model, **_):
                body = params["body"]
                sent.setdefault(body["StackName"], []).append(
                    "TemplateURL" if "TemplateURL" in body else "TemplateBody")
            for op in ("CreateChangeSet", "CreateStack"):
                client.meta.events.register(f"before-call.cloudformation.{op}", before)

    doc, r = plan_json(emu, "big-svc", "--env", "stg")
    pipe = by_name(doc)[("big-svc-stg-pipeline", STG)]
    assert pipe["status"] == "create" and pipe["change_set"] is None  # not bootstrapped: predicted offline
    assert emu.cli("bootstrap", "--local", "--yes", "--env", "stg").status == 0
    with on_clients(record):
        doc, r = plan_json(emu, "big-svc", "--env", "stg")
        applied = emu.cli("apply", "--local", "--yes", "big-svc", "--env", "stg")
    assert r.status == 0 and applied.status == 0, applied.out + applied.err
    assert by_name(doc)[("big-svc-stg-pipeline", STG)]["status"] == "create"
    assert set(sent["big-svc-stg-pipeline"]) == {"TemplateURL"}
    assert set(sent["big-svc-stg-notification"]) == {"TemplateBody"}
    boot = emu.stacks(STG)["shipspec-bootstrap"]
    bucket = next(o["OutputValue"] for o in boot["Outputs"] if o["OutputKey"] == "ArtifactBucket")
    keys = [o["Key"] for o in emu.client("s3", STG).list_objects_v2(Bucket=bucket)["Contents"]]
    assert any(k.startswith("shipspec/templates/big-svc-stg-pipeline/") for k in keys)
    assert emu.stacks(STG)["big-svc-stg-pipeline"]["StackStatus"] == "CREATE_COMPLETE"
    again, _ = plan_json(emu, "big-svc", "--env", "stg")
    assert {s["status"] for s in again["stacks"]} == {"no-change"}
