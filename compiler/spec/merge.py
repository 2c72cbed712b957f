"""Layered merging of located YAML trees.

model defaults < services/_defaults.yaml < the spec < environments.<env> of the spec.
Maps merge deeply; lists and scalars replace. Merged containers keep the
location of the layer each value came from, so errors point into the right file.
"""

from __future__ import annotations

from typing import Any

from ..core.diagnostics import Location
from .yamlsrc import LDict, LList

ENV_ONLY_KEYS = ("account", "region")


def merge(base: Any, overlay: Any) -> Any:
    """Deep-merge overlay onto base without mutating either."""
    if isinstance(base, dict) and isinstance(overlay, dict):
        out = LDict(loc=getattr(overlay, "loc", None) or getattr(base, "loc", None))
        for key in list(base) + [k for k in overlay if k not in base]:
            if key in overlay:
                out[key] = merge(base[key], overlay[key]) if key in base else overlay[key]
                src = overlay
            else:
                out[key] = base[key]
                src = base
            _copy_locs(src, out, key)
        return out
    return overlay


def _copy_locs(src: Any, dst: LDict, key: str) -> None:
    if isinstance(src, LDict):
        if key in src.key_locs:
            dst.key_locs[key] = src.key_locs[key]
        if key in src.value_locs:
            dst.value_locs[key] = src.value_locs[key]


def strip(tree: LDict, *keys: str) -> LDict:
    out = LDict(loc=tree.loc)
    for key, value in tree.items():
        if key not in keys:
            out[key] = value
            _copy_locs(tree, out, key)
    return out


def split_environment(merged: LDict, env: str, overridable: tuple[str, ...]) -> LDict:
    """One layer's tree for one environment: its top level (less `environments`) merged with
    its `environments.<env>` overrides.

    Only `overridable` keys of the environment entry are merged (validation reports the
    others); its account and region move into an `environment` key. Layers are split
    first and merged after, so all of _defaults.yaml stays below the spec.
    """
    envs = merged.get("environments")
    entry = envs.get(env) if isinstance(envs, dict) else None
    result = strip(merged, "environments")
    if not isinstance(entry, dict):
        return result
    overrides = strip(entry, *(k for k in entry if k not in overridable))
    result = merge(result, overrides)
    target = LDict(loc=entry.loc)
    target["name"] = env
    env_key_loc = envs.key_locs.get(env) if isinstance(envs, LDict) else None
    target.key_locs["name"] = target.value_locs["name"] = env_key_loc or entry.loc
    for key in ENV_ONLY_KEYS:
        if key in entry:
            target[key] = entry[key]
            _copy_locs(entry, target, key)
    result["environment"] = target
    result.key_locs["environment"] = env_key_loc or entry.loc
    result.value_locs["environment"] = entry.loc or env_key_loc
    return result


def locate(tree: Any, path: tuple, key: bool = False) -> Location | None:
    """Location of the value (or key) at `path`, or of its deepest existing ancestor."""
    node = tree
    best: Location | None = getattr(tree, "loc", None)
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if isinstance(node, LDict) and isinstance(part, str):
            locs = node.key_locs if (key and last) else node.value_locs
            if part in locs:
                best = locs[part]
            elif part in node.key_locs:
                best = node.key_locs[part]
            else:
                return best
            if part not in node:
                return best
            node = node[part]
        elif isinstance(node, LList) and isinstance(part, int) and 0 <= part < len(node):
            if part < len(node.item_locs):
                best = node.item_locs[part]
            node = node[part]
        else:
            return best
    return best
