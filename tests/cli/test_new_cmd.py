"""`shipspec new`: the scaffold holds only what the service decides and inherits the rest from
services/_defaults.yaml -- above all the organisation's prod approval, which a top-level
`deploy: approval: false` in the scaffold used to remove."""

from __future__ import annotations

import shutil

import yaml

from compiler.spec.project import load_project
from support.cli import REPO, run_cli


def test_scaffold_keeps_the_defaults_prod_approval(tmp_path):
    (tmp_path / "services").mkdir()
    shutil.copy(REPO / "services/_defaults.yaml", tmp_path / "services/_defaults.yaml")
    assert run_cli("new", "audio-feed", root=tmp_path).status == 0
    assert run_cli("build", root=tmp_path).status == 0
    prod = yaml.safe_load((tmp_path / "generated/audio-feed/prod/codepipeline.yml").read_text())
    stages = [s["Name"] for s in prod["Resources"]["Pipeline"]["Properties"]["Stages"]]
    assert stages == ["Source", "Build", "Approval", "UpdateService", "Deploy"]
    stg = yaml.safe_load((tmp_path / "generated/audio-feed/stg/codepipeline.yml").read_text())
    assert "Approval" not in [s["Name"] for s in stg["Resources"]["Pipeline"]["Properties"]["Stages"]]


def test_scaffold_writes_only_what_the_service_decides(tmp_path):
    (tmp_path / "services").mkdir()
    shutil.copy(REPO / "services/_defaults.yaml", tmp_path / "services/_defaults.yaml")
    assert run_cli("new", "audio-feed", root=tmp_path).status == 0
    text = (tmp_path / "services/audio-feed.yaml").read_text()
    spec = yaml.safe_load(text)
    assert spec == {
        "name": "audio-feed",
        "source": {"repository": "example-corp/audio-feed"},
        "build": {"ecr_repository": "media/audio-feed"},
        "service": {"cluster": "media", "name": "audio-feed", "container": "audio-feed"},
    }
    # what it inherits is listed in comments, from the defaults themselves
    assert "#   environments.prod.deploy.approval: true" in text
    assert "#   source.connection_arn: arn:aws:codeconnections:" in text
    assert "#   tags.owner: platform-team" in text


def test_scaffold_without_defaults_says_where_it_lives(tmp_path):
    (tmp_path / "services").mkdir()
    assert run_cli("new", "audio-feed", root=tmp_path).status == 0
    spec = yaml.safe_load((tmp_path / "services/audio-feed.yaml").read_text())
    assert spec["environments"] == {"prod": {"account": "111111111111", "region": "ap-northeast-1"}}
    assert spec["source"]["connection_arn"].startswith("arn:aws:codeconnections:ap-northeast-1:111111111111:")
    assert "deploy" not in spec
    (config,) = [s.config for s in load_project(tmp_path).services]
    assert config.deploy.approval is False and config.container_name == "audio-feed"
