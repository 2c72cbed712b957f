"""Set-up shared by plan, apply, bootstrap and retire: target arguments, the run context, which
stacks, the account check, orphans. Light at import time: boto3 is imported inside functions."""

from __future__ import annotations

import argparse
import threading
from dataclasses import dataclass
from pathlib import Path

from ...core.errors import ShipspecError, UsageError


def add_changed_since(p) -> None:
    p.add_argument("--changed-since", metavar="REF",
                   help="only services whose spec or generated output changed since REF (merge base)")


def add_target(p: argparse.ArgumentParser, jobs: bool = True) -> None:
    p.add_argument("--local", action="store_true",
                   help="target the local emulator started by `shipspec local up` instead of AWS")
    p.add_argument("--role-name", metavar="ROLE",
                   help="IAM role to assume in each target account (default: $SHIPSPEC_ROLE_NAME; "
                        "$SHIPSPEC_ROLE_<ACCOUNT> names a role ARN per account)")
    if jobs:
        p.add_argument("--jobs", type=int, default=4, metavar="N",
                       help="stacks worked on at once (default 4, at most 32)")


class Printer:
    """Thread-safe progress output on stderr; a one-line progress bar when it is a terminal."""

    def __init__(self, console):
        self.console = console
        self.lock = threading.Lock()
        self.bar = False
        self.done: dict[str, tuple[int, int]] = {}

    def log(self, line: str) -> None:
        with self.lock:
            if self.bar:
                self.console.err.write("\r\033[K")
                self.bar = False
            self.console.error(line)

    def progress(self, stack: str, done: int, total: int) -> None:
        if not self.console.interactive:
            return
        with self.lock:
            self.done[stack] = (min(done, total), total)
            d, t = sum(x for x, _ in self.done.values()), sum(y for _, y in self.done.values()) or 1
            width = 30
            fill = int(width * d / t)
            self.console.err.write(f"\r\033[K[{'#' * fill}{'.' * (width - fill)}] {d}/{t} resources")
            self.console.err.flush()
            self.bar = True


def endpoint(args, console):
    """AWS, or with `--local` the emulator recorded by `shipspec local up` (refused when it is down)."""
    from ...deploy.aws.session import Endpoint

    if not getattr(args, "local", False):
        return Endpoint()
    from ...local.emulator import endpoint as emulator_endpoint

    return Endpoint(emulator_endpoint(console.root), emulated=True)


def context(args, console, keep: bool = False):
    from ...deploy.aws.runctx import RunContext, Timing
    from ...deploy.aws.session import Sessions

    ep = endpoint(args, console)
    gaps = None
    if ep.emulated:
        from ...local.adapt import MotoGaps

        gaps = MotoGaps()
    printer = Printer(console)
    return RunContext(Sessions(ep, getattr(args, "role_name", None)), Timing.for_endpoint(ep.emulated),
                      log=printer.log, progress=printer.progress, keep=keep, emulator=gaps)


@dataclass(frozen=True)
class Selection:
    inputs: tuple
    spec_names: frozenset
    pairs: frozenset  # (service, env) loaded
    base: str | None  # --changed-since: the merge base
    head: str | None


def select(root: Path, names=(), env: str | None = None, changed_since: str | None = None,
           kinds=("bootstrap", "pipeline", "notification"), only_pairs=None) -> Selection:
    from ...build.compile import compile_project
    from ...deploy.aws.inputs import select as select_stacks
    from ...deploy.git import head_commit
    from ...spec.project import load_project, spec_paths

    project = load_project(root, names)
    pairs = {s.key for s in project.services}
    wanted = set(pairs)
    if env:
        wanted = {p for p in wanted if p[1] == env}
        if not wanted:
            raise UsageError(f"--env {env}: no selected service has that environment "
                             f"(they have: {', '.join(sorted({e for _, e in pairs})) or 'none'})")
    base = None
    if changed_since:
        from ...deploy.affected import affected

        result = affected(root, changed_since)
        base = result.base
        wanted &= set(result.pairs)
    if only_pairs is not None:
        wanted &= set(only_pairs)
    output = compile_project(project)
    inputs = select_stacks(output, sorted(wanted), kinds)
    if changed_since and not wanted:
        inputs = ()
    return Selection(inputs, frozenset(p.stem for p in spec_paths(root)), frozenset(pairs), base, head_commit(root))


def verify_accounts(ctx, inputs) -> None:
    """STS GetCallerIdentity per account before anything else; refuse on any mismatch."""
    users: dict[tuple[str, str], set[str]] = {}
    for si in inputs:
        what = (f"environment {si.stack.environment} of {si.stack.service}" if si.stack.service
                else "the bootstrap stack")
        users.setdefault((si.stack.account, si.stack.region), set()).add(what)
    problems = []
    seen = set()
    for (account, region), whats in sorted(users.items()):
        if account in seen:
            continue
        seen.add(account)
        try:
            ctx.sessions.verify(account, region, ", ".join(sorted(whats)[:3]) + (" and others" if len(whats) > 3 else ""))
        except ShipspecError as exc:
            problems.append(str(exc))
    if problems:
        raise ShipspecError("\n".join(problems))


def find_orphans(ctx, selection: Selection):
    from ...deploy.aws.orphans import find_orphans as find

    targets = {(si.stack.account, si.stack.region) for si in selection.inputs}
    return find(ctx, targets, set(selection.spec_names), set(selection.pairs))


def interrupted(ctx, console) -> int:
    entries = ctx.ledger.entries()
    console.error("interrupted." + (" Left behind:" if entries else " Nothing was left half-done."))
    for label, state in entries:
        console.error(f"  {label}: {state}")
    return 130


def emulator_notes(ctx) -> tuple[str, ...]:
    if not ctx.emulated:
        return ()
    return ("local emulator (moto): its change sets list Add/Modify/Remove without replacement details or "
            "property values; those come from the offline prediction",)
