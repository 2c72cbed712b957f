"""Run a local AWS emulator (moto's server) for `--local`: `up` starts it on a free loopback
port in the background and records it in .shipspec/local.json, `down` stops it, `status` says
whether it answers. Everything is loopback-only and uses throw-away credentials.
`up --api-latency-ms MS --change-set-seconds S` models AWS's latency (every call answered MS ms
late; change sets CREATE_IN_PROGRESS for S s, as AWS computes them asynchronously), to exercise
the waits and measure `--jobs`; by default the emulator answers at once.
`seed NAME --env ENV [--broken KIND]` creates demo data in the emulator only: the ECS cluster, task
definition and service of that spec/env (healthy, or with stopped tasks failing for KIND), so that
`status --local` and `doctor --local` have something to look at. `deploy NAME --env ENV [--outcome
succeed|fail|rollback|hang] [--reason KIND]` runs the pipeline's UpdateService and Deploy steps (the
generated scripts, with the AWS CLI) against the emulator only, which ends the rollout as asked;
exit 1 when the Deploy step fails. `run NAME --env ENV [--source [ACTION=]DIR] [--approve|--reject]`
runs the pipeline as stored in the emulator, end to end, on this machine (sources from local git
repositories, builds with the AWS CLI and a stand-in docker, approvals, the rollout, the notifications);
exit 0 when the run succeeded, 1 when it failed."""

from __future__ import annotations

NAME = "local"
HELP = "start, stop or check the local AWS emulator used by --local"


def configure(p) -> None:
    import argparse
    from pathlib import Path

    sub = p.add_subparsers(dest="action", required=True, parser_class=type(p))
    parsers = {
        "up": sub.add_parser("up", help="start the emulator (if it is not running)"),
        "down": sub.add_parser("down", help="stop the emulator"),
        "status": sub.add_parser("status", help="whether the emulator answers"),
        "seed": sub.add_parser("seed", help="demo ECS data for NAME/ENV in the emulator (never AWS)",
                               description="Create demo data in the local emulator only: the ECS cluster, image, "
                               "task definition and service of NAME in ENV, so that `status --local` and "
                               "`doctor --local` find it. Refuses unless `shipspec local up` is running."),
        "deploy": sub.add_parser("deploy", help="run UpdateService and Deploy for NAME/ENV in the emulator (never AWS)",
                                 description="Run the pipeline's UpdateService and Deploy steps on this machine "
                                 "against the local emulator only: the generated update_taskdefinition.sh (a new "
                                 "revision and one rollout), then follow_deployment.sh with what it exported, with the "
                                 "AWS CLI. The emulator ends the rollout as --outcome says. Exit status: the Deploy "
                                 "step's. Refuses unless `shipspec local up` is running."),
        "run": sub.add_parser("run", help="run NAME/ENV's pipeline, as stored in the emulator, end to end (never AWS)",
                              description="Run the pipeline of NAME in ENV as the emulator stores it (apply "
                              "--local first), on this machine: stages in order, actions by run order (parallel "
                              "ones together), artifacts and variables passed as CodePipeline passes them. "
                              "Source actions read local git repositories; CodeBuild actions run the project's "
                              "buildspec with the AWS CLI against the emulator and a stand-in docker that pushes "
                              "an image manifest to the emulator's ECR; the Deploy step follows the rollout. "
                              "Every state change is recorded in the emulator (status --local shows it) and "
                              "emitted as an EventBridge event; events the notification rule matches go through "
                              "the notification handler to SNS, and are read back from an SQS inbox. Exit 0 "
                              "when the run succeeded, 1 when it failed. Refuses unless `shipspec local up` "
                              "is running."),
    }
    for sp in parsers.values():
        sp.add_argument("--root", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        sp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    upp = parsers["up"]
    upp.add_argument("--api-latency-ms", metavar="MS", type=int, default=None,
                     help="answer every AWS API call MS milliseconds late, like a network round trip (default 0)")
    upp.add_argument("--change-set-seconds", metavar="S", type=float, default=None,
                     help="keep each new change set CREATE_IN_PROGRESS for S seconds, as AWS computes change "
                     "sets asynchronously (default 0: ready at once)")
    seed = parsers["seed"]
    seed.add_argument("name", metavar="NAME", help="service name (services/NAME.yaml)")
    seed.add_argument("--env", metavar="ENV", required=True, help="environment")
    seed.add_argument("--broken", metavar="KIND", choices=_broken_kinds(),
                      help="also make the service fail the way a known failure does, e.g. pull (image tag missing "
                      "from ECR) or disk-full; one of: " + ", ".join(_broken_kinds()))


    deploy = parsers["deploy"]
    deploy.add_argument("name", metavar="NAME", help="service name (services/NAME.yaml)")
    deploy.add_argument("--env", metavar="ENV", required=True, help="environment")
    deploy.add_argument("--image", metavar="URI", default="",
                        help="IMAGE_URI to deploy (default: the image `local seed` pushed)")
    deploy.add_argument("--outcome", choices=("succeed", "fail", "rollback", "hang"), default="succeed",
                        help="how the emulator ends the rollout: succeed, fail (the circuit breaker stops it), "
                        "rollback (the circuit breaker rolls it back; the service is stable on the old revision) "
                        "or hang (in progress; the Deploy step gives up after 5 seconds, then try `shipspec "
                        "rollback`)")
    deploy.add_argument("--reason", metavar="KIND", choices=_failure_kinds(), default="",
                        help="the known failure the failing tasks report (fail, rollback), e.g. image-not-found")


    run = parsers["run"]
    run.add_argument("name", metavar="NAME", help="service name (services/NAME.yaml)")
    run.add_argument("--env", metavar="ENV", required=True, help="environment")
    run.add_argument("--source", metavar="[ACTION=]DIR", action="append", default=[],
                     help="local git repository the primary source action reads (at the branch it names); "
                     "ACTION=DIR for another source action; default: a throw-away repository with a Dockerfile "
                     "(and, with build.buildspec: repo, the generated codepipeline/ files)")
    run.add_argument("--tools", metavar="DIR", action="append", type=Path, default=[],
                     help="a directory of stand-ins put first on every build's PATH, for what exists only in "
                     "AWS (a curl for a smoke test's host, ...); may be repeated")
    answer = run.add_mutually_exclusive_group()
    answer.add_argument("--approve", action="store_true", help="approve every manual approval of the run")
    answer.add_argument("--reject", action="store_true", help="reject every manual approval of the run")
    run.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")


def _sources(values: list[str]) -> dict:
    from pathlib import Path

    from ...core.errors import UsageError

    out: dict = {}
    for value in values:
        action, sep, path = value.partition("=")
        key, directory = (action, path) if sep and action and "/" not in action else ("", value)
        if key in out:
            raise UsageError(f"--source {value}: {'the primary source' if not key else key} is given twice")
        out[key] = Path(directory).expanduser().resolve()
    return out


def _run(args, console) -> int:
    import sys

    from ...deploy.aws.errors import aws_errors
    from ...local import pipeline_runner
    from ...local.run_model import RunOptions
    from ..report_run import format_run
    from ._ops import service_config

    config = service_config(console.root, args.name, args.env)
    approval = "approve" if args.approve else "reject" if args.reject else ""
    ask = None
    if not approval and sys.stdin.isatty() and console.interactive:
        def ask(prompt: str) -> str:
            console.error(prompt)
            return sys.stdin.readline()
    tools = tuple(t.expanduser().resolve() for t in args.tools)
    missing = [str(t) for t in tools if not t.is_dir()]
    if missing:
        from ...core.errors import UsageError

        raise UsageError(f"--tools {', '.join(missing)}: not a directory")
    options = RunOptions(_sources(args.source), approval, console.error, ask, tools=tools)
    with aws_errors(f"cannot run the pipeline of {args.name} ({args.env}) in the local emulator"):
        result = pipeline_runner.run(console.root, config, options)
    console.print(format_run(result, args.format, str(console.root)))
    where = f"{args.name} --env {args.env} --local"
    if args.format == "text":
        console.error(f"the run {'succeeded' if result.succeeded else 'failed'}; next: shipspec status {where}")
    return 0 if result.succeeded else 1


def _failure_kinds() -> tuple[str, ...]:
    from ...core.known_failures import KNOWN_FAILURES

    return tuple(e.id for e in KNOWN_FAILURES if e.severity == "error" and "stopped task" in e.seen_in)


def _deploy(args, console) -> int:
    from ...deploy.aws.errors import aws_errors
    from ...local import pipeline_run
    from ._ops import service_config

    config = service_config(console.root, args.name, args.env)
    with aws_errors(f"cannot run the rollout of {args.name} ({args.env}) in the local emulator"):
        result = pipeline_run.run(console.root, config, args.image, args.outcome, args.reason, console.print)
    where = f"{args.name} --env {args.env} --local"
    if result.status == 0:
        console.print(f"the rollout succeeded; next: shipspec status {where}")
    else:
        console.error(f"the {'Deploy' if result.update_status == 0 else 'UpdateService'} step failed (exit "
                      f"{result.status}); next: shipspec status {where}; shipspec doctor {where}")
    return result.status


def _broken_kinds() -> tuple[str, ...]:
    from ...local.reasons import broken_kinds  # light: the parser is built for every command

    return broken_kinds()


def _seed(args, console) -> int:
    from ...deploy.aws.errors import aws_errors
    from ...local import seed as local_seed
    from ._ops import service_config

    config = service_config(console.root, args.name, args.env)
    plan = local_seed.plan_seed(config, args.broken or "")
    endpoint, clients = local_seed.emulator_clients(console.root, config)
    with aws_errors(f"cannot seed {args.name} ({args.env}) in the local emulator"):
        result = local_seed.seed(clients, plan, endpoint)
    console.print(local_seed.report(plan, result))
    return 0


def _latency(args):
    """The latency model asked for, or None when neither option was given (keep what runs)."""
    from ...core.errors import UsageError
    from ...local.emuserver import Latency

    ms, seconds = args.api_latency_ms, args.change_set_seconds
    if ms is None and seconds is None:
        return None
    if (ms or 0) < 0 or (seconds or 0) < 0 or (seconds or 0) > 600:
        raise UsageError("--api-latency-ms must be >= 0 and --change-set-seconds between 0 and 600")
    return Latency(ms or 0, float(seconds or 0))


def run(args, console) -> int:
    from ...local import emulator as localemu

    root = console.root
    if args.action == "seed":
        return _seed(args, console)
    if args.action == "deploy":
        return _deploy(args, console)
    if args.action == "run":
        return _run(args, console)
    if args.action == "up":
        state, started = localemu.up(root, _latency(args))
        verb = "started" if started else "already running"
        console.error(f"local emulator {verb} at {state.endpoint} (pid {state.pid}, {state.latency.describe()}); "
                      f"use --local with plan, apply and bootstrap; `shipspec local down` stops it")
        console.print(state.endpoint)
        return 0
    if args.action == "down":
        state = localemu.down(root)
        console.error("local emulator stopped" + (f" (pid {state.pid})" if state else "") if state
                      else "no local emulator recorded in " + localemu.STATE_FILE)
        return 0
    state, ok = localemu.status(root)
    if state is None:
        console.print("not running")
        return 1
    console.print(f"{'running' if ok else 'not answering'}: {state.endpoint} (pid {state.pid}, "
                  f"{state.latency.describe()})")
    return 0 if ok else 1
