"""The `names` section: physical names kept from a pipeline shipspec takes over.

A pipeline brought in with `shipspec import` / `shipspec adopt` keeps its pipeline's name (and so
its execution history), and may keep its IAM roles' names, so that CloudFormation can import the
existing resources instead of creating new ones. Unset, shipspec derives every name from the
service and environment (compiler/spec/naming.py, the one place names are made).
"""

from __future__ import annotations

from typing import Annotated, Optional

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

# CodePipeline: [A-Za-z0-9.@_-]{1,100}; CodeBuild: a letter or digit, then letters, digits, - or _
# (2-255); IAM role: [\w+=,.@-]{1,64}.
PipelineName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.@_-]{1,100}$")]
ProjectName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$")]
RoleName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9+=,.@_-]{1,64}$")]
ROLES = ("pipeline_role", "build_role", "update_role")
PROJECTS = ("build_project", "update_project")


class Names(BaseModel):
    """Physical names kept from an existing pipeline (`shipspec import` writes them, `shipspec adopt`
    imports the resources that carry them). Unset, each name is derived from the service and
    environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pipeline: Optional[PipelineName] = Field(
        default=None, description="CodePipeline pipeline name (default `<service>-<env>`); keeping an existing "
        "pipeline's name keeps its execution history when it is adopted.")
    build_project: Optional[ProjectName] = Field(
        default=None, description="CodeBuild project that builds the image (default `<service>-<env>-build`).")
    update_project: Optional[ProjectName] = Field(
        default=None, description="CodeBuild project that registers the task definition revision (default "
        "`<service>-<env>-update`).")
    pipeline_role: Optional[RoleName] = Field(
        default=None, description="IAM role name of the pipeline (default: named by CloudFormation). A named role "
        "needs CAPABILITY_NAMED_IAM, which shipspec passes.")
    build_role: Optional[RoleName] = Field(default=None, description="IAM role name of the Build project "
                                           "(default: named by CloudFormation).")
    update_role: Optional[RoleName] = Field(default=None, description="IAM role name of the UpdateService project "
                                            "(default: named by CloudFormation).")

    @model_validator(mode="after")
    def _distinct(self) -> "Names":
        for group, what in ((ROLES, "role"), (PROJECTS, "project")):
            given = [(f, getattr(self, f)) for f in group if getattr(self, f)]
            seen: dict[str, str] = {}
            for field, value in given:
                if value.lower() in seen:
                    raise ValueError(f"{field} and {seen[value.lower()]} name the same {what} '{value}'; each needs "
                                     f"its own {what}: give them different names or leave one unset")
                seen[value.lower()] = field
        return self
