"""Incremental validation and build: unchanged specs are neither parsed nor rendered again.

One cache entry per spec file, keyed by the spec's bytes and path, the bytes of
services/_defaults.yaml and the compiler fingerprint (compiler/cache.py). It holds the
validated configuration of each environment and, once built, the path and sha256 of every
file rendered for it with its stacks. So:

- validation of an unchanged spec is one read, one hash and `model_validate_json` of its
  configurations; fleet-wide checks still run over every configuration, every time;
- a service's files are reused only when every file under generated/ still hashes to what
  was rendered (their bytes are read back from there); a hand edit, a deleted file or another
  lambda key renders the service again;
- any problem at all (a missing name, an unreadable or invalid file, a fleet conflict) falls
  back to `validate.load_project` without the cache, so diagnostics are exactly the uncached
  ones. Only specs that validated are stored.

The cache never changes output: `shipspec build --no-cache` writes the same bytes.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from . import cache, checks, prerender, secrets_scan, validate
from .build import render_service
from .diagnostics import SpecError
from .ir import Artifact, Stack
from .merge import merge, split_environment
from .models import ServiceConfig
from .validate import DEFAULTS_FILE, Project, ServiceEnv, rel, spec_paths
from .yamlsrc import MAX_BYTES, LDict, load_file

NAMESPACE = "specs"


@dataclass(frozen=True)
class CachedProject(Project):
    """A Project whose services `build.compile_project` renders through the session (reusing files)."""

    renderer: Callable[..., tuple[list[Artifact], list[Stack]]] | None = field(default=None, compare=False, repr=False)


class _Fallback(Exception):
    """Something is off: let the uncached path produce the exact result or diagnostics."""


@dataclass
class _Spec:
    path: Path
    display: str
    raw: bytes
    key: str
    entry: dict | None = None  # {"envs": {env: config json}, "render": {env: {...}}}


@dataclass
class Session:
    """One command's use of the cache; `enabled=False` is the plain uncached path."""

    root: Path
    enabled: bool = True
    store: cache.Store | None = None
    specs: dict[str, _Spec] = field(default_factory=dict)  # by display path
    dirty: set[str] = field(default_factory=set)
    will_render: bool = False  # a build: render the specs validated in worker processes there too
    jobs: int = 1
    prefetched: dict[tuple[str, str], tuple[list[Artifact], list[Stack]]] = field(default_factory=dict)
    prefetch_key: str = ""  # the lambda key the prefetched files were rendered with
    rendered: int = 0
    reused: int = 0

    @classmethod
    def open(cls, root: Path, enabled: bool = True, will_render: bool = False, jobs: int | None = None) -> "Session":
        enabled = enabled and not cache.disabled_by_env()
        return cls(root, enabled, cache.Store(root, NAMESPACE) if enabled else None, will_render=will_render,
                   jobs=prerender.default_jobs() if jobs is None else jobs)

    # --- validation ---------------------------------------------------------------------

    def load_project(self, names: Iterable[str] = ()) -> Project:
        """Same result as `validate.load_project(root, names)`; SpecError the same way."""
        names = tuple(names)
        if not self.enabled:
            return validate.load_project(self.root, names)
        try:
            return self._load(names)
        except (_Fallback, SpecError):
            self.specs.clear()
            self.dirty.clear()
            return validate.load_project(self.root, names)

    def _load(self, names: tuple[str, ...]) -> Project:
        root = self.root
        paths = spec_paths(root)
        wanted = set(names)
        if wanted - {p.stem for p in paths}:
            raise _Fallback()
        dpath = root / "services" / DEFAULTS_FILE
        defaults_bytes = _read(dpath) if dpath.exists() else None
        fingerprint = cache.compiler_fingerprint()
        services: list[ServiceEnv] = []
        misses: list[_Spec] = []
        defaults_tree: list[LDict] = []  # parsed on first need
        for path in paths:
            if wanted and path.stem not in wanted:
                continue
            display = rel(root, path)
            raw = _read(path)
            spec = _Spec(path, display, raw, cache.key(fingerprint, display, defaults_bytes, raw))
            self.specs[display] = spec
            spec.entry = self.store.get(spec.key)
            if spec.entry is None:
                misses.append(spec)
                continue
            services += self._from_entry(spec, defaults_tree)
        if misses:
            defaults = self._defaults(dpath, defaults_bytes, defaults_tree)
            loaded = self._in_workers(misses, defaults_tree) if prerender.worth_it(len(misses), self.jobs) else None
            for spec in misses:
                envs = loaded[spec.display] if loaded else validate._load_service(root, spec.path, defaults)
                services += envs
                if _same(spec.path, spec.raw) and _same(dpath, defaults_bytes):  # unchanged meanwhile
                    spec.entry = {"envs": {s.config.environment.name: s.config.model_dump_json() for s in envs}}
                    self.dirty.add(spec.display)
        if checks.check_fleet(services):
            raise _Fallback()
        return CachedProject(root, tuple(sorted(services, key=lambda s: s.key)), tuple(rel(root, p) for p in paths),
                             renderer=self.render)

    def _in_workers(self, misses: list[_Spec], defaults_memo: list[LDict]) -> dict[str, list[ServiceEnv]]:
        """Validate (and, for a build, render) the missed specs in worker processes."""
        from .build import lambda_files

        results = prerender.prerender(self.root, [m.path for m in misses], self.will_render, self.jobs)
        if results is None:
            raise _Fallback()
        by_display = {m.display: m for m in misses}
        if self.will_render:
            self.prefetch_key = lambda_files()[1]
        loaded: dict[str, list[ServiceEnv]] = {}
        for display, envs in results:
            spec = by_display[display]
            loaded[display] = [ServiceEnv(c, _LazyTree(self, spec, c.environment.name, defaults_memo), display)
                               for c, _files, _stacks in envs]
            if self.will_render:
                for c, files, stacks in envs:
                    self.prefetched[(display, c.environment.name)] = (files, stacks)
        return loaded

    def _defaults(self, dpath: Path, defaults_bytes: bytes | None, memo: list[LDict]) -> LDict:
        if memo:
            return memo[0]
        defaults = LDict()
        if defaults_bytes is not None:
            display = rel(self.root, dpath)
            defaults = load_file(dpath, display)
            if secrets_scan.scan(defaults, display):
                raise _Fallback()
        memo.append(defaults)
        return defaults

    def _from_entry(self, spec: _Spec, defaults_memo: list[LDict]) -> list[ServiceEnv]:
        try:
            envs = spec.entry["envs"]
            configs = [ServiceConfig.model_validate_json(text) for text in envs.values()]
        except Exception:  # a well-formed entry from an incompatible writer: treat as a miss
            raise _Fallback()
        return [ServiceEnv(c, _LazyTree(self, spec, c.environment.name, defaults_memo), spec.display)
                for c in configs]

    # --- rendering ----------------------------------------------------------------------

    def render(self, config: ServiceConfig, spec_file: str, lambda_key: str) -> tuple[list[Artifact], list[Stack]]:
        """`build.render_service`, reusing a service's files when generated/ still holds them."""
        spec = self.specs.get(spec_file) if self.enabled else None
        env = config.environment.name
        if spec is not None and spec.entry is not None:
            hit = self._reuse(spec.entry.get("render", {}).get(env), lambda_key)
            if hit is not None:
                self.reused += 1
                return hit
        pre = self.prefetched.pop((spec_file, env), None)
        if pre is not None and lambda_key == self.prefetch_key:
            files, stacks = pre
        else:
            files, stacks = render_service(config, spec_file, lambda_key)
        self.rendered += 1
        if spec is not None and spec.entry is not None and _REUSABLE:
            stacks_json = [_stack_json(s) for s in stacks]
            if [_stack(d) for d in stacks_json] == stacks:  # stored losslessly, or not at all
                spec.entry.setdefault("render", {})[env] = {
                    "lambda_key": lambda_key, "files": [[a.path, a.sha256] for a in files], "stacks": stacks_json}
                self.dirty.add(spec.display)
        return files, stacks

    def _reuse(self, rendered: dict | None, lambda_key: str) -> tuple[list[Artifact], list[Stack]] | None:
        if not rendered or rendered.get("lambda_key") != lambda_key:
            return None
        try:
            files = []
            for path, sha in rendered["files"]:
                if not path.startswith("generated/") or ".." in path.split("/"):
                    return None
                with open(os.path.join(self.root, path), "rb") as fh:
                    content = fh.read()
                if hashlib.sha256(content).hexdigest() != sha:
                    return None
                files.append(Artifact(path, content))
            return files, [_stack(s) for s in rendered["stacks"]]
        except (OSError, KeyError, TypeError, ValueError):
            return None

    def save(self) -> None:
        if not self.enabled:
            return
        for display in sorted(self.dirty):
            spec = self.specs[display]
            if spec.entry is not None:
                self.store.put(spec.key, spec.entry)
        self.dirty.clear()
        self.store.limit = max(self.store.limit, 4 * len(self.specs))
        self.store.prune()


def _read(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError:
        raise _Fallback() from None
    if len(raw) > MAX_BYTES:
        raise _Fallback()
    return raw


def _same(path: Path, expected: bytes | None) -> bool:
    if expected is None:
        return not path.exists()
    try:
        return _read(path) == expected
    except _Fallback:
        return False


class _LazyTree:
    """Loads the located tree of a cached service on first use (diagnostics and reports only)."""

    def __init__(self, session: Session, spec: _Spec, env: str, defaults_memo: list[LDict]):
        self.session, self.spec, self.env, self.defaults_memo = session, spec, env, defaults_memo

    def __call__(self) -> LDict:
        root = self.session.root
        dpath = root / "services" / DEFAULTS_FILE
        if not self.defaults_memo:
            defaults = load_file(dpath, rel(root, dpath)) if dpath.exists() else LDict()
            self.defaults_memo.append(defaults)
        spec = load_file(self.spec.path, self.spec.display)
        overridable = validate.ENV_OVERRIDABLE
        return merge(split_environment(self.defaults_memo[0], self.env, overridable),
                     split_environment(spec, self.env, overridable))


# Reused files are rebuilt as Artifact(path, bytes read back): only while that is all an Artifact is.
_REUSABLE = [f.name for f in dataclasses.fields(Artifact)] == ["path", "content"]


def _stack_json(s: Stack) -> dict:
    return {f.name: _thaw(getattr(s, f.name)) for f in dataclasses.fields(Stack)}


def _stack(d: dict) -> Stack:
    return Stack(**{k: _freeze(v) for k, v in d.items()})


def _thaw(value):
    return [_thaw(v) for v in value] if isinstance(value, (tuple, list)) else value


def _freeze(value):
    return tuple(_freeze(v) for v in value) if isinstance(value, list) else value
