"""`shipspec retire`: the only way shipspec deletes anything.

Which stacks: those whose `shipspec:service` and `shipspec:environment` tags are exactly NAME and
ENV. A stack is never chosen by its name alone: a stack named like NAME-ENV-pipeline whose tags
say another service or environment (or that carries no shipspec tags: shipspec did not make it)
makes retire refuse, naming it, and so does a stack the index of generated stacks
(generated/index.json) gives to another service or environment. What would be deleted is listed
in full, stack by stack and resource by resource (what goes, what is kept by its deletion
policy), before anyone is asked; once confirmed, termination protection is switched off and the
stacks are deleted, notification first.

Whether the spec still exists is the caller's question (the CLI refuses then, except for stacks
whose creation failed: see `only_failed`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Mapping

from botocore.exceptions import ClientError

from ...spec.naming import ENVIRONMENT_TAG, NOTIFICATION, PIPELINE, SERVICE_TAG
from ..templates import load_template
from . import changesets as cs
from .orphans import tagged_stacks
from .runctx import RunContext

KEEPING = ("Retain", "RetainExceptOnCreate", "Snapshot")
FAILED_CREATE = "ROLLBACK_COMPLETE"  # its creation failed and was rolled back: it holds nothing


@dataclass(frozen=True)
class Resource:
    logical_id: str
    resource_type: str
    physical_id: str  # "(not created)" when the stack has no such resource
    policy: str  # the DeletionPolicy ("" = Delete)

    @property
    def kept(self) -> bool:
        return self.policy in KEEPING


@dataclass(frozen=True)
class Doomed:
    name: str
    stack_id: str
    status: str
    service: str
    environment: str
    resources: tuple[Resource, ...] = ()

    @property
    def retained(self) -> tuple[Resource, ...]:
        return tuple(r for r in self.resources if r.kept)

    @property
    def deleted(self) -> tuple[Resource, ...]:
        return tuple(r for r in self.resources if not r.kept)


@dataclass(frozen=True)
class Found:
    """What retire would delete, and why it must not (any problem refuses the whole retire)."""

    doomed: tuple[Doomed, ...]
    problems: tuple[str, ...] = ()
    skipped: tuple[str, ...] = ()  # stacks of the pair left alone (only_failed)


def conventional_names(service: str, env: str) -> tuple[str, str]:
    """The names `build` gives the pair's stacks (spec/naming.py), to look for impostors."""
    base = f"{service}-{env}"
    return (f"{base}-{PIPELINE}", f"{base}-{NOTIFICATION}")


def index_owners(index: Mapping) -> dict[str, tuple[str, str]]:
    """Stack name -> (service, environment) from generated/index.json's contents."""
    out: dict[str, tuple[str, str]] = {}
    services = index.get("services") if isinstance(index, Mapping) else None
    for svc, envs in (services or {}).items():
        for env, entry in (envs or {}).items():
            for name in ((entry or {}).get("stacks") or {}).values():
                out[str(name)] = (str(svc), str(env))
    return out


def find(ctx: RunContext, account: str, region: str, service: str, env: str,
         index: Mapping | None = None, only_failed: bool = False) -> Found:
    """The pair's stacks (by tags), notification stack first, with every resource; and the
    problems that forbid deleting them. `only_failed`: keep to stacks whose creation failed."""
    cfn = ctx.sessions.get(account, region).client("cloudformation")
    owners = index_owners(index or {})
    problems: list[str] = []
    tagged = {s["StackName"]: s for s in tagged_stacks(cfn)
              if s["_tags"].get(SERVICE_TAG) == service and s["_tags"].get(ENVIRONMENT_TAG) == env}
    for name in conventional_names(service, env):
        if name in tagged:
            continue
        state = cs.describe_stack(cfn, name)
        if state.exists:
            tags = dict(state.tags)
            if SERVICE_TAG not in tags:
                problems.append(f"stack {name} has the name shipspec would give {service} in {env}, but no "
                                f"{SERVICE_TAG} tag: shipspec did not create it; delete it by hand if it must go")
            else:
                problems.append(f"stack {name} is tagged {SERVICE_TAG}={tags.get(SERVICE_TAG)}, "
                                f"{ENVIRONMENT_TAG}={tags.get(ENVIRONMENT_TAG, '')}: it belongs to that service and "
                                f"environment, not to {service} in {env}")
    for name in sorted(tagged):
        owner = owners.get(name)
        if owner is not None and owner != (service, env):
            problems.append(f"stack {name} is tagged {service}/{env}, but generated/index.json gives it to "
                            f"{owner[0]} in {owner[1]}")
    out, skipped = [], []
    for name, desc in tagged.items():
        status = desc.get("StackStatus", "")
        if only_failed and status != FAILED_CREATE:
            skipped.append(f"{name} ({status})")
            continue
        out.append(Doomed(name, desc.get("StackId") or name, status, service, env, _resources(cfn, name)))
    ordered = sorted(out, key=lambda d: (not d.name.endswith(f"-{NOTIFICATION}"), d.name))
    return Found(tuple(ordered), tuple(problems), tuple(sorted(skipped)))


def _resources(cfn, name: str) -> tuple[Resource, ...]:
    """Every resource of the deployed template, with its physical id and deletion policy."""
    try:
        body = cfn.get_template(StackName=name, TemplateStage="Original").get("TemplateBody")
        template = body if isinstance(body, dict) else load_template(body or "{}")
        physical: dict[str, str] = {}
        token = None
        while True:
            page = cfn.list_stack_resources(StackName=name, **({"NextToken": token} if token else {}))
            physical.update({r["LogicalResourceId"]: r.get("PhysicalResourceId", "")
                             for r in page.get("StackResourceSummaries", [])})
            token = page.get("NextToken")
            if not token:
                break
    except (ClientError, ValueError):
        return ()
    out = []
    for lid, res in sorted((template.get("Resources") or {}).items()):
        res = res if isinstance(res, Mapping) else {}
        out.append(Resource(lid, str(res.get("Type", "")), physical.get(lid) or "(not created)",
                            str(res.get("DeletionPolicy", ""))))
    return tuple(out)


def delete(ctx: RunContext, account: str, region: str, doomed: Doomed) -> str:
    """Delete one stack and wait; the final status ("DELETE_COMPLETE") or raises ChangeSetError.
    The stack's tags are read again first: a stack that changed hands since it was listed is
    not deleted."""
    cfn = ctx.sessions.get(account, region).client("cloudformation")
    desc = cfn.describe_stacks(StackName=doomed.stack_id)["Stacks"][0]
    tags = {t["Key"]: t["Value"] for t in desc.get("Tags") or ()}
    if (tags.get(SERVICE_TAG), tags.get(ENVIRONMENT_TAG)) != (doomed.service, doomed.environment):
        raise cs.ChangeSetError(f"{doomed.name}: its tags changed since it was listed; not deleted")
    if not ctx.emulated:  # moto neither implements nor enforces termination protection
        cfn.update_termination_protection(StackName=doomed.name, EnableTerminationProtection=False)
    ctx.ledger.note(doomed.name, "being deleted: CloudFormation carries on; run retire again to wait for it")
    cfn.delete_stack(StackName=doomed.stack_id)
    deadline = ctx.deadline(ctx.timing.apply_timeout)
    while True:
        desc = cfn.describe_stacks(StackName=doomed.stack_id)["Stacks"][0]
        status = desc.get("StackStatus", "")
        if not status.endswith("_IN_PROGRESS"):
            break
        if time.monotonic() > deadline:
            raise cs.ChangeSetError(f"{doomed.name}: still {status} after {int(ctx.timing.apply_timeout)} s")
        ctx.sleep()
    ctx.ledger.clear(doomed.name)
    if status != "DELETE_COMPLETE":
        failure = cs.first_failure(cfn, doomed.stack_id)
        why = f": {failure[2]} {failure[0]} ({failure[1]}): {failure[3]}" if failure else ""
        raise cs.ChangeSetError(f"{doomed.name}: deletion ended {status}{why}")
    return status
