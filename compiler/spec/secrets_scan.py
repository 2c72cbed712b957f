"""Refuse secret values in specs: credentials belong in Secrets Manager or SSM, referenced by ARN.

The scan walks a loaded file (before merging, so each finding is reported once, at
the line that holds it) and never echoes the suspected secret back.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from ..core.diagnostics import Diagnostic, Location, dotted
from .yamlsrc import LDict, LList

# (name, pattern) of values that are credentials wherever they appear.
VALUE_PATTERNS: tuple[tuple[str, re.Pattern], ...] = (
    ("an AWS access key id", re.compile(r"(?<![A-Z0-9])(AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|A3T[A-Z0-9])[A-Z0-9]{16}(?![A-Z0-9])")),
    ("a GitHub token", re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b")),
    ("a private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
    ("a password in a URL", re.compile(r"\b[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")),
    ("a Slack token or webhook", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}|hooks\.slack\.com/services/[A-Za-z0-9/]+")),
    ("an AWS secret access key", re.compile(r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+=]*[0-9])(?=[A-Za-z0-9/+=]*[a-z])"
                                             r"(?=[A-Za-z0-9/+=]*[A-Z])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")),
)

_SECRET_WORDS = {"SECRET", "SECRETS", "PASSWORD", "PASSWD", "PWD", "TOKEN", "TOKENS", "CREDENTIAL", "CREDENTIALS",
                 "APIKEY", "PASSPHRASE"}
_KEY_QUALIFIERS = {"API", "ACCESS", "SECRET", "PRIVATE", "SIGNING", "ENCRYPTION", "MASTER", "CLIENT"}
IAM_USER_KEYS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
# plain-value maps whose names are checked
PLAIN_MAPS = (("service", "environment"), ("build", "build_args"))


def secret_like_name(name: str) -> bool:
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name.upper()) if w]
    if any(w in _SECRET_WORDS for w in words):
        return True
    return any(w == "KEY" and i > 0 and words[i - 1] in _KEY_QUALIFIERS for i, w in enumerate(words))


def _walk(node: Any, path: tuple) -> Iterator[tuple[tuple, Any, Location | None]]:
    if isinstance(node, LDict):
        for k, v in node.items():
            yield from ((p, x, l or node.value_locs.get(k)) for p, x, l in _walk(v, path + (k,)))
    elif isinstance(node, LList):
        for i, v in enumerate(node):
            loc = node.item_locs[i] if i < len(node.item_locs) else None
            yield from ((p, x, l or loc) for p, x, l in _walk(v, path + (i,)))
    else:
        yield path, node, None


def _plain_maps(tree: LDict) -> Iterator[tuple[tuple, LDict]]:
    """The plain-value maps at top level and inside each environment override."""
    return _maps(tree, PLAIN_MAPS)


def _secret_maps(tree: LDict) -> Iterator[tuple[tuple, LDict]]:
    return _maps(tree, (("service", "secrets"),))


def _maps(tree: LDict, wanted: tuple[tuple[str, str], ...]) -> Iterator[tuple[tuple, LDict]]:
    scopes: list[tuple[tuple, Any]] = [((), tree)]
    envs = tree.get("environments")
    if isinstance(envs, LDict):
        scopes += [(("environments", e), v) for e, v in envs.items() if isinstance(v, LDict)]
    for prefix, scope in scopes:
        for section, key in wanted:
            sec = scope.get(section)
            value = sec.get(key) if isinstance(sec, LDict) else None
            if isinstance(value, LDict):
                yield prefix + (section, key), value


def scan(tree: LDict, file: str) -> list[Diagnostic]:
    out = []
    for path, value, loc in _walk(tree, ()):
        if not isinstance(value, str):
            continue
        for what, pattern in VALUE_PATTERNS:
            if pattern.search(value):
                out.append(Diagnostic(loc or Location(file), f"this value looks like {what}; never put secrets in a "
                                      "spec: store it in Secrets Manager or SSM Parameter Store and reference its "
                                      "ARN under service.secrets", dotted(path)))
                break
    for path, mapping in _plain_maps(tree):
        for name in mapping:
            where = mapping.key_locs.get(name) or Location(file)
            if name.upper() in IAM_USER_KEYS:
                out.append(Diagnostic(where, f"'{name}' passes IAM user keys to the container; a dedicated IAM user's "
                                      "long-lived keys are refused. Grant the permissions to the ECS task role "
                                      "instead: the AWS SDKs pick up its temporary credentials automatically",
                                      dotted(path + (name,))))
            elif secret_like_name(name):
                out.append(Diagnostic(where, f"'{name}' looks like a secret but is a plain value; move it to "
                                      "service.secrets as a Secrets Manager or SSM parameter ARN",
                                      dotted(path + (name,))))
    for path, mapping in _secret_maps(tree):
        for name in mapping:
            if name.upper() in IAM_USER_KEYS:
                out.append(Diagnostic(mapping.key_locs.get(name) or Location(file),
                                      f"'{name}' passes IAM user keys to the container, even from a secret store; "
                                      "a dedicated IAM user's long-lived keys are refused. Grant the permissions to "
                                      "the ECS task role instead: the AWS SDKs pick up its temporary credentials "
                                      "automatically", dotted(path + (name,))))
    return out
