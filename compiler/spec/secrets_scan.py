"""Refuse secret values in specs: credentials belong in Secrets Manager or SSM, referenced by ARN.

The scan walks a loaded file (before merging, so each finding is reported once, at
the line that holds it) and never echoes the suspected secret back. It reads every scalar as
its text after YAML decoded it, whatever its tag (a `!!binary` value is scanned as the bytes it
decodes to), and every mapping key. CloudFormation dynamic references (`{{resolve:...}}`) are
refused anywhere: no field of a spec takes one, and wherever a value lands (tags, buildspecs,
PLAINTEXT variables, the update script) CloudFormation would put the referenced secret in plain text.
"""

from __future__ import annotations

from typing import Any, Iterator

from ..core.diagnostics import Diagnostic, Location, dotted
from ..core.secrets import IAM_USER_KEYS, dynamic_reference, secret_like_name, secret_value
from .yamlsrc import LDict, LList

# plain-value maps whose names are checked
PLAIN_MAPS = (("service", "environment"), ("build", "build_args"))
# where a secret-looking plain value belongs instead: the running container's secrets, or the build's
_SECRETS_HOME = {
    ("service", "environment"): "service.secrets as a Secrets Manager or SSM parameter ARN",
    ("build", "build_args"): "build.secrets as a Secrets Manager or SSM parameter reference (docker build reads "
                             "it as a BuildKit secret, which never enters the image)",
}


def _home(path: tuple) -> str:
    """Where a secret found at `path` belongs: build.secrets for a build arg, service.secrets for a
    container variable, either (said which is which) anywhere else."""
    section = tuple(path[-3:-1])
    if section == ("build", "build_args"):
        return "build.secrets"
    if section == ("service", "environment"):
        return "service.secrets"
    return "service.secrets (the running container) or build.secrets (the image build)"


RESOLVE_FIX = ("CloudFormation would resolve it into plain text where the value lands (resource tags, "
               "buildspecs, PLAINTEXT variables); reference the secret by ARN under service.secrets for the "
               "running container, or build.secrets for the image build")


def _walk(node: Any, path: tuple) -> Iterator[tuple[tuple, Any, Location | None]]:
    """(path, scalar, location) of every scalar below `node`; a mapping key is yielded as the scalar
    at its own path with the key's location, before its value."""
    if isinstance(node, LDict):
        for k, v in node.items():
            yield path + (k,), _Key(k), node.key_locs.get(k)
            yield from ((p, x, l or node.value_locs.get(k)) for p, x, l in _walk(v, path + (k,)))
    elif isinstance(node, LList):
        for i, v in enumerate(node):
            loc = node.item_locs[i] if i < len(node.item_locs) else None
            yield from ((p, x, l or loc) for p, x, l in _walk(v, path + (i,)))
    else:
        yield path, node, None


class _Key(str):
    """A mapping key met by the walk (reported as "the key ..." rather than "this value")."""


def _text(value: Any) -> str | None:
    """A scalar as the text a secret would be written in: bytes (a !!binary value) decoded."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    if value is None or isinstance(value, (list, dict)):
        return None
    return value if isinstance(value, str) else str(value)


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
        text = _text(value)
        if text is None:
            continue
        this = "this key" if isinstance(value, _Key) else "this value"
        what = secret_value(text)
        if what:
            out.append(Diagnostic(loc or Location(file), f"{this} looks like {what}; never put secrets in a spec: "
                                  "store it in Secrets Manager or SSM Parameter Store and reference its ARN under "
                                  f"{_home(path)}", dotted(path)))
        elif dynamic_reference(text):
            out.append(Diagnostic(loc or Location(file), f"{this} holds a CloudFormation dynamic reference "
                                  f"({{{{resolve:...}}}}); {RESOLVE_FIX}", dotted(path)))
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
                                      f"{_SECRETS_HOME[path[-2:]]}",
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
