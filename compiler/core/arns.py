"""ARNs, and references to secret values: the one parser every part uses.

`parse_arn` splits any ARN. `parse_secret_ref` reads what a spec, a task definition or a
CodeBuild variable writes to name a secret value: a Secrets Manager secret (its ARN, optionally
followed by `:json-key:version-stage:version-id`, or, where a secret id is allowed, its name) or
an SSM parameter (its ARN or its name). The reference says which kind it is, where it lives and
what each AWS API wants for it, so callers never split strings themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, Optional

ARN_RE = re.compile(r"^arn:(?P<partition>aws[a-z-]*):(?P<service>[a-z0-9-]+):(?P<region>[a-z0-9-]*):"
                    r"(?P<account>[0-9]{12}|aws|):(?P<resource>.+)$")
# A full secret ARN's name ends in the 6 characters AWS appends; IAM and KMS conditions need it.
SECRET_NAME_RE = re.compile(r"^[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$")
SECRET_ID_RE = re.compile(r"^[A-Za-z0-9/_+=.@-]+$")
PARAMETER_NAME_RE = re.compile(r"^/?[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$")
PARAMETER_PATH_RE = re.compile(r"^[A-Za-z0-9_.\-/]+$")

SecretKind = Literal["secret", "parameter"]


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def parse_arn(text: str) -> Optional[Arn]:
    m = ARN_RE.match(text)
    return Arn(**m.groupdict()) if m else None


@dataclass(frozen=True)
class SecretRef:
    """A secret or parameter reference, parsed."""

    kind: SecretKind
    text: str  # as written
    name: str  # secret name (with AWS's suffix, from a full ARN) or id; parameter name (`/a/b`, or `a`)
    arn: Optional[Arn] = None  # None for a secret id or a parameter name
    json_key: str = ""  # secrets: the JSON key after the ARN, if any
    qualified: bool = False  # secrets: the ARN is followed by :json-key[:version-stage[:version-id]]

    @property
    def region(self) -> str:
        return self.arn.region if self.arn else ""

    @property
    def account(self) -> str:
        return self.arn.account if self.arn else ""

    @property
    def full_secret_arn(self) -> bool:
        """A Secrets Manager ARN in a region and account, whose name carries AWS's 6-character
        suffix (what IAM and KMS conditions match)."""
        return self.kind == "secret" and self._located() and bool(SECRET_NAME_RE.match(self.name))

    @property
    def parameter(self) -> bool:
        """An SSM parameter name, or a parameter ARN in a region and account."""
        return self.kind == "parameter" and (self.arn is None or self._located() and bool(
            PARAMETER_PATH_RE.match(self.parameter_path)))

    def _located(self) -> bool:
        return self.arn is not None and bool(self.arn.region) and self.arn.account.isdigit()

    @property
    def secret_arn(self) -> str:
        """The secret's ARN without the :json-key:version-stage:version-id qualifiers."""
        return str(self.arn) if self.arn else self.name

    @property
    def parameter_path(self) -> str:
        """`media/db-url` for /media/db-url or its ARN (an ARN's resource drops the leading slash)."""
        return self.name.lstrip("/")

    def in_place(self, account: str, region: str) -> bool:
        """Whether the reference lives in this account and region (a name always does)."""
        return self.arn is None or (self.arn.account, self.arn.region) == (account, region)


def _parameter_name(path: str) -> str:
    """The name of the parameter an ARN's `parameter/<path>` names: `/a/b` for a path, `a` for a plain name."""
    return f"/{path}" if "/" in path else path


def parse_secret_ref(text: str, expect: Optional[SecretKind] = None) -> Optional[SecretRef]:
    """The reference `text` makes, or None when it is none (of the `expect`ed kind).

    An ARN says its kind. Without one, `text` is a parameter name, or with `expect="secret"` a
    secret id optionally followed by `:json-key:version-stage:version-id`."""
    arn = parse_arn(text)
    if arn is not None:
        if arn.service == "secretsmanager" and arn.resource.startswith("secret:") and expect != "parameter":
            name, *qualifiers = arn.resource[len("secret:"):].split(":")
            if not SECRET_ID_RE.match(name) or len(qualifiers) > 3:
                return None
            return SecretRef("secret", text, name, Arn(arn.partition, arn.service, arn.region, arn.account,
                                                       f"secret:{name}"),
                             qualifiers[0] if qualifiers else "", bool(qualifiers))
        if arn.service == "ssm" and arn.resource.startswith("parameter/") and expect != "secret":
            path = arn.resource[len("parameter/"):]
            return SecretRef("parameter", text, _parameter_name(path), arn) if path else None
        return None
    if text.startswith("arn:"):
        return None
    if expect == "secret":
        name, *qualifiers = text.split(":")
        if not SECRET_ID_RE.match(name) or len(qualifiers) > 3:
            return None
        return SecretRef("secret", text, name, None, qualifiers[0] if qualifiers else "", bool(qualifiers))
    if PARAMETER_NAME_RE.match(text):
        return SecretRef("parameter", text, text)
    return None
