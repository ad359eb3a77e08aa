"""The `_synthspec` schema of the target database: published data tables, run history, model
hashes. Publishing is one transaction, so a failed or killed apply leaves the previous view."""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from synthspec import redact
from synthspec.errors import EnvironmentError_
from synthspec.io.warehouse import quote, sql_string, unsupported_type

if TYPE_CHECKING:
    from pathlib import Path

    import duckdb
    import pandas as pd

META = "_synthspec"

_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {META};
CREATE TABLE IF NOT EXISTS {META}.runs (
    run_id VARCHAR, table_name VARCHAR, version INTEGER, status VARCHAR, published BOOLEAN,
    started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, model VARCHAR, rows BIGINT,
    training_fp VARCHAR, sampling_fp VARCHAR, checks_fp VARCHAR,
    synthspec_version VARCHAR, metrics VARCHAR, message VARCHAR, training_parts VARCHAR, privacy VARCHAR);
ALTER TABLE {META}.runs ADD COLUMN IF NOT EXISTS training_parts VARCHAR;
ALTER TABLE {META}.runs ADD COLUMN IF NOT EXISTS privacy VARCHAR;
ALTER TABLE {META}.runs ADD COLUMN IF NOT EXISTS result VARCHAR;
CREATE TABLE IF NOT EXISTS {META}.models (
    table_name VARCHAR, training_fp VARCHAR, model VARCHAR, artifact_sha256 VARCHAR,
    created_at TIMESTAMPTZ);
"""


@dataclass(frozen=True)
class PublishedVersion:
    """What the target database says is currently published for a table."""

    table: str
    version: int
    training_fp: str
    sampling_fp: str
    checks_fp: str
    model: str
    rows: int
    parts: dict[str, str] | None = None
    privacy: dict[str, Any] | None = None
    metrics: dict[str, Any] | None = None


def ensure_meta(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_DDL)


def _has_meta(con: duckdb.DuckDBPyConnection, table: str = "runs") -> bool:
    row = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?", [META, table]).fetchone()
    return bool(row and row[0])


def data_table(table: str, version: int) -> str:
    return f"{META}.{quote(f'{table}__v{version}')}"


def _runs_column(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """The column if this (possibly older) history table has it, else NULL: a read-only
    `plan` cannot migrate the table, and must still read it."""
    row = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE schema_name = ? AND table_name = 'runs' AND column_name = ?", [META, name]
    ).fetchone()
    return name if row and row[0] else f"NULL AS {name}"


def current(con: duckdb.DuckDBPyConnection | None, table: str) -> PublishedVersion | None:
    """The last published run of ``table``."""
    if con is None or not _has_meta(con):
        return None
    optional = ", ".join(_runs_column(con, c) for c in ("training_parts", "privacy", "metrics"))
    row = con.execute(
        f"SELECT version, training_fp, sampling_fp, checks_fp, model, rows, {optional} FROM {META}.runs "
        "WHERE table_name = ? AND published ORDER BY finished_at DESC, version DESC LIMIT 1",
        [table],
    ).fetchone()
    if row is None:
        return None
    return PublishedVersion(table, int(row[0]), row[1], row[2], row[3], row[4], int(row[5]), json.loads(row[6] or "{}"),
                            json.loads(row[7] or "null"), json.loads(row[8] or "{}"))


def recorded_artifact(con: duckdb.DuckDBPyConnection | None, table: str, training_fp: str) -> str | None:
    if con is None or not _has_meta(con, "models"):
        return None
    row = con.execute(
        f"SELECT artifact_sha256 FROM {META}.models WHERE table_name = ? AND training_fp = ? ORDER BY created_at DESC LIMIT 1",
        [table, training_fp],
    ).fetchone()
    return row[0] if row else None


def record_model(con: duckdb.DuckDBPyConnection, table: str, training_fp: str, model: str, sha256: str) -> None:
    ensure_meta(con)
    con.execute(f"INSERT INTO {META}.models VALUES (?, ?, ?, ?, now())", [table, training_fp, model, sha256])


def read_published(con: duckdb.DuckDBPyConnection, table: str, version: int) -> pd.DataFrame:
    # A column of a type synthspec does not model was published as NULLs (`pii: drop`), and some
    # such types (BIGNUM, TIMETZ) cannot reach pandas at all: read it as what it holds, NULLs.
    name = data_table(table, version)
    columns = con.execute(f"DESCRIBE {name}").fetchall()
    select = ", ".join(f"NULL AS {quote(c)}" if unsupported_type(t) else quote(c) for c, t, *_ in columns)
    return con.execute(f"SELECT {select} FROM {name}").df()


def data_versions(con: duckdb.DuckDBPyConnection | None, table: str) -> list[int]:
    """Versions of ``table`` whose data tables exist in ``_synthspec``, whatever the history says."""
    if con is None:
        return []
    names = con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = ? AND starts_with(table_name, ?)",
                        [META, f"{table}__v"]).fetchall()
    return sorted(int(n[len(table) + 3:]) for (n,) in names if n[len(table) + 3:].isdigit())


def next_version(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """One past every version the history records and every data table that exists (a
    dropped history table must not make the next publication collide with an old table)."""
    recorded = 0
    if _has_meta(con):
        recorded = int(con.execute(f"SELECT coalesce(max(version), 0) FROM {META}.runs WHERE table_name = ?", [table]).fetchone()[0])
    return max([recorded, *data_versions(con, table)]) + 1


def missing_publication(con: duckdb.DuckDBPyConnection | None, schema: str, published: PublishedVersion) -> tuple[str, str] | None:
    """What of the recorded publication the database does not serve, or None: ``("data",
    why)`` when its data table is gone, ``("view", why)`` when ``<schema>.<table>`` is not a
    view over it (dropped, replaced, or the target schema changed)."""
    if con is None:
        return None
    if published.version not in data_versions(con, published.table):
        return "data", f"its published data table {META}.{published.table}__v{published.version} is missing"
    row = con.execute("SELECT sql FROM duckdb_views() WHERE schema_name = ? AND view_name = ?", [schema, published.table]).fetchone()
    if row is None:
        return "view", f"the view {schema}.{published.table} does not exist (target schema changed, or the view was dropped)"
    if not _serves(row[0] or "", f"{published.table}__v{published.version}"):
        return "view", f"the view {schema}.{published.table} is not the one synthspec published (over version {published.version})"
    return None


_IDENTIFIER = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'


def _serves(sql: str, data_table: str) -> bool:
    """Whether a view's SQL (as DuckDB stores it, quoting normalised) is exactly what
    publishing creates: a list of columns selected from ``_synthspec.<data_table>``, and
    nothing else (no join, filter, union or other table that could serve other rows)."""
    name = re.escape(data_table)
    shape = (rf"CREATE\s+VIEW\s+{_IDENTIFIER}(?:\s*\.\s*{_IDENTIFIER}){{0,2}}\s+AS\s+SELECT\s+"
             rf"{_IDENTIFIER}(?:\s*,\s*{_IDENTIFIER})*\s+FROM\s+(?:\"{META}\"|{META})\s*\.\s*(?:\"{name}\"|{name})\s*;?\s*")
    return re.fullmatch(shape, sql.strip(), flags=re.IGNORECASE) is not None


def history_missing(con: duckdb.DuckDBPyConnection | None, table: str) -> bool:
    """Data tables of ``table`` exist but the run history that records them does not."""
    return con is not None and not _has_meta(con) and bool(data_versions(con, table))


@dataclass
class RunRecord:
    run_id: str
    table: str
    version: int | None
    status: str
    published: bool
    started_at: Any
    finished_at: Any
    model: str | None
    rows: int | None
    training_fp: str | None
    sampling_fp: str | None
    checks_fp: str | None
    synthspec_version: str
    metrics: dict[str, Any]
    message: str | None
    training_parts: dict[str, str] | None = None
    privacy: dict[str, Any] | None = None
    #: The table's full, redacted result as run_results.json shows it (checks, metrics,
    #: profile): what a later no-op run and `synthspec report --run` show again.
    result: dict[str, Any] | None = None

    def values(self) -> list[Any]:
        return [self.run_id, self.table, self.version, self.status, self.published, self.started_at,
                self.finished_at, self.model, self.rows, self.training_fp, self.sampling_fp, self.checks_fp,
                self.synthspec_version, json.dumps(self.metrics, sort_keys=True), self.message,
                json.dumps(self.training_parts or {}, sort_keys=True),
                json.dumps(self.privacy, sort_keys=True) if self.privacy is not None else None,
                json.dumps(redact.data(self.result), sort_keys=True) if self.result is not None else None]


_RUN_COLUMNS = ("run_id, table_name, version, status, published, started_at, finished_at, model, rows, "
                "training_fp, sampling_fp, checks_fp, synthspec_version, metrics, message, training_parts, privacy, result")
_INSERT_RUN = f"INSERT INTO {META}.runs ({_RUN_COLUMNS}) VALUES ({', '.join('?' * 18)})"


def record_run(con: duckdb.DuckDBPyConnection, record: RunRecord) -> None:
    ensure_meta(con)
    con.execute(_INSERT_RUN, record.values())


def _stores_results(con: duckdb.DuckDBPyConnection | None) -> bool:
    """Whether the history has the ``result`` column (older ones, or no history, do not)."""
    return con is not None and _has_meta(con) and _runs_column(con, "result") == "result"


def last_result(con: duckdb.DuckDBPyConnection | None, table: str, version: int) -> tuple[str, Any, dict[str, Any]] | None:
    """``(run_id, finished_at, result)`` of the last run that published (or re-checked)
    ``version`` of ``table`` with its full result stored, or None (older history, or none)."""
    if not _stores_results(con):
        return None
    row = con.execute(
        f"SELECT run_id, finished_at, result FROM {META}.runs WHERE table_name = ? AND version = ? AND published "
        "AND result IS NOT NULL ORDER BY finished_at DESC LIMIT 1", [table, version]).fetchone()
    return (str(row[0]), row[1], json.loads(row[2])) if row else None


def run_results(con: duckdb.DuckDBPyConnection | None, run_id: str) -> tuple[Any, Any, list[dict[str, Any]]]:
    """``(started_at, finished_at, results)`` of one run: its stored table results in the
    order they were recorded; no results when the history does not know the run."""
    if not _stores_results(con):
        return None, None, []
    rows = con.execute(f"SELECT started_at, finished_at, result FROM {META}.runs WHERE run_id = ? AND result IS NOT NULL "
                       "ORDER BY finished_at, table_name", [run_id]).fetchall()
    if not rows:
        return None, None, []
    return min(r[0] for r in rows), max(r[1] for r in rows), [json.loads(r[2]) for r in rows]


def recent_runs(con: duckdb.DuckDBPyConnection | None, limit: int = 10) -> list[tuple[str, Any, list[str]]]:
    """The newest runs with stored results: ``(run_id, finished_at, ["table:status", ...])``."""
    if not _stores_results(con):
        return []
    rows = con.execute(
        f"SELECT run_id, max(finished_at) AS last_at, list(table_name || ':' || status ORDER BY table_name) FROM {META}.runs "
        "WHERE result IS NOT NULL GROUP BY run_id ORDER BY last_at DESC LIMIT ?", [limit]).fetchall()
    return [(str(r[0]), r[1], list(r[2])) for r in rows]


@dataclass
class Publication:
    """One table's new version: ``frame`` holds publish-ready values (each column is CAST to the
    source's exact DuckDB type); ``reuse_version`` re-points the view at an existing data table
    (a re-check) instead."""

    table: str
    frame: pd.DataFrame | None
    column_types: list[tuple[str, str]]
    record: RunRecord
    reuse_version: int | None = None
    parts: list[Path] = field(default_factory=list)  # a sharded output: its rows, streamed in (engine/shards.py)


def publish_all(con: duckdb.DuckDBPyConnection, *, schema: str, items: list[Publication], keep_versions: int) -> None:
    """Create the new data tables and point the views at them, all in one transaction: tables
    linked by references appear together or not at all."""
    import duckdb

    current = ""
    try:
        ensure_meta(con)
        con.execute("BEGIN TRANSACTION")
        for item in items:
            current = item.table
            _publish_one(con, schema, item, keep_versions)
        con.execute("COMMIT")
    except duckdb.Error as exc:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        if isinstance(exc, duckdb.InterruptException):  # rolled back; the run stops as interrupted
            raise KeyboardInterrupt from exc
        raise EnvironmentError_(f"{current}: cannot publish {schema}.{current}: {redact.error(exc)}") from exc


def cast_columns(frame: pd.DataFrame, column_types: list[tuple[str, str]]) -> str:
    """The SELECT list that turns ``frame`` into the source's exact DuckDB types. A column with
    no value at all (a dropped one) is ``CAST(NULL AS <type>)``: an object column of Nones
    reaches DuckDB as some other type, which does not cast to BLOB, lists, STRUCT, MAP..."""
    empty = {c for c in frame.columns if not _has_value(frame[c])}
    return ", ".join(f"CAST({'NULL' if c in empty else quote(c)} AS {t}) AS {quote(c)}" for c, t in column_types)


def _has_value(series: pd.Series) -> bool:
    """Whether ``series`` holds a non-null value: its first rows decide almost always (a null
    test over every object cell of a 250k-row shard costs ~10 ms a column)."""
    return bool(series.iloc[:64].notna().any()) or bool(series.notna().any())


def _publish_one(con: duckdb.DuckDBPyConnection, schema: str, item: Publication, keep_versions: int) -> None:
    record = item.record
    assert record.version is not None
    name = data_table(item.table, record.version)
    if item.reuse_version is None and item.parts:
        from synthspec.engine.shards import insert_parts

        insert_parts(con, name, item.parts, item.column_types, create=True)
    elif item.reuse_version is None:
        assert item.frame is not None
        columns = cast_columns(item.frame, item.column_types)
        con.register("_synthspec_frame", item.frame)
        con.execute(f"CREATE TABLE {name} AS SELECT {columns} FROM _synthspec_frame")
        con.unregister("_synthspec_frame")
    view_source = data_table(item.table, item.reuse_version) if item.reuse_version is not None else name
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
    select = ", ".join(quote(c) for c, _ in item.column_types)
    con.execute(f"CREATE OR REPLACE VIEW {quote(schema)}.{quote(item.table)} AS SELECT {select} FROM {view_source}")
    con.execute(_INSERT_RUN, record.values())
    _prune(con, item.table, keep_versions)


def _prune(con: duckdb.DuckDBPyConnection, table: str, keep: int) -> None:
    """Drop data tables beyond the newest ``keep`` published versions (the view's and rollbacks)."""
    published = [r[0] for r in con.execute(
        f"SELECT DISTINCT version FROM {META}.runs WHERE table_name = ? AND published ORDER BY version DESC", [table]
    ).fetchall()]
    keep_set = set(published[:keep])
    existing = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? AND starts_with(table_name, ?)",
        [META, f"{table}__v"],
    ).fetchall()
    for (name,) in existing:
        suffix = name[len(table) + 3:]
        if suffix.isdigit() and int(suffix) not in keep_set:
            con.execute(f"DROP TABLE {META}.{quote(name)}")


def published_tables(con: duckdb.DuckDBPyConnection | None) -> list[str]:
    if con is None or not _has_meta(con):
        return []
    return [r[0] for r in con.execute(f"SELECT DISTINCT table_name FROM {META}.runs WHERE published ORDER BY 1").fetchall()]


__all__ = ["META", "Publication", "PublishedVersion", "RunRecord", "cast_columns", "current", "publish_all", "record_run", "sql_string"]
