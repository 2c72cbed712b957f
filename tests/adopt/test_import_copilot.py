"""`shipspec import --copilot`: a Copilot workspace (a pipeline manifest, two services) -> one spec per
service, stages and approvals as `stages:`/`deploy.approval`, Copilot environments as shipspec's."""

from __future__ import annotations

import json
import shutil

import yaml

from compiler.deploy.predict import load_template
from support.adopt import FIXTURES, semantics, scratch_repo
from support.cli import run_cli

WORKSPACE = FIXTURES / "copilot-app" / "copilot"
ARGS = ["--copilot", str(WORKSPACE), "--env-map", "test=stg", "--cluster", "stg=media", "--cluster", "prod=media"]


def _import(tmp_path, *extra, workspace=WORKSPACE):
    root = scratch_repo(tmp_path)
    args = ["--copilot", str(workspace), *ARGS[2:], *extra]
    result = run_cli("import", *args, "--format", "json", root=root)
    docs = json.loads(result.out) if result.status == 0 else []
    return root, result, {d["service"]: d for d in docs}


def test_one_spec_per_service_that_validates_and_builds(tmp_path):
    root, result, reports = _import(tmp_path)
    assert result.status == 0, result.err
    assert sorted(reports) == ["api", "worker"]
    assert all(r["environments"] == ["stg", "prod"] for r in reports.values())
    assert run_cli("validate", root=root).status == 0
    built = run_cli("build", root=root)
    assert built.status == 0, built.err


def test_stages_approvals_and_environments_map(tmp_path):
    root, result, _ = _import(tmp_path)
    assert result.status == 0, result.err
    assert run_cli("build", root=root).status == 0
    for svc in ("api", "worker"):
        stg = semantics(load_template((root / "generated" / svc / "stg" / "codepipeline.yml").read_text()), "stg")
        prod = semantics(load_template((root / "generated" / svc / "prod" / "codepipeline.yml").read_text()), "prod")
        # the Copilot source and branch, the build image of the pipeline manifest
        assert stg["sources"] == prod["sources"] == [("codestar", "example-corp/media-app", "main")]
        assert stg["Build project image"] == "aws/codebuild/amazonlinux2-x86_64-standard:5.0"
        # requires_approval only on the prod stage
        assert stg["manual approval"] is False and prod["manual approval"] is True
        # the test stage's pre-deployment and test commands, in stg only
        assert stg["stage order"] == ("Source", "Build", "PreDeploy", "UpdateService", "Deploy", "Test")
        assert prod["stage order"] == ("Source", "Build", "Approval", "UpdateService", "Deploy")
        test_spec = (root / "generated" / svc / "stg" / "stages" / "Test-TestCommands.buildspec.yml").read_text()
        assert "make integ-test" in test_spec
        migrate = (root / "generated" / svc / "stg" / "stages" / "PreDeploy-Migrate.buildspec.yml").read_text()
        assert "./scripts/migrate.sh" in migrate
    api = yaml.safe_load((root / "services" / "api.yaml").read_text())
    assert api["build"]["dockerfile"] == "api/Dockerfile" and api["build"]["build_args"] == {"NODE_ENV": "production"}
    assert api["build"]["ecr_repository"] == "media/api"
    assert api["service"]["environment"] == {"FEATURE_FLAGS": "search,thumbnails"}
    assert api["environments"]["stg"]["service"]["environment"] == {"LOG_LEVEL": "debug"}
    assert api["environments"]["prod"]["service"]["cpu"] == 1024
    assert api["environments"]["prod"]["service"]["secrets"] == {
        "DB_URL": "arn:aws:ssm:ap-northeast-1:222222222222:parameter/media/api/db-url"}
    worker = yaml.safe_load((root / "services" / "worker.yaml").read_text())
    assert worker["build"]["context"] == "worker"  # Copilot builds in the Dockerfile's directory
    assert worker["environments"]["prod"]["service"]["environment"] == {"QUEUE_BATCH": "50"}


def test_the_report_lists_what_copilot_did_differently(tmp_path):
    _root, _result, reports = _import(tmp_path)
    api, worker = reports["api"], reports["worker"]
    search = next(n for n in api["not_representable"] if "SEARCH_KEY" in n["what"])
    lines = (WORKSPACE / "api" / "manifest.yml").read_text().splitlines()
    assert "SEARCH_KEY" in lines[search["line"] - 1]
    assert any(n["what"].startswith("http of the Copilot service") for n in api["not_representable"])
    assert {d["what"] for d in worker["differences"]} >= {"pipelines", "deployment order", "build"}
    assert any(d["to"] == "service.launch_type" for d in api["defaulted"])


def test_without_a_cluster_the_report_says_how_to_find_it(tmp_path):
    root = scratch_repo(tmp_path)
    result = run_cli("import", "--copilot", str(WORKSPACE), "--env-map", "test=stg", root=root)
    assert result.status == 0, result.err
    assert "aws ecs list-clusters" in result.out
    assert yaml.safe_load((root / "services" / "api.yaml").read_text())["environments"]["stg"]["service"][
        "cluster"] == "media-test"


def test_services_copilot_runs_elsewhere_are_skipped_and_listed(tmp_path):
    workspace = tmp_path / "app" / "copilot"
    shutil.copytree(WORKSPACE.parent, tmp_path / "app")
    (workspace / "site").mkdir()
    (workspace / "site" / "manifest.yml").write_text("name: site\ntype: Request-Driven Web Service\n"
                                                     "image:\n  build: site/Dockerfile\n")
    root, result, reports = _import(tmp_path, workspace=workspace)
    assert result.status == 0, result.err
    assert sorted(reports) == ["api", "worker"]
    assert any("Request-Driven Web Service" in n["what"] for n in reports["api"]["not_representable"])
    assert not (root / "services" / "site.yaml").exists()


def test_an_unknown_environment_is_refused(tmp_path):
    root = scratch_repo(tmp_path)
    result = run_cli("import", "--copilot", str(WORKSPACE), root=root)
    assert result.status == 2
    assert "environment 'test' is not declared" in result.err
    assert list((root / "services").iterdir()) == [root / "services" / "_defaults.yaml"]
