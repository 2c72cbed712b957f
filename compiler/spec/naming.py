"""Names of everything the compiler creates: one place, so plan, apply and docs agree."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import ServiceConfig

PIPELINE = "pipeline"
NOTIFICATION = "notification"
BOOTSTRAP_STACK = "shipspec-bootstrap"
# Every stack and taggable resource of a service carries these; orphans and retire find stacks by them.
SERVICE_TAG = "shipspec:service"
ENVIRONMENT_TAG = "shipspec:environment"
BOOTSTRAP_TAG = "shipspec:bootstrap"
# Variables the Build project sets or its buildspec assigns (compiler/build/render/service_files.py,
# image_size.py): build.secrets may not use these names.
BUILD_VARIABLES = ("ECR_REGISTRY", "REPOSITORY_URI", "SOURCE_REVISION", "IMAGE_TAG", "IMAGE_URI", "IMAGE_BYTES",
                   "IMAGE_MB")


def base(c: "ServiceConfig") -> str:
    return f"{c.name}-{c.environment.name}"


def pipeline_name(c: "ServiceConfig") -> str:
    """`names.pipeline` (a name kept from an adopted pipeline), else `<service>-<env>`."""
    return c.names.pipeline or base(c)


def stack_names(c: "ServiceConfig") -> dict[str, str]:
    return {PIPELINE: f"{base(c)}-pipeline", NOTIFICATION: f"{base(c)}-notification"}


def service_dir(c: "ServiceConfig") -> str:
    return f"generated/{c.name}/{c.environment.name}"


def bootstrap_dir(account: str, region: str) -> str:
    return f"generated/_bootstrap/{account}-{region}"


def bootstrap_export(what: str) -> str:
    """Name of a bootstrap stack export (exports are per account/region already)."""
    return f"{BOOTSTRAP_STACK}-{what}"


def service_tags(c: "ServiceConfig") -> tuple[tuple[str, str], ...]:
    """The spec's tags plus the two shipspec tags, sorted by key."""
    tags = {**c.tags, SERVICE_TAG: c.name, ENVIRONMENT_TAG: c.environment.name}
    return tuple(sorted(tags.items()))


def build_project(c: "ServiceConfig") -> str:
    """The CodeBuild project that builds and pushes the image."""
    return c.names.build_project or f"{base(c)}-build"


def update_project(c: "ServiceConfig") -> str:
    """The CodeBuild project that registers the task definition revision."""
    return c.names.update_project or f"{base(c)}-update"


def deploy_project(c: "ServiceConfig") -> str:
    """The CodeBuild project that follows the rollout UpdateService started (the Deploy stage)."""
    return f"{base(c)}-deploy"


ROLE_KINDS = ("pipeline", "build", "update")


def role_name(c: "ServiceConfig", kind: str) -> str | None:
    """The IAM role name `names.<kind>_role` keeps (kind: pipeline, build or update), or None: then
    CloudFormation names the role."""
    if kind not in ROLE_KINDS:
        raise ValueError(f"unknown role kind {kind!r}")
    return getattr(c.names, f"{kind}_role")
