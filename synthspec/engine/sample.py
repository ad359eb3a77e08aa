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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from synthspec.errors import EnvironmentError_, UsageError

if TYPE_CHECKING:
    import pandas as pd

    from synthspec.spec.project import Project

FORMATS = {".parquet": "parquet", ".csv": "csv"}


@dataclass
class SampleResult:
    table: str
    model: str
    seed: int
    frame: pd.DataFrame  # decoded values, ready to CAST to ``column_types``
    column_types: list[tuple[str, str]]  # the source's (and the published view's) columns

    @property
    def rows(self) -> int:
        return len(self.frame)


def output_format(out: Path | None) -> str:
    """parquet or csv from the file's extension (stdout: csv)."""
    if out is None:
        return "csv"
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise UsageError(f"--out '{out.name}': the file name must end in .parquet or .csv")
    return fmt


def sample_table(project: Project, table: str, rows: int, seed: int | None = None) -> SampleResult:
    """``rows`` rows of ``table`` drawn from its cached model (default seed: the spec's)."""

    from synthspec.engine import codec, rare, tiny
    from synthspec.engine.compute import TableJob, draw, fitted_model
    from synthspec.engine.inputs import read_columns
    from synthspec.engine.prepare import prepare
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
    encoded, _ = rare.protect(codec.encode(source, plans), prepared.rare_rules, spec.model.seed)  # as `apply` does
    train_idx, holdout_idx = tiny.split(len(source), spec.holdout, spec.model.seed, project.config.gate.tiny_tables)
    secrets = policy_secrets(loaded, project)
    job = TableJob(table=table, action="resample", model=prepared.model, spec=spec, plans=plans, checks=prepared.checks,
                   rows=rows, explicit_rows=True, source=source, encoded=encoded, train_idx=train_idx,
                   holdout_idx=holdout_idx, secrets=secrets, state_dir=project.state_dir,
                   training_fp=prepared.fps.training, cached_dir=cached)
    train = encoded.iloc[train_idx].reset_index(drop=True)
    model, _, _ = fitted_model(job, train, codec.model_columns(plans), {}, train_model=False)
    _, output = draw(job, model, None, seed=seed)  # exactly as `apply` draws (no references here)
    return SampleResult(table, prepared.model, seed, output, prepared.source_columns)


def export(result: SampleResult, out: Path | None) -> bytes | None:
    """Write the rows CAST to the source's DuckDB types (as `apply` publishes them) to ``out``
    (.parquet or .csv), atomically; without ``out``, return them as CSV bytes."""
    import duckdb

    from synthspec.io.history import cast_columns
    from synthspec.io.warehouse import sql_string

    fmt = output_format(out)
    options = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
    select = cast_columns(result.frame, result.column_types)
    directory = out.parent if out is not None else None
    if directory is not None and not directory.is_dir():
        raise EnvironmentError_(f"cannot write '{out}': directory does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=".synthspec-sample-", suffix=f".{fmt}", dir=directory)
    os.close(fd)
    tmp = Path(tmp_name)
    con = duckdb.connect()  # in memory: only to CAST and write exactly as a publication would
    try:
        con.register("_synthspec_sample", result.frame)
        con.execute(f"COPY (SELECT {select} FROM _synthspec_sample) TO {sql_string(str(tmp))} ({options})")
        if out is None:
            return tmp.read_bytes()
        os.replace(tmp, out)
        return None
    except duckdb.Error as exc:
        raise EnvironmentError_(f"cannot write the sampled rows of '{result.table}': {exc.__class__.__name__}") from exc
    except OSError as exc:
        raise EnvironmentError_(f"cannot write '{out}': {exc.strerror}") from exc
    finally:
        con.close()
        tmp.unlink(missing_ok=True)


__all__ = ["SampleResult", "export", "output_format", "sample_table"]
