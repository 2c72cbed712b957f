"""Arguments and set-up shared by `status` and `doctor` (light at import time)."""

from __future__ import annotations

import argparse

from ...core.errors import ShipspecError


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="service name (services/NAME.yaml)")
    p.add_argument("--env", metavar="ENV", required=True, help="environment")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    p.add_argument("--local", action="store_true",
                   help="read from the local emulator started by `shipspec local up` instead of AWS")
    p.add_argument("--role-name", metavar="ROLE",
                   help="IAM role to assume in the environment's account (default: $SHIPSPEC_ROLE_NAME)")


def service_config(root, name: str, env: str):
    """The validated ServiceConfig of NAME in ENV (SpecError for invalid specs)."""
    from ...spec.project import load_project

    project = load_project(root, [name])
    configs = {s.config.environment.name: s.config for s in project.services if s.config.name == name}
    if env not in configs:
        raise ShipspecError(f"service {name} has no environment '{env}'; it has: {', '.join(sorted(configs))}")
    return configs[env]


def gather(args, console, what: str, read):
    """(config, what `read(clients, config)` gathered) for NAME in ENV; AWS failures become one line
    saying what could not be read."""
    from ...deploy.aws.errors import aws_errors
    from ...ops.clients import client_factory
    from ._deploy import endpoint

    config = service_config(console.root, args.name, args.env)
    factory = client_factory(endpoint(args, console), config, args.role_name)
    with aws_errors(f"cannot read the {what} of {args.name} ({args.env})"):
        return config, read(factory, config)
