"""A build of a few changed specs that starts from the last build instead of from every spec.

Each build that went through the cache leaves, beside its record (compiler/build/uptodate.py),
a state: per spec, the hash of the bytes it built and, per environment, the files rendered, what
generated/index.json says of its stacks (`compile.index_entry`), the facts the fleet-wide checks
compare (`spec.fleet.facts`) and the warnings. When
only a few specs differ from that state (`MAX_CHANGED`), `try_delta` validates and renders just
those, checks them against the other specs' stored facts, and takes every other file as it is
under generated/ -- on the record's proof that it is unchanged (its `stat`, or its bytes read
and hashed when the record cannot vouch for it). Nothing else is parsed, validated or rendered
again, so the cost of a one-spec change hardly grows with the fleet.

It is a shortcut, never a second way of building: whenever its answer could differ from the full
build's (another compiler, `_defaults.yaml` or notification Lambda; an invalid changed spec; a
fleet-wide conflict, whose diagnostics need every spec; a file under generated/ that is not what
the state says; more than a few changes), it returns None and the full build runs as before.
tests/build/test_delta.py compares both on the same edits, file for file and line for line.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from ..core.diagnostics import Diagnostic, SpecError
from ..spec import fleet, secrets_scan
from ..spec import project as validate
from ..spec.files import read_limited
from ..spec.project_warnings import ignored_files
from ..spec.yamlsrc import LDict, load_text
from . import cache, uptodate
from .compile import index_artifact, lambda_files, render_bootstraps, render_service
from .incremental import STATE_FORMAT, reuse_file, state_entry
from .ir import Artifact, Stack

MAX_CHANGED = 8  # more changed specs than this: the full build (it validates them on workers)


@dataclass(frozen=True)
class Delta:
    """What the build writes and records, as the full build would have it."""

    artifacts: tuple[Artifact, ...]
    on_disk: frozenset[str]  # reused files: their bytes are the file at that path
    known: dict[str, list[int]]  # reused files' proven stat, for the record
    warnings: tuple[Diagnostic, ...]  # the project's, as `validate.load_project` gives them
    spec_warnings: tuple[Diagnostic, ...]  # the specs' own (the record keeps them; not ignored files)
    state: dict  # the state this build leaves for the next one


def try_delta(root: Path, inputs: uptodate.Inputs) -> Delta | None:
    """The build of `inputs` from the last build's state, or None when the full build must run."""
    last = uptodate.newest(root)
    if last is None:
        return None
    state = cache.Store(root, uptodate.STATES, limit=uptodate.STATES_KEPT).get(last[0])
    lam_files, lambda_key = lambda_files()
    try:
        if (state["fingerprint"] != cache.compiler_fingerprint() or state["lambda_key"] != lambda_key
                or state["defaults"] != _sha(inputs.defaults) or state.get("format") != STATE_FORMAT):
            return None
        before: dict[str, dict] = dict(state["specs"])
    except (TypeError, KeyError, ValueError):
        return None
    changed = [d for d, (_, raw) in inputs.specs.items() if d not in before or before[d].get("sha") != _sha(raw)]
    if not (changed or before.keys() - inputs.specs.keys()) or len(changed) > MAX_CHANGED:
        return None  # no spec changed (so generated/ did: the full build sees what), or too many
    fresh = _validate(root, inputs, changed)
    if fresh is None:
        return None
    try:
        kept = {d: before[d]["envs"] for d in inputs.specs if d not in fresh}
        pairs = [e["facts"] for envs in kept.values() for e in envs.values()]
    except (TypeError, KeyError):
        return None
    pairs += [fleet.facts(s) for envs in fresh.values() for s in envs]
    if fleet.any_conflict(pairs):
        return None  # the full build reports it, at every spec line involved
    reused = _reuse(root, last[1], kept)
    if reused is None:
        return None
    artifacts, known, on_disk = reused
    artifacts += lam_files
    stacks: list[Stack] = []
    entries: list[dict] = []
    warnings: list[Diagnostic] = []
    specs_state: dict[str, dict] = {}
    try:
        for d, envs in kept.items():
            for e in envs.values():
                if e["index"] is not None:
                    entries.append(_checked_entry(e["index"]))
                warnings += [Diagnostic.from_dict(w) for w in e["warnings"]]
            specs_state[d] = before[d]
    except (TypeError, KeyError, ValueError, AttributeError):
        return None
    for d, envs in fresh.items():
        state_envs = {}
        for s in envs:
            files, st = render_service(s.config, s.file, lambda_key)
            artifacts += files
            stacks += st
            warnings += s.warnings
            state_envs[s.config.environment.name] = state_entry([a.path for a in files], st, s)
        specs_state[d] = {"sha": _sha(inputs.specs[d][1]), "envs": state_envs}
    boot_files, boot_stacks = render_bootstraps((f["account"], f["region"]) for f in pairs)
    artifacts += boot_files
    stacks = boot_stacks + stacks
    artifacts.append(index_artifact(artifacts, stacks, entries))
    new_state = {**state, "specs": {d: specs_state[d] for d in inputs.specs}}
    return Delta(tuple(sorted(artifacts, key=lambda a: a.path)), frozenset(on_disk), known,
                 tuple(sorted(set(ignored_files(root) + warnings))), tuple(warnings), new_state)


def _checked_entry(e: dict) -> dict:
    """A stored `compile.index_entry`, or ValueError when it is not one."""
    names = ("service", "environment", "account", "region")
    if (e.keys() != {*names, "stacks"} or not all(type(e[n]) is str for n in names)
            or not all(type(k) is str and type(v) is str for k, v in e["stacks"].items())):
        raise ValueError("not an index entry")
    return e


def _sha(raw: bytes | None) -> str | None:
    return hashlib.sha256(raw).hexdigest() if raw is not None else None


def _validate(root: Path, inputs: uptodate.Inputs, changed: list[str]) -> dict[str, list] | None:
    """The changed specs validated as `validate.load_project` does, from exactly the bytes read for
    the key; None if any of them (or _defaults.yaml) has a problem: the full build reports it."""
    defaults: LDict = LDict()
    if inputs.defaults is not None:
        display = f"services/{validate.DEFAULTS_FILE}"
        try:
            defaults = load_text(inputs.defaults.decode("utf-8"), display)
        except (SpecError, UnicodeDecodeError):
            return None
        if secrets_scan.scan(defaults, display):
            return None
    out = {}
    for d in changed:
        path, raw = inputs.specs[d]
        try:
            envs = validate._load_service(root, path, defaults)
        except SpecError:
            return None
        if read_limited(path) != raw:
            return None  # edited meanwhile: what was validated is not what the key was read from
        out[d] = envs
    return out


def _reuse(root: Path, record: dict, kept: dict[str, dict]) -> tuple[list[Artifact], dict, set] | None:
    """The unchanged specs' files, each taken from generated/ on the record's proof (its `stat`) or
    after reading it back (bytes and executable bit); None if any is not what the state says."""
    trusted = uptodate.trusted_files(root, record)
    recorded = record["files"]  # what the last build wrote: each file's hash
    prefix = os.path.join(root, "")
    artifacts: list[Artifact] = []
    known: dict[str, list[int]] = {}
    on_disk: set[str] = set()
    try:
        for envs in kept.values():
            for e in envs.values():
                for path in e["files"]:
                    found = reuse_file(prefix, path, recorded[path][0], trusted)
                    if found is None:
                        return None
                    artifacts.append(found[0])
                    on_disk.add(path)
                    if found[1] is not None:
                        known[path] = found[1]
    except (OSError, TypeError, ValueError, KeyError, IndexError):
        return None
    return artifacts, known, on_disk
