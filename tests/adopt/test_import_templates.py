"""`shipspec import` from hand-written CloudFormation templates: each fixture imports, validates and
builds, the generated pipeline means what the original meant, and every way it differs is listed in
the report. Errors stop the import with file:line and write nothing."""

from __future__ import annotations

import json

import pytest
import yaml

from compiler.adopt import tsource
from compiler.deploy.predict import load_template
from support.adopt import HANDWRITTEN, semantics, scratch_repo
from support.cli import run_cli

VIDEO = ["stg=" + str(HANDWRITTEN / "video-api-stg.yml"), "prod=" + str(HANDWRITTEN / "video-api-prod.yml"),
         "--notification", "stg=" + str(HANDWRITTEN / "video-api-notification-stg.yml"),
         "--notification", "prod=" + str(HANDWRITTEN / "video-api-notification-prod.yml")]
NEWS = [str(HANDWRITTEN / "news-web-stg.json"), "--env", "stg"]

# Per import: (arguments, service, {env: (pipeline fixture, notification fixture)}, differences the
# fixture is expected to have (the report's "what" labels) -- anything else must be equal).
CASES = {
    "github-v1-ec2-two-envs": (VIDEO, "video-api", {
        "stg": ("video-api-stg.yml", "video-api-notification-stg.yml"),
        "prod": ("video-api-prod.yml", "video-api-notification-prod.yml")},
        {"stg": set(), "prod": {"stage order", "UpdateService project compute type"}}),
    "codestar-additional-source-fargate-json": (NEWS, "news-web", {"stg": ("news-web-stg.json", None)},
                                                {"stg": {"UpdateService project compute type"}}),
}


def _import(tmp_path, args, *extra):
    root = scratch_repo(tmp_path)
    result = run_cli("import", *args, "--format", "json", *extra, root=root)
    return root, result


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_fixture_imports_validates_and_builds(case, tmp_path):
    args, name, _envs, _diffs = CASES[case]
    root, result = _import(tmp_path, args)
    assert result.status == 0, result.err
    report = json.loads(result.out)
    assert report["written"] is True and report["environments"] == sorted(_envs, key=list(_envs).index)
    assert (root / "services" / f"{name}.yaml").exists()
    assert run_cli("validate", root=root).status == 0
    built = run_cli("build", root=root)
    assert built.status == 0, built.err
    assert (root / "generated" / name).is_dir()


@pytest.mark.parametrize("case", sorted(CASES))
def test_generated_pipeline_means_what_the_original_meant(case, tmp_path):
    """Sources, branch, compute type, image, buildspec, cluster, service, deploy timeout, approval,
    notified states and e-mails are equal, except the differences this fixture is known to have,
    and each of those is in the report."""
    args, name, envs, allowed = CASES[case]
    root, result = _import(tmp_path, args)
    assert result.status == 0, result.err
    report = json.loads(result.out)
    assert run_cli("build", root=root).status == 0
    listed = {(d["env"], d["what"]) for d in report["differences"]}
    for env, (pipeline, notification) in envs.items():
        original = semantics(load_template((HANDWRITTEN / pipeline).read_text()), env,
                             load_template((HANDWRITTEN / notification).read_text()) if notification else None)
        gen_dir = root / "generated" / name / env
        generated = semantics(load_template((gen_dir / "codepipeline.yml").read_text()), env,
                              load_template((gen_dir / "codepipeline-status-notification.yml").read_text())
                              if notification else None)
        differing = {k for k in original if original[k] != generated[k]}
        assert differing == allowed[env], (env, {k: (original[k], generated[k]) for k in differing})
        for what in differing:
            assert (env, what) in listed or (None, what) in listed, f"{env}: {what} differs but is not reported"


def test_the_fact_reader_reads_the_fixtures_as_written():
    """The semantics the comparison rests on, checked against the fixture text by hand."""
    stg = semantics(load_template((HANDWRITTEN / "video-api-stg.yml").read_text()), "stg",
                    load_template((HANDWRITTEN / "video-api-notification-stg.yml").read_text()))
    assert stg["sources"] == [("github-token", "example-corp/video-api", "develop")]
    assert (stg["Build project compute type"], stg["Build project image"], stg["Build project buildspec"]) == (
        "BUILD_GENERAL1_SMALL", "aws/codebuild/standard:5.0", "codepipeline/buildspec.yml")
    assert (stg["ECS deploy cluster"], stg["ECS deploy service"], stg["ECS deploy timeout (minutes)"]) == (
        "media-ec2", "video-api-service", "45")
    assert stg["manual approval"] is False
    assert stg["notified states"] == ("STARTED", "FAILED", "SUCCEEDED", "CANCELED")
    assert stg["e-mail subscribers"] == ("media-ops@example.com", "video-team@example.com")
    prod = semantics(load_template((HANDWRITTEN / "video-api-prod.yml").read_text()), "prod")
    assert prod["stage order"] == ("Source", "Approval", "Build", "UpdateService", "Deploy")
    news = semantics(load_template((HANDWRITTEN / "news-web-stg.json").read_text()), "stg")
    assert news["sources"] == [("codestar", "example-corp/news-web", "develop"),
                               ("codestar", "example-corp/news-config", "main")]


def test_positions_and_values_agree_with_the_deploy_loader():
    for path in sorted(HANDWRITTEN.iterdir()):
        t = tsource.read(path, path.name)
        assert t.data == load_template(path.read_text()), path.name
    t = tsource.read(HANDWRITTEN / "video-api-stg.yml", "f")
    line = next(i for i, text in enumerate((HANDWRITTEN / "video-api-stg.yml").read_text().splitlines(), 1)
                if "Name: AWS_ACCESS_KEY_ID" in text)
    assert t.line(("Resources", "UpdateProject", "Properties", "Environment", "EnvironmentVariables", 4)) == line


def test_the_spec_reads_like_a_hand_written_one(tmp_path):
    root, result = _import(tmp_path, VIDEO)
    assert result.status == 0, result.err
    spec = yaml.safe_load((root / "services" / "video-api.yaml").read_text())
    # shared values once at the top, differences per environment
    assert spec["source"]["repository"] == "example-corp/video-api"
    assert spec["environments"]["stg"]["source"] == {"branch": "develop"}
    assert spec["environments"]["prod"]["source"] == {"branch": "master"}
    assert spec["environments"]["prod"]["build"] == {"compute_type": "BUILD_GENERAL1_MEDIUM"}
    # what _defaults.yaml or the model already gives is left out...
    assert "compute_type" not in spec["build"]  # BUILD_GENERAL1_SMALL is the model's default
    assert "deploy" not in spec["environments"]["prod"]  # _defaults.yaml asks prod for approval already
    assert "key" not in spec["source"]["token_secret"]  # `token` is the default key
    # ...and what _defaults.yaml gives but the pipeline must not have is overridden
    assert spec["source"]["connection_arn"] is None
    report = json.loads(result.out)
    assert "environments.prod.deploy.approval" in report["left_to_defaults"]
    # physical names kept for adoption: the pipeline's (default) and its named roles
    assert spec["environments"]["stg"]["names"] == {"pipeline_role": "video-api-stg-codepipeline",
                                                    "build_role": "video-api-stg-codebuild"}


def test_report_points_at_template_lines(tmp_path):
    _root, result = _import(tmp_path, VIDEO)
    report = json.loads(result.out)
    text = (HANDWRITTEN / "video-api-stg.yml").read_text().splitlines()
    keys = [n for n in report["not_representable"] if n["env"] == "stg"]
    assert {n["what"].split()[0] for n in keys} == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    for n in keys:
        assert n["what"].split()[0] in text[n["line"] - 1]
        assert n["todo"]
    branch = next(m for m in report["mapped"] if m["to"] == "source.branch" and m["env"] == "stg")
    assert "GitHubBranch" in text[branch["from"]["line"] - 1]
    kinds = {d["what"] for d in report["differences"]}
    assert {"stage order", "pipeline type", "Build project name", "SNS topic", "artifact store", "webhook secret",
            "Deploy stage"} <= kinds  # the per-webhook secret and one rollout per run are differences too


def test_text_report_has_every_section(tmp_path):
    root = scratch_repo(tmp_path)
    result = run_cli("import", *VIDEO, root=root)
    assert result.status == 0
    for heading in ("written", "Mapped (", "Not representable (", "Differences of the generated pipeline"):
        assert heading in result.out


def test_an_existing_spec_is_replaced_only_with_force(tmp_path):
    root = scratch_repo(tmp_path)
    spec = root / "services" / "news-web.yaml"
    spec.write_text("# mine\n")
    result = run_cli("import", *NEWS, root=root)
    assert result.status == 1
    assert "--force" in result.out
    assert spec.read_text() == "# mine\n"
    assert run_cli("import", *NEWS, "--force", root=root).status == 0
    assert spec.read_text().startswith("# yaml-language-server")


def test_dry_run_writes_nothing(tmp_path):
    root = scratch_repo(tmp_path)
    result = run_cli("import", *NEWS, "--dry-run", root=root)
    assert result.status == 0
    assert "name: news-web" in result.out
    assert not (root / "services" / "news-web.yaml").exists()


def test_a_template_that_is_not_a_pipeline_is_refused(tmp_path):
    root = scratch_repo(tmp_path)
    note = str(HANDWRITTEN / "video-api-notification-stg.yml")
    result = run_cli("import", note, "--env", "stg", root=root)
    assert result.status == 1
    assert f"{note}:1:1: error: not a pipeline template: no AWS::CodePipeline::Pipeline" in result.err
    assert "AWS::Events::Rule" in result.err
    # a pipeline given as the notification template
    result = run_cli("import", *NEWS, "--notification", str(HANDWRITTEN / "news-web-stg.json"), root=root)
    assert result.status == 1 and "not a pipeline notification template" in result.err
    assert list((root / "services").iterdir()) == [root / "services" / "_defaults.yaml"]


def test_yaml_errors_point_at_the_line(tmp_path):
    root = scratch_repo(tmp_path)
    bad = tmp_path / "bad.yml"
    bad.write_text("Resources:\n  Pipeline:\n    Type: [unclosed\n")
    result = run_cli("import", str(bad), "--env", "stg", root=root)
    assert result.status == 1
    assert f"{bad}:4:1: error: not valid YAML or JSON" in result.err or f"{bad}:3:" in result.err
    assert "Traceback" not in result.err


def test_a_plaintext_token_is_refused_and_never_copied(tmp_path):
    root = scratch_repo(tmp_path)
    token = "ghp_" + "A1b2C3d4" * 4 + "Zz99"
    text = (HANDWRITTEN / "video-api-stg.yml").read_text().replace(
        '"{{resolve:secretsmanager:cicd/github-token:SecretString:token}}"', f'"{token}"', 1)
    path = tmp_path / "plain.yml"
    path.write_text(text)
    result = run_cli("import", str(path), "--env", "stg", root=root)
    assert result.status == 1
    line = next(i for i, t in enumerate(text.splitlines(), 1) if token in t)
    assert f"{path}:{line}:1: error: source.token_secret: the GitHub token is written in the template in plaintext" \
        in result.err
    assert token not in result.err + result.out
    assert not (root / "services" / "video-api.yaml").exists()


def test_a_noecho_token_asks_for_a_secret_reference(tmp_path):
    root = scratch_repo(tmp_path)
    text = (HANDWRITTEN / "video-api-stg.yml").read_text().replace(
        '"{{resolve:secretsmanager:cicd/github-token:SecretString:token}}"', "!Ref GitHubToken", 1).replace(
        "Parameters:\n", "Parameters:\n  GitHubToken:\n    Type: String\n    NoEcho: true\n", 1)
    path = tmp_path / "noecho.yml"
    path.write_text(text)
    result = run_cli("import", str(path), "--env", "stg", root=root)
    assert result.status == 1 and "NoEcho parameter GitHubToken" in result.err
    ref = "{{resolve:secretsmanager:cicd/other-token:SecretString:pat}}"
    result = run_cli("import", str(path), "--env", "stg", "--param", f"GitHubToken={ref}", root=root)
    assert result.status == 0, result.err
    spec = yaml.safe_load((root / "services" / "video-api.yaml").read_text())
    assert spec["source"]["token_secret"] == {"id": "cicd/other-token", "key": "pat"}


def test_an_undeclared_environment_is_a_usage_error(tmp_path):
    root = scratch_repo(tmp_path)
    result = run_cli("import", str(HANDWRITTEN / "news-web-stg.json"), "--env", "qa", root=root)
    assert result.status == 2
    assert "environment 'qa' is not declared in services/_defaults.yaml" in result.err


def test_a_spec_that_would_not_validate_is_not_written(tmp_path):
    """A CodeStar source needs a connection: without one in the template or _defaults.yaml, the spec
    import would write is invalid, and the error says so (pointing into that spec)."""
    root = scratch_repo(tmp_path)
    (root / "services" / "_defaults.yaml").write_text(
        "environments:\n  stg:\n    account: \"111111111111\"\n    region: ap-northeast-1\n")
    text = (HANDWRITTEN / "news-web-stg.json").read_text().replace('"Default": "arn:aws:codeconnections', '"X": "')
    path = tmp_path / "no-connection.json"
    path.write_text(text)
    result = run_cli("import", str(path), "--env", "stg", root=root)
    assert result.status == 1
    assert "services/news-web.yaml (as import would write it; nothing was written)" in result.err
    assert "connection_arn" in result.err
    assert not (root / "services" / "news-web.yaml").exists()
