"""A loaded project: each (service, environment) as a validated model plus where every value came
from. What the spec part hands to every later part (frozen)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..core.diagnostics import Diagnostic, Location
from .merge import locate
from .models import ServiceConfig
from .yamlsrc import LDict


@dataclass(frozen=True)
class ServiceEnv:
    """One service in one environment: the validated model and where its values came from."""

    config: ServiceConfig
    located: "LDict | Callable[[], LDict]"  # the tree, or (config from the cache) a function loading it
    file: str
    warnings: tuple[Diagnostic, ...] = ()  # what validation advises (spec/project_warnings.py), never fatal

    @functools.cached_property
    def tree(self) -> LDict:
        """The merged tree with the location of every value."""
        return self.located() if callable(self.located) else self.located

    @property
    def key(self) -> tuple[str, str]:
        return (self.config.name, self.config.environment.name)

    def where(self, *path: Any, key: bool = False) -> Location:
        return locate(self.tree, tuple(path), key=key) or Location(self.file)


@dataclass(frozen=True)
class Project:
    root: Path
    services: tuple[ServiceEnv, ...]
    spec_files: tuple[str, ...]
    warnings: tuple[Diagnostic, ...] = ()  # severity "warning": printed, never fatal (project_warnings)

    def names(self) -> list[str]:
        return sorted({s.config.name for s in self.services})
