"""`synthspec sample` and `synthspec report` on a real DuckDB file after a real `apply`."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.helpers import query_db, run_cli

pytestmark = pytest.mark.integration


run = run_cli
query = query_db


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sample_draws_from_the_cached_model_and_report_rerenders(adult_project: Path) -> None:
    assert run(adult_project, "apply", "-q").exit_code == 0
    runs_before = query(adult_project, "SELECT count(*) FROM _synthspec.runs")
    db_before = digest(adult_project / "wh.duckdb")

    out = adult_project / "x.parquet"
    result = run(adult_project, "sample", "adult", "--rows", "50", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "50 rows" in result.output
    view_types = query(adult_project, "DESCRIBE synthetic.adult")
    file_types = duckdb.sql(f"DESCRIBE SELECT * FROM '{out}'").fetchall()
    assert [(r[0], r[1]) for r in file_types] == [(r[0], r[1]) for r in view_types]
    first = pd.read_parquet(out)
    assert len(first) == 50

    # Deterministic for a seed; another seed gives other rows.
    again = adult_project / "y.parquet"
    assert run(adult_project, "sample", "adult", "--rows", "50", "--out", str(again)).exit_code == 0
    pd.testing.assert_frame_equal(first, pd.read_parquet(again))
    other = adult_project / "z.parquet"
    assert run(adult_project, "sample", "adult", "--rows", "50", "--seed", "11", "--out", str(other)).exit_code == 0
    assert not first.equals(pd.read_parquet(other))

    # Decoded exactly like apply: the spec's seed and row count give the published rows.
    everything = adult_project / "all.parquet"
    assert run(adult_project, "sample", "adult", "--rows", "800", "--out", str(everything)).exit_code == 0
    assert query(adult_project, f"SELECT count(*) FROM (SELECT * FROM synthetic.adult EXCEPT ALL SELECT * FROM '{everything}')") == [(0,)]

    # CSV on stdout; nothing else there.
    csv = run(adult_project, "sample", "adult", "--rows", "6", "--seed", "3", "-q")
    assert csv.exit_code == 0
    frame = pd.read_csv(io.StringIO(csv.stdout))
    assert list(frame.columns) == [r[0] for r in view_types] and len(frame) == 6
    written = adult_project / "x.csv"
    assert run(adult_project, "sample", "adult", "--rows", "6", "--seed", "3", "--out", str(written)).exit_code == 0
    assert written.read_text() == csv.stdout

    # Nothing was published or recorded: the database file is untouched.
    assert query(adult_project, "SELECT count(*) FROM _synthspec.runs") == runs_before
    assert digest(adult_project / "wh.duckdb") == db_before

    # `report` re-renders the three derived files from run_results.json, and leaves it alone.
    target = adult_project / "target"
    results_before = (target / "run_results.json").read_text()
    rendered = {name: (target / name).read_text() for name in ("junit.xml", "summary.md", "report.html")}
    for name in rendered:
        (target / name).unlink()
    result = run(adult_project, "report", "--format", "json")
    assert result.exit_code == 0, result.output
    assert sorted(Path(p).name for p in json.loads(result.output)["written"]) == ["junit.xml", "report.html", "summary.md"]
    assert {name: (target / name).read_text() for name in rendered} == rendered
    assert (target / "run_results.json").read_text() == results_before
    assert "quality_score" in rendered["report.html"] and "https://" not in rendered["report.html"]

    # New source data: the cached model is stale, so sample refuses rather than retrain.
    con = duckdb.connect(str(adult_project / "wh.duckdb"))
    con.execute("DELETE FROM raw.adult WHERE rowid % 10 = 0")
    con.close()
    result = run(adult_project, "sample", "adult", "--rows", "5")
    assert result.exit_code == 2
    assert "no cached model" in result.output and "synthspec apply -s adult" in result.output


def test_sample_errors(adult_project: Path, write) -> None:  # noqa: ANN001
    result = run(adult_project, "sample", "adlt", "--rows", "5")
    assert result.exit_code == 2 and "no spec for table 'adlt'; did you mean 'adult'?" in result.output
    result = run(adult_project, "sample", "adult", "--rows", "0")
    assert result.exit_code == 2 and "--rows must be at least 1" in result.output
    result = run(adult_project, "sample", "adult", "--rows", "5", "--out", "x.json")
    assert result.exit_code == 2 and ".parquet, .csv or .duckdb" in result.output
    result = run(adult_project, "sample", "adult", "--rows", "5")  # never applied
    assert result.exit_code == 2 and "no cached model for table 'adult'" in result.output
    assert not (adult_project / "target").exists()

    # A table with references is refused (exit 2), before anything is read.
    write("specs/customers.yml", """
        version: 1
        table: customers
        source: {table: raw.customers}
        columns:
          id: {type: id, primary_key: true}
          age: {type: numerical}
        """)
    write("specs/orders.yml", """
        version: 1
        table: orders
        source: {table: raw.orders}
        columns:
          order_id: {type: id, primary_key: true}
          customer_id: {type: id, references: customers.id}
          amount: {type: numerical}
        """)
    result = run(adult_project, "sample", "orders", "--rows", "5")
    assert result.exit_code == 2 and "has references (customer_id)" in result.output


def test_report_without_a_run(adult_project: Path) -> None:
    result = run(adult_project, "report")
    assert result.exit_code == 2 and "no 'target/run_results.json' to render: run `synthspec apply` first" in result.output
