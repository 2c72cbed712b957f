"""What the pipeline does to the running container, recorded in the pipeline template.

The settings the UpdateService action applies to the ECS service (cluster, service, container,
image, environment variables, secrets, task cpu and memory, and the rollout's strategy and
deployment configuration) live in update_taskdefinition.sh,
which with `build.buildspec: repo` is not even in the template: it is a file in the service's
repository. So that a plan can show them as they change, the pipeline template carries them as
the UpdateProject resource's `Metadata.shipspec.runtime` (a resource's Metadata is part of
the resource: a change to it is an update of the stack, and the deployed template holds what
was last applied). With `build.buildspec: repo` the manifest also lists each file the service
repository must hold, with its sha256 and the repository and branch it belongs in, so a plan
can say which files to copy.

Secrets appear as their ARNs (never values); environment values are plain by the spec's rules.
Settings the spec leaves unset (cpu, memory; a branch for an s3 source) are left out: CloudFormation
takes no nulls.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from ...spec import naming
from .deployment_config import deployment_configuration, load_balancers
from .follow_script import DEPLOY_BUILDSPEC, FOLLOW_SCRIPT, deploy_buildspec, follow_script
from .service_files import (REPO_DIR, SCRIPT_NAME, TAG_LENGTH, build_buildspec, repository_uri, update_buildspec,
                            update_script)

if TYPE_CHECKING:
    from ...spec.models import ServiceConfig

METADATA_KEY = "runtime"  # under the resource's Metadata.shipspec
SERVICE_REPO_FILES = ("buildspec.yml", "updatespec.yml", SCRIPT_NAME, DEPLOY_BUILDSPEC, FOLLOW_SCRIPT)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def service_repo_files(c: "ServiceConfig") -> dict[str, str]:
    """File name -> text of what the service repository keeps under codepipeline/ (repo mode)."""
    return {"buildspec.yml": build_buildspec(c), "updatespec.yml": update_buildspec(c), SCRIPT_NAME: update_script(c),
            DEPLOY_BUILDSPEC: deploy_buildspec(c), FOLLOW_SCRIPT: follow_script(c)}


def runtime_manifest(c: "ServiceConfig") -> dict:
    s = c.service
    manifest: dict = {
        "cluster": s.cluster,
        "service": c.ecs_service_name,
        "container": c.container_name,
        "image": f"{repository_uri(c)}:<first {TAG_LENGTH} characters of the commit>",
        "environment": dict(sorted(s.environment.items())),
        "secrets": dict(sorted(s.secrets.items())),
        "cpu": s.cpu,
        "memory": s.memory,
        "buildspec": c.build.buildspec,
        # how the rollout runs: update-service's deploymentConfiguration (and, for a traffic-shifting
        # strategy, its loadBalancers), by key, as the update script sends them
        "strategy": c.deploy.strategy,
        "deployment": {k: v for k, v in deployment_configuration(c).items() if k != "strategy"},
        "load_balancers": load_balancers(c),
    }
    if c.build.buildspec == "repo":
        src = c.source
        manifest["files"] = [
            {"path": f"{REPO_DIR}/{name}", "from": f"{naming.service_dir(c)}/{name}", "sha256": _sha(text),
             "repository": src.repository, "branch": None if src.provider == "s3" else src.branch,
             "provider": src.provider}
            for name, text in service_repo_files(c).items()]
        manifest["files"] = [{k: v for k, v in f.items() if v is not None} for f in manifest["files"]]
    return {k: v for k, v in manifest.items() if v is not None}


def runtime_metadata(c: "ServiceConfig") -> dict:
    """The `Metadata` of the UpdateProject resource."""
    return {"shipspec": {METADATA_KEY: runtime_manifest(c)}}
