"""The compiler fingerprint remembered between runs (`cache.compiler_fingerprint`, beside the
package's bytecode) is always the content hash `fingerprint_of` computes: each test edits a copy
of the package the way a developer or an attacker would, and checks that the remembered value is
never the old one."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from compiler.build import cache


@pytest.fixture
def package(tmp_path, monkeypatch) -> Path:
    """A copy of the compiler package, old enough that every stat vouches for its file."""
    copy = tmp_path / "pkg" / "compiler"
    shutil.copytree(cache._PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    old = time.time_ns() - 10 * 10**9
    for dirpath, _, names in os.walk(copy):
        for n in names:
            os.utime(os.path.join(dirpath, n), ns=(old, old))
    time.sleep(0.15)  # the change times the copy gave them are older than the racy window too
    monkeypatch.setattr(cache, "_PACKAGE", copy)
    monkeypatch.setattr(cache, "_memo_path", lambda: str(tmp_path / "pycache" / cache.FINGERPRINT_FILE))
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    return copy


def _remembered(root: Path, monkeypatch) -> str:
    """The fingerprint a new process would use."""
    monkeypatch.setattr(cache, "_fingerprint", [])
    monkeypatch.setattr(cache, "_installed", cache._Installed())
    return cache.compiler_fingerprint()


def _memo_file(root: Path) -> Path:
    return root.parent / "pycache" / cache.FINGERPRINT_FILE


def _memo(root: Path) -> dict:
    return json.loads(_memo_file(root).read_text())


def test_remembered_then_reused_and_always_the_content_hash(package, tmp_path, monkeypatch):
    root = tmp_path / "repo"
    first = _remembered(root, monkeypatch)
    assert first == cache.fingerprint_of(package)
    assert _memo(root)["fingerprint"] == first
    monkeypatch.setattr(cache, "fingerprint_of", lambda p: pytest.fail("computed again"))
    assert _remembered(root, monkeypatch) == first


def test_an_edit_keeping_size_and_times_is_still_seen(package, tmp_path, monkeypatch):
    root = tmp_path / "repo"
    before = _remembered(root, monkeypatch)
    target = package / "build" / "cache.py"
    st = target.stat()
    text = target.read_bytes()
    target.write_bytes(text.replace(b"FORMAT = 1", b"FORMAT = 7"))  # same size
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns))  # modification time put back
    assert target.stat().st_size == st.st_size and target.stat().st_mtime_ns == st.st_mtime_ns
    after = _remembered(root, monkeypatch)
    assert after != before and after == cache.fingerprint_of(package)


@pytest.mark.parametrize("edit", ["add", "remove", "rename"])
def test_files_added_removed_or_renamed_are_seen(package, tmp_path, monkeypatch, edit):
    root = tmp_path / "repo"
    before = _remembered(root, monkeypatch)
    asset = package / "core" / "known_failures.py"
    if edit == "add":
        (package / "core" / "extra.txt").write_text("x")
    elif edit == "remove":
        asset.unlink()
    else:
        asset.rename(package / "core" / "known_failures2.py")
    after = _remembered(root, monkeypatch)
    assert after != before and after == cache.fingerprint_of(package)


def test_a_file_changed_just_now_is_not_remembered(package, tmp_path, monkeypatch):
    root = tmp_path / "repo"
    (package / "core" / "extra.txt").write_text("just now")
    value = _remembered(root, monkeypatch)
    assert value == cache.fingerprint_of(package)
    assert not _memo_file(root).exists()


@pytest.mark.parametrize("doc", [
    '{"signature": "SIG", "fingerprint": "not hex"}',
    '{"signature": "SIG", "fingerprint": ["a"]}',
    '{"signature": "other", "fingerprint": "' + "0" * 64 + '"}',
    '{"signature": "SIG"}',
    '[1, 2]',
    'not json',
    '',
])
def test_a_damaged_or_foreign_memo_is_not_believed(package, tmp_path, monkeypatch, doc):
    root = tmp_path / "repo"
    truth = _remembered(root, monkeypatch)
    memo = _memo_file(root)
    memo.write_text(doc.replace("SIG", _memo(root)["signature"]))
    assert _remembered(root, monkeypatch) == truth


def test_a_forged_memo_with_the_right_signature_is_believed_and_that_is_the_documented_limit(
        package, tmp_path, monkeypatch):
    """Whoever can write beside the compiler's bytecode can also change its bytecode; the memo
    promises only that files (compiler or library) changed since are seen."""
    root = tmp_path / "repo"
    _remembered(root, monkeypatch)
    memo = _memo_file(root)
    doc = _memo(root)
    memo.write_text(json.dumps({"signature": doc["signature"], "fingerprint": "f" * 64}))
    assert _remembered(root, monkeypatch) == "f" * 64
    (package / "core" / "extra.txt").write_text("x")  # and any change to the package ends it
    assert _remembered(root, monkeypatch) == cache.fingerprint_of(package)


def test_not_written_where_python_writes_no_bytecode(package, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    root = tmp_path / "repo"
    assert _remembered(root, monkeypatch) == cache.fingerprint_of(package)
    assert not _memo_file(root).exists()


def test_kept_where_python_keeps_the_package_bytecode(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "pycache_prefix", str(tmp_path / "prefix"))
    where = cache._memo_path()
    assert where is not None and where.startswith(str(tmp_path / "prefix"))
    assert os.path.dirname(where).endswith(os.path.join("compiler"))


def test_installed_values_are_kept_on_the_same_proof(package, tmp_path, monkeypatch):
    root = tmp_path / "repo"
    calls = []

    def compute() -> str:
        calls.append(1)
        return f"value-{len(calls)}"
    _remembered(root, monkeypatch)
    assert cache.installed_value("thing", compute) == "value-1"
    assert _memo(root)["values"] == {"thing": "value-1"}
    _remembered(root, monkeypatch)  # a new process
    assert cache.installed_value("thing", compute) == "value-1" and len(calls) == 1
    (package / "core" / "extra.txt").write_text("x")  # another installation: computed again
    _remembered(root, monkeypatch)
    assert cache.installed_value("thing", compute) == "value-2"


def test_a_damaged_installed_value_is_computed_again(package, tmp_path, monkeypatch):
    root = tmp_path / "repo"
    _remembered(root, monkeypatch)
    cache.installed_value("thing", lambda: "good")
    doc = _memo(root)
    doc["values"]["thing"] = ["not", "a", "string"]
    _memo_file(root).write_text(json.dumps(doc))
    _remembered(root, monkeypatch)
    assert cache.installed_value("thing", lambda: "again") == "again"


def test_an_installed_value_is_not_written_where_python_writes_no_bytecode(package, tmp_path, monkeypatch):
    root = tmp_path / "repo"
    _remembered(root, monkeypatch)  # the memo, written
    before = _memo_file(root).read_bytes()
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    _remembered(root, monkeypatch)
    assert cache.installed_value("thing", lambda: "x") == "x"
    assert _memo_file(root).read_bytes() == before
