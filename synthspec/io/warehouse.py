"""DuckDB access: connecting (with clear lock errors), reading sources, schema, fingerprints."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from synthspec import redact
from synthspec.errors import EnvironmentError_, Problem, SpecError

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

    from synthspec.spec.project import LoadedSpec, Project

_UNSUPPORTED = re.compile(r"(\[\]|\[\d+\]$|^STRUCT|^MAP|^UNION|^BLOB|^BIT$|^INTERVAL|^JSON|^TIME\b|^VARINT|^BIGNUM|^GEOMETRY)", re.I)


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
    return bool(_UNSUPPORTED.search(duckdb_type.strip()))


def data_fingerprint(cons: Connections, loaded: LoadedSpec, project: Project) -> tuple[int, str]:
    """Row count and an order-independent hash of every row (a sum of row hashes)."""
    count, total = _on_source(cons, loaded, project, "SELECT count(*), coalesce(sum(hash(t)), 0)::VARCHAR FROM {rel} AS t").fetchone()
    return int(count), str(total)


def read_source(cons: Connections, loaded: LoadedSpec, project: Project, columns: list[str]) -> pd.DataFrame:
    """Every row, in a canonical order (by row hash) so that results do not depend on the
    order in which the source happens to return rows."""
    select = ", ".join(quote(c) for c in columns).replace("{", "{{").replace("}", "}}")
    return _on_source(cons, loaded, project, f"SELECT {select} FROM {{rel}} AS t ORDER BY hash(t), {select}").df()


def read_sample(cons: Connections, loaded: LoadedSpec, project: Project, columns: list[str], rows: int = 2000) -> pd.DataFrame:
    """A deterministic sample (the first rows in row-hash order) for PII detection."""
    select = ", ".join(quote(c) for c in columns).replace("{", "{{").replace("}", "}}")
    return _on_source(cons, loaded, project, f"SELECT {select} FROM {{rel}} AS t ORDER BY hash(t) LIMIT {int(rows)}").df()


def _source_label(loaded: LoadedSpec) -> str:
    s = loaded.spec.source
    return f"table '{s.table}'" if s.table else ("query" if s.query else f"path '{s.path}'")


def _first_line(exc: Exception) -> str:
    """DuckDB's message made safe to print: conversion errors quote the offending cell value,
    and a message must never carry one (see ``synthspec.redact.error``)."""
    return redact.error(exc)
