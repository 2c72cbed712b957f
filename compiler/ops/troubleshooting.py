"""docs/troubleshooting.md, generated from the table of known failures and the doctor's checks
(deterministic; a test keeps the committed file equal to it)."""

from __future__ import annotations

from .doctor_checks import CHECKS, guide_markdown
from ..core.known_failures import KNOWN_FAILURES


def _commands_md(commands: tuple[str, ...]) -> list[str]:
    return ["", "```sh", *commands, "```"] if commands else []


def troubleshooting_markdown() -> str:
    """docs/troubleshooting.md, generated from the table (deterministic)."""
    lines = [
        "<!-- Generated from compiler/core/known_failures.py and compiler/ops/doctor_checks.py by compiler/ops/troubleshooting.py; do not edit. -->",
        "# Troubleshooting: the pipeline succeeded but no new task started",
        "",
        "Run `shipspec status NAME --env ENV` for the pipeline's latest executions, the service's deployments "
        "and its latest events on one screen, and `shipspec doctor NAME --env ENV` to match the service's "
        "events and its stopped tasks' reasons against the table below and to check the image, the secrets, "
        "the container instances' free capacity and their ECS agent settings. `doctor` exits 0 when the "
        "service is healthy and 1 when it found a problem.",
        "",
        "Precedence: a reason is matched against the entries in this order and the first match wins.",
        "",
        "| Id | Problem | Seen in | Pattern |",
        "|---|---|---|---|",
    ]
    for e in KNOWN_FAILURES:
        pattern = e.pattern.replace("|", "\\|")
        lines.append(f"| [{e.id}](#{e.id}) | {e.title} | {', '.join(e.seen_in)} | `{pattern}` |")
    lines += ["", "## Reasons ECS reports", ""]
    for e in KNOWN_FAILURES:
        only = f" Launch type: {', '.join(e.launch_types)} only." if e.launch_types != ("EC2", "FARGATE") else ""
        lines += [f'<a id="{e.id}"></a>', f"### {e.title} (`{e.id}`)", "",
                  f"Seen in: {', '.join(e.seen_in)}.{only}", "", "```text", e.example, "```", "",
                  f"**What it means.** {e.meaning}", "", f"**How to fix it.** {e.fix}",
                  *_commands_md(e.commands), "", f"AWS documentation: <{e.doc_url}>", ""]
    lines += ["## What the doctor checks besides the reasons", ""]
    for c in CHECKS:
        lines += [f'<a id="{c.id}"></a>', f"### {c.title} (`{c.id}`, {c.severity})", "",
                  f"**What it means.** {c.meaning}", "", f"**How to fix it.** {c.fix}",
                  *_commands_md(c.commands), "", f"AWS documentation: <{c.doc_url}>", ""]
    lines += guide_markdown()
    return "\n".join(lines).rstrip("\n") + "\n"
