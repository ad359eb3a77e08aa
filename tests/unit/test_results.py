"""run_results.json, junit.xml and summary.md of every kind of run (issue 10: outputs never lie)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from synthspec.engine.compute import timed
from synthspec.engine.results import (
    RunError,
    RunResult,
    TableResult,
    error_class,
    junit,
    summary_markdown,
)
from synthspec.errors import EnvironmentError_, ExitCode, Problem, SpecError, UsageError


@pytest.mark.parametrize(("exc", "name"), [
    (SpecError([Problem("specs/a.yml", 1, 1, "bad")]), "SpecError"), (UsageError("x"), "UsageError"),
    (EnvironmentError_("x"), "EnvironmentError"), (KeyboardInterrupt(), "KeyboardInterrupt"),
    (MemoryError(), "MemoryError"), (ZeroDivisionError(), "InternalError"),
])
def test_error_classes_are_stable_names(exc: BaseException, name: str) -> None:
    assert error_class(exc) == name


def test_a_run_without_tables_is_not_green() -> None:
    run = RunResult()
    assert run.status == "no_tables" and run.exit_code == ExitCode.INVALID
    suites = ET.fromstring(junit(run))
    assert suites.find(".//testcase[@name='run']/failure") is not None
    assert "## synthspec: no_tables" in summary_markdown(run) and "no table was processed" in summary_markdown(run)


def test_an_interrupted_run_exits_130_and_says_so_everywhere() -> None:
    run = RunResult(tables=[TableResult("a", status="not_run", action="none", message="not run: the run stopped (interrupted)")],
                    errors=[RunError("KeyboardInterrupt", "interrupted")])
    assert run.status == "error" and run.exit_code == ExitCode.INTERRUPTED == 130
    data = run.to_dict()
    assert data["error_class"] == "KeyboardInterrupt" and data["exit_code"] == 130
    error = ET.fromstring(junit(run)).find(".//testcase[@name='run']/error")
    assert error is not None and error.get("type") == "KeyboardInterrupt"
    assert ET.fromstring(junit(run)).find(".//testsuite[@name='a']/testcase/skipped") is not None


def test_every_problem_of_a_table_is_one_entry_and_one_line() -> None:
    table = TableResult("a", status="error", exit_code=ExitCode.INVALID, message="specs/a.yml:3:5: one\nspecs/a.yml:4:5: two",
                        errors=[RunError("SpecError", "specs/a.yml:3:5: one"), RunError("SpecError", "specs/a.yml:4:5: two")])
    run = RunResult(tables=[table])
    assert run.exit_code == ExitCode.INVALID
    assert run.to_dict()["errors"] == [{"class": "SpecError", "message": "specs/a.yml:3:5: one", "table": "a"},
                                       {"class": "SpecError", "message": "specs/a.yml:4:5: two", "table": "a"}]
    summary = summary_markdown(run)
    assert "- **a**: SpecError: specs/a.yml:3:5: one\n- **a**: SpecError: specs/a.yml:4:5: two" in summary
    error = ET.fromstring(junit(run)).find(".//testsuite[@name='a']/testcase[@name='apply']/error")
    assert error is not None and error.text == "SpecError: specs/a.yml:3:5: one\nSpecError: specs/a.yml:4:5: two"


def test_results_round_trip_through_json_with_their_errors_and_carried_results() -> None:
    since = {"run_id": "20261130T000000Z-abcdef", "finished_at": "2026-11-30T00:00:05Z"}
    run = RunResult(tables=[
        TableResult("a", status="up_to_date", action="none", published=True, up_to_date_since=since),
        TableResult("b", status="error", exit_code=ExitCode.INVALID, message="m", errors=[RunError("SpecError", "m")]),
    ], errors=[RunError("EnvironmentError", "cannot write reports")])
    again = RunResult.from_dict(run.to_dict())
    assert again.to_dict() == run.to_dict()
    assert again.exit_code == ExitCode.ENVIRONMENT and again.tables[1].exit_code == ExitCode.INVALID
    assert "up to date since run 20261130T000000Z-abcdef (2026-11-30T00:00:05Z)" in summary_markdown(again)


def test_an_older_run_results_file_with_plain_string_errors_still_renders() -> None:
    old = {"synthspec_version": "0.1.0", "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:00:01Z",
           "status": "error", "tables": [], "errors": ["interrupted"]}
    run = RunResult.from_dict(old)
    assert run.status == "error" and run.errors == [RunError("Error", "interrupted")] and run.run_id
    assert "- **run**: Error: interrupted" in summary_markdown(run)


def test_a_stage_records_its_seconds_and_the_peak_rss_so_far() -> None:
    """`<stage>_peak_mb` is the process's peak RSS at the end of the stage: at least what the
    stage itself held (read from /proc while it held it), never less than an earlier stage's."""
    timings: dict[str, float] = {}
    with timed(timings, "fit_s"):
        block = bytearray(64 * 2**20)  # 64 MB, touched so it is resident
        block[:: 4096] = b"x" * len(block[:: 4096])
        resident = _resident_mb()
    with timed(timings, "fit_s"):
        pass
    # The kernel batches RSS counter updates per thread (a few pages): allow 4 MB of lag.
    assert timings["fit_s"] > 0 and timings["fit_peak_mb"] >= resident - 4 and resident >= 64
    with timed(timings, "checks_s"):
        pass
    assert timings["checks_peak_mb"] >= timings["fit_peak_mb"]
    del block


def test_stage_totals_count_seconds_not_peak_memory() -> None:
    table = TableResult("a", timings={"read_s": 0.5, "read_peak_mb": 900.0, "fit_s": 1.0, "fit_peak_mb": 1200.0})
    assert table.stage_seconds == {"read_s": 0.5, "fit_s": 1.0}
    suite = ET.fromstring(junit(RunResult(tables=[table])))
    assert [case.get("time") for case in suite.iter("testsuite")] == ["1.500"]


def _resident_mb() -> float:
    with open("/proc/self/status") as status:  # Linux, as the project's CI
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
