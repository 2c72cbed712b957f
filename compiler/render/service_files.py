"""The service-side files: buildspec.yml, updatespec.yml and update_taskdefinition.sh.

STUB: a helper replaces these bodies. The contract (used by the pipeline template
renderer, the variable checks and the tests):

- the Build CodeBuild project provides the environment variables in `build_project_environment(c)`
  (plain name/value pairs set on the project);
- build_buildspec(c) pushes the image and lists IMAGE_VARIABLE under env.exported-variables;
  the Build action has Namespace BUILD_NAMESPACE, so later actions read #{BuildVariables.IMAGE_URI};
- update_buildspec(c) runs update_taskdefinition.sh (embedded for build.buildspec=inline,
  from codepipeline/ in the source artifact for build.buildspec=repo) with IMAGE_URI set and
  emits imagedefinitions.json as its artifact;
- update_script(c) needs only IMAGE_URI (plus AWS credentials/region) in its environment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..models import ServiceConfig

BUILD_NAMESPACE = "BuildVariables"
SOURCE_NAMESPACE = "SourceVariables"
IMAGE_VARIABLE = "IMAGE_URI"
REPO_DIR = "codepipeline"  # where buildspec: repo keeps the files in the service repository


def build_project_environment(c: "ServiceConfig") -> dict[str, str]:
    return {"REPOSITORY_URI": f"{c.environment.account}.dkr.ecr.{c.environment.region}.amazonaws.com/{c.build.ecr_repository}"}


def build_buildspec(c: "ServiceConfig") -> str:
    return "version: 0.2\nenv:\n  exported-variables: [IMAGE_URI]\nphases:\n  build:\n    commands:\n      - echo stub\n"


def update_buildspec(c: "ServiceConfig") -> str:
    return "version: 0.2\nphases:\n  build:\n    commands:\n      - echo stub\nartifacts:\n  files: [imagedefinitions.json]\n"


def update_script(c: "ServiceConfig") -> str:
    return "#!/usr/bin/env bash\nset -euo pipefail\necho stub\n"
