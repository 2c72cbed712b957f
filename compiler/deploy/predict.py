"""Predict, offline, what CloudFormation will do when a stack's template changes.

`diff_templates(old, new, region)` compares two templates resource by resource and property path
by property path, and predicts replacement the way CloudFormation decides it: a change under one
of the resource type's `createOnlyProperties` (from the resource provider schemas cfn-lint ships)
replaces the resource. A change whose value CloudFormation only knows at deploy time (Ref, GetAtt,
ImportValue...) under such a property is a `Conditional` replacement; so is a reference, under such
a property, to a resource that is itself replaced (the cascade CloudFormation shows as "Dynamic").
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator, Mapping

from .changes import MASK, PropertyChange, ResourceChange, mask_change, sort_key, with_risk
from .keyed import (ADD, MODIFY, MOVE, ORDERED, REMOVE, REORDER, Key, decode_json, format_path, is_plain_list,
                    keyed_index_path, list_key, list_name, moved, position)
from .templates import load_template  # noqa: F401 - its home is templates.py; kept importable here

ATTRIBUTES = ("DeletionPolicy", "UpdateReplacePolicy", "DependsOn", "Condition", "Metadata",
              "UpdatePolicy", "CreationPolicy")
PSEUDO = re.compile(r"^AWS::[A-Za-z]+$")
_SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")
_ABSENT: Any = type("_Absent", (), {"__repr__": lambda self: "<absent>"})()
PropPath = tuple  # of str keys and int list indexes


# --- resource provider schemas (from cfn-lint) ---------------------------------------------------

@lru_cache(maxsize=None)
def create_only_properties(resource_type: str, region: str = "us-east-1") -> tuple[tuple[str, ...], ...] | None:
    """The type's createOnlyProperties as path tuples (`*` for any list item), or None when the
    type is unknown to the schemas cfn-lint ships."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type)
    except ResourceNotFoundError:
        return None
    except KeyError:  # a region cfn-lint does not know: fall back to the reference region
        if region == "us-east-1":
            return None
        return create_only_properties(resource_type, "us-east-1")
    pointers = schema.schema.get("createOnlyProperties") or []
    out = []
    for pointer in pointers:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.strip("/").split("/")]
        if parts and parts[0] == "properties":
            out.append(tuple(parts[1:]))
    return tuple(out)


# --- value helpers -------------------------------------------------------------------------------

def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=lambda o: "\u0000" + repr(o))


def _is_intrinsic(value: Any) -> bool:
    if not isinstance(value, dict) or len(value) != 1:
        return False
    key = next(iter(value))
    return key == "Ref" or (isinstance(key, str) and key.startswith("Fn::"))


def _seg_match(a: Any, b: Any) -> bool:
    return a == "*" or b == "*" or a == b


def _prefix(short: PropPath, long: PropPath) -> bool:
    return len(short) <= len(long) and all(_seg_match(a, b) for a, b in zip(short, long))


def _values_at(value: Any, segments: PropPath) -> list:
    if not segments:
        return [value]
    head, rest = segments[0], segments[1:]
    if head == "*" and isinstance(value, list):
        return [v for item in value for v in _values_at(item, rest)]
    if isinstance(value, dict) and head in value and not _is_intrinsic(value):
        return _values_at(value[head], rest)
    if isinstance(value, list) and isinstance(head, int) and head < len(value):
        return _values_at(value[head], rest)
    return [value] if _is_intrinsic(value) else []


def _evaluate(value: Any, params: Mapping) -> tuple[bool, Any]:
    """Evaluate what can be known before deploying: literals, parameter defaults, pseudo
    parameters (kept symbolic: same stack, same value) and Sub/Join of those. (False, _) when the
    value depends on a resource or an import."""
    if value is _ABSENT or not isinstance(value, (dict, list)):
        return True, value
    if isinstance(value, list):
        items = [_evaluate(v, params) for v in value]
        return all(ok for ok, _ in items), [v for _, v in items]
    if not _is_intrinsic(value):
        items = {k: _evaluate(v, params) for k, v in value.items()}
        return all(ok for ok, _ in items.values()), {k: v for k, (_, v) in items.items()}
    (fn, arg), = value.items()
    if fn == "Ref":
        return _evaluate_name(arg, params, {})
    if fn == "Fn::Sub":
        text, variables = (arg[0], arg[1]) if isinstance(arg, list) and len(arg) == 2 else (arg, {})
        if not isinstance(text, str) or not isinstance(variables, dict):
            return False, value
        values = {}
        for name in set(_SUB_VAR.findall(text)):
            ok, v = _evaluate_name(name, params, variables)
            if not ok:
                return False, value
            values[name] = v
        return True, _SUB_VAR.sub(lambda m: str(values[m.group(1)]), text).replace("${!", "${")
    if fn == "Fn::Join" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], list):
        ok, parts = _evaluate(arg[1], params)
        return (True, str(arg[0]).join(str(p) for p in parts)) if ok else (False, value)
    return False, value


def _evaluate_name(name: Any, params: Mapping, variables: Mapping) -> tuple[bool, Any]:
    if name in variables:
        return _evaluate(variables[name], params)
    if isinstance(name, str) and PSEUDO.match(name):
        return True, "${" + name + "}"
    param = params.get(name)
    if isinstance(param, dict) and "Default" in param:
        return True, param["Default"]
    return False, None


def _references(value: Any, path: PropPath = ()) -> Iterator[tuple[PropPath, str]]:
    """(path of the intrinsic, logical id) for every Ref/GetAtt/Sub reference in `value`."""
    if isinstance(value, list):
        for i, v in enumerate(value):
            yield from _references(v, path + (i,))
    elif isinstance(value, dict):
        if _is_intrinsic(value):
            (fn, arg), = value.items()
            if fn == "Ref" and isinstance(arg, str):
                yield path, arg
                return
            if fn == "Fn::GetAtt":
                target = arg[0] if isinstance(arg, list) and arg else str(arg).split(".")[0]
                yield path, str(target)
                return
            if fn == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) and arg else arg
                local = arg[1] if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], dict) else {}
                if isinstance(text, str):
                    for name in sorted(set(_SUB_VAR.findall(text))):
                        if name.split(".")[0] not in local:
                            yield path, name.split(".")[0]
                for v in local.values():
                    yield from _references(v, path)
                return
        for k, v in value.items():
            yield from _references(v, path + (k,))


# --- the diff -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Leaf:
    """One difference the walk found: where, the two values, and what kind of change it is."""

    path: PropPath
    before: Any
    after: Any
    via_param: bool = False
    op: str = MODIFY
    position: str = ""


def _walk(a: Any, b: Any, path: PropPath, changed_params: frozenset) -> Iterator[_Leaf]:
    """Every difference between two property values: mappings key by key, keyed lists element by
    element (compiler/deploy/keyed.py), other lists by index, JSON held in strings by content."""
    if _canon(a) == _canon(b):
        if changed_params and any(t in changed_params for _, t in _references(a)):
            if _is_intrinsic(a):
                yield _Leaf(path, a, b, True)
            elif isinstance(a, dict):
                for k in a:
                    yield from _walk(a[k], b[k], path + (k,), changed_params)
            elif isinstance(a, list):
                field = list_key(a)
                for i, (x, y) in enumerate(zip(a, b)):
                    yield from _walk(x, y, path + (Key(x[field]) if field else i,), changed_params)
        return
    a, b = _decoded(a, b)
    if isinstance(a, dict) and isinstance(b, dict) and not _is_intrinsic(a) and not _is_intrinsic(b):
        for k in list(a) + [k for k in b if k not in a]:
            yield from _walk(a.get(k, _ABSENT), b.get(k, _ABSENT), path + (k,), changed_params)
    elif isinstance(a, list) and isinstance(b, list):
        field = list_key(a, b)
        if field:
            yield from _walk_keyed(a, b, field, path, changed_params)
        elif is_plain_list(a) and is_plain_list(b):
            yield _Leaf(path, a, b)
        else:
            for i in range(max(len(a), len(b))):
                x, y = a[i] if i < len(a) else _ABSENT, b[i] if i < len(b) else _ABSENT
                op = ADD if x is _ABSENT else REMOVE if y is _ABSENT else MODIFY
                if op == MODIFY:
                    yield from _walk(x, y, path + (i,), changed_params)
                else:
                    yield _Leaf(path + (i,), x, y, op=op)
    else:
        yield _Leaf(path, a, b, op=ADD if a is _ABSENT else REMOVE if b is _ABSENT else MODIFY)


def _decoded(a: Any, b: Any) -> tuple[Any, Any]:
    """Both sides as JSON documents when both are strings holding one, else both as they are."""
    da, db = decode_json(a), decode_json(b)
    return (da, db) if da is not a and db is not b else (a, b)


def _walk_keyed(a: list, b: list, field: str, path: PropPath, changed_params: frozenset) -> Iterator[_Leaf]:
    old, new = {e[field]: e for e in a}, {e[field]: e for e in b}
    old_order, new_order = [e[field] for e in a], [e[field] for e in b]
    ordered = list_name(path) in ORDERED
    for k in old_order:
        if k not in new:
            yield _Leaf(path + (Key(k),), old[k], _ABSENT, op=REMOVE)
    for k in new_order:
        if k in old:
            yield from _walk(old[k], new[k], path + (Key(k),), changed_params)
    for k in new_order:
        if k not in old:
            yield _Leaf(path + (Key(k),), _ABSENT, new[k], op=ADD, position=position(new_order, k) if ordered else "")
    shifted = moved(old_order, new_order)
    if ordered:
        for k in shifted:
            yield _Leaf(path + (Key(k),), position(old_order, k), position(new_order, k), op=MOVE)
    elif shifted:
        common = [k for k in new_order if k in old]
        yield _Leaf(path, [k for k in old_order if k in new], common, op=REORDER)


def _under_create_only(path: PropPath, a: Any, b: Any, create_only: tuple[PropPath, ...]) -> bool:
    for c in create_only:
        if _prefix(c, path):
            return True
        if _prefix(path, c) and _canon(_values_at(a, c[len(path):])) != _canon(_values_at(b, c[len(path):])):
            return True
    return False


class _Side:
    """One template: its resources and parameters."""

    def __init__(self, template: Mapping | None):
        template = template if isinstance(template, Mapping) else {}
        res, params = template.get("Resources"), template.get("Parameters")
        res = res if isinstance(res, dict) else {}
        self.resources: dict = {k: v if isinstance(v, dict) else {} for k, v in res.items()}
        self.params: dict = params if isinstance(params, dict) else {}

    def no_echo(self) -> set[str]:
        return {k for k, v in self.params.items() if isinstance(v, dict) and str(v.get("NoEcho")).lower() == "true"}


def _show(value: Any) -> Any:
    return None if value is _ABSENT else value


def _property_changes(lid: str, old: _Side, new: _Side, create_only, changed_params,
                      secret: set[str]) -> list[PropertyChange]:
    o, n = old.resources[lid], new.resources[lid]
    out = []
    for attr in ATTRIBUTES:
        before, after = o.get(attr, _ABSENT), n.get(attr, _ABSENT)
        if attr == "DependsOn":
            before, after = (sorted([v] if isinstance(v, str) else v) if v is not _ABSENT else v
                             for v in (before, after))
        if _canon(before) == _canon(after):
            continue
        if isinstance(before, dict) and isinstance(after, dict):  # Metadata, UpdatePolicy...: by path
            out += [PropertyChange(format_path(leaf.path), _show(leaf.before), _show(leaf.after), "Never", op=leaf.op,
                                   position=leaf.position) for leaf in _walk(before, after, (attr,), frozenset())]
        else:
            out.append(PropertyChange(attr, _show(before), _show(after), "Never",
                                      op=ADD if before is _ABSENT else REMOVE if after is _ABSENT else MODIFY))
    op, np = o.get("Properties", {}) or {}, n.get("Properties", {}) or {}
    for leaf in _walk(op, np, (), changed_params):
        path, a, b, via_param = leaf.path, leaf.before, leaf.after, leaf.via_param
        if leaf.op in (MOVE, REORDER):  # the same elements in another order: nothing is recreated
            out.append(PropertyChange(format_path(path), a, b, "" if create_only is None else "Never", op=leaf.op))
            continue
        if create_only is None:
            rr = ""
        elif not _under_create_only(path, a, b, create_only):
            rr = "Never"
        else:
            (ok_a, va), (ok_b, vb) = _evaluate(a, old.params), _evaluate(b, new.params)
            rr = ("Always" if _canon(va) != _canon(vb) else "Never") if ok_a and ok_b else "Conditionally"
        if via_param:
            names = sorted({t for _, t in _references(a)} & changed_params)
            cause = f"parameter {', '.join(names)} changed"
            ok_a, va = _evaluate(a, old.params)
            ok_b, vb = _evaluate(b, new.params)
            hidden = set(names) & secret
            out.append(PropertyChange(format_path(path), MASK if hidden else (va if ok_a else a),
                                      MASK if hidden else (vb if ok_b else b), rr, cause))
        else:
            out.append(PropertyChange(format_path(path), _show(a), _show(b), rr, op=leaf.op, position=leaf.position))
    return out


def _replacement(props: list[PropertyChange], known: bool) -> str | None:
    if not known:
        return None
    levels = {p.requires_recreation for p in props}
    return "True" if "Always" in levels else "Conditional" if "Conditionally" in levels else "False"


def _cascade(new: _Side, changes: dict[str, ResourceChange], region: str) -> None:
    """Add in-place or Conditional changes to resources that refer to replaced resources."""
    replaced = {lid: c.replacement for lid, c in changes.items() if c.replacement in ("True", "Conditional")}
    pending = list(replaced)
    while pending:
        target = pending.pop(0)
        verb = "is replaced" if replaced[target] == "True" else "may be replaced"
        for lid, res in new.resources.items():
            current = changes.get(lid)
            if lid == target or (current is not None and current.action != "Modify"):
                continue
            rtype = str(res.get("Type", ""))
            create_only = create_only_properties(rtype, region) if rtype else None
            props = list(current.properties) if current else []
            for path, ref in _references(res.get("Properties", {}) or {}):
                name = format_path(keyed_index_path(res.get("Properties", {}) or {}, path))
                if ref != target or any(p.path == name or name.startswith(p.path + ".")
                                        or name.startswith(p.path + "[") for p in props):
                    continue
                value = _values_at(res.get("Properties", {}), path)
                shown = value[0] if value else None
                rr = "" if create_only is None else (
                    "Conditionally" if any(_prefix(c, path) or _prefix(path, c) for c in create_only) else "Never")
                props.append(PropertyChange(name, shown, shown, rr, f"{target} {verb}"))
            if current is None and not props:
                continue
            replacement = _replacement(props, create_only is not None)
            if current is not None and current.replacement == "True":
                replacement = "True"
            changes[lid] = ResourceChange(lid, rtype, "Modify", replacement, tuple(props),
                                          policy_action=_replace_policy(res) if replacement == "True" else None)
            if replacement in ("True", "Conditional") and lid not in replaced:
                replaced[lid] = replacement
                pending.append(lid)


def _delete_policy(resource: Mapping) -> str:
    """The change-set PolicyAction CloudFormation will report for removing `resource`."""
    policy = resource.get("DeletionPolicy")
    if policy is None:  # CloudFormation snapshots these by default
        rtype, props = resource.get("Type"), resource.get("Properties") or {}
        if rtype == "AWS::RDS::DBCluster" or (rtype == "AWS::RDS::DBInstance" and "DBClusterIdentifier" not in props):
            return "Snapshot"
    return {"Retain": "Retain", "RetainExceptOnCreate": "Retain", "Snapshot": "Snapshot"}.get(str(policy), "Delete")


def _replace_policy(resource: Mapping) -> str:
    policy = str(resource.get("UpdateReplacePolicy"))
    return {"Retain": "ReplaceAndRetain", "Snapshot": "ReplaceAndSnapshot"}.get(policy, "ReplaceAndDelete")


def _changed_params(old: _Side, new: _Side) -> frozenset:
    names = set(old.params) | set(new.params)
    return frozenset(n for n in names if _canon(old.params.get(n)) != _canon(new.params.get(n)))


def diff_templates(old: Mapping | None, new: Mapping | None, region: str = "us-east-1") -> list[ResourceChange]:
    """Every resource change from template `old` to `new` (None: the stack does not exist /
    will not exist), most dangerous first, with values of secret-looking properties masked."""
    o, n = _Side(old), _Side(new)
    changed_params = _changed_params(o, n)
    secret = o.no_echo() | n.no_echo()
    changes: dict[str, ResourceChange] = {}
    for lid in list(o.resources) + [k for k in n.resources if k not in o.resources]:
        if lid not in n.resources:
            res = o.resources[lid]
            changes[lid] = ResourceChange(lid, str(res.get("Type", "")), "Remove", None,
                                          policy_action=_delete_policy(res))
            continue
        if lid not in o.resources:
            changes[lid] = ResourceChange(lid, str(n.resources[lid].get("Type", "")), "Add", None)
            continue
        otype, ntype = str(o.resources[lid].get("Type", "")), str(n.resources[lid].get("Type", ""))
        create_only = create_only_properties(ntype, region) if ntype else None
        props = _property_changes(lid, o, n, create_only, changed_params, secret)
        if otype != ntype:
            props.insert(0, PropertyChange("Type", otype, ntype, "Always"))
        if not props:
            continue
        replacement = _replacement(props, create_only is not None or otype != ntype)
        changes[lid] = ResourceChange(lid, ntype, "Modify", replacement, tuple(props),
                                      policy_action=_replace_policy(n.resources[lid]) if replacement == "True" else None)
    _cascade(n, changes, region)
    out = [with_risk(mask_change(c, secret), o.resources.get(c.logical_id)) for c in changes.values()]
    return sorted(out, key=sort_key)
