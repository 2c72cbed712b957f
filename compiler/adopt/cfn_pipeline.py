"""Map a pipeline template's facts (facts.py) onto spec values for one environment.

Each value written is recorded as mapped (template path -> spec path) or defaulted; what the spec
cannot say is recorded as not representable with what to do; a credential found in plaintext is an
error (a secret value never goes into a spec). Differences of the generated pipeline from the
original are found later, by comparing it with what shipspec renders (compare.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, get_args

from ..core.arns import parse_arn
from ..core.diagnostics import Diagnostic, dotted
from ..core.secrets import IAM_USER_KEYS, secret_like_name, secret_value
from ..spec.models import ComputeType
from .facts import PipelineFacts, ProjectFact, SourceFact
from .findings import Findings
from .resolve import Context, ResourceRef, Unknown, evaluate
from .tsource import Template

REPO_BUILDSPEC = "codepipeline/buildspec.yml"
REPO_UPDATESPEC = "codepipeline/updatespec.yml"
DYNAMIC_SM = re.compile(r"^\{\{resolve:secretsmanager:(?P<id>[^:}]+(?::[^:}]+){0,6}?):SecretString:(?P<key>[^:}]+)"
                        r"(?::[^}]*)?\}\}$")
# Variables of the update project the importer understands (they become service.* values).
UPDATE_VARIABLES = {"CLUSTER_NAME": "cluster", "SERVICE_NAME": "name", "CONTAINER_NAME": "container",
                    "LAUNCH_TYPE": "launch_type"}
REPOSITORY_VARIABLES = ("REPOSITORY_URI", "IMAGE_REPO_NAME", "ECR_REPOSITORY", "REPOSITORY_NAME")


@dataclass
class Mapping:
    """One environment's spec values (nested dicts) and the errors that stop the import."""

    values: dict = field(default_factory=dict)
    errors: list[Diagnostic] = field(default_factory=list)

    def put(self, path: str, value: Any) -> None:
        node = self.values
        parts = path.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value


def known(value: Any) -> bool:
    return not isinstance(value, (Unknown, ResourceRef)) and value is not None


def _artifact_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text).lower()).strip("_")
    name = re.sub(r"_source$|^source_", "", name) or "extra"
    return (name if name[0].isalpha() else f"s_{name}")[:30]


class PipelineMapper:
    def __init__(self, template: Template, facts: PipelineFacts, ctx: Context, findings: Findings):
        self.t, self.f, self.ctx, self.out, self.m = template, facts, ctx, findings, Mapping()

    # --- helpers -----------------------------------------------------------------------------
    def at(self, path: tuple):
        return self.t.where(path)

    def map(self, path: tuple, spec_path: str, value: Any) -> None:
        self.out.map(self.at(path), dotted(path), spec_path, value)
        self.m.put(spec_path, value)

    def error(self, path: tuple, message: str, spec_path: str = "") -> None:
        self.m.errors.append(Diagnostic(self.at(path), message, spec_path))

    def need(self, value: Any, path: tuple, spec_path: str, hint: str) -> bool:
        if known(value):
            return True
        why = value.why if isinstance(value, Unknown) else "a value known only once deployed"
        self.error(path, f"{spec_path} cannot be read from the template ({why}); {hint}", spec_path)
        return False

    # --- sources -----------------------------------------------------------------------------
    def sources(self) -> None:
        if not self.f.sources:
            self.error(self.f.name.path, "the pipeline has no source action; a spec needs a source")
            return
        primary, *extra = self.f.sources
        self.source(primary, "source", primary=True)
        additional = []
        for s in extra:
            entry = self.source(s, None, primary=False)
            if entry is not None:
                name = _artifact_name(s.artifact or s.action)
                self.out.map(self.at(s.path), dotted(s.path), f"source.additional[{len(additional)}].name", name)
                additional.append({"name": name, **entry})
        if additional:
            self.m.put("source.additional", additional)

    def source(self, s: SourceFact, prefix: str | None, primary: bool) -> dict | None:
        """Map one source action (under `prefix`), or return it as an additional source entry."""
        if s.provider not in ("codestar", "github-token", "codecommit", "s3"):
            self.out.cannot(self.at(s.path), f"source action {s.action} ({s.provider})",
                            "shipspec sources are CodeStar connections, GitHub (token), CodeCommit or S3: "
                            "move the repository to one of them or drop the action")
            return None
        entry: dict = {"provider": s.provider}
        spec = prefix or "source.additional[]"
        self.need(s.repository.value, s.repository.path, f"{spec}.repository",
                  "pass the parameter's value with --param NAME=VALUE")
        entry["repository"] = s.repository.value
        if s.provider != "s3" and self.need(s.branch.value, s.branch.path, f"{spec}.branch",
                                            "pass the parameter's value with --param NAME=VALUE"):
            entry["branch"] = s.branch.value
        if s.provider == "codestar" and s.connection is not None:
            if known(s.connection.value):
                entry["connection_arn"] = s.connection.value
            elif primary:
                self.out.default(f"{spec}.connection_arn", None, f"the template's connection is "
                                 f"{s.connection.value}: services/_defaults.yaml's connection_arn is used")
        if s.provider == "github-token" and s.token is not None:
            token = self.token(s)
            if token:
                entry["token_secret"] = token
        if primary:
            if s.provider != "codestar":
                entry["connection_arn"] = None
            if s.provider != "github-token":
                entry["token_secret"] = None
            for k, v in entry.items():
                path = {"repository": s.repository.path, "branch": s.branch.path,
                        "connection_arn": s.connection.path if s.connection else s.path,
                        "token_secret": s.token.path if s.token else s.path}.get(k, s.path)
                self.map(path, f"{prefix}.{k}", v)
            return None
        if s.provider == "codestar" and entry.get("connection_arn") == self.m.values.get("source", {}).get(
                "connection_arn"):
            entry.pop("connection_arn", None)  # the primary's is the default
        return entry

    def token(self, s: SourceFact) -> dict | None:
        raw = s.token.value if s.token else None
        path = s.token.path if s.token else s.path
        if isinstance(raw, str):
            m = DYNAMIC_SM.match(raw.strip())
            if m:
                return {"id": m.group("id"), "key": m.group("key")}
            if raw.startswith("{{resolve:"):
                self.error(path, "the GitHub token is a dynamic reference shipspec cannot use (only "
                           "{{resolve:secretsmanager:ID:SecretString:KEY}}); move the token to Secrets Manager",
                           "source.token_secret")
                return None
            self.error(path, "the GitHub token is written in the template in plaintext: shipspec never copies a "
                       "secret into a spec; revoke it, store a new one in Secrets Manager and pass "
                       "--param or edit the template to {{resolve:secretsmanager:ID:SecretString:KEY}}",
                       "source.token_secret")
            return None
        why = raw.why if isinstance(raw, Unknown) else "not in the template"
        self.error(path, f"the GitHub token comes from {why}: shipspec reads it from Secrets Manager only; store "
                   "it there and pass --param NAME='{{resolve:secretsmanager:ID:SecretString:KEY}}'",
                   "source.token_secret")
        return None

    # --- build, update, deploy -------------------------------------------------------------------
    def build(self) -> None:
        b, u = self.f.build, self.f.update
        if b is None:
            self.error(self.f.name.path, "no CodeBuild action builds the image (a Build stage before the "
                       "project whose output the ECS deploy action reads); not a pipeline shipspec can express")
            return
        if b.compute.value in get_args(ComputeType):
            self.map(b.compute.path, "build.compute_type", b.compute.value)
        else:
            self.out.cannot(self.at(b.compute.path), f"compute type {b.compute.value}",
                            f"shipspec offers {', '.join(get_args(ComputeType))}")
        if known(b.image.value):
            self.map(b.image.path, "build.image", b.image.value)
        timeout = b.timeout.value if isinstance(b.timeout.value, int) else 60
        self.map(b.timeout.path, "build.timeout_minutes", max(5, min(480, int(timeout))))
        self.buildspec(b, u)
        self.variables(b, "Build", REPOSITORY_VARIABLES)
        if u is not None:
            self.variables(u, "UpdateService", tuple(UPDATE_VARIABLES))

    def buildspec(self, b: ProjectFact, u: ProjectFact | None) -> None:
        spec = b.buildspec.value
        if spec == REPO_BUILDSPEC:
            self.map(b.buildspec.path, "build.buildspec", "repo")
            if u is not None and u.buildspec.value not in (REPO_UPDATESPEC, None):
                self.out.cannot(self.at(u.buildspec.path), f"UpdateService buildspec {u.buildspec.value}",
                                f"with build.buildspec: repo shipspec reads {REPO_UPDATESPEC}: move it there")
        elif isinstance(spec, str) and "\n" not in spec and spec.endswith((".yml", ".yaml")):
            self.map(b.buildspec.path, "build.buildspec", "repo")
            self.out.cannot(self.at(b.buildspec.path), f"Build buildspec path {spec}",
                            f"shipspec reads {REPO_BUILDSPEC} (and {REPO_UPDATESPEC}): move the files there")
        else:
            self.out.default("build.buildspec", "inline", "the template's build commands are inline; shipspec "
                             "generates its own docker build (compare them before adopting)")

    def variables(self, p: ProjectFact, what: str, understood: tuple[str, ...]) -> None:
        for name, kind, value, path in p.env:
            if name in IAM_USER_KEYS:
                if isinstance(value, str) and kind == "PLAINTEXT":
                    self.error(path, f"{name} of the {what} project holds an IAM user's key in plaintext: shipspec "
                               "never copies it; deactivate the key (the project's role replaces it)")
                else:
                    self.out.cannot(self.at(path), f"{name} on the {what} project (an IAM user's key)",
                                    "shipspec's project role replaces the user's keys: deactivate them after "
                                    "adopting")
                continue
            if kind == "PLAINTEXT" and isinstance(value, str) and (secret_value(value) or secret_like_name(name)):
                self.error(path, f"{name} of the {what} project looks like a credential in plaintext: shipspec "
                           "never copies it; move it to Secrets Manager", f"{name}")
                continue
            if name in understood:
                continue
            todo = ("add it to build.secrets (a full ARN)" if kind != "PLAINTEXT" and what == "Build"
                    else "set it in the buildspec's env section in the repository")
            self.out.cannot(self.at(path), f"{kind} variable {name} of the {what} project", todo)

    def service_values(self, spec_name: str) -> None:
        d, u = self.f.deploy, self.f.update
        if d is None:
            self.error(self.f.name.path, "the pipeline has no ECS deploy action (Category Deploy, Provider ECS): "
                       "shipspec pipelines deploy to an ECS service")
            return
        if self.need(d.cluster.value, d.cluster.path, "service.cluster", "pass the parameter with --param"):
            self.map(d.cluster.path, "service.cluster", d.cluster.value)
        if self.need(d.service.value, d.service.path, "service.name", "pass the parameter with --param") \
                and d.service.value != spec_name:
            self.map(d.service.path, "service.name", d.service.value)
        timeout = d.timeout.value
        if known(timeout) and str(timeout).isdigit():
            self.map(d.timeout.path, "deploy.timeout_minutes", max(1, min(60, int(timeout))))
        if d.file_name.value not in (None, "imagedefinitions.json"):
            self.out.cannot(self.at(d.file_name.path), f"deploy FileName {d.file_name.value}",
                            "shipspec's UpdateService writes imagedefinitions.json")
        env = {n: (v, p) for n, _k, v, p in (u.env if u else ())}
        container = env.get("CONTAINER_NAME")
        if container and known(container[0]) and container[0] != spec_name:
            self.map(container[1], "service.container", container[0])
        elif not container:
            self.out.default("service.container", spec_name, "the template does not say the container's name: "
                             "check it is the task definition's container")
        launch = env.get("LAUNCH_TYPE")
        if launch and launch[0] in ("EC2", "FARGATE"):
            self.map(launch[1], "service.launch_type", launch[0])
        else:
            self.out.default("service.launch_type", "FARGATE", "the template does not say the launch type: set "
                             "service.launch_type: EC2 for an EC2 service")
        self.m.put("deploy.approval", bool(self.f.approvals))
        if self.f.approvals:
            self.out.map(self.at(self.f.approvals[0].path), dotted(self.f.approvals[0].path), "deploy.approval", True)

    # --- names, repository, other actions -------------------------------------------------------------
    def names(self, default_pipeline: str) -> None:
        name = self.f.name
        if known(name.value) and name.value != default_pipeline:
            self.map(name.path, "names.pipeline", name.value)
        roles = {"pipeline_role": self.role(self.f.role.value)}
        if self.f.build:
            roles["build_role"] = self.role(self.f.build.role.value)
        if self.f.update:
            roles["update_role"] = self.role(self.f.update.role.value)
        taken: dict[str, str] = {}
        for field_, found in roles.items():
            if found is None:
                continue
            role, path = found
            if role in taken:
                continue  # a role shared by two projects stays with the first; the other gets its own
            taken[role] = field_
            self.map(path, f"names.{field_}", role)

    def role(self, value: Any) -> tuple[str, tuple] | None:
        """(role name, path) when `value` is a GetAtt/Ref of a role of the template that has a RoleName."""
        if isinstance(value, ResourceRef):
            res = self.t.resources.get(value.logical_id) or {}
            if res.get("Type") == "AWS::IAM::Role":
                name = (res.get("Properties") or {}).get("RoleName")
                resolved = evaluate(name, self.ctx) if name is not None else None
                if isinstance(resolved, str):
                    return resolved, ("Resources", value.logical_id, "Properties", "RoleName")
        if isinstance(value, str):
            arn = parse_arn(value)
            if arn and arn.service == "iam" and arn.resource.startswith("role/"):
                return arn.resource.split("/")[-1], self.f.role.path
        return None
