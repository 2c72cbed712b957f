"""Incremental validation and build: unchanged specs are neither parsed nor rendered again.

One cache entry per spec file, keyed by the spec's bytes and path, the bytes of
services/_defaults.yaml and the compiler fingerprint (compiler/build/cache.py). It holds the
validated configuration of each environment and, once built, the path and sha256 of every
file rendered for it with its stacks. So:

- `validate.load_project` runs as always (unknown names, _defaults.yaml, fleet-wide checks over
  every configuration, the diagnostics) with a per-spec loader that serves an unchanged spec
  from its entry: one read, one hash, `model_validate_json` per environment. A changed spec goes
  through `validate._load_service` as without the cache, so its diagnostics are exactly the
  uncached ones; only specs that validated are stored, and an invalid _defaults.yaml turns the
  cache off for the run;
- the located tree of a cached service (for `ServiceEnv.where`) is parsed again on first use;
- a service's files are reused only when every file under generated/ still hashes to what was
  rendered (their bytes are read back from there); a hand edit, a deleted file or another
  lambda key renders the service again;
- many missed specs (a cold build) are validated and rendered in worker processes
  (compiler/build/prerender.py).

The cache never changes output: `--no-cache` gives the same bytes and the same diagnostics.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from ..core.diagnostics import Diagnostic, SpecError
from ..spec import project as validate
from ..spec import secrets_scan
from ..spec.loaded import Project, ServiceEnv
from ..spec.merge import merge, split_environment
from ..spec.models import ServiceConfig
from ..spec.project import DEFAULTS_FILE, rel, spec_paths
from ..spec.files import read_limited as _read
from ..spec.yamlsrc import LDict, load_file
from . import cache, prerender, uptodate
from .compile import render_service
from .ir import Artifact, FileArtifact, Stack
from .writer import mode_matches

NAMESPACE = "specs"


@dataclass(frozen=True)
class CachedProject(Project):
    """A Project whose services `build.compile_project` renders through the session (reusing files)."""

    renderer: Callable[..., tuple[list[Artifact], list[Stack]]] | None = field(default=None, compare=False, repr=False)


@dataclass
class _Spec:
    path: Path
    display: str
    raw: bytes
    key: str
    entry: dict | None = None  # {"envs": {env: config json}, "render": {env: {...}}}
    loaded: list[tuple] | None = None  # (config, files, stacks, warnings) per environment, from a worker


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
    defaults_bytes: bytes | None = None
    prefetched: dict[tuple[str, str], tuple[list[Artifact], list[Stack]]] = field(default_factory=dict)
    prefetch_key: str = ""  # the lambda key the prefetched files were rendered with
    rendered: int = 0
    reused: int = 0
    on_disk: set[str] = field(default_factory=set)  # reused files: their bytes were read from that path
    spool: str | None = None  # where workers leave rendered bytes (prerender.spool_folder), if anywhere
    hold_bytes: bool = True  # False (a build): reused files are FileArtifacts, read by whoever needs them
    trusted: dict[str, list] | None = None  # uptodate.trusted_files, read on first reuse
    inputs: uptodate.Inputs | None = None  # the bytes the no-op check read: validated as they are
    known: dict[str, list[int]] = field(default_factory=dict)  # reused files' proven stat (uptodate.record)
    loaded_as_read: set[str] | None = None  # specs validated from exactly `inputs`' bytes (None: not all)

    @classmethod
    def open(cls, root: Path, enabled: bool = True, will_render: bool = False, jobs: int | None = None,
             spool: str | None = None, hold_bytes: bool = True, inputs: uptodate.Inputs | None = None) -> "Session":
        enabled = enabled and not cache.disabled_by_env()
        return cls(root, enabled, cache.Store(root, NAMESPACE) if enabled else None, will_render=will_render,
                   jobs=prerender.default_jobs() if jobs is None else jobs, spool=spool, hold_bytes=hold_bytes,
                   inputs=inputs if enabled else None)

    def built_from(self, inputs: uptodate.Inputs) -> bool:
        """Whether the project this session loaded is exactly `inputs`: every spec, and only those,
        validated from the bytes read for its key (a build records its result under that key)."""
        return self.loaded_as_read is not None and self.loaded_as_read == inputs.specs.keys()

    # --- validation ---------------------------------------------------------------------

    def load_project(self, names: Iterable[str] = ()) -> Project:
        """Same result as `validate.load_project(root, names)`; SpecError the same way."""
        names = tuple(names)
        if not self.enabled or not self._scan(set(names)):
            return validate.load_project(self.root, names)
        project = validate.load_project(self.root, names, load_service=self._load_service)
        fields = {f.name: getattr(project, f.name) for f in dataclasses.fields(Project)}
        return CachedProject(**fields, renderer=self.render)

    def _scan(self, wanted: set[str]) -> bool:
        """Key and look up every spec; validate the misses in workers when there are many.
        False when the cache cannot be used this time (an unreadable or invalid _defaults.yaml)."""
        root = self.root
        dpath = root / "services" / DEFAULTS_FILE
        inputs = self.inputs
        if inputs is not None and (inputs.defaults is not None) != dpath.exists():
            inputs = self.inputs = None  # _defaults.yaml came or went since it was read
        if dpath.exists():
            self.defaults_bytes = inputs.defaults if inputs is not None else _read(dpath)
            try:
                display = rel(root, dpath)
                if self.defaults_bytes is None or secrets_scan.scan(load_file(dpath, display), display):
                    return False
            except SpecError:
                return False
        fingerprint = cache.compiler_fingerprint()
        misses = []
        if inputs is not None and not wanted:
            self.loaded_as_read = set()
            listed = list(inputs.specs.items())  # read once, by the no-op check
        else:
            listed = [(rel(root, path), (path, _read(path) if not wanted or path.stem in wanted else None))
                      for path in spec_paths(root)]
        for display, (path, raw) in listed:
            if raw is None:
                continue  # unreadable or too large: the uncached loader reports it
            spec = self.specs[display] = _Spec(path, display, raw, cache.key(fingerprint, display, self.defaults_bytes, raw))
            spec.entry = self.store.get(spec.key)
            if spec.entry is None:
                misses.append(spec)
        if prerender.worth_it(len(misses), self.jobs, self.will_render):
            self._in_workers(misses)
        return True

    def _in_workers(self, misses: list[_Spec]) -> None:
        """Validate (and, for a build, render) the missed specs in worker processes; a spec a worker
        could not do (an invalid one, say) is left to the serial loader."""
        from .compile import lambda_files

        results = prerender.prerender(self.root, [m.path for m in misses], self.will_render, self.jobs, self.spool)
        if self.will_render:
            self.prefetch_key = lambda_files()[1]
        by_display = {m.display: m for m in misses}
        for display, envs in results or ():
            if display in by_display:
                by_display[display].loaded = envs

    def _load_service(self, root: Path, path: Path, defaults: LDict) -> list[ServiceEnv]:
        """`validate._load_service`, from the cache or a worker's result when there is one."""
        display = rel(root, path)
        spec = self.specs.get(display)
        if spec is None:
            self.loaded_as_read = None  # a spec that was not there when the key was read
            return validate._load_service(root, path, defaults)
        if self.loaded_as_read is not None:
            self.loaded_as_read.add(display)
        if spec.entry is not None:
            try:
                configs = [ServiceConfig.model_validate_json(text) for text in spec.entry["envs"].values()]
                stored = spec.entry.get("warnings", {})
                return [ServiceEnv(c, _LazyTree(spec, c.environment.name, defaults), display,
                                   tuple(Diagnostic.from_dict(d) for d in stored.get(c.environment.name, ())))
                        for c in configs]
            except Exception:  # an entry this compiler cannot read: a miss
                spec.entry = None
        if spec.loaded is not None:
            envs = [ServiceEnv(c, _LazyTree(spec, c.environment.name, defaults), display, warnings)
                    for c, _, _, warnings in spec.loaded]  # the worker's warnings: no second parse here
            for c, files, stacks, _ in spec.loaded:
                self.prefetched[(display, c.environment.name)] = (files, stacks)
        else:
            envs = validate._load_service(root, path, defaults)
        dpath = root / "services" / DEFAULTS_FILE
        if _read(path) != spec.raw or (_read(dpath) if dpath.exists() else None) != self.defaults_bytes:
            self.loaded_as_read = None  # validated from other bytes than its key's: not recorded
        else:
            spec.entry = {"envs": {s.config.environment.name: s.config.model_dump_json() for s in envs},
                          "warnings": {s.config.environment.name: [d.as_dict() for d in s.warnings]
                                       for s in envs if s.warnings}}
            self.dirty.add(display)  # stored only if the whole project loads (save() after success)
        return envs

    # --- rendering ----------------------------------------------------------------------

    def render(self, config: ServiceConfig, spec_file: str, lambda_key: str) -> tuple[list[Artifact], list[Stack]]:
        """`build.render_service`, reusing a service's files when generated/ still holds them."""
        spec = self.specs.get(spec_file) if self.enabled else None
        env = config.environment.name
        if spec is not None and spec.entry is not None:
            hit = self._reuse(spec.entry.get("render", {}).get(env), lambda_key)
            if hit is not None:
                self.reused += 1
                self.on_disk.update(a.path for a in hit[0])
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
            prefix = os.path.join(self.root, "")
            proven = {}
            if not self.hold_bytes and self.trusted is None:
                self.trusted = uptodate.trusted_files(self.root)
            trusted = self.trusted or {}
            for path, sha in rendered["files"]:
                found = reuse_file(prefix, path, sha, trusted, self.hold_bytes)
                if found is None:
                    return None
                files.append(found[0])
                if found[1] is not None:
                    proven[path] = found[1]
            stacks = [_stack(s) for s in rendered["stacks"]]
            self.known.update(proven)
            return files, stacks
        except (OSError, KeyError, TypeError, ValueError):
            return None

    def state(self, project: Project, lambda_key: str) -> dict | None:
        """What a later one-spec build needs of this one (compiler/build/delta.py): per spec, the
        hash of the bytes built and, per environment, `state_entry`.
        None when some spec was not built through the cache (then no later build starts from here)."""
        if not self.enabled or self.inputs is None:
            return None
        specs: dict[str, dict] = {}
        for s in project.services:
            spec = self.specs.get(s.file)
            rendered = (spec.entry or {}).get("render", {}).get(s.config.environment.name) if spec else None
            if not rendered or rendered.get("lambda_key") != lambda_key:
                return None
            envs = specs.setdefault(s.file, {"sha": hashlib.sha256(spec.raw).hexdigest(), "envs": {}})["envs"]
            envs[s.config.environment.name] = state_entry([path for path, _ in rendered["files"]],
                                                          [_stack(x) for x in rendered["stacks"]], s)
        defaults = self.inputs.defaults
        return {"fingerprint": cache.compiler_fingerprint(), "lambda_key": lambda_key, "format": STATE_FORMAT,
                "specs": specs, "defaults": hashlib.sha256(defaults).hexdigest() if defaults is not None else None}

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


class _LazyTree:
    """Parses the located tree of a cached service on first use (diagnostics and reports only)."""

    def __init__(self, spec: _Spec, env: str, defaults: LDict):
        self.spec, self.env, self.defaults = spec, env, defaults

    def __call__(self) -> LDict:
        tree = load_file(self.spec.path, self.spec.display)
        overridable = validate.ENV_OVERRIDABLE
        return merge(split_environment(self.defaults, self.env, overridable),
                     split_environment(tree, self.env, overridable))


# Reused files are rebuilt as Artifact(path, bytes read back): only while that is all an Artifact is.
_REUSABLE = [f.name for f in dataclasses.fields(Artifact)] == ["path", "content"]


_STACK_FIELDS = [f.name for f in dataclasses.fields(Stack)]


def reuse_file(prefix: str, path: str, sha: str, trusted: dict[str, list],
               hold_bytes: bool = False) -> tuple[Artifact, list[int] | None] | None:
    """The file `path` under generated/ (`prefix` is the root, with its separator) as an artifact
    to reuse if it holds `sha`, and the `stat` that proved it: its stat in `trusted` (a build
    record's, `uptodate.trusted_files`) when still that, else its bytes and executable bit read
    back (proof None; bytes held only with `hold_bytes`). None if it does not; OSError if unreadable."""
    if not path.startswith("generated/") or ("/.." in path and ".." in path.split("/")):
        return None
    full = prefix + path
    known = trusted.get(path)
    if known is not None and known[0] == sha and uptodate.stat_of(full) == known[1:]:
        return FileArtifact(path, full, sha), known[1:]  # unchanged since a build recorded it
    with open(full, "rb") as fh:
        art = Artifact(path, fh.read())
    if art.sha256 != sha or not mode_matches(full, path):
        return None
    return (art if hold_bytes else FileArtifact(path, full, sha)), None


STATE_FORMAT = 2  # of `state_entry`; a state of another format is not read (compiler/build/delta.py)


def state_entry(paths: list[str], stacks: list[Stack], s: ServiceEnv) -> dict:
    """One (service, environment) in a build's state (compiler/build/delta.py): its files (their
    hashes are in the build record), what generated/index.json says of its stacks
    (`compile.index_entry`), its fleet facts and warnings."""
    from ..spec.fleet import facts
    from .compile import index_entry

    return {"files": paths, "index": index_entry(stacks), "facts": facts(s),
            "warnings": [d.as_dict() for d in s.warnings]}


def _stack_json(s: Stack) -> list:
    """A Stack as [field names, values] (names checked on the way back)."""
    return [_STACK_FIELDS, [_thaw(getattr(s, name)) for name in _STACK_FIELDS]]


def _stack(d: list) -> Stack:
    names, values = d
    if names != _STACK_FIELDS:
        raise ValueError("stored with another Stack")
    return Stack(*map(_freeze, values))


def _thaw(value):
    return [_thaw(v) for v in value] if isinstance(value, (tuple, list)) else value


def _freeze(value):
    """Lists back to tuples, two levels deep (a Stack's tags are pairs); anything deeper fails the
    round-trip check in `render` and is never stored."""
    if type(value) is not list:
        return value
    return tuple(tuple(v) if type(v) is list else v for v in value)
