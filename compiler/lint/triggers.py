"""Count what can start a pipeline in a CloudFormation template (rule: exactly one).

A Source stage with several actions used to run the pipeline once per push per trigger.
`count_triggers` lists every independent trigger found in a template, so the renderer's
tests and the template lint can insist on exactly one per pipeline:

- a V2 pipeline `Triggers` entry (it replaces default change detection for the source action
  it names, so that action's own DetectChanges is not counted again — AWS: "When a trigger
  configuration is specified, default change detection for repository and branch commits is
  disabled");
- a CodeStarSourceConnection source action whose DetectChanges is true or absent (default true);
- a CodeCommit, S3 or GitHub (version 1) source action whose PollForSourceChanges is true or
  absent (CloudFormation's default is true);
- an `AWS::CodePipeline::Webhook`;
- an enabled `AWS::Events::Rule` with a target whose ARN is a CodePipeline pipeline.

Pure: works on the template dict, no AWS calls.
"""

from __future__ import annotations

import json
from typing import Any

POLLING_PROVIDERS = ("CodeCommit", "S3", "GitHub")


def _flag(config: dict, key: str) -> bool:
    """A boolean action setting; absent means true (the AWS default for both settings)."""
    value = config.get(key, True)
    if isinstance(value, str):
        return value.strip().lower() != "false"
    return bool(value)


def _pipeline_triggers(rid: str, props: dict) -> list[str]:
    out = []
    triggered: set[str] = set()
    for i, trig in enumerate(props.get("Triggers") or []):
        git = (trig or {}).get("GitConfiguration") or {}
        action = git.get("SourceActionName", "?")
        triggered.add(action)
        out.append(f"{rid}: Triggers[{i}] ({trig.get('ProviderType', '?')}) on source action '{action}'")
    for stage in props.get("Stages") or []:
        for action in stage.get("Actions") or []:
            type_id = action.get("ActionTypeId") or {}
            if type_id.get("Category") != "Source":
                continue
            name = action.get("Name", "?")
            provider = type_id.get("Provider")
            config = action.get("Configuration") or {}
            if provider == "CodeStarSourceConnection":
                if name not in triggered and _flag(config, "DetectChanges"):
                    out.append(f"{rid}: source action '{name}' (CodeStarSourceConnection) has DetectChanges on")
            elif provider in POLLING_PROVIDERS:
                if _flag(config, "PollForSourceChanges"):
                    out.append(f"{rid}: source action '{name}' ({provider}) polls (PollForSourceChanges on)")
    return out


def _targets_pipeline(target: dict) -> bool:
    arn: Any = target.get("Arn")
    text = arn if isinstance(arn, str) else json.dumps(arn, sort_keys=True)
    return ":codepipeline:" in text


def count_triggers(template: dict) -> list[str]:
    """One description per thing in `template` that can start a pipeline, in a stable order."""
    out: list[str] = []
    resources = template.get("Resources") or {}
    for rid in sorted(resources):
        res = resources[rid] or {}
        kind = res.get("Type")
        props = res.get("Properties") or {}
        if kind == "AWS::CodePipeline::Pipeline":
            out += _pipeline_triggers(rid, props)
        elif kind == "AWS::CodePipeline::Webhook":
            out.append(f"{rid}: webhook on source action '{props.get('TargetAction', '?')}'")
        elif kind == "AWS::Events::Rule" and props.get("State", "ENABLED") != "DISABLED":
            for target in props.get("Targets") or []:
                if _targets_pipeline(target):
                    out.append(f"{rid}: EventBridge rule targets the pipeline (target '{target.get('Id', '?')}')")
    return out
