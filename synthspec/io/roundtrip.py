"""Rows as a DuckDB table hands them back: the values the checks must score.

A publication CASTs the decoded rows to the source's exact types (DECIMAL(10,2) rounds, a
truncated date loses its time of day), and a re-check reads them back from the target. Checks
computed on the rows *before* that CAST describe values nobody can query and give other numbers
on a re-check of the very same publication. Running the same CAST in an in-memory database and
reading the result back gives, at publish time, the frame a re-check reads from the target
(the round trip is idempotent: a frame read from DuckDB CASTs to the same values again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthspec import redact
from synthspec.errors import EnvironmentError_
from synthspec.io.history import cast_columns
from synthspec.io.warehouse import _TZ, quote, unsupported_type

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

#: Name of the position column added to keep the frame's row order through DuckDB.
_POSITION = "__synthspec_position"
#: Name of the row-hash column ``smallest_published`` adds.
_HASH = "__synthspec_hash"


def as_published(frame: pd.DataFrame, column_types: list[tuple[str, str]]) -> pd.DataFrame:
    """``frame``'s ``column_types`` columns CAST to those DuckDB types, as DuckDB returns them.

    Rows keep their order (an explicit position, not DuckDB's insertion-order setting). Time
    zones are read as UTC instants, as ``warehouse.read_source`` reads the real rows, so both
    sides of a comparison have one form whatever the session's TimeZone. A type synthspec
    does not model (only ever published as NULLs) comes back as NULLs, as
    ``history.read_published`` reads it: some such types cannot reach pandas at all."""
    return _cast(frame, column_types, smallest=None)[0]


def smallest_published(frame: pd.DataFrame, column_types: list[tuple[str, str]],
                       rows: int) -> tuple[pd.DataFrame, np.ndarray]:
    """``as_published(frame, column_types)`` and a hash of each row's published values, both
    in ``frame``'s row order when it has at most ``rows`` rows; else only the ``rows`` rows of
    smallest hash, in hash order.

    The hash is DuckDB's, of the CAST values: equal published values hash alike on the publish
    path and on a re-check of the rows read back (the CAST is idempotent), and the cut happens
    inside DuckDB, so the other rows never become Python objects (on a million rows that
    conversion cost most of the checks' time)."""
    return _cast(frame, column_types, smallest=rows if len(frame) > rows else None)


def _cast(frame: pd.DataFrame, column_types: list[tuple[str, str]],
          smallest: int | None) -> tuple[pd.DataFrame, np.ndarray]:
    """The CAST round trip behind ``as_published`` and ``smallest_published``."""
    import duckdb

    names = [name for name, _ in column_types]
    subset = frame[names].reset_index(drop=True).assign(**{_POSITION: range(len(frame))})
    select = cast_columns(subset[names], column_types)
    zoned = [name for name, duckdb_type in column_types if _TZ.match(duckdb_type)]
    unsupported = {name for name, duckdb_type in column_types if unsupported_type(duckdb_type)}

    def outer_column(name: str) -> str:
        if name in unsupported:
            return f"NULL AS {quote(name)}"
        return f"timezone('UTC', {quote(name)}) AS {quote(name)}" if name in zoned else quote(name)

    outer = ", ".join(outer_column(n) for n in names)
    hashed = f"hash({', '.join(quote(n) for n in names)})" if names else "0::UBIGINT"
    order = f"{quote(_HASH)}, {quote(_POSITION)} LIMIT {int(smallest)}" if smallest is not None else quote(_POSITION)
    con = duckdb.connect()  # in memory: only to CAST exactly as a publication does
    try:
        con.register("_synthspec_rows", subset)
        out = con.execute(f"SELECT {outer + ', ' if outer else ''}{hashed} AS {quote(_HASH)} "
                          f"FROM (SELECT {select or '1'}, {quote(_POSITION)} FROM _synthspec_rows) "
                          f"ORDER BY {order}").df()
    except duckdb.Error as exc:  # what publishing would meet: said before any check, values withheld
        raise EnvironmentError_(f"the synthetic rows do not fit the source's column types: {redact.error(exc)}") from exc
    finally:
        con.close()
    hashes = out.pop(_HASH).to_numpy(dtype="uint64")
    for name in zoned:
        out[name] = out[name].dt.tz_localize("UTC")
    return (out[names] if names else out.iloc[:, :0]), hashes


__all__ = ["as_published", "smallest_published"]
