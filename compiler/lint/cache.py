"""`lint_output` with findings cached per template and per buildspec (.shipspec/cache/lint/).

A template's findings depend on its path, text and region, on the files generated beside it
(rules read sibling buildspecs), on our rules and runner (the compiler fingerprint covers all
of compiler/) and on cfn-lint's version; the key is the hash of all of those. A buildspec's
findings depend on its path and text and the compiler. So after a one-spec change only that
service's templates go to cfn-lint. A template that hit the time limit is never cached.
Entries hold the finished diagnostics (positions included) and the suppression count.
"""

from __future__ import annotations

import functools
from pathlib import Path

from ..build import cache
from ..build.ir import BuildOutput
from ..core.diagnostics import Diagnostic, Location
from .engine import LintReport, Scope, Template, alongside, buildspecs_of, finish, templates_of

NAMESPACE = "lint"
TIMEOUT_CODE = "SS900"  # compiler.lint.cfnlint_runner.TIMEOUT_CODE, without importing cfn-lint


@functools.lru_cache(maxsize=1)
def cfn_lint_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("cfn-lint")
    except metadata.PackageNotFoundError:
        return "absent"


def by_directory(files: dict[str, bytes]) -> dict[str, list[str]]:
    """Every directory of `files` -> the paths under it (subdirectories included), sorted."""
    out: dict[str, list[str]] = {}
    for path in sorted(files):
        parts = path.split("/")
        for i in range(1, len(parts)):
            out.setdefault("/".join(parts[:i]), []).append(path)
    return out


def template_key(t: Template, files: dict[str, bytes], under: dict[str, list[str]]) -> str:
    """Hash of what the template's findings depend on (`under` from `by_directory(files)`)."""
    beside = [p for p in under.get(t.path.rsplit("/", 1)[0], ()) if p != t.path]
    parts: list[bytes | str] = ["template", cache.compiler_fingerprint(), cfn_lint_version(), t.path, t.region, t.text]
    for path in beside:
        parts += [path, files[path]]
    return cache.key(*parts)


def _dump(diags: list[Diagnostic]) -> list[list]:
    return [[d.location.file, d.location.line, d.location.col, d.message, d.path, d.severity, d.code] for d in diags]


def _load(rows: list) -> list[Diagnostic]:
    return [Diagnostic(Location(f, int(line), int(col)), msg, path, sev, code)
            for f, line, col, msg, path, sev, code in rows]


def lint_output_cached(output: BuildOutput, root: Path | None, jobs: int | None = None,
                       timeout: float | None = None, store: cache.Store | None = None,
                       scope: Scope | None = None) -> LintReport:
    """The same report as `engine.lint_output`; with `root`, unchanged templates are not linted again."""
    if root is None or cache.disabled_by_env():
        from .engine import lint_output

        return lint_output(output, jobs=jobs, timeout=timeout, scope=scope)
    store = store or cache.Store(root, NAMESPACE)
    templates = templates_of(output, scope)
    files = {a.path: a.content for a in output.artifacts}
    store.limit = max(store.limit, 4 * (len(templates) + len(files)))
    diags: list[Diagnostic] = []
    honoured = 0
    todo: list[tuple[Template, str]] = []
    under = by_directory(files)
    for t in templates:
        k = template_key(t, files, under)
        entry = _entry(store.get(k))
        if entry is None:
            todo.append((t, k))
        else:
            diags += entry[0]
            honoured += entry[1]
    loads: set[tuple[int, int]] = set()
    if todo:
        from .cfnlint_runner import DEFAULT_TIMEOUT, CfnTask, Pool, lint_templates
        from .registry import all_rules

        limit = timeout or DEFAULT_TIMEOUT
        pool = Pool(timeout=limit) if jobs is None else Pool(jobs=jobs, timeout=limit)
        results, checked = alongside([t for t, _ in todo], files, all_rules(), lambda: lint_templates(
            [CfnTask(t.path, t.text, t.region) for t, _ in todo], pool))
        for (t, k), c, res in zip(todo, checked, results):
            found, n = finish(c, res.issues)
            diags += found
            honoured += n
            loads.add((res.pid, res.rule_loads))
            if not any(i.code == TIMEOUT_CODE for i in res.issues):
                store.put(k, {"diagnostics": _dump(found), "honoured": n})
    specs = buildspecs_of(output, scope)
    for path, text in specs:
        diags += _buildspec(store, path, text)
    store.prune()
    return LintReport(tuple(sorted(set(diags))), len(templates), len(specs), honoured, tuple(sorted(loads)))


def _entry(value) -> tuple[list[Diagnostic], int] | None:
    try:
        return _load(value["diagnostics"]), int(value["honoured"])
    except (TypeError, KeyError, ValueError):
        return None


def _buildspec(store: cache.Store, path: str, text: str) -> list[Diagnostic]:
    from .buildspec_check import check_buildspec

    k = cache.key("buildspec", cache.compiler_fingerprint(), path, text)
    value = store.get(k)
    try:
        return _load(value)
    except (TypeError, ValueError):
        pass
    found = check_buildspec(text, path)
    store.put(k, _dump(found))
    return found
