"""AWS's character rules for the names shipspec writes into ARNs, IAM policies and scripts.

A spec names existing things (an ECS cluster and service, a secret, a bucket and object, a
repository, a connection, a topic, a key); the renderers put those names into resource ARNs of
least-privilege statements (`service/<cluster>/<service>`, `secret:<name>-??????`,
`arn:aws:s3:::<bucket>/<key>`) and into the update script. IAM reads `*` and `?` in an ARN as
wildcards, so a name holding one would grant access to every matching resource: each rule here
admits exactly the characters AWS allows in that name, which never include a wildcard, `$`
(CloudFormation's `${...}` substitution), whitespace or a control character.

`name_problem(rule, value)` says what is wrong with a value (None when it is valid); the spec's
checks report it at the field (`compiler/spec/name_checks.py`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from .arns import parse_arn

WILDCARDS = ("*", "?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class NameRule:
    what: str  # "ECS cluster name"
    pattern: re.Pattern
    allowed: str  # the rule in words, for the message


ECS_CLUSTER = NameRule("ECS cluster name", re.compile(r"^[A-Za-z0-9_-]{1,255}$"),
                       "1 to 255 letters, digits, hyphens and underscores")
ECS_SERVICE = NameRule("ECS service name", re.compile(r"^[A-Za-z0-9_-]{1,255}$"),
                       "1 to 255 letters, digits, hyphens and underscores")
ECS_CONTAINER = NameRule("container name", re.compile(r"^[A-Za-z0-9_-]{1,255}$"),
                         "1 to 255 letters, digits, hyphens and underscores")
SECRET_NAME = NameRule("Secrets Manager secret name", re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$"),
                       "1 to 512 letters, digits and / _ + = . @ -")
SECRET_JSON_KEY = NameRule("JSON key of a secret", re.compile(r"^[A-Za-z0-9_.@/+=-]{1,256}$"),
                           "1 to 256 letters, digits and _ . @ / + = -")
S3_BUCKET = NameRule("S3 bucket name", re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"),
                     "3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter "
                     "or digit, no '..', not an IP address")
S3_KEY = NameRule("S3 object key", re.compile(r"^[^*?$\s\x00-\x1f\x7f]{1,1024}$"),
                  "1 to 1024 characters without '*', '?', '$' or whitespace")
SNS_TOPIC = NameRule("SNS topic name", re.compile(r"^[A-Za-z0-9_-]{1,256}(\.fifo)?$"),
                     "1 to 256 letters, digits, hyphens and underscores (.fifo at the end for a FIFO topic)")
CONNECTION_ID = NameRule("connection id", re.compile(r"^[A-Za-z0-9-]{1,64}$"), "letters, digits and hyphens")
KMS_KEY_ID = NameRule("KMS key id", re.compile(r"^(mrk-)?[A-Za-z0-9-]{1,64}$"),
                      "the key's id (a UUID, or mrk-... for a multi-Region key); not an alias")


def control_character(value: str) -> bool:
    """Whether `value` holds a newline or another control character."""
    return bool(_CONTROL.search(value))


def name_problem(rule: NameRule, value: str) -> str | None:
    """What is wrong with `value` as a `rule.what`, or None when AWS accepts it."""
    if rule.pattern.match(value) and not (rule is S3_BUCKET and _bad_bucket(value)):
        return None
    return f"{_show(value)} is not a valid {rule.what}: {rule.allowed}{_why(value)}"


def secret_id_problem(value: str) -> str | None:
    """A Secrets Manager secret given by name or by ARN (optionally partial: without the suffix)."""
    if not value.startswith("arn:"):
        return name_problem(SECRET_NAME, value)
    arn = parse_arn(value)
    name = arn.resource[len("secret:"):] if arn and arn.service == "secretsmanager" and \
        arn.resource.startswith("secret:") else None
    if arn is None or name is None or not arn.region or not arn.account.isdigit():
        return (f"{_show(value)} is not a Secrets Manager secret ARN "
                "(arn:aws:secretsmanager:<region>:<account>:secret:<name>)")
    problem = name_problem(SECRET_NAME, name)
    return f"the secret name in the ARN: {problem}" if problem else None


def connection_arn_problem(value: str) -> str | None:
    arn = parse_arn(value)
    if arn is None or not arn.resource.startswith("connection/"):
        return None  # the shape is checked where the ARN is read (compiler/spec/checks.py)
    problem = name_problem(CONNECTION_ID, arn.resource[len("connection/"):])
    return f"the connection id in the ARN: {problem}" if problem else None


def kms_key_arn_problem(value: str) -> str | None:
    arn = parse_arn(value)
    if arn is None or arn.service != "kms" or not arn.resource.startswith("key/") or not arn.region \
            or not arn.account.isdigit():
        return (f"{_show(value)} is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>; IAM "
                "authorises kms:Decrypt on the key's ARN, never on an alias)")
    problem = name_problem(KMS_KEY_ID, arn.resource[len("key/"):])
    return f"the key id in the ARN: {problem}" if problem else None


def topic_arn_problem(value: str) -> str | None:
    arn = parse_arn(value)
    if arn is None or arn.service != "sns":
        return None  # the shape is checked where the ARN is read
    problem = name_problem(SNS_TOPIC, arn.resource)
    return f"the topic name in the ARN: {problem}" if problem else None


def _bad_bucket(value: str) -> bool:
    if ".." in value or ".-" in value or "-." in value:
        return True
    try:
        ipaddress.IPv4Address(value)
        return True
    except ValueError:
        return False


def _why(value: str) -> str:
    found = [w for w in WILDCARDS if w in value]
    if found:
        return (f"; IAM reads {' and '.join(repr(w) for w in found)} in an ARN as a wildcard, so the policy would "
                "grant access to every matching resource: name the one resource")
    if control_character(value):
        return "; it holds a newline or another control character"
    return ""


def _show(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
