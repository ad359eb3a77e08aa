"""DuckDB access: connecting (with clear lock errors), reading sources, schema, fingerprints."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from synthspec import redact
from synthspec.errors import EnvironmentError_, Problem, SpecError
from synthspec.spec.sources import (
    SourceMissingError,
    SourceRuleError,
    matched_files,
    select_statement,
)

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


#: Every connection synthspec opens to a database file: no file system access beyond the
#: database itself (no read_csv, COPY, ATTACH, extension loading...), settings locked so no
#: statement can undo that, and EXPLAIN showing the unoptimised plan (which tables a source
#: reads, for the privacy-budget ledger).
SANDBOX = {"enable_external_access": False, "explain_output": "all", "lock_configuration": True}


@dataclass
class Connections:
    source: duckdb.DuckDBPyConnection | None
    target: duckdb.DuckDBPyConnection | None
    same_file: bool
    #: in-memory connections that may read exactly the files of one `source.path`
    files: dict[tuple[str, ...], duckdb.DuckDBPyConnection] = field(default_factory=dict)

    def close(self) -> None:
        opened = [self.source, self.target, *self.files.values()]
        for con in {id(c): c for c in opened if c is not None}.values():
            con.close()


def connect(path: Path, *, read_only: bool, display: str) -> duckdb.DuckDBPyConnection:
    import duckdb

    if read_only and not path.exists():
        raise EnvironmentError_(f"database '{display}' does not exist")
    if not read_only and not path.parent.exists():
        raise EnvironmentError_(f"cannot create database '{display}': directory does not exist")
    try:
        return duckdb.connect(str(path), read_only=read_only, config=dict(SANDBOX))
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


def files_connection(files: list[str]) -> duckdb.DuckDBPyConnection:
    """An in-memory connection that can read exactly ``files`` (resolved paths) and nothing
    else on the file system, and cannot write any file."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET allowed_paths = [{', '.join(sql_string(f) for f in files)}]")
    for key, value in SANDBOX.items():
        con.execute(f"SET {key} = {sql_string(value) if isinstance(value, str) else str(value).lower()}")
    return con


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
    """The source as a SQL relation: a quoted table name, a parenthesised SELECT (checked to be
    exactly one SELECT statement), or a reader over the resolved files of ``source.path``."""
    source = loaded.spec.source
    if source.table is not None:
        return qualified(source.table)
    if source.query is not None:
        # The newline ends a trailing `-- comment` before the closing parenthesis.
        return f"(\n{_checked(loaded, lambda: select_statement(source.query or ''))}\n)"
    assert source.path is not None
    files = _checked(loaded, lambda: matched_files(source.path or "", project))
    listed = f"[{', '.join(sql_string(f) for f in files)}]"
    if not source.path.lower().endswith((".csv", ".csv.gz", ".tsv")):
        return f"read_parquet({listed})"
    return f"read_csv({listed}{'' if source.header is None else f', header = {str(source.header).lower()}'})"


def _checked(loaded: LoadedSpec, rule):  # noqa: ANN001, ANN202
    """A source rule's result, or its violation as a spec error located at the source."""
    try:
        return rule()
    except SourceMissingError as exc:
        raise EnvironmentError_(f"{loaded.file}: cannot read source {_source_label(loaded)}: {exc}") from exc
    except SourceRuleError as exc:
        key = "query" if loaded.spec.source.query is not None else "path"
        loc = loaded.doc.locate(("source", key), prefer_key=True)
        raise SpecError([Problem(loc.file, loc.line, loc.col, str(exc))]) from exc


def _source_connection(cons: Connections, loaded: LoadedSpec, project: Project) -> duckdb.DuckDBPyConnection:
    source = loaded.spec.source
    if source.path is not None:  # paths need no database: a sandboxed in-memory one reads them
        files = tuple(_checked(loaded, lambda: matched_files(source.path or "", project)))
        if files not in cons.files:
            cons.files[files] = files_connection(list(files))
        return cons.files[files]
    if cons.source is not None:
        return cons.source
    raise SpecError([Problem("synthspec.yml", 0, 0, f"spec '{loaded.file}' reads source.table/query but the project file has no 'source: {{duckdb: ...}}'")])


def _on_source(cons: Connections, loaded: LoadedSpec, project: Project, template: str, fetch, *,  # noqa: ANN001, ANN202
               stream: bool = False):
    """``fetch`` of ``template`` (``{rel}`` is the source relation) run on the source
    connection; with ``stream``, ``fetch`` gets the query as a relation to stream from (an
    executed result would be materialised whole by DuckDB first). When the source is also the target (one read-write connection) the read runs in
    a READ ONLY transaction: DuckDB refuses any write in it (even a sequence's nextval). A DuckDB error
    becomes an environment error naming the spec and the source, never a value."""
    import duckdb

    con = _source_connection(cons, loaded, project)
    sql = template.format(rel=relation_sql(loaded, project))
    shared = cons.same_file and con is cons.target
    try:
        if shared:
            con.execute("BEGIN TRANSACTION READ ONLY")
        try:
            if stream:  # a relation streams only once no earlier result is pending (e.g. a fetchone's)
                con.complete()
            return fetch(con.sql(sql) if stream else con.execute(sql))
        finally:
            if shared:
                con.execute("ROLLBACK")
    except duckdb.InterruptException as exc:  # Ctrl-C (or SIGTERM) arrived during the query: stop the run
        raise KeyboardInterrupt from exc
    except duckdb.Error as exc:
        raise EnvironmentError_(f"{loaded.file}: cannot read source {_source_label(loaded)}: {_first_line(exc)}") from exc


def describe(cons: Connections, loaded: LoadedSpec, project: Project) -> list[tuple[str, str]]:
    """(column, DuckDB type) of the source, or an environment error naming the source."""
    return [(r[0], r[1]) for r in _on_source(cons, loaded, project, "DESCRIBE SELECT * FROM {rel}", _all)]


def unsupported_type(duckdb_type: str) -> bool:
    """True for a source type synthspec cannot model (see ``_SUPPORTED``)."""
    return not _SUPPORTED.match(duckdb_type.strip())


def text_like_type(duckdb_type: str) -> bool:
    """An unsupported type whose values are text, so they could equal a published cell."""
    return bool(_TEXT_LIKE.match(duckdb_type.strip()))


def row_hash(columns: list[str]) -> str:
    """A hash of each row over exactly ``columns``, named one by one (quoted): a column can
    never shadow it, as a column named like a table alias would shadow ``hash(t)``."""
    return "hash(" + ", ".join(quote(c) for c in columns) + ")"


def data_fingerprint(cons: Connections, loaded: LoadedSpec, project: Project, columns: list[str] | None = None) -> tuple[int, str]:
    """Row count and an order-independent hash of every row (a sum of row hashes)."""
    columns = columns if columns is not None else [c for c, _ in describe(cons, loaded, project)]
    digest = _braced(row_hash(columns))
    count, total = _on_source(cons, loaded, project, f"SELECT count(*), coalesce(sum({digest}), 0)::VARCHAR FROM {{rel}} AS t", _one)
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

    select = _braced(", ".join(expression(c, t) for c, t in columns))
    names = [c for c, _ in columns]
    order = _braced(", ".join([row_hash(names), *(quote(c) for c in names)])) if names else "1"
    # Text and plain numbers through Arrow when that is all there is: several times faster than
    # DuckDB's per-cell conversion of text, and each distinct string becomes one Python object
    # shared by its rows (a million cells of a dozen values hold a dozen strings, not a million).
    # Other types keep `.df()`'s conversions, which the rest of the engine is built on.
    fast = any(_is_text(t) for _, t in columns) and all(_is_text(t) or t.strip().upper() in _ARROW_SAFE for _, t in columns)
    if not fast:
        frame = _on_source(cons, loaded, project, f"SELECT {select} FROM {{rel}} AS t ORDER BY {order}", _frame)
    elif (frame := _hash_ordered(cons, loaded, project, select, names)) is None:  # colliding hashes: let DuckDB order
        frame = _on_source(cons, loaded, project, f"SELECT {select} FROM {{rel}} AS t ORDER BY {order}",
                           lambda relation: _pandas_columns(_arrow_columns(relation)), stream=True)
    if fast:  # Arrow's allocator keeps the freed batches for its own reuse; the frame is numpy and
        # Python objects, so nothing would reuse them: give them back (1M Adult rows: ~90 MB)
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    for name, duckdb_type in columns:
        if _TZ.match(duckdb_type):
            frame[name] = frame[name].dt.tz_localize("UTC")
    return frame


def _hash_ordered(cons: Connections, loaded: LoadedSpec, project: Project, select: str, names: list[str]) -> pd.DataFrame | None:
    """The rows in the canonical order (row hash, then the values) with the sort done here on
    the hashes: DuckDB's sort of every column keeps its buffers (~250 MB per million Adult rows)
    for the rest of the run. Rows of equal hash must be equal rows (then their order does not
    matter); None when two different rows share a hash, for DuckDB's full ORDER BY. The rows
    are put in order while still compact Arrow columns (see :func:`_arrow_columns`)."""
    import numpy as np

    key = "__synthspec_row_hash"
    while key in names:
        key += "_"
    columns = _on_source(cons, loaded, project, f"SELECT {select}, {_braced(row_hash(names))} AS {quote(key)} FROM {{rel}} AS t",
                         _arrow_columns, stream=True)
    hashes = columns.pop(key).to_numpy()
    order = np.argsort(hashes, kind="stable")
    frame = _pandas_columns(columns, order)
    tied = np.flatnonzero(hashes[order][1:] == hashes[order][:-1])
    if tied.size:
        first = frame.iloc[tied].reset_index(drop=True)
        second = frame.iloc[tied + 1].reset_index(drop=True)
        same = (first == second).fillna(False).astype(bool) | (first.isna() & second.isna())  # null == null here
        if not same.all(axis=None):
            return None
    return frame


def read_sample(cons: Connections, loaded: LoadedSpec, project: Project, columns: list[str], rows: int = 2000) -> pd.DataFrame:
    """A deterministic sample (the first rows in row-hash order) for PII detection, in forms
    detection can read whatever the types (see :func:`sample_expression`)."""
    types = dict(describe(cons, loaded, project))
    select = _braced(", ".join(sample_expression(c, types.get(c, "VARCHAR")) for c in columns))
    return _on_source(cons, loaded, project, f"SELECT {select} FROM {{rel}} AS t ORDER BY {_braced(row_hash(columns))} LIMIT {int(rows)}", _frame)


def base_relations(cons: Connections, loaded: LoadedSpec, project: Project) -> list[str]:
    """The tables the source reads, as DuckDB's binder resolves them (case, catalog
    qualification, views and CTEs traced to the tables underneath): ``schema.table`` names
    from the unoptimised logical plan. A source reading no table gives an empty list."""
    import json

    plans = _on_source(cons, loaded, project, "EXPLAIN (FORMAT JSON) SELECT * FROM {rel} AS t", _all)
    logical = next((text for kind, text in plans if kind == "logical_plan"), plans[0][1] if plans else "[]")
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            info = node.get("extra_info")
            if isinstance(info, dict) and isinstance(info.get("Table"), str):
                parts = info["Table"].split(".")
                found.add(".".join(parts[-2:]) if len(parts) >= 2 else f"main.{parts[0]}")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(logical))
    return sorted(found)


def _braced(sql: str) -> str:
    """SQL placed inside a ``str.format`` template: braces doubled."""
    return sql.replace("{", "{{").replace("}", "}}")


def _all(result):  # noqa: ANN001, ANN202
    return result.fetchall()


def _one(result):  # noqa: ANN001, ANN202
    return result.fetchone()


def _frame(result):  # noqa: ANN001, ANN202
    return result.df()


def _is_text(duckdb_type: str) -> bool:
    return duckdb_type.strip().upper().startswith(("VARCHAR", "TEXT", "STRING"))


#: DuckDB types whose Arrow conversion gives exactly `.df()`'s pandas values and dtypes (with
#: nulls: the nullable integer and boolean dtypes; NaN in floats).
_ARROW_SAFE = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT",
                         "BOOLEAN", "FLOAT", "DOUBLE"})


#: Rows per Arrow batch streamed from a source: DuckDB's result and Arrow's plain text hold
#: one batch at a time (each text column is dictionary-encoded as it arrives).
READ_BATCH_ROWS = 262_144


def _arrow_columns(relation):  # noqa: ANN001, ANN202
    """The relation's columns as Arrow chunked arrays, streamed batch by batch, with every text
    column dictionary-encoded per batch: a million cells of a dozen distinct strings hold a
    dozen strings and a million 4-byte indices, not a million strings (DuckDB and Arrow would
    otherwise hold every row's text, several times the final frame)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    reader = relation.to_arrow_reader(READ_BATCH_ROWS)
    chunks: dict[str, list] = {name: [] for name in reader.schema.names}
    for batch in reader:
        for name, array in zip(batch.schema.names, batch.columns, strict=True):
            text = pa.types.is_string(array.type) or pa.types.is_large_string(array.type) or pa.types.is_string_view(array.type)
            chunks[name].append(pc.dictionary_encode(array) if text else array)
    return {name: _chunked(arrays, reader.schema.field(name).type) for name, arrays in chunks.items()}


def _chunked(arrays: list, kind):  # noqa: ANN001, ANN202
    """One column's batches as a chunked array (an empty relation: an empty one of its type)."""
    import pyarrow as pa

    return pa.chunked_array(arrays) if arrays else pa.chunked_array([], type=kind)


def _pandas_columns(columns: dict, order=None):  # noqa: ANN001, ANN202
    """Arrow columns (from :func:`_arrow_columns`) as the frame `.df()` gives, for text and the
    types of ``_ARROW_SAFE`` only, except that text of few distinct values is held as codes
    (io/compact.py); integers and booleans with nulls
    as pandas' nullable dtypes. ``order``: the rows' positions to take (the canonical order).
    Each Arrow column is released once converted, so the frame and one column's conversion are
    the most held at once."""
    import pandas as pd
    import pyarrow as pa

    from synthspec.io.compact import held

    frame = {}
    for name in list(columns):
        chunked = columns.pop(name)
        kind = chunked.type
        if pa.types.is_dictionary(kind):
            words, codes = _dictionary(chunked)
            frame[name] = pd.Series(held(codes if order is None else codes[order], words[:-1]), name=name)
            continue
        if order is not None:
            chunked = chunked.take(order)
        if chunked.null_count and (pa.types.is_integer(kind) or pa.types.is_boolean(kind)):
            dtype = pd.BooleanDtype() if pa.types.is_boolean(kind) else pd.api.types.pandas_dtype(str(kind).replace("int", "Int").replace("uInt", "UInt"))
            frame[name] = pd.Series(dtype.__from_arrow__(chunked), name=name)
        else:
            frame[name] = chunked.to_pandas()
    return pd.DataFrame(frame)


def _dictionary(chunked):  # noqa: ANN001, ANN202
    """A dictionary-encoded text column as (words, codes): an object array of one shared str
    per distinct value followed by None, and each row's position in it (nulls: -1, the None),
    so ``words[codes]`` is what Arrow's deduplicating conversion of the plain text gives."""
    import numpy as np

    chunked = chunked.unify_dictionaries()
    words = chunked.chunk(0).dictionary.to_pylist() if chunked.num_chunks else []
    codes = [np.asarray(c.indices.fill_null(-1), dtype=np.int32) for c in chunked.chunks]
    return np.array([*words, None], dtype=object), np.concatenate(codes) if codes else np.zeros(0, np.int32)


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
    row = _on_source(cons, loaded, project, f"SELECT {_braced(select)} FROM {{rel}} AS t", _one)
    assert row is not None
    return {name: (int(row[2 * i]), int(row[2 * i + 1])) for i, (name, _, _) in enumerate(parts)}


def unreadable_text_counts(cons: Connections, loaded: LoadedSpec, project: Project,
                           columns: list[tuple[str, str, str | None]]) -> dict[str, int]:
    """Per text column (name, semantic type, format) modelled as numbers, datetimes (a strftime
    format) or booleans (``true/false`` spellings): how many non-null values do not read so."""
    if not columns:
        return {}
    parts = []
    for name, semantic, fmt in columns:
        q = quote(name)
        if semantic == "numerical":
            parts.append(f"count({q}) - count(*) FILTER (WHERE isfinite(TRY_CAST({q} AS DOUBLE)))")
        elif semantic == "boolean":
            spellings = ", ".join(sql_string(v) for v in (fmt or "").split("/"))
            parts.append(f"count({q}) - count(*) FILTER (WHERE {q} IN ({spellings}))")
        else:
            parts.append(f"count({q}) - count(try_strptime({q}, {sql_string(fmt or '')}))")
    row = _on_source(cons, loaded, project, f"SELECT {_braced(', '.join(parts))} FROM {{rel}} AS t", _one)
    assert row is not None
    return {name: int(row[i]) for i, (name, _, _) in enumerate(columns)}


def _source_label(loaded: LoadedSpec) -> str:
    s = loaded.spec.source
    return f"table '{s.table}'" if s.table else ("query" if s.query else f"path '{s.path}'")


def _first_line(exc: Exception) -> str:
    """DuckDB's message made safe to print: conversion errors quote the offending cell value,
    and a message must never carry one (see ``synthspec.redact.error``)."""
    return redact.error(exc)
