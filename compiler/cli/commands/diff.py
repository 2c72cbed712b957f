"""Compare the templates `shipspec build` would write now with generated/ at a git revision
(default HEAD) and predict, offline, what CloudFormation would do: per stack, each resource
added, modified or removed, the property paths with before -> after values, whether the
resource would be replaced (from the resource types' createOnlyProperties), and a risk, most
dangerous first. List elements are named by their keys (stages, actions, variables, tags,
statements), and each service's runtime change (what the pipeline does to the running
container) is shown on its own, with the files to copy for build.buildspec: repo. Needs git, no
network and no AWS credentials. A difference is not an error: the exit status is 0.

Bootstrap stacks are shared by every service: they are shown when no NAME is given (with --env,
those of the environment's accounts and regions)."""

from __future__ import annotations

from ._common import add_env, add_names

HELP = "predict the CloudFormation changes since a git revision, offline (replacements, risk)"


def configure(p) -> None:
    add_names(p)
    add_env(p)
    p.add_argument("--base", metavar="REF", default="HEAD",
                   help="git revision whose generated/ to compare with (default: HEAD)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")


def run(args, console) -> int:
    from ...build.compile import compile_project
    from ...core.errors import ShipspecError
    from ...deploy.git import resolve
    from ...deploy.stackdiff import diff_project
    from ...spec.project import load_project
    from ..report_diff import json_report, text_report

    revision = resolve(console.root, args.base)
    project = load_project(console.root, args.names)
    output = compile_project(project)
    diffs = sorted(diff_project(output, revision, args.names, args.env), key=lambda d: d.template)
    if args.env and not diffs:
        known = sorted({s.config.environment.name for s in project.services})
        raise ShipspecError(f"--env {args.env}: no selected service has that environment, now or at "
                            f"{args.base} (environments: {', '.join(known) or 'none'})")
    if args.format == "json":
        console.print(json_report(diffs, args.base, revision.commit))
    else:
        console.print(text_report(diffs, args.base, revision.commit))
    return 0
