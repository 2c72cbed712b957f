"""The spec's rollout settings: `deploy` (strategy, bake times, alarms, lifecycle hooks, timeout) and
`service.load_balancer` (what the traffic-shifting strategies move traffic with), and the pure
facts computed from them (how long a strategy bakes, the Deploy step's minimum timeout).

`ServiceConfig.deploy.strategy` is the strategy as the spec names it (rolling, blue_green, linear,
canary); `effective_*` give each strategy's settings with their defaults. The checks across fields
(a strategy's load balancer, ARNs in the environment's account and region, the timeout) are in
`rollout_checks`.
"""

from __future__ import annotations

from typing import Annotated, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ..core.ecs_deployments import (
    CANARY_PERCENT,
    CODEBUILD_MAX_MINUTES,
    DEPLOY_MARGIN_MINUTES,
    HOOK_STAGES,
    LINEAR_STEP_PERCENT,
    MAX_BAKE_MINUTES,
    linear_steps,
)

Strategy = Literal["rolling", "blue_green", "linear", "canary"]
HookStage = Literal[HOOK_STAGES]  # type: ignore[valid-type]
Arn = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
AlarmRef = Annotated[str, StringConstraints(min_length=1, max_length=2048)]
Minutes = Annotated[int, Field(ge=0, le=MAX_BAKE_MINUTES)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _tenths(value: float) -> float:
    if abs(value * 10 - round(value * 10)) > 1e-9:
        raise ValueError("must be a multiple of 0.1")
    return round(value, 1)


class Rolling(_Model):
    """Rolling update settings (strategy rolling): how many tasks may run during the deployment."""

    min_healthy_percent: int = Field(
        default=100, ge=0, le=100, description="minimumHealthyPercent: tasks that must keep running, as a "
        "percentage of the desired count.")
    max_percent: int = Field(
        default=200, ge=100, le=200, description="maximumPercent: tasks that may run (old and new), as a "
        "percentage of the desired count; must exceed min_healthy_percent, or no task can be replaced.")


class Linear(_Model):
    """Linear traffic shifting (strategy linear): equal steps with a bake time between them."""

    step_percent: float = Field(
        default=10.0, ge=LINEAR_STEP_PERCENT[0], le=LINEAR_STEP_PERCENT[1],
        description="Production traffic shifted per step: a multiple of 0.1 from 3.0 to 100.0.")
    step_bake_minutes: Minutes = Field(
        default=6, description="Minutes between steps (0-1440); not applied after the last step.")

    @field_validator("step_percent")
    @classmethod
    def _step_tenths(cls, v: float) -> float:
        return _tenths(v)


class Canary(_Model):
    """Canary traffic shifting (strategy canary): a share of traffic first, the rest after a bake."""

    percent: float = Field(
        default=5.0, ge=CANARY_PERCENT[0], le=CANARY_PERCENT[1],
        description="Production traffic the canary gets: a multiple of 0.1 from 0.1 to 100.0.")
    bake_minutes: Minutes = Field(
        default=10, description="Minutes the canary runs before the remaining traffic shifts (0-1440).")

    @field_validator("percent")
    @classmethod
    def _percent_tenths(cls, v: float) -> float:
        return _tenths(v)


class Hook(_Model):
    """A deployment lifecycle hook: ECS invokes a Lambda function at the stages named, and the
    deployment continues, waits or rolls back as the function answers."""

    lambda_arn: Arn = Field(description="ARN of the Lambda function, in the environment's account and region.")
    role_arn: Arn = Field(
        description="ARN of the IAM role ECS assumes to invoke the function (the environment's account); the "
        "UpdateService role may pass it to ecs.amazonaws.com only.")
    stages: list[HookStage] = Field(
        min_length=1, description="Lifecycle stages to run at: " + ", ".join(HOOK_STAGES) + ".")


class LoadBalancer(_Model):
    """The load balancer a traffic-shifting strategy (blue_green, linear, canary) moves traffic with:
    ECS shifts the listener rules between the two target groups using the infrastructure role."""

    target_group_arn: Arn = Field(description="The production target group's ARN (elasticloadbalancing).")
    alternate_target_group_arn: Arn = Field(
        description="The second target group: the new revision registers here before traffic moves.")
    production_listener_rule_arn: Arn = Field(
        description="The listener rule (Application Load Balancer) or listener (Network Load Balancer) that "
        "routes production traffic.")
    test_listener_rule_arn: Optional[Arn] = Field(
        default=None, description="Optional listener rule or listener for test traffic to the new revision.")
    infrastructure_role_arn: Arn = Field(
        description="IAM role ECS assumes to change the listener rules (the environment's account); passed to "
        "ecs.amazonaws.com only.")
    container_port: int = Field(ge=1, le=65535, description="The container port the target groups send to.")


class Deploy(_Model):
    """How the new image reaches the service: one rollout per pipeline run, followed to its end."""

    approval: bool = Field(default=False, description="Add a manual Approval stage before UpdateService.")
    timeout_minutes: int = Field(
        default=30, ge=1, le=CODEBUILD_MAX_MINUTES,
        description="How long the Deploy step follows the rollout before it fails (1-480: a CodeBuild build). "
        f"Must cover the strategy's bake times plus {DEPLOY_MARGIN_MINUTES} minutes.")
    strategy: Strategy = Field(
        default="rolling",
        description="rolling: replace tasks in place, the deployment circuit breaker rolling back on failure. "
        "blue_green: start the new revision beside the old, shift all traffic, bake. linear: shift traffic in "
        "equal steps. canary: shift a share, bake, then the rest. The last three need service.load_balancer.")
    bake_minutes: Minutes = Field(
        default=0, description="blue_green, linear, canary: minutes both revisions keep running after all "
        "traffic moved, so a rollback is instant (0-1440). Not used by rolling.")
    rolling: Optional[Rolling] = Field(default=None, description="Settings of strategy rolling.")
    linear: Optional[Linear] = Field(default=None, description="Settings of strategy linear.")
    canary: Optional[Canary] = Field(default=None, description="Settings of strategy canary.")
    alarms: list[AlarmRef] = Field(
        default_factory=list, max_length=10,
        description="CloudWatch alarm names (or ARNs in the environment's account and region): an alarm going "
        "off during the rollout fails it and rolls it back.")
    hooks: list[Hook] = Field(
        default_factory=list, max_length=10,
        description="Lifecycle hooks (blue_green, linear, canary): Lambda functions run at lifecycle stages.")

    @property
    def effective_rolling(self) -> Rolling:
        return self.rolling or Rolling()

    @property
    def effective_linear(self) -> Linear:
        return self.linear or Linear()

    @property
    def effective_canary(self) -> Canary:
        return self.canary or Canary()


def bake_parts(d: Deploy) -> list[tuple[str, int]]:
    """(what, minutes) of every bake the strategy waits through, in order."""
    if d.strategy == "rolling":
        return []
    parts: list[tuple[str, int]] = []
    if d.strategy == "linear":
        lin = d.effective_linear
        steps = linear_steps(lin.step_percent)
        if steps > 1 and lin.step_bake_minutes:
            parts.append((f"{steps - 1} step bakes of {lin.step_bake_minutes}", (steps - 1) * lin.step_bake_minutes))
    if d.strategy == "canary" and d.effective_canary.bake_minutes:
        parts.append(("canary bake", d.effective_canary.bake_minutes))
    if d.bake_minutes:
        parts.append(("bake", d.bake_minutes))
    return parts


def total_bake_minutes(d: Deploy) -> int:
    return sum(minutes for _, minutes in bake_parts(d))


def minimum_timeout(d: Deploy) -> int:
    """The shortest deploy.timeout_minutes that lets a traffic-shifting rollout finish: its bakes plus
    the margin. A rolling update has no bake time: any timeout the schema allows may do."""
    if d.strategy == "rolling":
        return 1
    return total_bake_minutes(d) + DEPLOY_MARGIN_MINUTES
