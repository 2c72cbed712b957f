"""`shipspec local run`: one execution of a pipeline *as stored in the local emulator* (`get-pipeline`, not
the spec), on this machine, following CodePipeline's semantics:

- stages run in order; in a stage, actions run by `runOrder`, those with the same `runOrder` in
  parallel; when an action fails, the others of its group finish, no later group or stage starts, and
  the stage and the run fail;
- an action reads its input artifacts by name (each must have been written by an earlier action: one
  that is not fails the action, naming it) and writes its output artifacts; variables are resolved and
  published as compiler/local/pipeline_actions.py says;
- every state change is recorded in the emulator (so `status --local`, GetPipelineState and
  GetPipelineExecution read the run back) and emitted as an EventBridge event
  (compiler/local/pipeline_events.py: matched against the stored rules, delivered to the notification
  handler).

Emulator only, like `local seed` and `local deploy`: it refuses unless `.shipspec/local.json` names a
running emulator on a loopback address; every step gets that endpoint and credentials the emulator's STS
issued for the role the step runs as on AWS (the pipeline's role, a project's service role, the
notification function's role). Logs of every action are kept in `.shipspec/runs/<execution id>/`.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..core.errors import ShipspecError
from ..deploy.aws.errors import client_errors, error_code
from ..spec import naming
from . import codebuild_action, git_source, pipeline_actions
from .aws_cli_env import aws_cli, role_credentials
from .pipeline_actions import ActionFailed, Namespaces
from .pipeline_events import Events
from .run_model import FAILED, IN_PROGRESS, STOPPED, SUCCEEDED, ActionRun, RunOptions, RunResult, StageRun

if TYPE_CHECKING:
    from ..spec.models import ServiceConfig

RUNS_DIR = ".shipspec/runs"
ARTIFACT_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")
TAIL_LINES = 25
OPERATION = "CodePipeline_20150709.ShipspecRecordExecution"


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Recorder:
    """Tells the emulator each state change (its ShipspecRecordExecution operation, signed with the
    pipeline role's credentials like any CodePipeline call)."""

    def __init__(self, endpoint: str, region: str, creds: dict, pipeline: str) -> None:
        self.endpoint, self.region, self.creds, self.pipeline = endpoint, region, creds, pipeline

    def __call__(self, **doc: Any) -> dict:
        import urllib.error
        import urllib.request

        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        body = json.dumps({"pipelineName": self.pipeline, **doc})
        request = AWSRequest(method="POST", url=self.endpoint + "/", data=body, headers={
            "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": OPERATION})
        SigV4Auth(Credentials(self.creds["AccessKeyId"], self.creds["SecretAccessKey"], self.creds["SessionToken"]),
                  "codepipeline", self.region).add_auth(request)
        try:
            with urllib.request.urlopen(urllib.request.Request(  # noqa: S310 - the loopback emulator
                    self.endpoint + "/", data=body.encode(), headers=dict(request.headers), method="POST"),
                    timeout=30) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise ShipspecError(f"the emulator did not record the run ({exc.code}: "
                                f"{exc.read().decode(errors='replace')[:300]}); restart it with `shipspec local down` "
                                "and `shipspec local up`") from None


class _Run:
    """One execution in progress (the state the actions share)."""

    def __init__(self, options: RunOptions, record: Recorder, events: Events, cp: Any, world: Any,
                 directory: Path, repositories: dict[str, Path], endpoint: str) -> None:
        self.options, self.record, self.events, self.cp, self.world = options, record, events, cp, world
        self.directory, self.repositories, self.endpoint = directory, repositories, endpoint
        self.artifacts: dict[str, Path] = {}
        self.revisions: list[dict] = []
        self.namespaces: Namespaces | None = None
        self.lock = threading.Lock()

    def input_dirs(self, action: dict) -> dict[str, Path]:
        out = {}
        for item in action.get("inputArtifacts") or []:
            with self.lock:
                found = self.artifacts.get(item["name"])
            if found is None:
                raise ActionFailed(f"input artifact {item['name']} is read before any earlier action wrote it")
            out[item["name"]] = found
        return out

    def output_dir(self, name: str) -> Path:
        if not ARTIFACT_NAME.fullmatch(name):  # CodePipeline's pattern; never a path out of the run's folder
            raise ActionFailed(f"output artifact name {name!r} is not a valid artifact name ([A-Za-z0-9_-]{{1,100}})")
        path = self.directory / "artifacts" / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def action(self, stage: str, action: dict) -> ActionRun:
        name, type_id = action["name"], action.get("actionTypeId") or {}
        category, provider = type_id.get("category", ""), type_id.get("provider", "")
        log_path = self.directory / f"{stage}.{name}.log"
        lines: list[str] = []

        def log(line: str) -> None:
            lines.append(line)
            with open(log_path, "a", encoding="utf-8") as fh:
                fh.write(line + "\n")

        started = time.time()
        self.record(op="action", stageName=stage, actionName=name, pipelineExecutionId=self.world.execution_id,
                    state={"status": IN_PROGRESS})
        self.events.action_state(stage, name, type_id, "STARTED")
        self.options.emit(f"{stage}/{name}: started ({provider})")
        summary, error, variables, outputs, revision = "", "", {}, {}, None
        try:
            assert self.namespaces is not None
            configuration = pipeline_actions.resolve_configuration(action.get("configuration") or {}, self.namespaces)
            inputs = self.input_dirs(action)
            out_names = tuple(o["name"] for o in action.get("outputArtifacts") or [])
            if category == "Source":
                repo = self.repositories[name]
                target = self.output_dir(out_names[0]) if out_names else self.directory / "work" / name
                result = pipeline_actions.run_source(provider, configuration, repo, target)
                variables, revision = result.variables, result.revision
                outputs = {out_names[0]: target} if out_names else {}
                with self.lock:
                    self.revisions.append({"actionName": name, "artifact": out_names[0] if out_names else "",
                                           **result.artifact_revision})
                where = pipeline_actions.repository_of(provider, configuration)
                local = "a throw-away repository" if self.directory in repo.parents else str(repo)
                summary = f"{where} {revision.branch or 'HEAD'} @ {revision.commit[:7]} ({local}): {revision.message}"
                log(f"read {summary}")
            elif provider == "CodeBuild" and category in ("Build", "Test"):
                work = self.directory / "work" / f"{stage}.{name}"
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir(parents=True)
                written: dict[str, Path] = {}

                def write_output(artifact: str) -> Path:
                    written[artifact] = self.output_dir(artifact)
                    return written[artifact]

                built = codebuild_action.run_build(self.world, configuration, inputs, out_names, write_output, work, log)
                if not built.succeeded:
                    raise ActionFailed(built.reason)
                for artifact in out_names:  # what the buildspec declared nothing for: empty
                    if artifact not in written:
                        written[artifact] = self.output_dir(artifact)
                outputs, variables = written, built.exported
                summary = ", ".join(f"{k}={v}" for k, v in sorted(variables.items())) or "build succeeded"
            elif category == "Approval" and provider == "Manual":
                summary = pipeline_actions.run_approval(
                    self.cp, self.world.pipeline, stage, name, configuration, self.options.approval,
                    lambda state: self.record(op="action", stageName=stage, actionName=name,
                                              pipelineExecutionId=self.world.execution_id, state=state),
                    self.options.emit, self.endpoint, self.options.ask, self.options.poll_seconds)
                log(summary)
            else:
                raise ActionFailed(f"the local run cannot run {category} actions of provider {provider}")
            with self.lock:
                self.artifacts.update(outputs)
            if action.get("namespace"):
                self.namespaces.publish(action["namespace"], f"{stage}/{name}", variables)
            status = SUCCEEDED
        except ShipspecError as exc:
            status, error = FAILED, str(exc)
            log(f"FAILED: {error}")
        seconds = time.time() - started
        state = {"status": status, "summary": (summary or error)[:2048]}
        if error:
            state["errorDetails"] = {"code": "JobFailed", "message": error[:2048]}
        if revision is not None:
            state["currentRevision"] = {"revisionId": revision.commit, "revisionChangeId": revision.commit}
        self.record(op="action", stageName=stage, actionName=name, pipelineExecutionId=self.world.execution_id,
                    state=state)
        self.events.action_state(stage, name, type_id, "SUCCEEDED" if status == SUCCEEDED else "FAILED")
        self.options.emit(f"{stage}/{name}: {status} in {seconds:.1f}s" + (f": {error}" if error else ""))
        return ActionRun(stage, name, category, provider, int(action.get("runOrder") or 1), status, _iso(started),
                         seconds, summary, error, dict(variables), str(log_path),
                         tuple(lines[-TAIL_LINES:]) if error else ())

    def stage(self, stage: dict) -> StageRun:
        name = stage["name"]
        started = time.time()
        self.record(op="stage", stageName=name, pipelineExecutionId=self.world.execution_id, status=IN_PROGRESS)
        self.events.stage_state(name, "STARTED")
        runs: list[ActionRun] = []
        actions = stage.get("actions") or []
        for order in sorted({int(a.get("runOrder") or 1) for a in actions}):
            group = [a for a in actions if int(a.get("runOrder") or 1) == order]
            with ThreadPoolExecutor(max_workers=len(group)) as pool:
                done = list(pool.map(lambda a: self.action(name, a), group))
            runs += done
            if any(r.status != SUCCEEDED for r in done):
                break
        status = SUCCEEDED if len(runs) == len(actions) and all(r.status == SUCCEEDED for r in runs) else FAILED
        self.record(op="stage", stageName=name, pipelineExecutionId=self.world.execution_id, status=status)
        self.events.stage_state(name, "SUCCEEDED" if status == SUCCEEDED else "FAILED")
        return StageRun(name, status, _iso(started), time.time() - started, tuple(runs))


def _primary_source(declaration: dict) -> str:
    for trigger in declaration.get("triggers") or []:
        name = (trigger.get("gitConfiguration") or {}).get("sourceActionName")
        if name:
            return name
    for stage in declaration.get("stages") or []:
        for action in stage.get("actions") or []:
            if (action.get("actionTypeId") or {}).get("category") == "Source":
                return action["name"]
    return ""


def _repositories(declaration: dict, options: RunOptions, scratch: Path,
                  primary_files: Callable[[], dict[str, str]]) -> dict[str, Path]:
    """The local repository each source action reads: given, or a throw-away one with its branch."""
    primary = _primary_source(declaration)
    out = {}
    for stage in declaration.get("stages") or []:
        for action in stage.get("actions") or []:
            type_id = action.get("actionTypeId") or {}
            if type_id.get("category") != "Source":
                continue
            name = action["name"]
            given = options.sources.get(name) or (options.sources.get("") if name == primary else None)
            if given is not None:
                out[name] = given
                continue
            branch = pipeline_actions.branch_of(type_id.get("provider", ""), action.get("configuration") or {})
            files = primary_files() if name == primary else {
                "README.md": f"A throw-away repository standing in for the source action {name} "
                             "(shipspec local run).\n"}
            out[name] = git_source.scratch_repository(scratch / name, (branch or "main",), files,
                                                      f"Throw-away commit for {name} (shipspec local run)")
    return out


def default_source_files(c: "ServiceConfig") -> dict[str, str]:
    """The throw-away primary repository: a Dockerfile where the spec builds it, and with
    `build.buildspec: repo` the files the service repository keeps under codepipeline/."""
    from ..build.render.runtime import service_repo_files
    from ..build.render.service_files import REPO_DIR

    files = {c.build.dockerfile: git_source.DOCKERFILE,
             "README.md": f"A throw-away repository for shipspec local run of {c.name} ({c.environment.name}).\n"}
    if c.build.context not in (".", "", "./"):
        files[f"{c.build.context.rstrip('/')}/README.md"] = "The build context.\n"
    if c.build.buildspec == "repo":
        files.update({f"{REPO_DIR}/{name}": text for name, text in service_repo_files(c).items()})
    return files


def run(root: Path, c: "ServiceConfig", options: RunOptions) -> RunResult:
    """Run the stored pipeline of `c` once in the emulator; the run, by stage and action."""
    from .seed import emulator_clients

    endpoint, clients = emulator_clients(root, c, "local run runs pipelines in")
    name, env = naming.pipeline_name(c), c.environment
    cp = clients("codepipeline")
    try:
        stored = cp.get_pipeline(name=name)
    except client_errors() as exc:
        if error_code(exc) == "PipelineNotFoundException":
            raise ShipspecError(f"pipeline {name} is not in the emulator (account {env.account}, region "
                                f"{env.region}): apply it first: shipspec apply --local") from None
        raise
    declaration, version = stored["pipeline"], int(stored["pipeline"].get("version") or 1)
    cli = aws_cli()
    creds = role_credentials(clients("sts"), declaration["roleArn"], "shipspec-local-run")
    record = Recorder(endpoint, env.region, creds, name)
    trigger = {"triggerType": "StartPipelineExecution",
               "triggerDetail": f"arn:aws:sts::{env.account}:assumed-role/shipspec-local/shipspec-local-run"}
    execution_id = record(op="start", trigger=trigger)["pipelineExecutionId"]
    directory = root / RUNS_DIR / execution_id
    directory.mkdir(parents=True)
    started = time.time()
    events = Events(clients, env.account, env.region, name, version, execution_id, trigger, endpoint, cli, options.emit)
    options.emit(f"pipeline {name}: execution {execution_id} started (local emulator {endpoint})")
    store = declaration.get("artifactStore") or {}
    world = codebuild_action.BuildWorld(name, execution_id, env.account, env.region, endpoint, cli, clients,
                                        (*options.tools, codebuild_action.tools_dir(directory / "tools")),
                                        directory / "docker.json",
                                        str(store.get("location", "")))
    repositories = _repositories(declaration, options, directory / "repositories", lambda: default_source_files(c))
    state = _Run(options, record, events, cp, world, directory, repositories, endpoint)
    state.namespaces = pipeline_actions.start_namespaces(execution_id, declaration)
    events.pipeline_state("STARTED")
    stages: list[StageRun] = []
    status = STOPPED
    declared = [a["name"] for st in declaration.get("stages") or [] for a in st.get("actions") or []]
    try:
        recorded = 0
        for stage in declaration.get("stages") or []:
            ran = state.stage(stage)
            stages.append(ran)
            if len(state.revisions) != recorded:  # what the sources read: the execution's revisions
                recorded = len(state.revisions)
                _record_revisions(record, execution_id, state.revisions, declared)
            if ran.status != SUCCEEDED:
                break
        status = SUCCEEDED if stages and all(s.status == SUCCEEDED for s in stages) and \
            len(stages) == len(declaration.get("stages") or []) else FAILED
    finally:
        failure = next((f"{a.stage}/{a.name}: {a.error}" for s in stages for a in s.actions if a.error), "")
        record(op="execution", pipelineExecutionId=execution_id, status=status,
               statusSummary=failure[:2048] if failure else "")
        events.pipeline_state({SUCCEEDED: "SUCCEEDED", FAILED: "FAILED"}.get(status, "STOPPED"))
        shutil.rmtree(directory / "work", ignore_errors=True)
        shutil.rmtree(directory / "repositories", ignore_errors=True)
    reached = {s.name for s in stages}
    stages += [StageRun(s["name"], "", "", 0.0, ()) for s in declaration.get("stages") or [] if s["name"] not in reached]
    return RunResult(name, execution_id, status, _iso(started), time.time() - started, env.account, env.region,
                     endpoint, trigger["triggerType"], tuple(stages),
                     tuple(f"{e['detail-type'].split()[1].lower()} " + _label(e) for e in events.emitted),
                     tuple(events.deliveries), events.read_inbox(), failure, str(directory))


def _label(event: dict) -> str:
    d = event["detail"]
    where = "/".join(x for x in (d.get("stage", ""), d.get("action", "")) if x)
    return f"{where} {d['state']}".strip()


def _record_revisions(record: Recorder, execution_id: str, revisions: list[dict], declared: list[str]) -> None:
    """The revisions the source actions read, in the pipeline's order (the primary source first), not in
    the order parallel actions happened to finish."""
    revisions = sorted(revisions, key=lambda r: declared.index(r["actionName"]))
    artifacts = [{"name": r["artifact"], **{k: r[k] for k in ("revisionId", "revisionSummary", "revisionUrl")}}
                 for r in revisions if r.get("artifact")]
    sources = [{"actionName": r["actionName"], **{k: r[k] for k in ("revisionId", "revisionSummary", "revisionUrl")}}
               for r in revisions]
    record(op="execution", pipelineExecutionId=execution_id, artifactRevisions=artifacts, sourceRevisions=sources)
