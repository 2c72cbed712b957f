"""The ECR repository a pipeline pushes to, and its actions beyond Source, Build, Approval,
UpdateService and Deploy (CodeBuild actions running commands become custom `stages:`)."""

from __future__ import annotations

import re
from typing import Any

import yaml

from ..core.diagnostics import Diagnostic, Location, dotted
from ..spec.models import STAGE_NAME_RE
from .cfn_pipeline import REPOSITORY_VARIABLES, PipelineMapper, known
from .resolve import evaluate

ECR_TYPE = "AWS::ECR::Repository"
_ECR_URI = re.compile(r"^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/(?P<name>.+)$")
_STAGE_NAME = re.compile(STAGE_NAME_RE)
ANCHORS = ("Source", "Build", "Approval", "UpdateService", "Deploy")


def repository(m: PipelineMapper, given: str | None) -> None:
    """build.ecr_repository and build.manage_repository."""
    repos = [lid for lid, r in m.t.resources.items() if isinstance(r, dict) and r.get("Type") == ECR_TYPE]
    if repos:
        lid = repos[0]
        props = m.t.resources[lid].get("Properties") or {}
        path = ("Resources", lid, "Properties", "RepositoryName")
        name = evaluate(props.get("RepositoryName"), m.ctx)
        if m.need(name, path, "build.ecr_repository", "give the repository a RepositoryName or pass "
                  "--ecr-repository NAME"):
            m.map(path, "build.ecr_repository", name)
        enc = props.get("EncryptionConfiguration") if isinstance(props.get("EncryptionConfiguration"), dict) else {}
        if evaluate(enc.get("EncryptionType"), m.ctx) == "KMS" and "KmsKey" not in enc:
            m.map(("Resources", lid), "build.manage_repository", True)
        else:
            m.map(("Resources", lid), "build.manage_repository", False)
            m.out.cannot(m.at(("Resources", lid, "Properties")), f"repository {name} encrypted with "
                         f"{evaluate(enc.get('EncryptionType'), m.ctx) or 'AES256'}{' and its own key' if enc.get('KmsKey') else ''}",
                         "shipspec's managed repository uses KMS with the AWS managed key, which CloudFormation "
                         "cannot change in place: the spec uses the repository without managing it "
                         "(build.manage_repository: false); it stays as it is")
        return
    for name, _kind, value, path in (m.f.build.env if m.f.build else ()):
        if name in REPOSITORY_VARIABLES and isinstance(value, str):
            match = _ECR_URI.match(value)
            repo = match.group("name") if match else value
            m.map(path, "build.ecr_repository", repo)
            m.map(path, "build.manage_repository", False)
            m.out.default("build.manage_repository", False, "the repository is not in this template: shipspec "
                          "pushes to it and leaves it as it is")
            return
    if given:
        m.out.map(Location("(command line)"), "--ecr-repository", "build.ecr_repository", given)
        m.m.put("build.ecr_repository", given)
        m.m.put("build.manage_repository", False)
        return
    m.m.errors.append(Diagnostic(m.at(m.f.name.path), "cannot tell which ECR repository the build pushes to (no "
                                 "AWS::ECR::Repository, no REPOSITORY_URI on the build project): pass "
                                 "--ecr-repository NAME", "build.ecr_repository"))


def _commands(buildspec: Any) -> list[str] | None:
    if not isinstance(buildspec, str) or "\n" not in buildspec:
        return None
    try:
        doc = yaml.safe_load(buildspec)
    except yaml.YAMLError:
        return None
    phases = doc.get("phases") if isinstance(doc, dict) else None
    if not isinstance(phases, dict):
        return None
    out: list[str] = []
    for phase in ("install", "pre_build", "build", "post_build"):
        cmds = (phases.get(phase) or {}).get("commands") if isinstance(phases.get(phase), dict) else None
        out += [str(c) for c in cmds or ()]
    return out or None


def _stage_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9]", "", text.title()) or "Stage"
    name = name if name[0].isalpha() else f"S{name}"
    return name[:31]


def other_actions(m: PipelineMapper) -> None:
    """CodeBuild actions with inline commands become `stages:`; anything else is not representable."""
    stages: dict[str, dict] = {}
    order = m.f.stage_order
    for a in m.f.others:
        commands = _commands(a.project.buildspec.value) if a.project else None
        if commands is None:
            m.out.cannot(m.at(a.path), f"action {a.stage}/{a.action} ({a.kind})",
                         "add it as a custom stage (stages:) with the commands it runs, or drop it")
            continue
        idx = order.index(a.stage) if a.stage in order else len(order)
        after = next((s for s in reversed(order[:idx]) if s in ANCHORS), "Build")
        name = _stage_name(a.stage)
        stage = stages.setdefault(name, {"name": name, "after": after, "actions": []})
        action: dict = {"name": _stage_name(a.action), "commands": commands}
        if a.project and known(a.project.image.value) and m.f.build and a.project.image.value != m.f.build.image.value:
            action["image"] = a.project.image.value
        stage["actions"].append(action)
        m.out.map(m.at(a.path), dotted(a.path), f"stages[{list(stages).index(name)}]", f"{name}/{action['name']}")
    if stages:
        m.m.put("stages", list(stages.values()))

