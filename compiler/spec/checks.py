"""Checks of one service environment beyond the schema: provider rules, ARNs, names, custom
stages (`stage_checks`). What two environments must not both do is in `fleet`."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..core.arns import parse_arn
from ..core.codepipeline import RESERVED_ARTIFACTS
from ..core.diagnostics import Diagnostic, dotted
from . import naming
from .rollout_checks import check_rollout
from .stage_checks import check_stages

if TYPE_CHECKING:
    from .loaded import ServiceEnv

REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
CODECOMMIT_RE = re.compile(r"^[\w.-]{1,100}$")
S3_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+\.zip$")


def _arn(s: "ServiceEnv", path: tuple, value: str, services: tuple[str, ...], resource_prefix: str,
         same_account: bool, same_region: bool, example: str) -> list[Diagnostic]:
    where = s.where(*path)
    field = dotted(path)
    arn = parse_arn(value)
    if arn is None or arn.service not in services or not arn.resource.startswith(resource_prefix):
        return [Diagnostic(where, f"'{value}' is not a valid ARN here; expected e.g. {example}", field)]
    env = s.config.environment
    out = []
    if same_account and arn.account != env.account:
        out.append(Diagnostic(where, f"account {arn.account} in the ARN differs from environment "
                              f"'{env.name}' account {env.account}; use a resource in that account", field))
    if same_region and arn.region != env.region:
        out.append(Diagnostic(where, f"region {arn.region} in the ARN differs from environment "
                              f"'{env.name}' region {env.region}; use a resource in that region", field))
    return out


def _source_rules(s: "ServiceEnv", path: tuple, src, primary) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    p = src.provider
    field = dotted(path)

    def bad(key: str, msg: str) -> None:
        out.append(Diagnostic(s.where(*path, key, key=True), msg, f"{field}.{key}"))

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
            out += _arn(s, path + ("connection_arn",), src.connection_arn, ("codeconnections", "codestar-connections"),
                        "connection/", True, True,
                        f"arn:aws:codeconnections:{s.config.environment.region}:{s.config.environment.account}:connection/<id>")
    elif src.connection_arn is not None:
        bad("connection_arn", f"connection_arn is only for provider codestar, not {p}; remove it")
    if p == "github-token":
        if token is None:
            bad("provider", "provider github-token needs token_secret: {id: <secret id>, key: <json key>}")
    elif src.token_secret is not None:
        bad("token_secret", f"token_secret is only for provider github-token, not {p}; remove it")
    if getattr(src, "trigger_paths", None) is not None and p != "codestar":
        bad("trigger_paths", f"trigger_paths needs provider codestar (a V2 trigger); provider {p} cannot filter paths")
    if src.token_secret is not None and src.token_secret.id.startswith("arn:"):
        out += _arn(s, path + ("token_secret", "id"), src.token_secret.id, ("secretsmanager",), "secret:",
                    False, True, "arn:aws:secretsmanager:<region>:<account>:secret:<name>")
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
        bad = _arn(s, ("service", "secrets", var), value, ("secretsmanager", "ssm"), "", False, False,
                   "arn:aws:secretsmanager:<region>:<account>:secret:<name> or arn:aws:ssm:<region>:<account>:parameter/<name>")
        out += bad
        arn = parse_arn(value)
        if arn and not bad and not (arn.service == "secretsmanager" and arn.resource.startswith("secret:")
                        or arn.service == "ssm" and arn.resource.startswith("parameter/")):
            out.append(Diagnostic(s.where("service", "secrets", var), "expected a Secrets Manager secret "
                                  "or an SSM parameter ARN", f"service.secrets.{var}"))
    if c.notifications.topic_arn:
        out += _arn(s, ("notifications", "topic_arn"), c.notifications.topic_arn, ("sns",), "", True, True,
                    "arn:aws:sns:<region>:<account>:<topic>")
    for stack in naming.stack_names(c).values():
        if len(stack) > 128:
            out.append(Diagnostic(s.where("name"), f"stack name '{stack}' exceeds CloudFormation's 128 characters",
                                  "name"))
    pipeline = naming.pipeline_name(c)
    if len(pipeline) > 100:
        out.append(Diagnostic(s.where("name"), f"pipeline name '{pipeline}' exceeds 100 characters", "name"))
    out += check_stages(s)
    out += check_rollout(s)
    return out
