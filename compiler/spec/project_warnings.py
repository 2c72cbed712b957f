"""Warnings about a project: things that work today but are probably not what was meant.

They are diagnostics with severity "warning": `validate` and `build` print them and still exit 0
(with errors, they are printed with the errors).

- Files under services/ that look like specs or defaults but are never read: `_defaults.yml`,
  `_Defaults.yaml` (only `services/_defaults.yaml` holds the defaults), `x.YAML` (specs end in
  lowercase .yaml or .yml), specs in subfolders (only services/ itself is read).
- `provider: github-token`: GitHub version 1 source actions (an OAuth token) are no longer
  recommended by AWS; the README's "Migrating from github-token" gives the steps to a CodeConnections
  connection (`provider: codestar`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from ..core.diagnostics import Diagnostic, Location, dotted

if TYPE_CHECKING:
    from .loaded import ServiceEnv

DEFAULTS_FILE = "_defaults.yaml"  # the one defaults file (spec/project.py reads it)
SPEC_SUFFIXES = (".yaml", ".yml")
MIGRATION = "README: \"Migrating from github-token\""


def ignored_files(root: Path) -> list[Diagnostic]:
    """A warning for each file under services/ that looks like a spec or the defaults but is not read.
    Listed as plain strings (a no-op build runs this; Paths for hundreds of specs were slow), in the
    order of their Paths."""
    services = os.path.join(root, "services")
    if not os.path.isdir(services):
        return []
    found = []
    for dirpath, _dirs, names in os.walk(services):
        under = "services" + dirpath[len(services):].replace(os.sep, "/")
        for name in names:
            suffix = os.path.splitext(name)[1]
            if suffix.lower() in SPEC_SUFFIXES and os.path.isfile(os.path.join(dirpath, name)):
                found.append((f"{under}/{name}", suffix))
    out = []
    for rel, suffix in sorted(found, key=lambda f: f[0].split("/")):
        name = rel.rsplit("/", 1)[1]
        stem = name[:-len(suffix)]
        where = Location(rel)
        if rel.count("/") > 1:
            out.append(Diagnostic(where, f"ignored: specs are read only from services/ itself, not from "
                                  f"subfolders; move it to services/{name}", severity="warning"))
        elif name != DEFAULTS_FILE and stem.lower().lstrip("_") == "defaults" and name.startswith("_"):
            out.append(Diagnostic(where, f"ignored: the defaults are read only from services/{DEFAULTS_FILE} "
                                  f"(exactly that name); rename {name} to {DEFAULTS_FILE}", severity="warning"))
        elif suffix not in SPEC_SUFFIXES and not name.startswith("_"):
            out.append(Diagnostic(where, f"ignored: spec files end in lowercase .yaml or .yml; rename it to "
                                  f"{stem}{suffix.lower()}", severity="warning"))
    return out


def deprecations(services: Iterable["ServiceEnv"]) -> list[Diagnostic]:
    """A warning at each `provider: github-token` a spec uses (once per line, whatever the environments)."""
    out = []
    for s in services:
        sources = [(("source",), s.config.source)] + [
            (("source", "additional", i), a) for i, a in enumerate(s.config.source.additional)]
        for path, src in sources:
            if src.provider == "github-token":
                out.append(Diagnostic(
                    s.where(*path, "provider"),
                    "provider github-token is deprecated: it makes a GitHub version 1 source action (an OAuth "
                    "token), which AWS no longer recommends; move to provider codestar with a CodeConnections "
                    f"connection ({MIGRATION})", dotted(path + ("provider",)), severity="warning"))
    return out


def with_warnings(s: "ServiceEnv") -> "ServiceEnv":
    """The service environment carrying its warnings (computed once, when the spec is validated)."""
    return dataclasses.replace(s, warnings=tuple(deprecations([s])))
