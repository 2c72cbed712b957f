"""The console entry (`compiler.cli.main:entry`, also `python -m compiler`) leaves without tearing
the interpreter down, and that must never lose what a normal exit would have done: output still
buffered, the exit status, atexit handlers, and threads still running. Each test runs a real
interpreter and attacks one of these."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import REPO


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("entry")
    shutil.copytree(REPO / "services", root / "services")
    return root


def _env() -> dict[str, str]:
    """Buffered streams, as on a user's machine (this one may set PYTHONUNBUFFERED)."""
    return {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "PYTHONUNBUFFERED")}


def _entry(repo: Path, prelude: str, *args: str, **kw) -> subprocess.CompletedProcess:
    """`shipspec --root REPO ARGS` through `entry`, in a new interpreter that first runs `prelude`."""
    argv = ["shipspec", "--root", str(repo), *args]
    code = f"{prelude}\nimport sys\nsys.argv = {argv!r}\nfrom compiler.cli.main import entry\nentry()\n"
    return subprocess.run([sys.executable, "-c", code], cwd=repo, env=_env(), timeout=120, **kw)


def test_output_to_a_file_is_complete_and_the_status_is_kept(repo, tmp_path):
    """stdout to a file is block-buffered: a skipped flush would cut the JSON short."""
    bad = repo / "services" / "zz-broken.yaml"
    bad.write_text("name: zz-broken\nbuild: {keep_images: -1}\n", encoding="utf-8")
    try:
        out = tmp_path / "out.json"
        with out.open("wb") as fh:
            proc = subprocess.run([sys.executable, "-m", "compiler", "--root", str(repo), "validate", "--format",
                                   "json"], stdout=fh, stderr=subprocess.PIPE, env=_env(), timeout=120)
    finally:
        bad.unlink()
    assert proc.returncode == 1, proc.stderr
    found = json.loads(out.read_text(encoding="utf-8"))
    assert any("zz-broken.yaml" in json.dumps(d) for d in found), found


def test_output_not_flushed_by_the_command_still_arrives(repo, tmp_path):
    """No command: the help goes to stdout unflushed (argparse writes it), status 2."""
    out = tmp_path / "help.txt"
    with out.open("wb") as fh:
        proc = subprocess.run([sys.executable, "-m", "compiler", "--root", str(repo)], stdout=fh,
                              stderr=subprocess.PIPE, env=_env(), timeout=120)
    assert proc.returncode == 2, proc.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("usage: shipspec") and "validate" in text and text.endswith("\n")


def test_atexit_handlers_still_run(repo, tmp_path):
    mark = tmp_path / "ran"
    proc = _entry(repo, f"import atexit\natexit.register(lambda: open({str(mark)!r}, 'w').write('yes'))",
                  "validate", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert mark.read_text() == "yes"


def test_a_running_thread_is_waited_for(repo, tmp_path):
    mark = tmp_path / "done"
    proc = _entry(repo, "import threading, time\n"
                  f"threading.Thread(target=lambda: (time.sleep(0.5), open({str(mark)!r}, 'w').write('yes'))).start()",
                  "validate", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert mark.read_text() == "yes"


def test_output_that_cannot_be_written_is_never_success(repo):
    """stdout closed under us: what the command printed is lost, and success must not be claimed
    (whether the write fails in the command or only at the final flush, which is status 120)."""
    proc = _entry(repo, "import os\nos.close(1)", "validate", "--format", "json", stderr=subprocess.PIPE, text=True)
    assert proc.returncode != 0, proc.stderr
    assert "Traceback" not in proc.stderr


def test_output_lost_at_the_final_flush_is_status_120_and_said(repo):
    """stdout on a full device: the unflushed help cannot be written."""
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([sys.executable, "-m", "compiler", "--root", str(repo)], stdout=full,
                              stderr=subprocess.PIPE, text=True, env=_env(), timeout=120)
    assert proc.returncode == 120
    assert "the output could not be written" in proc.stderr and "Traceback" not in proc.stderr


def test_started_without_stdout_still_builds_and_exits_0(repo, tmp_path):
    proc = _entry(repo, "import sys\nsys.stdout = None", "validate", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
