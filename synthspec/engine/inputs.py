"""What a source must hold before any model sees it, and what `apply` reads of it.

Refused before any model runs, with the spec location, the table, the column and counts (never
a value) and what the user can do:

* fewer than two rows: nothing to learn from, or only one row, which a model can only copy and
  which leaves no held-out row to check the output's privacy against;
* NaN or ±infinity in a floating-point column, ±infinity in a date or timestamp column: no
  model learns them, and they must not be changed silently (DuckDB's NaN reaches pandas as a
  null, so it would be published as NULL; ``infinity`` as a date in the year 294247).

The exit code is 3 (the data is not as the spec expects, like a missing source): the spec is
valid, and the same spec passes once the source is fixed or filtered.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthspec.errors import ExitCode, Problem, SpecError
from synthspec.io import warehouse

if TYPE_CHECKING:
    from synthspec.engine.columns import ColumnPlan
    from synthspec.io.warehouse import Connections
    from synthspec.spec.project import LoadedSpec, Project


#: Fewest source rows a table can be applied with: the holdout that privacy checks compare the
#: output against needs one row that never reaches the model, and the model needs one.
MIN_ROWS = 2


class SourceDataError(SpecError):
    """The source's rows cannot be modelled as they are (located in the spec, exit 3)."""

    exit_code = ExitCode.ENVIRONMENT


def read_columns(plans: list[ColumnPlan]) -> list[tuple[str, str]]:
    """The (column, DuckDB type) pairs `apply` and `sample` read from the source.

    A dropped column is not modelled, so it is not read, with one exception: pii_leakage looks
    for the real values of every policy column in the output, dropped ones included, so a
    dropped column whose values could equal a published cell (any scalar type synthspec
    models, and text-like JSON/BIGNUM) is read for that scan. The other unsupported types
    (BLOB, BIT, lists, arrays, STRUCT, MAP, UNION, INTERVAL, TIME...) are never read: their
    values are binary, composite or durations, and a published cell is always a scalar of a
    modelled type, so none of their values can appear in the output as a whole cell."""
    return [(p.name, p.duckdb_type) for p in plans
            if p.role != "drop" or not warehouse.unsupported_type(p.duckdb_type) or warehouse.text_like_type(p.duckdb_type)]


def check_source(cons: Connections, loaded: LoadedSpec, project: Project, plans: list[ColumnPlan], row_count: int) -> None:
    """Raise :class:`SourceDataError` when the source has fewer than ``MIN_ROWS`` rows, or when a column that is
    read for modelling or a policy holds NaN or ±infinity. Every problem is reported at once."""
    table = loaded.table
    if row_count < MIN_ROWS:
        where = loaded.doc.locate(("source",), prefer_key=True)
        why = ("nothing to learn from" if row_count == 0 else
               f"synthspec needs at least {MIN_ROWS}: one to learn from and one held out to check the output's privacy "
               "against (a model of one row can only publish that row)")
        raise SourceDataError([Problem(where.file, where.line, where.col,
                                       f"table '{table}': the source has {row_count} row(s); {why}; check `source:`, "
                                       f"or leave the table out of this run (--exclude {table})")])
    checked = [(p.name, p.duckdb_type) for p in plans if p.role != "drop"]
    types = dict(checked)
    problems = []
    for name, (nan, inf) in warehouse.non_finite_counts(cons, loaded, project, checked).items():
        if not nan and not inf:
            continue
        where = loaded.doc.locate(("columns", name), prefer_key=True)
        infinite = f"{inf} ±infinity" + (" or out-of-range" if types[name].strip().upper() == "DATE" else "")
        what = " and ".join(text for count, text in ((nan, f"{nan} NaN"), (inf, infinite)) if count)
        problems.append(Problem(where.file, where.line, where.col, (
            f"table '{table}', column '{name}': the source holds {what} value(s); no model can learn them and synthspec "
            f"does not turn them into NULLs on its own: filter those rows or map them to NULL in a `source: {{query: ...}}` "
            f"(e.g. `CASE WHEN isfinite({name}) THEN {name} END AS {name}`), or declare the column `pii: drop`")))
    problems += _unreadable_text(cons, loaded, project, plans)
    if problems:
        raise SourceDataError(problems)


def _unreadable_text(cons: Connections, loaded: LoadedSpec, project: Project, plans: list[ColumnPlan]) -> list[Problem]:
    """Text columns modelled as numbers or datetimes whose values do not all read as such."""
    from synthspec.engine.columns import is_text_type

    columns = [(p.name, p.spec.type, p.spec.format) for p in plans
               if p.role == "model" and is_text_type(p.duckdb_type) and p.spec.type in ("numerical", "datetime", "boolean")]
    problems = []
    for name, count in warehouse.unreadable_text_counts(cons, loaded, project, columns).items():
        if not count:
            continue
        spec = loaded.spec.columns[name]
        key = "format" if spec.format is not None else "type"
        what = {"datetime": f"dates in the format {spec.format}", "boolean": f"one of the spellings {spec.format}"}.get(spec.type, "finite numbers")
        where = loaded.doc.locate(("columns", name, key), prefer_key=True)
        problems.append(Problem(where.file, where.line, where.col, (
            f"table '{loaded.table}', column '{name}': {count} value(s) of this text column do not read as {what}; "
            f"correct the `{key}`, clean the source (e.g. map them to NULL in a `source: {{query: ...}}`), "
            "or declare the column categorical or text")))
    return problems


__all__ = ["MIN_ROWS", "SourceDataError", "check_source", "read_columns"]
