"""Block YAML written straight to text, byte for byte what PyYAML's emitter writes for the same tree.

Only for documents `yamlemit.c_emittable` accepted and only for what is certain here: a non-empty
dict at the top; dicts with short printable-ASCII str keys; lists; str, int, bool, None and float
scalars. Anything else (another type, a key or string outside those patterns, a style this module
does not write such as double quotes, a tag PyYAML would have to write) makes `emit` return None and
the caller dumps through PyYAML instead.

The rules replicated (PyYAML's Emitter with width=120, indent 2, allow_unicode, block style, the
`|` presenter for strings with a line break):
- mapping values: `key: scalar`, `key:` then the nested mapping two columns deeper, `key:` then the
  list's `- ` items at the key's own column (sequences in mappings are not indented), `key: {}` and
  `key: []` for empty ones; list items: `- scalar`, `- key: ...` and `- - ...` on the item's line;
- a plain scalar unless analyze_scalar forbids it (leading/trailing space, indicators at the start,
  `: ` or a final `:`, ` #`, a `---`/`...` start) or the implicit resolver would read it as
  something else than a string (`true`, `1e3`, `~`, `2001-12-14`, `<<`, `=`, ''), else single quotes
  (`'` doubled); plain and single-quoted values folded at single spaces once past column 120;
- strings with line breaks as `|` / `|-` literal blocks two columns deeper, empty lines left empty.
"""

from __future__ import annotations

import re
from typing import Any

from .yamlemit import _patterns

_WIDTH = 120  # PyYAML's best_width for width=120
_STR = "tag:yaml.org,2002:str"
_INF = float("inf")
# analyze_scalar's block indicators for one printable line (the only whitespace there is ' '): a
# document marker or indicator first, '?', ':' or '-' alone or before a space, ': ' or a final ':'
# anywhere, ' #' anywhere; leading and trailing spaces forbid plain as well.
_NOT_PLAIN = re.compile(r"\A(?:---|\.\.\.|[#,\[\]{}&*!|>'\"%@`]|[?:-](?: |\Z)| )|: |:\Z| #| \Z")


class _Refuse(Exception):
    """A construct this emitter does not write: the caller falls back to PyYAML."""


# Strings longer than this are not remembered: the scripts and buildspecs templates embed are
# different for every service and run to kilobytes, so remembering them only held memory (a worker
# of a 5,000-service build grew by hundreds of megabytes).
_REMEMBERED = 512


class TextEmitter:
    """Writes documents for one resolver table (the dumper's), remembering per-string decisions."""

    def __init__(self, resolvers: dict) -> None:
        self._resolvers = resolvers
        self._values: dict[str, tuple[str, str]] = {}   # string -> (style, text without folding)
        self._keys: dict[str, str] = {}                  # key -> text
        self._others: dict[Any, str] = {}                # (type, value) -> plain text
        self._long: dict[tuple[str, int, int], str] = {}  # (string, column, indent) -> block or folded text

    def emit(self, data: Any) -> str | None:
        """The YAML document for `data`, or None when it must go through PyYAML."""
        if type(data) is not dict or not data:
            return None
        if len(self._values) > 200_000:
            self._values.clear()
            self._keys.clear()
            self._others.clear()
        if len(self._long) > 20_000:
            self._long.clear()
        out: list[str] = []
        try:
            self._mapping(data, 0, out)
        except _Refuse:
            return None
        return "".join(out)

    # Structure.

    def _mapping(self, d: dict, m: int, out: list[str]) -> None:
        """A non-empty block mapping at column m; the cursor already stands at its first key."""
        pad = " " * m
        first = True
        for k, v in d.items():
            key = self._keys.get(k) if type(k) is str else None
            if key is None:
                key = self._key(k)
            if first:
                first = False
                out.append(key + ":")
            else:
                out.append(pad + key + ":")
            t = type(v)
            if t is dict:
                if v:
                    out.append("\n" + pad + "  ")
                    self._mapping(v, m + 2, out)
                else:
                    out.append(" {}\n")
            elif t is list:
                if v:
                    out.append("\n" + pad)
                    self._sequence(v, m, out)
                else:
                    out.append(" []\n")
            else:
                out.append(self._scalar(v, m + len(key) + 1, m + 2))

    def _sequence(self, items: list, s: int, out: list[str]) -> None:
        """A non-empty block sequence at column s; the cursor already stands at its first '-'."""
        pad = " " * s
        first = True
        for v in items:
            if first:
                first = False
                out.append("-")
            else:
                out.append(pad + "-")
            t = type(v)
            if t is dict and v:
                out.append(" ")
                self._mapping(v, s + 2, out)
            elif t is list and v:
                out.append(" ")
                self._sequence(v, s + 2, out)
            elif t is dict:
                out.append(" {}\n")
            elif t is list:
                out.append(" []\n")
            else:
                out.append(self._scalar(v, s + 1, s + 2))

    # Scalars.

    def _scalar(self, v: Any, col: int, indent: int) -> str:
        """` value` plus its line break(s), written after column `col`; folded or block lines at `indent`."""
        if type(v) is str:
            memo = self._values.get(v)
            if memo is None:
                memo = self._value_style(v)
                if len(v) <= _REMEMBERED:
                    self._values[v] = memo
            style, text = memo
            if style != "|" and col + 1 + len(text) <= _WIDTH:  # too short to fold
                return " " + text + "\n"
            where = (v, col, indent)
            done = self._long.get(where)
            if done is None:
                done = (_literal(text, indent) if style == "|" else (
                    _fold_plain(text, col, indent) if style == "" else _fold_single(v, col, indent)) + "\n")
                if len(v) <= _REMEMBERED:
                    self._long[where] = done
            return done
        if type(v) is float:  # not remembered: 0.0 == -0.0 and nan != nan
            return " " + self._other(v) + "\n"
        if type(v) not in (int, bool, type(None)):
            raise _Refuse  # anything else (a set, a subclass, bytes): PyYAML's own path decides
        key = (type(v), v)
        text = self._others.get(key)
        if text is None:
            text = self._others[key] = self._other(v)
        return " " + text + "\n"

    def _value_style(self, s: str) -> tuple[str, str]:
        line, _, block = _patterns(s.isascii())
        if "\n" in s:
            # The presenter asks for '|'; a block pattern string (no leading space or break, no
            # trailing spaces on any line, at most one final break) is allowed one, unhinted.
            if s.endswith("\n\n") or not block.match(s):
                raise _Refuse
            return "|", s
        if not line.match(s):
            raise _Refuse
        return self._flow_style(s)

    def _flow_style(self, s: str) -> tuple[str, str]:
        """Plain or single-quoted for one printable line: choose_scalar_style for a str event."""
        if s and not _NOT_PLAIN.search(s) and self._resolve(s) == _STR:
            return "", s
        return "'", "'" + s.replace("'", "''") + "'"

    def _key(self, k: Any) -> str:
        if type(k) is not str or not _patterns(True)[1].match(k):  # 1-100 printable ASCII: a simple key
            raise _Refuse
        text = self._keys[k] = self._flow_style(k)[1]
        return text

    def _other(self, v: Any) -> str:
        """int, bool, None and float as SafeRepresenter writes them; refused unless plain and untagged."""
        t = type(v)
        if t is bool:
            text, tag = ("true" if v else "false"), "tag:yaml.org,2002:bool"
        elif v is None:
            text, tag = "null", "tag:yaml.org,2002:null"
        elif t is int:
            text, tag = str(v), "tag:yaml.org,2002:int"
        elif t is float:
            text, tag = _float_text(v), "tag:yaml.org,2002:float"
        else:
            raise _Refuse
        if _NOT_PLAIN.search(text) or self._resolve(text) != tag:
            raise _Refuse
        return text

    def _resolve(self, value: str) -> str:
        """BaseResolver.resolve for a plain scalar (implicit=(True, False)), no path resolvers."""
        table = self._resolvers
        for tag, regexp in table.get(value[0] if value else "", []) + table.get(None, []):
            if regexp.match(value):
                return tag
        return _STR


def _float_text(v: float) -> str:
    if v != v:
        return ".nan"
    if v == _INF:
        return ".inf"
    if v == -_INF:
        return "-.inf"
    text = repr(v).lower()
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)
    return text


def _literal(text: str, indent: int) -> str:
    """write_literal for a block-pattern string: `|` keeps its one final break, `|-` has none."""
    head = " |\n" if text.endswith("\n") else " |-\n"
    pad = " " * indent
    lines = (text[:-1] if text.endswith("\n") else text).split("\n")
    return head + "".join(pad + line + "\n" if line else "\n" for line in lines)


def _fold_plain(text: str, col: int, indent: int) -> str:
    """write_plain(split=True) for one line after column `col`: a lone space past the width breaks."""
    out = [" "]
    column = col + 1
    start = 0
    spaces = False
    for end in range(len(text) + 1):
        ch = text[end] if end < len(text) else None
        if spaces:
            if ch != " ":
                if start + 1 == end and column > _WIDTH:
                    out.append("\n" + " " * indent)
                    column = indent
                else:
                    out.append(text[start:end])
                    column += end - start
                start = end
        elif ch is None or ch == " ":
            out.append(text[start:end])
            column += end - start
            start = end
        spaces = ch == " "
    return "".join(out)


def _fold_single(text: str, col: int, indent: int) -> str:
    """write_single_quoted(split=True) for one line: quotes doubled, never breaking at either end."""
    out = [" '"]
    column = col + 2
    start = 0
    spaces = False
    n = len(text)
    for end in range(n + 1):
        ch = text[end] if end < n else None
        if spaces:
            if ch != " ":
                if start + 1 == end and column > _WIDTH and start != 0 and end != n:
                    out.append("\n" + " " * indent)
                    column = indent
                else:
                    out.append(text[start:end])
                    column += end - start
                start = end
        elif (ch is None or ch == " " or ch == "'") and start < end:
            out.append(text[start:end])
            column += end - start
            start = end
        if ch == "'":
            out.append("''")
            column += 2
            start = end + 1
        spaces = ch == " "
    out.append("'")
    return "".join(out)
