"""`shipspec check --format text|json|github`: the stale, missing and orphaned files as lines, as
a JSON list, or as GitHub annotations on the files (for the pull request)."""

from __future__ import annotations

import json

from support.cli import run_cli


def _make_stale(repo) -> None:
    assert run_cli("build", root=repo).status == 0
    (repo / "generated/news-web/prod/buildspec.yml").write_text("edited by hand\n")
    (repo / "generated/video-api/stg/updatespec.yml").unlink()
    (repo / "generated/ghost").mkdir()
    (repo / "generated/ghost/codepipeline.yml").write_text("x\n")
    (repo / "schema/service.schema.json").write_text("{}\n")


def test_check_github_format_annotates_each_file(example_repo):
    _make_stale(example_repo)
    result = run_cli("check", "--format", "github", root=example_repo)
    assert result.status == 1
    annotations = [line for line in result.err.splitlines() if line.startswith("::error ")]
    files = {a.split("file=", 1)[1].split(",", 1)[0] for a in annotations}
    assert files == {"generated/news-web/prod/buildspec.yml", "generated/video-api/stg/updatespec.yml",
                     "generated/ghost/codepipeline.yml", "schema/service.schema.json"}
    stale = next(a for a in annotations if "news-web/prod/buildspec.yml" in a)
    assert stale.startswith("::error file=generated/news-web/prod/buildspec.yml,line=1,col=1::stale: ")
    assert "run `shipspec build`" in stale
    assert "run `shipspec schema`" in next(a for a in annotations if "schema/service.schema.json" in a)
    assert "orphaned: " in next(a for a in annotations if "ghost" in a)
    assert result.out == ""


def test_check_json_format_lists_each_file(example_repo):
    _make_stale(example_repo)
    result = run_cli("check", "--format", "json", root=example_repo)
    assert result.status == 1
    problems = json.loads(result.out)
    by_file = {p["file"]: p for p in problems}
    assert by_file["generated/video-api/stg/updatespec.yml"]["message"].startswith("missing: ")
    assert by_file["generated/news-web/prod/buildspec.yml"]["message"].startswith("stale: ")
    assert by_file["generated/ghost/codepipeline.yml"]["message"].startswith("orphaned: ")
    assert {"file", "line", "col", "path", "message", "severity"} <= set(problems[0])


def test_check_text_format_is_unchanged_and_current_tree_is_quiet(example_repo):
    assert run_cli("build", root=example_repo).status == 0
    current = run_cli("check", "--format", "json", root=example_repo)
    assert current.status == 0 and json.loads(current.out) == []
    _make_stale(example_repo)
    text = run_cli("check", root=example_repo)
    assert text.status == 1 and "stale    generated/news-web/prod/buildspec.yml" in text.out
    assert "::error" not in text.out + text.err
