"""YAML loading that remembers where every key and value came from.

PyYAML's composer gives nodes with marks; we build plain Python data from them ourselves so
that each path (tuple of keys and indices) maps to a ``file:line:col``. Strings are
interpolated with ``${VAR}`` / ``${VAR:-default}`` here, once, so that no later layer ever
sees the unresolved form, and no message ever shows a resolved value.

A spec is untrusted input (a pull request), so parsing is bounded: files over ``MAX_FILE_BYTES``,
documents that build more than ``MAX_NODES`` nodes once aliases are expanded (an "anchor bomb"),
nesting deeper than ``MAX_DEPTH`` and recursive aliases are located spec errors, found before
any of it is built. YAML timestamps stay ISO strings (``min: 2020-01-01`` is the text the spec
language expects), so they validate like quoted ones.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from synthspec import redact
from synthspec.errors import Problem

Path_ = tuple[Any, ...]
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

#: Limits on one YAML file: a spec is a few kilobytes and a few hundred nodes.
MAX_FILE_BYTES = 1_000_000
MAX_NODES = 100_000
MAX_DEPTH = 64


@dataclass(frozen=True)
class Location:
    file: str
    line: int
    col: int


@dataclass
class LoadedDocument:
    """Parsed YAML plus where each path's value (and, for mapping entries, key) sits."""

    file: str
    data: Any
    values: dict[Path_, Location] = field(default_factory=dict)
    keys: dict[Path_, Location] = field(default_factory=dict)
    nodes: int = 0  # node visits while loading: the work done, bounded whatever the aliases

    def locate(self, path: Path_, *, prefer_key: bool = False) -> Location:
        """The location of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while True:
            first, second = (self.keys, self.values) if prefer_key else (self.values, self.keys)
            for table in (first, second):
                if path in table:
                    return table[path]
            if not path:
                return Location(self.file, 1, 1)
            path = path[:-1]


class _Loader(yaml.SafeLoader):
    """Safe loader that refuses duplicate keys (a silent override in YAML is a review hazard)."""


# Timestamps resolve as plain strings: the spec language takes ISO text for datetimes, and a
# date object would fail every other type of a field (six errors for one `min: 2020-01-01`).
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _TooLarge(Exception):
    """The document exceeds a parsing limit at ``node`` (a located spec error, not a crash)."""

    def __init__(self, node: yaml.Node, message: str) -> None:
        super().__init__(message)
        self.node, self.message = node, message


def interpolate(text: str, environ: Mapping[str, str]) -> tuple[str, list[str]]:
    """Resolve ``${VAR}`` and ``${VAR:-default}``; return the text and names left unset."""
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ and (environ[name] != "" or default is None):
            return redact.remember(name, environ[name])  # never printed or written resolved
        if default is not None:
            return default
        missing.append(name)
        return ""

    return _ENV.sub(replace, text), missing


def load_yaml(path: Path, display: str, environ: Mapping[str, str] | None = None,
              allowed: Collection[str] | None = None) -> tuple[LoadedDocument, list[Problem]]:
    """Parse one YAML file. Problems are returned, not raised, so callers can report all.

    ``allowed``: the environment variables the file may interpolate (None: any). A spec is
    written by whoever opens a pull request, the environment belongs to whoever runs synthspec:
    a spec reads only the variables the project file lists (a query could otherwise copy any
    secret of the CI environment into a published column)."""
    environ = os.environ if environ is None else environ
    doc = LoadedDocument(file=display, data=None)
    problems: list[Problem] = []
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return doc, [Problem(display, 1, 1, f"file is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit of a spec file")]
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return doc, [Problem(display, 0, 0, f"cannot read file: {exc.__class__.__name__}")]
    if deep := _flow_too_deep(text):
        return doc, [Problem(display, *deep, f"nested more than {MAX_DEPTH} levels deep")]
    try:
        node = yaml.compose(text, Loader=_Loader)
    except RecursionError:
        return doc, [Problem(display, 1, 1, f"nested more than {MAX_DEPTH} levels deep")]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        reason = exc.problem or exc.context or "invalid YAML"
        return doc, [Problem(display, line, col, f"invalid YAML: {reason}")]
    except yaml.YAMLError as exc:
        return doc, [Problem(display, 0, 0, f"invalid YAML: {exc.__class__.__name__}")]
    if node is None:
        return doc, [Problem(display, 1, 1, "file is empty")]

    def loc(n: yaml.Node) -> Location:
        return Location(display, n.start_mark.line + 1, n.start_mark.column + 1)

    try:
        _check_expansion(node, doc)
    except _TooLarge as exc:
        return doc, [Problem(display, *_lc(exc.node), exc.message)]

    constructor = _Loader("")

    def build(n: yaml.Node, p: Path_) -> Any:
        doc.nodes += 1
        doc.values[p] = loc(n)
        if isinstance(n, yaml.MappingNode):
            return build_mapping(n, p)
        if isinstance(n, yaml.SequenceNode):
            return [build(child, p + (i,)) for i, child in enumerate(n.value)]
        try:
            value = constructor.construct_object(n, deep=True)
        except (ValueError, TypeError, OverflowError):  # e.g. `!!int x`: the constructor's own conversion
            problems.append(Problem(display, *_lc(n), f"invalid YAML: the value does not match its tag '{n.tag}'"))
            return None
        if isinstance(value, str) and "${" in value:
            refused = sorted({m.group(1) for m in _ENV.finditer(value)} - set(allowed)) if allowed is not None else []
            for name in refused:
                problems.append(Problem(display, *_lc(n), f"environment variable '{name}' may not be interpolated in a spec: "
                                                          "list it under `spec_variables:` in synthspec.yml to allow it"))
            if refused:
                return value
            value, missing = interpolate(value, environ)
            for name in missing:
                problems.append(Problem(display, *_lc(n), f"environment variable '{name}' is not set (use ${{{name}:-default}} for a default)"))
        return value

    def build_mapping(n: yaml.MappingNode, p: Path_) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in n.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                problems.append(Problem(display, *_lc(key_node), "YAML merge keys (<<) are not supported"))
                continue
            key = constructor.construct_object(key_node, deep=True) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, (str, int, float, bool)):
                problems.append(Problem(display, *_lc(key_node), "mapping keys must be scalars"))
                continue
            if key in out:
                problems.append(Problem(display, *_lc(key_node), f"duplicate key '{key}'"))
                continue
            doc.keys[p + (key,)] = loc(key_node)
            out[key] = build(value_node, p + (key,))
        return out

    try:
        doc.data = build(node, ())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problems.append(Problem(display, line, col, f"invalid YAML: {getattr(exc, 'problem', None) or 'bad value'}"))
    return doc, problems


def _check_expansion(root: yaml.Node, doc: LoadedDocument) -> None:
    """Raise _TooLarge unless building ``root`` stays within MAX_NODES and MAX_DEPTH without a
    cycle. Aliases make the composed graph a DAG (or a cycle) whose expansion can be exponential
    ("anchor bomb"); sizes are memoised per node, so this visits each distinct node once. The
    node reported is the deepest one that is too large on its own."""
    sizes: dict[int, int] = {}
    open_: set[int] = set()  # collection nodes on the current path: seeing one again is a cycle

    def size(n: yaml.Node, depth: int) -> int:
        if isinstance(n, yaml.ScalarNode):
            return 1
        if id(n) in sizes:
            return sizes[id(n)]
        doc.nodes += 1
        if id(n) in open_:
            raise _TooLarge(n, "a recursive alias (an anchor used inside itself) is not supported")
        if depth > MAX_DEPTH:
            raise _TooLarge(n, f"nested more than {MAX_DEPTH} levels deep")
        open_.add(id(n))
        children = n.value if isinstance(n, yaml.SequenceNode) else [c for pair in n.value for c in pair]
        total = 1 + sum(size(child, depth + 1) for child in children)
        open_.discard(id(n))
        if total > MAX_NODES:
            raise _TooLarge(n, f"this value expands to more than {MAX_NODES:,} nodes once its aliases are expanded "
                               "(an alias bomb?)")
        sizes[id(n)] = total
        return total

    size(root, 0)


_BRACKETS = re.compile(r"[\[\]{}]")


def _flow_too_deep(text: str) -> tuple[int, int] | None:
    """Line and column where ``[``/``{`` nesting first exceeds MAX_DEPTH, or None. PyYAML's
    scanner is quadratic in flow nesting depth, so this is checked on the text first (brackets
    inside quoted text count too: only 64 unbalanced ones in a row could trip it)."""
    depth = 0
    for match in _BRACKETS.finditer(text):
        depth += 1 if match.group() in "[{" else -1
        if depth > MAX_DEPTH:
            line = text.count("\n", 0, match.start())
            return line + 1, match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
        depth = max(depth, 0)
    return None


def _lc(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def deep_merge(base: Any, override: Any) -> Any:
    """``override`` on top of ``base`` (mappings merge key by key; anything else replaces)."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return override
