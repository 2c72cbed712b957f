"""`shipspec diff` in real temporary git repositories: offline, no AWS at all."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.cli import REPO, run_cli



def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-c", "user.name=shipspec-test", "-c", "user.email=test@example.com",
                           "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
                          cwd=cwd, check=True, capture_output=True, text=True)
    return proc.stdout


def edit(root: Path, spec: str, old: str, new: str) -> None:
    path = root / "services" / spec
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def build_and_commit(root: Path, message: str) -> None:
    result = run_cli("build", root=root)
    assert result.status == 0, result.err
    git(root, "add", "services", "generated")
    git(root, "commit", "-q", "-m", message)


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> Path:
    """Two commits: the example specs built, then news-web's compute type changed and rebuilt."""
    root = tmp_path_factory.mktemp("history") / "repo"
    shutil.copytree(REPO / "services", root / "services")
    git(root, "init", "-q")
    build_and_commit(root, "base")
    edit(root, "news-web.yaml", "compute_type: BUILD_GENERAL1_MEDIUM", "compute_type: BUILD_GENERAL1_LARGE")
    build_and_commit(root, "bigger builds")
    return root


@pytest.fixture
def repo(history, tmp_path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(history, copy, symlinks=True)
    return copy


def test_renamed_repository_is_reported_as_a_replacement(repo):
    edit(repo, "news-web.yaml", "ecr_repository: media/news-web", "ecr_repository: media/news-web-v2")
    result = run_cli("diff", root=repo)
    assert result.status == 0, result.err
    out = result.out
    for stack in ("news-web-prod-pipeline", "news-web-stg-pipeline"):
        block = out.split(stack, 1)[1].split("\n\n", 1)[0]
        repo_line = next(line for line in block.splitlines() if "(AWS::ECR::Repository)" in line)
        assert "DANGER" in repo_line and "replacement: True" in repo_line
        assert 'RepositoryName: "media/news-web" -> "media/news-web-v2"' in block
        assert "requires recreation: Always" in block
    assert "photo-thumbs" not in out and "video-api" not in out  # unchanged stacks are not listed
    assert "2 stacks differ from HEAD" in out and "2 danger" in out


def test_json_output(repo):
    edit(repo, "news-web.yaml", "ecr_repository: media/news-web", "ecr_repository: media/news-web-v2")
    result = run_cli("diff", "--format", "json", root=repo)
    assert result.status == 0, result.err
    doc = json.loads(result.out)
    assert doc["base"] == "HEAD" and doc["commit"] == git(repo, "rev-parse", "HEAD").strip()
    stacks = {s["stack"]: s for s in doc["stacks"]}
    stg = stacks["news-web-stg-pipeline"]
    assert stg["status"] == "changed" and stg["template"] == "generated/news-web/stg/codepipeline.yml"
    first = stg["changes"][0]
    assert (first["resource_type"], first["action"], first["replacement"], first["risk"]) == \
        ("AWS::ECR::Repository", "Modify", "True", "danger")
    assert {"path": "RepositoryName", "op": "modify", "before": "media/news-web", "after": "media/news-web-v2",
            "position": "", "requires_recreation": "Always", "cause": ""} in first["properties"]
    assert {"field": "image", "key": "", "op": "modify",
            "before": "111111111111.dkr.ecr.ap-northeast-1.amazonaws.com/media/news-web:<first 7 characters of the commit>",
            "after": "111111111111.dkr.ecr.ap-northeast-1.amazonaws.com/media/news-web-v2:<first 7 characters of the "
                     "commit>"} in stg["runtime"]["changes"]
    assert stacks["photo-thumbs-prod-pipeline"]["status"] == "unchanged"
    assert doc["summary"]["risk"]["danger"] == 2


def test_base_at_an_older_commit(repo):
    at_head = run_cli("diff", root=repo)
    assert at_head.status == 0 and "0 stacks differ" in at_head.out and "ComputeType" not in at_head.out
    older = run_cli("diff", "--base", "HEAD~1", root=repo)
    assert older.status == 0, older.err
    assert 'Environment.ComputeType: "BUILD_GENERAL1_MEDIUM" -> "BUILD_GENERAL1_LARGE"' in older.out
    assert "in place (replacement: False)" in older.out
    assert "(AWS::ECR::Repository)" not in older.out
    commit = git(repo, "rev-parse", "HEAD~1").strip()
    by_sha = run_cli("diff", "news-web", "--env", "prod", "--base", commit, "--format", "json", root=repo)
    doc = json.loads(by_sha.out)
    assert doc["commit"] == commit
    assert {s["stack"]: s["status"] for s in doc["stacks"]} == {
        "news-web-prod-notification": "unchanged", "news-web-prod-pipeline": "changed"}


def test_names_and_env_select_stacks(repo):
    edit(repo, "news-web.yaml", "ecr_repository: media/news-web", "ecr_repository: media/news-web-v2")
    result = run_cli("diff", "news-web", "--env", "stg", "--format", "json", root=repo)
    stacks = [s["stack"] for s in json.loads(result.out)["stacks"]]
    assert sorted(stacks) == ["news-web-stg-notification", "news-web-stg-pipeline"]
    fleet = [s["stack"] for s in json.loads(run_cli("diff", "--env", "prod", "--format", "json", root=repo).out)["stacks"]]
    assert "shipspec-bootstrap" in fleet and not any("-stg-" in s for s in fleet)
    bad = run_cli("diff", "--env", "qa", root=repo)
    assert bad.status == 1 and "--env qa" in bad.err


def test_removed_and_new_services(repo):
    (repo / "services" / "photo-thumbs.yaml").rename(repo / "services" / "photo-frames.yaml")
    edit(repo, "photo-frames.yaml", "name: photo-thumbs", "name: photo-frames")
    edit(repo, "photo-frames.yaml", "media/photo-thumbs", "media/photo-frames")
    result = run_cli("diff", "--format", "json", root=repo)
    assert result.status == 0, result.err
    stacks = {s["stack"]: s for s in json.loads(result.out)["stacks"]}
    gone = stacks["photo-thumbs-prod-pipeline"]
    assert gone["status"] == "removed" and gone["changes"]
    assert {c["action"] for c in gone["changes"]} == {"Remove"}
    repo_change = next(c for c in gone["changes"] if c["resource_type"] == "AWS::ECR::Repository")
    assert (repo_change["policy_action"], repo_change["risk"]) == ("Retain", "caution")
    new = stacks["photo-frames-prod-pipeline"]
    assert new["status"] == "new" and {c["action"] for c in new["changes"]} == {"Add"}
    text = run_cli("diff", root=repo).out
    assert "photo-thumbs-stg-pipeline [stack removed]" in text and "photo-frames-stg-pipeline [new stack]" in text
    assert "the resource is kept (DeletionPolicy: Retain)" in text


def test_secret_references_are_masked(repo):
    edit(repo, "video-api.yaml", "id: cicd/github-token", "id: cicd/github-token-rotated")
    result = run_cli("diff", "video-api", root=repo)
    assert result.status == 0, result.err
    assert "video-api-prod-pipeline" in result.out and "****" in result.out
    assert "rotated" not in result.out and "resolve:secretsmanager" not in result.out


def test_errors_outside_git_and_for_unknown_refs(repo, tmp_path, monkeypatch):
    bad_ref = run_cli("diff", "--base", "no-such-branch", root=repo)
    assert bad_ref.status == 1 and "unknown git revision 'no-such-branch'" in bad_ref.err
    assert "Traceback" not in bad_ref.err
    plain = tmp_path / "plain"
    shutil.copytree(REPO / "services", plain / "services")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    result = run_cli("diff", root=plain)
    assert result.status == 1 and "not inside a git repository" in result.err
    empty = tmp_path / "empty"
    shutil.copytree(REPO / "services", empty / "services")
    git(empty, "init", "-q")
    result = run_cli("diff", root=empty)
    assert result.status == 1 and "no commits yet" in result.err


def test_project_in_a_subdirectory_of_the_repository(tmp_path):
    outer = tmp_path / "outer"
    root = outer / "infra" / "pipelines"
    shutil.copytree(REPO / "services", root / "services")
    for name in ("news-web.yaml", "video-api.yaml"):
        (root / "services" / name).unlink()
    git(outer, "init", "-q")
    build_and_commit(root, "base")
    edit(root, "photo-thumbs.yaml", "ecr_repository: media/photo-thumbs", "ecr_repository: media/thumbs")
    result = run_cli("diff", "--format", "json", root=root)
    stacks = {s["stack"]: s for s in json.loads(result.out)["stacks"]}
    assert stacks["photo-thumbs-prod-pipeline"]["status"] == "changed"
    assert stacks["photo-thumbs-prod-notification"]["status"] == "unchanged"


def test_runs_with_no_network_and_no_aws_configuration(repo):
    edit(repo, "news-web.yaml", "ecr_repository: media/news-web", "ecr_repository: media/news-web-v2")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"})
    # Fault injection: any attempt to open a network connection fails loudly.
    code = ("import socket, sys\n"
            "def refuse(*a, **k):\n    raise OSError('network access attempted')\n"
            "socket.socket.connect = refuse\nsocket.create_connection = refuse\n"
            "from compiler.cli.main import main\nsys.exit(main(['--root', sys.argv[1], 'diff']))\n")
    proc = subprocess.run([sys.executable, "-c", code, str(repo)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "(AWS::ECR::Repository)" in proc.stdout and "replacement: True" in proc.stdout


def test_long_values_show_where_they_differ(repo):
    edit(repo, "news-web.yaml", "keep_images: 30", "keep_images: 45")
    out = run_cli("diff", "news-web", "--env", "prod", root=repo).out
    line = next(line for line in out.splitlines() if "LifecyclePolicyText" in line)
    before, after = line.split(" -> ")
    assert "30" in before and "45" in after and "45" not in before


def test_format_pair_windows_long_strings():
    from compiler.cli.report_diff import MAX_VALUE, format_pair

    a, b = "x" * 400 + "tail-a", "x" * 400 + "tail-b"
    shown = format_pair(a, b)
    assert all(len(s) <= MAX_VALUE for s in shown)
    assert "tail-a" in shown[0] and "tail-b" in shown[1]
    assert format_pair("short", None) == ('"short"', "(none)")


def test_an_unreadable_template_at_the_base_is_a_clear_error(repo):
    path = repo / "generated" / "news-web" / "prod" / "codepipeline.yml"
    path.write_text("Resources: [unclosed\n")
    git(repo, "add", "generated/news-web/prod/codepipeline.yml")
    git(repo, "commit", "-q", "-m", "break a template")
    result = run_cli("diff", root=repo)
    assert result.status == 1
    assert "generated/news-web/prod/codepipeline.yml at HEAD: not valid YAML" in result.err
    assert "Traceback" not in result.err


def test_runtime_changes_are_rows_of_their_own(repo):
    """A container variable (inline buildspec) and a repo-mode script change: diff names them the
    way the spec does, and says which files to copy where."""
    edit(repo, "news-web.yaml", "    LOG_LEVEL: info", "    LOG_LEVEL: info\n    FEATURE_FLAG: \"on\"")
    edit(repo, "video-api.yaml", "cluster: media-ec2", "cluster: media-ec3")
    out = run_cli("diff", root=repo).out
    assert "runtime news-web (stg): container web of ECS service media/news-web, build.buildspec: inline: 1 change" in out
    assert '+ environment variable FEATURE_FLAG = "on"' in out
    assert '~ cluster: "media-ec2" -> "media-ec3"' in out
    assert ("action item: video-api (prod): copy generated/video-api/prod/update_taskdefinition.sh to "
            "codepipeline/update_taskdefinition.sh in repository example-corp/video-api, branch master") in out
    assert "action item" in out.splitlines()[-1]  # the summary counts them


def test_a_rollout_change_is_a_runtime_row(repo):
    """How the rollout runs reaches the running service too: the strategy's settings are rows."""
    spec = repo / "services" / "news-web.yaml"
    spec.write_text(spec.read_text() + "deploy:\n  rolling:\n    min_healthy_percent: 50\n")
    out = run_cli("diff", root=repo).out
    assert "~ rollout setting minimumHealthyPercent: 100 -> 50" in out, out
