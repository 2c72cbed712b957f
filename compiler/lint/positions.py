"""Map a path inside a YAML document (("Resources", "Bucket", "Properties", 0)) to line:col.

The generated files are plain YAML, so PyYAML's `compose` gives every node a start mark.
A path that does not exist in full resolves to its deepest existing ancestor, so a finding
about a missing property points at the resource (or mapping) that lacks it.
"""

from __future__ import annotations

from typing import Sequence, Union

import yaml

PathPart = Union[str, int]


class PositionIndex:
    """Positions of the nodes of one YAML text (1-based line and column)."""

    def __init__(self, text: str):
        try:
            self._root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            self._root = None

    def locate(self, path: Sequence[PathPart]) -> tuple[int, int]:
        """Line and column of the node at `path` (a mapping entry points at its key)."""
        _node, mark = self._walk(path)
        return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)

    def block_scalar_start(self, path: Sequence[PathPart]) -> int | None:
        """First content line (1-based) of a literal block scalar (`key: |`) at exactly `path`."""
        node, _mark = self._walk(path)
        if isinstance(node, yaml.ScalarNode) and node.style == "|" and self._depth == len(path):
            return node.start_mark.line + 2
        return None

    def _walk(self, path: Sequence[PathPart]):
        node = self._root
        self._depth = 0
        if node is None:
            return None, None
        mark = node.start_mark
        for part in path:
            found = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                        found, mark = value, key.start_mark
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                found = node.value[part]
                mark = found.start_mark
            if found is None:
                break
            node = found
            self._depth += 1
        return node, mark
