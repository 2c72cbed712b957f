"""Write the spec an import found, so that it reads like a hand-written one.

Each environment's values are merged into one spec: a value every environment shares goes at the
top, the others under `environments.<env>`; a value that `services/_defaults.yaml` or the model
already gives is left out. The text is then loaded with the project's own loader, against the real
`_defaults.yaml`, and every value checked to come out as mapped, before anything is written.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import typing
from dataclasses import replace
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import BaseModel

from ..core.diagnostics import SpecError, dotted
from ..spec.merge import split_environment
from ..spec.models import ServiceConfig
from ..spec.project import DEFAULTS_FILE, ENV_OVERRIDABLE, load_project
from ..spec.yamlsrc import load_file

ABSENT: Any = type("_Absent", (), {"__repr__": lambda self: "<absent>"})()
SCHEMA_LINE = "# yaml-language-server: $schema=../schema/service.schema.json"
TOP_ORDER = ("version", "name", "description", "tags", "source", "build", "service", "deploy", "notifications",
             "stages", "names")


def _model_class(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_class(arg)
        if found is not None:
            return found
    return None


def model_default(path: tuple) -> Any:
    """What the models give at `path` when nothing sets it (ABSENT for a required value)."""
    cls: type[BaseModel] | None = ServiceConfig
    value: Any = ABSENT
    for part in path:
        if cls is not None:
            f = cls.model_fields.get(part)
            if f is None:
                return ABSENT
            value = ABSENT if f.is_required() else f.get_default(call_default_factory=True)
            if isinstance(value, BaseModel):
                value = value.model_dump()
            cls = _model_class(f.annotation)
        else:
            value = value.get(part, ABSENT) if isinstance(value, dict) else ABSENT
    return value


def field_order(path: tuple) -> tuple:
    """Sort key: the models' field order (so a spec reads in the order the reference lists), then name."""
    cls: type[BaseModel] | None = ServiceConfig
    key = []
    for part in path:
        fields = list(cls.model_fields) if cls is not None else []
        key.append((fields.index(part), "") if part in fields else (len(fields), str(part)))
        cls = _model_class(cls.model_fields[part].annotation) if cls is not None and part in fields else None
    return tuple(key)


def _leaves(values: Mapping, prefix: tuple = ()) -> dict[tuple, Any]:
    out: dict[tuple, Any] = {}
    for k, v in values.items():
        if isinstance(v, dict) and v:
            out.update(_leaves(v, prefix + (k,)))
        else:
            out[prefix + (k,)] = v
    return out


def _get(tree: Any, path: tuple) -> Any:
    for part in path:
        if not isinstance(tree, dict) or part not in tree:
            return ABSENT
        tree = tree[part]
    return tree


def _put(tree: dict, path: tuple, value: Any) -> None:
    for part in path[:-1]:
        tree = tree.setdefault(part, {})
    tree[path[-1]] = value


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def defaults_of(root: Path) -> dict:
    path = root / "services" / DEFAULTS_FILE
    return load_file(path, f"services/{DEFAULTS_FILE}") if path.exists() else {}


def inherited(defaults: dict, env: str, path: tuple) -> Any:
    """The value at `path` in `env` when the spec does not set it."""
    layer = split_environment(defaults, env, ENV_OVERRIDABLE) if defaults else {}
    found = _get(layer, path)
    return _plain(found) if found is not ABSENT else model_default(path)


def minimal(defaults: dict, name: str, per_env: Mapping[str, dict],
            places: Mapping[str, tuple[str, str]]) -> tuple[dict, tuple[str, ...]]:
    """(spec document, spec paths left to the defaults). `places` gives (account, region) of each
    environment `_defaults.yaml` does not declare."""
    leaves = {env: _leaves(v) for env, v in per_env.items()}
    paths = sorted({p for lv in leaves.values() for p in lv}, key=field_order)
    top: dict = {}
    envs: dict[str, dict] = {env: {} for env in per_env}
    dropped = []
    for path in paths:
        values = {env: lv.get(path, ABSENT) for env, lv in leaves.items()}
        present = {e: v for e, v in values.items() if v is not ABSENT}
        same = len(present) == len(values) and all(v == next(iter(present.values())) for v in present.values())
        if same:
            v = next(iter(present.values()))
            if any(inherited(defaults, e, path) != v for e in values):
                _put(top, path, v)
            else:
                dropped.append(dotted(path))
            continue
        for e, v in present.items():
            if inherited(defaults, e, path) != v:
                _put(envs[e], path, v)
            else:
                dropped.append(f"environments.{e}.{dotted(path)}")
    doc: dict = {"name": name}
    for key in TOP_ORDER:
        if key in top:
            doc[key] = top[key]
    declared = defaults.get("environments") if isinstance(defaults.get("environments"), dict) else {}
    environments: dict = {}
    for env in per_env:
        entry: dict = {}
        if env not in declared and env in places:
            entry["account"], entry["region"] = places[env]
        for key in TOP_ORDER:
            if key in envs[env]:
                entry[key] = envs[env][key]
        environments[env] = entry  # {} when _defaults.yaml places it and nothing differs
    doc["environments"] = environments
    return doc, tuple(dropped)


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # lists indented under their key, as the example specs


def emit(doc: dict, header: list[str]) -> str:
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=110)
    lines = [SCHEMA_LINE, *(f"# {h}" for h in header)]
    return "\n".join(lines) + "\n" + body


def _matches(want: Any, got: Any) -> bool:
    """`got` says what `want` says (the model adds defaults to list items)."""
    if isinstance(want, dict):
        return isinstance(got, dict) and all(k in got and _matches(v, got[k]) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(map(_matches, want, got))
    return want == got


def verify(root: Path, name: str, text: str, per_env: Mapping[str, dict]) -> dict[str, ServiceConfig]:
    """Load `text` as services/<name>.yaml beside the real _defaults.yaml; every mapped value must come
    out as mapped. SpecError (with the spec's own diagnostics) when it does not validate."""
    with tempfile.TemporaryDirectory(prefix="shipspec-import-") as tmp:
        services = Path(tmp) / "services"
        services.mkdir()
        defaults = root / "services" / DEFAULTS_FILE
        if defaults.exists():
            shutil.copyfile(defaults, services / DEFAULTS_FILE)
        (services / f"{name}.yaml").write_text(text, encoding="utf-8")
        try:
            project = load_project(Path(tmp), [name])
        except SpecError as exc:  # say plainly that this is the spec import would write, not one on disk
            raise SpecError([replace(d, location=replace(d.location, file=f"{d.location.file} (as import would "
                                                                              "write it; nothing was written)"))
                             for d in exc.diagnostics]) from None
    configs = {s.config.environment.name: s.config for s in project.services}
    for env, values in per_env.items():
        dumped = configs[env].model_dump()
        for path, want in _leaves(values).items():
            got = _get(dumped, path)
            if not _matches(_plain(want), _plain(got)):
                raise AssertionError(f"import wrote {dotted(path)} = {want!r} for {env}, the spec gives {got!r}")
    return configs


def write(path: Path, text: str, force: bool) -> None:
    """Write the spec (atomically); refuse to replace one unless `force`."""
    if path.exists() and not force:
        raise FileExistsError(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)

