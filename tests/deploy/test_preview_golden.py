"""The preview a reviewer reads, as golden files: tests/golden/preview/<case>/ holds a spec before
and after an edit (`before.yaml`, `after.yaml`, on the shared `_defaults.yaml`) and what
`shipspec diff` prints (`diff.txt`) and what `shipspec plan` shows for the same change (text,
markdown and JSON: `plan.txt`, `plan.md`, `plan.json`, from the offline prediction a plan
merges with the change set). Regenerate with `pytest --update-golden` and review the diff."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from compiler.build.compile import compile_project
from compiler.cli import report_plan
from compiler.cli.report_diff import text_report
from compiler.deploy.plan import DeployedState, Plan, StackPlan, dumps
from compiler.deploy.stackdiff import diff_project
from compiler.spec.project import load_project
from support.cli import REPO

CASES = REPO / "tests" / "golden" / "preview"
OUTPUTS = ("diff.txt", "plan.txt", "plan.md", "plan.json")


class Committed:
    """generated/ as a build of the `before` spec wrote it: what `diff` reads from git."""

    ref, commit = "base", "0" * 40

    def __init__(self, output):
        self.blobs = {a.path: a.content for a in output.artifacts}

    def read(self, path: str) -> bytes | None:
        return self.blobs.get(path)

    def files(self, under: str) -> list[str]:
        return sorted(p for p in self.blobs if p.startswith(under.rstrip("/") + "/"))


def _build(tmp: Path, spec: Path):
    (tmp / "services").mkdir(parents=True)
    shutil.copy(CASES / "_defaults.yaml", tmp / "services" / "_defaults.yaml")
    name = next(line.split(":", 1)[1].strip() for line in spec.read_text().splitlines() if line.startswith("name:"))
    shutil.copy(spec, tmp / "services" / f"{name}.yaml")
    return compile_project(load_project(tmp))


def _plan(diffs, output) -> Plan:
    sha = {a.path: a.sha256 for a in output.artifacts}
    stacks = tuple(
        StackPlan(d.stack, "pipeline" if d.template.endswith("codepipeline.yml") else
                  "bootstrap" if "/_bootstrap/" in d.template else "notification",
                  d.account, d.region, d.service or None, d.environment or None,
                  "update" if d.changes else "no-change", sha[d.template], changes=d.changes,
                  deployed=DeployedState("deployed-event", "f" * 64), runtime=d.runtime)
        for d in diffs)
    return Plan(stacks, base="b" * 40, head="c" * 40, target="aws")


def render(case: Path, tmp: Path) -> dict[str, str]:
    before = _build(tmp / "before", case / "before.yaml")
    after = _build(tmp / "after", case / "after.yaml")
    committed = Committed(before)
    diffs = sorted(diff_project(after, committed), key=lambda d: d.template)
    plan = _plan(diffs, after)
    return {"diff.txt": text_report(diffs, committed.ref, committed.commit) + "\n",
            "plan.txt": report_plan.text(plan), "plan.md": report_plan.markdown(plan), "plan.json": dumps(plan)}


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_preview_case(case, tmp_path, update_golden):
    got = render(CASES / case, tmp_path)
    if update_golden:
        for name, text in got.items():
            (CASES / case / name).write_text(text, encoding="utf-8")
    for name in OUTPUTS:
        expected = (CASES / case / name).read_text(encoding="utf-8")
        assert got[name] == expected, f"{case}/{name} differs from the golden file (review, then --update-golden)"


def test_the_cases_show_what_the_issue_asks_for(tmp_path):
    """The lines a reviewer must see, whatever else the golden files hold."""
    expect = {
        "stage-insert": ["+ stage Test (after Source): action Unit (CodeBuild)"],
        "action-add": ["+ action Lint (CodeBuild) in stage Test"],
        "env-var-change": ['~ Environment.EnvironmentVariables[TARGET_URL].Value: "https://stg.shop.example.com" -> '
                           '"https://stg-2.shop.example.com"',
                           '+ environment variable FEATURE_CART = "on"',
                           '~ environment variable LOG_LEVEL: "info" -> "debug"',
                           "action item: shop-api (stg): copy generated/shop-api/stg/update_taskdefinition.sh to "
                           "codepipeline/update_taskdefinition.sh in repository example-corp/shop-api, branch main"],
        "statement-removal": ["- Policies[stage-action].PolicyDocument.Statement[ReadConfig]"],
        "tag-change": ['~ Tags[team].Value: "shop-core" -> "shop-checkout"',
                       '+ Tags[cost-center]: {"Key": "cost-center", "Value": "4711"}'],
    }
    for case, lines in expect.items():
        got = render(CASES / case, tmp_path / case)
        for line in lines:
            for name in ("diff.txt", "plan.txt"):
                assert line in got[name], f"{case}/{name}: {line!r} missing"
        assert "Stages[1]" not in got["diff.txt"] and "Stages[2]" not in got["diff.txt"], case  # never by index
