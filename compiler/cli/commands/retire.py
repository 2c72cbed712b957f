"""Delete one service's stacks in one environment: the only command that deletes anything.
It prints the stacks it will delete and the resources they retain (left in place, e.g. the ECR
repository with its images), asks for confirmation (or --yes), switches termination
protection off and deletes the stacks, notification stack first. Works for a service whose spec
was already deleted: the environment's account and region then come from services/_defaults.yaml
or --account/--region."""

from __future__ import annotations

from ._deploy import add_target

HELP = "delete a service's stacks in one environment (asks first)"


def configure(p) -> None:
    p.add_argument("name", metavar="NAME", help="service name")
    p.add_argument("--env", required=True, metavar="ENV", help="environment whose stacks are deleted")
    p.add_argument("--account", help="account id (default: from the spec or services/_defaults.yaml)")
    p.add_argument("--region", help="region (default: from the spec or services/_defaults.yaml)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_target(p, jobs=False)


def _where(root, name: str, env: str) -> tuple[str, str] | None:
    from ...spec.project import DEFAULTS_FILE, load_project, spec_paths
    from ...spec.yamlsrc import load_file

    if name in {p.stem for p in spec_paths(root)}:
        for s in load_project(root, [name]).services:
            if s.config.environment.name == env:
                return s.config.environment.account, s.config.environment.region
    path = root / "services" / DEFAULTS_FILE
    if path.exists():
        envs = load_file(path, f"services/{DEFAULTS_FILE}").get("environments") or {}
        e = envs.get(env) or {}
        if e.get("account") and e.get("region"):
            return str(e["account"]), str(e["region"])
    return None


def run(args, console) -> int:
    import sys

    from ...core.errors import ShipspecError
    from ...deploy.aws import retire
    from ...deploy.aws.changesets import ChangeSetError
    from ...deploy.aws.runctx import Cancelled
    from ._deploy import context, interrupted

    where = _where(console.root, args.name, args.env)
    account = args.account or (where[0] if where else None)
    region = args.region or (where[1] if where else None)
    if not account or not region:
        raise ShipspecError(f"cannot tell where {args.name} --env {args.env} lives: no spec or "
                            "services/_defaults.yaml entry for it; pass --account and --region")
    ctx = context(args, console)
    ctx.sessions.verify(account, region, f"environment {args.env} of {args.name}")
    doomed = retire.find(ctx, account, region, args.name, args.env)
    if not doomed:
        console.error(f"no stacks of {args.name} in {args.env} ({account}/{region}); nothing to delete")
        return 0
    console.print(f"retire {args.name} in {args.env} ({account}/{region}) will delete:")
    for d in doomed:
        console.print(f"  stack {d.name} ({d.status})")
        for r in d.retained:
            console.print(f"    keeps {r.logical_id} ({r.resource_type}) {r.physical_id}: DeletionPolicy {r.policy}, "
                          "left in place; delete it by hand when no longer needed")
    if not args.yes:
        if not (console.interactive and sys.stdin.isatty()):
            raise ShipspecError("refusing to delete without --yes: not on a terminal, so nobody can confirm")
        if not console.confirm(f"Delete {len(doomed)} stack(s)?"):
            console.error("nothing deleted")
            return 1
    try:
        for d in doomed:
            try:
                retire.delete(ctx, account, region, d)
                console.print(f"deleted {d.name}")
            except ChangeSetError as exc:
                console.error(f"error: {exc}")
                return 1
    except Cancelled:
        return interrupted(ctx, console)
    return 0
