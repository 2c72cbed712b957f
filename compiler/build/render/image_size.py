"""Build-buildspec commands that report the pushed image's size and warn when it is too large.

They run after `docker push` in the Build project (shell: bash) with IMAGE_TAG and IMAGE_URI set by
the build buildspec and AWS_REGION set by CodeBuild. They sum `imageSizeInBytes` of the pushed tag
(`ecr:DescribeImages`; the Build role needs it on the repository), print the size in MB, and print a
`WARNING:` line with advice when it exceeds `build.max_image_mb`. They never fail the build: an
unreadable size is reported as a warning too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import shell

if TYPE_CHECKING:
    from ...spec.models import ServiceConfig

SIZE_VARIABLE = "IMAGE_BYTES"


def image_size_commands(c: "ServiceConfig") -> list[str]:
    repo = shell.word(c.build.ecr_repository)
    limit = c.build.max_image_mb
    read = (
        f'{SIZE_VARIABLE}="$(aws ecr describe-images --region "$AWS_REGION" --repository-name {repo} '
        '--image-ids imageTag="$IMAGE_TAG" '
        "--query 'sum(imageDetails[].imageSizeInBytes)' --output text 2>/dev/null || true)\""
    )
    report = (
        f'case "${SIZE_VARIABLE}" in\n'
        f"  ''|*[!0-9]*)\n"
        f'    echo "WARNING: could not read the size of $IMAGE_URI from ECR (ecr:DescribeImages)";;\n'
        f"  *)\n"
        f"    IMAGE_MB=$(( ({SIZE_VARIABLE} + 1048575) / 1048576 ))\n"
        f'    echo "Image $IMAGE_URI is $IMAGE_MB MB in ECR (compressed layers)"\n'
        f'    if [ "$IMAGE_MB" -gt {limit} ]; then\n'
        f'      echo "WARNING: the image is larger than build.max_image_mb ({limit} MB). Large images slow '
        f"every deployment and fill the Docker volume of EC2 container instances (22 GiB on the "
        f"ECS-optimized Amazon Linux AMI). Use a multi-stage Dockerfile: build in one stage and copy only "
        f'the runtime files into a slim final stage."\n'
        f"    fi;;\n"
        f"esac\n"
    )
    return [read, report]
