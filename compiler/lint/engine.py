"""Lint what `shipspec build` would write: cfn-lint and our rules on every template, the
structural check on every buildspec. Returns Diagnostics positioned in the generated files."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Collection, Mapping, Sequence, TypeVar

import yaml

from ..build.ir import BuildOutput, Stack
from ..core.diagnostics import Diagnostic, Location, dotted
from .positions import PositionIndex
from .registry import all_rules, run_rules
from .rules import Rule, TemplateDoc
from .suppress import Issue, apply, statement_sid, suppressions

T = TypeVar("T")

BUILDSPEC_NAMES = ("buildspec.yml", "updatespec.yml", "deployspec.yml")
CFN_PREFIXES = ("E", "W", "I")


@dataclass(frozen=True)
class Template:
    path: str
    text: str
    region: str


@dataclass(frozen=True)
class LintReport:
    diagnostics: tuple[Diagnostic, ...]
    templates: int
    buildspecs: int
    suppressions: int  # suppressions that silenced a finding, across all templates
    rule_loads: tuple[tuple[int, int], ...] = ()  # (worker pid, cfn-lint rule loads) seen


@dataclass(frozen=True)
class Scope:
    """Part of a build to lint: the stacks of these (service, environment) pairs and the bootstrap
    stacks of these (account, region)s, with the buildspecs generated beside their templates.
    The caller decides which (`lint --changed-since` asks compiler/deploy/affected.py)."""

    pairs: frozenset[tuple[str, str]]
    bootstrap: frozenset[tuple[str, str]] = frozenset()

    @classmethod
    def of(cls, pairs: Collection[tuple[str, str]], bootstrap: Collection[tuple[str, str]] = ()) -> "Scope":
        return cls(frozenset(pairs), frozenset(bootstrap))

    def wants(self, st: Stack) -> bool:
        if st.service:
            return (st.service, st.environment) in self.pairs
        return (st.account, st.region) in self.bootstrap


def _stacks(output: BuildOutput, scope: Scope | None) -> list[Stack]:
    return [st for st in output.stacks if scope is None or scope.wants(st)]


def templates_of(output: BuildOutput, scope: Scope | None = None) -> list[Template]:
    """Every stack template (of `scope`'s stacks, when given) with its stack's region (one entry
    per file), sorted by path."""
    files = output.by_path()
    seen: dict[str, Template] = {}
    for st in _stacks(output, scope):
        if st.template_path in files and st.template_path not in seen:
            seen[st.template_path] = Template(st.template_path, files[st.template_path].content.decode("utf-8"),
                                              st.region)
    return [seen[p] for p in sorted(seen)]


def buildspecs_of(output: BuildOutput, scope: Scope | None = None) -> list[tuple[str, str]]:
    """Every generated buildspec (with `scope`, those in the directory of one of its templates)."""
    dirs = None if scope is None else {st.template_path.rsplit("/", 1)[0] for st in _stacks(output, scope)}
    return [(a.path, a.content.decode("utf-8")) for a in output.artifacts
            if a.path.rsplit("/", 1)[-1] in BUILDSPEC_NAMES and (dirs is None or a.path.rsplit("/", 1)[0] in dirs)]


@dataclass(frozen=True)
class Checked:
    """One template with shipspec's rules run and its positions indexed: everything of its check
    but cfn-lint's issues, which `finish` adds (they come from other processes meanwhile)."""

    template: Template
    failed: tuple[Diagnostic, ...] = ()  # SS000: not YAML, or not a template (nothing else applies)
    issues: tuple[Issue, ...] = ()
    sups: tuple = ()
    index: PositionIndex | None = None
    inline: tuple[Diagnostic, ...] = ()
    data: dict | None = None  # the parsed template (suppressions name statements by Sid)


def prepare(t: Template, files: Mapping[str, bytes], rules: Sequence[Rule] | None = None) -> Checked:
    try:
        data = yaml.safe_load(t.text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        loc = Location(t.path, mark.line + 1, mark.column + 1) if mark else Location(t.path)
        return Checked(t, (Diagnostic(loc, f"not valid YAML: {getattr(exc, 'problem', exc)}", code="SS000"),))
    if not isinstance(data, dict):
        return Checked(t, (Diagnostic(Location(t.path), "not a CloudFormation template (not a mapping)", code="SS000"),))
    doc = TemplateDoc(t.path, data, files, t.region)
    issues = tuple(Issue(code, f.path, f.message)
                   for code, f in run_rules(doc, rules if rules is not None else all_rules()))
    index = PositionIndex(t.text)
    return Checked(t, (), issues, tuple(suppressions(doc)), index, tuple(inline_buildspecs(doc, index)), data)


def finish(c: Checked, cfn_issues: Sequence | None) -> tuple[list[Diagnostic], int]:
    """The template's diagnostics with cfn-lint's issues (None: cfn-lint did not run), and how many
    suppressions were honoured."""
    if c.failed:
        return list(c.failed), 0
    issues = list(c.issues) + [Issue(i.code, tuple(i.path), i.message, i.line, i.col) for i in (cfn_issues or ())]
    kept, honoured = apply(issues, list(c.sups), ("SS",) + (CFN_PREFIXES if cfn_issues is not None else ()),
                           lambda path: statement_sid(c.data, path))
    out = []
    for i in kept:
        line, col = (i.line, i.col) if i.line else c.index.locate(i.path)
        out.append(Diagnostic(Location(c.template.path, line, col), i.message, "", "error", i.code))
    return out + list(c.inline), honoured


def check_template(t: Template, files: Mapping[str, bytes], cfn_issues: Sequence | None,
                   rules: Sequence[Rule] | None = None) -> tuple[list[Diagnostic], int]:
    """Diagnostics for one template (our rules, cfn-lint's issues if given, inline buildspecs), and how
    many suppressions were honoured."""
    return finish(prepare(t, files, rules), cfn_issues)


def alongside(templates: Sequence[Template], files: Mapping[str, bytes], rules: Sequence[Rule],
              work: Callable[[], T]) -> tuple[T, list[Checked]]:
    """`work()` (cfn-lint: in this thread, which its time limit needs) while shipspec's rules check
    `templates` in another thread: the pool's workers and our rules overlap instead of taking turns."""
    done: list[Checked] = []
    failure: list[BaseException] = []

    def ours() -> None:
        try:
            done.extend(prepare(t, files, rules) for t in templates)
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=ours, name="shipspec-rules", daemon=True)
    thread.start()
    try:
        result = work()
    finally:
        thread.join()
    if failure:
        raise failure[0]
    return result, done


# CodeBuild refuses a project whose inline buildspec is longer (an undocumented limit, hit by
# aws-cdk's pipelines: aws/aws-cdk#14974).
INLINE_BUILDSPEC_MAX = 25600


def inline_buildspecs(doc: TemplateDoc, index: PositionIndex) -> list[Diagnostic]:
    """The buildspec check on every CodeBuild project's inline Source.BuildSpec, positioned in the template."""
    from .buildspec_check import check_buildspec

    out = []
    for rid, _res, props in doc.of_type("AWS::CodeBuild::Project"):
        source = props.get("Source")
        spec = source.get("BuildSpec") if isinstance(source, dict) else None
        if not isinstance(spec, str) or "\n" not in spec.strip():
            continue  # a path in the source repository: its generated copy is checked as a file
        path = ("Resources", rid, "Properties", "Source", "BuildSpec")
        key_line, key_col = index.locate(path)
        first = index.block_scalar_start(path)
        if len(spec) > INLINE_BUILDSPEC_MAX:
            out.append(Diagnostic(Location(doc.path, key_line, key_col), f"{rid} inline buildspec: {len(spec)} "
                                  f"characters; CodeBuild accepts at most {INLINE_BUILDSPEC_MAX:,} in a project: "
                                  "shorten it, or keep it in the source repository (build.buildspec: repo)",
                                  dotted(path), "error", "buildspec"))
        for d in check_buildspec(spec, doc.path):
            # Literal block content starts on the next line, indented two columns below the key.
            loc = Location(doc.path, first + d.location.line - 1, key_col + 2 + d.location.col - 1) \
                if first is not None else Location(doc.path, key_line, key_col)
            out.append(Diagnostic(loc, f"{rid} inline buildspec: {d.message}", d.path, d.severity, d.code))
    return out


def lint_output(output: BuildOutput, jobs: int | None = None, timeout: float | None = None,
                scope: Scope | None = None) -> LintReport:
    """Every finding in the generated templates and buildspecs of `output` (of `scope`, when given)."""
    from .buildspec_check import check_buildspec
    from .cfnlint_runner import DEFAULT_TIMEOUT, CfnTask, Pool, lint_templates

    templates = templates_of(output, scope)
    pool = Pool(timeout=timeout or DEFAULT_TIMEOUT) if jobs is None else Pool(jobs=jobs, timeout=timeout or DEFAULT_TIMEOUT)
    files = {a.path: a.content for a in output.artifacts}
    results, checked = alongside(templates, files, all_rules(),
                                 lambda: lint_templates([CfnTask(t.path, t.text, t.region) for t in templates], pool))
    diags: list[Diagnostic] = []
    honoured = 0
    for c, res in zip(checked, results):
        found, n = finish(c, res.issues)
        diags += found
        honoured += n
    specs = buildspecs_of(output, scope)
    for path, text in specs:
        diags += check_buildspec(text, path)
    loads = tuple(sorted({(r.pid, r.rule_loads) for r in results}))
    return LintReport(tuple(sorted(set(diags))), len(templates), len(specs), honoured, loads)
