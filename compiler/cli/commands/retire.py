"""Delete one service's stacks in one environment: the only command that deletes anything.

It is for a spec (or an environment of one) that is gone: while services/NAME.yaml still
defines ENV it refuses (except for stacks whose creation failed, ROLLBACK_COMPLETE, which hold
nothing and must go before the spec can be applied again). Stacks are found by their
shipspec:service and shipspec:environment tags, never by name alone: a stack named like NAME's
whose tags say otherwise, or that generated/index.json gives to another service, makes it refuse.
It prints every stack and resource it will delete and those the deletion keeps (e.g. the ECR
repository with its images), asks for confirmation (or --yes), switches termination protection
off and deletes the stacks, notification stack first. The environment's account and region come
from the spec, services/_defaults.yaml or --account/--region."""

from __future__ import annotations

from ._deploy import add_target

HELP = "delete the stacks of a deleted service or environment (lists everything, asks first)"


def configure(p) -> None:
    p.add_argument("name", metavar="NAME", help="service name")
    p.add_argument("--env", required=True, metavar="ENV", help="environment whose stacks are deleted")
    p.add_argument("--account", help="account id (default: from the spec or services/_defaults.yaml)")
    p.add_argument("--region", help="region (default: from the spec or services/_defaults.yaml)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_target(p, jobs=False)


def _check_names(name: str, env: str) -> None:
    import re

    from ...core.errors import UsageError
    from ...spec.models import ENV_RE, NAME_RE

    if not re.match(NAME_RE, name):
        raise UsageError(f"NAME {name!r} is not a service name ({NAME_RE}); nothing was deleted")
    if not re.match(ENV_RE, env):
        raise UsageError(f"--env {env!r} is not an environment name ({ENV_RE}: no hyphens); "
                         "nothing was deleted")


def _live(root, name: str, env: str):
    """(spec file exists, its configuration for ENV or None)."""
    from ...spec.project import load_project, spec_paths

    if name not in {p.stem for p in spec_paths(root)}:
        return False, None
    for s in load_project(root, [name]).services:
        if s.config.environment.name == env:
            return True, s.config
    return True, None


def _where(root, config, env: str) -> tuple[str, str] | None:
    from ...spec.project import DEFAULTS_FILE
    from ...spec.yamlsrc import load_file

    if config is not None:
        return config.environment.account, config.environment.region
    path = root / "services" / DEFAULTS_FILE
    if path.exists():
        envs = load_file(path, f"services/{DEFAULTS_FILE}").get("environments") or {}
        e = envs.get(env) or {}
        if e.get("account") and e.get("region"):
            return str(e["account"]), str(e["region"])
    return None


def _index(root) -> dict:
    import json

    path = root / "generated" / "index.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def listing(found, name: str, env: str, account: str, region: str) -> list[str]:
    lines = [f"retire {name} in {env} ({account}/{region}) will delete {len(found.doomed)} stack(s):"]
    for d in found.doomed:
        lines.append(f"  stack {d.name} ({d.status}) {d.stack_id}, tagged shipspec:service={d.service}, "
                     f"shipspec:environment={d.environment}")
        lines += [f"    deletes {r.logical_id} ({r.resource_type}) {r.physical_id}" for r in d.deleted]
        lines += [f"    keeps   {r.logical_id} ({r.resource_type}) {r.physical_id}: DeletionPolicy {r.policy}, "
                  "left in place; delete it by hand when no longer needed" for r in d.retained]
    lines += [f"  leaves {s} alone: the spec still defines {env}" for s in found.skipped]
    return lines


def run(args, console) -> int:
    import sys

    from ...core.errors import ShipspecError
    from ...deploy.aws import retire
    from ...deploy.aws.changesets import ChangeSetError
    from ...deploy.aws.runctx import Cancelled
    from ._deploy import context, interrupted

    _check_names(args.name, args.env)
    exists, config = _live(console.root, args.name, args.env)
    index = _index(console.root)
    listed = ((index.get("services") or {}).get(args.name) or {}).get(args.env)
    if config is None and listed:
        raise ShipspecError(f"generated/index.json still lists {args.name} in {args.env}: run `shipspec build` "
                            "(and merge it) before retiring; nothing was deleted")
    where = _where(console.root, config, args.env)
    account = args.account or (where[0] if where else None)
    region = args.region or (where[1] if where else None)
    if not account or not region:
        raise ShipspecError(f"cannot tell where {args.name} --env {args.env} lives: no spec or "
                            "services/_defaults.yaml entry for it; pass --account and --region")
    ctx = context(args, console)
    ctx.sessions.verify(account, region, f"environment {args.env} of {args.name}")
    found = retire.find(ctx, account, region, args.name, args.env, index, only_failed=config is not None)
    if found.problems:
        raise ShipspecError("refusing to retire; nothing was deleted:\n  " + "\n  ".join(found.problems))
    if config is not None and not found.doomed:
        raise ShipspecError(
            f"services/{args.name}.yaml still defines environment {args.env}: retire deletes the stacks of a "
            "spec or environment that is gone (remove it, merge, and the plan lists its stacks as orphans); "
            "only stacks whose creation failed (ROLLBACK_COMPLETE) are deleted while it exists"
            + (f" and there are none ({', '.join(found.skipped)})" if found.skipped else "")
            + "; nothing was deleted")
    if not found.doomed:
        console.error(f"no stacks tagged {args.name}/{args.env} in {account}/{region}; nothing to delete")
        return 0
    for line in listing(found, args.name, args.env, account, region):
        console.print(line)
    if not args.yes:
        if not (console.interactive and sys.stdin.isatty()):
            raise ShipspecError("refusing to delete without --yes: not on a terminal, so nobody can confirm")
        if not console.confirm(f"Delete {len(found.doomed)} stack(s)?"):
            console.error("nothing deleted")
            return 1
    try:
        for d in found.doomed:
            try:
                retire.delete(ctx, account, region, d)
                console.print(f"deleted {d.name}")
            except ChangeSetError as exc:
                console.error(f"error: {exc}")
                return 1
    except Cancelled:
        return interrupted(ctx, console)
    return 0
