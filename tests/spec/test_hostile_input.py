"""Hostile input: whatever bytes a spec holds, the compiler answers with exit 0 or 1 and
diagnostics in the documented format -- never a traceback, never a hang, and generated/
is untouched when it fails."""

from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compiler.core.diagnostics import SpecError
from compiler.spec.schema import service_schema
from compiler.spec.project import load_project
from compiler.spec.yamlsrc import load_text

from support.cli import run_cli

DIAG = re.compile(r"^services/[^:]+:\d+:\d+: error: .+$")
VALID = {
    "name": "svc-a",
    "source": {"provider": "codestar", "repository": "example-corp/svc-a",
               "connection_arn": "arn:aws:codeconnections:ap-northeast-1:111111111111:connection/abc"},
    "build": {"ecr_repository": "media/svc-a"},
    "service": {"cluster": "media", "environment": {"LOG_LEVEL": "info"}},
    "environments": {"stg": {"account": "111111111111", "region": "ap-northeast-1"}},
}
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                            HealthCheck.function_scoped_fixture])


def from_schema(schema: dict, root: dict | None = None, depth: int = 0) -> st.SearchStrategy:
    """Values that follow the published schema (types, enums, patterns, bounds, required keys)."""
    root = root or schema
    if "$ref" in schema:
        return from_schema(root["$defs"][schema["$ref"].split("/")[-1]], root, depth)
    if "anyOf" in schema:
        return st.one_of(*[from_schema(s, root, depth) for s in schema["anyOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    kind = schema.get("type")
    if kind == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 40), 40))
    if kind == "integer":
        return st.integers(schema.get("minimum", -(10**6)), schema.get("maximum", 10**6))
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {}), root, depth + 1), max_size=3 if depth < 3 else 0)
    if kind == "object":
        props = schema.get("properties")
        if props is None:
            values = from_schema(schema.get("additionalProperties") or {"type": "string"}, root, depth + 1)
            names = from_schema(schema.get("propertyNames") or {"type": "string", "maxLength": 12}, root, depth + 1)
            return st.dictionaries(names, values, max_size=3 if depth < 3 else 0)
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: from_schema(v, root, depth + 1) for k, v in props.items() if k in required},
            optional={k: from_schema(v, root, depth + 1) for k, v in props.items() if k not in required},
        )
    return st.one_of(st.none(), st.integers(), st.text(max_size=10))


def _check_outcome(root: Path, text: str | bytes) -> None:
    spec = root / "services" / "svc-a.yaml"
    spec.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    result = run_cli("validate", root=root)
    assert result.status in (0, 1), result.err
    assert "Traceback" not in result.err and "internal error" not in result.err, result.err
    if result.status == 1:
        lines = result.err.splitlines()
        assert lines[-1].endswith("nothing was written or deployed.")
        for line in lines[:-1]:
            assert DIAG.match(line), line


@pytest.fixture
def root(tmp_path):
    (tmp_path / "services").mkdir()
    return tmp_path


def _mutations():
    leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
                     st.text(max_size=50), st.text(min_size=5000, max_size=6000),
                     st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))
    return st.tuples(st.sampled_from(["replace", "delete", "nest"]), st.lists(st.integers(0, 50), min_size=1, max_size=4),
                     leaf)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))


def _apply(doc, mutation):
    kind, picks, value = mutation
    paths = [p for p in _paths(doc) if p]
    path = paths[picks[0] % len(paths)]
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    if kind == "delete":
        del parent[path[-1]]
    elif kind == "nest":
        deep = value
        for _ in range(picks[-1] + 1):
            deep = {"x": deep}
        parent[path[-1]] = deep
    else:
        parent[path[-1]] = value


@SETTINGS
@given(st.lists(_mutations(), min_size=1, max_size=4))
def test_mutated_valid_specs(root, mutations):
    doc = copy.deepcopy(VALID)
    for m in mutations:
        _apply(doc, m)
    _check_outcome(root, yaml.safe_dump(doc, allow_unicode=True))


@SETTINGS
@given(from_schema(service_schema()))
def test_specs_generated_from_the_schema(root, doc):
    _check_outcome(root, json.dumps({**doc, "name": "svc-a"}))


@SETTINGS
@given(st.binary(max_size=400), st.integers(0, 600))
def test_mutated_yaml_bytes(root, junk, at):
    base = yaml.safe_dump(VALID).encode()
    at = min(at, len(base))
    _check_outcome(root, base[:at] + junk + base[at:])


def _timed_error(root: Path, text: bytes, expect: str) -> None:
    (root / "generated").mkdir(exist_ok=True)
    (root / "generated" / "old.txt").write_text("old\n")
    (root / "services" / "svc-a.yaml").write_bytes(text)
    start = time.monotonic()
    result = run_cli("build", root=root)
    elapsed = time.monotonic() - start
    assert result.status == 1
    assert expect in result.err, result.err
    assert "Traceback" not in result.err
    assert elapsed < 2, f"took {elapsed:.1f}s"
    assert sorted(p.name for p in (root / "generated").iterdir()) == ["old.txt"]


def test_alias_bomb(root):
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
    _timed_error(root, ("\n".join(lines) + "\nname: svc-a\n").encode(), "alias bomb")


def test_ten_megabyte_file(root):
    _timed_error(root, b"name: svc-a\ndescription: " + b"x" * 10_000_000 + b"\n", "larger than")


def test_ten_thousand_levels_of_nesting(root):
    _timed_error(root, b"name: " + b"[" * 10_000 + b"]" * 10_000 + b"\n", "nesting")


def test_deep_block_nesting(root):
    text = "".join(" " * i + f"k{i}:\n" for i in range(200)) + " " * 200 + "k: v\n"
    _timed_error(root, text.encode(), "nesting")


def test_not_utf8(root):
    _timed_error(root, b"name: \xff\xfe svc\n", "not valid UTF-8")


def test_only_safe_yaml_tags(root):
    _timed_error(root, b"name: !!python/object/apply:os.system ['true']\n", "error")


def test_loader_reports_every_duplicate_key():
    with pytest.raises(SpecError) as info:
        load_text("a: 1\na: 2\nb: 1\nb: 2\n", "services/x.yaml")
    assert [d.location.line for d in info.value.diagnostics] == [2, 4]


def test_valid_baseline_is_valid(root):
    (root / "services" / "svc-a.yaml").write_text(yaml.safe_dump(VALID))
    assert len(load_project(root).services) == 1


# --- issue 16: what got past the loader and the secret scan ------------------------------------

FAKE_KEY_ID = "AKIA" + "IOSFODNN7EXAMPLE"  # AWS's documentation example, built from parts


def _spec(**changes) -> str:
    doc = copy.deepcopy(VALID)
    for dotted_path, value in changes.items():
        node = doc
        *parents, last = dotted_path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value
    return yaml.safe_dump(doc)


@pytest.mark.parametrize("text", [
    b"name: svc-a\ntags: !!python/object/apply:os.system ['true']\n",
    b"name: svc-a\nsource: !!python/object/new:dict {provider: s3}\n",
    b"name: svc-a\nservice: !Ref [Cluster]\n",
    b"name: svc-a\nbuild: {build_args: !!set {A: null}}\n",
])
def test_tags_on_collections_are_refused_like_tags_on_scalars(root, text):
    _timed_error(root, text, "unsupported YAML tag")


def test_a_tag_is_reported_where_it_is_written(root):
    (root / "services" / "svc-a.yaml").write_text(_spec() + "description: !Sub x\nstages: !Ref [y]\n")
    err = run_cli("validate", root=root).err
    lines = len(_spec().splitlines())
    assert f"services/svc-a.yaml:{lines + 1}:14: error: unsupported YAML tag !Sub" in err
    assert f"services/svc-a.yaml:{lines + 2}:9: error: unsupported YAML tag !Ref" in err


def test_a_binary_scalar_is_scanned_after_decoding(root):
    encoded = __import__("base64").b64encode(FAKE_KEY_ID.encode()).decode()
    (root / "services" / "svc-a.yaml").write_text(_spec() + f"description: !!binary {encoded}\n")
    result = run_cli("validate", root=root)
    assert result.status == 1
    assert "description: this value looks like an AWS access key id" in result.err
    assert FAKE_KEY_ID not in result.err and encoded not in result.err


def test_a_credential_used_as_a_mapping_key_is_found(root):
    (root / "services" / "svc-a.yaml").write_text(_spec(**{"service.environment": {FAKE_KEY_ID: "x"}}))
    result = run_cli("validate", root=root)
    assert result.status == 1
    assert "this key looks like an AWS access key id" in result.err


@pytest.mark.parametrize("field", ["tags.db", "build.build_args.DB", "service.environment.DB", "description"])
def test_dynamic_references_are_refused_wherever_a_value_lands(root, field):
    ref = "{{resolve:secretsmanager:other-team/db:SecretString:password}}"
    (root / "services" / "svc-a.yaml").write_text(_spec(**{field: ref}))
    result = run_cli("build", root=root)
    assert result.status == 1
    assert f"{field}: this value holds a CloudFormation dynamic reference" in result.err
    assert "service.secrets for the running container, or build.secrets for the image build" in result.err
    assert not (root / "generated").exists()


def test_dynamic_reference_in_a_stage_environment_is_refused(root):
    stage = {"name": "Smoke", "after": "Deploy", "actions": [{
        "name": "Check", "commands": ["echo ok"],
        "environment": {"OTHER": "{{resolve:ssm-secure:/other-team/db}}"}}]}
    env = {"account": "111111111111", "region": "ap-northeast-1", "stages": [stage]}
    (root / "services" / "svc-a.yaml").write_text(_spec(**{"environments.stg": env}))
    result = run_cli("validate", root=root)
    assert result.status == 1
    assert "environments.stg.stages[0].actions[0].environment.OTHER: this value holds a CloudFormation dynamic" \
        in result.err


def test_documented_limits_are_the_codes(repo_root):
    from compiler.spec import yamlsrc

    doc = (repo_root / "docs" / "security.md").read_text()
    assert f"at most {yamlsrc.MAX_NODES:,} nodes after alias expansion (`MAX_NODES`" in doc
    assert f"{yamlsrc.MAX_DEPTH} levels of nesting (`MAX_DEPTH`" in doc
    assert f"files over {yamlsrc.MAX_BYTES // 1_000_000} MB (`MAX_BYTES`)" in doc


@pytest.mark.parametrize("field", ["service.cluster", "service.name", "service.container"])
def test_a_heredoc_delimiter_line_in_a_name_is_refused_not_an_internal_error(root, field):
    value = "media\nSHIPSPEC_UPDATE_TASKDEFINITION_EOF\nrm -rf /"
    (root / "services" / "svc-a.yaml").write_text(_spec(**{field: value}))
    for command in ("validate", "build"):
        result = run_cli(command, root=root)
        assert result.status == 1 and "internal error" not in result.err, result.err
        assert f"{field}: " in result.err and "it holds a newline or another control character" in result.err


def test_ignored_files_that_look_like_specs_or_defaults_are_warnings(root):
    (root / "services" / "svc-a.yaml").write_text(_spec())
    defaults = "environments: {stg: {account: '111111111111', region: ap-northeast-1}}\n"
    for name in ("_defaults.yml", "_Defaults.yaml", "x.YAML", "team/svc-b.yaml", "team/deep/svc-c.yml"):
        (root / "services" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "services" / name).write_text(defaults)
    (root / "services" / "_notes.yaml").write_text("# files starting with _ are not services\n")
    (root / "services" / "README.md").write_text("not yaml\n")
    expected = [
        "services/_Defaults.yaml:1:1: warning: ignored: the defaults are read only from services/_defaults.yaml",
        "services/_defaults.yml:1:1: warning: ignored: the defaults are read only from services/_defaults.yaml",
        "services/team/deep/svc-c.yml:1:1: warning: ignored: specs are read only from services/ itself",
        "services/team/svc-b.yaml:1:1: warning: ignored: specs are read only from services/ itself",
        "services/x.YAML:1:1: warning: ignored: spec files end in lowercase .yaml or .yml; rename it to x.yaml",
    ]
    for command in ("validate", "build"):
        result = run_cli(command, root=root)
        assert result.status == 0, result.err
        lines = result.err.splitlines()
        assert [line[:len(e)] for line, e in zip(lines, expected)] == expected, result.err
        assert len([line for line in lines if ": warning: " in line]) == len(expected)
    as_json = json.loads(run_cli("validate", "--format", "json", root=root).out)
    assert [(w["file"], w["severity"]) for w in as_json] == [(e.split(":")[0], "warning") for e in expected]
    # with an error, the warnings come with it (an ignored defaults file may explain the error)
    (root / "services" / "svc-a.yaml").write_text(_spec(**{"service.cluster": "*"}))
    failed = run_cli("validate", root=root)
    assert failed.status == 1 and failed.err.splitlines()[-1] == "1 error; nothing was written or deployed."
    assert "services/x.YAML:1:1: warning:" in failed.err


def test_github_token_is_deprecated_with_the_migration_pointer(root):
    src = {"provider": "github-token", "repository": "example-corp/svc-a", "token_secret": {"id": "cicd/token"}}
    (root / "services" / "svc-a.yaml").write_text(_spec(source=src))
    text = (root / "services" / "svc-a.yaml").read_text()
    line = text.splitlines().index("  provider: github-token") + 1
    for _ in range(2):  # the second run is served from the cache: the same warning
        result = run_cli("validate", root=root)
        assert result.status == 0, result.err
        assert result.err.splitlines()[0] == (
            f"services/svc-a.yaml:{line}:13: warning: source.provider: provider github-token is deprecated: it makes "
            "a GitHub version 1 source action (an OAuth token), which AWS no longer recommends; move to provider "
            "codestar with a CodeConnections connection (README: \"Migrating from github-token\")")
