"""`shipspec status` and `shipspec doctor` against moto's server over HTTP.

Services are seeded through the ECS/ECR/EC2/SSM/Secrets Manager APIs; stopped tasks get their
stoppedReason through StopTask(reason=...). moto cannot produce two things ECS reports: a
container's `reason` and service events. Those are written into the in-process emulator's ECS
backend (the tests say where), so the gather code still reads them over HTTP. One scenario with
Fargate-only reasons is diagnosed from a hand-built Evidence (diagnose is pure).
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone

import pytest

from support.aws import REGION, client, moto_server_fixture
from support.cli import REPO, run_cli
from support.ecs import reset
from compiler.spec.models import ServiceConfig
from compiler.spec import agent_settings as agent
from compiler.ops.doctor import diagnose, exit_status
from compiler.ops.evidence import (
    Evidence,
    Instance,
    StoppedContainer,
    StoppedTask,
    TaskDefinitionInfo,
    gather_evidence,
)
from compiler.core.known_failures import entry
from compiler.cli.report_ops import format_doctor, format_status
from compiler.ops.status import Deployment, PipelineStatus, ServiceStatus, Snapshot, gather
from compiler.spec.project import load_project

pytestmark = pytest.mark.slow

ACCOUNT = "111111111111"
MOTO_AMI = "ami-12c6146b"  # one of the images moto knows (listing them all is slow)
moto_endpoint = moto_server_fixture()
# services/video-api.yaml, environment stg: EC2, cluster media-ec2, service video-api-service,
# container api, two SSM parameters as secrets
VIDEO = next(s.config for s in load_project(REPO, ["video-api"]).services if s.config.environment.name == "stg")
TAG = "3f9c2ab"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{VIDEO.build.ecr_repository}:{TAG}"


@pytest.fixture(scope="module", autouse=True)
def service_deployments():
    """The emulator's model of ECS service deployments, as `shipspec local up` runs it."""
    from compiler.local.service_deployments_api import install

    uninstall = install()
    yield
    uninstall()


@pytest.fixture(scope="module", autouse=True)
def moto_account():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOTO_ACCOUNT_ID", ACCOUNT)  # the in-process emulator answers as the spec's account
        yield


@pytest.fixture
def ep(moto_endpoint, monkeypatch):
    reset(moto_endpoint)  # each scenario starts from an empty emulator (moto's backends are per process)
    monkeypatch.delenv("MOTO_ECS_SERVICE_RUNNING", raising=False)
    yield moto_endpoint
    reset(moto_endpoint)


def factory(endpoint: str):
    cache: dict = {}
    return lambda service: cache.setdefault(service, client(service, endpoint))


def backend():
    """moto's in-process ECS backend, for what its API cannot set (container reasons, service events)."""
    from moto.ecs.models import ecs_backends

    return ecs_backends[ACCOUNT][REGION]


def seed(endpoint: str, monkeypatch, *, running: int = 0, memory: int = 512, push: bool = True,
         parameters: tuple[str, ...] = ("/video-api/database-url", "/video-api/bucket"),
         instance_tags: dict | None = None, recorded: str | None = None, host_port: int = 0) -> str:
    """The video-api stg world: cluster, one EC2 container instance, image, parameters, task
    definition and service. Returns the container instance ARN."""
    c = VIDEO
    ecs, ec2, ecr, ssm = (client(s, endpoint) for s in ("ecs", "ec2", "ecr", "ssm"))
    ecs.create_cluster(clusterName=c.service.cluster)
    ecr.create_repository(repositoryName=c.build.ecr_repository)
    if push:
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                    "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7000,
                               "digest": "sha256:" + "a" * 64},
                    "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 7000,
                                "digest": "sha256:" + "b" * 64}]}
        ecr.put_image(repositoryName=c.build.ecr_repository, imageManifest=json.dumps(manifest), imageTag=TAG)
    for name in parameters:
        ssm.put_parameter(Name=name, Value="not-a-real-secret", Type="SecureString")
    tags = {"ecs-cluster": c.service.cluster} if instance_tags is None else instance_tags
    image_id = MOTO_AMI
    spec = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}] if tags else []
    iid = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, TagSpecifications=spec)["Instances"][0][
        "InstanceId"]
    doc = json.dumps({"instanceId": iid, "region": REGION, "accountId": ACCOUNT})
    arn = ecs.register_container_instance(cluster=c.service.cluster, instanceIdentityDocument=doc)[
        "containerInstance"]["containerInstanceArn"]
    if recorded is not None:
        ecs.put_attributes(cluster=c.service.cluster, attributes=[
            {"name": agent.ATTRIBUTE, "value": recorded, "targetId": arn}])
    container = {"name": c.container_name, "image": IMAGE, "cpu": 256, "memory": memory, "essential": True,
                 "portMappings": [{"containerPort": 8080, "hostPort": host_port}],
                 "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/video-api"}},
                 "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(c.service.secrets.items())]}
    td = ecs.register_task_definition(family="video-api-stg", containerDefinitions=[container],
                                      requiresCompatibilities=["EC2"], networkMode="bridge")["taskDefinition"]
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", str(running))  # moto's running count at creation
    ecs.create_service(cluster=c.service.cluster, serviceName=c.ecs_service_name,
                       taskDefinition=td["taskDefinitionArn"], desiredCount=1, launchType="EC2")
    return arn


def stop(endpoint: str, reason: str, container_reason: str = "") -> str:
    """Run a task of the service and stop it with `reason` (StopTask); a container reason is written
    into the emulator's backend because no ECS API sets it."""
    ecs = client("ecs", endpoint)
    td = ecs.describe_services(cluster=VIDEO.service.cluster, services=[VIDEO.ecs_service_name])[
        "services"][0]["taskDefinition"]
    task = ecs.run_task(cluster=VIDEO.service.cluster, taskDefinition=td, launchType="EC2", count=1,
                        startedBy="ecs-svc/1234567890")["tasks"][0]
    ecs.stop_task(cluster=VIDEO.service.cluster, task=task["taskArn"], reason=reason)
    if container_reason:
        backend().tasks[VIDEO.service.cluster][task["taskArn"]].containers[0].reason = container_reason
    return task["taskArn"]


def event(message: str) -> None:
    """A service event (moto's ECS never emits any), written into the emulator's backend."""
    svc = backend().services[f"{VIDEO.service.cluster}:{VIDEO.ecs_service_name}"]
    svc.events.insert(0, {"id": f"e{len(svc.events)}", "createdAt": datetime.now(timezone.utc), "message": message})


def doctor(endpoint: str):
    ev = gather_evidence(factory(endpoint), VIDEO)
    return ev, diagnose(ev, VIDEO)


def ids(d, severity: str | None = None) -> set[str]:
    return {f.id for f in d.findings if severity is None or f.severity == severity}


def finding(d, fid: str):
    return next(f for f in d.findings if f.id == fid)


# --- scenarios ---------------------------------------------------------------------------------

def test_disk_full_on_ec2_explains_the_volume_and_gives_settings_and_commands(ep, monkeypatch):
    seed(ep, monkeypatch)
    disk = entry("disk-full").example
    stop(ep, "Essential container in task exited", container_reason=disk)
    stop(ep, disk)
    ev, d = doctor(ep)
    assert exit_status(d) == 1
    f = finding(d, "disk-full")
    assert f.severity == "error" and "22 GiB" in f.meaning
    assert any("container api: " + disk in line for line in f.evidence)  # the container's reason
    assert any(line.endswith(": " + disk) and " container " not in line for line in f.evidence)  # the task's
    # the task's generic "Essential container in task exited" is explained by its container's reason
    assert "essential-container-exited" not in ids(d)
    instance_id = ev.instances[0].ec2_instance_id
    assert f"affected instances: {instance_id}" in f.details
    for var, value in agent.agent_settings(VIDEO.service.ec2_agent_config):
        assert f"  {var}={value}" in f.details
    assert "sudo docker container prune -f" in f.commands and "sudo docker image prune -a -f" in f.commands
    send = next(cmd for cmd in f.commands if cmd.startswith("aws ssm send-command"))
    assert f"--region {REGION}" in send and "Key=tag:ecs-cluster,Values=media-ec2" in send
    # the instance never ran the agent-config document: reported, but not as an error
    assert "agent-config-unrecorded" in ids(d, "warning")
    text = format_doctor(ev, d)
    assert "PROBLEM disk-full" in text and "docs/troubleshooting.md#disk-full" in text


def test_pull_failure_with_the_tag_missing_from_ecr(ep, monkeypatch):
    seed(ep, monkeypatch, push=False)
    reason = (f"CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref "
              f"{IMAGE}: {IMAGE}: not found")
    stop(ep, reason)
    ev, d = doctor(ep)
    assert {"image-not-found", "image-missing-in-ecr"} <= ids(d, "error")
    assert [c.status for c in ev.image_checks] == ["missing"]
    missing = finding(d, "image-missing-in-ecr")
    assert missing.evidence == (f"{IMAGE}: repository media/video-api has no image {TAG}",)
    assert (f"aws ecr describe-images --region {REGION} --repository-name media/video-api "
            f"--image-ids imageTag=<tag>") in missing.commands
    assert exit_status(d) == 1


def test_pull_denied_while_the_image_exists_points_at_permissions(ep, monkeypatch):
    seed(ep, monkeypatch)
    stop(ep, entry("pull-access-denied").example)
    ev, d = doctor(ep)
    assert [c.status for c in ev.image_checks] == ["ok"]
    assert "pull-access-denied" in ids(d, "error") and "image-missing-in-ecr" not in ids(d)


def test_not_enough_memory_on_the_container_instances(ep, monkeypatch):
    seed(ep, monkeypatch, memory=9000)  # moto's instances have 7482 MiB
    event(f"(service {VIDEO.ecs_service_name}) was unable to place a task because no container instance met all "
          "of its requirements. The closest matching (container-instance 5dd9bf58) has insufficient memory "
          "available. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.")
    ev, d = doctor(ep)
    f = finding(d, "placement-resources")
    assert f.severity == "error"
    assert any("insufficient memory available" in line for line in f.evidence)  # the service event
    assert any("the task needs 256 CPU units and 9000 MiB" in line for line in f.evidence)  # the comparison
    assert any(f"{ev.instances[0].ec2_instance_id}: 4096 CPU units, 7482 MiB free" in line for line in f.evidence)
    assert exit_status(d) == 1


def test_capacity_is_checked_even_before_ecs_reports_an_event(ep, monkeypatch):
    seed(ep, monkeypatch, memory=9000)
    _, d = doctor(ep)
    assert "placement-resources" in ids(d, "error")


def test_no_container_instances(ep, monkeypatch):
    seed(ep, monkeypatch)
    ecs = client("ecs", ep)
    for arn in ecs.list_container_instances(cluster=VIDEO.service.cluster)["containerInstanceArns"]:
        ecs.deregister_container_instance(cluster=VIDEO.service.cluster, containerInstance=arn, force=True)
    _, d = doctor(ep)
    assert "no-container-instances" in ids(d, "error")


def test_failing_health_check(ep, monkeypatch):
    seed(ep, monkeypatch)
    stop(ep, "Task failed container health checks")
    _, d = doctor(ep)
    assert "container-health-check" in ids(d, "error") and exit_status(d) == 1


def test_missing_secret(ep, monkeypatch):
    seed(ep, monkeypatch, parameters=("/video-api/database-url",))  # /video-api/bucket was never created
    stop(ep, "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval "
             "failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): "
             "InvalidParameters: /video-api/bucket")
    ev, d = doctor(ep)
    statuses = {c.subject.rsplit("/", 1)[-1]: c.status for c in ev.secret_checks}
    assert statuses == {"database-url": "ok", "bucket": "missing"}
    assert {"secret-unavailable", "secret-missing"} <= ids(d, "error")
    assert finding(d, "secret-missing").evidence == (
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/video-api/bucket: SSM Parameter Store has no parameter "
        f"/video-api/bucket",)


def test_secrets_manager_references_are_checked_by_arn(ep, monkeypatch):
    sm = client("secretsmanager", ep)
    real = sm.create_secret(Name="news/db", SecretString="not-a-real-secret")["ARN"]
    c = ServiceConfig.model_validate({**VIDEO.model_dump(), "service": {
        **VIDEO.service.model_dump(), "secrets": {"DB": real + ":password::", "GONE": real[:-6] + "zzzzzz"}}})
    from compiler.ops.evidence import _secret_check

    assert _secret_check(factory(ep), c, real + ":password::").status == "ok"
    assert _secret_check(factory(ep), c, real[:-6] + "zzzzzz").status == "missing"
    other = _secret_check(factory(ep), c, "arn:aws:secretsmanager:eu-west-1:222222222222:secret:x-AbCdEf")
    assert other.status == "skipped"


def test_healthy_service_exits_zero(ep, monkeypatch):
    seed(ep, monkeypatch, running=1, recorded=agent.recorded_value(VIDEO.service.ec2_agent_config))
    stop(ep, "Scaling activity initiated by (deployment ecs-svc/8471924856382911357)")  # expected: ignored
    ev, d = doctor(ep)
    assert d.findings == () and d.healthy and exit_status(d) == 0
    assert [c.status for c in ev.image_checks] == ["ok"]
    assert {c.status for c in ev.secret_checks} == {"ok"}
    assert format_doctor(ev, d).splitlines()[-1].startswith("healthy: service video-api-service")


def test_earlier_failures_on_a_steady_service_are_warnings(ep, monkeypatch):
    seed(ep, monkeypatch, running=1, recorded=agent.recorded_value(VIDEO.service.ec2_agent_config))
    stop(ep, "Essential container in task exited")
    _, d = doctor(ep)
    f = finding(d, "essential-container-exited")
    assert f.severity == "warning" and "steady now" in f.details[0]
    assert exit_status(d) == 0


def test_agent_settings_that_differ_from_the_spec_are_reported(ep, monkeypatch):
    old = agent.recorded_value(VIDEO.service.ec2_agent_config).replace("v1/30m/30m", "v1/3h/30m")
    seed(ep, monkeypatch, running=1, recorded=old, instance_tags={"Name": "ecs"})
    ev, d = doctor(ep)
    iid = ev.instances[0].ec2_instance_id
    assert finding(d, "agent-config-drift").evidence == (
        f"instance {iid}: ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION=3h (spec: 30m)",)
    assert finding(d, "agent-config-untargeted").evidence == (f"instance {iid} lacks the tag ecs-cluster=media-ec2",)
    assert ids(d, "error") == set() and exit_status(d) == 0  # reported, not fatal


def test_missing_service_and_missing_cluster_are_clear_errors(ep, monkeypatch):
    client("ecs", ep).create_cluster(clusterName=VIDEO.service.cluster)
    ev, d = doctor(ep)
    assert [f.id for f in d.findings] == ["service-not-found"] and exit_status(d) == 1
    assert "video-api-service not found in cluster media-ec2" in d.summary
    reset(ep)
    _, d = doctor(ep)
    assert [f.id for f in d.findings] == ["cluster-not-found"] and exit_status(d) == 1


def test_fargate_reasons_from_a_built_snapshot():
    """Reasons moto cannot produce for Fargate tasks (network, memory), diagnosed from hand-built
    evidence: `diagnose` is pure."""
    c = ServiceConfig.model_validate({**VIDEO.model_dump(), "service": {
        **VIDEO.service.model_dump(), "launch_type": "FARGATE", "secrets": {}}})
    deployment = Deployment("ecs-svc/1", "PRIMARY", "IN_PROGRESS", "", 2, 0, 2, 3, "video-api-stg:8", (), "", "")
    snap = Snapshot("video-api", "stg", ACCOUNT, REGION, PipelineStatus("video-api-stg", False),
                    ServiceStatus("media-ec2", "video-api-service", True, "", "ACTIVE", "FARGATE", 2, 0, 2,
                                  (deployment,)))
    network = entry("network-timeout").example
    tasks = (StoppedTask("arn:aws:ecs:t/1", "video-api-stg:8", network, "TaskFailedToStart", "", "", ()),
             StoppedTask("arn:aws:ecs:t/2", "video-api-stg:8", "Essential container in task exited",
                         "EssentialContainerExited", "", "",
                         (StoppedContainer("api", IMAGE, "OutOfMemoryError: Container killed due to memory usage",
                                           137),)),
             StoppedTask("arn:aws:ecs:t/3", "video-api-stg:8", "Something nobody has seen before", "", "", "", ()),
             StoppedTask("arn:aws:ecs:t/4", "video-api-stg:8", "Essential container in task exited",
                         "EssentialContainerExited", "", "", (StoppedContainer("api", IMAGE, "", 1),)))
    ev = Evidence(snap, stopped_tasks=tasks,
                  task_definition=TaskDefinitionInfo("video-api-stg:8", 512, 1024, (), (IMAGE,), (), ()))
    d = diagnose(ev, c)
    assert {"network-timeout", "out-of-memory", "essential-container-exited"} <= ids(d, "error")
    # task 2's exit is explained by its container's reason; task 4's is not
    assert finding(d, "essential-container-exited").evidence == ("task 4: Essential container in task exited",)
    assert "arn:aws:ecs:t/4" in " ".join(finding(d, "essential-container-exited").commands)
    assert "unrecognised-stop-reason" in ids(d, "warning")
    assert not any(f.id.startswith(("agent-config", "placement")) for f in d.findings)  # EC2-only checks


def test_full_disk_on_fargate_points_at_ephemeral_storage_not_the_agent():
    c = ServiceConfig.model_validate({**VIDEO.model_dump(), "service": {
        **VIDEO.service.model_dump(), "launch_type": "FARGATE", "secrets": {}}})
    deployment = Deployment("ecs-svc/1", "PRIMARY", "IN_PROGRESS", "", 1, 0, 1, 1, "video-api-stg:8", (), "", "")
    snap = Snapshot("video-api", "stg", ACCOUNT, REGION, PipelineStatus("video-api-stg", False),
                    ServiceStatus("media-ec2", "video-api-service", True, "", "ACTIVE", "FARGATE", 1, 0, 1,
                                  (deployment,)))
    task = StoppedTask("arn:aws:ecs:t/1", "video-api-stg:8", entry("disk-full").example, "", "", "", ())
    f = finding(diagnose(Evidence(snap, stopped_tasks=(task,)), c), "disk-full")
    assert f.commands == () and "ephemeralStorage" in f.details[0]
    assert not any("ECS_IMAGE_CLEANUP_INTERVAL" in line for line in f.details)


def test_host_port_taken_everywhere_from_a_built_snapshot():
    deployment = Deployment("ecs-svc/1", "PRIMARY", "IN_PROGRESS", "", 1, 0, 1, 0, "video-api-stg:8", (), "", "")
    snap = Snapshot("video-api", "stg", ACCOUNT, REGION, PipelineStatus("video-api-stg", False),
                    ServiceStatus("media-ec2", "video-api-service", True, "", "ACTIVE", "EC2", 1, 0, 1, (deployment,)))
    busy = Instance("arn:ci/1", "i-1", "ACTIVE", True, 4096, 7000, (22, 8080), None, ())
    ev = Evidence(snap, task_definition=TaskDefinitionInfo("video-api-stg:8", 256, 512, (8080,), (), (), ()),
                  instances=(busy,))
    d = diagnose(ev, VIDEO)
    assert "placement-ports" in ids(d, "error")
    free = Instance("arn:ci/2", "i-2", "ACTIVE", True, 4096, 7000, (22,), None, ())
    assert "placement-ports" not in ids(diagnose(Evidence(snap, task_definition=ev.task_definition,
                                                          instances=(busy, free)), VIDEO))


# --- status ------------------------------------------------------------------------------------

def test_status_shows_deployments_events_and_an_absent_pipeline(ep, monkeypatch):
    seed(ep, monkeypatch)
    event(f"(service {VIDEO.ecs_service_name}) has started 1 tasks: (task 0ea3723c).")
    snap = gather(factory(ep), VIDEO)
    assert not snap.pipeline.found
    assert "pipeline video-api-stg not found in account 111111111111 region ap-northeast-1" in snap.pipeline.notes[0]
    [dep] = snap.ecs.deployments
    assert (dep.status, dep.desired, dep.running, dep.task_definition) == ("PRIMARY", 1, 0, "video-api-stg:1")
    assert dep.images == (f"api={IMAGE}",)
    text = format_status(snap)
    assert "Service video-api-service in cluster media-ec2 (EC2): ACTIVE, 0 of 1 running" in text
    assert f"api={IMAGE}" in text and "has started 1 tasks" in text
    assert json.loads(format_status(snap, "json"))["ecs"]["deployments"][0]["task_definition"] == "video-api-stg:1"


def test_status_lists_pipeline_executions_and_stage_states_or_says_they_are_unavailable(ep, monkeypatch):
    seed(ep, monkeypatch, running=1)
    iam, cp = client("iam", ep), client("codepipeline", ep)
    role = iam.create_role(RoleName="video-api-stg-pipeline", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "codepipeline.amazonaws.com"}}]}))["Role"]["Arn"]
    action = {"name": "Source", "actionTypeId": {"category": "Source", "owner": "AWS", "version": "1",
                                                 "provider": "CodeStarSourceConnection"},
              "outputArtifacts": [{"name": "source"}], "configuration": {}}
    deploy = {"name": "Deploy", "actionTypeId": {"category": "Deploy", "owner": "AWS", "version": "1", "provider": "ECS"},
              "inputArtifacts": [{"name": "source"}], "configuration": {}}
    cp.create_pipeline(pipeline={"name": "video-api-stg", "roleArn": role,
                                 "artifactStore": {"type": "S3", "location": "artifacts-bucket"},
                                 "stages": [{"name": "Source", "actions": [action]},
                                            {"name": "Deploy", "actions": [deploy]}]})
    execution = cp.start_pipeline_execution(name="video-api-stg")["pipelineExecutionId"]
    snap = gather(factory(ep), VIDEO)
    assert snap.pipeline.found and [e.id for e in snap.pipeline.executions] == [execution]
    # the emulator answers GetPipelineState: every declared stage, none reached by a recorded run
    assert [(s.name, s.status) for s in snap.pipeline.stages] == [("Source", ""), ("Deploy", "")]
    assert not snap.pipeline.notes
    assert execution in format_status(snap)
    # a read that fails (here: denied) is said plainly, not an error
    clients = factory(ep)

    def denied(**_):
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "GetPipelineState")

    clients("codepipeline").meta.events.register("before-call.codepipeline.GetPipelineState", denied)
    snap = gather(clients, VIDEO)
    assert [e.id for e in snap.pipeline.executions] == [execution]
    assert any(n.startswith("stage states unavailable") for n in snap.pipeline.notes)


# --- the commands ------------------------------------------------------------------------------

@pytest.fixture
def repo(tmp_path, moto_endpoint):
    """A repository with the example specs whose `--local` emulator is this module's moto server."""
    pytest.importorskip("compiler.local.emulator")
    shutil.copytree(REPO / "services", tmp_path / "services")
    port = int(moto_endpoint.rsplit(":", 1)[-1])
    (tmp_path / ".shipspec").mkdir()
    (tmp_path / ".shipspec" / "local.json").write_text(json.dumps(
        {"pid": 1, "port": port, "endpoint": moto_endpoint, "account": "123456789012"}))
    return tmp_path


def test_doctor_command_exit_status_and_json(ep, monkeypatch, repo):
    seed(ep, monkeypatch)
    stop(ep, "Task failed container health checks")
    result = run_cli("doctor", "video-api", "--env", "stg", "--local", "--format", "json", root=repo)
    assert result.status == 1, result.err
    doc = json.loads(result.out)
    assert doc["healthy"] is False
    assert "container-health-check" in {f["id"] for f in doc["findings"]}
    assert doc["findings"][0]["anchor"].startswith("docs/troubleshooting.md#")


def test_doctor_and_status_commands_on_a_missing_service(ep, repo):
    result = run_cli("doctor", "video-api", "--env", "stg", "--local", root=repo)
    assert result.status == 1
    assert "PROBLEM cluster-not-found" in result.out and "cluster media-ec2 not found" in result.out
    result = run_cli("status", "video-api", "--env", "stg", "--local", root=repo)
    assert result.status == 1 and "Service video-api-service in cluster media-ec2: not found" in result.out


def test_status_command_on_a_healthy_service(ep, monkeypatch, repo):
    seed(ep, monkeypatch, running=1)
    result = run_cli("status", "video-api", "--env", "stg", "--local", root=repo)
    assert result.status == 0, result.err
    assert "1 of 1 running" in result.out and "pipeline video-api-stg not found" in result.out


def test_unknown_environment_is_a_clear_error(repo):
    result = run_cli("doctor", "video-api", "--env", "qa", "--local", root=repo)
    assert result.status == 1 and "has no environment 'qa'" in result.err and "Traceback" not in result.err


@pytest.mark.parametrize("text,expected", [
    ('{"ProviderType":"GitHub","CommitMessage":"Fix the cache key\\n\\nLonger text"}', "Fix the cache key"),
    ("Plain message\nsecond line", "Plain message"),
    ("{not json", "{not json"),
    ("", ""),
])
def test_revision_summaries(text, expected):
    from compiler.ops.status import revision_summary

    assert revision_summary(text) == expected
