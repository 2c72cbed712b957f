"""Stack by stack: the templates `build` would write now against generated/ at a git revision.

`collect_targets` pairs each selected stack's current template with its path; `diff_stack`
predicts the resource changes of one pair; `removed_stacks` finds templates that exist at the
revision but are no longer built. Reading the revision is the only I/O (through `compiler/deploy/git.py`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Iterable, Mapping

from ..build.ir import BuildOutput, Stack
from ..core.errors import ShipspecError
from .changes import ResourceChange, counts
from .git import Revision
from .predict import diff_templates
from .runtime import RuntimeChange, runtime_change
from .templates import load_template

INDEX = "generated/index.json"
SECTIONS = ("Description", "Metadata", "Parameters", "Mappings", "Conditions", "Outputs", "Transform")
_BOOTSTRAP_DIR = re.compile(r"^generated/_bootstrap/(\d{12})-([a-z0-9-]+)/")
_SERVICE_DIR = re.compile(r"^generated/([^_/][^/]*)/([^/]+)/[^/]+$")


@dataclass(frozen=True)
class StackDiff:
    stack: str
    template: str  # path of the template, relative to the repository root
    account: str
    region: str
    service: str  # "" for bootstrap stacks
    environment: str
    status: str  # new | removed | changed | unchanged
    changes: tuple[ResourceChange, ...] = ()
    sections: tuple[str, ...] = ()  # other template sections that changed (Outputs, ...)
    runtime: RuntimeChange | None = None  # pipeline stacks: the container-level change

    def to_json(self) -> dict:
        return {"stack": self.stack, "template": self.template, "account": self.account, "region": self.region,
                "service": self.service, "environment": self.environment, "status": self.status,
                "sections": list(self.sections), "risk": counts(self.changes),
                "changes": [c.to_json() for c in self.changes],
                "runtime": self.runtime.to_json() if self.runtime else None}


@dataclass(frozen=True)
class Target:
    """One stack to compare: where its template lives and what it is now (None: no longer built)."""

    stack: Stack
    current: bytes | None


def select(output: BuildOutput, names: Iterable[str] = (), env: str | None = None) -> list[Target]:
    """The stacks of `output` the user asked for. Bootstrap stacks are shared: they are included
    when no service is named, limited by --env to the accounts/regions of that environment."""
    names = set(names)
    by_path = output.by_path()
    services = [s for s in output.stacks if s.kind != "bootstrap"
                and (not names or s.service in names) and (env is None or s.environment == env)]
    targets = [s for s in services]
    if not names:
        places = {(s.account, s.region) for s in services}
        targets += [s for s in output.stacks if s.kind == "bootstrap" and (env is None or (s.account, s.region) in places)]
    return [Target(s, by_path[s.template_path].content) for s in targets]


def _template(content: bytes, where: str) -> dict:
    try:
        return load_template(content)
    except ValueError as exc:
        raise ShipspecError(f"{where}: {exc}") from None


def _sections(old: Mapping | None, new: Mapping | None) -> tuple[str, ...]:
    if old is None or new is None:
        return ()
    return tuple(k for k in SECTIONS if json.dumps(old.get(k), sort_keys=True) != json.dumps(new.get(k), sort_keys=True))


def diff_stack(target: Target, revision: Revision) -> StackDiff:
    st = target.stack
    before = revision.read(st.template_path)
    old = _template(before, f"{st.template_path} at {revision.ref}") if before is not None else None
    new = _template(target.current, st.template_path) if target.current is not None else None
    changes = tuple(diff_templates(old, new, st.region)) if before != target.current else ()
    sections = _sections(old, new)
    status = ("new" if old is None else "removed" if new is None
              else "changed" if changes or sections else "unchanged")
    runtime = runtime_change(old, new, st.service, st.environment) if st.kind == "pipeline" else None
    return StackDiff(st.name, st.template_path, st.account, st.region, st.service, st.environment,
                     status, changes, sections, runtime)


def _old_index(revision: Revision) -> dict:
    raw = revision.read(INDEX)
    try:
        doc = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _old_stack(path: str, index: dict, kinds: Mapping[str, str]) -> Stack:
    """What the old index says about the stack whose template is `path`."""
    m = _BOOTSTRAP_DIR.match(path)
    if m:
        entry = next((b for b in (index.get("bootstrap") or {}).values()
                      if isinstance(b, dict) and b.get("file") == path), {})
        return Stack(str(entry.get("stack", f"(stack of {path})")), "bootstrap", m.group(1), m.group(2), path)
    m = _SERVICE_DIR.match(path)
    service, env = (m.group(1), m.group(2)) if m else ("", "")
    entry = ((index.get("services") or {}).get(service) or {}).get(env) or {}
    kind = kinds.get(PurePosixPath(path).name, "")
    name = (entry.get("stacks") or {}).get(kind) if isinstance(entry, dict) else None
    return Stack(str(name or f"(stack of {path})"), kind or "pipeline", str(entry.get("account", "")),
                 str(entry.get("region", "")), path, service, env)


def removed_stacks(output: BuildOutput, revision: Revision, names: Iterable[str] = (),
                   env: str | None = None) -> list[Target]:
    """Templates in generated/ at the revision that `output` no longer builds (filtered alike)."""
    names = set(names)
    now = {a.path for a in output.artifacts}
    kinds = {PurePosixPath(s.template_path).name: s.kind for s in output.stacks}
    index = None
    out = []
    for path in revision.files("generated"):
        if path in now or not path.endswith((".yml", ".yaml", ".json")) or path == INDEX:
            continue
        is_boot = bool(_BOOTSTRAP_DIR.match(path))
        m = _SERVICE_DIR.match(path)
        if is_boot and (names or env):
            continue  # shared stacks are only listed for the whole fleet
        if not is_boot and (m is None or (names and m.group(1) not in names) or (env and m.group(2) != env)):
            continue
        try:
            old = load_template(revision.read(path) or b"")
        except ValueError:
            continue
        if not isinstance(old.get("Resources"), dict):
            continue  # a buildspec or other non-template file
        index = _old_index(revision) if index is None else index
        out.append(Target(_old_stack(path, index, kinds), None))
    return out


def diff_project(output: BuildOutput, revision: Revision, names: Iterable[str] = (),
                 env: str | None = None) -> list[StackDiff]:
    names = tuple(names)
    targets = select(output, names, env) + removed_stacks(output, revision, names, env)
    return [diff_stack(t, revision) for t in targets]
