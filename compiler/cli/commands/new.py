"""Scaffold a new, valid service spec with comments: services/NAME.yaml."""

from __future__ import annotations

import re

from ...core.errors import ShipspecError, UsageError

HELP = "scaffold services/NAME.yaml"

TEMPLATE = """\
# yaml-language-server: $schema=../schema/service.schema.json
# {name}: edit this spec, run `shipspec build`, and open a pull request.
# Every key is described in the README's spec reference; unknown keys are errors.
version: 1
name: {name}
description: TODO describe {name}
tags:
  team: TODO-team
source:
  provider: codestar                 # codestar | github-token | codecommit | s3
  repository: example-corp/{name}    # owner/repo
  branch: main
{connection}build:
  ecr_repository: media/{name}
  # dockerfile: Dockerfile
  # compute_type: BUILD_GENERAL1_SMALL
service:
  cluster: media                     # the existing ECS cluster
  # container: {name}                # container name in the task definition
  environment:
    LOG_LEVEL: info
  # secrets:                         # name -> Secrets Manager or SSM parameter ARN
  #   DB_PASSWORD: arn:aws:secretsmanager:<region>:<account>:secret:<name>
deploy:
  approval: false
notifications:
  events: [FAILED, SUCCEEDED]
{environments}"""

CONNECTION = ("  # connection_arn comes from services/_defaults.yaml\n", "  connection_arn: arn:aws:codeconnections:"
              "{region}:{account}:connection/00000000-0000-0000-0000-000000000000  # TODO your connection\n")
ENVIRONMENTS = """\
environments:
  prod:
    account: "{account}"             # TODO your account id
    region: {region}
"""


def configure(p) -> None:
    p.add_argument("name", metavar="NAME", help="service name (also the file name)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")


def run(args, console) -> int:
    from ...spec.models import NAME_RE  # pydantic: not on the path of `shipspec --help`
    from ...spec.project import DEFAULTS_FILE, load_project
    from ...spec.yamlsrc import load_file

    if not re.match(NAME_RE, args.name):
        raise UsageError(f"'{args.name}' is not a valid service name: 3-32 lowercase letters, digits and "
                         "hyphens, starting with a letter and not ending with a hyphen")
    path = console.root / "services" / f"{args.name}.yaml"
    if path.exists() and not args.force:
        raise ShipspecError(f"services/{args.name}.yaml already exists (use --force to overwrite)")
    defaults_path = console.root / "services" / DEFAULTS_FILE
    defaults = load_file(defaults_path, f"services/{DEFAULTS_FILE}") if defaults_path.exists() else {}
    has_envs = bool(defaults.get("environments"))
    has_connection = bool((defaults.get("source") or {}).get("connection_arn"))
    fill = {"account": "111111111111", "region": "ap-northeast-1"}
    text = TEMPLATE.format(
        name=args.name,
        connection=CONNECTION[0] if has_connection else CONNECTION[1].format(**fill),
        environments="" if has_envs else ENVIRONMENTS.format(**fill),
    )
    old = path.read_bytes() if path.exists() else None
    path.write_text(text, encoding="utf-8")
    try:
        load_project(console.root, [args.name])
    except Exception:
        if old is None:
            path.unlink()
        else:
            path.write_bytes(old)
        raise
    console.error(f"created services/{args.name}.yaml; fill in the TODOs, then run `shipspec build`")
    return 0
