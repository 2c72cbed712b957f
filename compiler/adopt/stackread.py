"""Read a deployed stack for `shipspec import --stack` and `shipspec adopt`: its template as
deployed (GetTemplate, stage Original) and its parameter values (DescribeStacks; NoEcho values come
back masked and stay unknown). The CloudFormation client is passed in."""

from __future__ import annotations

import json

from ..core.errors import ShipspecError
from ..deploy.aws.changesets import describe_stack
from . import tsource


def read_stack(cfn, name: str) -> tuple[tsource.Template, dict[str, str]]:
    """(template, parameter values) of the deployed stack `name`; ShipspecError when it does not exist."""
    state = describe_stack(cfn, name)
    if not state.exists:
        raise ShipspecError(f"stack {name} does not exist (in this account and region)")
    body = cfn.get_template(StackName=state.stack_id or name, TemplateStage="Original").get("TemplateBody")
    text = json.dumps(body, indent=1) if isinstance(body, dict) else str(body or "")
    template = tsource.parse(text, f"stack {name}")
    desc = cfn.describe_stacks(StackName=state.stack_id or name)["Stacks"][0]
    secret = {k for k, v in template.parameters.items()
              if isinstance(v, dict) and str(v.get("NoEcho", "")).lower() == "true"}
    values = {p["ParameterKey"]: p.get("ResolvedValue") or p.get("ParameterValue", "")
              for p in desc.get("Parameters") or () if "ParameterKey" in p and p["ParameterKey"] not in secret}
    return template, values  # NoEcho values stay unknown: AWS masks them, and a secret never enters a spec
