"""Print the CloudFormation template of shipspec's CI access for one AWS account: the GitHub OIDC
provider and the `shipspec-plan` / `shipspec-deploy` roles (docs/ci.md, "AWS access").

The hub account (the one named by --hub-account, or the only one when no hub is given) trusts
GitHub's OIDC tokens for --repo; every other account trusts the hub's roles of the same names.
IAM is global per account: deploy the template once per account, in one region, e.g.
`shipspec ci-roles --repo OWNER/NAME --account 111111111111 > ci.yml` then `aws cloudformation
deploy --template-file ci.yml --stack-name shipspec-ci --capabilities CAPABILITY_NAMED_IAM`.
The specs give the accounts, the GitHub environment names and the github-token secrets."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ...core.errors import UsageError

NAME = "ci-roles"
HELP = "print the GitHub OIDC provider and shipspec-plan/-deploy roles template for one account"

# GitHub: owner 1-39 letters, digits or single hyphens; repository letters, digits, '.', '-', '_'.
REPO_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}/[A-Za-z0-9._-]{1,100}$")
ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
POLICY_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/[A-Za-z0-9+=,.@_/-]{1,512}$")
BRANCH_RE = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")
STACK_NAME = "shipspec-ci"
CAPABILITY = "CAPABILITY_NAMED_IAM"  # the roles have fixed names (shipspec assumes them by name)


@dataclass(frozen=True)
class SpecFacts:
    """What the template needs from the specs."""

    accounts: tuple[str, ...]  # every environment's account, sorted
    environments: tuple[str, ...]  # environment names (the GitHub environments), sorted
    token_secrets: tuple[tuple[str, str], ...]  # (account, secret id) of github-token sources, sorted
    token_keys: tuple[tuple[str, str], ...] = ()  # (account, KMS key ARN) those secrets are encrypted with


@dataclass(frozen=True)
class Request:
    repo: str
    account: str | None
    hub_account: str | None
    branch: str
    oidc_provider: bool
    permissions_boundary: str | None = None

    @property
    def is_hub(self) -> bool:
        return self.hub_account is None or self.account == self.hub_account


def configure(p) -> None:
    p.add_argument("--repo", required=True, metavar="OWNER/NAME",
                   help="the GitHub repository whose workflows may use the roles")
    p.add_argument("--account", metavar="ACCOUNT",
                   help="12-digit account the template is for (must be an account of the specs' environments)")
    p.add_argument("--hub-account", metavar="ACCOUNT",
                   help="account whose roles the workflows sign in to; other accounts trust its roles "
                        "(default: no hub, --account is the only account GitHub signs in to)")
    p.add_argument("--any-account", action="store_true",
                   help="allow an --account no spec environment uses")
    p.add_argument("--branch", default="main", metavar="BRANCH",
                   help="default branch whose pushes may plan (default: main)")
    p.add_argument("--no-oidc-provider", dest="oidc_provider", action="store_false",
                   help="the hub account already has the token.actions.githubusercontent.com OIDC provider")
    p.add_argument("--permissions-boundary", metavar="POLICY_ARN",
                   help="ARN of a managed policy set as the shipspec-deploy role's permissions boundary: the most "
                        "that role may ever do, whatever its own policy grants (docs/security.md)")
    p.add_argument("--output", metavar="FILE", help="write the template to FILE instead of printing it")


def spec_facts(project) -> SpecFacts:
    """Accounts, environment names and github-token secret ids used by the specs."""
    accounts, envs, secrets, keys = set(), set(), set(), set()
    for s in project.services:
        c = s.config
        accounts.add(c.environment.account)
        envs.add(c.environment.name)
        for src in (c.source, *c.source.additional):
            token = src.token_secret or c.source.token_secret
            if src.provider == "github-token" and token is not None:
                secrets.add((c.environment.account, token.id))
                if token.kms_key_arn:
                    keys.add((c.environment.account, token.kms_key_arn))
    return SpecFacts(tuple(sorted(accounts)), tuple(sorted(envs)), tuple(sorted(secrets)), tuple(sorted(keys)))


def check_request(args) -> Request:
    """The validated options; UsageError naming the option and what to do."""
    if not REPO_RE.match(args.repo):
        raise UsageError(f"--repo {args.repo!r}: expected OWNER/NAME of a GitHub repository, e.g. example-corp/shipspec-config")
    for opt, value in (("--account", args.account), ("--hub-account", args.hub_account)):
        if value is not None and not ACCOUNT_RE.match(value):
            raise UsageError(f"{opt} {value!r}: expected a 12-digit AWS account id")
    if not BRANCH_RE.match(args.branch) or ".." in args.branch or args.branch.startswith("/"):
        raise UsageError(f"--branch {args.branch!r}: expected a branch name like main (no wildcards)")
    boundary = getattr(args, "permissions_boundary", None)
    if boundary is not None and not POLICY_ARN_RE.match(boundary):
        raise UsageError(f"--permissions-boundary {boundary!r}: expected a managed policy ARN, e.g. "
                         "arn:aws:iam::111111111111:policy/shipspec-deploy-boundary")
    if args.hub_account is not None and args.account is None:
        raise UsageError("--hub-account needs --account: the account this template is for "
                         "(the hub's template when it equals --hub-account)")
    return Request(args.repo, args.account, args.hub_account, args.branch, args.oidc_provider, boundary)


def check_account(req: Request, facts: SpecFacts, any_account: bool) -> None:
    """--account must be an account of the specs' environments (a typo would make useless roles)."""
    if req.account is not None and req.account not in facts.accounts and not any_account:
        known = ", ".join(facts.accounts) or "none"
        raise UsageError(f"--account {req.account}: no spec environment uses this account (they use: {known}); "
                         "check the number, or pass --any-account")


def template_for(req: Request, facts: SpecFacts) -> dict:
    """The CloudFormation template (a dict) of the CI roles of one account."""
    from ...build.render import cfn
    from ...build.render.ci_roles import render_ci_roles

    if req.is_hub:
        # shipspec assumes the role of the same name in every environment's account, the hub's too.
        secrets = {sid for acct, sid in facts.token_secrets if req.account is None or acct == req.account}
        keys = {key for acct, key in facts.token_keys if req.account is None or acct == req.account}
        resources = render_ci_roles(req.repo, branch=req.branch, environments=facts.environments,
                                    target_accounts=facts.accounts, token_secrets=sorted(secrets),
                                    token_keys=sorted(keys), oidc_provider=req.oidc_provider,
                                    permissions_boundary=req.permissions_boundary)
        what = "hub account: trusts GitHub's OIDC tokens"
    else:
        secrets = {sid for acct, sid in facts.token_secrets if acct == req.account}
        keys = {key for acct, key in facts.token_keys if acct == req.account}
        resources = render_ci_roles(req.repo, branch=req.branch, environments=facts.environments,
                                    hub_account=req.hub_account, token_secrets=sorted(secrets),
                                    token_keys=sorted(keys), permissions_boundary=req.permissions_boundary)
        what = f"trusts the roles of hub account {req.hub_account}"
    outputs = {f"{logical}Arn": {"Description": f"ARN of the {logical[:-4].lower()} role",
                                 "Value": cfn.getatt(logical, "Arn")} for logical in ("PlanRole", "DeployRole")}
    return cfn.template(f"shipspec CI roles for {req.repo} ({what})", resources, outputs)


def command_line(req: Request, any_account: bool) -> str:
    parts = ["shipspec ci-roles", f"--repo {req.repo}"]
    if req.hub_account:
        parts.append(f"--hub-account {req.hub_account}")
    if req.account:
        parts.append(f"--account {req.account}")
    if any_account:
        parts.append("--any-account")
    if req.branch != "main":
        parts.append(f"--branch {req.branch}")
    if not req.oidc_provider:
        parts.append("--no-oidc-provider")
    if req.permissions_boundary:
        parts.append(f"--permissions-boundary {req.permissions_boundary}")
    return " ".join(parts)


def header(req: Request, any_account: bool) -> str:
    return (f"Generated by `{command_line(req, any_account)}`. Do not edit: run the command again.\n"
            "IAM is global per account: deploy once per account, in one region:\n"
            f"  aws cloudformation deploy --template-file ci.yml --stack-name {STACK_NAME} --capabilities {CAPABILITY}")


def render(req: Request, facts: SpecFacts, any_account: bool = False) -> bytes:
    """The template's bytes: deterministic for the same request and specs."""
    from ...build.render.cfn import render_template

    return render_template(template_for(req, facts), header(req, any_account))


def run(args, console) -> int:
    from ...build.writer import write_file_atomic
    from ...spec.project import load_project

    req = check_request(args)
    facts = spec_facts(load_project(console.root))
    check_account(req, facts, args.any_account)
    data = render(req, facts, args.any_account)
    if not args.output:
        console.print(data.decode("utf-8"))
        return 0
    out = Path(args.output)
    if out.is_dir():
        raise UsageError(f"--output {args.output}: is a directory; name a file such as ci.yml")
    changed = write_file_atomic(out, data)
    console.error(f"{args.output} {'written' if changed else 'is up to date'}; deploy it with "
                  f"aws cloudformation deploy --template-file {args.output} --stack-name {STACK_NAME} "
                  f"--capabilities {CAPABILITY}")
    return 0
