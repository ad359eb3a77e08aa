"""DuckDB access: connecting (with clear lock errors), reading sources, schema, fingerprints."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from synthspec.errors import EnvironmentError_, Problem, SpecError

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from synthspec.spec.project import LoadedSpec, Project

#: The DuckDB types synthspec models: integers, decimals and floats, booleans, text, UUIDs, ENUMs,
#: dates and timestamps of every precision. Everything else (BLOB, BIT, lists, arrays, STRUCT, MAP,
#: UNION, INTERVAL, TIME, JSON, BIGNUM, UHUGEINT, GEOMETRY, VARIANT and whatever DuckDB adds next)
#: can only be published as NULLs of its type, under `pii: drop`: a list of what is *supported*,
#: so a new type is refused until someone decides how to model it.
_SUPPORTED = re.compile(
    r"^(?!UHUGEINT$)((U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|INT\d|LONG|SHORT|BOOLEAN|UUID|FLOAT|DOUBLE|REAL|VARCHAR"
    r"|DATE|TIMESTAMP(_S|_MS|_NS|TZ|TZ_NS| WITH TIME ZONE)?)$|(DECIMAL|NUMERIC)\(\d+, ?\d+\)$|ENUM\()", re.I)
#: Unsupported types whose values are text (a cell could equal a published one): read as VARCHAR
#: when a dropped column's values are needed for the pii_leakage scan.
_TEXT_LIKE = re.compile(r"^(JSON|BIGNUM|VARINT)$", re.I)
#: TIMESTAMPTZ_NS and TIMESTAMP WITH TIME ZONE (alias TIMESTAMPTZ).
_TZ = re.compile(r"^TIMESTAMP(TZ|TZ_NS| WITH TIME ZONE)$", re.I)


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def qualified(name: str) -> str:
    """``schema.table`` (or ``table``) as a safely quoted DuckDB name."""
    return ".".join(quote(part) for part in name.split("."))


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass
class Connections:
    source: duckdb.DuckDBPyConnection | None
    target: duckdb.DuckDBPyConnection | None
    same_file: bool

    def close(self) -> None:
        for con in {id(c): c for c in (self.source, self.target) if c is not None}.values():
            con.close()


def connect(path: Path, *, read_only: bool, display: str) -> duckdb.DuckDBPyConnection:
    import duckdb

    if read_only and not path.exists():
        raise EnvironmentError_(f"database '{display}' does not exist")
    if not read_only and not path.parent.exists():
        raise EnvironmentError_(f"cannot create database '{display}': directory does not exist")
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "Conflicting lock" in text or "Could not set lock" in text:
            pid = re.search(r"PID (\d+)", text)
            who = f" (process {pid.group(1)})" if pid else ""
            raise EnvironmentError_(f"database '{display}' is locked by another process{who}; close it and retry") from exc
        reason = text.rsplit(":", 1)[-1].strip() if ":" in text else exc.__class__.__name__
        action = "open" if read_only else "open or create"
        raise EnvironmentError_(f"cannot {action} database '{display}': {reason}") from exc
    except duckdb.Error as exc:
        raise EnvironmentError_(f"cannot open database '{display}': {exc.__class__.__name__}") from exc


@contextmanager
def open_project(project: Project, *, write: bool, need_source: bool = True) -> Iterator[Connections]:
    """Source and target connections. Same file: one connection (read-write only if ``write``).
    Every connection is closed on exit, so dbt can open the file next."""
    cfg = project.config
    target_path = project.path(cfg.target.duckdb)
    source_path = project.path(cfg.source.duckdb) if cfg.source else None
    same = source_path is not None and source_path.resolve() == target_path.resolve()
    cons = Connections(source=None, target=None, same_file=same)
    try:
        if write:
            cons.target = connect(target_path, read_only=False, display=cfg.target.duckdb)
        elif target_path.exists():
            cons.target = connect(target_path, read_only=True, display=cfg.target.duckdb)
        if source_path is not None and need_source:
            cons.source = cons.target if same and cons.target is not None else connect(source_path, read_only=True, display=cfg.source.duckdb)
        yield cons
    finally:
        cons.close()


def relation_sql(loaded: LoadedSpec, project: Project) -> str:
    """The source as a SQL relation (a parenthesised query for ``query:``)."""
    source = loaded.spec.source
    if source.table is not None:
        return qualified(source.table)
    if source.query is not None:
        return f"({source.query.rstrip().rstrip(';')})"
    assert source.path is not None
    path = source.path if Path(source.path).is_absolute() else str(project.root / source.path)
    reader = "read_csv" if path.lower().endswith((".csv", ".csv.gz", ".tsv")) else "read_parquet"
    return f"{reader}({sql_string(path)})"


def _source_connection(cons: Connections, loaded: LoadedSpec) -> duckdb.DuckDBPyConnection:
    import duckdb

    if cons.source is not None:
        return cons.source
    if loaded.spec.source.path is not None:  # paths need no database: an in-memory one reads them
        cons.source = duckdb.connect()
        return cons.source
    raise SpecError([Problem("synthspec.yml", 0, 0, f"spec '{loaded.file}' reads source.table/query but the project file has no 'source: {{duckdb: ...}}'")])


def _on_source(cons: Connections, loaded: LoadedSpec, project: Project, template: str) -> duckdb.DuckDBPyConnection:
    """Run ``template`` (``{rel}`` is the source relation) on the source connection; a DuckDB
    error becomes an environment error naming the spec and the source, never a value."""
    import duckdb

    con = _source_connection(cons, loaded)
    try:
        return con.execute(template.format(rel=relation_sql(loaded, project)))
    except duckdb.Error as exc:
        raise EnvironmentError_(f"{loaded.file}: cannot read source {_source_label(loaded)}: {_first_line(exc)}") from exc


def describe(cons: Connections, loaded: LoadedSpec, project: Project) -> list[tuple[str, str]]:
    """(column, DuckDB type) of the source, or an environment error naming the source."""
    return [(r[0], r[1]) for r in _on_source(cons, loaded, project, "DESCRIBE SELECT * FROM {rel}").fetchall()]


def unsupported_type(duckdb_type: str) -> bool:
    """True for a source type synthspec cannot model (see ``_SUPPORTED``)."""
    return not _SUPPORTED.match(duckdb_type.strip())


def text_like_type(duckdb_type: str) -> bool:
    """An unsupported type whose values are text, so they could equal a published cell."""
    return bool(_TEXT_LIKE.match(duckdb_type.strip()))


def data_fingerprint(cons: Connections, loaded: LoadedSpec, project: Project) -> tuple[int, str]:
    """Row count and an order-independent hash of every row (a sum of row hashes)."""
    count, total = _on_source(cons, loaded, project, "SELECT count(*), coalesce(sum(hash(t)), 0)::VARCHAR FROM {rel} AS t").fetchone()
    return int(count), str(total)


def read_source(cons: Connections, loaded: LoadedSpec, project: Project, columns: list[tuple[str, str]]) -> pd.DataFrame:
    """Every row of ``columns`` (name, DuckDB type), in a canonical order (by row hash) so that
    results do not depend on the order in which the source happens to return rows.

    Values arrive in forms pandas holds exactly: timestamps with a time zone as UTC instants
    (whatever the session's TimeZone: wall-clock conversions of far-away years are unsafe in
    pandas), text-like unsupported types (JSON, BIGNUM) as text."""

    def expression(name: str, duckdb_type: str) -> str:
        if _TZ.match(duckdb_type):
            return f"timezone('UTC', {quote(name)}) AS {quote(name)}"
        if unsupported_type(duckdb_type):
            return f"CAST({quote(name)} AS VARCHAR) AS {quote(name)}"
        return quote(name)

    select = ", ".join(expression(c, t) for c, t in columns).replace("{", "{{").replace("}", "}}")
    order = ", ".join(quote(c) for c, _ in columns).replace("{", "{{").replace("}", "}}")
    frame = _on_source(cons, loaded, project, f"SELECT {select} FROM {{rel}} AS t ORDER BY hash(t){', ' if order else ''}{order}").df()
    for name, duckdb_type in columns:
        if _TZ.match(duckdb_type):
            frame[name] = frame[name].dt.tz_localize("UTC")
    return frame


def read_sample(cons: Connections, loaded: LoadedSpec, project: Project, columns: list[str], rows: int = 2000) -> pd.DataFrame:
    """A deterministic sample (the first rows in row-hash order) for PII detection, in forms
    detection can read whatever the types (see :func:`sample_expression`)."""
    types = dict(describe(cons, loaded, project))
    select = ", ".join(sample_expression(c, types.get(c, "VARCHAR")) for c in columns).replace("{", "{{").replace("}", "}}")
    return _on_source(cons, loaded, project, f"SELECT {select} FROM {{rel}} AS t ORDER BY hash(t) LIMIT {int(rows)}").df()


def sample_expression(name: str, duckdb_type: str) -> str:
    """A column as PII detection reads it: unsupported types as their text (some, like BIGNUM
    or TIMETZ, cannot reach pandas at all; JSON or lists may hold an email), and dates and
    timestamps outside years 1-9999 (±infinity, far futures: never a date of birth) as NULL,
    since Python's datetime cannot hold them."""
    upper, q = duckdb_type.strip().upper(), quote(name)
    if unsupported_type(upper):
        return f"CAST({q} AS VARCHAR) AS {q}"
    if upper.startswith(("DATE", "TIMESTAMP")) and not upper.endswith("_NS"):  # _NS types end in 2262
        return f"CASE WHEN {q} BETWEEN CAST('0001-01-02' AS {upper}) AND CAST('9999-12-30' AS {upper}) THEN {q} END AS {q}"
    return q


def non_finite_counts(cons: Connections, loaded: LoadedSpec, project: Project, columns: list[tuple[str, str]]) -> dict[str, tuple[int, int]]:
    """Per floating-point, date or timestamp column (name, DuckDB type): how many values are
    NaN, and how many are ±infinity (dates: or beyond the range of a TIMESTAMP). Counts only:
    reading them would turn NaN into NULL and infinity into a date in the year 294247."""
    parts: list[tuple[str, str, str]] = []
    for name, duckdb_type in columns:
        upper, q = duckdb_type.strip().upper(), quote(name)
        if upper in ("FLOAT", "DOUBLE", "REAL"):
            parts.append((name, f"isnan({q})", f"isinf({q})"))
        elif upper == "DATE":
            parts.append((name, "false", f"isinf({q}) OR {q} NOT BETWEEN DATE '290309-12-22 (BC)' AND DATE '294247-01-10'"))
        elif upper.startswith("TIMESTAMP"):
            parts.append((name, "false", f"isinf(CAST({q} AS {'TIMESTAMPTZ' if _TZ.match(upper) else upper}))"))
    if not parts:
        return {}
    select = ", ".join(f"count(*) FILTER (WHERE {nan}), count(*) FILTER (WHERE {inf})" for _, nan, inf in parts)
    row = _on_source(cons, loaded, project, f"SELECT {select.replace('{', '{{').replace('}', '}}')} FROM {{rel}} AS t").fetchone()
    assert row is not None
    return {name: (int(row[2 * i]), int(row[2 * i + 1])) for i, (name, _, _) in enumerate(parts)}


def _source_label(loaded: LoadedSpec) -> str:
    s = loaded.spec.source
    return f"table '{s.table}'" if s.table else ("query" if s.query else f"path '{s.path}'")


def _first_line(exc: Exception) -> str:
    """DuckDB's message, first line only, with single-quoted literals redacted: conversion
    errors quote the offending cell value, and a message must never carry one."""
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    return re.sub(r"'[^']*'", "'…'", text)[:300]
