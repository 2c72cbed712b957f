"""`shipspec import --copilot DIR`: an AWS Copilot workspace -> one spec per service its pipeline deploys.

Read: `copilot/.workspace` (the application), `copilot/pipelines/<name>/manifest.yml` (source
provider, branch, build image, stages with `requires_approval`, `test_commands`, `deployments`,
`pre_deployments`/`post_deployments`) and each deployed service's `copilot/<svc>/manifest.yml`
(`image.build`, `variables`, `secrets`, `cpu`, `memory`, per-environment overrides). Each Copilot
stage is an environment; its approval becomes `deploy.approval`, its test commands a stage after
Deploy, its pre/post deployments stages after Build/Deploy (commands read from their buildspecs).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from ..core.diagnostics import Diagnostic, Location, SpecError
from ..core.errors import UsageError
from ..spec.models import NAME_RE
from . import specwriter
from .cfn_actions import _commands, _stage_name
from .findings import Findings, merge_findings
from .importer import ImportResult, declared_places
from .tsource import Template, read

ECS_TYPES = ("Load Balanced Web Service", "Backend Service", "Worker Service")
COPILOT_BUILD_IMAGE = "aws/codebuild/amazonlinux2-x86_64-standard:5.0"  # Copilot's default build image
# Service manifest keys that describe the ECS service itself, which shipspec deploys to but does not define.
SERVICE_KEYS = ("http", "count", "exec", "network", "storage", "sidecars", "logging", "taskdef_overrides",
                "platform", "entrypoint", "command", "deployment", "observability", "publish", "subscribe",
                "nlb", "healthcheck")
_GITHUB = re.compile(r"^(?:https://(?:www\.)?(?:github\.com|bitbucket\.org)/|git@github\.com:)([^/]+/[^/]+?)(?:\.git)?/?$")
_NAME = re.compile(NAME_RE)
_CODECOMMIT = re.compile(r"^https://git-codecommit\.[a-z0-9-]+\.amazonaws\.com/v1/repos/([^/]+)$")


@dataclass(frozen=True)
class CopilotOptions:
    pipeline: str | None = None
    env_map: Mapping[str, str] = field(default_factory=dict)  # Copilot environment -> shipspec environment
    connection_arn: str | None = None
    clusters: Mapping[str, str] = field(default_factory=dict)  # shipspec environment -> ECS cluster


def _manifest(path: Path) -> Template:
    return read(path, str(path))  # shown as given (under the --copilot directory)


def _pipeline_path(copilot: Path, name: str | None) -> Path:
    pipes = sorted(p.parent.name for p in (copilot / "pipelines").glob("*/manifest.yml"))
    if not pipes:
        raise UsageError(f"{copilot}: no pipeline manifest (copilot/pipelines/<name>/manifest.yml)")
    if name is None and len(pipes) > 1:
        raise UsageError(f"{copilot}: several pipelines ({', '.join(pipes)}); choose one with --pipeline NAME")
    name = name or pipes[0]
    if name not in pipes:
        raise UsageError(f"--pipeline {name}: not in {copilot}/pipelines (it has: {', '.join(pipes)})")
    return copilot / "pipelines" / name / "manifest.yml"


class _Service:
    """Maps one service's manifest, environment by environment."""

    def __init__(self, svc: Template, pipe: Template, app: str, opts: CopilotOptions, workspace: Path):
        self.svc, self.pipe, self.app, self.opts, self.workspace = svc, pipe, app, opts, workspace
        self.errors: list[Diagnostic] = []

    def at(self, t: Template, *path) -> Location:
        return t.where(path)

    def values(self, copilot_env: str, env: str, stage_index: int, place: tuple[str, str], out: Findings) -> dict:
        v: dict = {}
        put = _Putter(v, out)
        self.source(put)
        self.build(copilot_env, put)
        self.service(copilot_env, env, place, put)
        self.stage(stage_index, put)
        return v

    def _svc(self, copilot_env: str, key: str) -> tuple[Any, tuple]:
        """A service manifest value with its environment override (maps merged one level)."""
        base = self.svc.data.get(key)
        over = ((self.svc.data.get("environments") or {}).get(copilot_env) or {}).get(key)
        if isinstance(base, dict) and isinstance(over, dict):
            return {**base, **over}, ("environments", copilot_env, key)
        if over is not None:
            return over, ("environments", copilot_env, key)
        return base, (key,)

    def source(self, put: "_Putter") -> None:
        src = self.pipe.data.get("source") or {}
        props = src.get("properties") or {}
        provider, url = str(src.get("provider", "")), str(props.get("repository", ""))
        p = self.pipe
        if provider in ("GitHub", "Bitbucket", "GitHubV1"):
            m = _GITHUB.match(url)
            if not m:
                self.errors.append(Diagnostic(self.at(p, "source", "properties", "repository"),
                                              f"cannot read the repository from {url!r}"))
                return
            put.map(self.at(p, "source", "properties", "repository"), "source.properties.repository",
                    "source.repository", m.group(1))
            if provider == "GitHubV1" or "access_token_secret" in props:
                put.map(self.at(p, "source", "provider"), "source.provider", "source.provider", "github-token")
                put.map(self.at(p, "source", "properties", "access_token_secret"), "source.properties."
                        "access_token_secret", "source.token_secret", {"id": str(props.get("access_token_secret"))})
                put.set("source.connection_arn", None)
                put.out.cannot(self.at(p, "source", "properties", "access_token_secret"), "a token kept as the "
                               "whole secret string", "shipspec reads a JSON key of the secret (token_secret.key, "
                               "default `token`): store the token as {\"token\": \"...\"}")
            else:
                put.map(self.at(p, "source", "provider"), "source.provider", "source.provider", "codestar")
                if self.opts.connection_arn:
                    put.map(Location("(command line)"), "--connection-arn", "source.connection_arn",
                            self.opts.connection_arn)
                else:
                    put.out.default("source.connection_arn", None, f"Copilot names its connection "
                                    f"({props.get('connection_name', 'one it created')}); services/_defaults.yaml's "
                                    "connection_arn is used (or pass --connection-arn)")
        elif provider == "CodeCommit":
            m = _CODECOMMIT.match(url)
            put.map(self.at(p, "source", "provider"), "source.provider", "source.provider", "codecommit")
            put.map(self.at(p, "source", "properties", "repository"), "source.properties.repository",
                    "source.repository", m.group(1) if m else url)
            put.set("source.connection_arn", None)
        else:
            self.errors.append(Diagnostic(self.at(p, "source", "provider"), f"unknown Copilot source provider "
                                          f"{provider!r} (GitHub, Bitbucket or CodeCommit)", "source.provider"))
            return
        if props.get("branch"):
            put.map(self.at(p, "source", "properties", "branch"), "source.properties.branch", "source.branch",
                    str(props["branch"]))

    def build(self, copilot_env: str, put: "_Putter") -> None:
        p, s = self.pipe, self.svc
        image = (p.data.get("build") or {}).get("image")
        if image:
            put.map(self.at(p, "build", "image"), "build.image", "build.image", str(image))
        else:
            put.out.differs("build image", f"Copilot's default {COPILOT_BUILD_IMAGE}", "shipspec's build.image")
        name = str(s.data.get("name"))
        put.map(self.at(s, "name"), "name", "build.ecr_repository", f"{self.app}/{name}")
        put.set("build.manage_repository", False)
        put.out.default("build.manage_repository", False, "Copilot's application stack owns the repository; "
                        "shipspec pushes to it and leaves it as it is")
        build, path = self._svc(copilot_env, "image")
        build = (build or {}).get("build") if isinstance(build, dict) else None
        where = self.at(s, *path, "build")
        if isinstance(build, str):
            put.map(where, "image.build", "build.dockerfile", build)
            put.set("build.context", os.path.dirname(build) or ".")
            put.out.default("build.context", os.path.dirname(build) or ".", "Copilot builds in the Dockerfile's "
                            "directory")
        elif isinstance(build, dict):
            if build.get("dockerfile"):
                put.map(where, "image.build.dockerfile", "build.dockerfile", str(build["dockerfile"]))
            if build.get("context"):
                put.map(where, "image.build.context", "build.context", str(build["context"]))
            if build.get("args"):
                put.map(where, "image.build.args", "build.build_args", {k: str(v) for k, v in build["args"].items()})
            for key in ("target", "cache_from"):
                if build.get(key):
                    put.out.cannot(where, f"image.build.{key}", "shipspec's docker build has no such option: build "
                                   "that stage by default in the Dockerfile")
        else:
            self.errors.append(Diagnostic(self.at(s, "image"), "the service has no image.build: shipspec builds the "
                                          "image in the pipeline (image.location is not supported)", "build"))

    def service(self, copilot_env: str, env: str, place: tuple[str, str], put: "_Putter") -> None:
        s = self.svc
        cluster = self.opts.clusters.get(env)
        if cluster:
            put.map(Location("(command line)"), "--cluster", "service.cluster", cluster)
        else:
            put.set("service.cluster", f"{self.app}-{copilot_env}")
            put.out.cannot(self.at(s, "name"), "the ECS cluster and service names", "Copilot named them "
                           f"({self.app}-{copilot_env}-Cluster-..., {self.app}-{copilot_env}-{s.data.get('name')}-"
                           "Service-...): find them with `aws ecs list-clusters` / `list-services` and set "
                           "service.cluster and service.name (or pass --cluster ENV=NAME)")
        put.out.default("service.launch_type", "FARGATE", "Copilot runs its ECS services on Fargate")
        variables, vpath = self._svc(copilot_env, "variables")
        plain = {}
        for k, val in (variables or {}).items():
            if isinstance(val, (str, int, float, bool)):
                plain[k] = str(val).lower() if isinstance(val, bool) else str(val)
            else:
                put.out.cannot(self.at(s, *vpath, k), f"variable {k} ({val})", "set its value in service.environment")
        if plain:
            put.map(self.at(s, *vpath), ".".join(vpath), "service.environment", plain)
        secrets, spath = self._svc(copilot_env, "secrets")
        found = {}
        account, region = place
        for k, val in (secrets or {}).items():
            where = self.at(s, *spath, k)
            if isinstance(val, str) and val.startswith("arn:"):
                found[k] = val
            elif isinstance(val, str):
                found[k] = f"arn:aws:ssm:{region}:{account}:parameter/{val.lstrip('/')}"
            else:
                put.out.cannot(where, f"secret {k} ({val})", "set service.secrets." + k + " to the secret's full ARN "
                               "(aws secretsmanager describe-secret --secret-id NAME shows it)")
        if found:
            put.map(self.at(s, *spath), ".".join(spath), "service.secrets", found)
        for key in ("cpu", "memory"):
            value, path = self._svc(copilot_env, key)
            if isinstance(value, int):
                put.map(self.at(s, *path), ".".join(path), f"service.{key}", value)
        for key in SERVICE_KEYS:
            value, path = self._svc(copilot_env, key)
            if value is not None:
                put.out.cannot(self.at(s, *path), f"{key} of the Copilot service", "it belongs to the ECS service's "
                               "own definition, which shipspec deploys to but does not manage: keep it there")

    def stage(self, index: int, put: "_Putter") -> None:
        p = self.pipe
        stage = p.data["stages"][index]
        approval = bool(stage.get("requires_approval"))
        put.map(self.at(p, "stages", index), f"stages[{index}].requires_approval", "deploy.approval", approval)
        stages = []
        pre = self._deployment_actions(index, "pre_deployments", put)
        if pre:
            stages.append({"name": "PreDeploy", "after": "Approval" if approval else "Build", "actions": pre})
        post = self._deployment_actions(index, "post_deployments", put)
        if post:
            stages.append({"name": "PostDeploy", "after": "Deploy", "actions": post})
        tests = stage.get("test_commands")
        if tests:
            stages.append({"name": "Test", "after": "Deploy",
                           "actions": [{"name": "TestCommands", "commands": [str(c) for c in tests]}]})
            put.out.map(self.at(p, "stages", index, "test_commands"), f"stages[{index}].test_commands",
                        "stages.Test", tests)
        put.set("stages", stages)

    def _deployment_actions(self, index: int, key: str, put: "_Putter") -> list[dict]:
        actions = []
        for name, spec in ((self.pipe.data["stages"][index].get(key)) or {}).items():
            where = self.at(self.pipe, "stages", index, key, name)
            path = (spec or {}).get("buildspec")
            file = self.workspace / str(path) if path else None
            commands = _commands(file.read_text(encoding="utf-8")) if file and file.is_file() else None
            if not commands:
                put.out.cannot(where, f"{key} action {name}", f"its buildspec ({path}) was not found or has no "
                               "commands: add a stage action with the commands it runs")
                continue
            actions.append({"name": _stage_name(name), "commands": commands})
            put.out.map(where, f"stages[{index}].{key}.{name}", f"stages.{key}", commands)
        return actions


class _Putter:
    def __init__(self, values: dict, out: Findings):
        self.values, self.out = values, out

    def set(self, path: str, value: Any) -> None:
        node = self.values
        parts = path.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value

    def map(self, where: Location, source_path: str, spec_path: str, value: Any) -> None:
        self.out.map(where, source_path, spec_path, value)
        self.set(spec_path, value)


def import_copilot(root: Path, copilot: Path, opts: CopilotOptions) -> list[ImportResult]:
    workspace = copilot.parent
    pipe = _manifest(_pipeline_path(copilot, opts.pipeline))
    app_file = copilot / ".workspace"
    app = (yaml.safe_load(app_file.read_text(encoding="utf-8")) or {}).get("application") if app_file.exists() else None
    if not app:
        raise UsageError(f"{app_file}: no `application:` (a Copilot workspace has one)")
    stages = [s for s in pipe.data.get("stages") or () if isinstance(s, dict) and s.get("name")]
    if not stages:
        raise SpecError([Diagnostic(pipe.where(("stages",)), "the pipeline has no stages")])
    services = sorted(p.parent.name for p in copilot.glob("*/manifest.yml")
                      if p.parent.name not in ("pipelines", "environments"))
    env_of = {str(st["name"]): opts.env_map.get(str(st["name"]), str(st["name"])) for st in stages}
    places = declared_places(root, list(dict.fromkeys(env_of.values())))
    defaults = specwriter.defaults_of(root)
    errors: list[Diagnostic] = []
    skipped: list[tuple[Location, str]] = []
    drafts = []
    for name in services:
        svc = _manifest(copilot / name / "manifest.yml")
        if svc.data.get("type") not in ECS_TYPES:
            skipped.append((svc.where(("type",)), f"service {name} ({svc.data.get('type')})"))
            continue
        if not _NAME.match(name):
            errors.append(Diagnostic(svc.where(("name",)), f"service name {name!r} is not a valid spec name "
                                     f"({NAME_RE}); rename it in Copilot first"))
            continue
        per_env: dict[str, dict] = {}
        parts: list[Findings] = []
        for i, st in enumerate(stages):
            deployments = st.get("deployments") or {}
            if deployments and name not in deployments:
                continue
            env = env_of[str(st["name"])]
            out = Findings(env)
            mapper = _Service(svc, pipe, str(app), opts, workspace)
            per_env[env] = mapper.values(str(st["name"]), env, i, places[env], out)
            errors.extend(mapper.errors)
            out.differs("pipelines", "one Copilot pipeline deploys every service to each environment in turn",
                        "one pipeline per service and environment, each started by the branch: a later "
                        "environment no longer waits for an earlier one (use deploy.approval or a branch per "
                        "environment)")
            after = (deployments.get(name) or {}).get("depends_on") if isinstance(deployments.get(name), dict) else None
            if after:
                out.differs("deployment order", f"after {', '.join(map(str, after))}", "independent of other services")
            out.differs("build", "Copilot's buildspec (copilot svc package for every service)",
                        "shipspec's docker build and push of this service")
            parts.append(out)
        if per_env:
            drafts.append((name, per_env, parts))
    if errors:
        raise SpecError(errors)
    results = []
    for name, per_env, parts in drafts:
        for where, what in skipped:
            parts[0].cannot(where, what, "not an ECS service: shipspec deploys ECS services; it stays with Copilot")
        doc, dropped = specwriter.minimal(defaults, name, per_env, places)
        text = specwriter.emit(doc, [f"Imported by `shipspec import` from the Copilot pipeline "
                                     f"{pipe.data.get('name')} and {name}'s manifest.",
                                     "Review it with the import report, then run `shipspec check`."])
        configs = specwriter.verify(root, name, text, per_env)
        results.append(ImportResult(name, text, merge_findings(name, f"services/{name}.yaml", parts, dropped),
                                    configs))
    return results
