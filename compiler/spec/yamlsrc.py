"""Load YAML with source positions, safely.

Mappings load as `LDict` and sequences as `LList`: ordinary containers that also
remember where each key and value came from, so every later stage can point at
`file:line:col`. Only the safe YAML subset is accepted; files are size-limited,
alias expansion and nesting depth are bounded, duplicate keys and tabs are errors.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import yaml

from ..core.diagnostics import Diagnostic, Location, SpecError
from .files import MAX_BYTES, read_head  # one home for the size limit (a no-op build reads it without yaml)

MAX_NODES = 20_000  # a real spec has a few hundred nodes; docs/security.md states this number
MAX_DEPTH = 64
MERGE_KEY = ("merge keys ('<<') are not supported: write the keys out, or put values every service shares in "
             "services/_defaults.yaml (an alias of a whole value, such as `- *tests`, works)")
# The tags a collection may carry: the plain ones YAML gives an untagged mapping or sequence.
PLAIN_COLLECTION_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
# The scalar tags the safe constructors build (a value's tag may be written, e.g. !!str or !!binary).
SCALAR_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float", "binary", "timestamp",
                                                           "str"))


class LDict(dict):
    """A dict that remembers where its keys and values came from."""

    __slots__ = ("loc", "key_locs", "value_locs")

    def __init__(self, *args: Any, loc: Location | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.loc = loc
        self.key_locs: dict[str, Location] = {}
        self.value_locs: dict[str, Location] = {}


class LList(list):
    __slots__ = ("loc", "item_locs")

    def __init__(self, *args: Any, loc: Location | None = None):
        super().__init__(*args)
        self.loc = loc
        self.item_locs: list[Location] = []


def _loc(file: str, mark: Any) -> Location:
    return Location(file, mark.line + 1, mark.column + 1)


class _Converter:
    def __init__(self, file: str):
        self.file = file
        self.nodes = 0
        self.errors: list[Diagnostic] = []

    def convert(self, node: yaml.Node, depth: int = 0) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _Abort(
                Diagnostic(_loc(self.file, node.start_mark),
                           f"document expands to more than {MAX_NODES} nodes "
                           "(an alias bomb?); simplify the file")
            )
        if depth > MAX_DEPTH:
            raise _Abort(Diagnostic(_loc(self.file, node.start_mark),
                                    f"nesting deeper than {MAX_DEPTH} levels"))
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in PLAIN_COLLECTION_TAGS:
            # `!!python/object/apply:...`, `!Ref [...]`, `!!set`, `!!omap`: refused as on scalars
            self.errors.append(_unsupported_tag(self.file, node))
            return None
        if isinstance(node, yaml.MappingNode):
            out = LDict(loc=_loc(self.file, node.start_mark))
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag == "tag:yaml.org,2002:merge":
                    self.errors.append(Diagnostic(_loc(self.file, key_node.start_mark), MERGE_KEY))
                    continue
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                    self.errors.append(Diagnostic(_loc(self.file, key_node.start_mark),
                                                  "mapping keys must be plain strings"))
                    continue
                key = key_node.value
                if key == "<<":
                    self.errors.append(Diagnostic(_loc(self.file, key_node.start_mark), MERGE_KEY))
                    continue
                if key in out:
                    first = out.key_locs[key]
                    self.errors.append(Diagnostic(_loc(self.file, key_node.start_mark),
                                                  f"duplicate key '{key}' (first defined at line {first.line}); "
                                                  "remove one of them"))
                    continue
                out[key] = self.convert(value_node, depth + 1)
                out.key_locs[key] = _loc(self.file, key_node.start_mark)
                out.value_locs[key] = _loc(self.file, value_node.start_mark)
            return out
        if isinstance(node, yaml.SequenceNode):
            out_list = LList(loc=_loc(self.file, node.start_mark))
            for item in node.value:
                out_list.append(self.convert(item, depth + 1))
                out_list.item_locs.append(_loc(self.file, item.start_mark))
            return out_list
        if node.tag not in SCALAR_TAGS:
            self.errors.append(_unsupported_tag(self.file, node))
            return None
        return _SafeConstructor.construct_scalar_value(node)


_YAML_TAG = "tag:yaml.org,2002:"


def _unsupported_tag(file: str, node: yaml.Node) -> Diagnostic:
    """The one error for any tag outside the safe subset, on a scalar or a collection alike."""
    tag = "!!" + node.tag[len(_YAML_TAG):] if node.tag.startswith(_YAML_TAG) else node.tag
    return Diagnostic(_loc(file, node.start_mark), f"unsupported YAML tag {tag}; remove the tag "
                      "(specs use plain YAML values only)")


class _Abort(Exception):
    def __init__(self, diag: Diagnostic):
        self.diag = diag


class _SafeConstructor(yaml.SafeLoader):
    _instance: "_SafeConstructor | None" = None

    @classmethod
    def construct_scalar_value(cls, node: yaml.ScalarNode) -> Any:
        if cls._instance is None:
            cls._instance = cls("")
        try:
            value = cls._instance.yaml_constructors[node.tag](cls._instance, node)
        except (KeyError, AttributeError, TypeError, IndexError) as exc:  # `!!bool x`, `!!timestamp x`
            raise ValueError(f"{node.value!r} is not a valid {node.tag.rsplit(':', 1)[-1]}") from exc
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value  # keep dates as written
        return value


def _tab_errors(text: str, file: str) -> list[Diagnostic]:
    errs = []
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip(" ")
        if stripped.startswith("\t"):
            errs.append(Diagnostic(Location(file, n, len(line) - len(stripped) + 1),
                                   "tab character in indentation; YAML indents with spaces only"))
    return errs


_FLOW_TOKENS = re.compile(r"""[\[\]{}'"#\n]""")


def _flow_depth_error(text: str, file: str) -> Diagnostic | None:
    """Find flow nesting ([ and {) deeper than MAX_DEPTH before the parser recurses into it.
    Quoted scalars and comments are skipped; this is a bound, not a parser."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    depth, quote, line, line_start = 0, "", 1, 0
    for m in _FLOW_TOKENS.finditer(text):
        ch, pos = m.group(), m.start()
        if ch == "\n":
            line, line_start = line + 1, pos + 1
            if quote == "#":
                quote = ""
            continue
        if quote:
            if ch == quote and quote != "#":
                quote = ""
            continue
        if ch in "'\"#":
            before = text[line_start:pos].rstrip()
            if ch == "#" and pos > line_start and not text[pos - 1].isspace():
                continue  # part of a plain scalar
            if ch != "#" and before and before[-1] not in ":[{,-?":
                continue  # an apostrophe inside a plain scalar does not open a quote
            quote = ch
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return Diagnostic(Location(file, line, pos - line_start + 1),
                                  f"nesting deeper than {MAX_DEPTH} levels")
        elif depth:
            depth -= 1
    return None


# libyaml composes the same nodes as PyYAML's own parser, fifteen times faster, for text without
# what the two read differently: characters PyYAML refuses, tabs, line breaks other than \n, a byte
# order mark, tags and block scalar headers with more after them (libyaml takes some PyYAML
# refuses), empty values (placed elsewhere: `_has_empty_scalar`). Lines are bounded too, which
# bounds block nesting (every level costs a column or two), so libyaml's recursion stays as
# shallow as PyYAML's (flow nesting: `_flow_depth_error`). The tests fuzz the two against each other.
_C_LOADER = getattr(yaml, "CSafeLoader", None)
_C_MAX_LINE = 200
_NOT_FOR_C_REST = ("|(?:^|[ :?-])[|>][-+0-9]*[^ \n+0-9-]"  # `|#`, `|-#`: libyaml takes them
                   "|(?:^|[ :?,[{-])!")  # a tag
_NOT_FOR_C_ASCII = re.compile("[^\x0a\x20-\x7e]" + _NOT_FOR_C_REST, re.MULTILINE)  # for ASCII text


@functools.lru_cache(maxsize=1)
def _not_for_c() -> re.Pattern:
    """The same for any text; compiled when first needed (its Unicode class takes milliseconds)."""
    return re.compile("[^\x0a\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]" + _NOT_FOR_C_REST,
                      re.MULTILINE)


def for_libyaml(text: str) -> bool:
    """Whether `text` is free of what libyaml and PyYAML read differently (above); empty values
    are found in the tree (`_has_empty_scalar`)."""
    if "?" in text and ("[" in text or "{" in text):  # libyaml reads `[a?b]`, which PyYAML refuses
        return False
    return (max(map(len, text.split("\n"))) <= _C_MAX_LINE
            and not (_NOT_FOR_C_ASCII if text.isascii() else _not_for_c()).search(text))


def _compose(text: str) -> yaml.Node | None:
    """The document's node tree: libyaml's where it is known to be PyYAML's, else PyYAML's (always
    for text libyaml refuses: PyYAML's messages are the ones users see and the golden files hold;
    tests/spec/test_yaml_parsers.py compares the two)."""
    if _C_LOADER is not None and for_libyaml(text):
        try:
            node = yaml.compose(text, Loader=_C_LOADER)
        except yaml.YAMLError:
            node = _EMPTY
        if node is not _EMPTY and not _has_empty_scalar(node):
            return node
    return yaml.compose(text, Loader=yaml.SafeLoader)


_EMPTY = object()


def _has_empty_scalar(node: yaml.Node | None) -> bool:
    """Whether the tree holds an empty scalar (`key:` with no value): libyaml places it elsewhere
    than PyYAML does (the next line, not after the colon), and diagnostics point at it."""
    todo = [node] if node is not None else []
    seen: set[int] = set()  # an alias is the node it names: each node once (an alias bomb is not expanded)
    while todo:
        n = todo.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, yaml.ScalarNode):
            if n.value == "":
                return True
        elif isinstance(n, yaml.SequenceNode):
            todo.extend(n.value)
        else:
            for k, v in n.value:
                todo += (k, v)
    return False


def load_text(text: str, file: str) -> Any:
    """Parse one YAML document; raise SpecError with every problem found."""
    deep = _flow_depth_error(text, file)
    if deep:
        raise SpecError([deep])
    errors = _tab_errors(text, file)
    if errors:
        raise SpecError(errors)
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        raise SpecError([Diagnostic(Location(file, 1, 1), "file is empty; a spec is a YAML mapping")])
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        loc = _loc(file, mark) if mark else Location(file, 1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            problem = f"{exc.problem} ({exc.context})"
        from .yaml_hints import syntax_hint  # error paths only

        hint = syntax_hint(text, exc.problem or "", loc.line, loc.col) if mark else ""
        raise SpecError([Diagnostic(loc, f"YAML syntax error: {problem}" + (f"; {hint}" if hint else ""))]) from None
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: PyYAML on an escape past U+10FFFF
        raise SpecError([Diagnostic(Location(file, 1, 1), f"YAML error: {exc}")]) from None
    except RecursionError:
        raise SpecError([Diagnostic(Location(file, 1, 1),
                                    f"nesting too deep (more than {MAX_DEPTH} levels)")]) from None
    if node is None:
        raise SpecError([Diagnostic(Location(file, 1, 1), "file is empty; a spec is a YAML mapping")])
    conv = _Converter(file)
    try:
        data = conv.convert(node)
    except _Abort as abort:
        raise SpecError([abort.diag]) from None
    except (yaml.YAMLError, ValueError) as exc:
        raise SpecError([Diagnostic(_loc(file, node.start_mark), f"invalid value: {exc}")]) from None
    if conv.errors:
        raise SpecError(conv.errors)
    if not isinstance(data, LDict):
        raise SpecError([Diagnostic(_loc(file, node.start_mark),
                                    f"top level must be a mapping of keys to values, not a {_kind(data)}")])
    return data


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if value is None:
        return "null"
    return type(value).__name__


def read_spec_text(path: Path, display: str) -> str:
    """Read a spec file with a size limit; raise SpecError if unreadable."""
    try:
        raw = read_head(path)
    except OSError as exc:
        raise SpecError([Diagnostic(Location(display), f"cannot read file: {exc.strerror}")]) from None
    if len(raw) > MAX_BYTES:
        raise SpecError([Diagnostic(Location(display),
                                    f"file is larger than {MAX_BYTES // 1000} kB; a spec should be small")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError([Diagnostic(Location(display), f"file is not valid UTF-8 (byte {exc.start})")]) from None


def load_file(path: Path, display: str) -> LDict:
    return load_text(read_spec_text(path, display), display)
