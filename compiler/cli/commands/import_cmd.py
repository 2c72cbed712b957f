"""Write services/<name>.yaml from a pipeline that exists: CloudFormation templates on disk
(`shipspec import pipeline.yml --notification notify.yml --env stg`; several environments as
ENV=FILE), deployed stacks (`--stack [ENV=]NAME`, read with GetTemplate and DescribeStacks), or an
AWS Copilot workspace (`--copilot copilot/`). The report says, for every field, where it came from
(template line -> spec path), what was defaulted, what the spec cannot say (with what to do) and how
the generated pipeline will differ from the original. Nothing is written when anything fails, and
an existing spec is replaced only with --force. Environments must be declared in
services/_defaults.yaml (account and region)."""

from __future__ import annotations

NAME = "import"
HELP = "write a spec from existing pipeline templates, stacks or an AWS Copilot workspace, with a report"


def configure(p) -> None:
    p.add_argument("templates", nargs="*", metavar="[ENV=]TEMPLATE",
                   help="pipeline template file(s) (YAML or JSON); ENV= names its environment (default: --env)")
    p.add_argument("--env", metavar="ENV", help="environment of the templates or stacks given without ENV=")
    p.add_argument("--notification", action="append", default=[], metavar="[ENV=]TEMPLATE",
                   help="the pipeline's notification template (EventBridge rule -> Lambda/SNS)")
    p.add_argument("--stack", action="append", default=[], metavar="[ENV=]STACK",
                   help="read a deployed pipeline stack instead of a file (GetTemplate, DescribeStacks)")
    p.add_argument("--notification-stack", action="append", default=[], metavar="[ENV=]STACK",
                   help="read a deployed notification stack")
    p.add_argument("--param", action="append", default=[], metavar="[ENV:]KEY=VALUE",
                   help="a template parameter's value (overrides its Default and a stack's value)")
    p.add_argument("--copilot", metavar="DIR", help="import an AWS Copilot workspace (the copilot/ directory)")
    p.add_argument("--pipeline", metavar="NAME", help="with --copilot: the pipeline under copilot/pipelines/ "
                   "(default: the only one)")
    p.add_argument("--env-map", action="append", default=[], metavar="COPILOT_ENV=ENV",
                   help="with --copilot: the shipspec environment of a Copilot environment (default: the same name)")
    p.add_argument("--connection-arn", metavar="ARN", help="with --copilot: the CodeConnections connection ARN "
                   "(default: services/_defaults.yaml's source.connection_arn)")
    p.add_argument("--cluster", action="append", default=[], metavar="ENV=CLUSTER",
                   help="with --copilot: the ECS cluster of an environment (Copilot names it itself)")
    p.add_argument("--name", metavar="NAME", help="service name (default: from the pipeline's name)")
    p.add_argument("--ecr-repository", metavar="NAME", help="the ECR repository, when the template does not say it")
    p.add_argument("--force", action="store_true", help="replace an existing services/<name>.yaml")
    p.add_argument("--dry-run", action="store_true", help="print the report and the spec; write nothing")
    p.add_argument("--format", choices=("text", "json"), default="text", help="report format (default: text)")
    p.add_argument("--local", action="store_true", help="with --stack: read from the local emulator")
    p.add_argument("--role-name", metavar="ROLE", help="with --stack: IAM role to assume in the account")


def _split(arg: str, default_env: str | None, what: str) -> tuple[str, str]:
    from pathlib import Path

    from ...core.errors import UsageError
    from ...spec.models import ENV_RE
    import re

    head, sep, tail = arg.partition("=")
    if sep and re.match(ENV_RE, head) and not Path(arg).exists():
        return head, tail
    if not default_env:
        raise UsageError(f"{what} {arg}: say its environment, as ENV={arg} or with --env ENV")
    return default_env, arg


def _pairs(items, option: str) -> dict[str, str]:
    from ...core.errors import UsageError

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise UsageError(f"{option} {item}: write KEY=VALUE")
        out[key] = value
    return out


def _params(args) -> dict[str, dict[str, str]]:
    from ...core.errors import UsageError

    out: dict[str, dict[str, str]] = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--param {item}: write KEY=VALUE or ENV:KEY=VALUE")
        env, _, name = key.rpartition(":")
        out.setdefault(env, {})[name] = value
    return out


def _template_inputs(args, console):
    from pathlib import Path

    from ...adopt import tsource
    from ...adopt.importer import TemplateInput, declared_places
    from ...core.errors import UsageError

    pipelines: dict[str, tuple] = {}
    for arg in args.templates:
        env, path = _split(arg, args.env, "template")
        pipelines[env] = ("file", path)
    for arg in args.stack:
        env, name = _split(arg, args.env, "--stack")
        if env in pipelines:
            raise UsageError(f"environment {env} is given twice")
        pipelines[env] = ("stack", name)
    notes: dict[str, tuple] = {}
    for arg in args.notification:
        env, path = _split(arg, args.env, "--notification")
        notes[env] = ("file", path)
    for arg in args.notification_stack:
        env, name = _split(arg, args.env, "--notification-stack")
        notes[env] = ("stack", name)
    if not pipelines:
        raise UsageError("give pipeline templates, --stack or --copilot")
    for env in notes:
        if env not in pipelines:
            raise UsageError(f"a notification for {env}, which has no pipeline template or stack")
    places = declared_places(console.root, list(pipelines))
    params = _params(args)
    reader = _stack_reader(args, console) if any(k == "stack" for k, _ in [*pipelines.values(), *notes.values()]) \
        else None
    out = []

    def load(kind: str, ref: str, env: str):
        if kind == "file":
            return tsource.read(Path(ref), ref), {}, ""
        account, region = places[env]
        template, values = reader(account, region, ref)
        return template, values, ref

    for env, (kind, ref) in pipelines.items():
        template, values, stack = load(kind, ref, env)
        note, nvalues, nstack = (None, {}, "")
        if env in notes:
            note, nvalues, nstack = load(*notes[env], env)
        given = {**params.get("", {}), **params.get(env, {})}
        out.append(TemplateInput(env, template, *places[env], note, {**values, **given}, {**nvalues, **given},
                                 stack, nstack))
    return out


def _stack_reader(args, console):
    from ...adopt.stackread import read_stack
    from ...deploy.aws.errors import aws_errors
    from ...deploy.aws.session import Sessions
    from ._deploy import endpoint

    sessions = Sessions(endpoint(args, console), args.role_name)

    def read(account: str, region: str, name: str):
        sessions.verify(account, region, f"stack {name}")
        with aws_errors(f"cannot read stack {name}"):
            return read_stack(sessions.get(account, region).client("cloudformation"), name)

    return read


def run(args, console) -> int:
    from ...adopt import specwriter
    from ...adopt.importer import import_templates
    from ..report_import import format_import

    if args.copilot:
        from pathlib import Path

        from ...adopt.copilot import CopilotOptions, import_copilot

        results = import_copilot(console.root, Path(args.copilot), CopilotOptions(
            args.pipeline, _pairs(args.env_map, "--env-map"), args.connection_arn, _pairs(args.cluster, "--cluster")))
    else:
        results = [import_templates(console.root, _template_inputs(args, console), args.name, args.ecr_repository)]
    status = 0
    docs = []
    for result in results:
        path = console.root / "services" / f"{result.name}.yaml"
        rel = f"services/{result.name}.yaml"
        envs = ", ".join(result.report.environments)
        written = False
        if args.dry_run:
            note = f"{rel} not written (--dry-run); environments: {envs}"
        elif path.exists() and not args.force:
            note = f"{rel} exists: not written; pass --force to replace it"
            status = 1
        else:
            specwriter.write(path, result.text, force=True)
            written = True
            note = f"{rel} written; environments: {envs}. Next: shipspec check, then shipspec adopt or apply"
        docs.append(format_import(result.report, result.text, args.format, note, written))
        if args.dry_run and args.format == "text":
            docs[-1] += "\n\n" + result.text
    if args.format == "json" and len(docs) != 1:  # one JSON document: a list, one report per spec
        console.print("[\n" + ",\n".join(docs) + "\n]")
    else:
        console.print("\n\n".join(docs))
    return status
