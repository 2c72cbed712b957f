"""Secret environment variables of a CodeBuild project: a stage action's `secrets` and the Build
project's `build.secrets`. Which variable type each reference becomes (`secret_kind`, shared with
the renderers) and the checks of the references, at the spec's line."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from ..core.arns import parse_secret_ref
from ..core.diagnostics import Diagnostic, dotted
from . import arn_checks

if TYPE_CHECKING:
    from .loaded import ServiceEnv

# CodeBuild reads both kinds in its own region, and Parameter Store variables by name in its own
# account; a secret in another account can be read by its full ARN when its policy allows.
SECRETS_MANAGER = arn_checks.Place("may", "must", why_region="CodeBuild reads secrets in its own region")
PARAMETER_STORE = arn_checks.Place(
    "must", "must", why_account="CodeBuild reads Parameter Store variables by name in its own account",
    why_region="CodeBuild reads secrets in its own region")  # as worded before: the golden cases keep them


def secret_kind(value: str) -> str | None:
    """SECRETS_MANAGER, PARAMETER_STORE, or None for a value that is neither (the checks report it)."""
    ref = parse_secret_ref(value)
    if ref is not None and ref.full_secret_arn:
        return "SECRETS_MANAGER"
    if ref is not None and ref.parameter:
        return "PARAMETER_STORE"
    return None


def reserved(name: str, names: tuple[str, ...]) -> bool:
    """Whether `name` is one the project sets itself: `names` or CODEBUILD_*."""
    return name in names or name.startswith("CODEBUILD_")


def check_secrets(s: "ServiceEnv", path: tuple, secrets: Mapping[str, str], names: tuple[str, ...],
                  plain: Mapping[str, str] = {}, plain_field: str = "") -> list[Diagnostic]:
    """The `secrets` map at `path`: names not reserved (`names`, CODEBUILD_*) nor also plain
    (in `plain`, the map at `plain_field`), references CodeBuild can read, in the right account and region."""
    out: list[Diagnostic] = []
    for name, value in secrets.items():
        vpath = path + (name,)
        if reserved(name, names):
            out.append(Diagnostic(s.where(*vpath, key=True), f"'{name}' is reserved (the project sets "
                                  f"{', '.join(names)}; CodeBuild sets CODEBUILD_*); choose another name",
                                  dotted(vpath)))
        elif name in plain:
            out.append(Diagnostic(s.where(*vpath, key=True), f"'{name}' is also under {plain_field}; keep one",
                                  dotted(vpath)))
        kind = secret_kind(value)
        if kind is None:
            if value.startswith("arn:") and ":secretsmanager:" in value:
                msg = ("is not a full Secrets Manager secret ARN; use the ARN with its 6-character suffix "
                       "(arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf), optionally followed by "
                       ":<json-key>: the role's read access and decrypt condition name that exact secret")
            else:
                msg = ("is neither a Secrets Manager secret ARN nor an SSM parameter ARN or name; use "
                       "arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf or /path/to/parameter")
            out.append(Diagnostic(arn_checks.where(s, vpath), f"'{value}' {msg}", dotted(vpath)))
            continue
        ref = parse_secret_ref(value)
        if ref is not None and ref.arn is not None:
            place = SECRETS_MANAGER if kind == "SECRETS_MANAGER" else PARAMETER_STORE
            out += arn_checks.mismatches(s, vpath, ref.arn, place, arn_checks.allowed(s, vpath))
    return out
