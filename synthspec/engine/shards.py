"""Big outputs in shards: memory that does not grow with the number of rows drawn.

A table's synthetic rows are drawn in shards of at most :data:`SHARD_ROWS` rows. Shard 0 is
drawn with the spec's seed, so every table of up to ``SHARD_ROWS`` rows is drawn exactly as
if there were no shards; shard ``i > 0`` with a seed derived from ``(seed, i)``. A shard's rows
depend on nothing but the model, the seed and its index: the same rows come out whether the
shards are drawn one after the other here, in any order, or on the workers of a cluster.

When a table has more than one shard, every shard is decoded and written as a Parquet *part*
(CAST to the source's exact DuckDB types, as publishing does) and dropped from memory; the
publish step streams the parts into the new data table batch by batch, and the checks read them
back one at a time (see ``engine.checked.check_sample``). Peak memory is then the model, the
real rows and a couple of shards, not the output.

Parquet holds every type synthspec models except HUGEINT (DuckDB writes it as DOUBLE, which
would round): such columns travel as text and are CAST back on the way in. Columns of types
synthspec does not model are published as NULLs and do not travel at all.

Tables with references, and tables other tables reference, are drawn in one piece: a child is
laid out over its parents' rows, and a parent's keys must all be at hand for its children.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from synthspec import redact
from synthspec.errors import EnvironmentError_

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

#: Rows per shard. Part of the determinism contract: changing it changes the rows of every table
#: larger than it (it is in the training fingerprint's library-versions part through the version).
SHARD_ROWS = 250_000

#: Batches of this many rows stream from a part into DuckDB (and to a sampled file).
BATCH_ROWS = 65_536

_HUGE = re.compile(r"^U?HUGEINT$", re.I)


@dataclass(frozen=True)
class Shard:
    index: int
    start: int  # position of the shard's first row in the whole output (offsets generated keys)
    rows: int


def layout(rows: int, *, shardable: bool = True, shard_rows: int | None = None) -> list[Shard]:
    """The shards of an output of ``rows`` rows (one shard when not ``shardable``)."""
    shard_rows = SHARD_ROWS if shard_rows is None else shard_rows
    if not shardable or rows <= shard_rows:
        return [Shard(0, 0, rows)]
    return [Shard(i, start, min(shard_rows, rows - start)) for i, start in enumerate(range(0, rows, shard_rows))]


def seed_of(seed: int, index: int) -> int:
    """Shard 0 draws with the spec's seed (small tables are unchanged by sharding); every
    other shard with its own independent seed."""
    if index == 0:
        return seed
    from synthspec.engine.relational import derived_seed

    return derived_seed(seed, "shard", str(index))


def draw_args(seed: int, shard: Shard, shards_in_all: int) -> tuple[int, dict[str, int]]:
    """The seed and the ``rows``/``offset`` of ``compute.draw`` for one shard; a lone shard
    draws exactly as an unsharded output (the job's rows, no offset)."""
    return seed_of(seed, shard.index), ({} if shards_in_all == 1 else {"rows": shard.rows, "offset": shard.start})


def parts_dir(state_dir: Path, table: str) -> Path:
    """A fresh directory for one table's parts in one run, under the project's state directory
    (on a cluster that directory must be on storage every node can reach)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", table)
    directory = Path(state_dir) / "parts" / f"{safe}-{uuid.uuid4().hex[:12]}"
    directory.mkdir(parents=True, exist_ok=False)
    return directory


@contextmanager
def cleanup(state_dir: Path) -> Iterator[None]:
    """Parts live for one run: those a killed run left behind go when the next run starts
    (it holds the target's lock, so no other apply is writing parts), and every part when it ends."""
    root = Path(state_dir) / "parts"
    shutil.rmtree(root, ignore_errors=True)
    try:
        yield
    finally:
        shutil.rmtree(root, ignore_errors=True)


def part_path(directory: Path, index: int) -> Path:
    return Path(directory) / f"part-{index:05d}.parquet"


def remove(parts: list[Path]) -> None:
    """Delete the parts' directories (after publishing, or when nothing is published)."""
    for directory in {Path(p).parent for p in parts}:
        shutil.rmtree(directory, ignore_errors=True)


def _travelling(column_types: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The columns a part holds, with the type each is written as."""
    from synthspec.io.warehouse import unsupported_type

    return [(name, "VARCHAR" if _HUGE.match(t) else t) for name, t in column_types if not unsupported_type(t)]


def write_part(frame: pd.DataFrame, column_types: list[tuple[str, str]], path: Path) -> Path:
    """Write decoded rows CAST to the source types (as a publication CASTs them) to ``path``,
    atomically (a part either exists whole or not at all)."""
    import duckdb

    from synthspec.io.history import cast_columns
    from synthspec.io.warehouse import quote, sql_string

    travelling = _travelling(column_types)
    casts = cast_columns(frame[[n for n, _ in column_types]], column_types)
    outer = ", ".join(f"CAST({quote(n)} AS VARCHAR) AS {quote(n)}" if _HUGE.match(dict(column_types)[n]) else quote(n)
                      for n, _ in travelling)
    tmp = Path(path).with_name(f".{Path(path).name}.{uuid.uuid4().hex[:8]}.tmp")
    con = duckdb.connect()
    try:
        con.register("_synthspec_shard", frame)
        con.execute(f"COPY (SELECT {outer or '1 AS _'} FROM (SELECT {casts} FROM _synthspec_shard)) "
                    f"TO {sql_string(str(tmp))} (FORMAT parquet)")
        os.replace(tmp, path)
    except duckdb.Error as exc:
        raise EnvironmentError_(f"the synthetic rows do not fit the source's column types: {redact.error(exc)}") from exc
    except OSError as exc:
        raise EnvironmentError_(f"cannot write a part of the synthetic rows under '{Path(path).parent}': {exc.strerror}") from exc
    finally:
        con.close()
        tmp.unlink(missing_ok=True)
    return Path(path)


def _select(column_types: list[tuple[str, str]]) -> str:
    """The SELECT list that turns a part back into the source's exact types."""
    from synthspec.io.warehouse import quote, unsupported_type

    return ", ".join(f"CAST({'NULL' if unsupported_type(t) else quote(n)} AS {t}) AS {quote(n)}" for n, t in column_types)


def _reader(path: Path, batch_rows: int = BATCH_ROWS):  # noqa: ANN202 - a pyarrow RecordBatchReader
    """The part's rows as an Arrow stream, read by a connection allowed to read that file only."""
    from synthspec.io.warehouse import files_connection, sql_string

    con = files_connection([str(Path(path).resolve())])
    return con, con.sql(f"SELECT * FROM read_parquet({sql_string(str(Path(path).resolve()))})").to_arrow_reader(batch_rows)


def insert_parts(con: duckdb.DuckDBPyConnection, table: str, parts: list[Path], column_types: list[tuple[str, str]], *,
                 create: bool) -> None:
    """Stream ``parts`` into ``table`` (a quoted, qualified name) batch by batch; with
    ``create``, the first part creates it. Runs inside the caller's transaction."""
    select = _select(column_types)
    for i, path in enumerate(parts):
        reader_con, reader = _reader(path)
        try:
            con.register("_synthspec_part", reader)
            verb = f"CREATE TABLE {table} AS" if create and i == 0 else f"INSERT INTO {table}"
            con.execute(f"{verb} SELECT {select} FROM _synthspec_part")
            con.unregister("_synthspec_part")
        finally:
            reader_con.close()


def key_duplicates(parts: list[Path], keys: list[str]) -> tuple[int, int]:
    """(rows, rows whose key is null or appears more than once) over every part, counted by
    DuckDB, not in Python objects."""
    from synthspec.io.warehouse import files_connection, quote, sql_string

    files = [str(Path(p).resolve()) for p in parts]
    con = files_connection(files)
    try:
        key = ", ".join(quote(k) for k in keys)
        source = f"read_parquet([{', '.join(sql_string(f) for f in files)}])"
        complete = " AND ".join(f"{quote(k)} IS NOT NULL" for k in keys)
        rows, bad = con.execute(
            f"SELECT coalesce(sum(n), 0), coalesce(sum(CASE WHEN n > 1 OR NOT complete THEN n ELSE 0 END), 0) FROM "
            f"(SELECT count(*) AS n, bool_and({complete}) AS complete FROM {source} GROUP BY {key})").fetchone()
        return int(rows), int(bad)
    finally:
        con.close()


__all__ = ["BATCH_ROWS", "SHARD_ROWS", "Shard", "cleanup", "insert_parts", "key_duplicates", "draw_args", "layout", "part_path",
           "parts_dir", "remove", "seed_of", "write_part"]
