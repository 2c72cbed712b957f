"""Hints for YAML syntax errors: what the parser's message usually means, and the fix.

PyYAML says where it gave up, in its own words ("mapping values are not allowed here",
"expected <block end>, but found ..."). The common causes are few: a plain value holding
`: ` or ending in `:` (e.g. `NOTE: see::`), a line indented more than the line above, which
already has a value (often because that line above was de-indented), and a line whose
indentation matches no enclosing block. Each hint names the line(s) and the fix. Pure.
"""

from __future__ import annotations

import re

_KEY_RE = re.compile(r"""^(\s*)(?:-\s+)*([^\s'"#][^:#]*?|"[^"]*"|'[^']*')\s*:(\s|$)""")


def _significant(lines: list[str], before: int) -> list[tuple[int, str]]:
    """(0-based index, text) of the non-blank, non-comment lines before line index `before`, nearest first."""
    return [(i, lines[i]) for i in range(before - 1, -1, -1)
            if lines[i].strip() and not lines[i].lstrip().startswith("#")]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _content_indent(line: str) -> int:
    """Where a line's content starts, after any `- ` list markers."""
    m = re.match(r"^(\s*(?:-\s+)*)", line)
    return len(m.group(1)) if m else _indent(line)


def _key_and_value(line: str) -> tuple[str, str] | None:
    """(key, value) of a `key: value` line with a scalar value, else None."""
    m = _KEY_RE.match(line)
    if not m:
        return None
    value = line[m.end():].strip()
    return m.group(2).strip(), value


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _colon_in_value(line: str, col: int) -> str | None:
    """The quoting hint when the parser stopped at a colon inside the value of `key: value`."""
    m = _KEY_RE.match(line)
    if not m or col < m.end():  # the colon is this line's own key separator
        return None
    value = line[m.end():].split(" #", 1)[0].strip()
    if not value or value[0] in "'\"[{|>&*!":
        return None
    key = m.group(2).strip()
    return (f"an unquoted value cannot contain ': ' or end with ':' (YAML reads it as another key); quote it: "
            f"`{key}: {_quoted(value)}`")


def _over_indented(lines: list[str], row: int) -> str | None:
    """The hint when line `row` is indented under a line that already has a scalar value."""
    above = _significant(lines, row)
    if not above:
        return None
    prev_row, prev = above[0]
    kv = _key_and_value(prev)
    if kv is None or not kv[1] or kv[1][0] in "|>" or _indent(lines[row]) <= _content_indent(prev):
        return None
    hint = (f"line {row + 1} is indented more than line {prev_row + 1} (`{prev.strip()}`), which already has a "
            f"value, so YAML reads it as part of that value")
    outer = next(((r, t) for r, t in above[1:] if _content_indent(t) < _content_indent(prev)), None)
    block = next(((r, t) for r, t in above[1:] if _content_indent(t) > _content_indent(prev)), None)
    if block is not None and (outer is None or block[0] > outer[0]):
        hint += (f". If line {prev_row + 1} belongs to the block above it, indent it by {_content_indent(block[1])} "
                 f"spaces like line {block[0] + 1}; otherwise indent line {row + 1} by {_content_indent(prev)} "
                 f"spaces like line {prev_row + 1}")
    else:
        hint += f"; indent it by {_content_indent(prev)} spaces like line {prev_row + 1}"
    return hint


def _open_indents(lines: list[str], row: int) -> list[int]:
    """Indentations line `row` could have to continue a block open above it: those of the line
    above and of each line it is nested in (a `- key:` item also at its keys' indentation)."""
    levels: set[int] = set()
    bound = None
    for _i, text in _significant(lines, row):
        ind = _indent(text)
        if bound is not None and ind >= bound:
            continue
        levels.add(ind)
        if ind != _content_indent(text) and _key_and_value(text) is not None:
            levels.add(_content_indent(text))
        bound = ind
        if ind == 0:
            break
    return sorted(levels)


def _bad_indent(lines: list[str], row: int) -> str | None:
    """The hint when line `row`'s indentation matches none of the blocks it could continue."""
    if row >= len(lines):
        return None
    ind = _indent(lines[row])
    levels = _open_indents(lines, row)
    if ind in levels or not levels:
        return None
    shown = [str(n) for n in sorted(set(levels))]
    choices = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
    return (f"line {row + 1} is indented by {ind} space{'s' if ind != 1 else ''}, which matches no block it could "
            f"belong to (the lines above are indented by {choices}); YAML nests by indentation, so align it with "
            "the block it belongs to")


def syntax_hint(text: str, problem: str, line: int, col: int) -> str:
    """A hint for the parser's `problem` at 1-based `line`:`col` of `text` ("" when none applies)."""
    lines = text.splitlines()
    row = line - 1
    here = lines[row] if 0 <= row < len(lines) else ""
    hint = None
    if problem.startswith("mapping values are not allowed"):
        hint = _colon_in_value(here, col - 1) or _over_indented(lines, row)
    elif problem.startswith("expected <block end>") or problem.startswith("did not find expected key"):
        hint = _bad_indent(lines, row) or _over_indented(lines, row)
    elif problem.startswith("found undefined alias"):
        hint = "define the anchor (`&name`) before its first use (`*name`), in the same file"
    return hint or ""
