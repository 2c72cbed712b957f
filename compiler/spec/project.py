"""Validate specs into frozen models, collecting every error with its location."""

from __future__ import annotations

import difflib
import functools
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from pydantic import BaseModel, ValidationError

from . import checks, secrets_scan
from ..core.diagnostics import Diagnostic, Location, SpecError, dotted
from .merge import locate, merge, split_environment
from .models import ENV_RE, ServiceConfig
from .yamlsrc import LDict, load_file

import re

DEFAULTS_FILE = "_defaults.yaml"
ENV_OVERRIDABLE = ("description", "tags", "source", "build", "service", "deploy", "notifications", "stages")
_ENV_NAME = re.compile(ENV_RE)


@dataclass(frozen=True)
class ServiceEnv:
    """One service in one environment: the validated model and where its values came from."""

    config: ServiceConfig
    located: "LDict | Callable[[], LDict]"  # the tree, or (config from the cache) a function loading it
    file: str

    @functools.cached_property
    def tree(self) -> LDict:
        """The merged tree with the location of every value."""
        return self.located() if callable(self.located) else self.located

    @property
    def key(self) -> tuple[str, str]:
        return (self.config.name, self.config.environment.name)

    def where(self, *path: Any, key: bool = False) -> Location:
        return locate(self.tree, tuple(path), key=key) or Location(self.file)


@dataclass(frozen=True)
class Project:
    root: Path
    services: tuple[ServiceEnv, ...]
    spec_files: tuple[str, ...]

    def names(self) -> list[str]:
        return sorted({s.config.name for s in self.services})


def spec_paths(root: Path) -> list[Path]:
    d = root / "services"
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith("_") and p.is_file())


def rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


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
    for n in sorted(wanted - known):
        close = difflib.get_close_matches(n, sorted(known), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        diags.append(Diagnostic(Location("services"), f"no spec named '{n}' (services/{n}.yaml){hint}"))
    services: list[ServiceEnv] = []
    for path in paths:
        if wanted and path.stem not in wanted:
            continue
        try:
            services.extend(load_service(root, path, defaults))
        except SpecError as exc:
            diags.extend(exc.diagnostics)
    diags.extend(checks.check_fleet(services))
    if diags:
        raise SpecError(diags)
    return Project(root, tuple(sorted(services, key=lambda s: s.key)), tuple(rel(root, p) for p in paths))


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
            diags.extend(pydantic_diagnostics(exc, tree, ServiceConfig, display))
            continue
        senv = ServiceEnv(config, tree, display)
        diags.extend(checks.check_service(senv))
        out.append(senv)
    if diags:
        raise SpecError(diags)
    return out


# --- pydantic errors -> diagnostics ---------------------------------------------------------

def _unwrap(tp: Any) -> list[Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(tp) for t in _unwrap(a)]
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    return [tp]


def types_at(model: type[BaseModel], path: tuple) -> list[Any]:
    """The types a value at `path` may have, walking fields, list items and dict values."""
    current: list[Any] = [model]
    for part in path:
        current = [t for tp in current for t in _step(tp, part)]
    return current


def _step(tp: Any, part: Any) -> list[Any]:
    if isinstance(tp, type) and issubclass(tp, BaseModel) and isinstance(part, str):
        f = tp.model_fields.get(part)
        return _unwrap(f.annotation) if f else []
    if typing.get_origin(tp) in (list, dict):
        return _unwrap(typing.get_args(tp)[-1])
    return []


def _models(types_: list[Any]) -> list[type[BaseModel]]:
    return [tp for tp in types_ if isinstance(tp, type) and issubclass(tp, BaseModel)]


def fields_at(model: type[BaseModel], path: tuple) -> list[str]:
    """Field names of the model found at `path` (for did-you-mean suggestions)."""
    return sorted({n for tp in _models(types_at(model, path)) for n in tp.model_fields})


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def pydantic_diagnostics(exc: ValidationError, tree: LDict, model: type[BaseModel], file: str) -> list[Diagnostic]:
    diags = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        on_key = bool(loc) and loc[-1] == "[key]"
        if on_key:  # a bad mapping key: point at the key itself
            loc = loc[:-1]
        value = err.get("input")
        ctx = err.get("ctx") or {}
        if kind == "extra_forbidden":
            where = locate(tree, loc, key=True)
            choices = fields_at(model, loc[:-1])
            close = difflib.get_close_matches(str(loc[-1]), choices, n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"allowed keys: {', '.join(choices)}"
            msg = f"unknown key '{loc[-1]}'; {hint}"
        elif kind == "missing":
            where = locate(tree, loc[:-1], key=True)
            msg = f"required field '{loc[-1]}' is missing"
        elif kind in ("literal_error", "enum"):
            where = locate(tree, loc)
            allowed = ctx.get("expected", "").replace("'", "")
            msg = f"{_describe(value)} is not one of {allowed}"
        elif kind == "string_pattern_mismatch":
            where = locate(tree, loc, key=on_key)
            msg = f"{_describe(value)} is not valid: it must match {ctx.get('pattern')}"
            desc = _field_description(model, loc)
            if desc:
                msg += f" ({desc})"
        elif kind == "string_type" and isinstance(value, (int, float, bool)):
            where = locate(tree, loc)
            msg = f"expected a string, got {type(value).__name__} {_describe(value)}; put it in quotes"
        else:
            where = locate(tree, loc)
            text = err["msg"]
            msg = text[0].lower() + text[1:] if text else kind
            if value is not None and not isinstance(value, (dict, list)):
                msg += f", got {_describe(value)}"
        diags.append(Diagnostic(where or Location(file), msg, _display_path(tree, loc)))
    return diags


def _display_path(tree: LDict, loc: tuple) -> str:
    """Paths inside the merged `environment` read as `environments.<env>...`, as written."""
    env = tree.get("environment")
    if loc and loc[0] == "environment" and isinstance(env, dict):
        return dotted(("environments", env.get("name", "?"), *loc[1:]))
    return dotted(loc)


def _field_description(model: type[BaseModel], loc: tuple) -> str:
    if not loc or not isinstance(loc[-1], str):
        return ""
    for tp in _models(types_at(model, loc[:-1])):
        if loc[-1] in tp.model_fields:
            return tp.model_fields[loc[-1]].description or ""
    return ""
