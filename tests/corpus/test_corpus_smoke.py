"""The corpus runner end to end on its small tables that need no corpus package (scikit-learn's
iris, the jaffle shop seeds), so that CI covers the runner: real `init` and `apply` through the
CLI, the report fields, the audits on published views, and audits that catch what they must."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.corpus import run_corpus
from tests.corpus.manifest import BY_NAME, ENTRIES, MAX_ROWS
from tests.corpus.run_corpus import Audit, TableReport, audit_table, render, run_entry

pytestmark = pytest.mark.integration

#: Thresholds every table passes, so the audits have published views to look at whatever the
#: gate of the day decides (the corpus itself runs the drafted defaults).
OPEN_GATE = {"quality_score": {"min": 0.0}, "dcr_share": {"max": 1.0}}


def test_manifest_meets_the_corpus_brief() -> None:
    singles = [e for e in ENTRIES if not e.patches]
    related = [e for e in ENTRIES if e.patches]
    assert len(singles) >= 30
    assert len(related) >= 2
    assert any(e.smoke for e in ENTRIES)
    assert {e.form for e in ENTRIES} == {"duckdb", "csv", "parquet"}
    assert MAX_ROWS == 100_000
    bundesliga = BY_NAME["bundesliga"].patches
    assert bundesliga["matches"]["return_match_id"]["references"] == "matches.match_id"  # self-reference
    assert len(bundesliga) == 3  # three levels


def test_runner_reports_the_gate_with_the_drafted_defaults(tmp_path: Path) -> None:
    """Zero edits: every table gets a verdict, drafted types and, unless published, reasons."""
    reports = run_entry(BY_NAME["sklearn_iris"], tmp_path)
    (report,) = reports
    assert report.table == "sklearn_iris" and report.source_rows == 150
    assert set(report.drafted) == {"sepal length (cm)", "sepal width (cm)", "petal length (cm)",
                                   "petal width (cm)", "target"}
    assert {c["metric"] for c in report.checks} >= {"quality_score", "dcr_share"}, (report.status, report.reasons)
    assert all(isinstance(c["value"], float) for c in report.checks if c["metric"] in ("quality_score", "dcr_share"))
    assert report.verdict in ("published", "gated")
    if report.published:
        assert report.audit is not None and report.audit.rows_ok
    else:
        assert report.reasons and all(r.strip() for r in report.reasons)
    assert not list(tmp_path.iterdir())  # the temporary project is removed


def test_runner_audits_published_related_tables(tmp_path: Path) -> None:
    """The jaffle shop, keys and references declared: three published views, audited."""
    reports = {r.table: r for r in run_entry(BY_NAME["jaffle_shop"], tmp_path, project_checks=OPEN_GATE)}
    assert set(reports) == {"raw_customers", "raw_orders", "raw_payments"}
    for report in reports.values():
        assert report.verdict == "published", report.reasons
        assert report.audit is not None
        assert report.audit.source_rows == report.source_rows
        assert report.audit.synthetic_rows and report.audit.synthetic_rows > 0
    assert reports["raw_orders"].drafted["user_id"] == "id"
    assert reports["raw_orders"].drafted["order_date"] == "datetime"
    assert "order_date" in reports["raw_orders"].audit.date_columns
    assert "status" in reports["raw_orders"].audit.discrete_columns
    # amounts are whole hundreds in 31 values: an integer code by the audit's rule
    assert reports["raw_payments"].audit.discrete_columns == ["payment_method", "amount"]
    # categories are sampled from the real ones, dates within the real range
    assert "status" not in reports["raw_orders"].audit.unseen
    assert "payment_method" not in reports["raw_payments"].audit.unseen
    assert not reports["raw_orders"].audit.bad_dates
    for report in reports.values():
        assert all(0 < n <= report.audit.synthetic_rows for n in report.audit.unseen.values())
    markdown = render(list(reports.values()), 1.0, 1)
    assert "**Published 3/3 = 100%**" in markdown and "| jaffle_shop | raw_orders | csv | 99→" in markdown


def _planted(tmp_path: Path, real: str, synthetic: str) -> Path:
    """A target database with raw.t (the source) and synthetic.t (a view, as published)."""
    path = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA raw; CREATE SCHEMA synthetic; CREATE SCHEMA _synthspec")
    con.execute(f"CREATE TABLE raw.t AS {real}")
    con.execute(f"CREATE TABLE _synthspec.t AS {synthetic}")
    con.execute("CREATE VIEW synthetic.t AS SELECT * FROM _synthspec.t")
    con.close()
    return path


def test_audits_catch_unseen_values_bad_dates_and_row_counts(tmp_path: Path) -> None:
    real = ("SELECT * FROM (VALUES ('a', 1, true, '2020-01-05', DATE '2020-01-01', 1.5),"
            " ('b', 2, false, '2020-02-01', DATE '2020-03-01', 2.5), ('a', 1, true, '2020-01-09', NULL, 3.5),"
            " ('b', 2, NULL, NULL, DATE '2020-01-09', 4.5)) v(c, k, b, d, dt, x)")
    synthetic = ("SELECT * FROM (VALUES ('a', 1, true, '2020-01-06', DATE '2020-01-02', 9.0),"
                 " ('z', 3, false, 'not a date', DATE '2030-01-01', 1.0),"
                 " ('b', 2, NULL, '2019-12-31', DATE '2020-02-01', 2.0)) v(c, k, b, d, dt, x)")
    db = _planted(tmp_path, real, synthetic)
    types = {"c": "categorical", "k": "numerical", "b": "boolean", "d": "categorical", "dt": "datetime", "x": "numerical"}
    audit = audit_table(tmp_path, db, "t", {"table": "raw.t"}, types)
    assert audit.unseen == {"c": 1, "k": 1}
    assert audit.bad_dates == {"d": 2, "dt": 1}
    assert sorted(audit.discrete_columns) == ["b", "c", "k"] and sorted(audit.date_columns) == ["d", "dt"]
    assert (audit.source_rows, audit.synthetic_rows, audit.rows_ok) == (4, 3, False)
    # keys, free text and PII policy columns are not audited as discrete
    skipped = audit_table(tmp_path, db, "t", {"table": "raw.t"}, {**types, "c": "text", "k": "id", "dt": "datetime/drop"})
    assert skipped.unseen == {} and "dt" not in skipped.date_columns
    # ... but text dates drafted as free text are still audited as dates
    assert skipped.bad_dates == {"d": 2} and audit_table(tmp_path, db, "t", {"table": "raw.t"},
                                                          {**types, "d": "text"}).bad_dates["d"] == 2


def test_a_crashing_entry_is_an_error_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(run_corpus, "materialise", broken)
    (report,) = run_entry(BY_NAME["sklearn_iris"], tmp_path)
    assert report.verdict == "error" and report.reasons == ["runner: RuntimeError: disk full"]
    row = [line for line in render([report, TableReport("e", "t", "csv", audit=Audit(1, 1))], 2.0, 1).splitlines()
           if line.startswith("| sklearn_iris")]
    assert row and "| error |" in row[0] and "disk full" in row[0]
