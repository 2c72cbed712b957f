"""The published JSON Schema: generated from the models, accepted by editors' validators."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from compiler.spec.schema import SCHEMA_PATH, schema_bytes


@pytest.fixture(scope="module")
def schema(repo_root):
    return json.loads((repo_root / SCHEMA_PATH).read_text())


def test_committed_schema_is_generated_from_models(repo_root):
    assert (repo_root / SCHEMA_PATH).read_bytes() == schema_bytes()


def test_examples_and_defaults_satisfy_schema(repo_root, schema):
    files = sorted((repo_root / "services").glob("*.yaml"))
    assert len(files) >= 4
    for f in files:
        jsonschema.validate(yaml.safe_load(f.read_text()), schema)
        assert f.read_text().startswith("# yaml-language-server: $schema=../schema/service.schema.json")


def test_schema_rejects_what_validation_rejects(schema):
    bad = [
        {"name": "x", "build": {"ecr_repository": "a", "compute_type": "HUGE"}},
        {"name": "svc-a", "biuld": {}},
        {"name": "svc-a", "environments": {"Prod": {"account": "111111111111"}}},
        {"name": "svc-a", "environments": {"prod": {"account": 111111111111}}},
        {"name": "svc-a", "deploy": {"timeout_minutes": 481}},
        {"name": "svc-a", "deploy": {"strategy": "big_bang"}},
        {"name": "svc-a", "deploy": {"linear": {"step_percent": 2}}},
    ]
    for doc in bad:
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc, schema)


def test_every_field_is_described(schema):
    def walk(node, path):
        if isinstance(node, dict):
            for key, prop in (node.get("properties") or {}).items():
                assert prop.get("description"), f"{path}.{key} has no description"
            for k, v in node.items():
                walk(v, f"{path}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{path}[{i}]")
    walk(schema, "$")


def test_check_jsonschema_cli_accepts_examples(repo_root):
    exe = Path(sys.executable).parent / "check-jsonschema"
    files = [str(p) for p in sorted((repo_root / "services").glob("*.yaml"))]
    proc = subprocess.run([str(exe), "--schemafile", str(repo_root / SCHEMA_PATH), *files],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
