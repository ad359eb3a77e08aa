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
from dataclasses import dataclass, field
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
class ValueShape:
    """What `init` infers a column's semantics from: counts and flags over every value, never a
    value itself (specs are committed: see ``synthspec.engine.init``)."""

    distinct: int  # exact count of distinct non-null values
    whole: bool = False  # numbers (or text that holds numbers): every value is a whole number
    sequence: bool = False  # integers: unique and dense (max - min + 1 == count), like a serial key
    numbers: bool = False  # text: every value reads as a number
    leading_zeros: bool = False  # text: some value is a number written with a leading zero (a code: '02134')
    boolean: bool = False  # text or integers: two values, spelled like a boolean (yes/no, Y/N, 0/1, true/false)
    boolean_format: str | None = None  # text booleans: the two spellings as written, true first ("Y/N")
    date_format: str | None = None  # text: the strftime format every value round-trips through
    avg_length: float = 0.0  # text: mean length
    spaces: float = 0.0  # text: share of values with a space
    singletons: int = 0  # values held by exactly one row


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    duckdb_type: str
    rows: int
    distinct: int
    nulls: int
    shape: ValueShape | None = None


@dataclass(frozen=True)
class RelationProfile:
    name: str  # the table name to publish under
    source: dict[str, str | bool]  # the spec's source block
    rows: int
    columns: list[ColumnProfile]
    sample: pd.DataFrame  # a deterministic sample for PII detection (never written anywhere)
    headerless: str | None = None  # why the first row was read as data (a CSV without a header)
    relation: str = ""  # the SQL relation the profile read (for containment queries across tables)
    #: column -> (table, column) it references: a name match confirmed by a containment query
    references: dict[str, tuple[str, str]] = field(default_factory=dict)


#: The primary-key column of a profiled relation, or None (``synthspec.engine.init`` decides).
KeyOf = Callable[["RelationProfile"], "str | None"]
#: Whether a column name reads like a reference to (table, key column) of another relation,
#: or of the same one (a self-reference: ``manager_id``, ``reports_to``).
NameMatch = Callable[[str, str, str, bool], bool]


#: Formats a text date or timestamp column may use, most specific first: a column is drafted as
#: a datetime with format F only when every value round-trips exactly (``strftime(strptime(v, F),
#: F) = v``), so the published text is in the source's format. ``%-d`` style (no zero padding) is
#: DuckDB's and glibc's; synthspec parses it as ``%d``. Millisecond formats do not round-trip
#: through ``%f`` (microseconds) and are left as text.
DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d", "%Y%m%d",
    "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y", "%-m/%-d/%Y %H:%M:%S", "%-m/%-d/%Y %-H:%M", "%-m/%-d/%Y",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y", "%-d/%-m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y", "%m/%d/%y", "%-m/%-d/%y",
    "%d-%b-%Y", "%d %b %Y", "%b %d, %Y", "%d %B %Y", "%B %d, %Y", "%b %-d, %Y", "%B %-d, %Y", "%-d %B %Y",
    "%Y-%m", "%Y-%m-%d %H:%M:%S%z",
)
#: Spellings of a boolean stored as text, true first (matched case-insensitively, kept as written).
_BOOLEAN_PAIRS = (("true", "false"), ("t", "f"), ("yes", "no"), ("y", "n"), ("1", "0"), ("on", "off"))


def _profile(con, relation: str) -> tuple[int, list[ColumnProfile], pd.DataFrame]:  # noqa: ANN001
    described = con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
    rows = con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
    profiles = []
    for name, duckdb_type, *_ in described:
        if unsupported_type(duckdb_type):
            profiles.append(ColumnProfile(name, duckdb_type, rows, 0, 0))
            continue
        distinct, nulls = con.execute(
            f"SELECT count(DISTINCT {quote(name)}), count(*) - count({quote(name)}) FROM {relation}"
        ).fetchone()
        shape = _shape(con, relation, name, duckdb_type, int(distinct))
        profiles.append(ColumnProfile(name, duckdb_type, int(rows), int(distinct), int(nulls), shape))
    select = ", ".join(sample_expression(name, duckdb_type) for name, duckdb_type, *_ in described)
    order = row_hash([name for name, *_ in described])
    sample = con.execute(f"SELECT {select} FROM {relation} AS t ORDER BY {order} LIMIT 2000").df()
    return int(rows), profiles, sample


def _shape(con, relation: str, name: str, duckdb_type: str, distinct: int) -> ValueShape:  # noqa: ANN001
    """Counts and flags over every value of one column, computed in DuckDB."""
    from synthspec.engine.columns import is_integer_type, is_numeric_type, is_text_type

    q, upper = quote(name), duckdb_type.strip().upper()
    singletons = con.execute(
        f"SELECT count(*) FROM (SELECT {q} FROM {relation} WHERE {q} IS NOT NULL GROUP BY {q} HAVING count(*) = 1)"
    ).fetchone()[0]
    if is_numeric_type(upper):
        low, high, n, fractional = con.execute(
            f"SELECT min({q}), max({q}), count({q}), count(*) FILTER (WHERE {q} <> round({q})) FROM {relation}").fetchone()
        whole = not fractional
        sequence = bool(is_integer_type(upper) and n and distinct == n and int(high) - int(low) + 1 == n)
        boolean = distinct == 2 and whole and {low, high} == {0, 1}
        return ValueShape(distinct, whole=whole, sequence=sequence, boolean=boolean, singletons=int(singletons))
    if not is_text_type(upper):
        return ValueShape(distinct, singletons=int(singletons))
    n, numbers, fractional, zeros, length, spaces = con.execute(
        f"SELECT count({q}), count(TRY_CAST({q} AS DOUBLE)), "
        f"count(*) FILTER (WHERE TRY_CAST({q} AS DOUBLE) <> round(TRY_CAST({q} AS DOUBLE))), "
        f"count(*) FILTER (WHERE regexp_full_match({q}, '[-+]?0[0-9]+(\\.[0-9]*)?')), "
        f"coalesce(avg(length({q})), 0), count(*) FILTER (WHERE {q} LIKE '% %') FROM {relation}").fetchone()
    boolean, boolean_format = False, None
    if distinct == 2:
        written = [str(v) for (v,) in con.execute(f"SELECT DISTINCT {q} FROM {relation} WHERE {q} IS NOT NULL").fetchall()]
        lowered = {v.lower(): v for v in written}
        pair = next((p for p in _BOOLEAN_PAIRS if set(lowered) == set(p)), None)
        if pair is not None and "/" not in "".join(written):
            boolean, boolean_format = True, f"{lowered[pair[0]]}/{lowered[pair[1]]}"
    return ValueShape(distinct, whole=bool(n and numbers == n and not fractional), numbers=bool(n and numbers == n),
                      leading_zeros=bool(zeros), boolean=boolean, boolean_format=boolean_format, date_format=_date_format(con, relation, q, n),
                      avg_length=float(length), spaces=float(spaces) / n if n else 0.0, singletons=int(singletons))


def _date_format(con, relation: str, q: str, n: int) -> str | None:  # noqa: ANN001
    """The first of :data:`DATE_FORMATS` every value of a text column round-trips through."""
    if not n:
        return None
    counts = con.execute("SELECT " + ", ".join(
        f"count(*) FILTER (WHERE strftime(try_strptime({q}, {sql_string(f)}), {sql_string(f)}) = {q})" for f in DATE_FORMATS
    ) + f" FROM {relation}").fetchone()
    return next((f for f, c in zip(DATE_FORMATS, counts, strict=True) if c == n), None)


def find_references(con, profiles: list[RelationProfile], key_of: KeyOf, matches: NameMatch) -> None:  # noqa: ANN001
    """Fill each profile's ``references``: a column whose name ``matches`` another relation's
    primary key (or its own, for a self-reference), of a compatible type, and every non-null
    value of which is found among that key's values (a containment query in DuckDB)."""
    keys = {p.name: key for p in profiles if (key := key_of(p)) is not None}
    types = {p.name: {c.name: c.duckdb_type for c in p.columns} for p in profiles}
    by_name = {p.name: p for p in profiles}
    for child in profiles:
        for column in child.columns:
            if column.name == keys.get(child.name) or column.nulls == column.rows or unsupported_type(column.duckdb_type):
                continue
            for parent_name, key in sorted(keys.items(), key=lambda kv: kv[0] == child.name):  # other tables first
                same = parent_name == child.name
                if not matches(column.name, parent_name, key, same) or not _compatible(column.duckdb_type, types[parent_name][key]):
                    continue
                parent = by_name[parent_name]
                missing = con.execute(
                    f"SELECT count(*) FROM {child.relation} AS c WHERE c.{quote(column.name)} IS NOT NULL AND "
                    f"CAST(c.{quote(column.name)} AS VARCHAR) NOT IN (SELECT CAST({quote(key)} AS VARCHAR) FROM {parent.relation})"
                ).fetchone()[0]
                if missing == 0:
                    child.references[column.name] = (parent_name, key)
                    break


def _compatible(a: str, b: str) -> bool:
    from synthspec.engine.columns import is_integer_type, is_text_type

    def textual(t: str) -> bool:
        return is_text_type(t) or t.strip().upper() == "UUID"

    return (is_integer_type(a) and is_integer_type(b)) or (textual(a) and textual(b))


def profile_duckdb(path: Path, schema: str, key_of: KeyOf | None = None, matches: NameMatch | None = None) -> list[RelationProfile]:
    import duckdb

    con = connect(path, read_only=True, display=str(path))
    try:
        names = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name", [schema]
        ).fetchall()
        if not names:
            raise UsageError(f"schema '{schema}' of '{path}' has no tables or views")
        profiles = [
            RelationProfile(name, {"table": f"{schema}.{name}"}, *_profile(con, f"{quote(schema)}.{quote(name)}"),
                            relation=f"{quote(schema)}.{quote(name)}")
            for (name,) in names
        ]
        if key_of is not None and matches is not None:
            find_references(con, profiles, key_of, matches)
        return profiles
    except duckdb.Error as exc:
        raise EnvironmentError_(f"cannot read '{path}': {redact.error(exc)}") from exc
    finally:
        con.close()


def profile_paths(pattern: str, root: Path, header_check: HeaderCheck | None = None, key_of: KeyOf | None = None,
                  matches: NameMatch | None = None) -> list[RelationProfile]:
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
            out.append(RelationProfile(name, source, *_profile(con, relation), headerless=headerless, relation=relation))
        if key_of is not None and matches is not None:
            find_references(con, out, key_of, matches)
    except duckdb.Error as exc:
        raise EnvironmentError_(f"cannot read '{pattern}': {redact.error(exc)}") from exc
    finally:
        con.close()
    return out


def _headerless(con: duckdb.DuckDBPyConnection, file: str, header_check: HeaderCheck) -> str | None:
    """Why the row DuckDB takes for the header of ``file`` looks like data (None: a header,
    or DuckDB itself reads the file without one)."""
    has_header, columns = con.execute(f"SELECT HasHeader, Columns FROM sniff_csv({sql_string(file)})").fetchone()
    if not has_header:
        return None
    if any(str(c["type"]).upper() != "VARCHAR" for c in columns):
        # A column typed from its values (numbers, dates) whose first cell is not of that type:
        # the sniffer's evidence that row is a header is then the data itself, not a guess (a
        # dotted R name like `Wr.Hnd` would otherwise pass for a domain).
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
