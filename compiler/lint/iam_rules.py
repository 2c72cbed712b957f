"""Least-privilege IAM rules (SS101-SS105): actions, resources, PassRole and trust policies.

SS101-SS103 judge each statement with `compiler/core/iam_policy.py` (which the spec's stage checks
use too, and which keeps `STAR_RESOURCE_ACTIONS`); this module finds the statements in a template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from ..core.iam_policy import statement_problems
from .rules import Finding, Path, Rule, TemplateDoc, as_list, refs_to, register, resolved_text

# Where each resource type keeps its policy documents; "*" steps into every list item.
POLICY_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "AWS::IAM::Role": (("Policies", "*", "PolicyDocument"),),
    "AWS::IAM::User": (("Policies", "*", "PolicyDocument"),),
    "AWS::IAM::Group": (("Policies", "*", "PolicyDocument"),),
    "AWS::IAM::Policy": (("PolicyDocument",),),
    "AWS::IAM::ManagedPolicy": (("PolicyDocument",),),
    "AWS::S3::BucketPolicy": (("PolicyDocument",),),
    "AWS::SNS::TopicPolicy": (("PolicyDocument",),),
    "AWS::SQS::QueuePolicy": (("PolicyDocument",),),
    "AWS::KMS::Key": (("KeyPolicy",),),
    "AWS::ECR::Repository": (("RepositoryPolicyText",),),
    "AWS::SecretsManager::ResourcePolicy": (("ResourcePolicy",),),
}
# In a key policy, Resource "*" means "this key": AWS documents it that way and allows nothing else.
KEY_POLICY_TYPES = ("AWS::KMS::Key",)

# Which property of which resource type passes a role to which service (SS104).
ROLE_USERS: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "AWS::CodePipeline::Pipeline": ((("RoleArn",), "codepipeline.amazonaws.com"),),
    "AWS::CodeBuild::Project": ((("ServiceRole",), "codebuild.amazonaws.com"),),
    "AWS::Lambda::Function": ((("Role",), "lambda.amazonaws.com"),),
    "AWS::Events::Rule": ((("Targets", "*", "RoleArn"), "events.amazonaws.com"),),
    "AWS::ECS::TaskDefinition": ((("TaskRoleArn",), "ecs-tasks.amazonaws.com"),
                                 (("ExecutionRoleArn",), "ecs-tasks.amazonaws.com")),
    "AWS::Scheduler::Schedule": ((("Target", "RoleArn"), "scheduler.amazonaws.com"),),
    "AWS::StepFunctions::StateMachine": ((("RoleArn",), "states.amazonaws.com"),),
    "AWS::CodeDeploy::DeploymentGroup": ((("ServiceRoleArn",), "codedeploy.amazonaws.com"),),
}


def walk(value: Any, steps: tuple[str, ...], path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """(path, value) at `steps` below `value`; "*" steps into every item of a list."""
    if not steps:
        yield path, value
        return
    head, rest = steps[0], steps[1:]
    if head == "*":
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from walk(item, rest, path + (i,))
    elif isinstance(value, Mapping) and head in value:
        yield from walk(value[head], rest, path + (head,))


@dataclass(frozen=True)
class Statement:
    resource: str  # logical id
    rtype: str
    path: Path  # of the statement inside the template
    body: Mapping[str, Any]

    @property
    def allows(self) -> bool:
        return self.body.get("Effect") == "Allow"

    def actions(self, key: str = "Action") -> list[tuple[Path, Any]]:
        value = self.body.get(key)
        if isinstance(value, list):
            return [(self.path + (key, i), a) for i, a in enumerate(value)]
        return [(self.path + (key,), value)] if value is not None else []


def statements(doc: TemplateDoc) -> Iterator[Statement]:
    """Every statement of every permission or resource policy in the template (not trust policies)."""
    for rid, res in doc.resources().items():
        rtype = res.get("Type", "")
        props = res.get("Properties")
        for steps in POLICY_PATHS.get(rtype, ()):
            for ppath, policy in walk(props, steps, ("Resources", rid, "Properties")):
                if not isinstance(policy, Mapping):
                    continue
                body = policy.get("Statement")
                items = [(ppath + ("Statement",), body)] if isinstance(body, Mapping) else \
                    [(ppath + ("Statement", i), s) for i, s in enumerate(as_list(body))]
                for spath, st in items:
                    if isinstance(st, Mapping):
                        yield Statement(rid, rtype, spath, st)


def _statement_findings(doc: TemplateDoc, rule_id: str) -> Iterator[Finding]:
    for st in statements(doc):
        for p in statement_problems(st.body, key_policy=st.rtype in KEY_POLICY_TYPES):
            if p.rule == rule_id:
                yield Finding(st.path + p.path, f"{st.resource}: {p.message}")


@register
class NoWildcardActions(Rule):
    id = "SS101"
    title = "No wildcard actions"
    description = ('No Allow statement in any IAM, bucket, key, topic or queue policy grants Action "*" or '
                   '"<service>:*", or uses NotAction (which grants everything not listed).')
    hint = "List the exact actions the principal calls, e.g. s3:GetObject and s3:PutObject instead of s3:*."

    def check(self, doc: TemplateDoc) -> Iterator[Finding]:
        return _statement_findings(doc, self.id)


@register
class NoStarResource(Rule):
    id = "SS102"
    title = 'No wildcard resources where AWS allows a name'
    description = ('An Allow statement uses Resource "*" only for actions on the documented allow-list '
                   "(actions AWS authorises only on \"*\"), or in a KMS key policy, where \"*\" means the key "
                   "itself. No Resource ARN has a wildcard (* or ?) in its partition, service, region or account, "
                   "is all wildcard (arn:aws:s3:::*), or has one in the part that names the resource (the bucket "
                   "of arn:aws:s3:::*/*, the secret of secret:*, the cluster and service of service/*/*) or selects "
                   "objects by pattern (bucket/*.zip), unless a "
                   "condition narrows the statement (kms:ViaService, kms:EncryptionContext, iam:PassedToService, "
                   "aws:ResourceTag, ...) or the action is allow-listed for that resource type. Parts AWS "
                   "generates stay open (a secret's -?????? suffix, task ids), and so do the objects under a named "
                   "bucket and prefix (bucket/prefix/*). "
                   "NotResource is never used in an Allow statement.")
    hint = ('Name the resources the actions act on (or narrow the statement with a condition); if AWS really '
            "offers no resource-level permission, add the action with a one-line reason to STAR_RESOURCE_ACTIONS "
            "in compiler/core/iam_policy.py. A stage's policy_statements entry may keep a wildcard only with "
            "a Sid and a wildcard_reason.")

    def check(self, doc: TemplateDoc) -> Iterator[Finding]:
        return _statement_findings(doc, self.id)


@register
class ScopedPassRole(Rule):
    id = "SS103"
    title = "iam:PassRole on named roles, to a named service"
    description = ("Every statement allowing iam:PassRole names specific role ARNs (no \"*\" anywhere in the "
                   "resource) and carries an iam:PassedToService condition.")
    hint = ('Pass only the roles the action needs (their ARNs) and add Condition: {StringEquals: '
            '{iam:PassedToService: <service>.amazonaws.com}}.')

    def check(self, doc: TemplateDoc) -> Iterator[Finding]:
        return _statement_findings(doc, self.id)


def role_uses(doc: TemplateDoc, role_id: str) -> list[tuple[str, str]]:
    """(user description, expected service principal) of every resource passing this role."""
    out = []
    for rid, res in doc.resources().items():
        for steps, principal in ROLE_USERS.get(res.get("Type", ""), ()):
            for path, value in walk(res.get("Properties"), steps):
                if refs_to(value, role_id):
                    out.append((f"{rid}.{'.'.join(map(str, path))}", principal))
    return out


@register
class OneServicePrincipal(Rule):
    id = "SS104"
    title = "Each role trusts exactly the one service that uses it"
    description = ("Every IAM role's trust policy allows sts:AssumeRole to exactly one service principal and "
                   "nothing else, and that principal is the service of the resource that uses the role "
                   "(CodePipeline RoleArn -> codepipeline, CodeBuild ServiceRole -> codebuild, Lambda Role -> "
                   "lambda, EventBridge target RoleArn -> events, ...). A role no resource in the template "
                   "uses is a finding too.")
    hint = "Create one role per using service, trusted by that service's principal only."

    def check(self, doc: TemplateDoc) -> Iterator[Finding]:
        for rid, _res, props in doc.of_type("AWS::IAM::Role"):
            base = ("Resources", rid, "Properties", "AssumeRolePolicyDocument")
            trust = props.get("AssumeRolePolicyDocument")
            services: list[str] = []
            for i, st in enumerate(as_list(trust.get("Statement") if isinstance(trust, Mapping) else None)):
                if not isinstance(st, Mapping) or st.get("Effect") != "Allow":
                    continue
                spath = base + ("Statement", i)
                for action in as_list(st.get("Action")):
                    if action not in ("sts:AssumeRole", "sts:TagSession"):
                        yield Finding(spath, f"{rid}: trust policy allows {action!r}; only sts:AssumeRole is expected")
                principal = st.get("Principal")
                if not isinstance(principal, Mapping):
                    yield Finding(spath, f"{rid}: trust policy principal {principal!r} is not a service principal")
                    continue
                for kind, value in principal.items():
                    if kind == "Service":
                        services += [str(v) for v in as_list(value)]
                    else:
                        yield Finding(spath + ("Principal",), f"{rid}: trust policy names a {kind} principal; "
                                      "roles here are for one AWS service")
            if len(services) != 1:
                yield Finding(base, f"{rid}: trust policy names {len(services)} service principals "
                              f"({', '.join(services) or 'none'}); expected exactly one")
                continue
            uses = role_uses(doc, rid)
            if not uses:
                yield Finding(("Resources", rid), f"{rid}: no resource in this template uses the role, so its "
                              "trust cannot be checked; remove it or create it where it is used")
            for user, expected in uses:
                if services[0] != expected:
                    yield Finding(base, f"{rid}: trusted by {services[0]} but used by {user}, which needs "
                                  f"{expected}")


@register
class NoManagedPolicies(Rule):
    id = "SS105"
    title = "No AWS managed policies"
    description = ("No role, user or group attaches an AWS managed policy (arn:aws:iam::aws:policy/...): their "
                   "grants are broad, change without notice, and are invisible to SS101-SS103.")
    hint = "Write the few statements the role needs as an inline policy instead."

    def check(self, doc: TemplateDoc) -> Iterator[Finding]:
        for rid, _res, props in doc.of_type("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"):
            for i, arn in enumerate(as_list(props.get("ManagedPolicyArns"))):
                text = resolved_text(arn) or ""
                if ":iam::aws:policy/" in text:
                    yield Finding(("Resources", rid, "Properties", "ManagedPolicyArns", i),
                                  f"{rid}: attaches AWS managed policy {text!r}")
