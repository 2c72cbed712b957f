"""Runtime rows: what a change does to the running container, per service and environment.

The pipeline template records what its UpdateService action applies to the ECS service
(compiler/build/render/runtime.py: `Metadata.shipspec.runtime` of the UpdateProject). Comparing
the deployed template's record with the new one gives the container-level change a reviewer
must see: the image source, each environment variable and secret added, changed or no longer
set, cpu and memory, the cluster, service and container it targets, and how the rollout runs (the
deployment strategy and each setting of its configuration). With
`build.buildspec: repo` the script lives in the service's repository, so the change reaches the
service only once the changed files are copied there: those files, with the repository and
branch of the environment, are the runtime change's action items.

Pure: templates in, a frozen `RuntimeChange` out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from ..build.render.runtime import METADATA_KEY

FIELDS = ("image", "cluster", "service", "container", "cpu", "memory", "buildspec", "strategy", "load_balancers")
MAPS = ("environment", "secrets", "deployment")
STATUSES = ("new", "changed", "unchanged", "unknown")


@dataclass(frozen=True)
class RuntimeRow:
    """One container-level change: `field` (environment, secrets, image, cluster, service,
    container, cpu, memory, buildspec, strategy, deployment, load_balancers), `key` (the variable,
    for environment and secrets; the setting, for deployment),
    `op` (add, remove, modify) and the values."""

    field: str
    key: str
    op: str
    before: Any = None
    after: Any = None

    def to_json(self) -> dict:
        return {"field": self.field, "key": self.key, "op": self.op, "before": self.before, "after": self.after}

    @classmethod
    def from_json(cls, d: Mapping) -> "RuntimeRow":
        return cls(str(d["field"]), str(d.get("key") or ""), str(d["op"]), d.get("before"), d.get("after"))


@dataclass(frozen=True)
class CopyItem:
    """A file the service repository must receive (build.buildspec: repo)."""

    source: str  # generated/<service>/<env>/<file>
    target: str  # codepipeline/<file> in the service repository
    repository: str
    branch: str | None  # None for an s3 source (the zip's contents)

    def to_json(self) -> dict:
        return {"from": self.source, "to": self.target, "repository": self.repository, "branch": self.branch}

    @classmethod
    def from_json(cls, d: Mapping) -> "CopyItem":
        return cls(str(d["from"]), str(d["to"]), str(d["repository"]), d.get("branch"))

    def action_item(self, service: str, env: str) -> str:
        where = f"repository {self.repository}, branch {self.branch}" if self.branch else f"the source {self.repository}"
        return (f"{service} ({env}): copy {self.source} to {self.target} in {where}, before the pipeline runs "
                "again (build.buildspec: repo: the pipeline runs the service repository's copy)")


@dataclass(frozen=True)
class RuntimeChange:
    service: str
    environment: str
    status: str  # new | changed | unchanged | unknown (the deployed stack records no runtime settings)
    cluster: str
    ecs_service: str
    container: str
    mode: str  # inline | repo
    rows: tuple[RuntimeRow, ...] = ()
    copy: tuple[CopyItem, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.rows or self.copy)

    def action_items(self) -> list[str]:
        return [c.action_item(self.service, self.environment) for c in self.copy]

    def to_json(self) -> dict:
        return {"service": self.service, "environment": self.environment, "status": self.status,
                "cluster": self.cluster, "ecs_service": self.ecs_service, "container": self.container,
                "mode": self.mode, "changes": [r.to_json() for r in self.rows],
                "copy": [c.to_json() for c in self.copy]}

    @classmethod
    def from_json(cls, d: Mapping) -> "RuntimeChange":
        return cls(str(d["service"]), str(d["environment"]), str(d["status"]), str(d["cluster"]),
                   str(d["ecs_service"]), str(d["container"]), str(d["mode"]),
                   tuple(RuntimeRow.from_json(r) for r in d.get("changes") or ()),
                   tuple(CopyItem.from_json(c) for c in d.get("copy") or ()))


def manifest(template: Mapping | None) -> dict | None:
    """The runtime record of a pipeline template (None: none there)."""
    resources = (template or {}).get("Resources") if isinstance(template, Mapping) else None
    for res in (resources or {}).values():
        meta = res.get("Metadata") if isinstance(res, Mapping) else None
        ours = meta.get("shipspec") if isinstance(meta, Mapping) else None
        found = ours.get(METADATA_KEY) if isinstance(ours, Mapping) else None
        if isinstance(found, Mapping):
            return dict(found)
    return None


def _rows(old: Mapping, new: Mapping) -> list[RuntimeRow]:
    rows = []
    for f in FIELDS:
        if old.get(f) != new.get(f):
            op = "add" if old.get(f) is None else "remove" if new.get(f) is None else "modify"
            rows.append(RuntimeRow(f, "", op, old.get(f), new.get(f)))
    for f in MAPS:
        a, b = old.get(f) or {}, new.get(f) or {}
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                op = "add" if k not in a else "remove" if k not in b else "modify"
                rows.append(RuntimeRow(f, k, op, a.get(k), b.get(k)))
    return rows


def _copy(old: Mapping, new: Mapping) -> list[CopyItem]:
    before = {f.get("path"): f.get("sha256") for f in old.get("files") or () if isinstance(f, Mapping)}
    return [CopyItem(str(f["from"]), str(f["path"]), str(f.get("repository", "")), f.get("branch"))
            for f in new.get("files") or () if isinstance(f, Mapping) and before.get(f.get("path")) != f.get("sha256")]


def runtime_change(old: Mapping | None, new: Mapping | None, service: str, env: str) -> RuntimeChange | None:
    """The runtime change from the deployed template `old` (None: no stack yet) to `new`; None when
    `new` records no runtime settings (not a pipeline template, or the stack goes away)."""
    after = manifest(new)
    if after is None:
        return None
    before = manifest(old)
    status = "new" if old is None else "unknown" if before is None else "changed"
    rows = _rows(before or {}, after)
    copy = _copy(before or {}, after)
    if status == "changed" and not rows and not copy:
        status = "unchanged"
    return RuntimeChange(service, env, status, str(after.get("cluster", "")), str(after.get("service", "")),
                         str(after.get("container", "")), str(after.get("buildspec", "")), tuple(rows), tuple(copy))
