"""cfn-lint in-process, one rule collection per process, on a process pool.

`cfnlint.api.lint(text)` builds a new Runner (and loads its ~330 rules) on every call, which
costs most of a second. `CfnLinter` loads the rules once (`cfnlint.runner.Runner(config).rules`)
and then lints each template with `run_template_by_data(template, config, rules)` under a fresh
per-template config (the region differs between templates and cfn-lint stores template
settings on the config). Every rule is mandatory (E, W and I): a template cannot switch checks
off through cfn-lint directives; exceptions go through shipspec suppressions with a reason.

`lint_templates` runs in-process for one or two templates, otherwise on a
ProcessPoolExecutor whose initializer builds one `CfnLinter` per worker. Each template gets a
time limit (SIGALRM in the worker); a template over it is reported as a finding, and a worker
that stops answering is killed rather than waited for, and every worker dies with the process
that started the pool (compiler/build/lifeline.py). Nothing imports cfn-lint until this
module's functions run.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Sequence

CHECKS = ["E", "W", "I"]
TIMEOUT_CODE = "SS900"  # not a rule: a template cfn-lint could not finish (reported, never suppressible)
DEFAULT_TIMEOUT = 60.0
RULE_LOADS = 0  # how many times this process loaded the cfn-lint rules (tests assert reuse)


@dataclass(frozen=True)
class CfnIssue:
    code: str
    severity: str  # error, warning, informational
    line: int
    col: int
    path: tuple
    message: str


@dataclass(frozen=True)
class CfnTask:
    path: str  # repository-relative path of the generated template
    text: str
    region: str


@dataclass(frozen=True)
class CfnResult:
    path: str
    issues: tuple[CfnIssue, ...] = ()
    pid: int = 0
    rule_loads: int = 0  # RULE_LOADS of the process that linted it, after linting
    seconds: float = 0.0


class TemplateTimeout(BaseException):
    """Raised by the alarm. A BaseException: cfn-lint turns an Exception inside a rule into a finding
    and carries on, which would defeat the time limit."""


class CfnLinter:
    """cfn-lint's rules loaded once; `lint` runs them on one template text."""

    def __init__(self) -> None:
        global RULE_LOADS
        from cfnlint.runner import Runner

        self._rules = Runner(self._config("us-east-1")).rules
        RULE_LOADS += 1

    @staticmethod
    def _config(region: str):
        """All checks, mandatory, in `region`; no .cfnlintrc from the home or working directory."""
        from cfnlint.config import ConfigMixIn

        return ConfigMixIn(["--config-file", os.devnull], regions=[region], include_checks=CHECKS,
                           mandatory_checks=CHECKS)

    def lint(self, text: str, region: str) -> list[CfnIssue]:
        from cfnlint.decode.decode import decode_str
        from cfnlint.runner import run_template_by_data

        template, errors = decode_str(text)
        matches = list(errors or [])
        if not matches and template is not None:
            matches = list(run_template_by_data(template, self._config(region), self._rules))
        return [_issue(m) for m in matches]


def _issue(match: Any) -> CfnIssue:
    # Plain str/int copies: cfn-lint's values are node subclasses that do not pickle across processes.
    path = tuple(int(p) if isinstance(p, int) and not isinstance(p, bool) else str(p)
                 for p in (getattr(match, "path", None) or ()))
    return CfnIssue(str(match.rule.id), str(match.rule.severity), int(match.linenumber or 1),
                    int(match.columnnumber or 1), path, str(match.message))


def _timeout_issue(timeout: float) -> CfnIssue:
    return CfnIssue(TIMEOUT_CODE, "error", 1, 1, (), f"cfn-lint did not finish this template within {timeout:g}s")


def _lint_one(linter: CfnLinter, task: CfnTask, timeout: float) -> CfnResult:
    start = time.monotonic()
    use_alarm = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    previous = None
    if use_alarm:
        def _expired(signum, frame):  # noqa: ARG001
            raise TemplateTimeout()
        previous = signal.signal(signal.SIGALRM, _expired)
        signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        issues = tuple(linter.lint(task.text, task.region))
    except TemplateTimeout:
        issues = (_timeout_issue(timeout),)
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    return CfnResult(task.path, issues, os.getpid(), RULE_LOADS, time.monotonic() - start)


_WORKER: CfnLinter | None = None  # this process's linter: a pool worker's, or the in-process one


def _init_worker(parent: int | None = None) -> None:
    """Build this process's linter; in a pool worker (`parent`: the pid of the process that made
    the pool), first arrange to die with that process."""
    global _WORKER
    if parent is not None:
        from ..build.lifeline import watch_parent

        watch_parent(parent)
    _WORKER = CfnLinter()


def in_process_linter() -> CfnLinter:
    """The linter of this process, built on first use and kept (the rules never change)."""
    if _WORKER is None:
        _init_worker()
    assert _WORKER is not None
    return _WORKER


def _work(task: CfnTask, timeout: float) -> CfnResult:
    assert _WORKER is not None, "worker not initialised"
    return _lint_one(_WORKER, task, timeout)


@dataclass
class Pool:
    """Options for `lint_templates`: worker count and per-template time limit."""

    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    timeout: float = DEFAULT_TIMEOUT
    in_process_max: int = 2  # this many templates or fewer: no pool


def lint_templates(tasks: Sequence[CfnTask], pool: Pool | None = None) -> list[CfnResult]:
    """cfn-lint findings for every task, in the order given."""
    pool = pool or Pool()
    if not tasks:
        return []
    jobs = max(1, min(pool.jobs, len(tasks)))
    if jobs == 1 or len(tasks) <= pool.in_process_max:
        linter = in_process_linter()
        return [_lint_one(linter, t, pool.timeout) for t in tasks]
    return _on_pool(tasks, jobs, pool.timeout)


PRELOAD = ["cfnlint.config", "cfnlint.decode.decode", "cfnlint.runner", __name__]


def _context():
    """forkserver: workers fork from a single-threaded server that has imported cfn-lint once (safe
    whatever threads the parent runs, and cheaper than spawn); spawn where fork is unavailable."""
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        return ctx
    return multiprocessing.get_context("spawn")


def prestart() -> None:
    """Start the forkserver now, importing cfn-lint in the background, so that a pool made later
    forks warm workers at once. The import overlaps whatever the caller does meanwhile; a caller
    that then lints in-process (two templates or fewer) has only spent another core's time."""
    ctx = _context()
    if ctx.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def _on_pool(tasks: Sequence[CfnTask], jobs: int, timeout: float) -> list[CfnResult]:
    executor = ProcessPoolExecutor(max_workers=jobs, mp_context=_context(), initializer=_init_worker,
                                   initargs=(os.getpid(),))
    futures: dict[Future, CfnTask] = {executor.submit(_work, t, timeout): t for t in tasks}
    results: dict[str, CfnResult] = {}
    # Backstop if a worker hangs outside the alarm: start-up, plus every template at its limit.
    deadline = time.monotonic() + 60 + timeout * (len(tasks) / jobs + 1)
    pending = set(futures)
    try:
        while pending:
            done, pending = wait(pending, timeout=max(0.0, deadline - time.monotonic()), return_when=FIRST_COMPLETED)
            if not done:
                break
            for fut in done:
                task = futures[fut]
                try:
                    results[task.path] = fut.result()
                except Exception as exc:  # a crashed worker is a finding, not a traceback
                    results[task.path] = CfnResult(task.path, (CfnIssue(TIMEOUT_CODE, "error", 1, 1, (),
                                                   f"cfn-lint failed on this template: {type(exc).__name__}: {exc}"),))
        for fut in pending:
            results[futures[fut].path] = CfnResult(futures[fut].path, (_timeout_issue(timeout),))
    finally:
        if pending:
            for proc in list(getattr(executor, "_processes", {}).values()):  # no public API to stop a hung worker
                proc.kill()
        executor.shutdown(wait=not pending, cancel_futures=True)
    return [results[t.path] for t in tasks]
