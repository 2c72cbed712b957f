"""The incremental cache is invisible: same bytes and same diagnostics with and without it,
less work when nothing changed, and any damage to it costs only speed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from compiler.build import cache
from benchmarks.fleet import service_name, spec_text, touch_spec, write_fleet
from compiler.build.compile import compile_project
from compiler.core.diagnostics import SpecError
from compiler.build.incremental import Session
from compiler.spec.project import load_project

from support.cli import run_cli

N = 8


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted((root / "generated").rglob("*")) if p.is_file()}


def _build(root: Path) -> Session:
    """What `shipspec build` does, keeping the session to look at its counters."""
    from compiler.build.writer import write_tree

    session = Session.open(root)
    project = session.load_project()
    write_tree(root, compile_project(project, render=session.render).artifacts)
    session.save()
    return session


@pytest.fixture
def fleet(tmp_path) -> Path:
    root = tmp_path / "fleet"
    write_fleet(root, N)
    return root


@pytest.fixture
def twin(tmp_path):
    """Same specs in a second repository, always built with --no-cache: the reference."""
    def make(src: Path) -> dict[str, bytes]:
        ref = tmp_path / "reference"
        shutil.rmtree(ref, ignore_errors=True)
        shutil.copytree(src / "services", ref / "services")
        assert run_cli("build", "--no-cache", root=ref).status == 0
        assert not (ref / cache.CACHE_DIR).exists(), "--no-cache wrote a cache"
        return _tree(ref)
    return make


def test_same_bytes_with_and_without_cache_through_changes(fleet, twin):
    pairs = len(load_project(fleet).services)
    first = _build(fleet)
    assert first.rendered == pairs and first.reused == 0
    assert _tree(fleet) == twin(fleet)

    noop = _build(fleet)
    assert (noop.rendered, noop.reused) == (0, pairs), "a no-op build rendered again"
    assert noop.store.misses == 0
    assert _tree(fleet) == twin(fleet)

    touch_spec(fleet, 3, revision=7)
    one = _build(fleet)
    changed_pairs = len(load_project(fleet, [service_name(3)]).services)
    assert one.rendered == changed_pairs and one.reused == pairs - changed_pairs
    assert _tree(fleet) == twin(fleet)
    assert b'"countNumber":27' in (fleet / f"generated/{service_name(3)}/prod/codepipeline.yml").read_bytes()


def test_defaults_change_invalidates_every_spec(fleet, twin):
    _build(fleet)
    defaults = fleet / "services/_defaults.yaml"
    defaults.write_text(defaults.read_text().replace("owner: platform-team", "owner: media-platform"))
    session = _build(fleet)
    assert session.reused == 0 and session.store.hits == 0
    assert _tree(fleet) == twin(fleet)


def test_hand_edit_or_deletion_in_generated_is_rendered_again(fleet, twin):
    _build(fleet)
    edited = fleet / f"generated/{service_name(1)}/prod/codepipeline.yml"
    edited.write_bytes(edited.read_bytes().replace(b"BUILD_GENERAL1_MEDIUM", b"BUILD_GENERAL1_LARGE"))
    (fleet / f"generated/{service_name(2)}/prod/buildspec.yml").unlink()
    session = _build(fleet)
    assert session.rendered == 2
    assert _tree(fleet) == twin(fleet)
    # and `check` (never cached) agrees the tree is current
    assert run_cli("build", root=fleet).err.splitlines()[-1].startswith("generated/ is up to date")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip", "foreign-key", "empty"])
def test_corrupt_entries_are_ignored_and_rewritten(fleet, twin, damage):
    _build(fleet)
    entries = sorted((fleet / cache.CACHE_DIR / "specs").glob("*.json"))
    assert len(entries) == N
    for i, entry in enumerate(entries):
        data = entry.read_bytes()
        if damage == "truncate":
            data = data[: len(data) // 2]
        elif damage == "garbage":
            data = b"\x00\xff" * 50
        elif damage == "flip":  # a valid-looking body that no longer matches its checksum
            assert b"media-" in data
            data = data.replace(b"media-", b"mediA-", 1)
        elif damage == "foreign-key":  # an intact entry stored under another key
            data = entries[(i + 1) % len(entries)].read_bytes() if i == 0 else data
        else:
            data = b""
        entry.write_bytes(data)
    session = _build(fleet)
    assert _tree(fleet) == twin(fleet)
    assert session.store.written >= 1
    again = _build(fleet)
    assert again.rendered == 0 and again.store.misses == 0, "damaged entries were not rewritten"


def test_errors_are_the_uncached_diagnostics(fleet):
    assert run_cli("build", root=fleet).status == 0
    # a fleet-wide conflict between two specs, each valid alone and cached alone: same ECR
    # repository in the same account and region
    a, b = fleet / f"services/{service_name(0)}.yaml", fleet / f"services/{service_name(6)}.yaml"
    b.write_text(spec_text(0).replace(f"name: {service_name(0)}", f"name: {service_name(6)}"))
    for name in (service_name(0), service_name(6)):
        assert run_cli("validate", name, root=fleet).status == 0
    session = Session.open(fleet)
    with pytest.raises(SpecError):
        session.load_project()
    assert session.store.misses == 0, "the conflicting specs were not both served from the cache"
    cached, uncached = run_cli("validate", root=fleet), run_cli("validate", "--no-cache", root=fleet)
    assert cached.status == uncached.status == 1
    assert cached.err == uncached.err and f"{a.relative_to(fleet)}:" in cached.err
    # an error in one spec, the others cached
    b.write_text(spec_text(6).replace("keep_images: 20", "keep_images: zero"))
    assert "keep_images: zero" in b.read_text()
    cached, uncached = run_cli("build", root=fleet), run_cli("build", "--no-cache", root=fleet)
    assert cached.status == uncached.status == 1
    assert cached.err == uncached.err and "build.keep_images" in cached.err
    for fmt in ("json", "github"):
        assert run_cli("validate", "--format", fmt, root=fleet).out == \
            run_cli("validate", "--no-cache", "--format", fmt, root=fleet).out


def test_cached_services_locate_values_like_uncached_ones(fleet):
    _build(fleet)
    session = Session.open(fleet)
    cached = session.load_project()
    assert session.store.hits == N
    plain = load_project(fleet)
    assert [(s.config, s.file) for s in cached.services] == [(s.config, s.file) for s in plain.services]
    assert cached.spec_files == plain.spec_files
    for c, p in zip(cached.services, plain.services):
        for path in (("build", "keep_images"), ("environment", "account"), ("source", "repository"), ("tags",)):
            assert c.where(*path) == p.where(*path)


def test_no_cache_flag_and_environment_variable(fleet, monkeypatch):
    assert run_cli("validate", "--no-cache", root=fleet).status == 0
    assert not (fleet / cache.CACHE_DIR).exists()
    monkeypatch.setenv(cache.NO_CACHE_ENV, "1")
    assert run_cli("build", root=fleet).status == 0
    assert not (fleet / cache.CACHE_DIR).exists()


def test_store_is_bounded_least_recently_used_first(tmp_path):
    store = cache.Store(tmp_path, "t", limit=3)
    for i in range(5):
        store.put(f"k{i}", {"i": i})
    import os
    for i in range(5):  # k0 and k4 used most recently
        os.utime(store._path(f"k{i}"), (1000 + i, 1000 + i))
    os.utime(store._path("k0"), (5000, 5000))
    assert store.prune() == 2
    assert {p.stem for p in store.dir.glob("*.json")} == {"k0", "k3", "k4"}
    assert store.get("k0") == {"i": 0} and store.get("k1") is None


def test_unwritable_cache_costs_only_speed(fleet, twin):
    (fleet / cache.CACHE_DIR).parent.mkdir(parents=True)
    (fleet / cache.CACHE_DIR).write_text("not a directory")  # every cache write fails
    assert run_cli("build", root=fleet).status == 0
    assert _tree(fleet) == twin(fleet)


def test_fingerprint_covers_every_compiler_file(tmp_path):
    package = tmp_path / "compiler"
    shutil.copytree(Path(cache.__file__).parents[1], package, ignore=shutil.ignore_patterns("__pycache__"))
    before = cache.fingerprint_of(package)
    assert cache.fingerprint_of(package) == before
    for name in ("build/render/pipeline.py", "spec/models.py", "assets/notify/handler.py"):
        target = package / name
        original = target.read_bytes()
        target.write_bytes(original + b"\n# edit\n")
        assert cache.fingerprint_of(package) != before, name
        target.write_bytes(original)
    (package / "build/render/new_module.py").write_text("X = 1\n")
    assert cache.fingerprint_of(package) != before


@pytest.mark.slow
def test_cold_build_in_worker_processes_writes_the_same_bytes(fleet, twin, monkeypatch):
    from compiler.build import prerender
    from compiler.build.writer import write_tree

    monkeypatch.setattr(prerender, "MIN_SPECS", 2)
    session = Session.open(fleet, will_render=True, jobs=2)
    project = session.load_project()
    assert len(session.prefetched) == len(project.services), "the workers did not render"
    write_tree(fleet, compile_project(project, render=session.render).artifacts)
    session.save()
    assert not session.prefetched and session.rendered == len(project.services)
    assert _tree(fleet) == twin(fleet)
    assert [s.config for s in project.services] == [s.config for s in load_project(fleet).services]
    assert project.services[0].where("build", "keep_images") == load_project(fleet).services[0].where(
        "build", "keep_images")
    assert _build(fleet).rendered == 0  # and the workers' results were cached


@pytest.mark.slow
def test_invalid_spec_in_a_worker_gives_the_uncached_diagnostics(fleet, monkeypatch):
    from compiler.build import prerender

    monkeypatch.setattr(prerender, "MIN_SPECS", 2)
    bad = fleet / f"services/{service_name(5)}.yaml"
    bad.write_text(bad.read_text().replace("cluster: media", "cluster: media\n  bogus: 1", 1))
    session = Session.open(fleet, will_render=True, jobs=2)
    with pytest.raises(SpecError) as cached:
        session.load_project()
    with pytest.raises(SpecError) as plain:
        load_project(fleet)
    assert cached.value.diagnostics == plain.value.diagnostics
    assert any("bogus" in d.message for d in cached.value.diagnostics)


@pytest.mark.slow
def test_validating_in_workers_gives_the_plain_configurations(fleet, monkeypatch):
    from compiler.build import prerender

    used: list = []
    real = prerender.prerender
    monkeypatch.setattr(prerender, "MIN_SPECS_VALIDATE", 2)
    monkeypatch.setattr(prerender, "prerender", lambda *a, **k: used.append(a[2]) or real(*a, **k))
    cached = Session.open(fleet, will_render=False, jobs=2).load_project()
    assert used == [False]  # validated in the pool, nothing rendered
    plain = load_project(fleet)
    assert [(s.file, s.config) for s in cached.services] == [(s.file, s.config) for s in plain.services]


def test_validating_a_hundred_specs_stays_in_the_process():
    from compiler.build import prerender

    assert prerender.worth_it(100, 2, render=True) and not prerender.worth_it(100, 2, render=False)
    assert prerender.worth_it(prerender.MIN_SPECS_VALIDATE, 2, render=False)


# --- lint ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_lint_cache_gives_the_same_findings_and_skips_unchanged_templates(tmp_path):
    from compiler.build.ir import Artifact, BuildOutput, Stack
    from compiler.lint.cache import NAMESPACE, lint_output_cached
    from compiler.lint.engine import lint_output

    root = tmp_path / "small"
    write_fleet(root, 2)
    # one template with findings among the real ones (fault injection: a broken template)
    bad_path = "generated/bad-svc/prod/codepipeline.yml"
    bad = ("AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
           "    Properties:\n      Colour: blue\n")

    def output():
        out = compile_project(load_project(root))
        return BuildOutput(out.artifacts + (Artifact(bad_path, bad.encode()),),
                           out.stacks + (Stack("bad-svc-prod-pipeline", "pipeline", "111111111111", "eu-west-1",
                                                bad_path, "bad-svc", "prod"),))

    def lint(out):
        store = cache.Store(root, NAMESPACE)
        return lint_output_cached(out, root, jobs=1, store=store), store

    first = output()
    plain = lint_output(first, jobs=1)
    cold, _ = lint(first)
    assert cold.diagnostics == plain.diagnostics and any(d.code == "E3002" for d in cold.diagnostics)
    assert (cold.templates, cold.buildspecs, cold.suppressions) == (plain.templates, plain.buildspecs,
                                                                    plain.suppressions)
    assert cold.rule_loads, "cfn-lint ran on the cold cache"

    warm, store = lint(first)
    assert (warm.diagnostics, warm.suppressions) == (plain.diagnostics, plain.suppressions)
    assert warm.rule_loads == () and store.misses == 0, "a warm lint ran cfn-lint again"

    touch_spec(root, 1, revision=3)
    changed = output()
    after, store = lint(changed)
    assert after.diagnostics == lint_output(changed, jobs=1).diagnostics
    pairs = len(load_project(root, [service_name(1)]).services)
    # the changed service's two templates per environment and its buildspecs, nothing else
    assert 0 < store.misses <= 4 * pairs, "more than the changed service was linted"


@pytest.mark.slow
def test_lint_cli_is_the_same_with_and_without_cache(tmp_path):
    root = tmp_path / "one"
    write_fleet(root, 1)
    first = run_cli("lint", "-j", "1", root=root)
    second = run_cli("lint", "-j", "1", root=root)
    plain = run_cli("lint", "-j", "1", "--no-cache", root=root)
    assert first.status == second.status == plain.status
    assert first.out == second.out == plain.out and first.err == second.err == plain.err
    assert (root / cache.CACHE_DIR / "lint").is_dir()


@pytest.mark.parametrize("value", [
    {"files": {"generated/a.yml": ["f" * 64, 12, 1_764_657_613_123_456_789, 1_764_657_613_123_456_789, 42]}},
    {"big": 2**70, "negative": -(2**65)},  # beyond orjson's integers: json's encoder writes them
    {"keys": {1: "one", 2: ["two"]}},  # keys that are not strings: written as json writes them
    {"text": "é \u2028 \x00 \x7f \U0001F600", "list": [True, None, 0.5, []]},
])
@pytest.mark.parametrize("size", ["small", "large"])
def test_store_reads_back_what_json_would(tmp_path, value, size, monkeypatch):
    import json

    from compiler.core import fastjson

    if size == "large":  # written and read by orjson
        monkeypatch.setattr(fastjson, "LARGE_ITEMS", -1)
        monkeypatch.setattr(fastjson, "LARGE_BYTES", 0)
    store = cache.Store(tmp_path, "ns")
    store.put("k", value)
    assert store.get("k") == json.loads(json.dumps(value))
