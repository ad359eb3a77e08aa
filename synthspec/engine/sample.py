"""`synthspec sample TABLE --rows N`: more rows from a table's cached model, never retrained.

The model is the one `apply` cached for the table's *current* training fingerprint, loaded only
after its hash matches the one recorded in the target database; the rows are decoded exactly
as `apply` decodes them (PII policies, generated keys in the source's format, the source's
exact DuckDB types). Nothing is published and the target database is opened read-only.

Sampling more rows from a differentially private model is post-processing: it spends no
privacy budget. Tables with `references` are refused: their foreign keys would have to be
drawn against the parent's published synthetic rows, which `apply` does (set `rows:` and
apply instead).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from synthspec.errors import EnvironmentError_, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import duckdb
    import pandas as pd

    from synthspec.spec.project import Project

FORMATS = {".parquet": "parquet", ".csv": "csv", ".duckdb": "duckdb"}


@dataclass
class SampleResult:
    """The rows to write, drawn shard by shard as they are consumed (``engine.shards``): only
    one shard is in memory at a time, however many rows were asked for."""

    table: str
    model: str
    seed: int
    rows: int
    column_types: list[tuple[str, str]]  # the source's (and the published view's) columns
    pieces: Iterator[pd.DataFrame]  # decoded values, ready to CAST to ``column_types``


def output_format(out: Path | None) -> str:
    """parquet, csv or duckdb from the file's extension (stdout: csv)."""
    if out is None:
        return "csv"
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise UsageError(f"--out '{out.name}': the file name must end in .parquet, .csv or .duckdb")
    return fmt


def sample_table(project: Project, table: str, rows: int, seed: int | None = None, *,
                 show_progress: bool = False) -> SampleResult:
    """``rows`` rows of ``table`` drawn from its cached model (default seed: the spec's)."""

    from synthspec.engine import codec, rare, shards, tiny
    from synthspec.engine.compute import TableJob, draw_gated, fitted_model
    from synthspec.engine.inputs import read_columns
    from synthspec.engine.prepare import prepare
    from synthspec.engine.progress import progress_bar
    from synthspec.engine.secrets import policy_secrets
    from synthspec.engine.select import select_specs
    from synthspec.io import history, state, warehouse
    from synthspec.spec.relations import references_of

    if rows < 1:
        raise UsageError("--rows must be at least 1")
    (loaded,) = select_specs(project.specs, (table,), ())  # an unknown table: exit 2 with a did-you-mean
    spec = loaded.spec
    if references_of(loaded):
        columns = ", ".join(r.column for r in references_of(loaded))
        raise UsageError(f"table '{table}' has references ({columns}): `sample` draws only tables without `references`, "
                         f"since a child's keys must resolve against its parent's published rows; set `rows:` in "
                         f"{loaded.file} and run `synthspec apply -s {table}` instead")
    no_model = (f"no cached model for table '{table}' at its current training fingerprint (never applied, or its "
                f"source data, model-relevant spec keys or library versions changed since): run `synthspec apply -s {table}` first")
    salt = state.salt(project.state_dir)
    with warehouse.open_project(project, write=False) as cons:  # the target read-only: nothing is published
        if cons.target is None:
            raise UsageError(no_model)
        prepared = prepare(cons, project, loaded, salt, force=False)
        expected = history.recorded_artifact(cons.target, table, prepared.fps.training)
        cached = state.verified_model_dir(project.state_dir, table, prepared.fps.training, expected)
        if cached is None:
            raise UsageError(no_model)
        source = warehouse.read_source(cons, loaded, project, read_columns(prepared.plans))

    seed = spec.model.seed if seed is None else seed
    plans = prepared.plans
    encoded, _ = rare.protect(codec.encode(source, plans, compact_numbers=True), prepared.rare_rules, spec.model.seed)  # as `apply` does
    train_idx, holdout_idx = tiny.split(len(source), spec.holdout, spec.model.seed, project.config.gate.tiny_tables)
    secrets = policy_secrets(loaded, project)
    job = TableJob(table=table, action="resample", model=prepared.model, spec=spec, plans=plans, checks=prepared.checks,
                   rows=rows, explicit_rows=True, source=source, encoded=encoded, train_idx=train_idx,
                   holdout_idx=holdout_idx, secrets=secrets, state_dir=project.state_dir,
                   training_fp=prepared.fps.training, cached_dir=cached)
    train = encoded.iloc[train_idx].reset_index(drop=True)
    columns = codec.model_columns(plans)
    model, _, _ = fitted_model(job, train, columns, {}, train_model=False)
    kinds = {c.name: c.kind for c in columns}
    layout = shards.layout(rows)

    def pieces() -> Iterator[pd.DataFrame]:
        # exactly as `apply` draws a table without references: the same shards and seeds
        memo: dict[str, object] = {}
        with progress_bar(f"{table}: sampling {rows:,} rows", enabled=show_progress, total=len(layout)) as bar:
            for shard in layout:
                shard_seed, kwargs = shards.draw_args(seed, shard, len(layout))
                _, output = draw_gated(job, model, None, kinds, seed=shard_seed, memo=memo, **kwargs)
                yield output
                bar(shard.index + 1, len(layout))

    return SampleResult(table, prepared.model, seed, rows, prepared.source_columns, pieces())


def export(result: SampleResult, out: Path | None, sink: BinaryIO | None = None) -> None:
    """Write the rows CAST to the source's DuckDB types (as `apply` publishes them), one shard
    at a time, to ``out`` (.parquet, .csv or .duckdb) atomically, or as CSV to ``sink``."""
    fmt = output_format(out)
    if out is not None and not out.parent.is_dir():
        raise EnvironmentError_(f"cannot write '{out}': directory does not exist")
    if fmt == "duckdb":
        assert out is not None
        _to_duckdb(result, out)
        return
    tmp: Path | None = None
    try:
        if out is None:
            assert sink is not None
            _write_csv(result, sink)
            return
        fd, tmp_name = tempfile.mkstemp(prefix=".synthspec-sample-", suffix=f".{fmt}", dir=out.parent)
        tmp = Path(tmp_name)
        if fmt == "parquet":
            os.close(fd)
            _write_parquet(result, tmp)
        else:
            with os.fdopen(fd, "wb") as handle:
                _write_csv(result, handle)
        os.replace(tmp, out)
    except OSError as exc:
        raise EnvironmentError_(f"cannot write '{out if out is not None else 'stdout'}': {exc.strerror}") from exc
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


@contextmanager
def _casting(result: SampleResult) -> Iterator[Callable[[pd.DataFrame], duckdb.DuckDBPyRelation]]:
    """An in-memory DuckDB that CASTs each piece exactly as a publication would."""
    import duckdb

    from synthspec.io.history import cast_columns

    con = duckdb.connect()
    try:
        yield lambda piece: con.register("_synthspec_sample", piece).sql(
            f"SELECT {cast_columns(piece, result.column_types)} FROM _synthspec_sample")
    except duckdb.Error as exc:
        raise EnvironmentError_(f"cannot write the sampled rows of '{result.table}': {exc.__class__.__name__}") from exc
    finally:
        con.close()


def _write_csv(result: SampleResult, handle: BinaryIO) -> None:
    """Each shard as DuckDB's CSV, appended to ``handle`` (one header)."""
    with _casting(result) as cast:
        for i, piece in enumerate(result.pieces):
            handle.write(_csv(cast(piece), header=i == 0))


def _write_parquet(result: SampleResult, path: Path) -> None:
    """DuckDB's own Parquet (every type as `COPY ... (FORMAT parquet)` writes it): one shard
    straight to ``path``; more shards each to a part beside it, then the parts streamed into
    ``path`` in order by DuckDB."""
    from synthspec.io.warehouse import sql_string

    with _casting(result) as cast, tempfile.TemporaryDirectory(prefix=".synthspec-parts-", dir=path.parent) as directory:
        parts: list[str] = []
        for i, piece in enumerate(result.pieces):
            parts.append(str(Path(directory) / f"part-{i:05d}.parquet"))
            cast(piece).write_parquet(parts[-1])
        if len(parts) == 1:
            os.replace(parts[0], path)
            return
        import duckdb

        con = duckdb.connect()
        try:
            files = ", ".join(sql_string(p) for p in parts)
            con.execute(f"COPY (SELECT * FROM read_parquet([{files}])) TO {sql_string(str(path))} (FORMAT parquet)")
        finally:
            con.close()


def _csv(relation: duckdb.DuckDBPyRelation, *, header: bool) -> bytes:
    """The relation as DuckDB's CSV (the format `COPY ... (FORMAT csv)` writes)."""
    fd, name = tempfile.mkstemp(prefix=".synthspec-csv-", suffix=".csv")
    os.close(fd)
    path = Path(name)
    try:
        relation.write_csv(str(path), header=header)
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)


#: DuckDB's memory for loading the parts into a .duckdb output: it streams them and spills to
#: the file's temporary directory beyond this (10M Adult-shaped rows: 2.9 GB peak without it).
OUT_MEMORY_LIMIT = "256MB"


def _to_duckdb(result: SampleResult, out: Path) -> None:
    """Create or replace the table named after the sampled table in ``out`` (a DuckDB file,
    created if missing), in one transaction: readers see the old table or the whole new one.

    The shards go to Parquet parts beside ``out`` first (one shard in memory at a time), then
    DuckDB streams the parts into the table with a bounded memory limit."""
    import duckdb

    from synthspec.engine import shards
    from synthspec.io.warehouse import quote

    name = quote(result.table.split(".")[-1])
    try:
        with tempfile.TemporaryDirectory(prefix=".synthspec-parts-", dir=out.parent) as directory:
            parts = [shards.write_part(piece, result.column_types, shards.part_path(Path(directory), i))
                     for i, piece in enumerate(result.pieces)]
            try:
                con = duckdb.connect(str(out))
            except duckdb.Error as exc:
                raise EnvironmentError_(f"cannot open '{out}': {exc.__class__.__name__}") from exc
            try:
                con.execute(f"SET memory_limit = '{OUT_MEMORY_LIMIT}'")
                con.execute("BEGIN TRANSACTION")
                con.execute(f"DROP TABLE IF EXISTS {name}")
                shards.insert_parts(con, name, parts, result.column_types, create=True)
                con.execute("COMMIT")
            except duckdb.Error as exc:
                raise EnvironmentError_(f"cannot write the sampled rows of '{result.table}' to '{out}': "
                                        f"{exc.__class__.__name__}") from exc
            finally:
                con.close()
    except OSError as exc:
        raise EnvironmentError_(f"cannot write '{out}': {exc.strerror}") from exc


__all__ = ["SampleResult", "export", "output_format", "sample_table"]
