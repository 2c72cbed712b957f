"""Checks of the spec's custom stages (`stages`), each reported at the spec line it concerns.

Names (reserved, duplicate, clashing resource ids), placement (`after: Approval` without an
Approval stage), inputs that do not exist yet at that point, `needs_image` before Build,
pipeline variables (in `environment` values: known namespace, produced before the stage; in
commands: never resolved, so refused with the variable to use instead), secrets references, and
`policy_statements` through the same least-privilege rules `shipspec lint` runs on the template.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..core.codepipeline import (
    ANY_VARIABLE_RE,
    BUILTIN_STAGES,
    MAX_CONFIGURATION_VALUE,
    PIPELINE_NAMESPACES,
    UPDATE_NAMESPACE,
    VARIABLE_RE,
)
from ..core.diagnostics import Diagnostic, dotted
from ..core.iam_policy import statement_problems
from ..core.secrets import secret_like_name
from . import arn_checks
from . import stage_plan as st
from .codebuild_secrets import check_secrets

if TYPE_CHECKING:
    from .loaded import ServiceEnv
    from .models import Stage, StageAction



class _Out:
    """Collects diagnostics at spec paths of one service environment."""

    def __init__(self, s: "ServiceEnv"):
        self.s = s
        self.diags: list[Diagnostic] = []

    def add(self, path: tuple, message: str, key: bool = False, code: str = "") -> None:
        self.diags.append(Diagnostic(self.s.where(*path, key=key), message, dotted(path), code=code))


def check_stages(s: "ServiceEnv") -> list[Diagnostic]:
    out = _Out(s)
    c = s.config
    builtin = {b.lower(): b for b in BUILTIN_STAGES}
    seen: dict[str, int] = {}
    prefixes: dict[str, tuple] = {}
    plans = iter(st.plans(c))  # one per action, in spec order
    for i, stage in enumerate(c.stages):
        path = ("stages", i)
        low = stage.name.lower()
        if low in builtin:
            out.add(path + ("name",), f"'{stage.name}' is the built-in stage {builtin[low]}; choose another name")
        elif low in seen:
            out.add(path + ("name",), f"duplicate stage name '{stage.name}' (also stages[{seen[low]}]; names "
                    "differing only in case count as the same)")
        seen.setdefault(low, i)
        if stage.after == "Approval" and not c.deploy.approval:
            out.add(path + ("after",), f"stage '{stage.name}' is placed after Approval, but environment "
                    f"'{c.environment.name}' has no Approval stage (deploy.approval is false there); set "
                    "deploy.approval: true for it, or place the stage after Build (before anything touches "
                    "the service)")
        actions: dict[str, int] = {}
        for j, action in enumerate(stage.actions):
            apath = path + ("actions", j)
            if action.name.lower() in actions:
                out.add(apath + ("name",), f"duplicate action name '{action.name}' in stage '{stage.name}' (also "
                        f"actions[{actions[action.name.lower()]}]; names differing only in case count as the same)")
            actions.setdefault(action.name.lower(), j)
            prefix = st.logical_prefix(stage.name, action.name).lower()
            other = prefixes.setdefault(prefix, (i, stage.name, action.name))
            if other[0] != i:  # within one stage, the duplicate action name is reported instead
                out.add(apath + ("name",), f"stage '{stage.name}' action '{action.name}' would have the same "
                        f"resource names as stage '{other[1]}' action '{other[2]}' (Stage<stage><action>); rename one")
            _check_action(out, c, next(plans), apath)
    return out.diags


def _check_action(out: _Out, c, plan: st.ActionPlan, path: tuple) -> None:
    stage, action = plan.stage, plan.action
    _check_inputs(out, c, stage, action, path)
    if action.needs_image and not st.has_run(c, stage.after, "Build"):
        out.add(path + ("needs_image",), f"needs_image: the image exists only after Build, but stage "
                f"'{stage.name}' runs after {stage.after}; place the stage after Build or later")
    _check_environment(out, c, stage, action, path)
    _check_commands(out, c, stage, action, path)
    _check_secrets(out, c, action, path)
    _check_statements(out, stage, action, path)
    size = len(st.environment_json(c, plan))
    if size > MAX_CONFIGURATION_VALUE:
        out.add(path + ("environment",), f"the action's EnvironmentVariables would be {size} characters; "
                f"CodePipeline allows {MAX_CONFIGURATION_VALUE}: use fewer values with #{{...}} (plain values "
                "are set on the CodeBuild project and do not count)")


def _check_inputs(out: _Out, c, stage: "Stage", action: "StageAction", path: tuple) -> None:
    available = st.artifacts_after(c, stage.after)
    first: dict[str, int] = {}
    for k, name in enumerate(action.inputs):
        where = path + ("inputs", k)
        if name in first:
            out.add(where, f"input '{name}' is listed twice (also inputs[{first[name]}])")
            continue
        first[name] = k
        if name in available:
            continue
        producer = st.producer_of(c, name)
        if producer is None:
            out.add(where, f"no artifact named '{name}'; inputs can be {', '.join(st.artifacts_after(c, 'Deploy'))} "
                    "(source is the primary source; additional sources by name)")
        else:
            out.add(where, f"input '{name}' does not exist yet: it is produced by {producer}, which runs after "
                    f"stage '{stage.name}' (after: {stage.after}); place the stage after {producer} or later, or "
                    f"read only {', '.join(available)}")


def _variable_problem(c, stage: "Stage", ns: str, var: str) -> str | None:
    available = st.namespaces_after(c, stage.after)
    if ns in available:
        return None if var in available[ns] else f"is not a variable of {ns} ({', '.join(available[ns])})"
    if ns == "BuildVariables":
        return (f"is not produced yet: Build runs after stage '{stage.name}' (after: {stage.after}); place the stage "
                "after Build")
    if ns == UPDATE_NAMESPACE:
        return (f"is not produced yet: UpdateService (the rollout) runs after stage '{stage.name}' (after: "
                f"{stage.after}); place the stage after UpdateService or Deploy")
    if ns == "variables":
        return "is not a declared pipeline variable (shipspec declares none)"
    return f"has no producer: the namespaces here are {', '.join(sorted(available))}"


def _check_environment(out: _Out, c, stage: "Stage", action: "StageAction", path: tuple) -> None:
    for name, value in action.environment.items():
        where = path + ("environment", name)
        if name in st.RESERVED_VARIABLES or name.startswith("CODEBUILD_"):
            out.add(where, f"'{name}' is reserved (shipspec sets {', '.join(st.RESERVED_VARIABLES)}; CodeBuild "
                    "sets CODEBUILD_*); choose another name", key=True)
        elif name in action.secrets:
            out.add(where, f"'{name}' is also under secrets; keep one", key=True)
        elif secret_like_name(name):
            out.add(where, f"'{name}' looks like a secret but is a plain value; move it to secrets as a Secrets "
                    "Manager secret ARN or an SSM parameter", key=True)
        for ref in ANY_VARIABLE_RE.findall(value):
            m = VARIABLE_RE.fullmatch(ref)
            if m is None:
                out.add(where, f"{ref!r} is not a pipeline variable reference; write #{{Namespace.Variable}}")
                continue
            problem = _variable_problem(c, stage, m.group(1), m.group(2))
            if problem:
                out.add(where, f"{ref} {problem}")


def _check_commands(out: _Out, c, stage: "Stage", action: "StageAction", path: tuple) -> None:
    variables = st.builtin_variables(c, stage, action)
    by_expression = {v.expression: v for v in variables}
    for k, command in enumerate(action.commands):
        where = path + ("commands", k)
        for m in VARIABLE_RE.finditer(command):
            if m.group(1) not in PIPELINE_NAMESPACES:
                continue  # e.g. Ruby string interpolation, not a pipeline variable
            known = by_expression.get(m.group(0))
            hint = (f"use ${known.name}" + ("" if known.provided else f" ({known.why_not})") if known
                    else f"add it to environment (e.g. MY_VALUE: \"{m.group(0)}\") and use $MY_VALUE")
            out.add(where, f"{m.group(0)} is not resolved inside commands (CodeBuild runs them as written); {hint}")
        for v in variables:
            if not v.provided and re.search(r"\$\{?" + v.name + r"\b", command):
                out.add(where, f"${v.name} is not set for this action: {v.why_not}")


def _check_secrets(out: _Out, c, action: "StageAction", path: tuple) -> None:
    out.diags += check_secrets(out.s, path + ("secrets",), action.secrets, st.RESERVED_VARIABLES)


def _check_statements(out: _Out, stage: "Stage", action: "StageAction", path: tuple) -> None:
    sids: dict[str, int] = {}
    for k, statement in enumerate(action.policy_statements):
        if statement.Sid in st.ROLE_SIDS:
            out.add(path + ("policy_statements", k, "Sid"), f"Sid '{statement.Sid}' is used by the statements "
                    f"shipspec writes ({', '.join(st.ROLE_SIDS)}); choose another")
        elif statement.Sid in sids:
            out.add(path + ("policy_statements", k, "Sid"), f"duplicate Sid '{statement.Sid}' (also "
                    f"policy_statements[{sids[statement.Sid]}]); IAM requires unique statement ids")
        if statement.Sid:
            sids.setdefault(statement.Sid, k)
        for field in ("Resource", "Condition"):
            for where, text in _texts(getattr(statement, field), path + ("policy_statements", k, field)):
                for name in st.SUBSTITUTION_RE.findall(text):
                    if name.startswith("AWS::") and name not in st.PSEUDO_PARAMETERS:
                        out.add(where, f"${{{name}}} is not substituted; only "
                                f"{', '.join('${' + p + '}' for p in st.PSEUDO_PARAMETERS)} are")
    # The least-privilege rules `shipspec lint` runs on the role (SS101-SS103), here at the spec's line.
    # A wildcard resource (SS102) is accepted only with a Sid and a wildcard_reason (then lint suppresses
    # SS102 for that statement alone); wildcard actions (SS101) and PassRole (SS103) never are.
    role = st.logical_prefix(stage.name, action.name) + "Role"
    for k, statement in enumerate(action.policy_statements):
        spath = path + ("policy_statements", k)
        written = statement.model_dump(exclude_none=True, exclude_defaults=True,
                                       exclude={"allow_cross_account", "wildcard_reason"})  # shipspec's, not IAM's
        problems = statement_problems(written)
        allowed = statement.wildcard_reason is not None
        for p in problems:
            if p.rule == "SS102" and allowed:
                continue
            hint = ("; if the wildcard is intended, give the statement a Sid and a wildcard_reason saying why"
                    if p.rule == "SS102" else "")
            out.add(spath + p.path, f"{role}: {p.message}{hint}", code=p.rule)
        if allowed and not any(p.rule == "SS102" for p in problems):
            out.add(spath + ("wildcard_reason",), "wildcard_reason is set, but the statement has no wildcard "
                    "resource to allow; remove it")
        elif allowed and not statement.Sid:
            out.add(spath + ("wildcard_reason",), "wildcard_reason needs a Sid on the statement: the allowance "
                    "(a lint suppression of SS102) names the statement by its Sid")
        out.diags += arn_checks.check_statement(out.s, spath, statement)


def _texts(value: Any, path: tuple) -> list[tuple[tuple, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, list):
        return [(path + (i,), v) for i, v in enumerate(value) if isinstance(v, str)]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in _texts(v, path + (k,))]
    return []
