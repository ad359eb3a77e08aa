"""Outputs never lie (issue 10): every exit path writes run_results.json, summary.md and
junit.xml that say what happened; a no-op run shows the last full results; `report --run`
rebuilds a past run from the run history. Real DuckDB files, real training, the real CLI."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import pytest

from tests.helpers import make_frame, make_warehouse, run_cli

pytestmark = pytest.mark.integration

SPEC = """\
version: 1
table: {table}
source: {{table: raw.{table}}}
model: {{type: cart, seed: 3}}
columns:
  x: {{type: numerical}}
  y: {{type: numerical}}
  c: {{type: categorical}}
  b: {{type: categorical}}
"""


@pytest.fixture
def two(tmp_path: Path, write) -> Path:
    """Two independent tables, applied once (the first, full run)."""
    make_warehouse(tmp_path / "wh.duckdb", {"one": make_frame(400, 1), "two": make_frame(400, 2)})
    write("synthspec.yml", "name: outputs\nsource: {duckdb: wh.duckdb}\ntarget: {duckdb: wh.duckdb, schema: synthetic}\n"
                           "defaults:\n  checks: {quality_score: {min: 0.0}, dcr_share: {max: 1.0}}\n")
    write("specs/one.yml", SPEC.format(table="one"))
    write("specs/two.yml", SPEC.format(table="two"))
    first = run_cli(tmp_path, "apply", "-q")
    assert first.exit_code == 0, first.output
    return tmp_path


def _results(project: Path) -> dict:
    return json.loads((project / "target" / "run_results.json").read_text())


def _junit(project: Path) -> ET.Element:
    return ET.fromstring((project / "target" / "junit.xml").read_text())


def _summary(project: Path) -> str:
    return (project / "target" / "summary.md").read_text()


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_a_passed_run_has_a_run_id_and_an_exit_code(two):
    results = _results(two)
    assert results["status"] == "passed" and results["exit_code"] == 0 and results["error_class"] is None
    assert results["errors"] == [] and len(results["run_id"]) > 16
    assert [t["status"] for t in results["tables"]] == ["passed", "passed"]
    assert not _junit(two).findall(".//error") and not _junit(two).findall(".//failure")


def test_a_no_op_run_keeps_the_last_full_results_in_every_report(two):
    full = _results(two)
    html_before = (two / "target" / "report.html").read_text()
    again = run_cli(two, "apply")
    assert again.exit_code == 0
    assert "one: up_to_date (up to date since run " + full["run_id"] in again.stdout
    results = _results(two)
    assert results["status"] == "passed" and results["run_id"] != full["run_id"]
    for before, now in zip(full["tables"], results["tables"], strict=True):
        assert now["status"] == "up_to_date" and now["up_to_date_since"]["run_id"] == full["run_id"]
        # when that table's result was recorded (published), within the full run
        assert full["started_at"] <= now["up_to_date_since"]["finished_at"] <= full["finished_at"]
        assert now["checks"] == before["checks"] and now["metrics"] == before["metrics"]
        assert now["profile"] == before["profile"]  # the plots' data
    html = (two / "target" / "report.html").read_text()
    assert html.count("<svg") == html_before.count("<svg") > 0
    assert "quality_score" in html and f"up to date since run {full['run_id']}" in html
    assert f"up to date since run {full['run_id']}" in _summary(two) and "✅ quality_score" in _summary(two)
    cases = [c.get("name") for c in _junit(two).iter("testcase")]
    assert cases.count("quality_score") == 2
    # `synthspec report` re-renders the same full reports from run_results.json
    assert run_cli(two, "report", "-q").exit_code == 0
    assert (two / "target" / "report.html").read_text().count("<svg") == html.count("<svg")


def test_a_partly_no_op_run_trains_one_table_and_carries_the_other(two):
    full = _results(two)
    _edit(two / "specs" / "two.yml", "seed: 3", "seed: 4")
    result = run_cli(two, "apply", "-q")
    assert result.exit_code == 0
    one, second = _results(two)["tables"]
    assert one["status"] == "up_to_date" and one["up_to_date_since"]["run_id"] == full["run_id"] and one["checks"]
    assert second["status"] == "passed" and second["action"] == "train" and "up_to_date_since" not in second
    # the next no-op run carries the new result of `two`, the old one of `one`
    run_cli(two, "apply", "-q")
    one_again, second_again = _results(two)["tables"]
    assert one_again["up_to_date_since"]["run_id"] == full["run_id"]
    assert second_again["up_to_date_since"]["run_id"] == _history_runs(two)[1]
    assert second_again["checks"] == second["checks"]


def _history_runs(project: Path) -> list[str]:
    result = run_cli(project, "history", "--format", "json")
    assert result.exit_code == 0, result.output
    return [r["run_id"] for r in json.loads(result.stdout)["runs"]]


def test_report_run_rebuilds_a_past_run_from_the_history(two):
    full = _results(two)
    html_full = (two / "target" / "report.html").read_text()
    _edit(two / "specs" / "one.yml", "seed: 3", "seed: 5")
    run_cli(two, "apply", "-q")
    assert _history_runs(two)[1] == full["run_id"]
    result = run_cli(two, "report", "--run", full["run_id"], "-q")
    assert result.exit_code == 0, result.output
    rebuilt = _results(two)
    assert rebuilt["run_id"] == full["run_id"] and rebuilt["status"] == "passed"
    # the times of its first and last table record, within the run
    assert full["started_at"] <= rebuilt["started_at"] <= rebuilt["finished_at"] <= full["finished_at"]
    for before, now in zip(full["tables"], rebuilt["tables"], strict=True):
        assert now["checks"] == before["checks"] and now["profile"] == before["profile"]
    assert (two / "target" / "report.html").read_text().count("<svg") == html_full.count("<svg")
    unknown = run_cli(two, "report", "--run", "20990101T000000Z-000000")
    assert unknown.exit_code == 2 and "unknown run id" in unknown.output and full["run_id"] in unknown.output


def test_a_failed_check_is_a_failure_in_every_report(two):
    _edit(two / "specs" / "one.yml", "  b: {type: categorical}\n", "  b: {type: categorical}\nchecks: {quality_score: {min: 0.9999, decide: value}}\n")
    result = run_cli(two, "apply", "-q")
    assert result.exit_code == 1
    results = _results(two)
    assert results["status"] == "failed" and results["exit_code"] == 1
    assert [t["status"] for t in results["tables"]] == ["failed", "up_to_date"]
    assert _junit(two).findall(".//testsuite[@name='one']/testcase/failure")
    assert "## synthspec: failed" in _summary(two)


def test_a_spec_error_overwrites_the_last_passed_reports(two):
    _edit(two / "specs" / "one.yml", "  x: {type: numerical}", "  x: {type: numerical, sede: 1}")
    result = run_cli(two, "apply")
    assert result.exit_code == 2
    results = _results(two)
    assert results["status"] == "error" and results["exit_code"] == 2 and results["error_class"] == "SpecError"
    assert "specs/one.yml:6:" in results["errors"][0]["message"]
    assert results["tables"] == []
    error = _junit(two).find(".//testcase[@name='run']/error")
    assert error is not None and error.get("type") == "SpecError"
    assert "## synthspec: error" in _summary(two) and "SpecError: specs/one.yml:6:" in _summary(two)


def test_a_missing_source_is_an_error_of_its_table_only(two):
    con = duckdb.connect(str(two / "wh.duckdb"))
    con.execute("DROP TABLE raw.two")
    con.close()
    result = run_cli(two, "apply")
    assert result.exit_code == 3
    assert "two: error\n  two: cannot read source table 'raw.two'" in result.stdout
    results = _results(two)
    assert results["status"] == "error" and results["error_class"] == "EnvironmentError"
    one, second = results["tables"]
    assert one["status"] == "up_to_date" and one["checks"]
    assert second["status"] == "error" and second["errors"][0]["class"] == "EnvironmentError"
    assert results["errors"] == [{"class": "EnvironmentError", "message": second["errors"][0]["message"], "table": "two"}]
    error = _junit(two).find(".//testsuite[@name='two']/testcase[@name='apply']/error")
    assert error is not None and error.get("type") == "EnvironmentError"
    plan = run_cli(two, "plan", "--format", "json")
    assert plan.exit_code == 3
    tables = json.loads(plan.stdout)["tables"]
    assert [t["action"] for t in tables] == ["none", "error"]
    assert tables[1]["errors"][0]["class"] == "EnvironmentError"
    text = run_cli(two, "plan")
    assert "two: error\n  two: cannot read source table" in text.stdout
    assert "1 of 2 table(s) with changes pending, 1 with errors" not in text.stdout
    assert "0 of 2 table(s) with changes pending, 1 with errors" in text.stdout


def test_two_problems_of_a_table_are_two_lines(two):
    con = duckdb.connect(str(two / "wh.duckdb"))
    con.execute("ALTER TABLE raw.two DROP COLUMN x")
    con.execute("ALTER TABLE raw.two DROP COLUMN y")
    con.close()
    for command in ("plan", "apply"):
        result = run_cli(two, command)
        assert result.exit_code == 2, result.output
        lines = [line for line in result.stdout.splitlines() if line.startswith("  specs/two.yml:")]
        assert len(lines) == 2 and "column 'x'" in lines[0] and "column 'y'" in lines[1], result.stdout
    errors = _results(two)["tables"][1]["errors"]
    assert [e["class"] for e in errors] == ["SpecError", "SpecError"] and "; " not in errors[0]["message"]


def test_an_unwritable_target_database_is_an_error_in_the_reports(two):
    _edit(two / "synthspec.yml", "target: {duckdb: wh.duckdb", "target: {duckdb: blocked/out.duckdb")
    (two / "blocked").write_text("a file, not a directory")
    result = run_cli(two, "apply")
    assert result.exit_code == 3
    results = _results(two)
    assert results["status"] == "error" and results["error_class"] == "EnvironmentError"
    assert [t["status"] for t in results["tables"]] == ["not_run", "not_run"]
    assert _junit(two).find(".//testcase[@name='run']/error") is not None
    assert "## synthspec: error" in _summary(two)


def test_a_run_that_processed_no_table_is_not_green(two):
    result = run_cli(two, "apply", "-s", "tag:nothing")
    assert result.exit_code == 2
    results = _results(two)
    assert results["status"] == "no_tables" and results["exit_code"] == 2 and results["tables"] == []
    assert _junit(two).find(".//testcase[@name='run']/failure") is not None
    assert "no table was processed" in _summary(two) and "no table was processed" in result.output
    plan = run_cli(two, "plan", "-s", "tag:nothing")  # nor is a plan of nothing a green "no changes"
    assert plan.exit_code == 2 and "no table was processed" in plan.output


def test_a_corrupt_state_is_an_error_in_the_reports(two):
    (two / ".synthspec" / "salt").write_text("not hex at all")
    result = run_cli(two, "apply")
    assert result.exit_code == 3 and "empty or corrupt" in result.output
    results = _results(two)
    assert results["status"] == "error" and results["error_class"] == "EnvironmentError" and results["exit_code"] == 3
    assert [t["status"] for t in results["tables"]] == ["not_run", "not_run"]
    assert _junit(two).find(".//testcase[@name='run']/error").get("type") == "EnvironmentError"


def test_a_publish_error_is_an_error_of_its_table(two):
    # A table where synthspec's view must go: publishing it fails in DuckDB and rolls back.
    con = duckdb.connect(str(two / "wh.duckdb"))
    con.execute("DROP VIEW synthetic.one")
    con.execute("CREATE TABLE synthetic.one (x INTEGER)")
    con.close()
    result = run_cli(two, "apply")
    assert result.exit_code == 3, result.output
    assert "one: error\n  " in result.stdout and "cannot publish synthetic.one" in result.stdout
    results = _results(two)
    one, second = results["tables"]
    assert one["status"] == "error" and one["errors"][0]["class"] == "EnvironmentError" and not one["published"]
    assert second["status"] == "up_to_date" and second["checks"]
    assert results["status"] == "error" and results["error_class"] == "EnvironmentError"
    assert _junit(two).find(".//testsuite[@name='one']/testcase[@name='apply']/error") is not None
    assert "**one**: EnvironmentError:" in _summary(two)


def test_a_locked_database_in_json_is_one_document_with_every_table(two):
    import subprocess
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ok', flush=True); time.sleep(60)",
         str(two / "wh.duckdb")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        result = run_cli(two, "apply", "--format", "json")
        assert result.exit_code == 3
        document = json.loads(result.stdout)
        assert document == _results(two)
        assert document["status"] == "error" and document["error_class"] == "EnvironmentError"
        assert [t["status"] for t in document["tables"]] == ["not_run", "not_run"]
        text = run_cli(two, "apply")
        assert text.exit_code == 3 and "one: not_run (not run: the run stopped (database 'wh.duckdb' is locked" in text.stdout
        assert "is locked by another process" in text.stderr
    finally:
        holder.kill()
        holder.wait()


def test_a_history_from_an_older_version_without_results_still_works(two):
    # Older versions stored no `result` column: a no-op run shows the table as up to date
    # (nothing to carry), adds the column, and the next full run is carried again.
    con = duckdb.connect(str(two / "wh.duckdb"))
    con.execute("ALTER TABLE _synthspec.runs DROP COLUMN result")
    con.close()
    assert run_cli(two, "history").stdout.startswith("no run recorded")
    result = run_cli(two, "apply", "-q")
    assert result.exit_code == 0
    one, _ = _results(two)["tables"]
    assert one["status"] == "up_to_date" and "up_to_date_since" not in one and one["checks"] == []
    _edit(two / "specs" / "one.yml", "seed: 3", "seed: 6")
    run_cli(two, "apply", "-q")
    run_cli(two, "apply", "-q")
    one, second = _results(two)["tables"]
    assert one["up_to_date_since"] and one["checks"] and "up_to_date_since" not in second
