"""Spec: from `services/*.yaml` to validated, frozen models, or every error at `file:line:col`.

YAML with positions (`yamlsrc`), layered merge (`merge`), the pydantic models and the JSON Schema
generated from them (`models`, `schema`), loading a project (`project`), the secret scan and
every spec-level check (`checks`, `stage_checks`, `fleet`), and the names of what shipspec
creates (`naming`). May import: `core`.
"""

import sys
import types

_PLUGIN_LOADER = "pydantic.plugin._loader"


def _without_pydantic_plugins() -> None:
    """shipspec never runs third-party pydantic plugins: nothing installed beside it observes or
    changes how a spec is validated (PYDANTIC_DISABLE_PLUGINS=__all__ says the same to pydantic).
    pydantic finds plugins through importlib.metadata's entry points when it builds the first
    model; importing that and scanning every installed distribution cost each validating command
    about 12 ms. So before any model exists (they all live in this package), this stands in for
    pydantic's plugin loader: no plugins. Anything else asked of the loader (another pydantic)
    is given by the real module."""
    if _PLUGIN_LOADER in sys.modules:
        return
    loader = types.ModuleType(_PLUGIN_LOADER, "shipspec: no pydantic plugins (compiler/spec/__init__.py)")
    loader.get_plugins = lambda: ()

    def real(name: str):
        import importlib

        if name.startswith("__"):  # what the import system asks of any module (`__path__`, ...)
            raise AttributeError(name)
        if sys.modules.get(_PLUGIN_LOADER) is loader:
            del sys.modules[_PLUGIN_LOADER]
        return getattr(importlib.import_module(_PLUGIN_LOADER), name)

    loader.__getattr__ = real
    sys.modules[_PLUGIN_LOADER] = loader


_without_pydantic_plugins()
