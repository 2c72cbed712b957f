"""ARNs in a spec against the environment they are for: account and region.

A prod environment that forgets its override silently inherits the stg account's ARNs; every
ARN in a spec is therefore checked against its environment's account and region. Where AWS can
read a resource in another account (or region) on purpose, the entry may say so:
`{arn: ..., allow_cross_account: true}` for a value (models.CrossAccountArn), or
`allow_cross_account: true` on a stage policy statement. Where AWS cannot (a CodeBuild project
reads Parameter Store variables and secrets in its own region; a connection belongs to the
pipeline's account), a mismatch stays an error. Each finding is at the spec line of the ARN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Optional

from ..core.arns import Arn, parse_arn
from ..core.diagnostics import Diagnostic, Location, dotted
from ..core.iam_policy import as_list
from .yamlsrc import LDict

if TYPE_CHECKING:
    from .loaded import ServiceEnv
    from .models import PolicyStatement

# What a mismatch of account or region is: always an error, an error unless the entry allows it, or fine.
Rule = Literal["must", "may", "free"]
ALLOW_KEY = "allow_cross_account"
PSEUDO = {"${AWS::Partition}": "aws", "${AWS::URLSuffix}": "amazonaws.com"}


@dataclass(frozen=True)
class Place:
    """Where an ARN is read, and what AWS allows there."""

    account: Rule
    region: Rule
    why_account: str = ""  # for "must": why another account cannot work
    why_region: str = ""  # for "must": why another region cannot work


def entry(s: "ServiceEnv", path: tuple) -> Optional[LDict]:
    """The `{arn: ..., allow_cross_account: ...}` mapping at `path` in the merged spec, if written so."""
    node = _at(s, path)
    return node if isinstance(node, LDict) and "arn" in node else None


def allowed(s: "ServiceEnv", path: tuple) -> bool:
    """Whether the value at `path` is written as {arn: ..., allow_cross_account: true}."""
    e = entry(s, path)
    return bool(e is not None and e.get(ALLOW_KEY) is True)


def where(s: "ServiceEnv", path: tuple) -> Location:
    """The location of the ARN at `path` (its `arn:` value when written as a mapping)."""
    return s.where(*path, "arn") if entry(s, path) is not None else s.where(*path)


def _fix(kind: str, path: tuple, env: str, statement: bool) -> str:
    override = f"environments.{env}.{dotted(path)}" if path and path[0] != "stages" else f"environments.{env}.stages"
    if statement:
        return (f"use one in that {kind} (an override under {override} for this environment), or set "
                f"`{ALLOW_KEY}: true` on the statement if the other {kind} is intended")
    return (f"use one in that {kind} (an override under {override} for this environment), or write "
            f"`{{arn: ..., {ALLOW_KEY}: true}}` if the other {kind} is intended")


def mismatches(s: "ServiceEnv", path: tuple, arn: Arn, place: Place, allow: bool, statement: bool = False,
               loc: Optional[Location] = None) -> list[Diagnostic]:
    """The account and region findings for `arn`, read at `place`, written at `path`."""
    env = s.config.environment
    loc = loc or where(s, path)
    field = dotted(path)
    out = []
    checks = (("account", arn.account, env.account, place.account, place.why_account),
              ("region", arn.region, env.region, place.region, place.why_region))
    for kind, theirs, ours, rule, why in checks:
        if rule == "free" or not theirs or theirs == ours or (kind == "account" and not theirs.isdigit()):
            continue
        head = f"{kind} {theirs} in the ARN differs from environment '{env.name}' {kind} {ours}"
        if rule == "must":
            fix = why or f"use a resource in that {kind}"
            hint = f"{head}; {fix}" + (f" ({ALLOW_KEY} does not help: AWS cannot read it there)" if allow else "")
            out.append(Diagnostic(loc, hint, field))
        elif not allow:
            out.append(Diagnostic(loc, f"{head}; {_fix(kind, path, env.name, statement)}", field))
    return out


def check_arn(s: "ServiceEnv", path: tuple, value: str, services: tuple[str, ...], resource_prefix: str,
              place: Place, example: str) -> list[Diagnostic]:
    """A value that must be an ARN of one of `services`, in the place's account and region."""
    arn = parse_arn(value)
    if arn is None or arn.service not in services or not arn.resource.startswith(resource_prefix):
        return [Diagnostic(where(s, path), f"'{value}' is not a valid ARN here; expected e.g. {example}", dotted(path))]
    return mismatches(s, path, arn, place, allowed(s, path))


def _resolved(text: str, account: str, region: str) -> str:
    """A statement value with the pseudo parameters the renderer substitutes filled in."""
    for name, value in {**PSEUDO, "${AWS::AccountId}": account, "${AWS::Region}": region}.items():
        text = text.replace(name, value)
    return text


def check_statement(s: "ServiceEnv", path: tuple, statement: "PolicyStatement") -> list[Diagnostic]:
    """Resource ARNs of a stage action's policy statement naming a concrete account or region other
    than the environment's (wildcards and ${AWS::...} values are the environment's own)."""
    env = s.config.environment
    out: list[Diagnostic] = []
    many = isinstance(_at(s, path + ("Resource",)), list)
    for k, value in enumerate(as_list(statement.Resource)):
        arn = parse_arn(_resolved(value, env.account, env.region))
        if arn is None:
            continue
        rpath = path + ("Resource", k) if many else path + ("Resource",)
        out += mismatches(s, rpath, arn, Place("may", "may"), statement.allow_cross_account, statement=True,
                          loc=s.where(*rpath))
    return out


def _at(s: "ServiceEnv", path: tuple) -> object:
    node: object = s.tree
    for part in path:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return None
    return node
