"""checkov on every generated template: zero failed checks; every skip justified.

checkov pins its own boto3/packaging versions, so it lives in its own virtual environment
(`make checkov` creates .venv-checkov; `make test` depends on it). The binary is taken from
SHIPSPEC_CHECKOV or <repo>/.venv-checkov/bin/checkov; without either the test skips. checkov
runs once over a directory holding all templates (it is slow to start).
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml

from compiler.build.compile import compile_project
from compiler.lint.engine import templates_of
from compiler.lint.rules import TemplateDoc
from compiler.lint.suppress import checkov_skips
from compiler.spec.project import load_project
from support.cli import REPO as ROOT

pytestmark = pytest.mark.slow



def _checkov() -> str | None:
    given = os.environ.get("SHIPSPEC_CHECKOV")
    if given:
        return given
    default = ROOT / ".venv-checkov" / "bin" / "checkov"
    return str(default) if default.exists() else None


@pytest.fixture(scope="module")
def templates():
    return templates_of(compile_project(load_project(ROOT)))


@pytest.fixture(scope="module")
def checkov_reports(templates, tmp_path_factory):
    binary = _checkov()
    if binary is None:
        pytest.skip("checkov not installed: run `make checkov` (creates .venv-checkov) or set SHIPSPEC_CHECKOV")
    out = tmp_path_factory.mktemp("checkov")
    for t in templates:
        path = out / t.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(t.text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "PRISMA_", "AWS_PROFILE"))}
    proc = subprocess.run([binary, "-d", str(out), "--framework", "cloudformation", "-o", "json", "--quiet",
                           "--skip-download"], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode in (0, 1), f"checkov failed to run ({proc.returncode}): {proc.stderr[-2000:]}"
    data = json.loads(proc.stdout)
    return data if isinstance(data, list) else [data]


def test_checkov_scanned_every_template(checkov_reports, templates):
    resources = sum(len(yaml.safe_load(t.text)["Resources"]) for t in templates)
    scanned = sum(r["summary"]["resource_count"] for r in checkov_reports)
    assert scanned == resources, "checkov did not parse every resource of every template"
    assert sum(r["summary"]["parsing_errors"] for r in checkov_reports) == 0


def test_checkov_has_no_failed_checks(checkov_reports):
    failed = [f"{f['file_path']}: {f['resource']}: {f['check_id']} {f['check_name']}"
              for r in checkov_reports for f in r["results"].get("failed_checks", [])]
    assert failed == [], "checkov findings (fix the template, or skip with a one-line justification):\n" + \
        "\n".join(sorted(failed))


def test_every_checkov_skip_is_justified_and_honoured(checkov_reports, templates):
    skips = [s for t in templates for s in checkov_skips(TemplateDoc(t.path, yaml.safe_load(t.text)))]
    unjustified = [f"{s.resource} {s.id}" for s in skips if not s.reason or "\n" in s.reason]
    assert unjustified == [], f"checkov skips without a one-line comment: {unjustified}"
    assert sum(r["summary"]["skipped"] for r in checkov_reports) == len(skips), \
        "every skip in template metadata must match a check checkov ran (no stale or misspelt ids)"
