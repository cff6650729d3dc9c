"""YAML rule files -> plain data, with the line and column of every node.

PyYAML is used only to compose a node tree (C parser when available); values
are built here from the nodes so that every key and value keeps its position
for ``file:line:column`` messages, and so that what ``yaml.safe_load`` would
silently accept is refused: duplicate keys (the last one would win), aliases
(a "billion laughs" file expands exponentially) and any tag outside the plain
YAML types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import Problem

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader

Path_ = tuple[str | int, ...]
MAX_DEPTH = 64  # far beyond any real rule; keeps hostile files from exhausting the stack
_BRACKETS = re.compile(r"[\[\]{}]")

_SAFE_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map",
}


@dataclass
class Located:
    """A parsed document plus the position (1-based line, column) of every value and key."""

    file: str
    data: Any = None
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def where(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """Position of ``path`` (of its key when ``key``), else of its closest located parent."""
        if key and path in self.keys:
            return self.keys[path]
        p = path
        while p:
            if p in self.values:
                return self.values[p]
            p = p[:-1]
        return self.values.get((), (1, 1))

    def problem(self, path: Path_, message: str, *, key: bool = False) -> None:
        line, col = self.where(path, key=key)
        self.problems.append(Problem(self.file, line, col, message))


def _pos(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def load_yaml(text: str, file: str) -> Located:
    """Parse one rules file; syntax and safety problems land in ``Located.problems``."""
    doc = Located(file)
    depth = _flow_depth(text)
    if depth > MAX_DEPTH:
        doc.problems.append(Problem(file, 1, 1, f"YAML nested {depth} levels deep; rule files allow {MAX_DEPTH}"))
        return doc
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = " ".join(x for x in (exc.context, exc.problem) if x)
        doc.problems.append(Problem(file, line, col, f"YAML syntax error: {what}"))
        return doc
    except yaml.YAMLError as exc:
        doc.problems.append(Problem(file, 1, 1, f"YAML error: {exc}"))
        return doc
    if node is None:
        # An empty file is what an editor leaves between truncating and writing a
        # file: accepting it as "no rules" would let a live reload drop every rule
        # of that file mid-save. A file meant to hold no rules says so with [].
        doc.problems.append(
            Problem(file, 1, 1, "empty rules file: write a list of rules, or [] for a file with no rules")
        )
        return doc
    seen: set[int] = set()
    constructor = yaml.SafeLoader("")
    ok = [True]

    def build(n: yaml.Node, path: Path_) -> Any:
        doc.values[path] = _pos(n)
        if len(path) > MAX_DEPTH:
            ok[0] = False
            line, col = _pos(n)
            doc.problems.append(Problem(file, line, col, f"YAML nested too deep; rule files allow {MAX_DEPTH} levels"))
            return None
        if id(n) in seen:
            ok[0] = False
            line, col = _alias_position(text, n)
            doc.problems.append(
                Problem(file, line, col, "YAML aliases (*name) are not allowed in rule files; write the value out")
            )
            return None
        if n.tag not in _SAFE_TAGS:
            ok[0] = False
            line, col = _pos(n)
            tag = n.tag.replace("tag:yaml.org,2002:", "!!")
            doc.problems.append(
                Problem(file, line, col, f"YAML tag {tag!r} is not allowed in rule files (plain values only)")
            )
            return None
        seen.add(id(n))
        if isinstance(n, yaml.SequenceNode):
            return [build(child, (*path, i)) for i, child in enumerate(n.value)]
        if isinstance(n, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for knode, vnode in n.value:
                if knode.tag == "tag:yaml.org,2002:merge":
                    ok[0] = False
                    line, col = _pos(knode)
                    doc.problems.append(Problem(file, line, col, "YAML merge keys (<<) are not allowed in rule files"))
                    continue
                if knode.tag not in _SAFE_TAGS or not isinstance(knode, yaml.ScalarNode):
                    ok[0] = False
                    line, col = _pos(knode)
                    doc.problems.append(Problem(file, line, col, "mapping keys must be plain words"))
                    continue
                # A plain string is the node's text as is (what SafeLoader's constructor
                # returns for it): skipping the constructor halves the load of a large rule base.
                key = knode.value if knode.tag == _STR_TAG else constructor.construct_object(knode)
                if isinstance(key, str) and key == "<<":
                    ok[0] = False
                    line, col = _pos(knode)
                    doc.problems.append(Problem(file, line, col, "YAML merge keys (<<) are not allowed in rule files"))
                    continue
                if key in out:
                    ok[0] = False
                    line, col = _pos(knode)
                    first = doc.keys[(*path, key)][0]
                    doc.problems.append(Problem(file, line, col, f"duplicate key {key!r} (first set on line {first})"))
                    continue
                doc.keys[(*path, key)] = _pos(knode)
                out[key] = build(vnode, (*path, key))
            return out
        if n.tag == _STR_TAG:
            return n.value
        try:
            return constructor.construct_object(n)
        except (yaml.YAMLError, ValueError) as exc:
            ok[0] = False
            line, col = _pos(n)
            doc.problems.append(Problem(file, line, col, f"invalid value: {exc}"))
            return None

    doc.data = build(node, ())
    if not ok[0]:
        doc.data = None
    return doc


_STR_TAG = "tag:yaml.org,2002:str"


def _flow_depth(text: str) -> int:
    """Deepest nesting of flow brackets: the C composer recurses once per level, so refuse a bomb first."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0
    depth = deepest = 0
    for m in _BRACKETS.finditer(text):
        depth += 1 if m.group() in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _alias_position(text: str, node: yaml.Node) -> tuple[int, int]:
    """Where a repeated node is referenced by an alias (the node's own mark is the anchor's)."""
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):
                mark = event.start_mark
                if mark is not None:
                    return mark.line + 1, mark.column + 1
    except yaml.YAMLError:
        pass
    return _pos(node)
