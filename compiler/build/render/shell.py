"""The one way a generated string becomes shell text (the update script, the buildspecs' commands).

`word(value)` is `value` as exactly one shell word, whatever it holds (quotes, `$`, newlines).
`heredoc(command, body, stem)` feeds `body` to `command` through a quoted here-document whose
delimiter is `stem`, or `stem_2`, `stem_3`, ... -- the first that is no line of `body`, so no
text can end the here-document early. The same input always gives the same delimiter, so
outputs stay byte-for-byte stable.
"""

from __future__ import annotations

import shlex


def word(value: str) -> str:
    """`value` as one shell word."""
    return shlex.quote(value)


def heredoc_delimiter(body: str, stem: str) -> str:
    """The first of `stem`, `stem_2`, ... that no line of `body` equals (bash compares whole lines)."""
    lines = set(body.split("\n"))
    delimiter, n = stem, 1
    while delimiter in lines:
        n += 1
        delimiter = f"{stem}_{n}"
    return delimiter


def heredoc(command: str, body: str, stem: str) -> str:
    """`command <<'DELIM'`, `body`, `DELIM`: the lines that run `command` with `body` on its stdin."""
    delimiter = heredoc_delimiter(body, stem)
    text = body if body.endswith("\n") else body + "\n"
    return f"{command} <<'{delimiter}'\n{text}{delimiter}\n"
