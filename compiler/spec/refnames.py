"""Git's rules for branch and tag names, as `git check-ref-format --branch` enforces them.

A branch name git refuses can never be pushed, so a source action, webhook filter or trigger
naming one never fires. `ref_name_problem` says what is wrong with a name (None when git
accepts it); tests/spec/test_refnames.py compares it with git itself.
"""

from __future__ import annotations

_FORBIDDEN = {" ": "a space", "~": "'~'", "^": "'^'", ":": "':'", "?": "'?'", "*": "'*'", "[": "'['",
              "\\": "a backslash"}


def ref_name_problem(name: str, kind: str = "branch") -> str | None:
    """Why git refuses `name` as a `kind` (branch or tag) name, or None."""
    if not name:
        return f"a {kind} name cannot be empty"
    if name == "@":
        return f"'@' alone is not a valid {kind} name"
    if kind == "branch" and name.startswith("-"):
        return "a branch name cannot start with '-'"
    if kind == "branch" and name == "HEAD":
        return "'HEAD' is not a valid branch name"
    for ch in name:
        if ord(ch) < 0o40 or ord(ch) == 0o177:
            return f"a {kind} name cannot contain control characters"
        if ch in _FORBIDDEN:
            extra = " (a glob: name one branch)" if ch in "*?[" and kind == "branch" else ""
            return f"a {kind} name cannot contain {_FORBIDDEN[ch]}{extra}"
    if ".." in name:
        return f"a {kind} name cannot contain '..'"
    if "@{" in name:
        return f"a {kind} name cannot contain '@{{'"
    if name.startswith("/") or name.endswith("/") or "//" in name:
        return f"a {kind} name cannot start or end with '/' or contain '//'"
    if name.endswith("."):
        return f"a {kind} name cannot end with '.'"
    for part in name.split("/"):
        if part.startswith("."):
            return f"no part of a {kind} name may start with '.' ('{part}')"
        if part.endswith(".lock"):
            return f"no part of a {kind} name may end with '.lock' ('{part}')"
    return None
