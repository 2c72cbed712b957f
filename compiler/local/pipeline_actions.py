"""How `shipspec local run` runs each kind of action, and resolves `#{Namespace.Variable}` references,
following CodePipeline's action reference:

- **Variables** are resolved in every configuration value before the action runs:
  `#{codepipeline.PipelineExecutionId}`, `#{variables.NAME}` (the pipeline's declared variables, their
  default values), and `#{Namespace.NAME}` published by an earlier action with that `Namespace`. A
  namespace no earlier action published, or a variable it did not publish (a CodeBuild action publishes
  only its `exported-variables`), fails the action, naming the reference.
- **Source actions** (CodeStarSourceConnection, GitHub, CodeCommit, S3) read a local git repository
  (compiler/local/git_source.py) at the branch the action names, and publish the provider's output
  variables (compiler/core/codepipeline.py lists them).
- **CodeBuild** (Build or Test category): compiler/local/codebuild_action.py.
- **Manual approval**: waits until it is answered with PutApprovalResult (the run itself answers for
  `--approve`/`--reject`; a person may answer at the terminal or with the AWS CLI). Approved succeeds,
  rejected fails the action.

Any other provider fails the action, saying the local run cannot run it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..core.codepipeline import DECLARED_NAMESPACE, PIPELINE_NAMESPACE, SOURCE_VARIABLES, VARIABLE_RE
from ..core.errors import ShipspecError
from .git_source import SourceRevision, checkout

BRANCH_KEYS = {"CodeStarSourceConnection": "BranchName", "CodeCommit": "BranchName", "GitHub": "Branch"}


class ActionFailed(ShipspecError):
    """The action failed; the message says why."""


@dataclass
class Namespaces:
    """Variables published so far in one run: namespace -> (publishing action, variables). Thread-safe."""

    values: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, namespace: str, action: str, variables: dict[str, str]) -> None:
        with self._lock:
            self.values[namespace] = (action, dict(variables))

    def resolve(self, text: str) -> str:
        def one(match: Any) -> str:
            namespace, name = match.group(1), match.group(2)
            with self._lock:
                found = self.values.get(namespace)
            if found is None:
                raise ActionFailed(f"variable #{{{namespace}.{name}}} cannot be resolved: no earlier action of this "
                                   f"run published the namespace {namespace}")
            action, variables = found
            if name not in variables:
                raise ActionFailed(f"variable #{{{namespace}.{name}}} cannot be resolved: {action} published "
                                   f"{namespace} without {name} (it has: {', '.join(sorted(variables)) or 'nothing'}"
                                   ")")
            return variables[name]

        return VARIABLE_RE.sub(one, text)


def start_namespaces(execution_id: str, declaration: dict) -> Namespaces:
    ns = Namespaces()
    ns.publish(PIPELINE_NAMESPACE, "the pipeline", {"PipelineExecutionId": execution_id})
    declared = {v["name"]: str(v.get("defaultValue", "")) for v in declaration.get("variables") or []}
    ns.publish(DECLARED_NAMESPACE, "the pipeline's variables", declared)
    return ns


def resolve_configuration(configuration: dict, namespaces: Namespaces) -> dict:
    return {k: namespaces.resolve(v) if isinstance(v, str) else v for k, v in configuration.items()}


def branch_of(provider: str, configuration: dict) -> str:
    key = BRANCH_KEYS.get(provider)
    return str(configuration.get(key, "")) if key else ""


def repository_of(provider: str, configuration: dict) -> str:
    if provider == "CodeStarSourceConnection":
        return str(configuration.get("FullRepositoryId", ""))
    if provider == "GitHub":
        return f"{configuration.get('Owner', '')}/{configuration.get('Repo', '')}"
    if provider == "CodeCommit":
        return str(configuration.get("RepositoryName", ""))
    if provider == "S3":
        return f"s3://{configuration.get('S3Bucket', '')}/{configuration.get('S3ObjectKey', '')}"
    return ""


@dataclass(frozen=True)
class SourceResult:
    revision: SourceRevision
    variables: dict[str, str]
    artifact_revision: dict  # GetPipelineExecution's artifactRevisions entry (without the name)


def run_source(provider: str, configuration: dict, repository: Path, out: Path) -> SourceResult:
    if provider not in SOURCE_VARIABLES or provider == "ECR":
        raise ActionFailed(f"the local run cannot run source actions of provider {provider}")
    branch = branch_of(provider, configuration)
    rev = checkout(repository, branch, out)
    url = ""
    if provider == "GitHub":
        url = f"https://github.com/{configuration.get('Owner', '')}/{configuration.get('Repo', '')}/commit/{rev.commit}"
    elif provider == "CodeStarSourceConnection":
        url = f"https://github.com/{configuration.get('FullRepositoryId', '')}/commit/{rev.commit}"
    facts = {"AuthorDate": rev.author_date, "BranchName": rev.branch, "CommitId": rev.commit,
             "CommitMessage": rev.message, "CommitterDate": rev.committer_date, "CommitUrl": url,
             "ConnectionArn": str(configuration.get("ConnectionArn", "")),
             "FullRepositoryName": str(configuration.get("FullRepositoryId", "")),
             "RepositoryName": str(configuration.get("Repo") or configuration.get("RepositoryName") or ""),
             "VersionId": rev.commit, "ETag": rev.commit[:32]}
    variables = {k: facts[k] for k in SOURCE_VARIABLES[provider]}
    summary = json.dumps({"ProviderType": "GitHub", "CommitMessage": rev.message}) \
        if provider == "CodeStarSourceConnection" else rev.message
    return SourceResult(rev, variables, {"revisionId": rev.commit, "revisionSummary": summary, "revisionUrl": url})


def run_approval(cp: Any, pipeline: str, stage: str, action: str, configuration: dict, answer: str,
                 record: Callable[[dict], None], emit: Callable[[str], None], endpoint: str,
                 ask: Callable[[str], str] | None, poll_seconds: float) -> str:
    """Wait for the approval's answer; its summary when approved (ActionFailed when rejected)."""
    token = str(uuid.uuid4())
    record({"status": "InProgress", "token": token, "summary": "Waiting for approval",
            "actionExecutionId": str(uuid.uuid4())})
    custom = configuration.get("CustomData")
    emit(f"{stage}/{action}: waiting for approval" + (f" ({custom})" if custom else ""))

    def put(status: str, summary: str) -> None:
        try:
            cp.put_approval_result(pipelineName=pipeline, stageName=stage, actionName=action, token=token,
                                   result={"status": status, "summary": summary})
        except Exception as exc:  # answered already (by another way): the state read below says how
            emit(f"{stage}/{action}: {exc}")

    if answer in ("approve", "reject"):
        status = "Approved" if answer == "approve" else "Rejected"
        put(status, f"{status.lower()} with shipspec local run --{answer}")
    else:
        emit(f"  answer it: aws codepipeline put-approval-result --pipeline-name {pipeline} --stage-name {stage} "
             f"--action-name {action} --token {token} --result summary=...,status=Approved|Rejected "
             f"--endpoint-url {endpoint}")
        if ask is not None:
            def prompt() -> None:
                reply = (ask(f"approve {stage}/{action} of {pipeline}? [y]es / [n]o: ") or "").strip().lower()
                put("Approved" if reply in ("y", "yes") else "Rejected",
                    f"{'approved' if reply in ('y', 'yes') else 'rejected'} at the terminal")

            threading.Thread(target=prompt, daemon=True).start()
    while True:
        state = _action_state(cp, pipeline, stage, action)
        if state.get("status") == "Succeeded":
            return f"approved: {state.get('summary', '')}"
        if state.get("status") == "Failed":
            raise ActionFailed(f"the approval was rejected: {state.get('summary', '')}")
        time.sleep(poll_seconds)


def _action_state(cp: Any, pipeline: str, stage: str, action: str) -> dict:
    for s in cp.get_pipeline_state(name=pipeline).get("stageStates", []):
        if s.get("stageName") == stage:
            for a in s.get("actionStates", []):
                if a.get("actionName") == action:
                    return a.get("latestExecution") or {}
    return {}
