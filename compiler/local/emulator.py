"""`shipspec local`: a local AWS emulator (moto's server) on 127.0.0.1 for `--local` runs.

`up` starts moto's server (through `python -m compiler.local.emuserver`, which parses templates with
libyaml and can model AWS's latency) on a free loopback port in the background, waits until it
answers, and records pid, port, endpoint and latency model in `.shipspec/local.json`; `down`
stops that process;
`status` reports. Commands given `--local` read the endpoint from the file and refuse with
"run `shipspec local up`" when the emulator is not answering.

moto's CloudFormation does not model every resource type. The emulator adds the pipeline's own
(`EMULATED_TYPES`: pipelines, CodeBuild projects and webhooks, compiler/local/pipeline_resources.py);
`unmodelled_types` names the others it skips (`AWS::SSM::Association`, ...) so output can say so.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from ..build.lifeline import alive
from ..core.errors import ShipspecError
from .emuserver import Latency
from .pipeline_resources import EMULATED_TYPES

STATE_DIR = ".shipspec"
STATE_FILE = f"{STATE_DIR}/local.json"
LOG_FILE = f"{STATE_DIR}/local.log"
HOST = "127.0.0.1"
# moto's default account, answering credentials it did not issue. shipspec assumes a role in each
# target account through the emulator's STS, and moto serves the account named in the role ARN --
# unless MOTO_ACCOUNT_ID is set, which pins every request to one account: so it is removed from the
# server's environment (one emulator serves every account of the specs).
DEFAULT_ACCOUNT = "123456789012"
START_TIMEOUT = 30.0
NOT_RUNNING = "the local emulator is not running: run `shipspec local up`"


@dataclass(frozen=True)
class LocalState:
    pid: int
    port: int
    endpoint: str
    latency: Latency = Latency()

    def to_json(self) -> dict:
        return {"pid": self.pid, "port": self.port, "endpoint": self.endpoint, "account": DEFAULT_ACCOUNT,
                **self.latency.to_json()}


def read_state(root: Path) -> LocalState | None:
    path = root / STATE_FILE
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return LocalState(int(doc["pid"]), int(doc["port"]), str(doc["endpoint"]), Latency.from_json(doc))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        raise ShipspecError(f"{STATE_FILE} is unreadable; run `shipspec local down` and `shipspec local up`") from None


def healthy(endpoint: str, timeout: float = 2.0) -> bool:
    """The emulator answers HTTP on its endpoint (moto's own API path)."""
    try:
        with urllib.request.urlopen(f"{endpoint}/moto-api/config", timeout=timeout) as resp:  # noqa: S310
            return resp.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (urllib.error.URLError, OSError):
        return False


def endpoint(root: Path) -> str:
    """The running emulator's endpoint for `--local`, or a ShipspecError saying how to start it."""
    state = read_state(root)
    if state is None:
        raise ShipspecError(NOT_RUNNING)
    if not healthy(state.endpoint):
        raise ShipspecError(f"the local emulator recorded in {STATE_FILE} ({state.endpoint}) is not answering: "
                            "run `shipspec local up`")
    return state.endpoint


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def up(root: Path, latency: Latency | None = None) -> tuple[LocalState, bool]:
    """Start the emulator unless it is running; (state, started). `latency` (default: none) is the
    emulator's latency model; asking for another one than a running emulator has is refused."""
    import importlib.util

    try:
        # fail early with a useful message (moto's server needs flask, from moto's `server` extra)
        found = all(importlib.util.find_spec(m) is not None for m in ("moto.server", "flask"))
    except ImportError:
        found = False
    if not found:
        raise ShipspecError("the local emulator needs moto's server: pip install 'moto[server]' "
                            "(the project's `local` or `dev` extra)")
    current = read_state(root)
    if current is not None and healthy(current.endpoint):
        if latency is not None and latency != current.latency:
            raise ShipspecError(f"the local emulator is running with {current.latency.describe()}; run "
                                "`shipspec local down` first to start it with another latency model")
        return current, False
    latency = latency or Latency()
    (root / STATE_DIR).mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "MOTO_ACCOUNT_ID"}
    last_error = ""
    for _ in range(3):  # a free port can be taken between probing and binding: try another
        port = _free_port()
        url = f"http://{HOST}:{port}"
        with open(root / LOG_FILE, "ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", "compiler.local.emuserver", "-H", HOST, "-p", str(port),
                                     *latency.cli_args()],
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env,
                                    start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None:
            if healthy(url, timeout=1.0):
                state = LocalState(proc.pid, port, url, latency)
                (root / STATE_FILE).write_text(json.dumps(state.to_json(), indent=2) + "\n", encoding="utf-8")
                return state, True
            time.sleep(0.2)
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)
        last_error = f"exit status {proc.returncode}"
    raise ShipspecError(f"the local emulator did not start ({last_error}); see {LOG_FILE}")


def down(root: Path) -> LocalState | None:
    """Stop the emulator recorded in the state file (only that process); the state it had."""
    state = read_state(root)
    if state is None:
        return None
    if alive(state.pid):
        os.kill(state.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while alive(state.pid) and time.monotonic() < deadline:
            _reap(state.pid)
            time.sleep(0.1)
        if alive(state.pid):
            os.kill(state.pid, signal.SIGKILL)
    _reap(state.pid)  # a zombie child of this process (tests) is not alive, yet still to be collected
    (root / STATE_FILE).unlink(missing_ok=True)
    return state


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)  # when this process started it (tests), collect the zombie
    except ChildProcessError:
        pass


def status(root: Path) -> tuple[LocalState | None, bool]:
    state = read_state(root)
    return state, bool(state and healthy(state.endpoint))


@lru_cache(maxsize=1)
def _modelled_types() -> frozenset[str] | None:
    """The resource types the emulator's CloudFormation models (or deliberately ignores), read
    from moto once per process; None when moto is not importable here."""
    try:
        from moto.cloudformation.parsing import NULL_MODELS, get_model_map
    except ImportError:
        return None
    return frozenset(get_model_map()) | frozenset(NULL_MODELS)


def unmodelled_types(types: Iterable[str]) -> list[str]:
    """Resource types the emulator's CloudFormation skips (it lists them in change sets but
    creates nothing): moto's gaps less the types the emulator adds. Empty when moto is not
    importable here."""
    known = _modelled_types()
    if known is None:
        return []
    return sorted({t for t in types if t not in known and t not in EMULATED_TYPES and not t.startswith("Custom::")})
