"""The runtime record's repo-mode file list names every file the service repository must hold:
each generated file a `buildspec: repo` pipeline reads from `codepipeline/` (the Build, UpdateService
and Deploy steps' buildspecs and scripts), so the plan's action items never miss one."""

from __future__ import annotations

from compiler.build.render.runtime import runtime_manifest
from compiler.spec.project import load_project
from support.cli import REPO

TEMPLATES = {"codepipeline.yml", "codepipeline-status-notification.yml", "ecs-agent.config"}


def test_repo_mode_lists_every_file_the_repository_must_hold():
    repo_mode = [s.config for s in load_project(REPO).services if s.config.build.buildspec == "repo"]
    assert repo_mode, "an example uses build.buildspec: repo"
    for c in repo_mode:
        listed = {f["path"] for f in runtime_manifest(c)["files"]}
        generated = {p.name for p in (REPO / "generated" / c.name / c.environment.name).iterdir() if p.is_file()}
        assert listed == {f"codepipeline/{name}" for name in generated - TEMPLATES}, c.environment.name
