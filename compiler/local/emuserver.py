"""The local emulator's process (`shipspec local up` runs `python -m compiler.local.emuserver`):
moto's server, with changes that bring it closer to AWS.

- **Templates are parsed by libyaml.** moto reads every template it is sent with PyYAML's
  pure-Python loader, which is most of its CPU time in a plan. The process swaps in a loader with
  the same constructors (full loader semantics, moto's tag constructor) on the C parser: the same
  documents, several times faster.
- **An optional latency model.** moto answers at once; AWS does not. `--api-latency-ms N` answers
  every API request after N ms (a round trip plus service time), and `--change-set-seconds S` keeps
  each new change set `CREATE_IN_PROGRESS` (execution status `UNAVAILABLE`) for S seconds, as AWS
  computes change sets asynchronously; executing it before then fails with
  `InvalidChangeSetStatus`, as on AWS, and it lists no changes. Both default to 0 (moto's instant answers). The waits sleep,
  so they cost no CPU: they exercise the polling paths and make `--jobs` measurable on the emulator.
- **ECS service deployments**, which moto lacks: UpdateService starts one, and the rollout ends as
  the service's tags ask (compiler/local/service_deployments.py says what is modelled and why).
- **Pipelines, CodeBuild projects and webhooks** that stacks declare, which moto's CloudFormation
  skips, are created, updated and deleted with their stacks through moto's CodePipeline and CodeBuild
  backends (webhooks kept beside them): `get-pipeline`, `batch-get-projects`, `list-webhooks` read them
  back (compiler/local/pipeline_resources.py has the mapping of template properties to the API).
- **Resource import and retained deletion** (`shipspec adopt`): modelled in compiler/local/cfn_import.py, whose notes say
  what and why.
- **Pipeline executions**: `shipspec local run` runs a stored pipeline on this machine and records each
  state change here, so GetPipelineState, GetPipelineExecution, ListPipelineExecutions and
  PutApprovalResult answer as on AWS; EventBridge's TestEventPattern matches with moto's matcher
  (compiler/local/pipeline_executions.py).
- **CloudFormation drift detection**, which moto lacks: DetectStackDrift,
  DescribeStackDriftDetectionStatus and DescribeStackResourceDrifts, comparing each stack's
  template with the live resources moto keeps (`compiler/local/emudrift.py` says which types and
  properties). A detection stays in progress for the latency model's change-set time.

This module imports moto: only the emulator process loads it.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable

PATCHED = "_shipspec_patched"


def model_resource_import() -> None:
    """Import by name (compiler/local/cfn_import.py, for `shipspec adopt`), with the pipeline resources
    it binds (compiler/local/pipeline_resources.py)."""
    from .cfn_import import install

    install()


def install_models() -> None:
    """Everything the emulator adds to moto, in this process (idempotent): the emulator server calls
    it, and tests running moto in-process."""
    from .pipeline_executions import install as model_pipeline_executions
    from .service_deployments_api import install as install_service_deployments

    install_service_deployments()
    model_resource_import()
    model_pipeline_executions()


@dataclass(frozen=True)
class Latency:
    api_ms: int = 0  # added before every AWS API answer (not moto's own /moto-api/ paths)
    change_set_seconds: float = 0.0  # a new change set is CREATE_IN_PROGRESS for this long

    @property
    def none(self) -> bool:
        return self.api_ms <= 0 and self.change_set_seconds <= 0

    def cli_args(self) -> list[str]:
        """The options saying this model, to this module and to `shipspec local up` alike."""
        return ["--api-latency-ms", str(self.api_ms), "--change-set-seconds", str(self.change_set_seconds)]

    def to_json(self) -> dict:
        return {"api_latency_ms": self.api_ms, "change_set_seconds": self.change_set_seconds}

    @classmethod
    def from_json(cls, doc: dict) -> "Latency":
        return cls(int(doc.get("api_latency_ms", 0)), float(doc.get("change_set_seconds", 0.0)))

    def describe(self) -> str:
        if self.none:
            return "instant answers"
        return f"{self.api_ms} ms per API call, change sets ready after {self.change_set_seconds:g} s"


def fast_template_parsing() -> None:
    """moto parses templates with `yaml.Loader` (pure Python): make that name a libyaml loader
    with the same constructors, in this process only."""
    import yaml

    loader = libyaml_loader()
    if loader is not None and not getattr(yaml.Loader, PATCHED, False):
        yaml.Loader = loader  # type: ignore[misc]


def libyaml_loader() -> type | None:
    """PyYAML's `Loader` (Constructor + Resolver) on the C parser, with moto's tag constructor;
    None without libyaml."""
    import yaml
    from moto.cloudformation.utils import yaml_tag_constructor

    c_loader = getattr(yaml, "CLoader", None)
    if c_loader is None:
        return None

    class Loader(c_loader):  # type: ignore[misc, valid-type]
        pass

    setattr(Loader, PATCHED, True)
    Loader.add_multi_constructor("", yaml_tag_constructor)
    return Loader


def change_set_delay(seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
    """New change sets report CREATE_IN_PROGRESS until `seconds` after their creation."""
    from moto.cloudformation import models
    from moto.cloudformation.exceptions import CloudFormationError

    cls = models.ChangeSet
    if seconds <= 0 or getattr(cls, PATCHED, False):
        return
    setattr(cls, PATCHED, True)
    init = cls.__init__

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._ready_at = clock() + seconds
        init(self, *args, **kwargs)

    def pending(self) -> bool:
        return clock() < getattr(self, "_ready_at", 0.0)

    def field(name: str, while_pending: Any) -> property:
        def get(self):
            return (list(while_pending) if isinstance(while_pending, list) else while_pending) if pending(self) \
                else self.__dict__.get(name)

        def put(self, value) -> None:
            self.__dict__[name] = value

        return property(get, put)

    cls.__init__ = __init__
    cls.status = field("status", "CREATE_IN_PROGRESS")
    cls.execution_status = field("execution_status", "UNAVAILABLE")
    cls.status_reason = field("status_reason", None)
    cls.changes = field("changes", [])  # AWS lists no changes until the change set is computed

    class InvalidChangeSetStatus(CloudFormationError):
        code = "InvalidChangeSetStatus"

    backend = models.CloudFormationBackend
    execute = backend.execute_change_set

    def execute_change_set(self, change_set_name: str, stack_name: str | None = None) -> None:
        found = self.change_sets.get(change_set_name) or next(
            (c for c in self.change_sets.values() if c.change_set_name == change_set_name), None)
        if found is not None and pending(found):
            raise InvalidChangeSetStatus(f"ChangeSet [{found.change_set_id}] cannot be executed in its current "
                                         "status of [CREATE_IN_PROGRESS]")
        return execute(self, change_set_name, stack_name)

    backend.execute_change_set = execute_change_set


def with_api_latency(app: Callable, milliseconds: int, sleep: Callable[[float], None] = time.sleep) -> Callable:
    """A WSGI app that answers AWS API requests `milliseconds` later (moto's /moto-api/ at once)."""
    if milliseconds <= 0:
        return app

    def delayed(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
            sleep(milliseconds / 1000)
        return app(environ, start_response)

    return delayed


def parse_args(argv: list[str]) -> tuple[str, int, Latency]:
    p = argparse.ArgumentParser(prog="python -m compiler.local.emuserver", description=__doc__.split("\n\n")[0])
    p.add_argument("-H", "--host", default="127.0.0.1")
    p.add_argument("-p", "--port", type=int, required=True)
    p.add_argument("--api-latency-ms", type=int, default=0)
    p.add_argument("--change-set-seconds", type=float, default=0.0)
    a = p.parse_args(argv)
    return a.host, a.port, Latency(max(0, a.api_latency_ms), max(0.0, a.change_set_seconds))


def main(argv: list[str] | None = None) -> None:
    host, port, latency = parse_args(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("MOTO_PORT", str(port))
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import run_simple

    fast_template_parsing()
    change_set_delay(latency.change_set_seconds)
    install_models()
    from .emudrift import install as drift_detection

    drift_detection(latency.change_set_seconds)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    print(f"shipspec emulator on http://{host}:{port}: {latency.describe()}", file=sys.stderr, flush=True)
    run_simple(host, port, with_api_latency(app, latency.api_ms), threaded=True,
               request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
