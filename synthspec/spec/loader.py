"""YAML loading that remembers where every key and value came from.

PyYAML's composer gives nodes with marks; we build plain Python data from them ourselves so
that each path (tuple of keys and indices) maps to a ``file:line:col``. Strings are
interpolated with ``${VAR}`` / ``${VAR:-default}`` here, once, so that no later layer ever
sees the unresolved form, and no message ever shows a resolved value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from synthspec import redact
from synthspec.errors import Problem

Path_ = tuple[Any, ...]
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


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


def load_yaml(path: Path, display: str, environ: Mapping[str, str] | None = None) -> tuple[LoadedDocument, list[Problem]]:
    """Parse one YAML file. Problems are returned, not raised, so callers can report all."""
    environ = os.environ if environ is None else environ
    doc = LoadedDocument(file=display, data=None)
    problems: list[Problem] = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return doc, [Problem(display, 0, 0, f"cannot read file: {exc.__class__.__name__}")]
    try:
        node = yaml.compose(text, Loader=_Loader)
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

    constructor = _Loader("")

    def build(n: yaml.Node, p: Path_) -> Any:
        doc.values[p] = loc(n)
        if isinstance(n, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in n.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    problems.append(Problem(display, *_lc(key_node), "YAML merge keys (<<) are not supported"))
                    continue
                key = constructor.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int, float, bool)):
                    problems.append(Problem(display, *_lc(key_node), "mapping keys must be scalars"))
                    continue
                if key in out:
                    problems.append(Problem(display, *_lc(key_node), f"duplicate key '{key}'"))
                    continue
                doc.keys[p + (key,)] = loc(key_node)
                out[key] = build(value_node, p + (key,))
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(child, p + (i,)) for i, child in enumerate(n.value)]
        value = constructor.construct_object(n, deep=True)
        if isinstance(value, str) and "${" in value:
            value, missing = interpolate(value, environ)
            for name in missing:
                problems.append(Problem(display, *_lc(n), f"environment variable '{name}' is not set (use ${{{name}:-default}} for a default)"))
        return value

    try:
        doc.data = build(node, ())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        problems.append(Problem(display, line, col, f"invalid YAML: {getattr(exc, 'problem', None) or 'bad value'}"))
    return doc, problems


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
