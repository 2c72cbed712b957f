"""A few changed specs are built from the last build's state (compiler/build/delta.py), and that
shortcut never shows: for every edit here, a twin repository takes the full build, and both end
with the same generated/, print the same lines and exit the same way. Where the shortcut must not
answer (a conflict, an invalid spec, a hand edit it cannot vouch for) it declines, and the tests
check it did."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

import pytest

from benchmarks.fleet import service_name, spec_text, touch_spec, write_fleet
from compiler.build import delta as delta_mod
from compiler.build import uptodate
from compiler.spec import fleet as fleet_checks
from compiler.spec.project import load_project
from support.cli import run_cli

N = 8


def _tree(root: Path) -> dict[str, tuple[bytes, bool]]:
    return {p.relative_to(root).as_posix(): (p.read_bytes(), os.access(p, os.X_OK))
            for p in sorted((root / "generated").rglob("*")) if p.is_file()}


@pytest.fixture
def twins(tmp_path) -> tuple[Path, Path]:
    """Two built copies of one fleet: `fast` may take the shortcut, `full` never does."""
    fast = tmp_path / "fast"
    write_fleet(fast, N)
    assert run_cli("build", root=fast).status == 0
    full = tmp_path / "full"
    shutil.copytree(fast / "services", full / "services")
    assert run_cli("build", root=full).status == 0
    return fast, full


def _build_both(twins, edit: Callable[[Path], None], monkeypatch) -> tuple[object, object, list]:
    fast, full = twins
    used: list = []
    real = delta_mod.try_delta

    def spy(root, inputs):
        result = real(root, inputs)
        used.append(result)
        return result
    edit(fast)
    edit(full)
    monkeypatch.setattr(delta_mod, "try_delta", spy)
    got = run_cli("build", root=fast)
    monkeypatch.setattr(delta_mod, "try_delta", lambda root, inputs: None)
    want = run_cli("build", root=full)
    monkeypatch.undo()
    assert (got.status, got.err.replace(str(fast), "ROOT")) == (want.status, want.err.replace(str(full), "ROOT"))
    assert _tree(fast) == _tree(full)
    return got, want, used


def _extra_spec(root: Path, i: int = N) -> None:
    (root / "services" / f"{service_name(i)}.yaml").write_text(spec_text(i), encoding="utf-8")


EDITS = {
    "one value": lambda root: touch_spec(root, 3, revision=4),
    "a github-token spec (its warning)": lambda root: touch_spec(root, 2, revision=4),
    "two specs": lambda root: (touch_spec(root, 1, revision=2), touch_spec(root, 5, revision=2)),
    "a new spec": _extra_spec,
    "a spec removed": lambda root: (root / "services" / f"{service_name(4)}.yaml").unlink(),
    "an environment added (a new bootstrap)": lambda root: (root / "services" / f"{service_name(3)}.yaml").write_text(
        spec_text(3) + '  qa:\n    account: "999999999999"\n    region: sa-east-1\n', encoding="utf-8"),
    "a comment only": lambda root: (root / "services" / f"{service_name(6)}.yaml").open("a").write("# note\n"),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_the_shortcut_builds_what_the_full_build_does(twins, edit, monkeypatch):
    _, _, used = _build_both(twins, edit, monkeypatch)
    assert used and used[0] is not None, "the shortcut declined an edit it is there for"


def _same_repository(root: Path) -> None:
    """A new spec, a copy of another under its own name: the same ECR repository, ECS service and
    accounts -- every check of check_fleet fires."""
    text = spec_text(3).replace(f"name: {service_name(3)}", f"name: {service_name(N)}")
    (root / "services" / f"{service_name(N)}.yaml").write_text(text, encoding="utf-8")


def _invalid(root: Path) -> None:
    (root / "services" / f"{service_name(3)}.yaml").write_text(spec_text(3).replace("keep_images: 20", "keep_images: -1"))


def _hand_edit_and_change(root: Path) -> None:
    edited = root / f"generated/{service_name(1)}/prod/codepipeline.yml"
    st = edited.stat()
    edited.write_bytes(edited.read_bytes().replace(b"BUILD_GENERAL1_MEDIUM", b"BUILD_GENERAL1_MEDIUX", 1))
    os.utime(edited, ns=(st.st_atime_ns, st.st_mtime_ns))
    touch_spec(root, 3, revision=6)


def _lost_executable_bit_and_change(root: Path) -> None:
    script = next((root / "generated" / service_name(2)).rglob("update_taskdefinition.sh"))
    script.chmod(0o644)
    touch_spec(root, 3, revision=7)


def _defaults_changed(root: Path) -> None:
    defaults = root / "services" / "_defaults.yaml"
    defaults.write_text(defaults.read_text().replace("owner: platform-team", "owner: platform"))
    touch_spec(root, 3, revision=8)


def _many(root: Path) -> None:
    for i in range(N):
        touch_spec(root, i, revision=9)


DECLINED = {
    "a fleet-wide conflict": _same_repository,
    "an invalid spec": _invalid,
    "a hand-edited file of another service": _hand_edit_and_change,
    "a lost executable bit elsewhere": _lost_executable_bit_and_change,
    "_defaults.yaml changed": _defaults_changed,
    "more changes than MAX_CHANGED": _many,
}


@pytest.mark.parametrize("edit", DECLINED.values(), ids=DECLINED.keys())
def test_the_shortcut_declines_what_it_cannot_vouch_for(twins, edit, monkeypatch):
    monkeypatch.setattr(delta_mod, "MAX_CHANGED", N - 1)
    _, _, used = _build_both(twins, edit, monkeypatch)
    assert used == [None]


def _damage_state(change: Callable[[dict], None]) -> Callable[[Path], None]:
    """An edit that also rewrites the last build's state (a valid cache entry, other content)."""
    def edit(root: Path) -> None:
        key = uptodate.newest(root)[0]
        states = uptodate.cache.Store(root, uptodate.STATES)
        state = states.get(key)
        change(state)
        states.put(key, state)
        touch_spec(root, 3, revision=19)
    return edit


def _first_env(state: dict) -> dict:
    return next(iter(next(iter(state["specs"].values()))["envs"].values()))


STATES = {
    "another state format": lambda state: state.update(format=1),
    "no format": lambda state: state.pop("format"),
    "an index entry of another shape": lambda state: _first_env(state)["index"].update(stacks=[["pipeline", "x"]]),
    "an index entry with a number": lambda state: _first_env(state)["index"].update(region=7),
    "an index entry missing": lambda state: _first_env(state).pop("index"),
}


@pytest.mark.parametrize("last", ["", "garbage\n", "../../../etc/passwd", "A" * 64, "0" * 64, "\u00e9" * 64])
def test_a_last_pointer_it_cannot_follow_makes_it_decline(twins, last, monkeypatch):
    def edit(root: Path) -> None:
        (root / ".shipspec/cache/builds/LAST").write_text(last, encoding="utf-8")
        touch_spec(root, 3, revision=21)
    _, _, used = _build_both(twins, edit, monkeypatch)
    assert used == [None]


@pytest.mark.parametrize("change", STATES.values(), ids=STATES.keys())
def test_a_state_it_cannot_read_makes_it_decline(twins, change, monkeypatch):
    _, _, used = _build_both(twins, _damage_state(change), monkeypatch)
    assert used == [None]


def test_a_stray_file_is_removed_and_a_deleted_one_restored_as_by_the_full_build(twins, monkeypatch):
    def edit(root: Path) -> None:
        (root / "generated" / service_name(1) / "stray.yml").write_text("x: 1\n")
        touch_spec(root, 3, revision=10)
    _build_both(twins, edit, monkeypatch)

    def delete(root: Path) -> None:
        next((root / "generated" / service_name(5)).rglob("buildspec.yml")).unlink()
        touch_spec(root, 3, revision=11)
    _, _, used = _build_both(twins, delete, monkeypatch)
    assert used == [None]  # a missing file: the full build decides


def test_consecutive_edits_keep_taking_the_shortcut_and_a_no_op_follows(twins, monkeypatch):
    fast, _ = twins
    for revision in range(12, 15):  # files written by the previous build are racy: read back, not trusted
        _, _, used = _build_both(twins, lambda root, r=revision: touch_spec(root, (r % 3) + 1, revision=r),
                                 monkeypatch)
        assert used[0] is not None
    assert uptodate.check(fast, uptodate.project_key(fast)) is not None


def test_an_edit_undone_and_redone_keeps_taking_the_shortcut(twins, monkeypatch):
    """Going back to specs built before reads (and so freshens) that older record first; the
    shortcut must still start from the record generated/ matches now."""
    for revision in (16, 17, 16, 17, 0):
        _, _, used = _build_both(twins, lambda root, r=revision: touch_spec(root, 2, revision=r), monkeypatch)
        assert used[0] is not None, f"declined the edit to revision {revision}"


def test_a_no_op_on_an_older_record_makes_it_the_one_the_next_build_starts_from(twins, monkeypatch):
    fast, _ = twins
    first = uptodate.newest(fast)[0]
    store = uptodate.cache.Store(fast, uptodate.NAMESPACE)
    entry = store.get(first)
    entry["stamp"] += 10**9  # its files are no longer racy: a no-op on it trusts their stat
    store.put(first, entry)
    spec = fast / "services" / f"{service_name(6)}.yaml"
    text = spec.read_text()
    spec.write_text(text + "# note\n")  # another key, the same files
    assert run_cli("build", root=fast).status == 0 and uptodate.newest(fast)[0] != first
    spec.write_text(text)  # undone: generated/ is again exactly what the first record says
    assert run_cli("build", root=fast).err.splitlines()[-1].startswith("generated/ is up to date")
    assert uptodate.newest(fast)[0] == first


def _moved(b, a, **service):
    """b's configuration in a's account and region, with some service settings replaced."""
    c = b.config
    update = {"environment": a.config.environment}
    if service:
        update["service"] = c.service.model_copy(update=service)
    return type(b)(c.model_copy(update=update), b.located, b.file)


def _agent(s, **settings):
    return s.config.service.ec2_agent_config.model_copy(update=settings)


@pytest.mark.parametrize("case", ["no conflict", "same ECR repository", "same ECS service", "other agent settings"])
def test_fleet_facts_find_exactly_the_conflicts_the_fleet_checks_report(tmp_path, case):
    root = tmp_path / "fleet"
    write_fleet(root, 12)
    services = list(load_project(root).services)
    assert not fleet_checks.check_fleet(services)
    ec2 = [s for s in services if s.config.service.launch_type == "EC2"]
    fargate = [s for s in services if s.config.service.launch_type != "EC2"]
    a = fargate[0]
    b = next(s for s in fargate if s.config.name != a.config.name and s.config.service.cluster != a.config.service.cluster)
    if case == "no conflict":
        pair = [a, _moved(b, a)]
    elif case == "same ECR repository":
        moved = _moved(b, a)
        pair = [a, type(b)(moved.config.model_copy(update={"build": moved.config.build.model_copy(
            update={"ecr_repository": a.config.build.ecr_repository})}), b.located, b.file)]
    elif case == "same ECS service":
        pair = [a, _moved(b, a, cluster=a.config.service.cluster, name=a.config.ecs_service_name)]
    else:
        a = ec2[0]
        b = next(s for s in ec2 if s.config.name != a.config.name)
        pair = [a, _moved(b, a, cluster=a.config.service.cluster,
                          ec2_agent_config=_agent(b, task_cleanup_wait="2h"))]
    reported = bool(fleet_checks.check_fleet(pair))
    assert reported == (case != "no conflict")
    assert fleet_checks.any_conflict(fleet_checks.facts(s) for s in pair) == reported
