"""The benchmark's pure parts, fast: the CDK comparison's ratios, the targets at 500 and 5000
services, the CDK app and its input (generated and compiled, never run: CDK is not installed by
the tests), and the skip when Node.js is missing. No durations are measured here."""

from __future__ import annotations

import ast
import json

import pytest

from benchmarks import cdk, report
from benchmarks.proc import Measurement


def row(name: str, size: int, seconds: float, pairs: int = 0, tree: float = 50.0) -> Measurement:
    return Measurement(name, size, pairs or size, seconds=[seconds, seconds * 1.1, seconds * 0.9],
                       max_rss_mb=tree, tree_rss_mb=tree)


def goals(results: list[Measurement]) -> dict[str, dict]:
    return {g["target"]: g for g in report.targets(results)}


def test_cdk_ratios_are_medians_of_the_interleaved_rows():
    results = [row(report.CDK_NAME, 1, 10.0), row(report.CDK_NAME, 40, 17.8),
               row(report.BESIDE_CDK, 1, 0.4), row(report.BESIDE_CDK, 500, 7.4, pairs=999)]
    c = report.cdk_comparison(results)
    assert c["cdk_one_s"] == pytest.approx(10.0) and c["ours_one_s"] == pytest.approx(0.4)
    assert c["cdk_each_ms"] == pytest.approx(200.0)  # (17.8 - 10) / 39
    assert c["ours_each_ms"] == pytest.approx(7000 / 499)
    assert c["one_ratio"] == pytest.approx(25.0)
    assert c["each_ratio"] == pytest.approx(200 / (7000 / 499))
    assert c["ours_each_pair_ms"] == pytest.approx(7000 / 998)  # 999 pairs beside 1: one CDK stack each
    assert c["pair_ratio"] == pytest.approx(200 / (7000 / 998))
    g = goals(results)
    one = g["CDK one-stack synth over shipspec one-service build"]
    each = g["CDK per additional stack over shipspec per additional service"]
    assert (one["limit"], one["comparison"], one["met"]) == (20.0, ">=", True)
    assert (each["limit"], each["comparison"], each["met"]) == (10.0, ">=", True)
    assert g["CDK synth, one stack (interleaved)"]["limit"] is None  # reported beside the targets


def test_cdk_targets_miss_and_are_absent_without_cdk_rows():
    slow = [row(report.CDK_NAME, 1, 5.0), row(report.CDK_NAME, 40, 5.39),
            row(report.BESIDE_CDK, 1, 0.5), row(report.BESIDE_CDK, 500, 10.48)]
    g = goals(slow)
    assert g["CDK one-stack synth over shipspec one-service build"]["met"] is False  # 10x
    assert g["CDK per additional stack over shipspec per additional service"]["met"] is False  # 0.5x
    assert not any(name.startswith("CDK") for name in goals([row("build cold", 1, 0.4)]))
    assert report.cdk_comparison([row(report.CDK_NAME, 1, 10.0)])["each_ratio"] is None


def test_rebuild_growth_and_memory_targets_at_500_and_5000():
    results = [row("build cold", 1, 0.4), row("build cold", 500, 8.0), row("build no-op", 500, 0.6),
               row("build one spec changed", 500, 0.9), row("build cold", 5000, 100.0, tree=900),
               row("build no-op", 5000, 12.0, tree=700), row("build one spec changed", 5000, 9.0),
               row("build cold", 1000, 15.0, tree=600)]
    g = goals(results)
    assert g["build no-op over cold build, 500 services"]["value"] == pytest.approx(7.5)
    assert g["build no-op over cold build, 500 services"]["met"] is True
    assert g["build one spec changed over cold build, 500 services"]["met"] is False  # 11.25 %
    assert g["build no-op over cold build, 5000 services"]["met"] is False  # 12 %
    assert g["build one spec changed over cold build, 5000 services"]["value"] == pytest.approx(9.0)
    growth = g["cold build per service, 5000 over 500 services"]
    assert growth["value"] == pytest.approx(20.0 / 16.0) and growth["met"] is True and growth["limit"] == 1.3
    assert g["peak memory, 5000 services (process tree)"]["value"] == 900
    assert g["peak memory, 5000 services (process tree)"]["met"] is True
    assert g["peak memory, 1000 services (process tree)"]["met"] is False  # 600 > 500
    line = report.growth_line(results)
    assert line.startswith("cold build per service as N grows: N=1: 400.0 ms") and "N=5000: 20.0 ms" in line
    md = report.markdown(results, report.targets(results))
    assert "| build no-op over cold build, 5000 services | 12 % | <= 10 % | **no** |" in md


def test_pairs_follow_the_fleet_and_cover_its_shapes():
    pairs = cdk.pairs(40)
    assert len(pairs) == 40 and len({p.pipeline for p in pairs}) == 40
    assert pairs[0].pipeline == "news-svc-0000-prod" and pairs[0].approval  # service 0: one environment
    assert {p.source.provider for p in pairs} == {"codestar", "github-token", "codecommit", "s3"}
    assert any(p.additional for p in pairs) and any(p.trigger_paths for p in pairs)
    assert any(p.secrets for p in pairs) and any(p.slack_secret for p in pairs)
    assert all(p.source.connection_arn for p in pairs if p.source.provider == "codestar")
    assert all(p.source.token_secret for p in pairs if p.source.provider == "github-token")
    assert all(p.build_args and p.environment and p.emails for p in pairs)
    assert cdk.pairs(2) == pairs[:2]


def test_cdk_app_is_valid_python_and_reads_only_what_stacks_json_holds(tmp_path):
    app = cdk.write_app(tmp_path / "app", 2)
    source = app.read_text(encoding="utf-8")
    tree = ast.parse(source)
    compile(source, str(app), "exec")
    stacks = json.loads((app.parent / "stacks.json").read_text(encoding="utf-8"))
    assert [s["pipeline"] for s in stacks] == [p.pipeline for p in cdk.pairs(2)]
    used = {node.slice.value for node in ast.walk(tree)
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "pair"
            and isinstance(node.slice, ast.Constant)}
    assert used and used <= set(stacks[0])
    source_keys = {node.slice.value for node in ast.walk(tree)
                   if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "src"
                   and isinstance(node.slice, ast.Constant)}
    assert source_keys <= set(stacks[0]["source"])
    imported = {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.split(".")[0] in ("compiler", "benchmarks") for name in imported)  # runs in CDK's venv


def test_cdk_is_skipped_with_a_reason_when_node_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(cdk.shutil, "which", lambda name: None)
    found = cdk.prepare(tmp_path)
    assert found.python is None and "node" in found.skipped
    assert found.describe().startswith("skipped: ") and not list(tmp_path.iterdir())  # nothing installed


def test_one_place_pins_cdk():
    assert cdk.PINS[0] == f"aws-cdk-lib=={cdk.CDK_VERSION}" and all("==" in pin for pin in cdk.PINS)


def test_pair_count_is_what_the_compiler_loads(tmp_path):
    from benchmarks.fleet import pair_count, write_fleet
    from compiler.spec.project import load_project

    write_fleet(tmp_path, 7)
    assert pair_count(7) == len(load_project(tmp_path).services) == 13


def test_tables_render_again_from_the_json(tmp_path, capsys):
    results = [row("build cold", 1, 0.4), row(report.CDK_NAME, 1, 10.0), row(report.CDK_NAME, 40, 17.8),
               row(report.BESIDE_CDK, 1, 0.4), row(report.BESIDE_CDK, 500, 7.4, pairs=999)]
    doc = {"results": [m.as_dict() for m in results], "cdk": {"skipped": "", "describe": "aws-cdk-lib x"}}
    (tmp_path / "bench.json").write_text(json.dumps(doc), encoding="utf-8")
    assert report.main([str(tmp_path / "bench.json")]) == 0
    out = capsys.readouterr().out
    assert out.startswith(report.markdown(results, report.targets(results)))
    assert "| CDK one-stack synth over shipspec one-service build | 25 x | >= 20 x | yes |" in out
