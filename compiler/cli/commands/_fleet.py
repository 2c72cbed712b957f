"""Set-up shared by the fleet-wide reads (`drift`, `status --all`): which (service, environment)
pairs, a shard of them, the run context with every account checked, a progress bar, and a bounded
pool. Light at import time."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from ...core.errors import ShipspecError, UsageError


def add_fleet_args(p, jobs_help: str) -> None:
    p.add_argument("--env", metavar="ENV", help="only this environment")
    p.add_argument("--local", action="store_true",
                   help="read from the local emulator started by `shipspec local up` instead of AWS")
    p.add_argument("--role-name", metavar="ROLE",
                   help="IAM role to assume in each account (default: $SHIPSPEC_ROLE_NAME; "
                        "$SHIPSPEC_ROLE_<ACCOUNT> names a role ARN per account)")
    p.add_argument("--jobs", type=int, default=8, metavar="N", help=jobs_help)


@dataclass(frozen=True)
class Fleet:
    configs: tuple  # ServiceConfig of every selected pair (this shard's), by (service, environment)
    project: object  # the loaded Project (to compile stacks from)
    unsharded: tuple[tuple[str, str], ...] = ()  # every selected pair, before --shard
    first_shard: bool = True  # no --shard, or its slice 1

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        return tuple((c.name, c.environment.name) for c in self.configs)


def load_fleet(root: Path, names=(), env: str | None = None, shard_text: str = "",
               will_render: bool = False) -> Fleet:
    """The selected pairs' configurations (SpecError for invalid specs, UsageError for a bad
    --env or --shard); `will_render` when the caller compiles the project (through the cache)."""
    from ...build.incremental import Session
    from ...deploy.affected import parse_shard, shard

    picked = None
    if shard_text:
        try:
            picked = parse_shard(shard_text)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    session = Session.open(root, will_render=will_render)
    project = session.load_project(names)
    session.save()
    configs = {s.key: s.config for s in project.services}
    wanted = set(configs)
    if env:
        wanted = {p for p in wanted if p[1] == env}
        if not wanted:
            raise UsageError(f"--env {env}: no selected service has that environment "
                             f"(they have: {', '.join(sorted({e for _, e in configs})) or 'none'})")
    unsharded = tuple(sorted(wanted))
    if picked:
        wanted = set(shard(wanted, *picked))
    return Fleet(tuple(configs[p] for p in sorted(wanted)), project, unsharded, not picked or picked[0] == 1)


def verify(ctx, targets) -> None:
    """STS GetCallerIdentity once per account, before any read; refuse on any mismatch."""
    problems, seen = [], set()
    for account, region, what in sorted(targets):
        if account in seen:
            continue
        seen.add(account)
        try:
            ctx.sessions.verify(account, region, what)
        except ShipspecError as exc:
            problems.append(str(exc))
    if problems:
        raise ShipspecError("\n".join(problems))


class Progress:
    """`[#####.....] 12/40 stacks` on stderr, redrawn in place, only on a terminal (thread-safe)."""

    def __init__(self, console, total: int, unit: str):
        self.console, self.total, self.unit = console, total, unit
        self.done = 0
        self.lock = threading.Lock()

    def step(self, _result=None) -> None:
        with self.lock:
            self.done += 1
            if not self.console.interactive:
                return
            width = 30
            fill = int(width * self.done / (self.total or 1))
            self.console.err.write(f"\r\033[K[{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total} {self.unit}")
            self.console.err.flush()

    def close(self) -> None:
        if self.console.interactive and self.done:
            self.console.err.write("\r\033[K")
            self.console.err.flush()


def run_bounded(ctx, items, key, work, jobs: int, progress: Progress) -> dict:
    """`work` over `items` on the run's bounded pool (compiler/deploy/aws/executor.py), the bar
    advancing as each finishes."""
    from ...deploy.aws.executor import bounded_jobs, run_pool

    def one(item):
        result = work(item)
        progress.step(result)
        return result

    try:
        return run_pool(ctx, items, key, one, bounded_jobs(jobs))
    finally:
        progress.close()
