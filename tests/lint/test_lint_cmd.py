"""`shipspec lint`: clean on the repository, findings at generated/...:line:col with exit 1, cfn-lint
rules loaded once per process however many templates, per-template time limit, light imports."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from unittest import mock

import pytest

from compiler.cli import main as cli
from compiler.cli.console import Console
from compiler.build.ir import Artifact, BuildOutput, Stack
from compiler.lint import cfnlint_runner
from compiler.lint.cfnlint_runner import CfnLinter, CfnTask, Pool, lint_templates
from compiler.lint.engine import lint_output
from support.cli import REPO as ROOT

pytestmark = pytest.mark.slow  # cfn-lint in-process and in worker processes

BAD_PATH = "generated/bad-svc/prod/codepipeline.yml"
# W3005: DependsOn on a resource already referenced; E3002: an unknown property; SS202: no retention.
BAD = """\
# Generated test template
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  Logs:
    Type: AWS::Logs::LogGroup
    DeletionPolicy: Delete
    UpdateReplacePolicy: Delete
    Properties:
      LogGroupName: bad
  Topic:
    Type: AWS::SNS::Topic
    DependsOn: Logs
    Properties:
      DisplayName:
        Ref: Logs
      Colour: blue
"""


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines()) if needle in line) + 1


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(["--root", str(ROOT), *argv], console=Console(out=out, err=err))
    return status, out.getvalue(), err.getvalue()


def bad_output(text: str = BAD, region: str = "eu-west-1") -> BuildOutput:
    stack = Stack("bad-svc-prod-pipeline", "pipeline", "111111111111", region, BAD_PATH, "bad-svc", "prod")
    return BuildOutput((Artifact(BAD_PATH, text.encode()),), (stack,))


def test_lint_on_the_repository_is_clean(monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    status, out, err = run(["lint"])
    assert (status, out) == (0, ""), out
    assert "clean" in err and "18 templates" in err


def test_a_finding_prints_at_its_generated_path_line_and_column_and_exits_1(monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    from compiler.build import compile as build

    real = build.compile_project

    def with_bad_template(project):  # fault injection: one broken template among the real ones
        out = real(project)
        extra = bad_output()
        return BuildOutput(out.artifacts + extra.artifacts, out.stacks + extra.stacks)

    with mock.patch.object(build, "compile_project", with_bad_template):
        status, out, err = run(["lint", "photo-thumbs", "--jobs", "2"])
    assert status == 1
    lines = out.splitlines()
    assert f"{BAD_PATH}:{line_of(BAD, 'DependsOn')}:5: error: W3005 " in "\n".join(lines)
    assert any(line.startswith(f"{BAD_PATH}:{line_of(BAD, 'Colour')}:7: error: E3002 ") for line in lines), lines
    assert any(line.startswith(f"{BAD_PATH}:{line_of(BAD, 'Properties:')}:") and " SS202 " in line for line in lines)
    assert all(line.startswith(BAD_PATH) for line in lines), "the real templates stay clean"
    assert "finding" in err

    with mock.patch.object(build, "compile_project", with_bad_template):
        status, out, _ = run(["lint", "photo-thumbs", "--format", "json", "-j", "1"])
    findings = json.loads(out)
    assert status == 1 and {f["code"] for f in findings} >= {"W3005", "E3002", "SS202"}
    assert all(f["file"] == BAD_PATH and f["severity"] == "error" for f in findings)


def test_informational_findings_count_and_cfn_lint_directives_do_not_silence_them():
    text = BAD.replace("    DeletionPolicy: Delete\n    UpdateReplacePolicy: Delete\n", "")
    text = text.replace("AWSTemplateFormatVersion", "Metadata:\n  cfn-lint:\n    config:\n      ignore_checks:\n"
                        "      - E3002\n      - I3011\nAWSTemplateFormatVersion")
    report = lint_output(bad_output(text), jobs=1)
    found = {d.code for d in report.diagnostics}
    assert {"I3011", "E3002", "SS001", "SS204"} <= found


def test_shipspec_suppression_silences_a_cfn_lint_finding_on_its_resource_only():
    text = BAD.replace("    DependsOn: Logs\n", "    DependsOn: Logs\n    Metadata:\n      shipspec:\n        suppress:\n"
                       "        - id: W3005\n          reason: kept to show ordering in the test template\n")
    found = {d.code for d in lint_output(bad_output(text), jobs=1).diagnostics}
    assert "W3005" not in found and "E3002" in found and "SS002" not in found
    unused = text.replace("id: W3005", "id: W1001")
    found = {d.code for d in lint_output(bad_output(unused), jobs=1).diagnostics}
    assert {"W3005", "SS002"} <= found


def test_templates_are_linted_in_their_own_region():
    text = BAD.replace("AWS::SNS::Topic", "AWS::SNS::Topic").replace(
        "  Topic:", "  Table:\n    Type: AWS::Timestream::Database\n    Properties: {}\n  Topic:")
    # Timestream is not offered in ap-northeast-3; cfn-lint reports the type there and not in us-east-1.
    here = {d.code for d in lint_output(bad_output(text, "us-east-1"), jobs=1).diagnostics}
    there = {d.code for d in lint_output(bad_output(text, "ap-northeast-3"), jobs=1).diagnostics}
    assert "E3006" in there - here


def test_one_rule_load_per_process_however_many_templates():
    before = cfnlint_runner.RULE_LOADS
    linter = CfnLinter()
    for i in range(5):
        assert [m.code for m in linter.lint(BAD.replace("bad", f"bad{i}"), "eu-west-1")]
    assert cfnlint_runner.RULE_LOADS == before + 1

    in_process = [CfnTask(f"generated/s{i}/stg/codepipeline.yml", BAD, "eu-west-1") for i in range(3)]
    lint_templates(in_process, Pool(jobs=1))
    loads = cfnlint_runner.RULE_LOADS
    assert lint_templates(in_process, Pool(jobs=1))[0].rule_loads == loads
    assert cfnlint_runner.RULE_LOADS == loads, "the in-process linter is kept between runs"

    tasks = [CfnTask(f"generated/s{i}/prod/codepipeline.yml", BAD, "eu-west-1") for i in range(6)]
    results = lint_templates(tasks, Pool(jobs=2, in_process_max=0))
    assert [r.path for r in results] == [t.path for t in tasks]
    assert all({"W3005", "E3002"} <= {i.code for i in r.issues} for r in results)
    workers = {r.pid for r in results}
    assert 1 <= len(workers) <= 2 and sys.modules["os"].getpid() not in workers
    assert {r.rule_loads for r in results} == {1}, "each worker loads the rules once and reuses them"


def test_a_template_over_the_time_limit_is_a_finding_not_a_hang():
    def slow(self, text, region):  # fault injection: cfn-lint never finishing
        time.sleep(30)
        return []

    start = time.monotonic()
    with mock.patch.object(CfnLinter, "lint", slow):
        report = lint_output(bad_output(), jobs=1, timeout=0.3)
    assert time.monotonic() - start < 10
    timeouts = [d for d in report.diagnostics if d.code == "SS900"]
    assert len(timeouts) == 1 and timeouts[0].location.file == BAD_PATH and "0.3s" in timeouts[0].message


def test_the_time_limit_holds_inside_a_cfn_lint_rule():
    rule = cfnlint_runner.in_process_linter()._rules["E1001"]

    def slow_rule(cfn):  # fault injection inside cfn-lint, which turns Exceptions raised by rules into findings
        time.sleep(30)
        return []

    start = time.monotonic()
    with mock.patch.object(rule, "match", slow_rule):
        report = lint_output(bad_output(), jobs=1, timeout=0.5)
    assert time.monotonic() - start < 10
    assert [d.code for d in report.diagnostics if d.code in ("SS900", "E0002")] == ["SS900"]


def test_bad_jobs_value_is_a_usage_error():
    status, out, err = run(["lint", "--jobs", "0"])
    assert status == 2 and "--jobs" in err and out == ""


def test_cli_start_up_does_not_import_cfn_lint():
    code = ("import sys; from compiler.cli import main; main.build_parser(); "
            "import compiler.cli.commands.lint, compiler.lint; "
            "bad = [m for m in sys.modules if m.split('.')[0] == 'cfnlint']; "
            "print(bad); sys.exit(1 if bad else 0)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("fmt", ["github"])
def test_github_format_annotates_the_generated_file(fmt, monkeypatch):
    from compiler.build import compile as build

    real = build.compile_project
    with mock.patch.object(build, "compile_project",
                           lambda p: BuildOutput(real(p).artifacts + bad_output().artifacts,
                                                 real(p).stacks + bad_output().stacks)):
        status, out, _ = run(["lint", "photo-thumbs", "--format", fmt, "-j", "1"])
    assert status == 1
    assert f"::error file={BAD_PATH},line={line_of(BAD, 'Colour')},col=7::E3002 " in out
