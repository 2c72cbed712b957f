"""The table of known deployment failures: patterns, precedence, documentation."""

from __future__ import annotations

import re

import pytest

from compiler.ops.doctor_checks import CHECKS
from compiler.core.known_failures import KNOWN_FAILURES, TROUBLESHOOTING_PATH, fill, match_reason
from compiler.ops.troubleshooting import troubleshooting_markdown

IDS = [e.id for e in KNOWN_FAILURES]


def test_ids_are_unique_and_anchor_safe():
    ids = IDS + [c.id for c in CHECKS]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z][a-z0-9-]+", i) for i in ids)


@pytest.mark.parametrize("index", range(len(KNOWN_FAILURES)), ids=IDS)
def test_each_example_is_matched_by_its_own_entry_first(index):
    e = KNOWN_FAILURES[index]
    assert e.regex.search(e.example), f"{e.id}: its pattern does not match its example"
    assert match_reason(e.example) is e
    # precedence: no entry listed before this one matches its example (later, broader ones may)
    earlier = [f.id for f in KNOWN_FAILURES[:index] if f.regex.search(e.example)]
    assert earlier == []


def test_broad_entries_come_after_the_specific_ones_they_cover():
    """Where a later (broader) pattern also matches an earlier example, the order is what decides;
    these are the overlaps the table relies on. A new overlap must be a deliberate choice."""
    overlaps = {(e.id, f.id) for i, e in enumerate(KNOWN_FAILURES) for f in KNOWN_FAILURES[i + 1:]
                if f.regex.search(e.example)}
    assert overlaps == {
        ("disk-full", "cannot-create-container"),
        ("network-timeout", "ecr-auth-failed"),
        ("pull-rate-limit", "pull-failed"),
        ("pull-access-denied", "pull-failed"),
        ("platform-mismatch", "pull-failed"),
        ("image-not-found", "pull-failed"),
        ("placement-resources", "placement-constraints"),
        ("placement-ports", "placement-constraints"),
        ("no-container-instances", "placement-constraints"),
    }


@pytest.mark.parametrize("text,expected", [
    # the same full disk, reported by the older devicemapper storage driver
    ("CannotCreateContainerError: API error (500): devmapper: Thin Pool has 4350 free data blocks which is "
     "less than minimum required 4454 free data blocks", "disk-full"),
    # a pull that fails because the disk is full is a disk problem, not a pull problem
    ("CannotPullContainerError: failed to register layer: write /usr/lib/x: no space left on device", "disk-full"),
    ("CannotPullContainerError: Error response from daemon: manifest for 111111111111.dkr.ecr.ap-northeast-1"
     ".amazonaws.com/media/video-api:abc not found: manifest unknown: Requested image not found", "image-not-found"),
    ("ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: "
     "unable to retrieve secrets from ssm: service call has been retried 1 time(s): InvalidParameters: "
     "/video-api/database-url", "secret-unavailable"),
    ("ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: "
     "unable to retrieve secrets from ssm: service call has been retried 5 time(s): RequestCanceled: request "
     "context canceled caused by: context deadline exceeded", "network-timeout"),
    ("(service video-api-service) (task 0ea3723c) failed container health checks.", "container-health-check"),
    ("service video-api-service (port 8080) is unhealthy in target-group video-api due to (reason Health "
     "checks failed).", "elb-health-check"),
    ("CannotStartContainerError: Error response from daemon: failed to initialize logging driver: failed to "
     "create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist.",
     "log-config"),
    ("(service x) has reached a steady state.", None),
    ("", None),
])
def test_real_world_variants(text, expected):
    m = match_reason(text)
    assert (m.id if m else None) == expected


def test_expected_stops_are_info_and_problems_are_errors():
    info = {e.id for e in KNOWN_FAILURES if e.severity == "info"}
    assert info == {"replaced-by-deployment", "stopped-by-user", "infrastructure-maintenance"}
    # an expected stop sorts after every problem, so it never hides one
    first_info = min(IDS.index(i) for i in info)
    assert all(IDS.index(e.id) < first_info for e in KNOWN_FAILURES if e.severity != "info")


def test_every_entry_is_documented_with_an_aws_link_and_a_fix():
    for item in (*KNOWN_FAILURES, *CHECKS):
        assert item.doc_url.startswith(("https://docs.aws.amazon.com/", "https://repost.aws/")), item.id
        assert item.meaning and item.fix and item.title


def test_disk_full_explains_the_volume_and_gives_agent_settings_and_emergency_commands():
    e = KNOWN_FAILURES[IDS.index("disk-full")]
    assert "22 GiB" in e.meaning and e.launch_types == ("EC2",)
    for setting in ("ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION", "ECS_IMAGE_CLEANUP_INTERVAL",
                    "ECS_IMAGE_MINIMUM_CLEANUP_AGE", "ECS_NUM_IMAGES_DELETE_PER_CYCLE", "ECS_DISABLE_IMAGE_CLEANUP"):
        assert setting in e.fix
    assert "multi-stage" in e.fix
    commands = "\n".join(e.commands)
    assert "docker container prune -f" in commands and "docker image prune -a -f" in commands
    assert "systemctl restart ecs" in commands


def test_fill_replaces_known_placeholders_only():
    cmd = "aws ecr describe-images --region <region> --repository-name <repository> --image-ids imageTag=<tag>"
    assert fill(cmd, {"region": "ap-northeast-1", "repository": "media/video-api"}) == (
        "aws ecr describe-images --region ap-northeast-1 --repository-name media/video-api --image-ids imageTag=<tag>")


def test_committed_troubleshooting_doc_is_generated_from_the_table(repo_root):
    assert (repo_root / TROUBLESHOOTING_PATH).read_text(encoding="utf-8") == troubleshooting_markdown()


def test_troubleshooting_doc_has_an_anchor_and_example_per_entry():
    text = troubleshooting_markdown()
    for e in KNOWN_FAILURES:
        assert f'<a id="{e.id}"></a>' in text and e.example in text and e.doc_url in text
    for c in CHECKS:
        assert f'<a id="{c.id}"></a>' in text
    assert troubleshooting_markdown() == text  # deterministic
