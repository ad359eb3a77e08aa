"""What a spec may read: a `source.query` is exactly one SELECT statement, and a `source.path`
resolves inside the project directory (or a root the project file allows).

These rules are checked by `validate` (offline: DuckDB's parser runs in memory, no database is
opened) and again before every read, so a spec cannot reach the file system or write anything
through its source. At run time the read also happens on a connection that cannot touch the file
system at all (see ``synthspec.io.warehouse``): the checks here give a located message first.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import TYPE_CHECKING

from synthspec.errors import Problem

if TYPE_CHECKING:
    from synthspec.spec.project import LoadedSpec, Project

_GLOB_CHARS = "*?["


class SourceRuleError(ValueError):
    """A source that breaks the rules; the message names the rule, never a data value."""


class SourceMissingError(LookupError):
    """A `source.path` that matches no file (an environment problem, not a spec one)."""


def select_statement(query: str) -> str:
    """The query as one SELECT statement that can be parenthesised safely: trailing semicolons
    and comments removed (a trailing ``-- comment`` would otherwise swallow the closing
    parenthesis). Raises :class:`SourceRuleError` unless DuckDB's own parser finds exactly one
    statement and it is a SELECT."""
    import duckdb

    try:
        statements = duckdb.extract_statements(query)
    except duckdb.Error as exc:
        raise SourceRuleError(f"source.query is not valid SQL: {_parser_reason(exc)}") from exc
    if len(statements) != 1:
        kinds = ", ".join(_kind(s) for s in statements) or "none"
        raise SourceRuleError(f"source.query must be exactly one SELECT statement; found {len(statements)} ({kinds})")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise SourceRuleError(f"source.query must be a SELECT statement, not {_kind(statements[0])} "
                              "(sources are read, never written)")
    return _strip_terminator(query)


def _kind(statement: object) -> str:
    return str(getattr(statement, "type", "?")).rsplit(".", 1)[-1]


def _parser_reason(exc: Exception) -> str:
    """DuckDB's parser message, first line, without the quoted excerpt of the query."""
    first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return first.removeprefix("Parser Error: ")[:200]


def _strip_terminator(query: str) -> str:
    import duckdb

    tokens = duckdb.tokenize(query)
    cut = len(query)
    for position, kind in reversed(tokens):
        if kind == duckdb.token_type.comment:
            cut = position
            continue
        if kind == duckdb.token_type.operator and query[position:cut].strip() == ";":
            cut = position
            continue
        break
    return query[:cut].rstrip()


def allowed_roots(project: Project) -> list[Path]:
    """The project directory and the `source_roots` of the project file, resolved."""
    roots = [project.root.resolve()]
    roots += [project.path(r).resolve() for r in getattr(project.config, "source_roots", None) or []]
    return roots


def _inside(path: Path, roots: list[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def resolve_path(pattern: str, project: Project) -> Path:
    """``pattern`` as an absolute, normalised path (``..`` and ``//`` resolved lexically)."""
    base = Path(pattern) if Path(pattern).is_absolute() else project.root / pattern
    return Path(os.path.normpath(base))


def path_problem(pattern: str, project: Project) -> str | None:
    """Why ``source.path`` may not be read, judged from its text (no file is opened)."""
    resolved = resolve_path(pattern, project)
    fixed = Path(*[part for part in _prefix_parts(resolved)])
    if not _inside(fixed.resolve() if fixed.exists() else fixed, allowed_roots(project)):
        return (f"source.path '{pattern}' is outside the project directory; list its directory under "
                "`source_roots:` in synthspec.yml to allow it")
    return None


def _prefix_parts(path: Path) -> list[str]:
    """The leading path parts before the first glob character."""
    parts = []
    for part in path.parts:
        if any(ch in part for ch in _GLOB_CHARS):
            break
        parts.append(part)
    return parts or ["/"]


def matched_files(pattern: str, project: Project) -> list[str]:
    """The files ``source.path`` matches, each resolved through symlinks and inside an allowed
    root; raises :class:`SourceRuleError` otherwise (or when nothing matches)."""
    if (why := path_problem(pattern, project)) is not None:
        raise SourceRuleError(why)
    resolved = resolve_path(pattern, project)
    matches = sorted(glob.glob(str(resolved), recursive=True)) if any(ch in str(resolved) for ch in _GLOB_CHARS) else (
        [str(resolved)] if resolved.exists() else [])
    files = [Path(m).resolve() for m in matches if Path(m).is_file()]
    if not files:
        raise SourceMissingError("no file matches")
    roots = allowed_roots(project)
    outside = [f for f in files if not _inside(f, roots)]
    if outside:
        raise SourceRuleError(f"source.path '{pattern}' reaches {len(outside)} file(s) outside the project directory "
                              "(through a symbolic link); list their directory under `source_roots:` in synthspec.yml to allow it")
    return [str(f) for f in files]


def source_problems(loaded: LoadedSpec, project: Project) -> list[Problem]:
    """`validate`'s rules for the spec's source block."""
    source = loaded.spec.source
    problems: list[Problem] = []

    def at(key: str, message: str) -> None:
        loc = loaded.doc.locate(("source", key), prefer_key=True)
        problems.append(Problem(loc.file, loc.line, loc.col, message))

    if source.query is not None:
        try:
            select_statement(source.query)
        except SourceRuleError as exc:
            at("query", str(exc))
    if source.path is not None and (why := path_problem(source.path, project)) is not None:
        at("path", why)
    return problems


__all__ = ["SourceMissingError", "SourceRuleError", "allowed_roots", "matched_files", "path_problem", "select_statement", "source_problems"]
