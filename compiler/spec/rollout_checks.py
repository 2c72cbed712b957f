"""Checks of the rollout settings (`deploy`, `service.load_balancer`) beyond the schema, each at the
spec line it concerns: a strategy's prerequisites and the settings that belong to another strategy,
the timeout against the strategy's bake times, and every ARN (target groups, listener rules,
roles, Lambda functions, alarms) in the environment's account (and region, where ARNs have one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.arns import parse_arn
from ..core.diagnostics import Diagnostic, dotted
from ..core.ecs_deployments import TRAFFIC_SHIFTING
from .rollout import bake_parts, minimum_timeout

if TYPE_CHECKING:
    from .loaded import ServiceEnv

ELB_RESOURCES = {"target group": ("targetgroup/",), "listener rule": ("listener-rule/", "listener/")}


class _Out:
    def __init__(self, s: "ServiceEnv"):
        self.s = s
        self.diags: list[Diagnostic] = []

    def add(self, path: tuple, message: str, key: bool = False) -> None:
        self.diags.append(Diagnostic(self.s.where(*path, key=key), message, dotted(path)))

    def arn(self, path: tuple, value: str, service: str, prefixes: tuple[str, ...], example: str,
            regional: bool = True) -> None:
        """`value` is an ARN of `service` whose resource starts with one of `prefixes`, in the
        environment's account (and region, when `regional`)."""
        env = self.s.config.environment
        arn = parse_arn(value)
        if arn is None or arn.service != service or not arn.resource.startswith(prefixes):
            self.add(path, f"'{value}' is not a valid ARN here; expected e.g. {example}")
            return
        if arn.account != env.account:
            self.add(path, f"account {arn.account} in the ARN differs from environment '{env.name}' account "
                           f"{env.account}; use a resource in that account")
        if regional and arn.region != env.region:
            self.add(path, f"region {arn.region} in the ARN differs from environment '{env.name}' region "
                           f"{env.region}; use a resource in that region")


def _examples(s: "ServiceEnv") -> dict[str, str]:
    env = s.config.environment
    where = f"{env.region}:{env.account}"
    return {
        "target group": f"arn:aws:elasticloadbalancing:{where}:targetgroup/<name>/<id>",
        "listener rule": f"arn:aws:elasticloadbalancing:{where}:listener-rule/app/<lb>/<id>/<listener>/<rule>",
        "role": f"arn:aws:iam::{env.account}:role/<name>",
        "lambda": f"arn:aws:lambda:{where}:function:<name>",
        "alarm": f"<alarm name> or arn:aws:cloudwatch:{where}:alarm:<name>",
    }


def _load_balancer(out: _Out, ex: dict[str, str]) -> None:
    lb = out.s.config.service.load_balancer
    if lb is None:
        return
    base = ("service", "load_balancer")
    for field, kind in (("target_group_arn", "target group"), ("alternate_target_group_arn", "target group"),
                        ("production_listener_rule_arn", "listener rule"),
                        ("test_listener_rule_arn", "listener rule")):
        value = getattr(lb, field)
        if value is not None:
            out.arn(base + (field,), value, "elasticloadbalancing", ELB_RESOURCES[kind], ex[kind])
    if lb.target_group_arn == lb.alternate_target_group_arn:
        out.add(base + ("alternate_target_group_arn",), "the alternate target group must differ from "
                "target_group_arn: the new revision registers there before traffic moves")
    out.arn(base + ("infrastructure_role_arn",), lb.infrastructure_role_arn, "iam", ("role/",), ex["role"],
            regional=False)


def _strategy(out: _Out) -> None:
    c = out.s.config
    d = c.deploy
    shifting = d.strategy in TRAFFIC_SHIFTING
    if shifting and c.service.load_balancer is None:
        out.add(("deploy", "strategy"), f"strategy {d.strategy} shifts traffic between two target groups: it "
                "needs service.load_balancer (target_group_arn, alternate_target_group_arn, "
                "production_listener_rule_arn, infrastructure_role_arn, container_port)")
    if not shifting and c.service.load_balancer is not None:
        out.add(("service", "load_balancer"), "service.load_balancer is used only by deploy.strategy blue_green, "
                "linear and canary; remove it, or choose one of those strategies", key=True)
    for name in ("rolling", "linear", "canary"):
        if getattr(d, name) is not None and d.strategy != name:
            out.add(("deploy", name), f"deploy.{name} configures strategy {name}, but deploy.strategy is "
                    f"{d.strategy}; remove it or set strategy: {name}", key=True)
    if d.strategy == "rolling" and d.bake_minutes:
        out.add(("deploy", "bake_minutes"), "strategy rolling has no bake time (ECS bakes only blue_green, "
                "linear and canary deployments); remove bake_minutes or choose one of those strategies")
    if d.strategy == "rolling" and d.hooks:
        out.add(("deploy", "hooks"), "lifecycle hooks run only in blue_green, linear and canary deployments; "
                "remove them or choose one of those strategies", key=True)
    r = d.effective_rolling
    if d.strategy == "rolling" and r.max_percent <= r.min_healthy_percent:
        out.add(("deploy", "rolling", "max_percent"), f"max_percent {r.max_percent} must exceed "
                f"min_healthy_percent {r.min_healthy_percent}: otherwise ECS can neither start a new task nor "
                "stop an old one")


def _timeout(out: _Out) -> None:
    d = out.s.config.deploy
    need = minimum_timeout(d)
    if d.timeout_minutes >= need:
        return
    parts = " + ".join(f"{what} {minutes}" for what, minutes in bake_parts(d)) or "no bake time"
    out.add(("deploy", "timeout_minutes"), f"timeout_minutes {d.timeout_minutes} is shorter than the {d.strategy} "
            f"rollout: {parts} minutes, plus {need - sum(m for _, m in bake_parts(d))} to start tasks and shift "
            f"traffic; set timeout_minutes to at least {need} (at most 480) or shorten the bake times")


def _references(out: _Out, ex: dict[str, str]) -> None:
    d = out.s.config.deploy
    for i, alarm in enumerate(d.alarms):
        if alarm.startswith("arn:"):
            out.arn(("deploy", "alarms", i), alarm, "cloudwatch", ("alarm:",), ex["alarm"])
    for i, hook in enumerate(d.hooks):
        out.arn(("deploy", "hooks", i, "lambda_arn"), hook.lambda_arn, "lambda", ("function:",), ex["lambda"])
        out.arn(("deploy", "hooks", i, "role_arn"), hook.role_arn, "iam", ("role/",), ex["role"], regional=False)


def check_rollout(s: "ServiceEnv") -> list[Diagnostic]:
    out = _Out(s)
    ex = _examples(s)
    _strategy(out)
    _load_balancer(out, ex)
    _references(out, ex)
    _timeout(out)
    return out.diags
