"""Pipeline wiring rules (SS301-SS303): variables, CodeBuild environment variables, one trigger.

How SS301 finds what a CodeBuild action exports: the action's `ProjectName` is a Ref to (or the
literal `Name` of) an AWS::CodeBuild::Project in the same template; the project's
`Source.BuildSpec` is either the buildspec itself (inline YAML) or a path in the source
repository (build.buildspec: repo), in which case the file of that name generated beside the
template (generated/<service>/<env>/buildspec.yml or updatespec.yml — what the service
repository is given to commit) is read instead. Its `env.exported-variables` lists what the
action exports.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import yaml

from ..core.arns import parse_secret_ref
from ..core.codepipeline import (
    DECLARED_NAMESPACE,
    OPEN_PROVIDERS,
    PIPELINE_VARIABLES,
    SOURCE_VARIABLES,
    VARIABLE_RE,
)
from ..core.secrets import dynamic_reference, secret_like_name, secret_value
from .rules import Finding, Path, Rule, TemplateDoc, as_list, refs_to, register, resolved_text

ENV_TYPES = ("PLAINTEXT", "PARAMETER_STORE", "SECRETS_MANAGER")
SUBSTITUTION_RE = re.compile(r"[#$]\{[^}]*\}")  # #{Ns.Var} and ${Param} resolve to plain text later


@dataclass(frozen=True)
class Action:
    pipeline: str
    stage: int
    run_order: int
    path: Path
    body: Mapping[str, Any]

    @property
    def name(self) -> str:
        return str(self.body.get("Name", "?"))

    @property
    def provider(self) -> str:
        t = self.body.get("ActionTypeId")
        return str(t.get("Provider", "")) if isinstance(t, Mapping) else ""

    @property
    def category(self) -> str:
        t = self.body.get("ActionTypeId")
        return str(t.get("Category", "")) if isinstance(t, Mapping) else ""

    @property
    def config(self) -> Mapping[str, Any]:
        c = self.body.get("Configuration")
        return c if isinstance(c, Mapping) else {}

    def before(self, other: "Action") -> bool:
        return self.stage < other.stage or (self.stage == other.stage and self.run_order < other.run_order)


def actions(doc: TemplateDoc) -> Iterator[Action]:
    for rid, _res, props in doc.of_type("AWS::CodePipeline::Pipeline"):
        for si, stage in enumerate(as_list(props.get("Stages"))):
            if not isinstance(stage, Mapping):
                continue
            for ai, act in enumerate(as_list(stage.get("Actions"))):
                if isinstance(act, Mapping):
                    order = act.get("RunOrder", 1)
                    yield Action(rid, si, int(order) if str(order).isdigit() else 1,
                                 ("Resources", rid, "Properties", "Stages", si, "Actions", ai), act)


def strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    """Every string below `value` (Fn::Sub templates included), with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from strings(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from strings(v, path + (i,))


def codebuild_project(doc: TemplateDoc, action: Action) -> tuple[str, Mapping] | None:
    target = action.config.get("ProjectName")
    for rid, _res, props in doc.of_type("AWS::CodeBuild::Project"):
        if refs_to(target, rid) or (isinstance(target, str) and props.get("Name") == target):
            return rid, props
    return None


def exported_variables(doc: TemplateDoc, props: Mapping) -> tuple[str, ...] | str:
    """The buildspec's env.exported-variables, or a message saying why they cannot be read."""
    source = props.get("Source")
    spec = source.get("BuildSpec") if isinstance(source, Mapping) else None
    if not isinstance(spec, str) or not spec.strip():
        return "the project has no literal Source.BuildSpec"
    text: str | None = spec
    if "\n" not in spec.strip():  # a path in the source repository: read the generated copy beside us
        text = doc.sibling(spec.strip().rsplit("/", 1)[-1])
        if text is None:
            return f"buildspec {spec.strip()!r} is not among the files generated beside the template"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return f"the buildspec is not YAML ({exc.__class__.__name__})"
    env = data.get("env") if isinstance(data, Mapping) else None
    exported = env.get("exported-variables") if isinstance(env, Mapping) else None
    return tuple(str(v) for v in as_list(exported))


@register
class VariablesHaveProducers(Rule):
    id = "SS301"
    title = "Every #{Namespace.Variable} has an earlier producer"
    description = ("Every #{Namespace.Variable} in an action's configuration (including inside the CodeBuild "
                   "EnvironmentVariables JSON string) is produced by an earlier action (an earlier stage, or "
                   "the same stage with a lower RunOrder) declaring that Namespace, and that action really "
                   "produces the variable: a source action's documented output variables, or a CodeBuild "
                   "action's buildspec env.exported-variables. #{codepipeline.PipelineExecutionId} and "
                   "declared pipeline-level #{variables.NAME} are always available.")
    hint = ("Give the producing action Namespace: <name>, order it before the consumer, and for CodeBuild list "
            "the variable under env.exported-variables in its buildspec.")

    def check(self, doc: TemplateDoc) -> Iterator[Finding]:
        all_actions = list(actions(doc))
        pipeline_vars = {rid: {str(v.get("Name")) for v in as_list(props.get("Variables")) if isinstance(v, Mapping)}
                         for rid, _r, props in doc.of_type("AWS::CodePipeline::Pipeline")}
        for consumer in all_actions:
            for path, text in strings(consumer.config, consumer.path + ("Configuration",)):
                for ns, var in VARIABLE_RE.findall(text):
                    problem = self._problem(doc, all_actions, pipeline_vars, consumer, ns, var)
                    if problem:
                        yield Finding(path, f"{consumer.pipeline} action {consumer.name}: #{{{ns}.{var}}} {problem}")

    def _problem(self, doc, all_actions, pipeline_vars, consumer: Action, ns: str, var: str) -> str | None:
        if ns in PIPELINE_VARIABLES:
            return None if var in PIPELINE_VARIABLES[ns] else f"is not a {ns} variable"
        if ns == DECLARED_NAMESPACE:
            return None if var in pipeline_vars.get(consumer.pipeline, set()) else "is not a declared pipeline variable"
        producers = [a for a in all_actions if a.pipeline == consumer.pipeline and a.body.get("Namespace") == ns]
        if not producers:
            return f"has no action with Namespace {ns}"
        earlier = [a for a in producers if a.before(consumer)]
        if not earlier:
            return f"is produced by {producers[0].name}, which does not run before this action"
        producer = earlier[0]
        if producer.provider in OPEN_PROVIDERS:
            return None
        if producer.category == "Source" or producer.provider in SOURCE_VARIABLES:
            known = SOURCE_VARIABLES.get(producer.provider)
            if known is None:
                return f"cannot be checked: {producer.provider} output variables are not known"
            return None if var in known else f"is not an output of {producer.provider} ({', '.join(known)})"
        if producer.provider == "CodeBuild":
            found = codebuild_project(doc, producer)
            if found is None:
                return f"cannot be checked: {producer.name}'s ProjectName is not a project of this template"
            exported = exported_variables(doc, found[1])
            if isinstance(exported, str):
                return f"cannot be checked: {exported}"
            return None if var in exported else (f"is not exported by {producer.name}'s buildspec "
                                                 f"(env.exported-variables: {', '.join(exported) or 'none'})")
        return f"is not produced: {producer.provider} actions produce no variables"


def _env_var_problems(name: str, value: Any, vtype: Any) -> list[str]:
    if vtype not in ENV_TYPES:
        return [f"{name}: type {vtype!r} is not one of {', '.join(ENV_TYPES)}"]
    text = value if isinstance(value, str) else ""
    ref = SUBSTITUTION_RE.sub("x", text)
    if vtype == "PARAMETER_STORE" and parse_secret_ref(ref, expect="parameter") is None:
        return [f"{name}: {text!r} is not a Parameter Store parameter name or ARN"]
    if vtype == "SECRETS_MANAGER" and parse_secret_ref(ref, expect="secret") is None:
        return [f"{name}: {text!r} is not a Secrets Manager secret id or ARN"]
    if vtype == "PLAINTEXT":
        if secret_value(text):
            return [f"{name}: the PLAINTEXT value looks like a credential"]
        if dynamic_reference(text):
            return [f"{name}: the PLAINTEXT value is a dynamic reference ({{{{resolve:...}}}}), which CloudFormation "
                    "resolves into plain text; use type SECRETS_MANAGER or PARAMETER_STORE"]
        if secret_like_name(name) and not text.startswith("arn:"):
            return [f"{name}: a secret-looking name with a PLAINTEXT value; use SECRETS_MANAGER or "
                    "PARAMETER_STORE"]
    return []


@register
class CodeBuildEnvironmentVariables(Rule):
    id = "SS302"
    title = "CodeBuild environment variables are well-formed and hold no secrets"
    description = ("A CodeBuild action's EnvironmentVariables is a JSON string (not a list) of objects with "
                   "exactly name, value and type; type is PLAINTEXT, PARAMETER_STORE or SECRETS_MANAGER; "
                   "PARAMETER_STORE and SECRETS_MANAGER values are parameter names/ARNs and secret ids/ARNs; "
                   "no PLAINTEXT variable (in an action or a CodeBuild project) has a secret-looking name or "
                   "value, or a dynamic reference ({{resolve:...}}, which CloudFormation resolves into plain text).")
    hint = ('Render the value as a compact JSON string like [{"name":"IMAGE_URI","value":"...","type":"PLAINTEXT"}], '
            "and keep secrets in Secrets Manager or Parameter Store (type SECRETS_MANAGER / PARAMETER_STORE).")

    def check(self, doc: TemplateDoc) -> Iterator[Finding]:
        for act in actions(doc):
            if act.provider != "CodeBuild" or "EnvironmentVariables" not in act.config:
                continue
            path = act.path + ("Configuration", "EnvironmentVariables")
            yield from (Finding(path, f"{act.pipeline} action {act.name}: {p}") for p in self._action_vars(
                act.config["EnvironmentVariables"]))
        for rid, _res, props in doc.of_type("AWS::CodeBuild::Project"):
            env = props.get("Environment")
            for i, var in enumerate(as_list(env.get("EnvironmentVariables") if isinstance(env, Mapping) else None)):
                if isinstance(var, Mapping):
                    for p in _env_var_problems(str(var.get("Name")), var.get("Value"), var.get("Type", "PLAINTEXT")):
                        yield Finding(("Resources", rid, "Properties", "Environment", "EnvironmentVariables", i),
                                      f"{rid}: {p}")

    @staticmethod
    def _action_vars(raw: Any) -> list[str]:
        text = resolved_text(raw)
        if text is None:
            return [f"EnvironmentVariables must be a JSON string, not a {type(raw).__name__}"]
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            return [f"EnvironmentVariables is not valid JSON ({exc.msg})"]
        if not isinstance(items, list):
            return ["EnvironmentVariables must be a JSON list of {name, value, type} objects"]
        out: list[str] = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or set(item) != {"name", "value", "type"}:
                keys = sorted(item) if isinstance(item, dict) else type(item).__name__
                out.append(f"item {i} must have exactly name, value and type (has {keys})")
                continue
            out += _env_var_problems(str(item["name"]), item["value"], item["type"])
        return out


@register
class OneTrigger(Rule):
    id = "SS303"
    title = "Exactly one trigger starts the pipeline"
    description = ("Each pipeline can be started by exactly one thing: one V2 trigger, one change-detecting "
                   "source action, one webhook or one EventBridge rule targeting it (compiler/lint/triggers.py "
                   "counts them). Several triggers run the pipeline once per push per trigger.")
    hint = ("Turn off change detection (DetectChanges/PollForSourceChanges false) on every source action but "
            "the primary, and keep a single webhook, rule or V2 trigger for it.")

    def check(self, doc: TemplateDoc) -> Iterator[Finding]:
        from .triggers import count_triggers

        pipelines = [rid for rid, _r, _p in doc.of_type("AWS::CodePipeline::Pipeline")]
        if not pipelines:
            return
        triggers = count_triggers(dict(doc.data))
        if len(triggers) != len(pipelines):
            found = "; ".join(triggers) or "none"
            yield Finding(("Resources", pipelines[0]), f"{len(triggers)} trigger(s) can start "
                          f"{' and '.join(pipelines)}, expected {len(pipelines)}: {found}")
