"""Fleet-wide checks: what two (service, environment) pairs must not both do.

Two pairs in one account and region must not create the same named resource (a pipeline,
CodeBuild project, stack or ECR repository) nor deploy to the same ECS service, and EC2 services
sharing a cluster must ask for the same ECS agent settings (their SSM associations run on the same
instances). Each conflict is reported at every spec line involved.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Iterable

from ..core.diagnostics import Diagnostic, dotted
from . import naming
from .agent_settings import applies, recorded_value, target_tag
from .stage_plan import plans

if TYPE_CHECKING:
    from .loaded import ServiceEnv

GLOBAL_KIND = "IAM role"  # named once per account, in every region


def named_resources(s: "ServiceEnv") -> Iterable[tuple[str, str, tuple]]:
    """(kind, physical name, spec path) of every named resource this service/env creates."""
    c = s.config
    if c.build.manage_repository:
        yield "ECR repository", c.build.ecr_repository, ("build", "ecr_repository")
    yield "CodePipeline pipeline", naming.pipeline_name(c), ("names", "pipeline") if c.names.pipeline else ("name",)
    for field, project in (("build_project", naming.build_project(c)), ("update_project", naming.update_project(c))):
        yield "CodeBuild project", project, ("names", field) if getattr(c.names, field) else ("name",)
    positions = [(i, j) for i, stage in enumerate(c.stages) for j in range(len(stage.actions))]
    for (i, j), plan in zip(positions, plans(c)):  # plans() keeps stage/action order
        yield "CodeBuild project", plan.project_name, ("stages", i, "actions", j, "name")
    for stack in naming.stack_names(c).values():
        yield "CloudFormation stack", stack, ("name",)
    for kind in naming.ROLE_KINDS:
        role = naming.role_name(c, kind)
        if role:
            yield GLOBAL_KIND, role, ("names", f"{kind}_role")


def check_fleet(services: list["ServiceEnv"]) -> list[Diagnostic]:
    """Two (service, environment) pairs in one account and region must not create the same named resource."""
    owners: dict[tuple, list[tuple["ServiceEnv", tuple]]] = defaultdict(list)
    for s in services:
        env = s.config.environment
        for kind, name, path in named_resources(s):
            owners[(env.account, "" if kind == GLOBAL_KIND else env.region, kind, name)].append((s, path))
    out = check_agent_config_conflicts(services) + check_deploy_targets(services)
    shared = sorted(((k, users) for k, users in owners.items() if len(users) > 1), key=lambda kv: kv[0])
    for (account, region, kind, name), users in shared:
        places = ", ".join(f"{u.config.name}/{u.config.environment.name} ({u.where(*p)})" for u, p in users)
        fix = ("set build.manage_repository: false on all but one, or use distinct names" if kind == "ECR repository"
               else "give each its own names.*_role (IAM role names are account-wide)" if kind == GLOBAL_KIND
               else "rename a service, environment, stage or action so the names differ")
        for u, path in users:
            out.append(Diagnostic(u.where(*path), f"{kind} '{name}' in account {account}"
                                  f"{f' region {region}' if region else ''} "
                                  f"would be created by more than one pipeline: {places}; {fix}", dotted(path)))
    return out


def check_agent_config_conflicts(services: Iterable) -> list["Diagnostic"]:
    """EC2 services sharing a cluster (same account and region) must ask for the same agent settings
    and target tag: their associations run on the same instances. """
    groups: dict[tuple[str, str, str], list] = {}
    for s in services:
        c = s.config
        if applies(c):
            groups.setdefault((c.environment.account, c.environment.region, c.service.cluster), []).append(s)
    out = []
    for (account, region, cluster), members in sorted(groups.items()):
        wanted = {(recorded_value(m.config.service.ec2_agent_config), target_tag(m.config)) for m in members}
        if len(wanted) < 2:
            continue
        names = ", ".join(sorted(f"{m.config.name} ({m.config.environment.name})" for m in members))
        for m in members:
            out.append(Diagnostic(
                m.where("service", "ec2_agent_config"),
                f"services on cluster {cluster} ({account}/{region}) ask for different ECS agent settings: "
                f"{names}; their SSM associations run on the same instances, so make "
                f"service.ec2_agent_config the same for all of them (e.g. in services/_defaults.yaml)",
                "service.ec2_agent_config"))
    return out


def _target_path(s: "ServiceEnv") -> tuple:
    """The spec line naming the ECS service: service.name when set, else service.cluster."""
    return ("service", "name") if s.config.service.name else ("service", "cluster")


def check_deploy_targets(services: Iterable["ServiceEnv"]) -> list[Diagnostic]:
    """Two (service, environment) pairs must not deploy to the same ECS service (same account,
    region, cluster and service name): each pipeline would replace the other's image, and the
    service would run whichever deployed last."""
    groups: dict[tuple[str, str, str, str], list] = defaultdict(list)
    for s in services:
        c = s.config
        groups[(c.environment.account, c.environment.region, c.service.cluster, c.ecs_service_name)].append(s)
    out = []
    shared = sorted(((k, users) for k, users in groups.items() if len(users) > 1), key=lambda kv: kv[0])
    for (account, region, cluster, name), users in shared:
        at = {u.key: u.where(*_target_path(u)) for u in users}
        field = {u.key: dotted(_target_path(u)) for u in users}
        shared = {loc for loc in at.values() if list(at.values()).count(loc) > 1}
        for u in users:  # environments sharing one line of one spec: at each environment's own key
            env = u.tree.key_locs.get("environment")
            if at[u.key] in shared and env is not None and env.file == u.file:
                at[u.key], field[u.key] = env, f"environments.{u.config.environment.name}"
        places = ", ".join(f"{u.config.name}/{u.config.environment.name} ({at[u.key]})"
                           for u in sorted(users, key=lambda u: u.key))
        for u in users:
            out.append(Diagnostic(
                at[u.key],
                f"ECS service {cluster}/{name} in account {account} region {region} is the deploy target of more "
                f"than one pipeline: {places}; they would overwrite each other's deployments. Point each at its own "
                "service (service.name, service.cluster) or environment (account, region), or remove the duplicate",
                field[u.key]))
    return out


def facts(s: "ServiceEnv") -> dict:
    """What the checks above compare of one (service, environment) pair, as plain JSON: a build
    that keeps these for unchanged specs (compiler/build/delta.py) checks a one-spec change
    against the fleet without validating every other spec again (`any_conflict`)."""
    c = s.config
    env = c.environment
    return {
        "account": env.account, "region": env.region,
        "named": [[kind, name] for kind, name, _ in named_resources(s)],
        "agent": [c.service.cluster, recorded_value(c.service.ec2_agent_config), *target_tag(c)] if applies(c) else None,
        "target": [c.service.cluster, c.ecs_service_name],
    }


def any_conflict(pairs: Iterable[dict]) -> bool:
    """Whether `check_fleet` would report anything for the pairs whose `facts` these are (grouped
    exactly as it groups them; tests/spec/test_fleet_facts.py compares the two)."""
    owners: set[tuple] = set()
    agents: dict[tuple, set] = {}
    targets: set[tuple] = set()
    for f in pairs:
        account, region = f["account"], f["region"]
        for kind, name in f["named"]:
            owner = (account, "" if kind == GLOBAL_KIND else region, kind, name)
            if owner in owners:
                return True
            owners.add(owner)
        if f["agent"] is not None:
            cluster, value, tag_key, tag_value = f["agent"]
            wanted = agents.setdefault((account, region, cluster), set())
            wanted.add((value, (tag_key, tag_value)))
            if len(wanted) > 1:
                return True
        target = (account, region, *f["target"])
        if target in targets:
            return True
        targets.add(target)
    return False
