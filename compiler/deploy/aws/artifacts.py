"""The bootstrap artifact bucket: found from the bootstrap stack's outputs; large templates and
the notification Lambda's zip are uploaded there (content-addressed keys, so idempotent)."""

from __future__ import annotations

import hashlib

from botocore.exceptions import ClientError

from ...spec import naming
from .changesets import TEMPLATE_BODY_LIMIT, ChangeSetError, describe_stack
from .inputs import StackInput
from .session import partition

BUCKET_OUTPUT = "ArtifactBucket"
TEMPLATE_PREFIX = "shipspec/templates"


def artifact_bucket(cfn) -> str | None:
    """Name of the bootstrap bucket in this account/region, or None when not bootstrapped."""
    state = describe_stack(cfn, naming.BOOTSTRAP_STACK)
    if not state.deployed:
        return None
    return state.output(BUCKET_OUTPUT, naming.bootstrap_export(BUCKET_OUTPUT))


def template_key(si: StackInput, body: bytes) -> str:
    return f"{TEMPLATE_PREFIX}/{si.name}/{hashlib.sha256(body).hexdigest()}.template"


def s3_url(bucket: str, key: str, region: str) -> str:
    suffix = ".amazonaws.com.cn" if partition(region) == "aws-cn" else ".amazonaws.com"
    return f"https://{bucket}.s3.{region}{suffix}/{key}"


def put_if_missing(s3, bucket: str, key: str, body: bytes, content_type: str) -> bool:
    """Upload unless the object exists (keys are content-addressed); True when uploaded."""
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
            raise
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
    return True


def template_argument(session, si: StackInput, body: bytes | None = None) -> dict:
    """`TemplateBody`, or `TemplateURL` after uploading a template over 51,200 bytes. `body`
    replaces the stack's template (the emulator's adapted copy)."""
    body = si.template if body is None else body
    if len(body) <= TEMPLATE_BODY_LIMIT:
        return {"TemplateBody": body.decode("utf-8")}
    bucket = artifact_bucket(session.client("cloudformation"))
    if not bucket:
        raise ChangeSetError(
            f"the template is {len(body):,} bytes (over the {TEMPLATE_BODY_LIMIT:,}-byte limit for "
            f"inline templates) and must go through the artifact bucket, which the bootstrap stack "
            f"{naming.BOOTSTRAP_STACK} in {si.stack.account}/{si.stack.region} creates: run `shipspec bootstrap` first")
    key = template_key(si, body)
    put_if_missing(session.client("s3"), bucket, key, body, "text/plain")
    return {"TemplateURL": s3_url(bucket, key, si.stack.region)}


def upload_lambda_zip(session, si: StackInput) -> tuple[str, str, bool]:
    """Put the notification Lambda's package where the notification stack expects it:
    (bucket, key, uploaded)."""
    from ...build.lambda_zip import lambda_key, lambda_zip

    bucket = artifact_bucket(session.client("cloudformation"))
    if not bucket:
        raise ChangeSetError(f"the notification Lambda's package goes to the artifact bucket, but the bootstrap "
                             f"stack {naming.BOOTSTRAP_STACK} is not deployed in {si.stack.account}/"
                             f"{si.stack.region}: run `shipspec bootstrap` first")
    package = lambda_zip()
    key = lambda_key(package)
    uploaded = put_if_missing(session.client("s3"), bucket, key, package, "application/zip")
    return bucket, key, uploaded
