"""ECS service deployments: the facts the spec, the renderers, the emulator and `status`/`rollback`
share (the ECS API reference: UpdateService `deploymentConfiguration`, ServiceDeployment).

Each rollout of a service is a *service deployment* with its own ARN. It ends in exactly one of
the final statuses below; a rollout succeeded only when its own deployment is SUCCESSFUL. "The
service is stable" is also true after the circuit breaker rolled back, so it proves nothing.
"""

from __future__ import annotations

# The spec's `deploy.strategy` -> UpdateService deploymentConfiguration.strategy.
STRATEGIES: dict[str, str] = {"rolling": "ROLLING", "blue_green": "BLUE_GREEN", "linear": "LINEAR",
                              "canary": "CANARY"}
# Strategies that shift traffic between two target groups: they need the load balancer's
# advancedConfiguration (alternate target group, listener rules, infrastructure role).
TRAFFIC_SHIFTING = ("blue_green", "linear", "canary")

# Lifecycle stages a hook may run at (DeploymentLifecycleHook.lifecycleStages).
HOOK_STAGES = ("RECONCILE_SERVICE", "PRE_SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT",
               "POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT",
               "POST_PRODUCTION_TRAFFIC_SHIFT")

# ServiceDeployment.status
SUCCEEDED = ("SUCCESSFUL",)
ROLLED_BACK = ("ROLLBACK_SUCCESSFUL",)
FAILED = ("STOPPED", "ROLLBACK_FAILED")
FINAL = SUCCEEDED + ROLLED_BACK + FAILED
IN_PROGRESS = ("PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS")
STATUSES = FINAL + IN_PROGRESS

# Linear steps and canaries: valid percentages are multiples of 0.1 in these ranges.
LINEAR_STEP_PERCENT = (3.0, 100.0)
CANARY_PERCENT = (0.1, 100.0)
MAX_BAKE_MINUTES = 1440  # every bake time: 0 to 24 hours
CODEBUILD_MAX_MINUTES = 480  # the Deploy step is a CodeBuild build: at most 8 hours

# What the Deploy step needs beyond the strategy's bake times: starting the new tasks, health
# checks, shifting traffic and draining the old tasks.
DEPLOY_MARGIN_MINUTES = 10


def linear_steps(step_percent: float) -> int:
    """How many traffic shifts a linear deployment makes: ceil(100 / step)."""
    tenths = round(step_percent * 10)
    return -(-1000 // tenths)


def service_deployment_arn_prefix(partition: str, region: str, account: str, cluster: str, service: str) -> str:
    """Every service deployment of one service has an ARN starting with this (IAM scopes to it + `*`)."""
    return f"arn:{partition}:ecs:{region}:{account}:service-deployment/{cluster}/{service}/"
