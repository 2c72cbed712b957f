"""Optional IAM for GitHub Actions (docs/ci.md): the GitHub OIDC provider and two roles per
account, scoped to one repository.

- `shipspec-plan`: pull requests (and the deploy workflow's re-plan on the default branch) may
  read stacks and create, describe and delete change sets of shipspec's stacks; the drift
  workflow may run drift detection on them and read what they created and the ECS services --
  nothing else.
- `shipspec-deploy`: only jobs running in one of the named GitHub environments may execute
  change sets and create what the templates create.

Several accounts: the workflow signs in (OIDC) to the roles of one hub account and shipspec
assumes the role of the same name in every target account (`SHIPSPEC_ROLE_NAME`), so each role
also trusts the hub's role of its name (the hub's roles trust themselves: shipspec assumes the
role in the hub account too).

IAM is global per account: deploy these resources in ONE region of each account (not in every
region's bootstrap stack). Returns the `Resources` of a template.
"""

from __future__ import annotations

from typing import Iterable

from ...spec.naming import BOOTSTRAP_TAG, SERVICE_TAG
from . import cfn
from .sources import WEBHOOK_SECRET_PREFIX

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"
PLAN_ROLE = "shipspec-plan"
DEPLOY_ROLE = "shipspec-deploy"
ARTIFACT_ALIAS = "alias/shipspec-artifacts"
# shipspec's stacks: <service>-<env>-pipeline, <service>-<env>-notification, shipspec-bootstrap.
STACK_PATTERNS = ("*-pipeline", "*-notification", "shipspec-bootstrap")

PLAN_CFN_ACTIONS = [
    "cloudformation:CreateChangeSet", "cloudformation:DeleteChangeSet", "cloudformation:DescribeChangeSet",
    "cloudformation:DescribeStackEvents", "cloudformation:DescribeStacks", "cloudformation:GetStackPolicy",
    "cloudformation:GetTemplate", "cloudformation:ListStackResources",
    # A CREATE change set leaves a REVIEW_IN_PROGRESS stack that plan deletes again. Deployed
    # stacks have termination protection (apply sets it) and this role cannot lift it.
    "cloudformation:DeleteStack",
]
# `shipspec drift` (the plan role runs it, docs/ci.md): drift detection on shipspec's stacks.
DRIFT_CFN_ACTIONS = ["cloudformation:DescribeStackResourceDrifts", "cloudformation:DetectStackDrift",
                     "cloudformation:DetectStackResourceDrift"]
# The detection id names no stack, and type configurations belong to no stack: IAM offers nothing narrower.
DRIFT_UNSCOPED_ACTIONS = ["cloudformation:BatchDescribeTypeConfigurations",
                          "cloudformation:DescribeStackDriftDetectionStatus"]
# CloudFormation reads each resource's live configuration with the caller's credentials (the
# resource types' read handlers): read-only calls on what the generated templates create. Runtime
# drift reads the ECS services and their task definitions.
DRIFT_READS = {
    "codebuild": (["codebuild:BatchGetProjects"], "project/*"),
    "codepipeline": (["codepipeline:GetPipeline", "codepipeline:ListTagsForResource", "codepipeline:ListWebhooks"],
                     "*"),
    "ecr": (["ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:GetRepositoryPolicy",
             "ecr:ListTagsForResource"], "repository/*"),
    "ecs": (["ecs:DescribeServices"], "service/*"),
    "events": (["events:DescribeRule", "events:ListTagsForResource", "events:ListTargetsByRule"], "rule/*"),
    "lambda": (["lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:GetPolicy", "lambda:ListTags"],
               "function:*"),
    "logs": (["logs:DescribeLogGroups", "logs:ListTagsForResource", "logs:ListTagsLogGroup"], "log-group:*"),
    "sns": (["sns:GetSubscriptionAttributes", "sns:GetTopicAttributes", "sns:ListTagsForResource"], "*"),
    "ssm": (["ssm:DescribeAssociation", "ssm:DescribeDocument", "ssm:GetDocument"], "*"),
}
DRIFT_GLOBAL_READS = {
    "iam": ["iam:GetRole", "iam:GetRolePolicy", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"],
    "kms": ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListAliases",
            "kms:ListResourceTags"],
    "s3": ["s3:GetBucketOwnershipControls", "s3:GetBucketPolicy", "s3:GetBucketPublicAccessBlock",
           "s3:GetBucketTagging", "s3:GetBucketVersioning", "s3:GetEncryptionConfiguration",
           "s3:GetLifecycleConfiguration"],
}
DEPLOY_CFN_ACTIONS = PLAN_CFN_ACTIONS + [
    "cloudformation:CreateStack", "cloudformation:ExecuteChangeSet", "cloudformation:SetStackPolicy",
    "cloudformation:TagResource", "cloudformation:UpdateStack", "cloudformation:UpdateTerminationProtection",
]
# What CloudFormation does with the deploy role's credentials for the resource types of the
# generated templates (no CloudFormation service role is passed).
PROVISION = {
    "codebuild": (["codebuild:BatchGetProjects", "codebuild:CreateProject", "codebuild:DeleteProject",
                   "codebuild:UpdateProject"], "project/*"),
    "codepipeline": (["codepipeline:CreatePipeline", "codepipeline:DeletePipeline", "codepipeline:DeleteWebhook",
                      "codepipeline:DeregisterWebhookWithThirdParty", "codepipeline:GetPipeline",
                      "codepipeline:GetPipelineState", "codepipeline:ListTagsForResource", "codepipeline:ListWebhooks",
                      "codepipeline:PutWebhook", "codepipeline:RegisterWebhookWithThirdParty",
                      "codepipeline:TagResource", "codepipeline:UntagResource", "codepipeline:UpdatePipeline"],
                     "*"),
    "ecr": (["ecr:CreateRepository", "ecr:DeleteLifecyclePolicy", "ecr:DeleteRepository",
             "ecr:DescribeRepositories", "ecr:GetLifecyclePolicy", "ecr:ListTagsForResource",
             "ecr:PutImageScanningConfiguration", "ecr:PutImageTagMutability", "ecr:PutLifecyclePolicy",
             "ecr:SetRepositoryPolicy", "ecr:TagResource", "ecr:UntagResource"], "repository/*"),
    "events": (["events:DeleteRule", "events:DescribeRule", "events:PutRule", "events:PutTargets",
                "events:RemoveTargets", "events:TagResource", "events:UntagResource"], "rule/*"),
    "lambda": (["lambda:AddPermission", "lambda:CreateFunction", "lambda:DeleteFunction", "lambda:GetFunction",
                "lambda:GetFunctionConfiguration", "lambda:RemovePermission", "lambda:TagResource",
                "lambda:UntagResource", "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration"],
               "function:*"),
    "logs": (["logs:AssociateKmsKey", "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:DeleteRetentionPolicy",
              "logs:DescribeLogGroups", "logs:DisassociateKmsKey", "logs:PutRetentionPolicy",
              "logs:TagResource", "logs:UntagResource"], "log-group:*"),
    "sns": (["sns:CreateTopic", "sns:DeleteTopic", "sns:GetSubscriptionAttributes", "sns:GetTopicAttributes",
             "sns:SetTopicAttributes", "sns:Subscribe", "sns:TagResource", "sns:Unsubscribe",
             "sns:UntagResource"], "*"),
}


# The services the templates' roles are passed to: pipelines, CodeBuild projects, the notification
# function and EventBridge rule targets.
PASSED_TO = ("codebuild.amazonaws.com", "codepipeline.amazonaws.com", "events.amazonaws.com",
             "lambda.amazonaws.com")
# `shipspec lint` rules these roles are exempt from, with why (compiler/lint, docs/security.md).
SUPPRESS_ALWAYS = {
    "SS104": "Assumed by GitHub Actions (OIDC) or the hub account's role of the same name, not by an AWS service.",
}
SUPPRESS_DEPLOY = {
    "SS102": "IAM is global, so the role serves every region (region wildcards); CloudFormation names what it "
             "creates (name wildcards, narrowed by tags where IAM can); Resource * only for DescribeStacks "
             "(orphan listing) and kms:CreateKey (no key exists yet).",
    "SS103": "CloudFormation names the templates' roles: PassRole is limited to roles tagged shipspec:service "
             "and to the four services that use them (iam:PassedToService).",
}
SUPPRESS_PLAN = {
    "SS102": "IAM is global, so the role serves every region (region wildcards); stacks and the bootstrap bucket "
             "are known by name patterns; Resource * only for cloudformation:DescribeStacks without a stack name "
             "(orphan listing), drift detection status and type configurations (no stack named), "
             "ecs:DescribeTaskDefinition and kms:ListAliases: IAM offers nothing narrower.",
}


def _account_arn(service: str, resource: str, region: str = "*") -> dict:
    return cfn.sub(f"arn:${{AWS::Partition}}:{service}:{region}:${{AWS::AccountId}}:{resource}")


def _stacks() -> list[dict]:
    return [_account_arn("cloudformation", f"stack/{p}/*") for p in STACK_PATTERNS] + [
        _account_arn("cloudformation", "changeSet/shipspec-*/*")]


def _hub(hub_account: str | None, what: str) -> dict:
    account = hub_account or "${AWS::AccountId}"
    return cfn.sub(f"arn:${{AWS::Partition}}:iam::{account}:{what}")


def _trust(repo: str, subjects: list[str], hub_account: str | None, name: str) -> dict:
    """The hub's roles trust GitHub's OIDC tokens for `subjects` of `repo`; every role trusts the
    hub's role of its name."""
    provider = cfn.sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:oidc-provider/{GITHUB_OIDC_HOST}")
    github = [] if hub_account else [
        {"Sid": "GitHubActions", "Effect": "Allow", "Principal": {"Federated": provider},
         "Action": "sts:AssumeRoleWithWebIdentity",
         "Condition": {"StringEquals": {f"{GITHUB_OIDC_HOST}:aud": AUDIENCE,
                                        f"{GITHUB_OIDC_HOST}:sub": [f"repo:{repo}:{s}" for s in subjects]}}}]
    return cfn.policy(github + [
        # The hub's role of this name (the hub's own role, too: shipspec assumes it in every account).
        # Its account as principal and its ARN as condition: a role cannot name itself as principal
        # before it exists.
        {"Sid": "HubRole", "Effect": "Allow", "Principal": {"AWS": _hub(hub_account, "root")},
         "Action": "sts:AssumeRole",
         "Condition": {"ArnEquals": {"aws:PrincipalArn": _hub(hub_account, f"role/{name}")}}},
    ])


def _common(role_name: str, accounts: tuple[str, ...], write_prefixes: tuple[str, ...]) -> list[dict]:
    key_condition = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": ARTIFACT_ALIAS}}
    objects = [cfn.sub(f"arn:${{AWS::Partition}}:s3:::shipspec-bootstrap-artifactbucket-*/{p}/*")
               for p in write_prefixes]
    out = [
        # Listing stacks (orphans are found by their tags) names no stack: nothing narrower exists.
        cfn.allow(["cloudformation:DescribeStacks"], "*", "ListStacksForOrphans"),
        cfn.allow(["s3:GetObject", "s3:PutObject"], objects, "TemplatesThroughTheArtifactBucket"),
        cfn.allow(["kms:Decrypt", "kms:GenerateDataKey"], _account_arn("kms", "key/*"), "ArtifactKey",
                  key_condition),
    ]
    others = sorted(set(accounts))
    if others:
        out.append(cfn.allow(["sts:AssumeRole"],
                             [cfn.sub(f"arn:${{AWS::Partition}}:iam::{a}:role/{role_name}") for a in others],
                             "SameRoleInTargetAccounts"))
    return out


def _provision() -> list[dict]:
    out = []
    for service, (actions, resource) in sorted(PROVISION.items()):
        out.append(cfn.allow(actions, _account_arn(service, resource), f"Provision{service.capitalize()}"))
    tagged = {"Null": {f"aws:ResourceTag/{SERVICE_TAG}": "false"}}
    out += [
        cfn.allow(["iam:CreateRole", "iam:TagRole"], cfn.sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"),
                  "CreateTaggedRoles", {"Null": {f"aws:RequestTag/{SERVICE_TAG}": "false"}}),
        cfn.allow(["iam:DeleteRole", "iam:DeleteRolePolicy", "iam:GetRole", "iam:GetRolePolicy",
                   "iam:PutRolePolicy", "iam:UntagRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRoleDescription"],
                  cfn.sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"), "ManageShipspecRoles", tagged),
        # CloudFormation names the templates' roles, so they are known by their tag, not their ARN.
        cfn.allow(["iam:PassRole"], cfn.sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"),
                  "PassShipspecRoles", {**tagged, "StringEquals": {"iam:PassedToService": list(PASSED_TO)}}),
        # CreateKey acts on no existing key: IAM allows no narrower resource.
        cfn.allow(["kms:CreateKey"], "*", "CreateBootstrapKey"),
        cfn.allow(["kms:CreateAlias", "kms:CreateGrant", "kms:DeleteAlias", "kms:DescribeKey",
                   "kms:EnableKeyRotation", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags",
                   "kms:PutKeyPolicy", "kms:RetireGrant", "kms:TagResource", "kms:UpdateAlias"],
                  [_account_arn("kms", "key/*"), _account_arn("kms", "alias/shipspec-*")], "BootstrapKey"),
        cfn.allow(["codeconnections:PassConnection", "codeconnections:UseConnection",
                   "codestar-connections:PassConnection", "codestar-connections:UseConnection"],
                  [_account_arn("codeconnections", "connection/*"),
                   _account_arn("codestar-connections", "connection/*")], "PassSourceConnections"),
        cfn.allow(["s3:CreateBucket", "s3:DeleteBucketPolicy", "s3:GetBucketPolicy", "s3:PutBucketOwnershipControls",
                   "s3:PutBucketPolicy", "s3:PutBucketPublicAccessBlock", "s3:PutBucketTagging",
                   "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration", "s3:PutLifecycleConfiguration"],
                  cfn.sub("arn:${AWS::Partition}:s3:::shipspec-bootstrap-artifactbucket-*"), "BootstrapBucket"),
    ]
    return out


def _drift() -> list[dict]:
    """What `shipspec drift` needs beyond the plan's reads: detection on shipspec's stacks, and the
    read-only calls CloudFormation and the runtime check make with the role's credentials."""
    out = [cfn.allow(DRIFT_CFN_ACTIONS, _stacks()[:-1], "DetectDriftOfShipspecStacks"),
           cfn.allow(DRIFT_UNSCOPED_ACTIONS + ["ecs:DescribeTaskDefinition", "kms:ListAliases"], "*",
                     "DriftDetectionStatus")]
    for service, (actions, resource) in sorted(DRIFT_READS.items()):
        out.append(cfn.allow(actions, _account_arn(service, resource), f"ReadForDrift{service.capitalize()}"))
    out += [
        cfn.allow(DRIFT_GLOBAL_READS["iam"], cfn.sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*"),
                  "ReadForDriftIam", {"Null": {f"aws:ResourceTag/{SERVICE_TAG}": "false"}}),
        cfn.allow([a for a in DRIFT_GLOBAL_READS["kms"] if a != "kms:ListAliases"], _account_arn("kms", "key/*"),
                  "ReadForDriftKms"),
        cfn.allow(DRIFT_GLOBAL_READS["s3"], cfn.sub("arn:${AWS::Partition}:s3:::shipspec-bootstrap-artifactbucket-*"),
                  "ReadForDriftS3"),
    ]
    return out


def _secret_arns(name: str) -> list:
    """A secret given by name, or by ARN (complete, or partial: without the random suffix)."""
    # Secrets Manager appends 6 random characters to a secret's ARN.
    if name.startswith("arn:"):
        return [name, f"{name}-??????"]
    return [_account_arn("secretsmanager", f"secret:{name}-??????")]


def _secrets(names: list[str], keys: list[str]) -> list[dict]:
    """Read the github-token sources' tokens (CloudFormation resolves them with this role's
    credentials), and decrypt them with exactly the customer managed keys the specs name
    (`source.token_secret.kms_key_arn`), only through Secrets Manager. With github-token sources,
    also create and resolve their webhooks' generated secrets, which shipspec names under
    `shipspec/webhook/` (encrypted with the artifact key: ArtifactKey above)."""
    out = []
    if names:
        out.append(cfn.allow(["secretsmanager:GetSecretValue"], [a for n in names for a in _secret_arns(n)],
                             "ResolveTokenSecrets"))
        out.append(cfn.allow(["secretsmanager:CreateSecret", "secretsmanager:DeleteSecret",
                              "secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue",
                              "secretsmanager:TagResource", "secretsmanager:UntagResource",
                              "secretsmanager:UpdateSecret"],
                             _account_arn("secretsmanager", f"secret:{WEBHOOK_SECRET_PREFIX}*"), "WebhookSecrets"))
        # GenerateSecretString: a random string, no resource (STAR_RESOURCE_ACTIONS).
        out.append(cfn.allow(["secretsmanager:GetRandomPassword"], "*", "GenerateWebhookSecrets"))
    if keys:
        regions = sorted({k.split(":")[3] for k in keys})
        out.append(cfn.allow(["kms:Decrypt"], keys, "DecryptTokenSecrets", {"StringEquals": {
            "kms:ViaService": [f"secretsmanager.{r}.amazonaws.com" for r in regions]}}))
    return out


def _role(name: str, description: str, trust: dict, statements: list[dict], suppress: dict[str, str],
          boundary: str | None = None) -> dict:
    properties = {
        "RoleName": name, "Description": description, "MaxSessionDuration": 3600,
        "AssumeRolePolicyDocument": trust,
        "Policies": [{"PolicyName": name, "PolicyDocument": cfn.policy(statements)}],
        "Tags": cfn.tag_list({BOOTSTRAP_TAG: "true"}),
    }
    if boundary:
        # The most the role may ever do, whatever its own policy grants (an IAM permissions boundary).
        properties["PermissionsBoundary"] = boundary
    return {"Type": "AWS::IAM::Role", "Metadata": cfn.shipspec_suppressions({**SUPPRESS_ALWAYS, **suppress}),
            "Properties": properties}


def render_ci_roles(repo: str, *, branch: str = "main", environments: Iterable[str] = ("stg", "prod"),
                    hub_account: str | None = None, target_accounts: Iterable[str] = (),
                    token_secrets: Iterable[str] = (), token_keys: Iterable[str] = (), oidc_provider: bool = True,
                    permissions_boundary: str | None = None) -> dict:
    """Resources for one account. `repo` is owner/name. `hub_account`: the account whose roles the
    workflows sign in to, for the other accounts; None for the hub itself, which gets the GitHub
    OIDC provider and the GitHub trust. `target_accounts` (the hub only): the other accounts
    whose roles it may assume. `token_secrets`: Secrets Manager names of github-token sources'
    tokens (CloudFormation resolves them with the deploy role's credentials); `token_keys`: ARNs of
    the customer managed KMS keys those secrets are encrypted with. `oidc_provider=False` when the
    account has one for GitHub already. `permissions_boundary`: ARN of a managed policy set as the
    deploy role's permissions boundary."""
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise ValueError(f"repository {repo!r}: expected owner/name")
    envs = sorted(set(environments))
    targets = tuple(target_accounts) if hub_account is None else ()
    oidc_provider = oidc_provider and hub_account is None
    resources: dict = {}
    if oidc_provider:
        resources["GitHubOidcProvider"] = {"Type": "AWS::IAM::OIDCProvider", "Properties": {
            "Url": f"https://{GITHUB_OIDC_HOST}", "ClientIdList": [AUDIENCE],
            "Tags": cfn.tag_list({BOOTSTRAP_TAG: "true"})}}
    plan_subjects = ["pull_request", f"ref:refs/heads/{branch}"]
    resources["PlanRole"] = _role(
        PLAN_ROLE, f"shipspec plan for {repo}: read stacks, make and delete change sets",
        _trust(repo, plan_subjects, hub_account, PLAN_ROLE),
        [cfn.allow(PLAN_CFN_ACTIONS, _stacks(), "ShipspecStacksPlan"),
         *_common(PLAN_ROLE, targets, ("shipspec/templates",)), *_drift()], SUPPRESS_PLAN)
    resources["DeployRole"] = _role(
        DEPLOY_ROLE, f"shipspec apply for {repo} from the GitHub environments {', '.join(envs)}",
        _trust(repo, [f"environment:{e}" for e in envs], hub_account, DEPLOY_ROLE),
        [cfn.allow(DEPLOY_CFN_ACTIONS, _stacks(), "ShipspecStacksDeploy"),
         *_common(DEPLOY_ROLE, targets, ("shipspec/templates", "lambda")), *_provision(),
         *_secrets(sorted(set(token_secrets)), sorted(set(token_keys)))], SUPPRESS_DEPLOY, permissions_boundary)
    if oidc_provider:
        for name in ("PlanRole", "DeployRole"):
            resources[name]["DependsOn"] = "GitHubOidcProvider"
    return resources
