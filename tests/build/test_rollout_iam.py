"""The roles of the UpdateService and Deploy steps (docs/deploys.md, "Permissions"): exactly what
their calls need. The canary golden case passes an infrastructure role and a hook role."""

from __future__ import annotations

from compiler.build.render import codebuild, pipeline
from compiler.build.render.iam import actions_of
from compiler.spec.project import load_project
from support.cli import REPO

CANARY = load_project(REPO / "tests" / "golden" / "output" / "canary-rollout")
EXAMPLES = load_project(REPO)
READS = {"ecs:DescribeServiceDeployments", "ecs:DescribeServiceRevisions", "ecs:DescribeServices", "ecs:ListTasks",
         "ecs:DescribeTasks"}


def statements(t: dict, role: str) -> list[dict]:
    return t["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]


def test_update_service_may_pass_exactly_the_infrastructure_and_hook_roles_to_ecs():
    c = next(s.config for s in CANARY.services if s.config.environment.name == "prod")
    t = pipeline.render_pipeline(c)
    (passed,) = [st for st in statements(t, codebuild.UPDATE_ROLE) if st.get("Sid") == "PassDeploymentRoles"]
    assert passed["Resource"] == ["arn:aws:iam::444444444444:role/ecs-hooks-shop",
                                  "arn:aws:iam::444444444444:role/ecs-infrastructure-shop"]
    assert passed["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs.amazonaws.com"}}
    # a rolling service passes no role to ECS
    for s in EXAMPLES.services:
        sids = {st.get("Sid") for st in statements(pipeline.render_pipeline(s.config), codebuild.UPDATE_ROLE)}
        assert "PassDeploymentRoles" not in sids


def test_the_deploy_step_only_reads_its_own_service():
    for s in [*EXAMPLES.services, *CANARY.services]:
        c = s.config
        t = pipeline.render_pipeline(c)
        ecs = {a for role, a, _r in actions_of(t) if role == codebuild.DEPLOY_ROLE and a.startswith("ecs:")}
        assert ecs == READS
        writes = [a for role, a, _r in actions_of(t) if role == codebuild.DEPLOY_ROLE
                  and not a.startswith(("ecs:Describe", "ecs:List", "logs:", "s3:GetObject", "kms:Decrypt",
                                        "kms:DescribeKey"))]
        assert writes == []
        updates = {role for role, a, _r in actions_of(t) if a == "ecs:UpdateService"}
        assert updates == {codebuild.UPDATE_ROLE}
        by_action = {a: r for role, a, r in actions_of(t) if role == codebuild.DEPLOY_ROLE}
        assert by_action["ecs:DescribeServiceRevisions"]["Fn::Sub"].endswith(
            f":service-revision/{c.service.cluster}/{c.ecs_service_name}/*")
        assert by_action["ecs:DescribeTasks"]["Fn::Sub"].endswith(f":task/{c.service.cluster}/*")
