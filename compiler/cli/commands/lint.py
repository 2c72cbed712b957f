"""Lint what `shipspec build` would write (built in memory, not read from generated/):
cfn-lint with every check (errors, warnings and informational) and shipspec's security and
pipeline rules (docs/security.md) on every template, and the structural check on every
buildspec. Each finding prints as generated/<path>:line:col; any finding exits 1.

With --changed-since REF only the templates of the (service, environment) pairs a change affects
are linted -- the selection of `shipspec affected` and `plan --changed-since` -- and every
template when the compiler, the lint rules, the schema, `_defaults.yaml` or constraints.txt
changed (the summary says which)."""

from __future__ import annotations

import argparse
import os

from ._common import add_diag_format, add_names

HELP = "lint the generated templates and buildspecs (cfn-lint + shipspec rules)"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def configure(p) -> None:
    add_names(p)
    add_diag_format(p)
    p.add_argument("--jobs", "-j", type=_positive_int, default=None, metavar="N",
                   help="cfn-lint worker processes (default: the number of CPUs)")
    p.add_argument("--timeout", type=_positive_float, default=None, metavar="SECONDS",
                   help="time limit per template for cfn-lint (default: 60); a template over it is a finding")
    p.add_argument("--no-cache", action="store_true",
                   help="lint every template again, ignoring .shipspec/cache/ (same findings)")
    p.add_argument("--changed-since", metavar="REF",
                   help="only the pairs changed since the merge base of REF and HEAD (as `affected`); "
                        "everything when the compiler, lint rules, schema or _defaults.yaml changed")


def run(args, console) -> int:
    from ...build.compile import compile_project
    from ...build.incremental import Session
    from ...lint.cache import lint_output_cached
    from ..main import diagnostics_format
    from ..report_lint import findings_text, summary

    names, scope = list(args.names), None
    if args.changed_since:
        if _cold(console.root, args.no_cache):
            # A fresh runner: the changed templates go to cfn-lint. Its pool's forkserver imports
            # cfn-lint now, on another core, while the selection is worked out.
            from ...lint.cfnlint_runner import prestart

            prestart()
        names, scope = _changed(args, console)
        if names is None:
            return 0
    # Cached (compiler/build/incremental.py, compiler/lint/cache.py): unchanged specs are not validated,
    # rendered or linted again; --no-cache gives the same findings the slow way.
    session = Session.open(console.root, enabled=not args.no_cache, will_render=True)
    project = session.load_project(names)
    output = compile_project(project)
    session.save()
    report = lint_output_cached(output, console.root if session.enabled else None, jobs=args.jobs,
                                timeout=args.timeout, scope=scope)
    text = findings_text(report, diagnostics_format(args))
    if text:
        console.print(text)
    console.error(summary(report))
    return 1 if report.diagnostics else 0


def _cold(root, no_cache: bool) -> bool:
    """No lint findings cached here (a fresh CI runner, or --no-cache): cfn-lint will be needed."""
    from ...build.cache import CACHE_DIR, disabled_by_env
    from ...lint.cache import NAMESPACE

    if no_cache or disabled_by_env():
        return True
    try:
        with os.scandir(root / CACHE_DIR / NAMESPACE) as entries:
            return not any(e.name.endswith(".json") for e in entries)
    except OSError:
        return True


def _changed(args, console):
    """(names to load, lint Scope) for --changed-since; (None, None) when nothing is to be linted.
    The selection is compiler/deploy/affected.py's; lint is handed the pairs (it imports no deploy)."""
    from ...deploy.affected import affected, lint_selection
    from ...lint.engine import Scope

    sel = lint_selection(affected(console.root, args.changed_since))
    where = f"since {args.changed_since} (merge base {sel.base[:12]})"
    if sel.everything:
        console.error(f"lint: every template, {where}: " + "; ".join(sel.causes))
        return list(args.names), None
    pairs = [p for p in sel.pairs if not args.names or p[0] in args.names]
    bootstrap = [] if args.names else list(sel.bootstrap)
    if not pairs and not bootstrap:
        console.error(f"lint: nothing to lint: no service's output changed {where}")
        return None, None
    n = len(pairs)
    console.error(f"lint: {n} affected pair{'s' if n != 1 else ''}"
                  + (f" and {len(bootstrap)} bootstrap stack(s)" if bootstrap else "") + f" {where}")
    # Bootstrap templates are rendered from every spec; a pair's templates from its own spec.
    names = [] if bootstrap else sorted({s for s, _ in pairs})
    return names, Scope.of(pairs, bootstrap)
