"""The GitHub Actions workflows as data: each workflow file parsed, and every `shipspec` command line
its run scripts contain (tests/cli/test_workflows.py checks them; tests/deploy/test_gitops_flow.py
runs them)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from support.cli import REPO

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
EXPR = re.compile(r"\$\{\{.*?\}\}", re.S)


def load(path: Path) -> dict:
    doc = yaml.safe_load(path.read_text())
    if True in doc:  # YAML 1.1 reads the key `on` as true
        doc["on"] = doc.pop(True)
    return doc


def workflow(name: str) -> dict:
    return load(REPO / ".github" / "workflows" / name)


def steps(doc: dict):
    for job_id, job in doc["jobs"].items():
        for step in job.get("steps", []):
            yield job_id, step


ARRAY_ASSIGN = re.compile(r"(\w+)\+?=\(([^()]*)\)")
OPERATOR = re.compile(r"^[();<>|&]+$")


def expression_value(text: str) -> str:
    """A stand-in for `${{ ... }}`: its `|| 'default'` when it has one, else a placeholder."""
    def one(m: re.Match) -> str:
        default = re.search(r"\|\|\s*'([^']*)'\s*\}\}$", m.group(0))
        return default.group(1) if default else "PLACEHOLDER"
    return EXPR.sub(one, str(text))


def shell_commands(script: str, env: dict | None = None) -> list[list[str]]:
    """The `shipspec ...` commands of a bash script, as argument lists: continuations joined,
    `${{ }}` replaced by a placeholder, array expansions `"${a[@]}"` replaced by what the script
    puts into the array, `$NAME` by the step's env value when it is known before the run (a
    literal, or an expression's `|| 'default'`: options with choices are checked), pipes,
    lists, redirections and `$(...)` separated."""
    env = {k: expression_value(v) for k, v in (env or {}).items()}
    env = {k: v for k, v in env.items() if "PLACEHOLDER" not in v}  # unknown until run time: keep $NAME
    script = expression_value(script).replace("\\\n", " ")
    arrays: dict[str, list[str]] = {}
    for name, body in ARRAY_ASSIGN.findall(script):
        arrays.setdefault(name, []).extend(shlex.split(body))
    out = []
    for line in script.splitlines():
        lex = shlex.shlex(line, posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        lex.commenters = "#"
        segment: list[str] = []
        segments = [segment]
        for tok in lex:
            if OPERATOR.match(tok):
                if tok[0] in "<>" and segment and segment[-1].isdigit():
                    segment.pop()  # 2>&1: the fd number is no argument
                segment = []
                segments.append(segment)
                skip_target = tok[0] in "<>" and not tok.endswith("&")
                if skip_target:
                    segment.append("\0redirect")
                continue
            if segment and segment[-1] == "\0redirect":
                segment.pop()
                continue
            m = re.fullmatch(r"\$\{(\w+)\[@\]\}", tok)
            var = re.fullmatch(r"\$\{?(\w+)\}?", tok)
            if m:
                segment.extend(arrays.get(m.group(1), []))
            else:
                segment.append(env.get(var.group(1), tok) if var else tok)
        for seg in segments:
            seg = [t for t in seg if t != "\0redirect"]
            if seg and seg[0] == "shipspec":
                out.append(seg[1:])
    return out


def all_shipspec_commands() -> list[tuple[str, list[str]]]:
    found = []
    for path in WORKFLOWS:
        doc = load(path)
        for job_id, step in steps(doc):
            env = {**doc.get("env", {}), **doc["jobs"][job_id].get("env", {}), **step.get("env", {})}
            for argv in shell_commands(step.get("run", ""), env):
                found.append((f"{path.name}:{job_id}", argv))
    return found
