"""Which (service, environment) pairs a change touches: the set CI plans and deploys.

The base is the merge base of `since` and HEAD (what `git diff since...HEAD` compares),
and the head side is the work tree, so uncommitted edits count locally; in CI the work
tree is HEAD. A pair is affected when

- its spec `services/<name>.yaml` changed (every environment the spec has now);
- a file under `generated/<name>/<env>/` changed directly;
- a shared input changed (`services/_*.yaml`, `compiler/**`, `schema/**`, `pyproject.toml`,
  `constraints.txt`, `generated/_*/**`, `generated/index.json`) and the files a build writes
  for it now differ from those committed under `generated/` at the base. That comparison
  hashes the new files as git blobs and compares them with one `git ls-tree` listing of the
  base, so it stays fast at hundreds of services.
  `generated/index.json` alone, differing only in the entries of services whose spec or
  generated files changed anyway (what rebuilding a changed spec does to it), is no shared change.

`lint_selection` says what `shipspec lint --changed-since` lints: these pairs, or everything when
an input of every finding changed (the compiler, the lint rules, the schema, `_defaults.yaml`,
constraints.txt).

Pairs that existed at the base (per the base's `generated/` tree, or its specs when no
generated tree was committed) but that no spec produces now are orphans: their stacks
still exist and are reported, never deleted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from .git import blob_id, changed_paths, merge_base, read_blobs, tree_blobs

Pair = tuple[str, str]

SHARED_PREFIXES = ("compiler/", "schema/", "generated/_")
SHARED_FILES = ("pyproject.toml", "constraints.txt", "generated/index.json")


@dataclass(frozen=True)
class Affected:
    pairs: tuple[Pair, ...]  # (service, env) whose generated output differs (or whose spec changed)
    orphans: tuple[Pair, ...]  # present at the base, produced by no spec now: report, never delete
    reasons: dict = field(default_factory=dict)  # (service, env) -> short reason
    base: str = ""  # the commit compared against (merge base of `since` and HEAD)
    bootstrap: tuple[Pair, ...] = ()  # (account, region) whose bootstrap template differs
    shared: tuple[str, ...] = ()  # the shared inputs that changed (paths, sorted)


# --- pure classification ---------------------------------------------------------------------

def spec_name(path: str) -> str | None:
    """`services/<name>.yaml` -> name; None for defaults/partials and other files."""
    parts = path.split("/")
    if len(parts) == 2 and parts[0] == "services" and not parts[1].startswith("_"):
        stem, dot, ext = parts[1].rpartition(".")
        if dot and ext in ("yaml", "yml"):
            return stem
    return None


def generated_pair(path: str) -> Pair | None:
    """`generated/<name>/<env>/<file>` -> (name, env)."""
    parts = path.split("/")
    if len(parts) >= 4 and parts[0] == "generated" and not parts[1].startswith("_"):
        return parts[1], parts[2]
    return None


def is_shared(path: str) -> bool:
    """A change here may alter any service's output: compare generated files to decide."""
    if path in SHARED_FILES or path.startswith(SHARED_PREFIXES):
        return True
    parts = path.split("/")
    return len(parts) == 2 and parts[0] == "services" and parts[1].startswith("_")


def pairs_in_tree(paths: Iterable[str]) -> set[Pair]:
    return {p for p in map(generated_pair, paths) if p}


def group_by_pair(files: dict[str, str]) -> dict[Pair, dict[str, str]]:
    out: dict[Pair, dict[str, str]] = {}
    for path, oid in files.items():
        pair = generated_pair(path)
        if pair:
            out.setdefault(pair, {})[path] = oid
    return out


def bootstrap_target(path: str) -> str | None:
    parts = path.split("/")
    if len(parts) >= 4 and parts[:2] == ["generated", "_bootstrap"]:
        return parts[2]
    return None


def shard(pairs: Iterable[Pair], index: int, total: int) -> tuple[Pair, ...]:
    """Shard `index` of `total` (1-based): round-robin over the sorted service names, so a
    service's environments stay together (a shard can be planned by name), and the shards are
    disjoint, complete, balanced by service, and the same in every job of a run."""
    if total < 1 or not 1 <= index <= total:
        raise ValueError(f"shard {index}/{total}: need 1 <= I <= N")
    pairs = sorted(set(pairs))
    mine = set(sorted({s for s, _ in pairs})[index - 1::total])
    return tuple(p for p in pairs if p[0] in mine)


def parse_shard(text: str) -> tuple[int, int]:
    """'2/4' -> (2, 4); ValueError with a message for anything else."""
    head, sep, tail = text.partition("/")
    if not sep or not head.isdigit() or not tail.isdigit():
        raise ValueError(f"--shard {text}: expected I/N, e.g. 1/4")
    index, total = int(head), int(tail)
    if total < 1 or not 1 <= index <= total:
        raise ValueError(f"--shard {text}: need 1 <= I <= N, e.g. 1/4")
    return index, total


# --- the analysis ----------------------------------------------------------------------------

def _base_env_names(root: Path, base: str, names: Iterable[str]) -> dict[str, set[str]]:
    """Environments each named spec had at `base`, from its YAML and the base _defaults.yaml
    (used when the base has no committed generated/ tree)."""
    import yaml

    names = sorted(set(names))
    blobs = read_blobs(root, [f"{base}:services/_defaults.yaml"]
                       + [f"{base}:services/{n}.{ext}" for n in names for ext in ("yaml", "yml")])

    def envs(raw: bytes | None) -> set[str]:
        try:
            doc = yaml.safe_load(raw) if raw else None
        except yaml.YAMLError:
            return set()
        value = doc.get("environments") if isinstance(doc, dict) else None
        return {str(k) for k in value} if isinstance(value, dict) else set()

    defaults = envs(blobs[f"{base}:services/_defaults.yaml"])
    out = {}
    for n in names:
        raw = blobs[f"{base}:services/{n}.yaml"] or blobs[f"{base}:services/{n}.yml"]
        if raw is not None:
            out[n] = defaults | envs(raw)
    return out


def _index_entries(content: bytes | None) -> dict[Pair, dict]:
    """(service, env) -> account/region/stacks from a generated/index.json."""
    try:
        doc = json.loads(content) if content else {}
    except ValueError:
        return {}
    out = {}
    for svc, envs in (doc.get("services") or {}).items():
        for env, entry in (envs or {}).items():
            out[(svc, env)] = {k: entry.get(k) for k in ("account", "region", "stacks")}
    return out


def _index_change_explained(root: Path, base: str, touched: set[str]) -> bool:
    """generated/index.json differs from the base only in the entries of services whose spec or
    generated files changed anyway (what rebuilding a changed spec does to it): its bootstrap and
    Lambda sections and every other service's entries are the same. Anything else (unreadable,
    a bootstrap template's hash, another service's entry) is False: compare the whole build."""
    head_path = root / "generated" / "index.json"
    try:
        now = json.loads(head_path.read_bytes())
        before = json.loads(read_blobs(root, [f"{base}:generated/index.json"])[f"{base}:generated/index.json"] or b"")
    except (OSError, ValueError):
        return False
    if not isinstance(now, dict) or not isinstance(before, dict):
        return False
    if {k: v for k, v in now.items() if k != "services"} != {k: v for k, v in before.items() if k != "services"}:
        return False
    a, b = now.get("services") or {}, before.get("services") or {}
    if not isinstance(a, dict) or not isinstance(b, dict):
        return False
    return all(name in touched for name in set(a) | set(b) if a.get(name) != b.get(name))


def affected(root: Path, since: str) -> Affected:
    from ..build.compile import compile_project
    from ..spec.project import load_project, spec_paths

    root = Path(root)
    base = merge_base(root, since)
    changed = changed_paths(root, base)
    now_specs = {p.stem for p in spec_paths(root)}
    base_files = tree_blobs(root, base)
    base_pairs = pairs_in_tree(base_files)

    spec_changed = {n for n in map(spec_name, changed) if n}
    gen_changed: dict[Pair, str] = {}
    for path in changed:
        pair = generated_pair(path)
        if pair:
            gen_changed.setdefault(pair, path)
    shared = [p for p in changed if is_shared(p)]

    # Which services the head side must load: all of them for a shared change, else the named.
    touched = spec_changed | {svc for svc, _ in gen_changed}
    if shared == ["generated/index.json"] and _index_change_explained(root, base, touched):
        shared = []  # a rebuilt spec's own entries: nothing else can differ, no need to build all
    if not shared and not touched:
        return Affected((), (), {}, base)
    load_names = () if shared else sorted(touched & now_specs)
    project = load_project(root, load_names) if (shared or load_names) else None
    now_pairs = {s.key for s in project.services} if project else set()

    reasons: dict[Pair, str] = {p: f"services/{p[0]}.yaml changed" for p in now_pairs if p[0] in spec_changed}

    bootstrap: list[Pair] = []
    if shared and project is not None:
        inputs = [p for p in shared if not p.startswith("generated/")] or shared
        cause = ", ".join(inputs[:3]) + (f" and {len(inputs) - 3} more" if len(inputs) > 3 else "")
        output = compile_project(project)
        new_files = {a.path: blob_id(a.content) for a in output.artifacts}
        new_groups, base_groups = group_by_pair(new_files), group_by_pair(base_files)
        index_now = _index_entries(next((a.content for a in output.artifacts
                                              if a.path == "generated/index.json"), None))
        index_base = _index_entries(read_blobs(root, [f"{base}:generated/index.json"]).get(
            f"{base}:generated/index.json")) if "generated/index.json" in base_files else {}
        for pair in sorted(now_pairs):
            if pair in reasons:
                continue
            if new_groups.get(pair, {}) != base_groups.get(pair, {}) or (
                    index_base and index_now.get(pair) != index_base.get(pair)):
                reasons[pair] = f"generated output differs ({cause} changed)"
        boot_now = {t for t in map(bootstrap_target, new_files) if t}
        for target in sorted(boot_now):
            prefix = f"generated/_bootstrap/{target}/"
            if ({p: o for p, o in new_files.items() if p.startswith(prefix)}
                    != {p: o for p, o in base_files.items() if p.startswith(prefix)}):
                account, _, region = target.partition("-")
                bootstrap.append((account, region))

    for pair in sorted(now_pairs):  # a generated file edited directly (by hand, or a stale build)
        if pair in gen_changed and pair not in reasons:
            reasons[pair] = f"{gen_changed[pair]} changed"

    # Orphans: at the base, for a service we looked at, but produced by no spec now.
    looked_at = set(now_specs) | touched if shared else touched
    if base_pairs:
        before = set(base_pairs) if shared else {p for p in base_pairs if p[0] in looked_at}
    else:
        before = {(n, e) for n, envs in _base_env_names(root, base, looked_at).items() for e in envs}
    orphans = sorted(p for p in before if p not in now_pairs)
    for pair in orphans:
        reasons[pair] = (f"services/{pair[0]}.yaml deleted" if pair[0] not in now_specs
                         else f"environment '{pair[1]}' removed from services/{pair[0]}.yaml")
    pairs = tuple(p for p in sorted(now_pairs) if p in reasons)
    return Affected(pairs, tuple(orphans), {p: reasons[p] for p in (*pairs, *orphans)}, base, tuple(bootstrap),
                    tuple(sorted(shared)))


# --- what lint must look at again ------------------------------------------------------------

# Inputs of every lint finding besides the templates themselves: when one of these changed, a
# finding may differ in a template whose bytes did not, so `lint --changed-since` lints all.
# First match wins (the lint rules live inside the compiler).
LINT_INPUTS = (
    ("compiler/lint/", "the lint rules"),
    ("compiler/", "the compiler"),
    ("schema/", "the schema"),
    ("services/_defaults.yaml", "_defaults.yaml"),
    ("services/_defaults.yml", "_defaults.yaml"),
    ("constraints.txt", "constraints.txt (cfn-lint's version)"),
)


@dataclass(frozen=True)
class LintSelection:
    """What `shipspec lint --changed-since` lints: every template when `causes` is not empty
    (each "<what> changed (<path>...)"), else the templates of `pairs` and of the bootstrap
    stacks of `bootstrap` -- the selection of `affected` and `plan --changed-since`."""

    pairs: tuple[Pair, ...]
    bootstrap: tuple[Pair, ...]
    causes: tuple[str, ...]
    base: str

    @property
    def everything(self) -> bool:
        return bool(self.causes)


def full_lint_causes(paths: Iterable[str]) -> tuple[str, ...]:
    """Why every template must be linted again, one entry per kind of input that changed, e.g.
    "the lint rules changed (compiler/lint/iam_rules.py)"; empty when none did."""
    found: dict[str, list[str]] = {}
    for path in sorted(set(paths)):
        for prefix, what in LINT_INPUTS:
            if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
                found.setdefault(what, []).append(path)
                break
    out = []
    for _, what in LINT_INPUTS:
        if what in found and not any(o.startswith(f"{what} changed") for o in out):
            names = found[what]
            more = f" and {len(names) - 3} more" if len(names) > 3 else ""
            out.append(f"{what} changed ({', '.join(names[:3])}{more})")
    return tuple(out)


def lint_selection(result: Affected) -> LintSelection:
    return LintSelection(result.pairs, result.bootstrap, full_lint_causes(result.shared), result.base)


# --- reports ---------------------------------------------------------------------------------

def as_dict(result: Affected, since: str, pairs: Iterable[Pair] | None = None, shard_text: str = "") -> dict:
    """The JSON document `shipspec affected --format json` prints."""
    chosen = result.pairs if pairs is None else tuple(pairs)
    doc = {
        "since": since,
        "base": result.base,
        "pairs": [{"service": s, "environment": e, "reason": result.reasons.get((s, e), "")} for s, e in chosen],
        "orphans": [{"service": s, "environment": e, "reason": result.reasons.get((s, e), "")}
                    for s, e in result.orphans],
        "bootstrap": [{"account": a, "region": r} for a, r in result.bootstrap],
    }
    if shard_text:
        doc["shard"] = shard_text
    return doc


def text_lines(result: Affected, pairs: Iterable[Pair] | None = None) -> list[str]:
    """`news-web prod  (services/news-web.yaml changed)`; orphans and bootstrap after."""
    chosen = result.pairs if pairs is None else tuple(pairs)
    rows = [(f"{s} {e}", result.reasons.get((s, e), "")) for s, e in chosen]
    rows += [(f"{s} {e}", f"orphan: {result.reasons.get((s, e), '')}; its stacks are left in place")
             for s, e in result.orphans]
    rows += [(f"bootstrap {a} {r}", "bootstrap template differs") for a, r in result.bootstrap]
    width = max((len(r[0]) for r in rows), default=0)
    return [f"{label.ljust(width)}  ({why})" for label, why in rows]
