"""The bootstrap stack `shipspec-bootstrap`: one artifact bucket and KMS key per account and region.

Pipelines and notification stacks import its exports (`naming.bootstrap_export`). The bucket has
no explicit name: CloudFormation generates a unique one, so no global S3 name can clash.
"""

from __future__ import annotations

from ...spec import naming
from . import cfn

KEY = "ArtifactKey"
KEY_ALIAS = "ArtifactKeyAlias"
BUCKET = "ArtifactBucket"
BUCKET_POLICY = "ArtifactBucketPolicy"
ALIAS_NAME = "alias/shipspec-artifacts"
ARTIFACT_EXPIRY_DAYS = 90
NONCURRENT_EXPIRY_DAYS = 30
INCOMPLETE_UPLOAD_DAYS = 7
TAGS = {"shipspec:bootstrap": "true"}
KEY_ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:CreateGrant", "kms:DeleteAlias", "kms:DescribeKey",
    "kms:DisableKey", "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyLastUsage",
    "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListGrants", "kms:ListKeyPolicies", "kms:ListKeyRotations",
    "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RetireGrant", "kms:RevokeGrant", "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource", "kms:UpdateAlias", "kms:UpdateKeyDescription",
]
KEY_USE_ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
                   "kms:ReEncryptFrom", "kms:ReEncryptTo"]


def _key() -> dict:
    return {
        "Type": "AWS::KMS::Key",
        # Deleting the key would make every artifact (and anything else encrypted with it) unreadable.
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "Description": "shipspec pipeline artifacts",
            "EnableKeyRotation": True,
            "KeyPolicy": cfn.policy([{
                # The account administers the key and delegates its use to IAM policies: each pipeline
                # role is granted exactly the kms actions it needs on this key's ARN. The actions are
                # listed rather than "kms:*"; PutKeyPolicy keeps the key manageable if AWS adds more.
                # In a key policy "Resource": "*" means this key.
                "Sid": "AccountAdministersAndDelegates",
                "Effect": "Allow",
                "Principal": {"AWS": cfn.sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
                "Action": KEY_ADMIN_ACTIONS + KEY_USE_ACTIONS,
                "Resource": "*",
            }, {
                # CloudWatch Logs encrypts the pipelines' and notifiers' log groups with this key,
                # only for log groups of this account and region.
                "Sid": "CloudWatchLogsEncryptLogGroups",
                "Effect": "Allow",
                "Principal": {"Service": cfn.sub("logs.${AWS::Region}.amazonaws.com")},
                "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey",
                           "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo"],
                "Resource": "*",
                "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn":
                                          cfn.sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*")}},
            }]),
            "Tags": cfn.tag_list(TAGS),
        },
    }


def _bucket() -> dict:
    return {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Metadata": cfn.checkov_skips({
            "CKV_AWS_18": "Holds only pipeline artifacts written by the account's own pipeline roles; "
                          "access logging would need a second bucket per account and region.",
        }),
        "Properties": {
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [{
                "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": cfn.getatt(KEY, "Arn")},
                "BucketKeyEnabled": True,
            }]},
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "LifecycleConfiguration": {"Rules": [
                {"Id": "expire-old-artifacts", "Status": "Enabled",
                 "ExpirationInDays": ARTIFACT_EXPIRY_DAYS},
                {"Id": "expire-noncurrent-versions", "Status": "Enabled",
                 "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_EXPIRY_DAYS}},
                {"Id": "abort-incomplete-uploads", "Status": "Enabled",
                 "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": INCOMPLETE_UPLOAD_DAYS}},
            ]},
            "Tags": cfn.tag_list(TAGS),
        },
    }


def _bucket_policy() -> dict:
    bucket_arn = cfn.getatt(BUCKET, "Arn")
    return {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": cfn.ref(BUCKET),
            "PolicyDocument": cfn.policy([{
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, cfn.sub(f"${{{BUCKET}.Arn}}/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }]),
        },
    }


def render_bootstrap(account: str, region: str) -> dict:
    """The same template for every account/region (they differ only where the stack runs);
    the arguments name the target in the description."""
    resources = {
        KEY: _key(),
        KEY_ALIAS: {"Type": "AWS::KMS::Alias", "Properties": {"AliasName": ALIAS_NAME, "TargetKeyId": cfn.ref(KEY)}},
        BUCKET: _bucket(),
        BUCKET_POLICY: _bucket_policy(),
    }

    def export(what: str, value: object, description: str) -> dict:
        return {"Description": description, "Value": value, "Export": {"Name": naming.bootstrap_export(what)}}

    outputs = {
        "ArtifactBucket": export("ArtifactBucket", cfn.ref(BUCKET), "Pipeline artifact bucket name"),
        "ArtifactBucketArn": export("ArtifactBucketArn", cfn.getatt(BUCKET, "Arn"), "Pipeline artifact bucket ARN"),
        "ArtifactKeyArn": export("ArtifactKeyArn", cfn.getatt(KEY, "Arn"), "KMS key encrypting the artifacts"),
    }
    return cfn.template(f"shipspec bootstrap for account {account} in {region}: pipeline artifact bucket and KMS key",
                        resources, outputs)
