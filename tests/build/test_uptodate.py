"""The no-op shortcut (compiler/build/uptodate.py) only ever says "up to date" when the full build
would: any change that matters (a spec, _defaults.yaml, the compiler, a file under generated/
edited, added or removed, even within the same clock tick, an interrupted build) falls through to
the full build, and what a no-op prints is what the full build prints."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from benchmarks.fleet import service_name, touch_spec, write_fleet
from compiler.build import cache, uptodate
from compiler.build.writer import NEW
from support.cli import run_cli

N = 6


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted((root / "generated").rglob("*")) if p.is_file()}


def _age(root: Path, seconds: int = 60) -> None:
    """Make the record as old as a record taken `seconds` ago (no file is racy any more)."""
    key = uptodate.project_key(root)
    store = cache.Store(root, uptodate.NAMESPACE)
    entry = store.get(key)
    entry["stamp"] -= seconds * 1_000_000_000
    store.put(key, entry)


def _check(root: Path):
    return uptodate.check(root, uptodate.project_key(root))


@pytest.fixture
def fleet(tmp_path) -> Path:
    root = tmp_path / "fleet"
    write_fleet(root, N)
    assert run_cli("build", root=root).status == 0
    return root


def test_a_build_records_and_a_no_op_is_proved_without_building(fleet):
    done = _check(fleet)
    assert done is not None and done.files == len(_tree(fleet))
    _age(fleet)
    assert _check(fleet) == done
    assert run_cli("build", root=fleet).err.splitlines()[-1] == f"generated/ is up to date ({done.files} files)"


def test_spec_or_defaults_change_is_a_different_key(fleet):
    key = uptodate.project_key(fleet)
    touch_spec(fleet, 2, revision=9)
    assert uptodate.project_key(fleet) != key and _check(fleet) is None
    touch_spec(fleet, 2, revision=0)
    assert uptodate.project_key(fleet) == key
    defaults = fleet / "services/_defaults.yaml"
    defaults.write_bytes(defaults.read_bytes() + b"\n")
    assert uptodate.project_key(fleet) != key
    (fleet / f"services/{service_name(N)}.yaml").write_text("name: x\n")
    assert uptodate.project_key(fleet) != key


def test_the_compiler_fingerprint_is_part_of_the_key(fleet, monkeypatch):
    key = uptodate.project_key(fleet)
    monkeypatch.setattr(cache, "compiler_fingerprint", lambda: "another compiler")
    assert uptodate.project_key(fleet) != key


@pytest.mark.parametrize("racy", [True, False], ids=["same-tick", "later"])
def test_a_hand_edit_keeping_size_and_times_is_still_seen(fleet, racy):
    if not racy:
        _age(fleet)
        assert _check(fleet) is not None
    edited = fleet / f"generated/{service_name(1)}/prod/codepipeline.yml"
    before, st = edited.read_bytes(), edited.stat()
    edited.write_bytes(before.replace(b"BUILD_GENERAL1_MEDIUM", b"BUILD_GENERAL1_MEDIUX", 1))  # same size
    os.utime(edited, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old modification time
    assert edited.stat().st_size == st.st_size and edited.read_bytes() != before
    assert _check(fleet) is None
    err = run_cli("build", root=fleet).err
    assert f"updated  generated/{service_name(1)}/prod/codepipeline.yml" in err
    assert edited.read_bytes() == before


def test_added_removed_files_and_journal_fall_through(fleet):
    _age(fleet)
    extra = fleet / "generated/stray.txt"
    extra.write_text("x")
    assert _check(fleet) is None
    extra.unlink()
    assert _check(fleet) is not None
    gone = fleet / f"generated/{service_name(2)}/prod/buildspec.yml"
    content = gone.read_bytes()
    gone.unlink()
    assert _check(fleet) is None
    assert "added   " in run_cli("build", root=fleet).err and gone.read_bytes() == content
    (fleet / NEW).mkdir()
    assert _check(fleet) is None


def test_racy_files_are_hashed_then_trusted(fleet):
    assert _check(fleet) is not None  # every file is racy right after the build: hashed
    _age(fleet)
    assert _check(fleet) is not None


def test_no_op_prints_what_the_full_build_prints(fleet, tmp_path):
    (fleet / "services/_defaults.yml").write_text("{}\n")  # an ignored file: a warning
    full = run_cli("build", root=fleet)
    assert full.status == 0 and "github-token is deprecated" in full.err  # the fleet has such specs
    _age(fleet)
    assert _check(fleet) is not None
    shortcut = run_cli("build", root=fleet)
    reference = tmp_path / "reference"
    shutil.copytree(fleet, reference)
    shutil.rmtree(reference / ".shipspec")
    uncached = run_cli("build", "--no-cache", root=reference)
    assert (shortcut.status, shortcut.err) == (uncached.status, uncached.err.replace(str(reference), str(fleet)))
    assert "generated/ is up to date" in shortcut.err and "github-token is deprecated" in shortcut.err
    for fmt in ("json", "github"):
        assert run_cli("build", "--format", fmt, root=fleet).err == \
            run_cli("build", "--no-cache", "--format", fmt, root=reference).err


def test_no_cache_neither_reads_nor_writes_records(tmp_path):
    root = tmp_path / "fleet"
    write_fleet(root, 2)
    assert run_cli("build", "--no-cache", root=root).status == 0
    assert not (root / cache.CACHE_DIR).exists()


def _reference(fleet: Path, tmp_path: Path) -> dict[str, bytes]:
    ref = tmp_path / "reference"
    shutil.rmtree(ref, ignore_errors=True)
    shutil.copytree(fleet / "services", ref / "services")
    assert run_cli("build", "--no-cache", root=ref).status == 0
    return _tree(ref)


def test_a_changed_spec_build_trusts_recorded_stat_and_still_sees_hand_edits(fleet, tmp_path):
    _age(fleet)
    edited = fleet / f"generated/{service_name(1)}/prod/codepipeline.yml"
    before, st = edited.read_bytes(), edited.stat()
    edited.write_bytes(before.replace(b"BUILD_GENERAL1_MEDIUM", b"BUILD_GENERAL1_MEDIUX", 1))
    os.utime(edited, ns=(st.st_atime_ns, st.st_mtime_ns))
    touch_spec(fleet, 3, revision=7)
    err = run_cli("build", root=fleet).err
    assert f"updated  generated/{service_name(1)}/prod/codepipeline.yml" in err
    assert edited.read_bytes() == before
    assert _tree(fleet) == _reference(fleet, tmp_path)
    _age(fleet)
    touch_spec(fleet, 3, revision=8)  # unchanged files are reused on their recorded stat: same bytes
    assert run_cli("build", root=fleet).status == 0
    assert _tree(fleet) == _reference(fleet, tmp_path)


@pytest.mark.slow
def test_workers_spool_rendered_bytes_to_disk_and_leave_nothing_behind(tmp_path, monkeypatch):
    from compiler.build import prerender

    root = tmp_path / "fleet"
    write_fleet(root, N)
    stale = root / ".shipspec" / f"{prerender.SPOOL_PREFIX}999999999-x"  # a killed build's
    stale.mkdir(parents=True)
    (stale / "0-0-0-0").write_bytes(b"old")
    monkeypatch.setattr(prerender, "MIN_SPECS", 2)
    seen = []
    real = prerender.prerender
    monkeypatch.setattr(prerender, "prerender", lambda *a: seen.append(a[-1]) or real(*a))
    assert run_cli("build", root=root).status == 0
    assert seen and seen[0] is not None, "the workers did not spool"
    assert not list((root / ".shipspec").glob(prerender.SPOOL_PREFIX + "*"))
    assert _tree(root) == _reference(root, tmp_path)


def test_racy_window_follows_the_file_system_s_time_granularity():
    s = 10**18  # a record begun at this time (ns)
    assert uptodate._racy(s - 50_000_123, s - 50_000_123, s)  # within 100 ms: hashed
    assert not uptodate._racy(s - 200_000_123, s - 200_000_123, s)
    assert uptodate._racy(s - 10**9, s - 10**9, s)  # whole seconds: the file system may keep only those
    assert not uptodate._racy(s - 3 * 10**9, s - 3 * 10**9, s)
    assert uptodate._racy(s - 10**9 + 7, s, s)  # the newer of the two times counts


@pytest.mark.parametrize("cached", [True, False], ids=["cached", "no-cache"])
def test_a_stray_file_alone_is_removed(fleet, tmp_path, cached):
    """Only a removal to make: nothing is staged, yet the journal's manifest needs its folder."""
    _age(fleet)
    (fleet / "generated/stray.txt").write_text("x")
    res = run_cli("build", *(() if cached else ("--no-cache",)), root=fleet)
    assert res.status == 0, res.err
    assert "removed  generated/stray.txt" in res.err
    assert _tree(fleet) == _reference(fleet, tmp_path) and not (fleet / NEW).exists()


def test_a_script_that_lost_its_executable_bit_is_stale_and_rebuilt(fleet):
    """The bit git keeps: `check` reports the script, `build` (cached or not) restores it."""
    _age(fleet)
    script = next((fleet / "generated").rglob("*.sh"))
    script.chmod(0o644)
    checked = run_cli("check", root=fleet)
    assert checked.status == 1 and f"stale    {script.relative_to(fleet)}" in checked.out
    res = run_cli("build", root=fleet)
    assert res.status == 0 and f"updated  {script.relative_to(fleet)}" in res.err, res.err
    assert script.stat().st_mode & 0o111 == 0o111
    _age(fleet)
    script.chmod(0o775)  # a group-writable umask's checkout: not a change
    again = run_cli("build", root=fleet)
    assert "generated/ is up to date" in again.err and script.stat().st_mode & 0o777 == 0o775, again.err
    assert f"stale    {script.relative_to(fleet)}" not in run_cli("check", root=fleet).out


def test_dangling_links_under_generated_are_not_up_to_date(fleet, tmp_path):
    """A link to nothing is a file to the writer (os.walk): the no-op must not overlook it."""
    _age(fleet)
    stray = fleet / "generated/stray.yml"
    stray.symlink_to(tmp_path / "nowhere")
    assert _check(fleet) is None
    res = run_cli("build", root=fleet)
    assert res.status == 0 and "removed  generated/stray.yml" in res.err, res.err
    assert not os.path.lexists(stray)
    _age(fleet)
    replaced = fleet / f"generated/{service_name(1)}/prod/codepipeline.yml"
    replaced.unlink()
    replaced.symlink_to(tmp_path / "nowhere")
    assert _check(fleet) is None
    res = run_cli("build", root=fleet)
    assert res.status == 0 and f"updated  generated/{service_name(1)}/prod/codepipeline.yml" in res.err, res.err
    assert not replaced.is_symlink() and _tree(fleet) == _reference(fleet, tmp_path)


def _inputs_then(action):
    """uptodate.read_inputs as a build calls it, with `action` run right after: an edit racing the build."""
    real = uptodate.read_inputs

    def read(root):
        inputs = real(root)
        action(root)
        return inputs
    return read


def test_a_spec_edited_while_a_build_reads_it_never_gets_a_record_that_lies(fleet, tmp_path, monkeypatch):
    trees = {}
    for revision in (1, 2):
        touch_spec(fleet, 3, revision=revision)
        trees[revision] = _reference(fleet, tmp_path / f"rev{revision}")
    touch_spec(fleet, 3, revision=1)
    monkeypatch.setattr(uptodate, "read_inputs", _inputs_then(lambda root: touch_spec(root, 3, revision=2)))
    assert run_cli("build", root=fleet).status == 0
    monkeypatch.undo()
    assert _tree(fleet) in (trees[1], trees[2])
    for revision in (1, 2):  # whichever key a record is found under proves exactly its own specs' tree
        touch_spec(fleet, 3, revision=revision)
        if _check(fleet) is not None:
            assert _tree(fleet) == trees[revision]
    assert run_cli("build", root=fleet).status == 0 and _tree(fleet) == trees[2]
    assert _check(fleet) is not None


def test_a_spec_added_while_a_build_reads_the_specs_never_gets_a_record_that_lies(fleet, tmp_path, monkeypatch):
    extra = fleet / f"services/{service_name(N)}.yaml"
    write_fleet(tmp_path / "bigger", N + 1)
    touch_spec(fleet, 3, revision=3)
    without = _reference(fleet, tmp_path / "without")
    shutil.copy(tmp_path / "bigger" / "services" / extra.name, extra)
    with_extra = _reference(fleet, tmp_path / "with")
    extra.unlink()

    def add(root):
        shutil.copy(tmp_path / "bigger" / "services" / extra.name, extra)
    monkeypatch.setattr(uptodate, "read_inputs", _inputs_then(add))
    assert run_cli("build", root=fleet).status == 0
    monkeypatch.undo()
    assert _tree(fleet) in (without, with_extra)
    for present, tree in ((True, with_extra), (False, without)):  # a record found proves its own specs' tree
        if not present:
            extra.unlink()
        if _check(fleet) is not None:
            assert _tree(fleet) == tree
    assert run_cli("build", root=fleet).status == 0 and _tree(fleet) == without and _check(fleet) is not None


def test_files_reused_on_their_recorded_stat_are_recorded_without_a_new_stat_and_edits_are_still_seen(fleet):
    _age(fleet)
    touch_spec(fleet, 3, revision=5)  # every other service is reused on its recorded stat
    assert run_cli("build", root=fleet).status == 0
    _age(fleet)
    assert _check(fleet) is not None
    reused = fleet / f"generated/{service_name(1)}/prod/codepipeline.yml"
    st = reused.stat()
    reused.write_bytes(reused.read_bytes().replace(b"BUILD_GENERAL1_MEDIUM", b"BUILD_GENERAL1_MEDIUX", 1))
    os.utime(reused, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _check(fleet) is None  # its change time moved: the carried stat no longer proves it


def test_a_reused_file_deleted_while_the_build_runs_is_a_clear_error_then_rebuilt(fleet, monkeypatch):
    from compiler.build import writer

    gone = fleet / f"generated/{service_name(1)}/prod/codepipeline.yml"
    real = writer.write_tree

    def delete_first(root, artifacts, on_disk=frozenset()):
        gone.unlink()  # after the build decided to reuse it, before it is written
        return real(root, artifacts, on_disk)
    monkeypatch.setattr(writer, "write_tree", delete_first)
    touch_spec(fleet, 3, revision=11)
    result = run_cli("build", root=fleet)
    assert result.status == 1 and "was removed while the build ran" in result.err and "internal error" not in result.err
    monkeypatch.undo()
    assert run_cli("build", root=fleet).status == 0 and gone.is_file()
