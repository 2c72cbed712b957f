"""Scaffold a new, valid service spec: services/NAME.yaml with only what the service decides
(its name, source repository, ECR repository, and ECS cluster, service and container); comments
list what it inherits from services/_defaults.yaml, which it never overrides."""

from __future__ import annotations

import json
import re

from ...core.errors import ShipspecError, UsageError

HELP = "scaffold services/NAME.yaml"

HEADER = """\
# yaml-language-server: $schema=../schema/service.schema.json
# {name}: fill in the TODOs, run `shipspec build`, and open a pull request.
# This spec holds only what the service decides. Everything else comes from
# services/_defaults.yaml (listed below) and the defaults in the README's spec reference;
# set a key here only to change it for this service, under `environments.<env>` for one environment.
"""

# (line, comment) of the body; {name} and the like are filled in, comments aligned
BODY = (
    ("name: {name}", ""),
    ("source:", ""),
    ("  repository: example-corp/{name}", "TODO owner/repo"),
    ("  # branch: main", "the branch that starts the pipeline"),
    ("{connection}", ""),
    ("build:", ""),
    ("  ecr_repository: media/{name}", "TODO the ECR repository the image is pushed to"),
    ("service:", ""),
    ("  cluster: media", "TODO the existing ECS cluster"),
    ("  name: {name}", "the existing ECS service"),
    ("  container: {name}", "its container in the task definition"),
    ("  # environment:", "plain variables (never secrets)"),
    ("  #   LOG_LEVEL: info", ""),
    ("  # secrets:", "name -> Secrets Manager or SSM parameter ARN"),
    ("  #   DB_PASSWORD: arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf", ""),
    ("{environments}", ""),
)
COMMENT_COLUMN = 40
CONNECTION = ("  connection_arn: arn:aws:codeconnections:{region}:{account}:connection/"
              "00000000-0000-0000-0000-000000000000", "TODO your connection")
ENVIRONMENTS = (("environments:", ""), ("  prod:", ""), ('    account: "{account}"', "TODO your account id"),
                ("    region: {region}", ""))
MAX_INHERITED = 40  # lines of the inherited listing; a longer _defaults.yaml is summarised


def configure(p) -> None:
    p.add_argument("name", metavar="NAME", help="service name (also the file name)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")


def _scalar(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    plain = re.fullmatch(r"[A-Za-z/_.][\w./@:+-]*", text) and ": " not in text and not text.endswith(":")
    return text if plain and text.lower() not in ("true", "false", "null", "yes", "no") else json.dumps(text)


def inherited(tree, prefix: str = "") -> list[str]:
    """`dotted.path: value` of every value in a loaded _defaults.yaml, in file order."""
    out: list[str] = []
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out += inherited(value, path + ".")
        elif isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value):
            out.append(f"{path}: [{', '.join(_scalar(v) for v in value)}]")
        elif isinstance(value, list):
            out.append(f"{path}: ({len(value)} entries)")
        else:
            out.append(f"{path}: {_scalar(value) if not isinstance(value, dict) else '{}'}")
    return out


def scaffold(name: str, defaults) -> str:
    """The spec text for a new service `name` under the loaded `defaults` (a mapping, maybe empty)."""
    fill = {"account": "111111111111", "region": "ap-northeast-1"}
    source = defaults.get("source") if isinstance(defaults.get("source"), dict) else {}
    needs_connection = source.get("provider", "codestar") == "codestar" and not source.get("connection_arn")
    text = HEADER.format(name=name)
    lines = inherited(defaults)
    if lines:
        shown = lines[:MAX_INHERITED]
        text += "#\n# Inherited from services/_defaults.yaml:\n" + "".join(f"#   {line}\n" for line in shown)
        if len(lines) > len(shown):
            text += f"#   ... and {len(lines) - len(shown)} more (see services/_defaults.yaml)\n"
    else:
        text += "#\n# There is no services/_defaults.yaml: this spec says where each environment lives.\n"
    for line, comment in BODY:
        if line == "{connection}":
            rows = [CONNECTION] if needs_connection else []
        elif line == "{environments}":
            rows = [] if defaults.get("environments") else list(ENVIRONMENTS)
        else:
            rows = [(line, comment)]
        for code, note in rows:
            code = code.format(name=name, **fill)
            width = max(COMMENT_COLUMN, len(code) + 2)  # a comment needs a space before its `#`
            text += (f"{code:<{width}}# {note}" if note else code) + "\n"
    return text


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
    text = scaffold(args.name, defaults)
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
