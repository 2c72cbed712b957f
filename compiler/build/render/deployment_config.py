"""What update_taskdefinition.sh sends with its one `update-service` call besides the new revision:
the spec's deployment configuration and, for traffic-shifting strategies, the load balancer with
its advancedConfiguration (ECS UpdateService request shapes). Pure; the script embeds both as JSON.

Every strategy keeps the deployment circuit breaker on with rollback. Settings the spec leaves
empty are still sent when ECS would otherwise keep an old value: alarms are switched off
explicitly, a traffic-shifting strategy sends its (possibly empty) hook list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ...core.arns import parse_arn
from ...core.ecs_deployments import STRATEGIES, TRAFFIC_SHIFTING

if TYPE_CHECKING:
    from ...spec.models import ServiceConfig


def alarm_name(ref: str) -> str:
    """An alarm name as the spec gives it, or the name inside its ARN (arn:...:alarm:NAME)."""
    arn = parse_arn(ref)
    return arn.resource[len("alarm:"):] if arn and arn.resource.startswith("alarm:") else ref


def deployment_configuration(c: "ServiceConfig") -> dict:
    d = c.deploy
    out: dict = {"strategy": STRATEGIES[d.strategy],
                 "deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    if d.strategy == "rolling":
        out["minimumHealthyPercent"] = d.effective_rolling.min_healthy_percent
        out["maximumPercent"] = d.effective_rolling.max_percent
    else:
        out["bakeTimeInMinutes"] = d.bake_minutes
    if d.strategy == "linear":
        out["linearConfiguration"] = {"stepPercent": d.effective_linear.step_percent,
                                      "stepBakeTimeInMinutes": d.effective_linear.step_bake_minutes}
    if d.strategy == "canary":
        out["canaryConfiguration"] = {"canaryPercent": d.effective_canary.percent,
                                      "canaryBakeTimeInMinutes": d.effective_canary.bake_minutes}
    names = [alarm_name(a) for a in d.alarms]
    out["alarms"] = {"alarmNames": names, "enable": bool(names), "rollback": bool(names)}
    if d.strategy in TRAFFIC_SHIFTING:
        out["lifecycleHooks"] = [{"hookTargetArn": h.lambda_arn, "roleArn": h.role_arn,
                                  "lifecycleStages": list(h.stages)} for h in d.hooks]
    return out


def load_balancers(c: "ServiceConfig") -> Optional[list[dict]]:
    """The service's load balancers for a traffic-shifting strategy; None (keep the service's own)
    for rolling."""
    lb = c.service.load_balancer
    if c.deploy.strategy not in TRAFFIC_SHIFTING or lb is None:
        return None
    advanced = {"alternateTargetGroupArn": lb.alternate_target_group_arn,
                "productionListenerRule": lb.production_listener_rule_arn}
    if lb.test_listener_rule_arn:
        advanced["testListenerRule"] = lb.test_listener_rule_arn
    advanced["roleArn"] = lb.infrastructure_role_arn
    return [{"targetGroupArn": lb.target_group_arn, "containerName": c.container_name,
             "containerPort": lb.container_port, "advancedConfiguration": advanced}]


def passed_roles(c: "ServiceConfig") -> list[str]:
    """The roles the update-service call hands to ECS (iam:PassRole to ecs.amazonaws.com)."""
    roles = []
    lb = c.service.load_balancer
    if c.deploy.strategy in TRAFFIC_SHIFTING and lb is not None:
        roles.append(lb.infrastructure_role_arn)
        roles += [h.role_arn for h in c.deploy.hooks]
    return sorted(set(roles))
