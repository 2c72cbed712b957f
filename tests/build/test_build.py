"""`shipspec build` and `check`: deterministic, atomic, complete, and honest about drift."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from unittest import mock

import pytest

from compiler.build import writer
from compiler.build.compile import compile_project
from compiler.spec.project import load_project

from support.cli import run_cli


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted((root / "generated").rglob("*")) if p.is_file()}


def test_committed_tree_is_current(repo_root):
    result = run_cli("check", root=repo_root)
    assert result.status == 0, result.out + result.err


def test_build_is_deterministic_and_idempotent(example_repo):
    (example_repo / "generated").rename(example_repo / "generated-committed")
    first = run_cli("build", root=example_repo)
    assert first.status == 0, first.err
    tree = _tree(example_repo)
    mtimes = {p: os.stat(example_repo / p).st_mtime_ns for p in tree}
    second = run_cli("build", root=example_repo)
    assert second.status == 0 and "up to date" in second.err
    assert _tree(example_repo) == tree
    assert {p: os.stat(example_repo / p).st_mtime_ns for p in tree} == mtimes, "a no-op build rewrote files"
    # and the same bytes as an independent compile in this process
    again = compile_project(load_project(example_repo))
    assert {a.path: a.content for a in again.artifacts} == tree


def test_every_service_and_environment_gets_its_files(example_repo):
    project = load_project(example_repo)
    run_cli("build", root=example_repo)
    names = {"codepipeline.yml", "codepipeline-status-notification.yml", "buildspec.yml", "updatespec.yml",
             "update_taskdefinition.sh"}
    for s in project.services:
        d = example_repo / "generated" / s.config.name / s.config.environment.name
        assert names <= {p.name for p in d.iterdir()}
    assert os.access(example_repo / "generated/news-web/prod/update_taskdefinition.sh", os.X_OK)
    boots = {(s.config.environment.account, s.config.environment.region) for s in project.services}
    for account, region in boots:
        assert (example_repo / f"generated/_bootstrap/{account}-{region}/bootstrap.yml").is_file()
    assert (example_repo / "generated/_lambda/notify/handler.py").is_file()


def test_index_lists_stacks_files_and_hashes(example_repo):
    run_cli("build", root=example_repo)
    index = json.loads((example_repo / "generated/index.json").read_text())
    prod = index["services"]["news-web"]["prod"]
    assert prod["account"] == "222222222222" and prod["region"] == "ap-northeast-1"
    assert prod["stacks"] == {"pipeline": "news-web-prod-pipeline", "notification": "news-web-prod-notification"}
    assert len(prod["files"]) >= 5
    for path, sha in prod["files"].items():
        assert hashlib.sha256((example_repo / path).read_bytes()).hexdigest() == sha
    assert set(index["bootstrap"]) == {"111111111111-ap-northeast-1", "222222222222-ap-northeast-1"}


def test_check_lists_stale_missing_and_orphaned(example_repo):
    run_cli("build", root=example_repo)
    (example_repo / "generated/news-web/prod/buildspec.yml").write_text("edited by hand\n")
    (example_repo / "generated/video-api/stg/updatespec.yml").unlink()
    (example_repo / "generated/ghost").mkdir()
    (example_repo / "generated/ghost/codepipeline.yml").write_text("x\n")
    result = run_cli("check", root=example_repo)
    assert result.status == 1
    assert "stale    generated/news-web/prod/buildspec.yml" in result.out
    assert "missing  generated/video-api/stg/updatespec.yml" in result.out
    assert "orphaned generated/ghost/codepipeline.yml" in result.out
    (example_repo / "schema/service.schema.json").write_text("{}\n")
    assert "stale    schema/service.schema.json" in run_cli("check", root=example_repo).out


def test_removed_service_files_are_deleted(example_repo):
    run_cli("build", root=example_repo)
    (example_repo / "services/photo-thumbs.yaml").unlink()
    result = run_cli("build", root=example_repo)
    assert result.status == 0
    assert not (example_repo / "generated/photo-thumbs").exists()
    assert "removed  generated/photo-thumbs/prod/codepipeline.yml" in result.err


def _change_and_crash_at(example_repo, fail_on) -> tuple[dict, Path]:
    """Build, change news-web (a changed file) and remove photo-thumbs (removed files), then
    build with the rename `fail_on(src, dst)` picks failing; (tree before, spec)."""
    assert run_cli("build", root=example_repo).status == 0
    before = _tree(example_repo)
    spec = example_repo / "services/news-web.yaml"
    spec.write_text(spec.read_text().replace("compute_type: BUILD_GENERAL1_MEDIUM", "compute_type: BUILD_GENERAL1_LARGE"))
    (example_repo / "services/photo-thumbs.yaml").unlink()
    real_replace = os.replace
    calls = []

    def crash(src, dst):
        calls.append(str(dst))
        if fail_on(str(src), str(dst), calls):
            raise OSError("simulated crash")
        return real_replace(src, dst)

    with mock.patch("compiler.build.writer.os.replace", side_effect=crash):
        result = run_cli("build", root=example_repo)
    assert result.status == 1 and "simulated crash" in result.err
    return before, spec


def test_crash_before_the_journal_commits_keeps_old_tree(example_repo):
    before, _ = _change_and_crash_at(example_repo, lambda src, dst, calls: dst.endswith(writer.MANIFEST))
    assert _tree(example_repo) == before  # nothing under generated/ was touched
    writer.recover(example_repo)  # the uncommitted journal is discarded
    assert _tree(example_repo) == before and not (example_repo / writer.NEW).exists()
    assert run_cli("build", root=example_repo).status == 0
    assert b"BUILD_GENERAL1_LARGE" in (example_repo / "generated/news-web/prod/codepipeline.yml").read_bytes()


def test_crash_after_the_journal_commits_is_rolled_forward(example_repo, tmp_path):
    # the commit lands, then the second rename into generated/ fails: a half-applied tree
    before, _ = _change_and_crash_at(
        example_repo, lambda src, dst, calls: "/generated/" in dst and sum("/generated/" in c for c in calls) == 2)
    assert (example_repo / writer.NEW / writer.MANIFEST).exists()
    assert _tree(example_repo) != before
    # what a clean build of the same specs writes, in another copy
    clean = tmp_path / "clean"
    for d in ("services", "schema"):
        shutil.copytree(example_repo / d, clean / d)
    assert run_cli("build", root=clean).status == 0
    half = _tree(example_repo)
    checked = run_cli("check", root=example_repo)  # read-only: reports the journal, leaves it alone
    assert checked.status == 1 and "interrupted build" in checked.err and "run `shipspec build`" in checked.err
    assert _tree(example_repo) == half and (example_repo / writer.NEW / writer.MANIFEST).exists()
    assert run_cli("build", root=example_repo).status == 0  # the build finishes it, under its lock
    assert run_cli("check", root=example_repo).status == 0
    assert _tree(example_repo) == _tree(clean) and not (example_repo / writer.NEW).exists()
    assert not (example_repo / "generated/photo-thumbs").exists()


@pytest.mark.parametrize("pause_at", ["staged", "committed"])
def test_check_racing_a_paused_build_changes_nothing_and_the_build_completes(example_repo, pause_at):
    """`check` while a build is half-way (files staged, or the journal committed and being
    applied): check reports the running build and touches nothing; the build then finishes."""
    import threading

    assert run_cli("build", root=example_repo).status == 0
    spec = example_repo / "services/news-web.yaml"
    spec.write_text(spec.read_text().replace("keep_images: 30", "keep_images: 31"))
    (example_repo / "services/photo-thumbs.yaml").unlink()
    paused, go = threading.Event(), threading.Event()
    target = "_fsync_all" if pause_at == "staged" else "_apply"
    real = getattr(writer, target)

    def pause(*args, **kwargs):
        if threading.current_thread() is not builder:  # only the build pauses
            return real(*args, **kwargs)
        if pause_at == "staged":
            real(*args, **kwargs)  # staged and durable, not committed yet
        paused.set()
        assert go.wait(30)
        if pause_at == "committed":
            real(*args, **kwargs)

    result = {}
    with mock.patch.object(writer, target, side_effect=pause):
        builder = threading.Thread(target=lambda: result.setdefault("build", run_cli("build", root=example_repo)))
        builder.start()
        try:
            assert paused.wait(60), "the build never reached the pause"
            journal = {p.relative_to(example_repo).as_posix(): p.read_bytes()
                       for p in (example_repo / writer.NEW).rglob("*") if p.is_file()}
            before = _tree(example_repo)
            checked = run_cli("check", root=example_repo)
            assert checked.status == 1 and "a shipspec build is writing generated/ right now" in checked.err
            assert _tree(example_repo) == before
            assert {p.relative_to(example_repo).as_posix(): p.read_bytes()
                    for p in (example_repo / writer.NEW).rglob("*") if p.is_file()} == journal
        finally:
            go.set()
            builder.join(60)
    assert result["build"].status == 0, result["build"].err
    assert not (example_repo / writer.NEW).exists()
    assert b"Keep the 31 most recent images" in (example_repo / "generated/news-web/prod/codepipeline.yml").read_bytes()
    assert run_cli("check", root=example_repo).status == 0


def test_crash_while_staging_keeps_old_tree(example_repo):
    run_cli("build", root=example_repo)
    before = _tree(example_repo)
    spec = example_repo / "services/news-web.yaml"
    spec.write_text(spec.read_text().replace("keep_images: 30", "keep_images: 31"))
    with mock.patch("compiler.build.writer.os.fsync", side_effect=OSError("disk full")):
        assert run_cli("build", root=example_repo).status == 1
    assert _tree(example_repo) == before


def test_first_build_is_all_or_nothing(example_repo):
    shutil.rmtree(example_repo / "generated")
    real_replace = os.replace

    def crash(src, dst):
        if Path(src).name == writer.NEW:
            raise OSError("simulated crash")
        return real_replace(src, dst)

    with mock.patch("compiler.build.writer.os.replace", side_effect=crash):
        assert run_cli("build", root=example_repo).status == 1
    assert not (example_repo / "generated").exists()  # no half tree
    writer.recover(example_repo)
    assert not (example_repo / writer.NEW).exists()
    assert run_cli("build", root=example_repo).status == 0
    assert run_cli("check", root=example_repo).status == 0


def test_tree_left_by_the_old_swap_is_repaired(example_repo):
    run_cli("build", root=example_repo)
    before = _tree(example_repo)
    os.replace(example_repo / "generated", example_repo / writer.OLD)  # crashed between the two renames
    writer.recover(example_repo)
    assert _tree(example_repo) == before and not (example_repo / writer.OLD).exists()


def test_invalid_spec_writes_nothing(example_repo):
    run_cli("build", root=example_repo)
    before = _tree(example_repo)
    spec = example_repo / "services/news-web.yaml"
    spec.write_text(spec.read_text().replace("cluster: media", "cluster: media\n  bogus: 1"))
    result = run_cli("build", root=example_repo)
    assert result.status == 1 and "service.bogus: unknown key 'bogus'" in result.err
    assert _tree(example_repo) == before


def test_new_scaffolds_a_valid_spec(example_repo):
    result = run_cli("new", "audio-feed", root=example_repo)
    assert result.status == 0, result.err
    text = (example_repo / "services/audio-feed.yaml").read_text()
    assert text.startswith("# yaml-language-server: $schema=../schema/service.schema.json")
    assert run_cli("validate", "audio-feed", root=example_repo).status == 0
    assert run_cli("new", "audio-feed", root=example_repo).status == 1
    assert run_cli("new", "Bad_Name", root=example_repo).status == 2


def test_usage_errors_exit_2(example_repo, tmp_path):
    assert run_cli("validate", "--format", "yaml", root=example_repo).status == 2
    assert run_cli("frobnicate", root=example_repo).status == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_cli("validate", root=empty).status == 2


def test_validate_unknown_name_is_a_usage_error_and_suggests(example_repo):
    result = run_cli("validate", "news-wbe", root=example_repo)
    assert result.status == 2 and "did you mean 'news-web'" in result.err
    assert run_cli("validate", "no-such-service", root=example_repo).status == 2
    assert run_cli("build", root=example_repo).status == 0  # the specs themselves are fine


def test_second_build_waits_for_the_first_then_gives_up_clearly(example_repo):
    with writer.build_lock(example_repo):
        with pytest.raises(Exception) as info:
            with writer.build_lock(example_repo, wait=0.3):
                pass
    assert "another shipspec build" in str(info.value)
    with writer.build_lock(example_repo, wait=0.3):  # released: free again
        pass
