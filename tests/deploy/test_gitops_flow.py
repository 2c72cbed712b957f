"""The GitOps flow of the workflows, simulated: a real git repository with a base (built, committed
and deployed to moto's server over HTTP) and a pull request that renames news-web's ECR
repository; the commands the Plan workflow runs on the pull request, then the commands the
Deploy workflow runs after the merge -- the same command lines, read from the workflow files."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from support.aws import bare_moto_endpoint
from support.cli import REPO, run_cli

pytestmark = pytest.mark.slow

STG, PROD = "111111111111", "222222222222"
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}

pytest.importorskip("compiler.cli.commands.plan", reason="shipspec plan has not landed yet")
pytest.importorskip("compiler.cli.commands.apply", reason="shipspec apply has not landed yet")


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True,
                          env={**os.environ, **GIT_ENV}).stdout.strip()


def cli(root: Path, *args: str):
    return run_cli(*args, root=root)


def ok(result, what: str = ""):
    assert result.status == 0, f"{what} exited {result.status}:\n{result.out}\n{result.err}"
    return result


moto_endpoint = bare_moto_endpoint()


@pytest.fixture(scope="module")
def flow(moto_endpoint, tmp_path_factory):
    """The repository after the pull request's plan: base deployed, head on branch `feature`."""
    mp = pytest.MonkeyPatch()
    mp.setenv("SHIPSPEC_POLL_SECONDS", "0.02")
    mp.delenv("AWS_ENDPOINT_URL", raising=False)
    mp.delenv("MOTO_ACCOUNT_ID", raising=False)
    for key in list(os.environ):
        if key.startswith("SHIPSPEC_ROLE"):
            mp.delenv(key)
    root = tmp_path_factory.mktemp("gitops") / "repo"
    (root / "services").mkdir(parents=True)
    for name in ("_defaults.yaml", "news-web.yaml", "photo-thumbs.yaml", "video-api.yaml"):
        shutil.copy(REPO / "services" / name, root / "services" / name)
    shutil.copy(REPO / ".gitignore", root / ".gitignore")
    (root / ".shipspec").mkdir()
    (root / ".shipspec" / "local.json").write_text(json.dumps({"pid": 0, "port": 0, "endpoint": moto_endpoint}))
    git(root, "init", "-q", "-b", "main")
    ok(cli(root, "build"), "build")
    ok(cli(root, "schema"), "schema")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    base = git(root, "rev-parse", "HEAD")
    ok(cli(root, "apply", "--local", "--yes", "news-web"), "deploying the base (the service the PR changes)")

    git(root, "checkout", "-q", "-b", "feature")
    spec = root / "services" / "news-web.yaml"
    spec.write_text(spec.read_text().replace("ecr_repository: media/news-web", "ecr_repository: media/news-web-next"))
    ok(cli(root, "build"), "build")
    git(root, "commit", "-q", "-am", "rename news-web's repository")
    yield {"root": root, "base": base, "out": tmp_path_factory.mktemp("artifacts")}
    mp.undo()


def workflow_commands(workflow: str, command: str) -> list[list[str]]:
    from support.workflows import all_shipspec_commands

    return [argv for where, argv in all_shipspec_commands() if where.startswith(workflow) and argv[0] == command]


def test_pull_request_checks_pass(flow):
    for argv in workflow_commands("pull-request.yml", "validate") + workflow_commands("pull-request.yml", "check"):
        ok(cli(flow["root"], *argv), " ".join(argv))


def test_affected_is_exactly_the_renamed_service(flow):
    (argv,) = [a for a in workflow_commands("pull-request.yml", "affected") if "json" in a and "--shard" not in a]
    argv = [flow["base"] if a == "$BASE_SHA" else a for a in argv]
    doc = json.loads(ok(cli(flow["root"], *argv)).out)
    assert {(p["service"], p["environment"]) for p in doc["pairs"]} == {("news-web", "stg"), ("news-web", "prod")}
    assert doc["orphans"] == []


@pytest.fixture(scope="module")
def pr_plan(flow):
    """plan-1.json and plan-1.md as the Plan workflow writes them (one shard)."""
    out = flow["out"]
    files = {}
    for argv in workflow_commands("pull-request.yml", "plan"):
        argv = [{"$BASE_SHA": flow["base"]}.get(a, a) for a in argv]
        argv = [str(out / a.replace("$SHARD_INDEX", "1")) if a.startswith("plan-$SHARD_INDEX") else a for a in argv]
        ok(cli(flow["root"], *argv, "--local"), " ".join(argv))
        files[argv[argv.index("--format") + 1]] = Path(argv[argv.index("--output") + 1])
        if "--json-output" in argv:  # one plan run writes both the comment and the artifact
            files["json"] = Path(argv[argv.index("--json-output") + 1])
    assert set(files) == {"json", "markdown"}
    return json.loads(files["json"].read_text()), files["markdown"].read_text(), files["json"]


def test_plan_comment_lists_only_affected_services_most_dangerous_first(pr_plan):
    from compiler.cli.report_plan import MARKER

    _doc, md, _ = pr_plan
    assert md.startswith(MARKER)
    assert "news-web-stg-pipeline" in md and "news-web-prod-pipeline" in md
    assert "photo-thumbs" not in md and "video-api" not in md
    # The repository's replacement is the riskiest row of its stack's table: it comes first.
    section = md[md.index("<code>news-web-prod-pipeline</code>"):]
    rows = [r for r in section.split("</details>")[0].splitlines() if r.startswith("| ") and "`" in r]
    assert "`Repository`" in rows[0] and "**yes**" in rows[0] and "**danger**" in rows[0]
    risks = [r.split("|")[1].strip().strip("*") for r in rows]
    order = ["danger", "caution", "safe", "churn"]
    assert [order.index(r) for r in risks] == sorted(order.index(r) for r in risks)


def test_plan_json_artifact(pr_plan):
    doc, _md, _ = pr_plan
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", doc["fingerprint"])
    services = {s["service"] for s in doc["stacks"]}
    assert services <= {"news-web", None}
    prod = next(s for s in doc["stacks"] if s["stack_name"] == "news-web-prod-pipeline")
    assert prod["status"] == "update"
    repo = next(c for c in prod["changes"] if c["logical_id"] == "Repository")
    assert repo["resource_type"] == "AWS::ECR::Repository" and repo["replacement"] == "True"
    assert repo["risk"] == "danger", repo  # a stateful resource replaced


def gate(root: Path, *args: str):
    return cli(root, "plan-gate", *args)


def test_pull_request_gate_wants_the_danger_label(flow, pr_plan):
    _doc, _md, path = pr_plan
    (argv,) = workflow_commands("pull-request.yml", "plan-gate")
    assert "--danger-only" in argv
    stopped = gate(flow["root"], "--plan", str(path), "--danger-only", "--labels", "")
    assert stopped.status == 1
    assert "news-web-prod-pipeline" in stopped.err and "Repository (AWS::ECR::Repository)" in stopped.err
    assert "allow-danger" in stopped.err
    ok(gate(flow["root"], "--plan", str(path), "--danger-only", "--labels", "docs,allow-danger"))


@pytest.fixture(scope="module")
def merged(flow, pr_plan):
    """main after merging the pull request; the Deploy workflow's re-plan of the merge commit."""
    root = flow["root"]
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "Merge pull request #1", "feature")
    since = git(root, "rev-parse", "HEAD^1")
    plan_path = flow["out"] / "plan.json"
    (argv,) = [a for a in workflow_commands("deploy.yml", "plan") if "--json-output" in a]
    argv = [{"$SINCE": since, "plan.json": str(plan_path), "plan.md": str(flow["out"] / "plan.md")}.get(a, a)
            for a in argv]
    ok(cli(root, *argv, "--local"), " ".join(argv))
    return {"since": since, "plan": plan_path}


def outputs(path: Path) -> dict:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_deploy_gate_matches_the_reviewed_plan_and_applies_per_environment(flow, pr_plan, merged):
    root, out = flow["root"], flow["out"]
    _doc, _md, reviewed = pr_plan
    deploy_doc = json.loads(merged["plan"].read_text())
    assert deploy_doc["fingerprint"] == pr_plan[0]["fingerprint"]  # nothing happened in between
    gh_out, summary = out / "github_output", out / "summary.md"
    # Without the label the gate stops before anything is applied.
    assert gate(root, "--plan", str(merged["plan"]), "--approved", str(reviewed), "--labels", "").status == 1
    passed = gate(root, "--plan", str(merged["plan"]), "--approved", str(reviewed), "--labels", "allow-danger",
                  "--env-order", "stg,prod", "--github-output", str(gh_out), "--summary", str(summary))
    ok(passed, "gate")
    got = outputs(gh_out)
    assert got["ok"] == "true" and json.loads(got["environments"]) == ["stg", "prod"]
    assert got["allow-replace"].split() == ["Repository"]
    assert "Deploy gate: passed" in summary.read_text()
    # The apply job, once per environment in that order, with the gate's --allow-replace ids.
    (argv,) = workflow_commands("deploy.yml", "apply")
    for env in json.loads(got["environments"]):
        line = [{"$ENV_NAME": env, "$SINCE": merged["since"], "plan.json": str(merged["plan"]),
                 "$id": got["allow-replace"]}.get(a, a) for a in argv]
        ok(cli(root, *line, "--local"), " ".join(line))
    final = json.loads(ok(cli(root, "plan", "--local", "news-web", "--format", "json")).out)
    assert {s["status"] for s in final["stacks"]} == {"no-change"}


def test_deploy_gate_stops_when_the_plan_changed_after_review(flow, pr_plan, tmp_path):
    root = flow["root"]
    _doc, _md, reviewed = pr_plan
    base = flow["base"]
    # Something else lands on top of what was reviewed: the deploy plan no longer matches.
    spec = root / "services" / "news-web.yaml"
    original = spec.read_text()
    try:
        spec.write_text(original.replace("keep_images: 30", "keep_images: 31"))
        later = tmp_path / "plan.json"
        ok(cli(root, "plan", "--local", "--changed-since", base, "--format", "json", "--output", str(later)))
        stopped = gate(root, "--plan", str(later), "--approved", str(reviewed), "--labels", "allow-danger")
        assert stopped.status == 1
        assert "differs from the reviewed plan" in stopped.err and "news-web-stg-pipeline" in stopped.err
        fp = re.search(r"fingerprint=(sha256:[0-9a-f]{64})", stopped.err).group(1)
        # A person reviews the new plan and runs the deploy by hand with its fingerprint.
        ok(gate(root, "--plan", str(later), "--fingerprint", fp, "--labels", "allow-danger"))
        # A direct push without any reviewed plan stops unless the repository says otherwise.
        alone = gate(root, "--plan", str(later), "--labels", "allow-danger")
        assert alone.status == 1 and "no reviewed plan" in alone.err
        ok(gate(root, "--plan", str(later), "--labels", "allow-danger", "--unreviewed", "apply"))
    finally:
        spec.write_text(original)
