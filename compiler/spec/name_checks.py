"""Names that become ARNs, policy resources or script words, against AWS's character rules.

`service.cluster: "*"` used to give the pipeline `ecs:UpdateService` on `service/*/*`,
`notifications.slack_webhook_secret: "*"` `secretsmanager:GetSecretValue` on every secret, and
`source.repository: my-bucket/*.zip` reads of every matching object. Every name the renderers put
into an ARN or the update script is checked here with the rules of `compiler/core/aws_names.py`,
so no wildcard, `$`, whitespace or control character reaches a policy or a script. Other
free-text fields that end up in names or scripts (tags, Dockerfile path, build context, images)
may hold no newline or other control character.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterator

from ..core import aws_names as rules
from ..core.diagnostics import Diagnostic, dotted

if TYPE_CHECKING:
    from .loaded import ServiceEnv


def _source_names(c) -> Iterator[tuple[tuple, str | None, Callable[[str], str | None]]]:
    sources = [(("source",), c.source), *((("source", "additional", i), a) for i, a in enumerate(c.source.additional))]
    for path, src in sources:
        # (codecommit and GitHub repository names are checked for their shape in checks.py: no wildcards)
        if src.provider == "s3" and "/" in src.repository:
            bucket, _, key = src.repository.partition("/")
            yield path + ("repository",), bucket, lambda v: rules.name_problem(rules.S3_BUCKET, v)
            yield path + ("repository",), key, lambda v: rules.name_problem(rules.S3_KEY, v)
        if src.connection_arn:
            yield path + ("connection_arn",), src.connection_arn, rules.connection_arn_problem
        if src.token_secret is not None:
            yield path + ("token_secret", "id"), src.token_secret.id, rules.secret_id_problem
            yield path + ("token_secret", "key"), src.token_secret.key, \
                lambda v: rules.name_problem(rules.SECRET_JSON_KEY, v)
            if src.token_secret.kms_key_arn is not None:
                yield path + ("token_secret", "kms_key_arn"), src.token_secret.kms_key_arn, rules.kms_key_arn_problem


def _names(c) -> Iterator[tuple[tuple, str | None, Callable[[str], str | None]]]:
    svc = c.service
    yield ("service", "cluster"), svc.cluster, lambda v: rules.name_problem(rules.ECS_CLUSTER, v)
    yield ("service", "name"), svc.name, lambda v: rules.name_problem(rules.ECS_SERVICE, v)
    yield ("service", "container"), svc.container, lambda v: rules.name_problem(rules.ECS_CONTAINER, v)
    yield from _source_names(c)
    n = c.notifications
    yield ("notifications", "slack_webhook_secret"), n.slack_webhook_secret, rules.secret_id_problem
    yield ("notifications", "topic_arn"), n.topic_arn, rules.topic_arn_problem
    for var, value in svc.secrets.items():
        yield ("service", "secrets", var), value, _no_wildcard


def _no_wildcard(value: str) -> str | None:
    found = [w for w in rules.WILDCARDS if w in value]
    if found:
        return (f"{value!r} holds {' and '.join(repr(w) for w in found)}; name exactly one secret or parameter "
                "(wildcards are not references)")
    return None


def _free_text(c) -> Iterator[tuple[tuple, str, bool]]:
    """(path, value, is a key) of the free-text fields that end up in names or scripts."""
    for key, value in c.tags.items():
        yield ("tags", key), key, True
        yield ("tags", key), value, False
    yield ("build", "dockerfile"), c.build.dockerfile, False
    yield ("build", "context"), c.build.context, False
    yield ("build", "image"), c.build.image, False
    for i, stage in enumerate(c.stages):
        for j, action in enumerate(stage.actions):
            if action.image is not None:
                yield ("stages", i, "actions", j, "image"), action.image, False


def check_names(s: "ServiceEnv") -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for path, value, problem in _names(s.config):
        message = problem(value) if value is not None else None
        if message:
            out.append(Diagnostic(s.where(*path), message, dotted(path)))
    for path, value, is_key in _free_text(s.config):
        if rules.control_character(value):
            out.append(Diagnostic(s.where(*path, key=is_key), f"{value!r} holds a newline or another control "
                                  "character; write it on one line", dotted(path)))
    return out
