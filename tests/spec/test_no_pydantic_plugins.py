"""shipspec never runs third-party pydantic plugins (compiler/spec/__init__.py): a plugin installed
beside it is not loaded when specs are validated, while plain pydantic in the same environment
does load it (so the test can fail), and validation works as before."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support.cli import REPO


@pytest.fixture
def plugin(tmp_path) -> tuple[dict[str, str], Path]:
    """A distribution declaring a `pydantic` entry point whose module leaves a mark when loaded."""
    site = tmp_path / "site"
    info = site / "markplugin-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: markplugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[pydantic]\nmark = markplugin_mod:plugin\n")
    (site / "markplugin_mod.py").write_text(
        "import os\nopen(os.environ['PLUGIN_MARK'], 'a').write('loaded\\n')\n"
        "class _Plugin:\n    def new_schema_validator(self, *args, **kwargs):\n        return None, None, None\n"
        "plugin = _Plugin()\n")
    mark = tmp_path / "mark"
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "PYDANTIC_DISABLE_PLUGINS")}
    env.update(PYTHONPATH=os.pathsep.join([str(site), str(REPO)]), PLUGIN_MARK=str(mark))
    return env, mark


def test_plain_pydantic_loads_the_plugin(plugin):
    env, mark = plugin
    code = "import pydantic\nclass M(pydantic.BaseModel):\n    x: int\nprint(M(x=1).x)\n"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert mark.read_text() == "loaded\n"


def test_validating_specs_does_not(plugin, tmp_path):
    env, mark = plugin
    repo = tmp_path / "repo"
    shutil.copytree(REPO / "services", repo / "services")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "compiler", "--root", str(repo), "validate"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "compiler.spec.models" in proc.stderr  # the models were built
    assert not mark.exists()
    assert "| importlib.metadata" not in proc.stderr  # nor were entry points looked for


def test_the_loader_still_answers_what_else_pydantic_may_ask(plugin):
    env, mark = plugin
    code = ("import compiler.spec.models\nimport pydantic.plugin._loader as loader\n"
            "print(loader.get_plugins() == (), loader.PYDANTIC_ENTRY_POINT_GROUP)\n")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "pydantic"]
    assert not mark.exists()


def test_the_loader_imports_like_any_module_before_pydantic_is_loaded(plugin):
    env, mark = plugin
    code = ("import sys\nimport compiler.spec\nassert 'pydantic' not in sys.modules\n"
            "import pydantic.plugin._loader as loader\nimport pydantic.plugin\n"
            "print(pydantic.plugin._loader is loader, loader.get_plugins() == ())\n"
            "print(loader.PYDANTIC_ENTRY_POINT_GROUP, sys.modules['pydantic.plugin._loader'].get_plugins() == ())\n"
            "import compiler.spec.models\n")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "True", "pydantic", "True"]
    assert not mark.exists()
