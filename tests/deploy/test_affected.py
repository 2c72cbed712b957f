"""`shipspec affected` in real temporary git repositories: the example specs built and committed
as the base, then head changes of each kind."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from compiler.deploy.affected import Affected, affected, blob_id, parse_shard, shard
from support.cli import REPO, run_cli

# The examples these tests reason about (the repository may hold more).
EXAMPLES = ("_defaults.yaml", "news-web.yaml", "photo-thumbs.yaml", "video-api.yaml")
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True,
                          env={**os.environ, **GIT_ENV})
    return proc.stdout


def build(root: Path) -> None:
    result = run_cli("build", root=root)
    assert result.status == 0, result.err


def commit_all(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def base_repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("base") / "repo"
    root.mkdir()
    (root / "services").mkdir()
    for name in EXAMPLES:
        shutil.copy(REPO / "services" / name, root / "services" / name)
    git(root, "init", "-q", "-b", "main")
    build(root)
    commit_all(root, "base")
    return root


@pytest.fixture
def repo(base_repo, tmp_path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(base_repo, root, symlinks=True)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def all_pairs(root: Path) -> set[tuple[str, str]]:
    return {(p.parent.name, p.name) for p in (root / "generated").glob("*/*") if not p.parent.name.startswith("_")}


def differing_dirs(a: Path, b: Path) -> set[tuple[str, str]]:
    """(service, env) whose generated directories differ between two built trees."""
    out = set()
    for svc, env in all_pairs(a) | all_pairs(b):
        da, db = a / "generated" / svc / env, b / "generated" / svc / env
        if not (da.is_dir() and db.is_dir()):
            out.add((svc, env))
            continue
        files = sorted({p.name for p in da.iterdir()} | {p.name for p in db.iterdir()})
        _, mismatch, errors = filecmp.cmpfiles(da, db, files, shallow=False)
        if mismatch or errors:
            out.add((svc, env))
    return out


def test_nothing_changed_means_nothing_affected(repo):
    result = affected(repo, "HEAD")
    assert result == Affected((), (), {}, git(repo, "rev-parse", "HEAD").strip())


def test_edited_spec_affects_exactly_its_environments(repo):
    edit(repo / "services/news-web.yaml", "keep_images: 30", "keep_images: 40")
    build(repo)
    commit_all(repo, "news-web keeps more images")
    result = affected(repo, "HEAD~1")
    assert set(result.pairs) == {("news-web", "stg"), ("news-web", "prod")}
    assert result.orphans == ()
    assert result.reasons[("news-web", "prod")] == "services/news-web.yaml changed"


def test_uncommitted_edit_counts_and_base_is_the_merge_base(repo):
    base = git(repo, "rev-parse", "HEAD").strip()
    # A side branch moves on; --since names it, yet the comparison is with the merge base.
    git(repo, "checkout", "-q", "-b", "side")
    edit(repo / "services/video-api.yaml", "timeout_minutes: 45", "timeout_minutes: 50")
    build(repo)
    commit_all(repo, "side change")
    git(repo, "checkout", "-q", "main")
    edit(repo / "services/photo-thumbs.yaml", "cluster: media", "cluster: media-2")
    result = affected(repo, "side")
    assert result.base == base
    assert set(result.pairs) == {("photo-thumbs", "stg"), ("photo-thumbs", "prod")}


def test_defaults_change_affects_exactly_the_services_whose_output_differs(repo, tmp_path):
    before = tmp_path / "before"
    shutil.copytree(repo, before)
    # prod approval off by default: video-api turns it on itself, so only the others change.
    edit(repo / "services/_defaults.yaml", "    deploy:\n      approval: true\n",
         "    deploy:\n      approval: false\n")
    build(repo)
    commit_all(repo, "no default approval in prod")
    result = affected(repo, "HEAD~1")
    expected = differing_dirs(before, repo)
    assert expected == {("news-web", "prod"), ("photo-thumbs", "prod")}
    assert set(result.pairs) == expected
    assert "generated output differs (services/_defaults.yaml changed)" == result.reasons[("news-web", "prod")]


def test_defaults_change_not_yet_built_is_still_detected(repo):
    """The head side is compiled, not read from generated/: forgetting `shipspec build` hides nothing."""
    edit(repo / "services/_defaults.yaml", "owner: platform-team", "owner: platform")
    result = affected(repo, "HEAD")
    assert set(result.pairs) == all_pairs(repo)


def test_comment_only_change_affects_nothing(repo):
    path = repo / "services/_defaults.yaml"
    path.write_text(path.read_text() + "# a comment changes no generated file\n")
    build(repo)
    commit_all(repo, "comment")
    result = affected(repo, "HEAD~1")
    assert result.pairs == () and result.orphans == ()


def test_directly_edited_generated_file_affects_that_pair(repo):
    target = repo / "generated/video-api/stg/buildspec.yml"
    target.write_text(target.read_text() + "# hand edit\n")
    result = affected(repo, "HEAD")
    assert result.pairs == (("video-api", "stg"),)
    assert "generated/video-api/stg/buildspec.yml" in result.reasons[("video-api", "stg")]


def test_deleted_spec_is_reported_as_orphans_never_as_pairs(repo):
    (repo / "services/photo-thumbs.yaml").unlink()
    build(repo)
    commit_all(repo, "retire photo-thumbs")
    result = affected(repo, "HEAD~1")
    assert set(result.orphans) == {("photo-thumbs", "stg"), ("photo-thumbs", "prod")}
    assert not any(s == "photo-thumbs" for s, _ in result.pairs)
    assert result.reasons[("photo-thumbs", "prod")] == "services/photo-thumbs.yaml deleted"
    out = run_cli("affected", "--since", "HEAD~1", root=repo)
    assert out.status == 0
    assert "photo-thumbs prod" in out.out and "orphan" in out.out and "left in place" in out.out


def test_deleted_spec_without_committed_generated_tree_reads_the_base_specs(tmp_path):
    root = tmp_path / "repo"
    (root / "services").mkdir(parents=True)
    for name in EXAMPLES:
        shutil.copy(REPO / "services" / name, root / "services" / name)
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "specs only")
    (root / "services/news-web.yaml").unlink()
    result = affected(root, "HEAD")
    # news-web's environments come from the base spec and the base _defaults.yaml.
    assert set(result.orphans) == {("news-web", "stg"), ("news-web", "prod")}


def test_removed_environment_is_an_orphan(repo):
    spec = repo / "services/photo-thumbs.yaml"
    spec.write_text(spec.read_text() + "environments:\n  qa:\n    account: \"111111111111\"\n"
                    "    region: ap-northeast-1\n    build: {manage_repository: false}\n"
                    "    service: {name: photo-thumbs-qa}\n")
    build(repo)
    commit_all(repo, "photo-thumbs qa")
    spec.write_text(spec.read_text().split("environments:")[0])
    build(repo)
    commit_all(repo, "drop qa")
    result = affected(repo, "HEAD~1")
    assert result.orphans == (("photo-thumbs", "qa"),)
    assert "environment 'qa' removed" in result.reasons[("photo-thumbs", "qa")]
    assert set(result.pairs) == {("photo-thumbs", "stg"), ("photo-thumbs", "prod")}


def test_shards_are_disjoint_complete_and_stable(repo):
    edit(repo / "services/_defaults.yaml", "owner: platform-team", "owner: platform")
    result = affected(repo, "HEAD")
    assert len(result.pairs) == 6
    for total in (1, 2, 3, 4, 7):
        parts = [shard(result.pairs, i, total) for i in range(1, total + 1)]
        flat = [p for part in parts for p in part]
        assert sorted(flat) == sorted(result.pairs) and len(flat) == len(set(flat))
        services = [{s for s, _ in part} for part in parts]
        assert max(map(len, services)) - min(map(len, services)) <= 1
        assert sum(map(len, services)) == 3  # a service's environments stay in one shard
        assert parts == [shard(list(reversed(result.pairs)), i, total) for i in range(1, total + 1)]
    docs = [json.loads(run_cli("affected", "--since", "HEAD", "--format", "json", "--shard", f"{i}/2",
                               root=repo).out) for i in (1, 2)]
    got = [(p["service"], p["environment"]) for d in docs for p in d["pairs"]]
    assert sorted(got) == sorted(result.pairs) and len(got) == len(set(got))
    assert docs[0]["shard"] == "1/2"


@pytest.mark.parametrize("text", ["0/2", "3/2", "1", "a/b", "1/0"])
def test_bad_shard_is_a_usage_error(repo, text):
    with pytest.raises(ValueError):
        parse_shard(text)
    out = run_cli("affected", "--since", "HEAD", "--shard", text, root=repo)
    assert out.status == 2 and "--shard" in out.err


def test_unknown_ref_is_a_clear_error(repo):
    out = run_cli("affected", "--since", "no-such-branch", root=repo)
    assert out.status == 1
    assert "no-such-branch" in out.err and "fetch-depth: 0" in out.err and "Traceback" not in out.err


def test_json_output_lists_pairs_with_reasons(repo):
    edit(repo / "services/video-api.yaml", "timeout_minutes: 45", "timeout_minutes: 50")
    out = run_cli("affected", "--since", "HEAD", "--format", "json", root=repo)
    doc = json.loads(out.out)
    assert doc["since"] == "HEAD" and doc["base"] == git(repo, "rev-parse", "HEAD").strip()
    assert doc["pairs"] == [
        {"service": "video-api", "environment": "prod", "reason": "services/video-api.yaml changed"},
        {"service": "video-api", "environment": "stg", "reason": "services/video-api.yaml changed"},
    ]
    assert doc["orphans"] == []


def test_blob_id_matches_git(tmp_path):
    data = b"some bytes\n\x00with a nul"
    (tmp_path / "f").write_bytes(data)
    assert blob_id(data) == subprocess.run(["git", "hash-object", str(tmp_path / "f")], capture_output=True,
                                           text=True, check=True).stdout.strip()


def test_a_rebuilt_spec_change_does_not_build_the_whole_fleet(repo):
    """index.json changes with every rebuilt spec; when only the changed service's entries differ,
    the selection is the spec's pairs without compiling every service (fast on a CI runner)."""
    from unittest import mock

    from compiler.build import compile as build_module

    edit(repo / "services/news-web.yaml", "keep_images: 30", "keep_images: 40")
    build(repo)
    commit_all(repo, "news-web keeps more images")
    assert "generated/index.json" in git(repo, "diff", "--name-only", "HEAD~1", "HEAD")
    with mock.patch.object(build_module, "compile_project", side_effect=AssertionError("compiled the fleet")):
        result = affected(repo, "HEAD~1")
    assert set(result.pairs) == {("news-web", "stg"), ("news-web", "prod")} and result.shared == ()


def test_an_index_entry_of_an_untouched_service_still_compares_the_build(repo):
    edit(repo / "services/news-web.yaml", "keep_images: 30", "keep_images: 40")
    build(repo)
    index = repo / "generated/index.json"
    doc = json.loads(index.read_text())
    doc["services"]["video-api"]["prod"]["account"] = "999999999999"  # a hand edit elsewhere
    index.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    commit_all(repo, "news-web, and a hand-edited index")
    result = affected(repo, "HEAD~1")
    # Not explained by news-web's change: the whole build is compared (the shared change stands).
    # What a build writes for video-api equals the base, so the pairs are news-web's still.
    assert result.shared == ("generated/index.json",)
    assert set(result.pairs) == {("news-web", "stg"), ("news-web", "prod")}
