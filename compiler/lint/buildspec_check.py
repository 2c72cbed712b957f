"""A structural check of CodeBuild buildspecs (version 0.2), with file:line:col positions.

It checks the shape CodeBuild documents (build-spec-ref): the top-level sections, `env`
with its shell and exported variables, `phases` with their `commands` lists, `artifacts`
with `files`. It does not run anything; the commands themselves are tested by executing them.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Iterable

from ..core.diagnostics import Diagnostic, Location, SpecError, dotted
from ..spec.yamlsrc import LDict, LList, load_text

CODE = "buildspec"
TOP_LEVEL = ("version", "run-as", "env", "proxy", "batch", "phases", "reports", "artifacts", "cache")
ENV_KEYS = ("shell", "variables", "parameter-store", "exported-variables", "secrets-manager", "git-credential-helper")
SHELLS = ("bash", "/bin/sh", "powershell.exe", "cmd.exe")
PHASES = ("install", "pre_build", "build", "post_build")
PHASE_KEYS = ("run-as", "on-failure", "runtime-versions", "commands", "finally")
ARTIFACT_KEYS = ("files", "name", "discard-paths", "base-directory", "exclude-paths", "enable-symlinks",
                 "s3-prefix", "secondary-artifacts")
ON_FAILURE = re.compile(r"^(ABORT|CONTINUE|RETRY(-[0-9]+)?(-.+)?)$")
VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class _Checker:
    def __init__(self, path: str):
        self.path = path
        self.diags: list[Diagnostic] = []

    def error(self, loc: Location | None, where: Iterable[Any], message: str) -> None:
        self.diags.append(Diagnostic(loc or Location(self.path), message, dotted(where), "error", CODE))

    def keys(self, mapping: LDict, allowed: tuple[str, ...], where: tuple) -> None:
        for key in mapping:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"did you mean '{close[0]}'?" if close else "allowed: " + ", ".join(allowed)
                self.error(mapping.key_locs.get(key), where + (key,), f"unknown key '{key}'; {hint}")

    def mapping(self, parent: LDict, key: str, where: tuple) -> LDict | None:
        value = parent[key]
        if not isinstance(value, LDict):
            self.error(parent.value_locs.get(key), where + (key,), f"'{key}' must be a mapping, not {_kind(value)}")
            return None
        return value

    def strings(self, parent: LDict, key: str, where: tuple, what: str, nonempty: bool = True) -> LList | None:
        value = parent[key]
        if not isinstance(value, LList):
            self.error(parent.value_locs.get(key), where + (key,), f"'{key}' must be a list of {what}, not {_kind(value)}")
            return None
        if nonempty and not value:
            self.error(parent.value_locs.get(key), where + (key,), f"'{key}' is empty; list at least one {what[:-1]}")
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.error(value.item_locs[i], where + (key, i),
                           f"each entry of '{key}' must be a non-empty string, not {_kind(item)}; quote it")
        return value

    def check(self, doc: LDict) -> None:
        self.keys(doc, TOP_LEVEL, ())
        self.version(doc)
        if "env" in doc:
            self.env(doc)
        if "phases" not in doc:
            self.error(doc.loc, ("phases",), "'phases' is missing; a buildspec needs at least one phase with commands")
        else:
            self.phases(doc)
        if "artifacts" in doc:
            artifacts = self.mapping(doc, "artifacts", ())
            if artifacts is not None:
                self.keys(artifacts, ARTIFACT_KEYS, ("artifacts",))
                if "files" not in artifacts:
                    self.error(artifacts.loc, ("artifacts", "files"), "'files' is missing; list the output files")
                else:
                    self.strings(artifacts, "files", ("artifacts",), "paths")
        if "cache" in doc:
            cache = self.mapping(doc, "cache", ())
            if cache is not None and "paths" in cache:
                self.strings(cache, "paths", ("cache",), "paths")

    def version(self, doc: LDict) -> None:
        if "version" not in doc:
            self.error(doc.loc, ("version",), "'version' is missing; use version: 0.2")
            return
        value = doc["version"]
        if str(value) != "0.2":
            self.error(doc.value_locs.get("version"), ("version",),
                       f"version {value!r} is not supported here; use version: 0.2 "
                       "(0.1 runs every command in a separate shell)")

    def env(self, doc: LDict) -> None:
        env = self.mapping(doc, "env", ())
        if env is None:
            return
        self.keys(env, ENV_KEYS, ("env",))
        if "shell" in env and env["shell"] not in SHELLS:
            self.error(env.value_locs.get("shell"), ("env", "shell"),
                       f"shell {env['shell']!r} is not supported; use one of {', '.join(SHELLS)}")
        for section in ("variables", "parameter-store", "secrets-manager"):
            if section in env:
                m = self.mapping(env, section, ("env",))
                for name, value in (m or {}).items():
                    if isinstance(value, (LDict, LList)) or value is None:
                        self.error(m.value_locs.get(name), ("env", section, name),
                                   f"'{name}' must be a string value, not {_kind(value)}")
        if "exported-variables" in env:
            names = self.strings(env, "exported-variables", ("env",), "variable names")
            for i, name in enumerate(names or []):
                if not isinstance(name, str):
                    continue
                if not VAR_NAME.match(name):
                    self.error(names.item_locs[i], ("env", "exported-variables", i), f"'{name}' is not a variable name")
                elif name.startswith(("AWS_", "CODEBUILD_")):
                    self.error(names.item_locs[i], ("env", "exported-variables", i),
                               f"'{name}' cannot be exported (variables starting with AWS_ or CODEBUILD_ are reserved)")

    def phases(self, doc: LDict) -> None:
        phases = self.mapping(doc, "phases", ())
        if phases is None:
            return
        if not phases:
            self.error(doc.value_locs.get("phases"), ("phases",), "'phases' is empty; add a build phase with commands")
        self.keys(phases, PHASES, ("phases",))
        for name in phases:
            if name not in PHASES:
                continue
            phase = self.mapping(phases, name, ("phases",))
            if phase is None:
                continue
            where = ("phases", name)
            self.keys(phase, PHASE_KEYS if name == "install" else tuple(k for k in PHASE_KEYS if k != "runtime-versions"),
                      where)
            if "commands" in phase:
                self.strings(phase, "commands", where, "commands")
            elif not (name == "install" and "runtime-versions" in phase):
                self.error(phase.loc, where + ("commands",), f"phase '{name}' has no 'commands' list")
            if "finally" in phase:
                self.strings(phase, "finally", where, "commands")
            if "on-failure" in phase and not ON_FAILURE.match(str(phase["on-failure"])):
                self.error(phase.value_locs.get("on-failure"), where + ("on-failure",),
                           f"on-failure {phase['on-failure']!r} is not ABORT, CONTINUE or RETRY[-count][-regex]")


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty (null)"
    return f"a {type(value).__name__} ({value!r})"


def check_buildspec(text: str, path: str) -> list[Diagnostic]:
    """Every structural problem in a buildspec's text; an empty list when it is well-formed."""
    if not text.strip():
        return [Diagnostic(Location(path), "buildspec is empty; it needs version: 0.2 and phases", "", "error", CODE)]
    try:
        doc = load_text(text, path)
    except SpecError as exc:
        return [Diagnostic(d.location, d.message, d.path, d.severity, d.code or CODE) for d in exc.diagnostics]
    checker = _Checker(path)
    checker.check(doc)
    return sorted(set(checker.diags))
