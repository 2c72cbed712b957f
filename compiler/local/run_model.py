"""What `shipspec local run` hands to the report: one execution of a stored pipeline, by stage and action
(frozen values; compiler/local/pipeline_runner.py makes them, compiler/cli/report_run.py prints them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .pipeline_events import Delivery, Received

# CodePipeline's status words (GetPipelineState, ListPipelineExecutions)
SUCCEEDED, FAILED, IN_PROGRESS, STOPPED = "Succeeded", "Failed", "InProgress", "Stopped"


@dataclass(frozen=True)
class RunOptions:
    sources: dict[str, Path]  # "" -> the primary source action's repository; action name -> repository
    approval: str  # "approve", "reject", or "" (wait for an answer: the terminal, or PutApprovalResult)
    emit: Callable[[str], None]  # progress lines, as they happen
    ask: Optional[Callable[[str], str]] = None  # a terminal prompt for approvals (None without a terminal)
    poll_seconds: float = 0.5  # how often a waiting approval is read back
    tools: tuple[Path, ...] = ()  # directories of stand-ins put first on every build's PATH (--tools)


@dataclass(frozen=True)
class ActionRun:
    stage: str
    name: str
    category: str
    provider: str
    run_order: int
    status: str  # Succeeded, Failed
    started: str  # ISO 8601, UTC
    seconds: float
    summary: str  # what it did, in one line (the revision read, what it exported, the approval)
    error: str = ""  # why it failed
    variables: dict[str, str] = field(default_factory=dict)  # what it published in its namespace
    log: str = ""  # its log file
    log_tail: tuple[str, ...] = ()  # the last lines of the log, for a failed action


@dataclass(frozen=True)
class StageRun:
    name: str
    status: str  # Succeeded, Failed; "" when the run did not reach it
    started: str
    seconds: float
    actions: tuple[ActionRun, ...]


@dataclass(frozen=True)
class RunResult:
    pipeline: str
    execution_id: str
    status: str  # Succeeded, Failed, Stopped
    started: str
    seconds: float
    account: str
    region: str
    endpoint: str
    trigger: str
    stages: tuple[StageRun, ...]
    events: tuple[str, ...]  # every event emitted, in order ("pipeline STARTED", "stage Build FAILED", ...)
    deliveries: tuple[Delivery, ...]  # the events a rule matched, and what their targets did
    received: tuple[Received, ...]  # what the notification topics delivered (read back from SQS)
    failure: str  # "Stage/Action: why", "" when it succeeded
    logs: str  # the directory holding every action's log

    @property
    def succeeded(self) -> bool:
        return self.status == SUCCEEDED
