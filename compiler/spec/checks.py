"""Checks of one service environment beyond the schema: provider rules, ARNs, names, custom
stages (`stage_checks`). What two environments must not both do is in `fleet`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..core.arns import parse_arn
from ..core.codepipeline import RESERVED_ARTIFACTS
from ..core.diagnostics import Diagnostic, dotted
from . import arn_checks, naming
from .codebuild_secrets import check_secrets
from .name_checks import check_names
from .naming import BUILD_VARIABLES
from .refnames import ref_name_problem
from .rollout_checks import check_rollout
from .stage_checks import check_stages

if TYPE_CHECKING:
    from .loaded import ServiceEnv

REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
CODECOMMIT_RE = re.compile(r"^[\w.-]{1,100}$", re.ASCII)
S3_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+\.zip$")


# Where each ARN is read (compiler/spec/arn_checks.py): a connection belongs to the pipeline's
# account and region; ECS reads container secrets by ARN in another account or region when their
# policies allow; the notification Lambda publishes in the topic's own region and reads the Slack
# secret in its own region.
CONNECTION = arn_checks.Place(
    "must", "must", why_account="use a connection in that account (a pipeline uses its own account's connections)",
    why_region="use a connection in that region (a pipeline uses its own region's connections)")
TOKEN_SECRET = arn_checks.Place(
    "free", "must", why_region="use a secret in that region (CloudFormation resolves the token in the stack's region)")
CONTAINER_SECRET = arn_checks.Place("may", "may")
TOPIC = arn_checks.Place("may", "may")
SLACK_SECRET = arn_checks.Place(
    "may", "must", why_region="use a secret in that region (the notification Lambda reads it in its own region)")


def _inherited_from(s: "ServiceEnv", key_path: tuple, provider_path: tuple) -> str | None:
    """Where a key is set, when the provider it does not fit was set in a layer above it: another
    file (the provider in the spec, the key in _defaults.yaml), or the spec's top level when the
    provider is set in its `environments.<env>` block. None when removing the key is the fix."""
    key, provider = s.where(*key_path), s.where(*provider_path)
    if key.file != provider.file:
        return key.file if provider.file == s.file else None
    env = s.tree.key_locs.get("environment")
    if env is not None and env.file == s.file and key.line < env.line <= provider.line:
        return f"the top level of this spec (line {key.line})"
    return None


def _source_rules(s: "ServiceEnv", path: tuple, src, primary) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    p = src.provider
    field = dotted(path)

    def bad(key: str, msg: str) -> None:
        out.append(Diagnostic(s.where(*path, key, key=True), msg, f"{field}.{key}"))

    def not_used(key: str, msg: str, fix: str = "; remove it") -> None:
        """`key` is set but `p` does not use it: remove it where it was set or, when the provider
        was changed below where the key is set (a spec below _defaults.yaml, an environment below
        its spec), null it next to the provider, where the change is."""
        inherited = _inherited_from(s, path + (key,), path + ("provider",))
        if inherited is None:
            bad(key, msg + fix)
            return
        others = "other services" if inherited.startswith("services/") else "the other environments"
        out.append(Diagnostic(s.where(*path, "provider"), f"{msg}, but {key} is inherited from {inherited}, "
                              f"where {others} need it; add `{key}: null` next to this provider to drop it here",
                              f"{field}.provider"))

    if p != "s3":
        problem = ref_name_problem(src.branch)
        if problem:
            never = "this source could never be fetched" if primary is not None else "no push could ever start the pipeline"
            out.append(Diagnostic(s.where(*path, "branch"), f"'{src.branch}' is not a valid git branch name: {problem}; "
                                  f"git refuses to create such a branch, so {never}", f"{field}.branch"))

    repo_ok = {"codestar": REPO_RE, "github-token": REPO_RE, "codecommit": CODECOMMIT_RE, "s3": S3_RE}[p]
    if not repo_ok.match(src.repository):
        shape = {"codestar": "owner/repo", "github-token": "owner/repo", "codecommit": "a repository name",
                 "s3": "bucket/key.zip"}[p]
        out.append(Diagnostic(s.where(*path, "repository"), f"'{src.repository}' is not {shape} (provider {p})",
                              f"{field}.repository"))
    connection = src.connection_arn or (primary.connection_arn if primary is not None else None)
    token = src.token_secret or (primary.token_secret if primary is not None else None)
    if p == "codestar":
        if connection is None:
            bad("provider", "provider codestar needs connection_arn (a CodeConnections connection ARN)")
        elif src.connection_arn:
            out += arn_checks.check_arn(
                s, path + ("connection_arn",), src.connection_arn, ("codeconnections", "codestar-connections"),
                "connection/", CONNECTION,
                f"arn:aws:codeconnections:{s.config.environment.region}:{s.config.environment.account}:connection/<id>")
    elif src.connection_arn is not None:
        not_used("connection_arn", f"connection_arn is only for provider codestar, not {p}")
    if p == "github-token":
        if token is None:
            bad("provider", "provider github-token needs token_secret: {id: <secret id>, key: <json key>}")
    elif src.token_secret is not None:
        not_used("token_secret", f"token_secret is only for provider github-token, not {p}")
    if getattr(src, "trigger_paths", None) is not None and p != "codestar":
        not_used("trigger_paths", f"trigger_paths needs provider codestar (a V2 trigger); provider {p} cannot filter "
                 "paths", fix="")
    if src.token_secret is not None and src.token_secret.id.startswith("arn:"):
        out += arn_checks.check_arn(s, path + ("token_secret", "id"), src.token_secret.id, ("secretsmanager",),
                                    "secret:", TOKEN_SECRET, "arn:aws:secretsmanager:<region>:<account>:secret:<name>")
    return out


def check_service(s: "ServiceEnv") -> list[Diagnostic]:
    c = s.config
    out = _source_rules(s, ("source",), c.source, None)
    seen: dict[str, int] = {}
    for i, add in enumerate(c.source.additional):
        out += _source_rules(s, ("source", "additional", i), add, c.source)
        if add.name in RESERVED_ARTIFACTS:
            out.append(Diagnostic(s.where("source", "additional", i, "name"),
                                  f"'{add.name}' is reserved for a built-in artifact ({', '.join(RESERVED_ARTIFACTS)}); "
                                  "choose another name", f"source.additional[{i}].name"))
        if add.name in seen:
            out.append(Diagnostic(s.where("source", "additional", i, "name"),
                                  f"duplicate additional source name '{add.name}' (also source.additional[{seen[add.name]}])",
                                  f"source.additional[{i}].name"))
        seen.setdefault(add.name, i)
    for var, value in c.service.secrets.items():
        found = arn_checks.check_arn(
            s, ("service", "secrets", var), value, ("secretsmanager", "ssm"), "", CONTAINER_SECRET,
            "arn:aws:secretsmanager:<region>:<account>:secret:<name> or arn:aws:ssm:<region>:<account>:parameter/<name>")
        out += found
        arn = parse_arn(value)
        if arn and not found and not (arn.service == "secretsmanager" and arn.resource.startswith("secret:")
                        or arn.service == "ssm" and arn.resource.startswith("parameter/")):
            out.append(Diagnostic(arn_checks.where(s, ("service", "secrets", var)), "expected a Secrets Manager "
                                  "secret or an SSM parameter ARN", f"service.secrets.{var}"))
    out += check_secrets(s, ("build", "secrets"), c.build.secrets, BUILD_VARIABLES, c.build.build_args,
                         "build.build_args")
    if c.notifications.topic_arn:
        out += arn_checks.check_arn(s, ("notifications", "topic_arn"), c.notifications.topic_arn, ("sns",), "", TOPIC,
                                    "arn:aws:sns:<region>:<account>:<topic>")
    slack = c.notifications.slack_webhook_secret
    if slack and slack.startswith("arn:"):
        out += arn_checks.check_arn(s, ("notifications", "slack_webhook_secret"), slack, ("secretsmanager",),
                                    "secret:", SLACK_SECRET, "arn:aws:secretsmanager:<region>:<account>:secret:<name>")
    for stack in naming.stack_names(c).values():
        if len(stack) > 128:
            out.append(Diagnostic(s.where("name"), f"stack name '{stack}' exceeds CloudFormation's 128 characters",
                                  "name"))
    pipeline = naming.pipeline_name(c)
    if len(pipeline) > 100:
        out.append(Diagnostic(s.where("name"), f"pipeline name '{pipeline}' exceeds 100 characters", "name"))
    out += check_stages(s)
    out += check_names(s)
    out += check_rollout(s)
    return out
