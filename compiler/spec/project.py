"""Validate specs into frozen models, collecting every error with its location."""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Callable, Iterable

from pydantic import ValidationError

from ..core.diagnostics import Diagnostic, Location, SpecError
from ..core.errors import UsageError
from . import checks, fleet, project_warnings, secrets_scan
from .files import rel, spec_paths
from .loaded import Project, ServiceEnv
from .merge import locate, merge, split_environment
from .models import ENV_RE, ServiceConfig
from .yamlsrc import LDict, load_file

DEFAULTS_FILE = project_warnings.DEFAULTS_FILE
ENV_OVERRIDABLE = ("description", "tags", "source", "build", "service", "deploy", "notifications", "stages", "names")
_ENV_NAME = re.compile(ENV_RE)


def load_project(root: Path, names: Iterable[str] = (),
                 load_service: "Callable[[Path, Path, LDict], list[ServiceEnv]] | None" = None) -> Project:
    """Load and validate every spec (or those named); raise SpecError with all problems.

    `load_service` stands in for `_load_service` (same arguments, same result or SpecError):
    compiler/build/incremental.py passes one that serves unchanged specs from its cache."""
    load_service = load_service or _load_service
    wanted = set(names)
    diags: list[Diagnostic] = []
    defaults: LDict = LDict()
    dpath = root / "services" / DEFAULTS_FILE
    if dpath.exists():
        try:
            defaults = load_file(dpath, rel(root, dpath))
            diags.extend(secrets_scan.scan(defaults, rel(root, dpath)))
        except SpecError as exc:
            diags.extend(exc.diagnostics)
    paths = spec_paths(root)
    known = {p.stem for p in paths}
    unknown = []
    for n in sorted(wanted - known):
        close = difflib.get_close_matches(n, sorted(known), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        unknown.append(f"no spec named '{n}' (services/{n}.yaml){hint}")
    if unknown:  # the command line named something that is not there: a usage error (exit 2)
        raise UsageError("; ".join(unknown))
    services: list[ServiceEnv] = []
    for path in paths:
        if wanted and path.stem not in wanted:
            continue
        try:
            services.extend(load_service(root, path, defaults))
        except SpecError as exc:
            diags.extend(exc.diagnostics)
    diags.extend(fleet.check_fleet(services))
    warnings = project_warnings.ignored_files(root) + [w for s in services for w in s.warnings]
    if diags:
        raise SpecError(diags + warnings)  # printed with the errors: an ignored file may explain them
    return Project(root, tuple(sorted(services, key=lambda s: s.key)), tuple(rel(root, p) for p in paths),
                   tuple(sorted(set(warnings))))


def _environment_typo(env: str, entry: object, envs: dict, defaults: LDict) -> str:
    """The message for an environment that has no account and region anywhere but whose name is
    close to one that has them (`prd` beside `prod`): most likely a misspelt override."""
    if isinstance(entry, dict) and ("account" in entry or "region" in entry):
        return ""
    placed = [e for e, v in envs.items() if e != env and isinstance(v, dict) and "account" in v and "region" in v]
    close = difflib.get_close_matches(env, placed, n=1, cutoff=0.6)
    if not close:
        return ""
    declared = defaults.get("environments") if isinstance(defaults, dict) else None
    where = " (declared in services/_defaults.yaml)" if isinstance(declared, dict) and close[0] in declared else ""
    return (f"environment '{env}' has no account and region; did you mean '{close[0]}'{where}? Rename this "
            f"override to {close[0]}, or give {env} its own account and region")


def _load_service(root: Path, path: Path, defaults: LDict) -> list[ServiceEnv]:
    display = rel(root, path)
    spec = load_file(path, display)
    diags: list[Diagnostic] = secrets_scan.scan(spec, display)
    name = spec.get("name")
    if isinstance(name, str) and name != path.stem:
        diags.append(Diagnostic(spec.value_locs["name"], f"'{name}' must equal the file name stem '{path.stem}'; "
                                f"rename the file or the service", "name"))
    merged = merge(defaults, spec)
    if "name" not in spec:
        diags.append(Diagnostic(spec.loc or Location(display), "required field 'name' is missing; "
                                f"add `name: {path.stem}`", "name"))
    envs = merged.get("environments")
    out: list[ServiceEnv] = []
    if not isinstance(envs, dict) or not envs:
        loc = locate(merged, ("environments",)) or spec.loc or Location(display)
        diags.append(Diagnostic(loc, "at least one environment is required, e.g. "
                                "`environments: {prod: {account: \"111111111111\", region: ap-northeast-1}}`",
                                "environments"))
        raise SpecError(diags)
    for env in envs:
        where = locate(merged, ("environments", env), key=True) or Location(display)
        if not isinstance(env, str) or not _ENV_NAME.match(env):
            diags.append(Diagnostic(where, f"environment name '{env}' must match {ENV_RE} "
                                    "(lowercase letter, then up to 9 lowercase letters or digits)", "environments"))
            continue
        entry = envs[env]
        typo = _environment_typo(env, entry, envs, defaults)
        if typo:
            diags.append(Diagnostic(where, typo, f"environments.{env}"))
            continue
        if entry is None:
            diags.append(Diagnostic(where, "environment needs at least `account` and `region`", f"environments.{env}"))
            continue
        if not isinstance(entry, dict):
            diags.append(Diagnostic(where, f"must be a mapping with account and region, not {type(entry).__name__}",
                                    f"environments.{env}"))
            continue
        for key in entry:
            if key not in ENV_OVERRIDABLE + ("account", "region"):
                close = difflib.get_close_matches(key, ENV_OVERRIDABLE + ("account", "region"), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                diags.append(Diagnostic(locate(merged, ("environments", env, key), key=True) or where,
                                        f"'{key}' cannot be set per environment; allowed: account, region, "
                                        f"{', '.join(ENV_OVERRIDABLE)}{hint}", f"environments.{env}.{key}"))
        tree = merge(split_environment(defaults, env, ENV_OVERRIDABLE), split_environment(spec, env, ENV_OVERRIDABLE))
        try:
            config = ServiceConfig.model_validate(tree)
        except ValidationError as exc:
            from .partial import partial_config  # error paths only: not imported by a valid build
            from .pydantic_errors import pydantic_diagnostics

            diags.extend(pydantic_diagnostics(exc, tree, ServiceConfig, display))
            partial = partial_config(exc, tree)  # and the checks on the rest: every error in one run
            if partial is not None:
                diags.extend(partial.translate(checks.check_service(ServiceEnv(partial.config, partial.tree, display))))
            continue
        senv = ServiceEnv(config, tree, display)
        diags.extend(checks.check_service(senv))
        out.append(project_warnings.with_warnings(senv))
    if diags:
        raise SpecError(diags)
    return out
