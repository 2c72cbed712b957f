"""What a custom stage action gets, computed from the spec alone: the facts the stage checks
(`compiler/spec/stage_checks.py`) and the renderer (`compiler/build/render/stages.py`) share.

Which built-in stages run (`builtin_order`), what artifacts and variables exist after each one
(`artifacts_after`, `namespaces_after`), which environment variables an action's commands get
(`builtin_variables`), the names of each action's resources (`plans`), and the
EnvironmentVariables JSON its pipeline action carries (`environment_json`, whose size
CodePipeline limits). Pure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core.codepipeline import (
    BUILD_ARTIFACT,
    BUILD_NAMESPACE,
    BUILTIN_STAGES,
    DEPLOYMENT_VARIABLES,
    IMAGE_VARIABLE,
    PIPELINE_NAMESPACE,
    PRIMARY_ARTIFACT,
    SOURCE_NAMESPACE,
    UPDATE_ARTIFACT,
    UPDATE_NAMESPACE,
    source_outputs,
)
from . import naming

if TYPE_CHECKING:
    from .models import ServiceConfig, Stage, StageAction

STAGES_DIR = "stages"
PSEUDO_PARAMETERS = ("AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::URLSuffix")
SUBSTITUTION_RE = re.compile(r"\$\{([^}]*)\}")
# Statement ids of what shipspec writes into a stage action's role (compiler/build/render/stages.py).
ROLE_SIDS = ("Logs", "Artifacts", "ArtifactKey", "ReadSecrets", "DecryptSecrets", "ReadParameters",
             "DecryptParameters")


# --- what exists where ---------------------------------------------------------------------------

def builtin_order(c: "ServiceConfig") -> tuple[str, ...]:
    """The built-in stages this environment's pipeline has, in order."""
    return tuple(s for s in BUILTIN_STAGES if s != "Approval" or c.deploy.approval)


def _produces(c: "ServiceConfig") -> dict[str, tuple[str, ...]]:
    return {"Source": (PRIMARY_ARTIFACT, *(a.name for a in c.source.additional)),
            "Build": (BUILD_ARTIFACT,), "Approval": (), "UpdateService": (UPDATE_ARTIFACT,), "Deploy": ()}


def producer_of(c: "ServiceConfig", artifact: str) -> str | None:
    """The built-in stage producing `artifact`, or None if no stage does."""
    return next((stage for stage, arts in _produces(c).items() if artifact in arts), None)


def _upto(c: "ServiceConfig", after: str) -> tuple[str, ...]:
    """The built-in stages that have run when a stage placed after `after` starts. Approval directly
    follows Build; without it (a spec error the checks report) the stage is treated as after Build."""
    order = builtin_order(c)
    if after not in order:
        after = "Build" if after == "Approval" else order[-1]
    return order[: order.index(after) + 1]


def has_run(c: "ServiceConfig", after: str, builtin: str) -> bool:
    """Whether built-in stage `builtin` has run before a stage placed after `after`."""
    return builtin in _upto(c, after)


def artifacts_after(c: "ServiceConfig", after: str) -> tuple[str, ...]:
    """Artifacts that exist for a stage placed after built-in stage `after`."""
    produced = _produces(c)
    return tuple(a for stage in _upto(c, after) for a in produced[stage])


def namespaces_after(c: "ServiceConfig", after: str) -> dict[str, tuple[str, ...]]:
    """Pipeline variables (namespace -> names) an action placed after `after` can use."""
    out = {PIPELINE_NAMESPACE: ("PipelineExecutionId",), SOURCE_NAMESPACE: source_outputs(c.source.provider)}
    if has_run(c, after, "Build"):
        out[BUILD_NAMESPACE] = (IMAGE_VARIABLE,)
    if has_run(c, after, "UpdateService"):
        out[UPDATE_NAMESPACE] = DEPLOYMENT_VARIABLES
    return out


@dataclass(frozen=True)
class BuiltinVariable:
    """An environment variable shipspec sets on every action that can have it."""

    name: str
    expression: str  # the pipeline variable it carries
    provided: bool  # whether this action gets it
    why_not: str = ""  # when it does not: why, and what to do


def source_revision_variable(c: "ServiceConfig") -> tuple[str, str]:
    """(name, pipeline variable) of the primary source's revision, as shipspec passes it to actions:
    SOURCE_COMMIT_ID (#{SourceVariables.CommitId}), or SOURCE_VERSION_ID (#{SourceVariables.VersionId})
    for an s3 source."""
    if c.source.provider == "s3":
        return "SOURCE_VERSION_ID", f"#{{{SOURCE_NAMESPACE}.VersionId}}"
    return "SOURCE_COMMIT_ID", f"#{{{SOURCE_NAMESPACE}.CommitId}}"


def builtin_variables(c: "ServiceConfig", stage: "Stage", action: "StageAction") -> tuple[BuiltinVariable, ...]:
    """Every built-in variable name, and whether this action's commands get it."""
    s3 = c.source.provider == "s3"
    after_build = has_run(c, stage.after, "Build")
    image_why = ("the image exists only after Build; place the stage after Build" if not after_build
                 else "set needs_image: true on the action")
    return (
        BuiltinVariable("PIPELINE_EXECUTION_ID", f"#{{{PIPELINE_NAMESPACE}.PipelineExecutionId}}", True),
        BuiltinVariable("SOURCE_COMMIT_ID", f"#{{{SOURCE_NAMESPACE}.CommitId}}", not s3,
                        "an s3 source has no commit; use SOURCE_VERSION_ID"),
        BuiltinVariable("SOURCE_VERSION_ID", f"#{{{SOURCE_NAMESPACE}.VersionId}}", s3,
                        "only an s3 source has an object version; use SOURCE_COMMIT_ID"),
        BuiltinVariable(IMAGE_VARIABLE, f"#{{{BUILD_NAMESPACE}.{IMAGE_VARIABLE}}}", action.needs_image and after_build,
                        image_why),
    )


RESERVED_VARIABLES = ("PIPELINE_EXECUTION_ID", "SOURCE_COMMIT_ID", "SOURCE_VERSION_ID", IMAGE_VARIABLE)


@dataclass(frozen=True)
class ActionPlan:
    """Everything rendered for one stage action."""

    stage: "Stage"
    action: "StageAction"
    prefix: str  # logical id prefix, Stage<Stage><Action>
    project_name: str
    buildspec_path: str

    @property
    def project_id(self) -> str:
        return f"{self.prefix}Project"

    @property
    def role_id(self) -> str:
        return f"{self.prefix}Role"

    @property
    def logs_id(self) -> str:
        return f"{self.prefix}LogGroup"


def logical_prefix(stage: str, action: str) -> str:
    return f"Stage{stage}{action}"


def plans(c: "ServiceConfig") -> tuple[ActionPlan, ...]:
    d = naming.service_dir(c)
    return tuple(
        ActionPlan(stage, action, logical_prefix(stage.name, action.name),
                   f"{naming.base(c)}-{stage.name.lower()}-{action.name.lower()}",
                   f"{d}/{STAGES_DIR}/{stage.name}-{action.name}.buildspec.yml")
        for stage in c.stages for action in stage.actions)


def action_environment(c: "ServiceConfig", p: ActionPlan) -> list[dict]:
    """The action's EnvironmentVariables: the built-in variables it gets, then spec values carrying #{...}."""
    out = [{"name": v.name, "value": v.expression, "type": "PLAINTEXT"}
           for v in builtin_variables(c, p.stage, p.action) if v.provided]
    out += [{"name": k, "value": v, "type": "PLAINTEXT"} for k, v in sorted(p.action.environment.items()) if "#{" in v]
    return out


def environment_json(c: "ServiceConfig", p: ActionPlan) -> str:
    return json.dumps(action_environment(c, p), separators=(",", ":"))  # as cfn.compact_json
