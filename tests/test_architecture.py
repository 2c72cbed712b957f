"""The one-way flow of `compiler/`, enforced: each part imports only the parts before it, boto3
only at the AWS edges, and no two modules import each other, however indirectly.

Every import counts (module level, inside functions, under TYPE_CHECKING): a lazy import is
still a dependency. Failures name the importing file and line."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "compiler"
# Each part may import itself and the parts before it (the README's "Architecture" section).
ORDER = ("core", "spec", "build", "lint", "deploy", "adopt", "ops", "local", "cli")
AWS_EDGES = ("deploy", "adopt", "ops", "local")
SHIPPED = ("assets",)  # files shipped to AWS as they are (the Lambda); never imported by the compiler


def _modules(package: Path) -> dict[str, Path]:
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[1] not in SHIPPED:
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(name: str, path: Path, known: dict) -> list[tuple[int, str]]:
    """(line, module) of every import; `from x import y` names module x.y when y is one."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = name.split(".")[: len(name.split(".")) - node.level + (path.name == "__init__.py")]
            mod = ".".join(base + [node.module or ""]).strip(".") if node.level else node.module or ""
            out += [(node.lineno, f"{mod}.{a.name}" if f"{mod}.{a.name}" in known else mod) for a in node.names]
    return out


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ORDER) else ""


def violations(package: Path) -> list[str]:
    known = _modules(package)
    top = package.name
    problems, graph = [], {}
    for name, path in known.items():
        where = path.relative_to(package.parent).as_posix()
        graph[name] = {}
        for line, target in _imports(name, path, known):
            root = target.split(".")[0]
            if root in ("boto3", "botocore") and _part(name) not in AWS_EDGES:
                problems.append(f"{where}:{line}: imports {root}; only {', '.join(AWS_EDGES)} talk to AWS")
            if root != top or target == name:
                continue
            mine, theirs = _part(name), _part(target)
            if mine in ORDER and theirs in ORDER and ORDER.index(theirs) > ORDER.index(mine):
                problems.append(f"{where}:{line}: {mine} imports {target} ({theirs} comes later in the flow)")
            if target in known:
                graph[name].setdefault(target, line)
    return problems + [f"import cycle: {cycle}" for cycle in _cycles(graph, known, package)]


def _cycles(graph: dict[str, dict[str, int]], known: dict, package: Path) -> list[str]:
    """Each strongly connected set of modules, shown as one loop through it with file:line."""
    index, low, stack, out = {}, {}, [], []

    def visit(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            members = {stack.pop()}
            while v not in members:
                members.add(stack.pop())
            if len(members) > 1:
                out.append(_loop(sorted(members)[0], members, graph, known, package))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _loop(start: str, members: set, graph: dict, known: dict, package: Path) -> str:
    """The shortest way from `start` back to itself (breadth first), one import per step."""
    came: dict[str, str] = {}
    frontier = [start]
    while start not in came:
        frontier = [came.setdefault(w, v) and w for v in frontier for w in sorted(graph[v])
                    if w in members and w not in came]
    steps, w = [], start
    while not steps or w != start:
        v = came[w]
        steps.append(f"{known[v].relative_to(package.parent).as_posix()}:{graph[v][w]} -> {w}")
        w = v
    return "; ".join(reversed(steps))


def test_the_compiler_follows_the_flow():
    assert violations(PACKAGE) == []


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / "compiler" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for d in {p.parent for p in (tmp_path / "compiler").rglob("*.py")}:
        (d / "__init__.py").touch()
    return tmp_path / "compiler"


def test_a_back_edge_is_named_with_its_file_and_line(tmp_path):
    # render code importing lint (render/stages.py once imported lint.pipeline_rules)
    package = _package(tmp_path, {"build/render/stages.py": "import os\nfrom ...lint.pipeline_rules import X\n",
                                  "lint/pipeline_rules.py": "X = 1\n"})
    assert violations(package) == ["compiler/build/render/stages.py:2: build imports "
                                   "compiler.lint.pipeline_rules (lint comes later in the flow)"]


def test_a_cycle_is_named_even_through_lazy_imports(tmp_path):
    # the 4-file cycle build -> render/pipeline -> ops/agent_config -> build.service_tags, as it was
    package = _package(tmp_path, {
        "build/compile.py": "def f():\n    from .render import pipeline\n",
        "build/render/pipeline.py": "from . import agent_config\n",
        "build/render/agent_config.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                        "    from ..compile import service_tags\n"})
    assert violations(package) == ["import cycle: compiler/build/compile.py:2 -> compiler.build.render.pipeline; "
                                   "compiler/build/render/pipeline.py:1 -> compiler.build.render.agent_config; "
                                   "compiler/build/render/agent_config.py:3 -> compiler.build.compile"]


def test_boto3_outside_the_aws_edges_is_refused(tmp_path):
    package = _package(tmp_path, {"spec/models.py": "import boto3\n", "ops/status.py": "import botocore\n"})
    assert violations(package) == ["compiler/spec/models.py:1: imports boto3; only deploy, adopt, ops, local talk "
                                   "to AWS"]
