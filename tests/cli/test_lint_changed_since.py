"""`shipspec lint --changed-since REF` in real git repositories: exactly the pairs `affected` selects
for a spec change, every template when the compiler, the lint rules or `_defaults.yaml` changed
(saying which), and the same findings with a cold cache, a warm one and none."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from unittest import mock

import pytest

from compiler.deploy.affected import affected, full_lint_causes, lint_selection
from support.cli import REPO, run_cli

pytestmark = pytest.mark.slow  # git repositories, builds and cfn-lint

EXAMPLES = ("_defaults.yaml", "news-web.yaml", "photo-thumbs.yaml", "video-api.yaml")
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
RULES_FILE = "compiler/lint/house_rules.py"  # stands for the lint rules in the scratch repository
RENDER_FILE = "compiler/build/render/house_style.py"  # stands for the rest of the compiler


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True,
                          env={**os.environ, **GIT_ENV}).stdout


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="module")
def base_repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lint-base") / "repo"
    (root / "services").mkdir(parents=True)
    for name in EXAMPLES:
        shutil.copy(REPO / "services" / name, root / "services" / name)
    for path in (RULES_FILE, RENDER_FILE):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("VERSION = 1\n")
    git(root, "init", "-q", "-b", "main")
    assert run_cli("build", root=root).status == 0
    commit_all(root, "base")
    return root


@pytest.fixture
def repo(base_repo, tmp_path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(base_repo, root, symlinks=True)
    shutil.rmtree(root / ".shipspec", ignore_errors=True)  # a fresh runner: no cache
    return root


def all_pairs(root: Path) -> set[tuple[str, str]]:
    return {(p.parent.name, p.name) for p in (root / "generated").glob("*/*") if not p.parent.name.startswith("_")}


def lint(root: Path, *args: str):
    return run_cli("lint", "-j", "1", "--changed-since", "HEAD~1", *args, root=root)


def counts(err: str) -> tuple[int, int]:
    """(templates, buildspecs) from lint's summary line."""
    import re

    m = re.search(r"lint: (?:\d+ findings? in )?(\d+) templates? and (\d+) buildspecs?", err)
    assert m, err
    return int(m.group(1)), int(m.group(2))


def test_a_spec_change_lints_exactly_the_pairs_affected_selects(repo):
    edit(repo / "services/news-web.yaml", "keep_images: 30", "keep_images: 40")
    assert run_cli("build", root=repo).status == 0
    commit_all(repo, "news-web keeps more images")

    sel = lint_selection(affected(repo, "HEAD~1"))
    assert not sel.everything and sel.causes == ()
    assert set(sel.pairs) == set(affected(repo, "HEAD~1").pairs) == {("news-web", "stg"), ("news-web", "prod")}

    r = lint(repo)
    assert r.status == 0, r.out + r.err
    assert "2 affected pairs since HEAD~1" in r.err
    # two stacks (pipeline, notification) and three buildspecs (build, update, deploy) per pair:
    # news-web's, nothing else
    assert counts(r.err) == (4, 6)
    everything = run_cli("lint", "-j", "1", root=repo)
    assert counts(everything.err)[0] > 4


def test_nothing_changed_lints_nothing(repo):
    git(repo, "commit", "-q", "--allow-empty", "-m", "empty")
    r = lint(repo)
    assert r.status == 0 and "nothing to lint" in r.err and "templates" not in r.err


def test_a_defaults_change_lints_everything_and_says_why(repo):
    edit(repo / "services/_defaults.yaml", "owner: platform-team", "owner: platform")
    assert run_cli("build", root=repo).status == 0
    commit_all(repo, "new owner tag")
    r = lint(repo)
    assert r.status == 0, r.out + r.err
    assert "every template" in r.err and "_defaults.yaml changed (services/_defaults.yaml)" in r.err
    full = run_cli("lint", "-j", "1", root=repo)
    assert counts(r.err) == counts(full.err)


def test_a_compiler_change_lints_everything_even_when_no_output_differs(repo):
    (repo / RENDER_FILE).write_text("VERSION = 2\n")
    commit_all(repo, "compiler change that renders the same bytes")
    assert affected(repo, "HEAD~1").pairs == ()  # no generated file differs ...
    sel = lint_selection(affected(repo, "HEAD~1"))
    assert sel.causes == (f"the compiler changed ({RENDER_FILE})",)  # ... yet every finding may
    r = lint(repo)
    assert r.status == 0, r.out + r.err
    assert "every template, since HEAD~1" in r.err and f"the compiler changed ({RENDER_FILE})" in r.err
    assert counts(r.err) == counts(run_cli("lint", "-j", "1", root=repo).err)


def test_a_lint_rule_change_is_named_as_such(repo):
    (repo / RULES_FILE).write_text("VERSION = 2\n")
    commit_all(repo, "stricter rules")
    r = lint(repo)
    assert "the lint rules changed (compiler/lint/house_rules.py)" in r.err
    assert "the compiler changed" not in r.err


def test_full_run_causes_are_classified_once_each():
    assert full_lint_causes(["services/news-web.yaml", "generated/news-web/stg/codepipeline.yml"]) == ()
    assert full_lint_causes(["schema/service.schema.json", "compiler/lint/a.py", "compiler/lint/b.py",
                             "compiler/spec/models.py", "services/_defaults.yaml", "constraints.txt"]) == (
        "the lint rules changed (compiler/lint/a.py, compiler/lint/b.py)",
        "the compiler changed (compiler/spec/models.py)",
        "the schema changed (schema/service.schema.json)",
        "_defaults.yaml changed (services/_defaults.yaml)",
        "constraints.txt (cfn-lint's version) changed (constraints.txt)",
    )
    many = full_lint_causes([f"compiler/x{i}.py" for i in range(5)])
    assert many == ("the compiler changed (compiler/x0.py, compiler/x1.py, compiler/x2.py and 2 more)",)


BAD = ("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
       "    Properties:\n      Colour: blue\n")


def with_bad_templates(real):
    """compile_project plus one broken template in news-web/stg and one in video-api/prod (fault
    injection: findings to compare)."""
    from compiler.build.ir import Artifact, BuildOutput, Stack

    def compile_project(project):
        out = real(project)
        loaded = {s.key for s in project.services}
        extra = [(svc, env) for svc, env in (("news-web", "stg"), ("video-api", "prod")) if (svc, env) in loaded]
        arts = tuple(Artifact(f"generated/{s}/{e}/extra.yml", BAD.encode()) for s, e in extra)
        stacks = tuple(Stack(f"{s}-{e}-extra", "pipeline", "111111111111", "ap-northeast-1",
                             f"generated/{s}/{e}/extra.yml", s, e) for s, e in extra)
        return BuildOutput(out.artifacts + arts, out.stacks + stacks)

    return compile_project


def test_cached_and_uncached_lint_give_identical_findings(repo):
    from compiler.build import compile as build
    from compiler.build import delta

    # Every build of this history has the broken templates, as if the compiler wrote them (the
    # one-spec shortcut, which renders only the changed spec, is off: it would not add them).
    with mock.patch.object(build, "compile_project", with_bad_templates(build.compile_project)), \
            mock.patch.object(delta, "try_delta", lambda root, inputs: None):
        assert run_cli("build", root=repo).status == 0
        commit_all(repo, "a compiler that writes broken templates")
        edit(repo / "services/news-web.yaml", "keep_images: 30", "keep_images: 40")
        assert run_cli("build", root=repo).status == 0
        commit_all(repo, "news-web keeps more images")
        shutil.rmtree(repo / ".shipspec", ignore_errors=True)
        cold = lint(repo, "--format", "json")
        warm = lint(repo, "--format", "json")
        plain = lint(repo, "--format", "json", "--no-cache")
    assert (repo / ".shipspec" / "cache" / "lint").is_dir()
    assert cold.status == warm.status == plain.status == 1
    assert "2 affected pairs" in cold.err
    findings = json.loads(cold.out)
    assert findings and cold.out == warm.out == plain.out and cold.err == warm.err == plain.err
    files = {f["file"] for f in findings}
    # the broken template in the affected pair is linted; the one in video-api (not affected) is not
    assert files == {"generated/news-web/stg/extra.yml"}, files


def test_the_plan_workflows_lint_command_lints_the_pull_requests_pairs(repo, monkeypatch):
    from support.workflows import all_shipspec_commands

    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    base = git(repo, "rev-parse", "HEAD").strip()
    edit(repo / "services/photo-thumbs.yaml", "cluster: media", "cluster: media-2")
    assert run_cli("build", root=repo).status == 0
    commit_all(repo, "photo-thumbs moves cluster")
    [argv] = [a for where, a in all_shipspec_commands() if where == "pull-request.yml:check" and a[0] == "lint"]
    r = run_cli(*[base if a == "$BASE_SHA" else a for a in argv], root=repo)
    assert r.status == 0, r.out + r.err
    assert "2 affected pairs" in r.err and counts(r.err) == (4, 6)
