"""Resource rules (SS201-SS204): the artifact bucket, log retention, ECR hygiene, retained state."""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from .iam_rules import walk
from .rules import Finding, Rule, TemplateDoc, as_list, refs_to, register, resolved_text

# Resources whose loss loses data nobody can recreate from the specs: kept on delete and replace.
RETAIN_TYPES: dict[str, str] = {
    "AWS::S3::Bucket": "pipeline artifacts and their versions",
    "AWS::KMS::Key": "deleting the key makes everything encrypted with it unreadable",
    "AWS::ECR::Repository": "the images the services run",
    "AWS::SecretsManager::Secret": "secret values are not in the specs",
    "AWS::DynamoDB::Table": "table data",
}
# Resources that must state their policy explicitly, but may be deleted with the stack.
EXPLICIT_TYPES: dict[str, str] = {
    "AWS::Logs::LogGroup": "logs of a deleted pipeline may go with it; a retained log group with a fixed "
                           "name would block creating the stack again",
}


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _tls_only_policy(doc: TemplateDoc, bucket_id: str) -> bool:
    for _rid, _res, props in doc.of_type("AWS::S3::BucketPolicy"):
        if not refs_to(props.get("Bucket"), bucket_id):
            continue
        policy = props.get("PolicyDocument")
        for st in as_list(policy.get("Statement") if isinstance(policy, Mapping) else None):
            if not isinstance(st, Mapping) or st.get("Effect") != "Deny":
                continue
            cond = st.get("Condition")
            secure = cond.get("Bool", {}).get("aws:SecureTransport") if isinstance(cond, Mapping) else None
            if secure is False or (isinstance(secure, str) and secure.lower() == "false"):
                return True
    return False


@register
class ArtifactBucket(Rule):
    id = "SS201"
    title = "Buckets are encrypted, private, versioned and TLS-only"
    description = ("Every S3 bucket (the artifact bucket) has default encryption with KMS, a public access "
                   "block with all four settings true, versioning enabled, and a bucket policy denying any "
                   "request made without TLS (Deny with Condition Bool aws:SecureTransport false).")
    hint = ("Set BucketEncryption (SSEAlgorithm aws:kms with the artifact key), PublicAccessBlockConfiguration "
            "(all true), VersioningConfiguration Status Enabled, and add an AWS::S3::BucketPolicy with the "
            "TLS-only Deny statement.")

    def check(self, doc: TemplateDoc) -> Iterator[Finding]:
        for rid, _res, props in doc.of_type("AWS::S3::Bucket"):
            base = ("Resources", rid, "Properties")
            algos = [v for _, v in walk(props, ("BucketEncryption", "ServerSideEncryptionConfiguration", "*",
                                                "ServerSideEncryptionByDefault", "SSEAlgorithm"))]
            if not algos or any(a not in ("aws:kms", "aws:kms:dsse") for a in algos):
                yield Finding(base + ("BucketEncryption",), f"{rid}: default encryption is not KMS "
                              f"(found {algos or 'none'})")
            block = props.get("PublicAccessBlockConfiguration")
            block = block if isinstance(block, Mapping) else {}
            missing = [k for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls",
                                   "RestrictPublicBuckets") if not _true(block.get(k))]
            if missing:
                yield Finding(base + ("PublicAccessBlockConfiguration",),
                              f"{rid}: public access block does not set {', '.join(missing)} to true")
            versioning = props.get("VersioningConfiguration")
            if not (isinstance(versioning, Mapping) and versioning.get("Status") == "Enabled"):
                yield Finding(base + ("VersioningConfiguration",), f"{rid}: versioning is not enabled")
            if not _tls_only_policy(doc, rid):
                yield Finding(("Resources", rid), f"{rid}: no bucket policy denies requests without TLS "
                              "(aws:SecureTransport false)")


def _managed_log_group(doc: TemplateDoc, ref: Any, names: list[str]) -> bool:
    """Whether `ref` refers to a log group of this template, or one is named one of `names`."""
    for gid, _res, props in doc.of_type("AWS::Logs::LogGroup"):
        if ref is not None and refs_to(ref, gid):
            return True
        if resolved_text(props.get("LogGroupName")) in names:
            return True
    return False


@register
class LogRetention(Rule):
    id = "SS202"
    title = "Every log has a retention"
    description = ("Every AWS::Logs::LogGroup sets RetentionInDays, and every Lambda function and CodeBuild "
                   "project writes to a log group declared in the same template (so none falls back to an "
                   "implicitly created group that keeps logs forever).")
    hint = ("Declare an AWS::Logs::LogGroup with RetentionInDays and point the function "
            "(LoggingConfig.LogGroup) or project (LogsConfig.CloudWatchLogs.GroupName) at it.")

    def check(self, doc: TemplateDoc) -> Iterator[Finding]:
        for rid, _res, props in doc.of_type("AWS::Logs::LogGroup"):
            if "RetentionInDays" not in props:
                yield Finding(("Resources", rid, "Properties"), f"{rid}: log group has no RetentionInDays")
        for rid, _res, props in doc.of_type("AWS::Lambda::Function"):
            logging = props.get("LoggingConfig")
            ref = logging.get("LogGroup") if isinstance(logging, Mapping) else None
            names = [f"/aws/lambda/${{{rid}}}"]
            if isinstance(props.get("FunctionName"), str):
                names.append(f"/aws/lambda/{props['FunctionName']}")
            if not _managed_log_group(doc, ref, names):
                yield Finding(("Resources", rid), f"{rid}: the function logs to a log group this template does "
                              "not declare (no retention)")
        for rid, _res, props in doc.of_type("AWS::CodeBuild::Project"):
            cw = [v for _, v in walk(props, ("LogsConfig", "CloudWatchLogs"))]
            cw_cfg = cw[0] if cw and isinstance(cw[0], Mapping) else {}
            if cw_cfg.get("Status") == "DISABLED":
                continue
            names = [f"/aws/codebuild/{props['Name']}"] if isinstance(props.get("Name"), str) else []
            if not _managed_log_group(doc, cw_cfg.get("GroupName"), names):
                yield Finding(("Resources", rid), f"{rid}: the project logs to a log group this template does "
                              "not declare (no retention)")


@register
class EcrHygiene(Rule):
    id = "SS203"
    title = "ECR repositories scan on push and expire images"
    description = "Every ECR repository enables scan on push and has a lifecycle policy."
    hint = ("Set ImageScanningConfiguration: {ScanOnPush: true} and LifecyclePolicy.LifecyclePolicyText "
            "(build.keep_images in the spec).")

    def check(self, doc: TemplateDoc) -> Iterator[Finding]:
        for rid, _res, props in doc.of_type("AWS::ECR::Repository"):
            base = ("Resources", rid, "Properties")
            scan = props.get("ImageScanningConfiguration")
            if not (isinstance(scan, Mapping) and _true(scan.get("ScanOnPush"))):
                yield Finding(base, f"{rid}: scan on push is not enabled")
            life = props.get("LifecyclePolicy")
            if not (isinstance(life, Mapping) and life.get("LifecyclePolicyText")):
                yield Finding(base, f"{rid}: no lifecycle policy")


@register
class RetainState(Rule):
    id = "SS204"
    title = "Stateful resources survive stack deletion and replacement"
    description = ("S3 buckets, KMS keys, ECR repositories, Secrets Manager secrets and DynamoDB tables carry "
                   "DeletionPolicy: Retain and UpdateReplacePolicy: Retain; log groups state both policies "
                   "explicitly (Delete is allowed: see the table in docs/security.md).")
    hint = "Add DeletionPolicy: Retain and UpdateReplacePolicy: Retain to the resource."

    def check(self, doc: TemplateDoc) -> Iterator[Finding]:
        for rid, res in doc.resources().items():
            rtype = res.get("Type")
            if rtype in RETAIN_TYPES:
                for attr in ("DeletionPolicy", "UpdateReplacePolicy"):
                    if res.get(attr) != "Retain":
                        yield Finding(("Resources", rid, attr) if attr in res else ("Resources", rid),
                                      f"{rid}: {rtype} needs {attr}: Retain ({RETAIN_TYPES[rtype]}); "
                                      f"found {res.get(attr, 'none')}")
            elif rtype in EXPLICIT_TYPES:
                for attr in ("DeletionPolicy", "UpdateReplacePolicy"):
                    if attr not in res:
                        yield Finding(("Resources", rid), f"{rid}: {rtype} needs an explicit {attr}")
