"""Column profiles for `init`: counts only (never values), computed in DuckDB.

A CSV file's column names come from its first row when DuckDB's sniffer says it is a header;
for a file without one (all-text columns fool the sniffer) that row is data, and its cells
must not become column names in a committed spec. ``profile_paths`` shows the first row to a
``header_check`` and, when it looks like data, reads the file without a header (DuckDB then
names the columns ``column0``, ``column1``...)."""

from __future__ import annotations

import contextlib
import glob
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from synthspec import redact
from synthspec.errors import EnvironmentError_, UsageError
from synthspec.io.warehouse import (
    connect,
    quote,
    row_hash,
    sample_expression,
    sql_string,
    unsupported_type,
)

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

#: Why a CSV file's first row looks like data, from its cells and, per cell, how many other
#: rows hold the same value in that column (None: it looks like a header).
HeaderCheck = Callable[[list[str], list[int]], "str | None"]


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    duckdb_type: str
    rows: int
    distinct: int
    nulls: int


@dataclass(frozen=True)
class RelationProfile:
    name: str  # the table name to publish under
    source: dict[str, str | bool]  # the spec's source block
    rows: int
    columns: list[ColumnProfile]
    sample: pd.DataFrame  # a deterministic sample for PII detection (never written anywhere)
    headerless: str | None = None  # why the first row was read as data (a CSV without a header)


def _profile(con, relation: str) -> tuple[int, list[ColumnProfile], pd.DataFrame]:  # noqa: ANN001
    described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    rows = con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
    profiles = []
    for name, duckdb_type, *_ in described:
        if unsupported_type(duckdb_type):
            profiles.append(ColumnProfile(name, duckdb_type, rows, 0, 0))
            continue
        distinct, nulls = con.execute(
            f"SELECT approx_count_distinct({quote(name)}), count(*) - count({quote(name)}) FROM {relation}"
        ).fetchone()
        profiles.append(ColumnProfile(name, duckdb_type, int(rows), int(distinct), int(nulls)))
    select = ", ".join(sample_expression(name, duckdb_type) for name, duckdb_type, *_ in described)
    order = row_hash([name for name, *_ in described])
    sample = con.execute(f"SELECT {select} FROM {relation} AS t ORDER BY {order} LIMIT 2000").df()
    return int(rows), profiles, sample


def profile_duckdb(path: Path, schema: str) -> list[RelationProfile]:
    import duckdb

    con = connect(path, read_only=True, display=str(path))
    try:
        names = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name", [schema]
        ).fetchall()
        if not names:
            raise UsageError(f"schema '{schema}' of '{path}' has no tables or views")
        return [
            RelationProfile(name, {"table": f"{schema}.{name}"}, *_profile(con, f"{quote(schema)}.{quote(name)}"))
            for (name,) in names
        ]
    except duckdb.Error as exc:
        raise EnvironmentError_(f"cannot read '{path}': {redact.error(exc)}") from exc
    finally:
        con.close()


def profile_paths(pattern: str, root: Path, header_check: HeaderCheck | None = None) -> list[RelationProfile]:
    import duckdb

    base = Path(pattern) if Path(pattern).is_absolute() else root / pattern
    files = sorted(glob.glob(str(base)))
    if not files:
        raise UsageError(f"no files match '{pattern}'")
    con = duckdb.connect()
    out = []
    try:
        for file in files:
            csv = file.lower().endswith((".csv", ".csv.gz", ".tsv"))
            relation, headerless = f"{'read_csv' if csv else 'read_parquet'}({sql_string(file)})", None
            if csv and header_check is not None:
                headerless = _headerless(con, file, header_check)
                if headerless is not None:
                    relation = f"read_csv({sql_string(file)}, header = false)"
            relative = Path(file).resolve()
            with contextlib.suppress(ValueError):
                relative = relative.relative_to(root.resolve())
            stem = Path(file).name.split(".")[0]
            name = "".join(ch if ch.isalnum() else "_" for ch in stem).strip("_").lower() or "table"
            source = {"path": relative.as_posix(), **({"header": False} if headerless is not None else {})}
            out.append(RelationProfile(name, source, *_profile(con, relation), headerless=headerless))
    except duckdb.Error as exc:
        raise EnvironmentError_(f"cannot read '{pattern}': {redact.error(exc)}") from exc
    finally:
        con.close()
    return out


def _headerless(con: duckdb.DuckDBPyConnection, file: str, header_check: HeaderCheck) -> str | None:
    """Why the row DuckDB takes for the header of ``file`` looks like data (None: a header,
    or DuckDB itself reads the file without one)."""
    if not con.execute(f"SELECT HasHeader FROM sniff_csv({sql_string(file)})").fetchone()[0]:
        return None
    text = f"read_csv({sql_string(file)}, header = false, all_varchar = true)"
    columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {text}").fetchall()]
    first = con.execute(f"SELECT * FROM {text} LIMIT 1").fetchone()
    if first is None:
        return None
    cells = ["" if v is None else str(v) for v in first]
    counts = con.execute("SELECT " + ", ".join(f"count(*) FILTER (WHERE {quote(c)} = ?)" for c in columns) + f" FROM {text}",
                         cells).fetchone()
    return header_check(cells, [max(int(n) - 1, 0) for n in counts])
