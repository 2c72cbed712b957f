"""A CodeBuild buildspec (version 0.2) run on this machine, as CodeBuild runs it, for `shipspec local run`.

What is modelled (the CodeBuild user guide's "Build specification reference" and "Build phase
transitions"):

- **One shell for the whole build**: every command of every phase runs in the same bash process, in
  order, so variables and the working directory carry over. A command fails when its exit status is not
  0; the rest of its phase is skipped, the phase's `finally` commands run, and the phase fails.
- **Phase transitions**: a failed `install` or `pre_build` ends the build (with `on-failure: ABORT`, the
  default; `CONTINUE` goes on); a failed `build` still runs `post_build`, with
  `CODEBUILD_BUILD_SUCCEEDING=0`; any failed phase fails the build. A command that exits the shell ends
  the build at once (the phases after it do not run).
- **Exported variables** (`env.exported-variables`): their values when the last phase ends, for a build
  that succeeded; a variable that was never set is not exported.
- **Artifacts**: `artifacts.files` (globs, `**` recursive) under `base-directory`, with `discard-paths`;
  `secondary-artifacts` by identifier for actions with several output artifacts. Patterns that match
  no file fail the build ("no matching artifact paths found"), as on AWS; a buildspec without an
  `artifacts` section gives an empty output artifact, and the log says so.

Not modelled: `run-as`, `runtime-versions` (the commands run with this machine's tools), reports,
cache, batch builds, `git-credential-helper`.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..core.errors import ShipspecError
from .aws_cli_env import stream

PHASES = ("install", "pre_build", "build", "post_build")
ENDS_BUILD = ("install", "pre_build")  # a failure here skips the rest (on-failure: ABORT)
TIMED_OUT = 124


@dataclass(frozen=True)
class Phase:
    name: str
    commands: tuple[str, ...]
    final: tuple[str, ...]  # `finally`
    on_failure: str  # ABORT or CONTINUE


@dataclass(frozen=True)
class Buildspec:
    variables: dict[str, str]
    parameter_store: dict[str, str]
    secrets_manager: dict[str, str]
    exported: tuple[str, ...]
    phases: tuple[Phase, ...]
    artifacts: dict | None
    secondary_artifacts: dict[str, dict] = field(default_factory=dict)


@dataclass(frozen=True)
class BuildResult:
    succeeded: bool
    failed_phase: str  # "" when it succeeded; UPLOAD_ARTIFACTS when artifacts failed
    reason: str  # why it failed, in CodeBuild's words
    exported: dict[str, str]
    notes: tuple[str, ...] = ()


def _strings(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ShipspecError(f"{where} must be a mapping")
    return {str(k): "" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for k, v in value.items()}


def _commands(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(c, (str, int, float)) for c in value):
        raise ShipspecError(f"{where} must be a list of commands")
    return tuple(str(c).lower() if isinstance(c, bool) else str(c) for c in value)


def parse(text: str, where: str) -> Buildspec:
    """The buildspec `text` (from `where`: the project, or a file of the source)."""
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ShipspecError(f"{where}: the buildspec is not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise ShipspecError(f"{where}: the buildspec is not a mapping")
    if str(doc.get("version")) != "0.2":
        raise ShipspecError(f"{where}: buildspec version {doc.get('version')!r}: the local run models version 0.2")
    env = doc.get("env") or {}
    phases = []
    for name in PHASES:
        body = (doc.get("phases") or {}).get(name)
        if body is None:
            continue
        if not isinstance(body, dict):
            raise ShipspecError(f"{where}: phases.{name} must be a mapping")
        on_failure = str(body.get("on-failure") or "ABORT").upper()
        phases.append(Phase(name, _commands(body.get("commands"), f"{where}: phases.{name}.commands"),
                            _commands(body.get("finally"), f"{where}: phases.{name}.finally"), on_failure))
    artifacts = doc.get("artifacts")
    secondary = (artifacts or {}).get("secondary-artifacts") or {} if isinstance(artifacts, dict) else {}
    exported = env.get("exported-variables") or []
    return Buildspec(_strings(env.get("variables"), f"{where}: env.variables"),
                     _strings(env.get("parameter-store"), f"{where}: env.parameter-store"),
                     _strings(env.get("secrets-manager"), f"{where}: env.secrets-manager"),
                     tuple(str(v) for v in exported if str(v).isidentifier()), tuple(phases),
                     artifacts if isinstance(artifacts, dict) and artifacts.get("files") is not None else None,
                     {str(k): v for k, v in secondary.items() if isinstance(v, dict)})


def _say(text: str) -> str:
    return f"printf '%s\\n' {shlex.quote('[Container] ' + text)}"


def _command_block(index: int, command: str, guard: bool) -> list[str]:
    shown = command.strip().splitlines()[0] if command.strip() else command
    shown += " ..." if len(command.strip().splitlines()) > 1 else ""
    body = [_say(f"Running command {shown}"), f'. "$__cb_dir/c{index}.sh"', "__cb_rc=$?",
            'if [ "$__cb_rc" != 0 ]; then',
            "  " + _say(f"Command did not exit successfully {shown}") + ' ; echo "[Container] exit status $__cb_rc"',
            f"  printf 'FAILCMD %s %s\\n' \"$__cb_rc\" {shlex.quote(shown)} >>\"$__cb_dir/status\"",
            "  __cb_phase_failed=1", "fi"]
    if not guard:
        return body
    return ['if [ "$__cb_phase_failed" = 0 ]; then', *["  " + line for line in body], "fi"]


def driver(spec: Buildspec, directory: Path) -> str:
    """The bash program that runs the phases; commands are written to `directory` (c<N>.sh)."""
    lines = ["__cb_dir=\"$1\"", "export CODEBUILD_BUILD_SUCCEEDING=1", "__cb_skip=0", "__cb_build_failed=0"]
    index = 0
    for phase in spec.phases:
        upper = phase.name.upper()
        lines += ["__cb_phase_failed=0", 'if [ "$__cb_skip" = 0 ]; then',
                  f'  echo "ENTER {upper}" >>"$__cb_dir/status"', "  " + _say(f"Entering phase {upper}")]
        for command, guard in [(c, True) for c in phase.commands] + [(c, False) for c in phase.final]:
            index += 1
            (directory / f"c{index}.sh").write_text(command + "\n", encoding="utf-8")
            lines += ["  " + line for line in _command_block(index, command, guard)]
        abort = "__cb_skip=1" if phase.name in ENDS_BUILD and phase.on_failure != "CONTINUE" else ":"
        lines += ['  if [ "$__cb_phase_failed" != 0 ]; then',
                  "    export CODEBUILD_BUILD_SUCCEEDING=0", "    __cb_build_failed=1", f"    {abort}",
                  f'    echo "FAILED {upper}" >>"$__cb_dir/status"',
                  "    " + _say(f"Phase complete: {upper} State: FAILED"),
                  "  else",
                  "    " + _say(f"Phase complete: {upper} State: SUCCEEDED"),
                  "  fi", "fi"]
    if spec.exported:
        lines += [f"for __cb_v in {' '.join(spec.exported)}; do",
                  '  if [ -n "${!__cb_v+x}" ]; then printf \'%s=%s\\0\' "$__cb_v" "${!__cb_v}" '
                  '>>"$__cb_dir/exported"; fi',
                  "done"]
    lines += ['echo "DONE $__cb_build_failed" >>"$__cb_dir/status"', 'exit "$__cb_build_failed"']
    return "\n".join(lines) + "\n"


def run(spec: Buildspec, src: Path, env: dict[str, str], control: Path, emit: Callable[[str], None],
        timeout_minutes: int) -> BuildResult:
    """Run the phases in `src` with `env` (control files go to `control`); exported variables and how it
    ended."""
    control.mkdir(parents=True, exist_ok=True)
    program = control / "driver.sh"
    program.write_text(driver(spec, control), encoding="utf-8")
    status = stream(["bash", str(program), str(control)], src, env, emit, timeout=timeout_minutes * 60)
    records = (control / "status").read_text(encoding="utf-8").split("\n") if (control / "status").exists() else []
    entered = [r.split(" ", 1)[1] for r in records if r.startswith("ENTER ")]
    failed = [r.split(" ", 1)[1] for r in records if r.startswith("FAILED ")]
    done = any(r.startswith("DONE ") for r in records)
    exported = {}
    if (control / "exported").exists():
        for item in (control / "exported").read_text(encoding="utf-8").split("\0"):
            if "=" in item:
                key, value = item.split("=", 1)
                exported[key] = value
    if status == TIMED_OUT and not done:
        phase = entered[-1] if entered else "BUILD"
        return BuildResult(False, phase, f"the build timed out after {timeout_minutes} minutes (the project's "
                           "TimeoutInMinutes)", {})
    if not done:
        phase = entered[-1] if entered else "INSTALL"
        return BuildResult(False, phase, f"COMMAND_EXECUTION_ERROR: the shell exited with status {status} in "
                           f"phase {phase}", {})
    if failed:
        command = next((r.split(" ", 2) for r in records if r.startswith("FAILCMD ")), None)
        what = f"Error while executing command: {command[2]}. Reason: exit status {command[1]}" if command \
            else f"a command of phase {failed[0]} failed"
        return BuildResult(False, failed[0], f"COMMAND_EXECUTION_ERROR: {what}", {})
    return BuildResult(True, "", "", exported)


def _files(section: dict, src: Path) -> list[tuple[Path, str]]:
    """(file, path in the artifact) for an artifacts section."""
    base = src / str(section.get("base-directory") or ".")
    patterns = section.get("files")
    patterns = [patterns] if isinstance(patterns, str) else [str(p) for p in patterns or []]
    discard = str(section.get("discard-paths", "no")).lower() in ("yes", "true")
    found: dict[str, Path] = {}
    for pattern in patterns:
        matches = [base / pattern] if (base / pattern).is_file() else sorted(p for p in base.glob(pattern)
                                                                             if p.is_file())
        for path in matches:
            inside = os.path.normpath(path)
            if os.path.commonpath([inside, os.path.normpath(src)]) != os.path.normpath(src):
                raise ShipspecError(f"CLIENT_ERROR: artifact path {pattern} is outside the source directory")
            rel = path.name if discard else os.path.relpath(inside, os.path.normpath(base))
            found.setdefault(rel, path)
    return [(p, rel) for rel, p in sorted(found.items())]


def collect(spec: Buildspec, src: Path, outputs: tuple[str, ...], into: Callable[[str], Path]) -> tuple[str, ...]:
    """Write each output artifact (`into(name)` gives its directory); notes for the log. A
    ShipspecError when the buildspec's patterns match no file."""
    import shutil

    notes = []
    for i, name in enumerate(outputs):
        section = spec.secondary_artifacts.get(name) or (spec.artifacts if i == 0 else None)
        target = into(name)
        if section is None:
            if i == 0 and spec.artifacts is None:
                notes.append(f"the buildspec declares no artifacts: output artifact {name} is empty")
                continue
            raise ShipspecError(f"output artifact {name}: the buildspec has no secondary-artifacts entry {name}")
        files = _files(section, src)
        if not files:
            raise ShipspecError(f"CLIENT_ERROR: no matching artifact paths found (output artifact {name})")
        for path, rel in files:
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / rel)
    return tuple(notes)
