"""What the steps shipspec runs on this machine against the local emulator share (`local deploy`'s
scripts, `local run`'s builds and notification handler): the real AWS CLI, an environment that
points every AWS call at the emulator with credentials the emulator's STS issued for one role (never
the caller's own: no profile, config or credentials file is read), and a subprocess whose output
lines are handed on as they come.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

from ..core.errors import ShipspecError

POLL_SECONDS = "0.2"  # the Deploy step's polling: time in the emulator is reads, not clocks
KEPT = ("LANG", "LC_ALL", "TMPDIR", "HOME")  # taken from the caller's environment; nothing else is


def aws_cli() -> str:
    """The AWS CLI the scripts call: next to this Python first, then on PATH."""
    here = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    if not here:
        raise ShipspecError("the local steps run the generated scripts with the AWS CLI, which is not installed: "
                            "pip install awscli (the project's `dev` extra has it)")
    return here


def role_credentials(sts: Any, role_arn: str, session: str) -> dict[str, str]:
    """Credentials for `role_arn` from the emulator's STS (AccessKeyId, SecretAccessKey, SessionToken)."""
    return sts.assume_role(RoleArn=role_arn, RoleSessionName=session)["Credentials"]


def emulator_environment(endpoint: str, region: str, creds: dict[str, str], cli: str, *,
                         path_first: tuple[str, ...] = (), keep_path: bool = True) -> dict[str, str]:
    """The environment of a step against the emulator: the AWS CLI (and `path_first`) on PATH,
    AWS_ENDPOINT_URL, the region, the role's credentials, no AWS configuration files."""
    keep = {k: v for k, v in os.environ.items() if k in KEPT}
    path = [*path_first, str(Path(cli).parent)]
    if keep_path:
        path.append(os.environ.get("PATH", "/usr/bin:/bin"))
    return {**keep, "PATH": os.pathsep.join(path),
            "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"], "AWS_SESSION_TOKEN": creds["SessionToken"],
            "AWS_DEFAULT_REGION": region, "AWS_REGION": region, "AWS_PAGER": "",
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "FOLLOW_POLL_SECONDS": POLL_SECONDS}


def stream(argv: list[str], cwd: Path, env: dict[str, str], emit: Callable[[str], None],
           timeout: float | None = None, stdin: str | None = None) -> int:
    """Run `argv`; every output line (stdout and stderr together) goes to `emit` as it comes. The exit
    status; 124 when `timeout` seconds passed (the process is killed)."""
    import threading

    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            errors="replace", start_new_session=True)
    timer = None
    expired = []
    if timeout:
        def kill() -> None:  # the step and everything it started (its own session)
            import signal

            expired.append(True)
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.daemon = True
        timer.start()
    try:
        if stdin is not None:
            assert proc.stdin is not None
            proc.stdin.write(stdin)
            proc.stdin.close()
        assert proc.stdout is not None
        for line in proc.stdout:
            emit(line.rstrip("\n"))
        status = proc.wait()
    finally:
        if timer is not None:
            timer.cancel()
    return 124 if expired else status
