"""How `shipspec local run` runs a buildspec (compiler/local/buildspec_run.py) and resolves pipeline
variables (compiler/local/pipeline_actions.py): CodeBuild's phase transitions, one shell for the build,
exported variables, artifacts; CodePipeline's `#{Namespace.Variable}` references. Bash only: no emulator."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from compiler.core.errors import ShipspecError
from compiler.local import buildspec_run
from compiler.local.codebuild_action import action_variables
from compiler.local.pipeline_actions import ActionFailed, Namespaces, start_namespaces


def run(text: str, tmp_path: Path) -> tuple[buildspec_run.BuildResult, list[str]]:
    src = tmp_path / "src"
    src.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    spec = buildspec_run.parse(text, "test")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **spec.variables}
    return buildspec_run.run(spec, src, env, tmp_path / "control", lines.append, 1), lines


def test_one_shell_runs_the_phases_in_order(tmp_path):
    result, lines = run("""version: 0.2
env:
  variables: {GREETING: hello}
  exported-variables: [IMAGE_URI, NEVER_SET, EMPTY]
phases:
  install:
    commands: [mkdir -p sub, cd sub]
  pre_build:
    commands: ['IMAGE_URI="repo:$GREETING"', EMPTY=]
  build:
    commands:
      - |
        if [ "$(basename "$PWD")" = sub ]; then
          echo "still in sub with $IMAGE_URI"
        fi
""", tmp_path)
    assert result.succeeded and result.exported == {"IMAGE_URI": "repo:hello", "EMPTY": ""}
    assert "still in sub with repo:hello" in lines
    assert [line for line in lines if "Entering phase" in line] == [
        "[Container] Entering phase INSTALL", "[Container] Entering phase PRE_BUILD", "[Container] Entering phase BUILD"]


def test_a_failed_build_phase_still_runs_post_build_and_finally_and_exports_nothing(tmp_path):
    result, lines = run("""version: 0.2
env:
  exported-variables: [X]
phases:
  build:
    commands: [X=1, 'false', echo not reached]
    finally: [echo cleaning up]
  post_build:
    commands: ['echo "post_build sees succeeding=$CODEBUILD_BUILD_SUCCEEDING"']
""", tmp_path)
    assert not result.succeeded and result.failed_phase == "BUILD" and result.exported == {}
    assert result.reason == "COMMAND_EXECUTION_ERROR: Error while executing command: false. Reason: exit status 1"
    assert "not reached" not in lines and "cleaning up" in lines
    assert "post_build sees succeeding=0" in lines


def test_a_failed_pre_build_ends_the_build_unless_it_may_continue(tmp_path):
    aborted, lines = run("version: 0.2\nphases:\n  pre_build:\n    commands: ['false']\n"
                         "  build:\n    commands: [echo built]\n  post_build:\n    commands: [echo post]\n", tmp_path)
    assert aborted.failed_phase == "PRE_BUILD" and "built" not in lines and "post" not in lines
    continued, lines = run("version: 0.2\nphases:\n  pre_build:\n    on-failure: CONTINUE\n    commands: ['false']\n"
                           "  build:\n    commands: [echo built]\n", tmp_path / "again")
    assert not continued.succeeded and continued.failed_phase == "PRE_BUILD" and "built" in lines


def test_a_command_that_exits_the_shell_ends_the_build(tmp_path):
    result, lines = run("version: 0.2\nphases:\n  build:\n    commands: ['exit 3', echo after]\n"
                        "  post_build:\n    commands: [echo post]\n", tmp_path)
    assert not result.succeeded and result.failed_phase == "BUILD" and "exited with status 3" in result.reason
    assert "after" not in lines and "post" not in lines


def test_artifacts_are_collected_as_the_buildspec_says(tmp_path):
    src = tmp_path / "src"
    (src / "out" / "deep").mkdir(parents=True)
    for name in ("imagedefinitions.json", "out/a.txt", "out/deep/b.txt", "ignored.log"):
        (src / name).write_text(name)
    spec = buildspec_run.parse("""version: 0.2
phases: {build: {commands: [echo]}}
artifacts:
  files: [imagedefinitions.json]
  secondary-artifacts:
    reports: {base-directory: out, files: ['**/*'], discard-paths: yes}
""", "test")
    dirs = {name: tmp_path / "artifacts" / name for name in ("update", "reports", "build")}
    for d in dirs.values():
        d.mkdir(parents=True)
    notes = buildspec_run.collect(spec, src, ("update", "reports"), dirs.__getitem__)
    assert notes == ()
    assert sorted(p.name for p in dirs["update"].rglob("*")) == ["imagedefinitions.json"]
    assert sorted(p.name for p in dirs["reports"].rglob("*")) == ["a.txt", "b.txt"]
    missing = buildspec_run.parse("version: 0.2\nphases: {build: {commands: [echo]}}\nartifacts: {files: [nope.json]}\n",
                                  "test")
    with pytest.raises(ShipspecError, match="no matching artifact paths found"):
        buildspec_run.collect(missing, src, ("update",), dirs.__getitem__)
    none = buildspec_run.parse("version: 0.2\nphases: {build: {commands: [echo]}}\n", "test")
    assert buildspec_run.collect(none, src, ("build",), dirs.__getitem__) == (
        "the buildspec declares no artifacts: output artifact build is empty",)


@pytest.mark.parametrize("section", [
    "{files: [../outside.txt]}", "{files: ['../*.txt']}", "{files: [OUTSIDE]}",
    "{files: [OUTSIDE], discard-paths: yes}", "{base-directory: .., files: [outside.txt]}"])
def test_artifact_paths_outside_the_source_are_refused_and_nothing_is_written_outside(tmp_path, section):
    """A pattern going up (`../`), an absolute one or a base-directory above the source neither copies
    a file from outside the source nor writes outside the artifact's directory."""
    src, target = tmp_path / "src", tmp_path / "artifacts" / "update"
    src.mkdir()
    target.mkdir(parents=True)
    (tmp_path / "outside.txt").write_text("not the build's")
    spec = buildspec_run.parse("version: 0.2\nphases: {build: {commands: [echo]}}\nartifacts: "
                               + section.replace("OUTSIDE", str(tmp_path / "outside.txt")) + "\n", "test")
    with pytest.raises(ShipspecError, match="CLIENT_ERROR: artifact path .* is outside the source directory"):
        buildspec_run.collect(spec, src, ("update",), lambda name: target)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == ["outside.txt"]


def test_a_buildspec_of_another_version_or_not_yaml_is_refused():
    with pytest.raises(ShipspecError, match="models version 0.2"):
        buildspec_run.parse("version: 0.1\nphases: {}\n", "codepipeline/buildspec.yml")
    with pytest.raises(ShipspecError, match="codepipeline/buildspec.yml: the buildspec is not valid YAML"):
        buildspec_run.parse("version: [\n", "codepipeline/buildspec.yml")


def test_variables_resolve_or_fail_naming_what_is_missing():
    ns = start_namespaces("exec-1", {"variables": [{"name": "REGION", "defaultValue": "eu"}]})
    ns.publish("BuildVariables", "Build/Build", {"IMAGE_URI": "repo:abc"})
    assert ns.resolve("#{BuildVariables.IMAGE_URI} #{codepipeline.PipelineExecutionId} #{variables.REGION}") == \
        "repo:abc exec-1 eu"
    with pytest.raises(ActionFailed, match=r"#\{BuildVariables.DIGEST\}.*Build/Build published BuildVariables "
                                           r"without DIGEST \(it has: IMAGE_URI\)"):
        ns.resolve("#{BuildVariables.DIGEST}")
    with pytest.raises(ActionFailed, match="no earlier action of this run published the namespace UpdateVariables"):
        Namespaces().resolve("#{UpdateVariables.TASK_DEFINITION_ARN}")


def test_the_codebuild_action_environment_variables_are_a_json_string():
    assert action_variables('[{"name":"A","value":"1","type":"PLAINTEXT"}]') == [
        {"name": "A", "value": "1", "type": "PLAINTEXT"}]
    with pytest.raises(ShipspecError, match="not valid JSON"):
        action_variables("[{name: A}]")
    with pytest.raises(ShipspecError, match="JSON list"):
        action_variables('{"name": "A"}')
