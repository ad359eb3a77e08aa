"""Column profiles for `init`: counts only (never values), computed in DuckDB."""

from __future__ import annotations

import contextlib
import glob
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

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
    import pandas as pd


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
    source: dict[str, str]  # the spec's source block
    rows: int
    columns: list[ColumnProfile]
    sample: pd.DataFrame  # a deterministic sample for PII detection (never written anywhere)


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
        raise EnvironmentError_(f"cannot read '{path}': {str(exc).splitlines()[0][:200]}") from exc
    finally:
        con.close()


def profile_paths(pattern: str, root: Path) -> list[RelationProfile]:
    import duckdb

    base = Path(pattern) if Path(pattern).is_absolute() else root / pattern
    files = sorted(glob.glob(str(base)))
    if not files:
        raise UsageError(f"no files match '{pattern}'")
    con = duckdb.connect()
    out = []
    try:
        for file in files:
            reader = "read_csv" if file.lower().endswith((".csv", ".csv.gz", ".tsv")) else "read_parquet"
            relative = Path(file).resolve()
            with contextlib.suppress(ValueError):
                relative = relative.relative_to(root.resolve())
            stem = Path(file).name.split(".")[0]
            name = "".join(ch if ch.isalnum() else "_" for ch in stem).strip("_").lower() or "table"
            out.append(RelationProfile(name, {"path": relative.as_posix()}, *_profile(con, f"{reader}({sql_string(file)})")))
    except duckdb.Error as exc:
        raise EnvironmentError_(f"cannot read '{pattern}': {str(exc).splitlines()[0][:200]}") from exc
    finally:
        con.close()
    return out
