"""Spec: from `services/*.yaml` to validated, frozen models, or every error at `file:line:col`.

YAML with positions (`yamlsrc`), layered merge (`merge`), the pydantic models and the JSON Schema
generated from them (`models`, `schema`), loading a project (`project`), the secret scan and
every spec-level check (`checks`, `stage_checks`, `fleet`), and the names of what shipspec
creates (`naming`). May import: `core`.
"""

import importlib.machinery
import sys
import types

_PLUGIN_LOADER = "pydantic.plugin._loader"


class _NoPlugins:
    """shipspec never runs third-party pydantic plugins: nothing installed beside it observes or
    changes how a spec is validated (PYDANTIC_DISABLE_PLUGINS=__all__ says the same to pydantic).
    pydantic finds plugins through importlib.metadata's entry points when it builds the first
    model; importing that and scanning every installed distribution cost each validating command
    about 12 ms. So, installed before any model exists (they all live in this package), this
    finder gives the import of pydantic's plugin loader a stand-in whose `get_plugins` finds none.
    It is an ordinary import (the parent package imported first, the module set on it); anything
    else asked of the stand-in (another pydantic) comes from the real module, which then keeps
    finding no plugins."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        return importlib.machinery.ModuleSpec(name, cls) if name == _PLUGIN_LOADER else None

    @staticmethod
    def create_module(spec):
        loader = types.ModuleType(spec.name, "shipspec: no pydantic plugins (compiler/spec/__init__.py)")
        loader.get_plugins = _none
        loader.__getattr__ = _from_the_real_loader
        return loader

    @staticmethod
    def exec_module(module) -> None:
        pass


def _none() -> tuple:
    return ()


def _from_the_real_loader(name: str):
    if name.startswith("__"):  # what the import system asks of any module (`__path__`, ...)
        raise AttributeError(name)
    import importlib

    if _NoPlugins in sys.meta_path:
        sys.meta_path.remove(_NoPlugins)
    sys.modules.pop(_PLUGIN_LOADER, None)
    real = importlib.import_module(_PLUGIN_LOADER)
    real.get_plugins = _none
    return getattr(real, name)


if _PLUGIN_LOADER not in sys.modules and _NoPlugins not in sys.meta_path:
    sys.meta_path.insert(0, _NoPlugins)
