"""Fingerprints and caches that cannot go stale, and state that is verified before it is
trusted (issue: stale or wrong data published)."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from tests.helpers import make_warehouse, query_db, run_cli

pytestmark = pytest.mark.integration


def _execute(project, sql: str) -> None:
    con = duckdb.connect(str(project / "wh.duckdb"))
    try:
        con.execute(sql)
    finally:
        con.close()


def _plan(project) -> dict:
    result = run_cli(project, "plan", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["tables"][0]


@pytest.fixture
def shadow(tmp_path, write):
    """A table with a column named `t`, the alias the row hash used to read."""
    frame = pd.DataFrame({"t": ["same"] * 200, "note": [f"n{i % 7}" for i in range(200)],
                          "x": [float(i % 13) for i in range(200)]})
    make_warehouse(tmp_path / "wh.duckdb", {"s": frame})
    write("synthspec.yml", """
        name: state
        source: {duckdb: wh.duckdb}
        target: {duckdb: wh.duckdb, schema: synthetic}
        defaults:
          checks: {quality_score: {min: 0.0}, dcr_share: {max: 1.0}}
        """)
    write("specs/s.yml", """
        version: 1
        table: s
        source: {table: raw.s}
        model: {type: cart}
        columns:
          t: {type: categorical}
          note: {type: categorical}
          x: {type: numerical}
        """)
    assert run_cli(tmp_path, "apply", "-q").exit_code == 0
    return tmp_path


def test_a_column_named_like_the_row_alias_cannot_hide_a_change(shadow):
    _execute(shadow, "UPDATE raw.s SET x = x + 1")
    plan = _plan(shadow)
    assert plan["action"] == "train" and "source data changed" in plan["reasons"]


def test_the_pii_scan_cache_sees_changed_data(shadow):
    _execute(shadow, "UPDATE raw.s SET note = 'person' || (x::INT)::VARCHAR || '@example.com'")
    result = run_cli(shadow, "apply", "--force")
    assert result.exit_code == 2 and "column 'note': detected EMAIL_ADDRESS" in result.output


def test_a_dropped_data_table_is_republished(shadow):
    _execute(shadow, "DROP VIEW synthetic.s; DROP TABLE _synthspec.s__v1")
    plan = _plan(shadow)
    assert plan["action"] == "resample" and "published data table _synthspec.s__v1 is missing" in plan["reasons"][0]
    assert run_cli(shadow, "apply", "-q").exit_code == 0
    assert query_db(shadow, "select count(*) from synthetic.s") == [(200,)]
    assert _plan(shadow)["action"] == "none"


def test_a_changed_target_schema_publishes_there(shadow):
    path = shadow / "synthspec.yml"
    path.write_text(path.read_text().replace("schema: synthetic", "schema: synth2"))
    plan = _plan(shadow)
    assert plan["action"] == "recheck" and "the view synth2.s does not exist" in plan["reasons"][0]
    assert run_cli(shadow, "apply", "-q").exit_code == 0
    assert query_db(shadow, "select count(*) from synth2.s") == [(200,)]
    assert _plan(shadow)["action"] == "none"


@pytest.mark.parametrize("body", [
    "SELECT * FROM raw.s",  # the real rows!
    "SELECT r.* FROM raw.s r LEFT JOIN _synthspec.s__v1 ON false",  # mentions the data table, serves the real rows
    "SELECT * FROM _synthspec.s__v1 UNION ALL SELECT * FROM raw.s",
    "SELECT * FROM _synthspec.s__v1 WHERE x > 3",
])
def test_a_replaced_view_is_restored(shadow, body):
    _execute(shadow, f"CREATE OR REPLACE VIEW synthetic.s AS {body}")
    plan = _plan(shadow)
    assert plan["action"] == "recheck" and "is not the one synthspec published (over version 1)" in plan["reasons"][0]
    assert run_cli(shadow, "apply", "-q").exit_code == 0
    assert query_db(shadow, "select count(*) from synthetic.s where note not like 'n%'") == [(0,)]
    sql = query_db(shadow, "select sql from duckdb_views() where view_name = 's'")[0][0]
    assert "s__v1" in sql


def test_a_dropped_run_history_is_explained_and_recovered(shadow):
    _execute(shadow, "DROP TABLE _synthspec.runs")
    plan = _plan(shadow)
    assert plan["action"] == "train" and "run history (_synthspec.runs) is missing" in plan["reasons"][0]
    result = run_cli(shadow, "apply", "-q")
    assert result.exit_code == 0, result.output
    assert query_db(shadow, "select version from _synthspec.runs where published") == [(2,)]
    assert run_cli(shadow, "apply", "-q").exit_code == 0


@pytest.mark.parametrize("content", ["", "not hex at all", "00"])
def test_an_empty_or_corrupt_salt_is_refused(shadow, content):
    (shadow / ".synthspec" / "salt").write_text(content)
    for command in ("plan", "apply", "scan"):
        result = run_cli(shadow, command)
        assert result.exit_code == 3 and "salt" in result.output and "empty or corrupt" in result.output, command


def test_an_unwritable_target_directory_stops_before_publishing(tmp_path, write, adult):
    make_warehouse(tmp_path / "wh.duckdb", {"adult": adult.head(200)})
    write("synthspec.yml", """
        name: state
        source: {duckdb: wh.duckdb}
        target: {duckdb: wh.duckdb, schema: synthetic}
        """)
    write("specs/a.yml", "version: 1\ntable: a\nsource: {table: raw.adult}\ncolumns:\n  age: {type: numerical}\n"
          + "".join(f"  {c}: {{type: {'numerical' if adult[c].dtype.kind in 'if' else 'categorical'}}}\n"
                    for c in adult.columns if c != "age"))
    (tmp_path / "target").write_text("a file where the reports directory should be")
    result = run_cli(tmp_path, "apply")
    assert result.exit_code == 3 and "cannot write the reports directory 'target/'" in result.output
    assert "nothing was trained or published" in result.output
    assert query_db(tmp_path, "select count(*) from duckdb_views() where schema_name = 'synthetic'") == [(0,)]


def test_reports_that_cannot_be_written_stop_the_run_first(shadow):
    (shadow / "target" / "run_results.json").unlink()
    (shadow / "target" / "run_results.json").mkdir()  # writable directory, unwritable file
    result = run_cli(shadow, "apply", "--force")
    assert result.exit_code == 3 and "cannot write reports to 'target/'" in result.output
    assert query_db(shadow, "select count(*) from _synthspec.runs") == [(1,)]  # nothing ran


def test_reports_that_fail_at_the_end_still_show_every_table(shadow, monkeypatch):
    """Reports written at the start but not at the end (a full disk): the tables' outcomes are
    shown, and the run is an error (exit 3)."""
    from synthspec.engine import apply as apply_module
    from synthspec.errors import EnvironmentError_

    calls = []
    real = apply_module.write_reports

    def failing_the_second_time(result, target_dir):
        calls.append(1)
        if len(calls) > 1:
            raise EnvironmentError_("cannot write reports to 'target/': No space left on device")
        real(result, target_dir)

    monkeypatch.setattr(apply_module, "write_reports", failing_the_second_time)
    result = run_cli(shadow, "apply", "--force")
    assert result.exit_code == 3
    assert "s: passed (train" in result.output
    assert "error: cannot write reports to 'target/': No space left on device" in result.output


def test_a_publication_that_fails_is_an_error_in_every_report(shadow):
    # A table where the view should be: publishing fails (rolled back), the run is exit 3, and
    # no report calls the table passed.
    _execute(shadow, "DROP VIEW synthetic.s; CREATE TABLE synthetic.s AS SELECT 1 AS x")
    result = run_cli(shadow, "apply", "--force")
    assert result.exit_code == 3, result.output
    assert "cannot publish synthetic.s" in result.output
    results = json.loads((shadow / "target" / "run_results.json").read_text())
    assert results["status"] == "error" and results["tables"][0]["status"] == "error"
    assert "## synthspec: error" in (shadow / "target" / "summary.md").read_text()
    assert 'errors="1"' in (shadow / "target" / "junit.xml").read_text()
    assert query_db(shadow, "select count(*) from _synthspec.runs where published") == [(1,)]


def test_an_interrupted_run_is_an_error_in_every_report(shadow, monkeypatch):
    from synthspec.engine import apply as apply_module

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(apply_module, "compute", interrupt)  # as if Ctrl-C arrived during training
    result = run_cli(shadow, "apply", "--force")
    assert result.exit_code == 130
    results = json.loads((shadow / "target" / "run_results.json").read_text())
    assert results["status"] == "error" and results["errors"][0] == {"class": "KeyboardInterrupt", "message": "interrupted"}
    assert results["error_class"] == "KeyboardInterrupt" and results["exit_code"] == 130
    assert results["tables"][0]["status"] == "error" and "not finished" in results["tables"][0]["message"]
    assert "## synthspec: error" in (shadow / "target" / "summary.md").read_text()
    junit = (shadow / "target" / "junit.xml").read_text()
    assert '<error message="interrupted"' in junit


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGKILL"])
def test_a_cancelled_or_killed_run_never_leaves_a_passed_report(tmp_path, write, adult, signal_name):
    """CI cancels a job with SIGTERM; the kernel kills with SIGKILL. Either way the reports must
    not keep the previous run's "passed", and the published view stays as it was."""
    import os
    import signal
    import subprocess
    import sys
    import time

    make_warehouse(tmp_path / "wh.duckdb", {"adult": adult})
    write("synthspec.yml", "name: s\nsource: {duckdb: wh.duckdb}\ntarget: {duckdb: wh.duckdb}\n"
                           "defaults:\n  checks: {quality_score: {min: 0.0}, dcr_share: {max: 1.0}}\n")
    write("specs/a.yml", "version: 1\ntable: a\nsource: {table: raw.adult}\nmodel: {type: cart}\ncolumns:\n"
          + "".join(f"  {c}: {{type: {'numerical' if adult[c].dtype.kind in 'if' else 'categorical'}}}\n" for c in adult.columns))
    assert run_cli(tmp_path, "apply", "-q").exit_code == 0
    before = query_db(tmp_path, "SELECT sql FROM duckdb_views() WHERE view_name = 'a'")
    run = subprocess.Popen([sys.executable, "-m", "synthspec.cli.main", "apply", "-q", "--force"], cwd=tmp_path,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    report = tmp_path / "target" / "run_results.json"
    deadline = time.monotonic() + 60
    while "has not finished" not in (report.read_text() if report.exists() else "") and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(run.pid, getattr(signal, signal_name))
    code = run.wait(timeout=60)
    results = json.loads(report.read_text())
    assert results["status"] == "error", results
    if signal_name == "SIGTERM":
        assert code == 130 and results["errors"][0] == {"class": "KeyboardInterrupt", "message": "interrupted"}  # next safe point
    else:
        assert code == -signal.SIGKILL and "has not finished" in results["errors"][0]["message"]
        assert results["error_class"] == "Unfinished"
    assert "## synthspec: error" in (tmp_path / "target" / "summary.md").read_text()
    assert query_db(tmp_path, "SELECT sql FROM duckdb_views() WHERE view_name = 'a'") == before
