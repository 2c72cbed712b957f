"""Branch names: shipspec refuses exactly what `git check-ref-format --branch` refuses."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from compiler.spec.refnames import ref_name_problem

NAMES = [
    "main", "develop", "release/1.2", "feature/JIRA-12_x", "ünïcode", "a.b", "v1.2.3", "a-b", "x@y", "re@lease",
    "feature x..lock", "release/*", "rel?ase", "rel[1]", "a..b", "x.lock", "a/x.lock/b", ".hidden", "a/.b", "a/",
    "/a", "a//b", "a.", "a@{1}", "a\\b", "a~1", "a^", "a:b", "tab\there", "del\x7f", "-rc1", "HEAD", "",
]


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
@pytest.mark.parametrize("name", NAMES)
def test_agrees_with_git(name, tmp_path):
    git = subprocess.run(["git", "check-ref-format", "--branch", name], cwd=tmp_path, capture_output=True)
    assert (ref_name_problem(name) is None) == (git.returncode == 0), (name, ref_name_problem(name))


def test_problem_says_what_is_wrong():
    assert "cannot contain a space" in ref_name_problem("feature x..lock")
    assert "'*'" in ref_name_problem("release/*") and "glob" in ref_name_problem("release/*")
    assert "'.lock'" in ref_name_problem("x.lock")
    assert "'..'" in ref_name_problem("a..b")
    assert ref_name_problem("release/2024.1") is None
