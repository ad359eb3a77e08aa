"""`apply --jobs N`: worker processes give the same published rows, reports and exit codes as
the inline run; the parent alone touches the database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.helpers import accounts_project

SYNTHSPEC = [sys.executable, "-m", "synthspec.cli.main"]


@pytest.fixture
def project(tmp_path: Path, adult: pd.DataFrame, write) -> Path:  # noqa: ANN001
    """Two independent tables (an Adult sample, and accounts) plus a child of accounts."""
    return accounts_project(tmp_path, adult, write, name="jobs", payments_per=(1, 4))


def apply(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SYNTHSPEC, "apply", "-q", *args], cwd=root, capture_output=True, text=True)


def published(root: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(root / "wh.duckdb"), read_only=True) as con:
        return {t: con.sql(f"SELECT * FROM synthetic.{t} ORDER BY ALL").df() for t in ("adult", "accounts", "payments")}


def test_two_jobs_publish_the_same_rows_as_one(project: Path) -> None:
    first = apply(project, "--jobs", "1")
    assert first.returncode == 0, first.stderr
    one = published(project)
    report_one = json.loads((project / "target" / "run_results.json").read_text())
    second = apply(project, "--force", "--jobs", "2")
    assert second.returncode == 0, second.stderr
    two = published(project)
    report_two = json.loads((project / "target" / "run_results.json").read_text())
    for table in one:
        pd.testing.assert_frame_equal(one[table], two[table])
    # Same tables, in the plan's order (spec files, parents first), same metrics.
    assert [t["table"] for t in report_one["tables"]] == [t["table"] for t in report_two["tables"]] == ["accounts", "adult", "payments"]
    for a, b in zip(report_one["tables"], report_two["tables"], strict=True):
        assert a["metrics"] == b["metrics"]
        # The report's charts too: computed in a worker process, they are the same numbers.
        assert a.get("insights") == b.get("insights") and a.get("profile") == b.get("profile")
        assert b["status"] == "passed" and b["published"]
    payments = next(t for t in report_two["tables"] if t["table"] == "payments")
    assert payments["metrics"]["referential_integrity"] == 1.0


def test_a_failing_table_in_a_worker_holds_back_its_group_only(project: Path) -> None:
    spec = project / "specs" / "payments.yml"
    spec.write_text(spec.read_text() + "checks:\n  quality_score: {min: 0.99999, decide: value}\n")
    result = apply(project, "--jobs", "2")
    assert result.returncode == 1
    report = {t["table"]: t for t in json.loads((project / "target" / "run_results.json").read_text())["tables"]}
    assert report["payments"]["status"] == "failed"
    assert report["accounts"]["status"] == "held" and not report["accounts"]["published"]
    assert report["adult"]["status"] == "passed" and report["adult"]["published"]
    with duckdb.connect(str(project / "wh.duckdb"), read_only=True) as con:
        views = {r[0] for r in con.sql("SELECT view_name FROM duckdb_views() WHERE schema_name = 'synthetic'").fetchall()}
    assert views == {"adult"}


def test_jobs_must_be_positive(project: Path) -> None:
    result = apply(project, "--jobs", "0")
    assert result.returncode == 2
    assert "--jobs" in result.stderr


def test_fail_fast_holds_back_a_group_it_cut_short(project: Path) -> None:
    # Plan order: accounts, adult, payments. accounts passes and waits for payments (its
    # group); adult fails; --fail-fast stops before payments: accounts must not be published.
    spec = project / "specs" / "adult.yml"
    spec.write_text(spec.read_text() + "checks:\n  quality_score: {min: 0.99999, decide: value}\n")
    result = apply(project, "--fail-fast")
    assert result.returncode == 1
    report = {t["table"]: t for t in json.loads((project / "target" / "run_results.json").read_text())["tables"]}
    assert set(report) == {"accounts", "adult", "payments"}  # every table of the run is listed
    assert report["payments"]["status"] == "not_run" and "--fail-fast" in report["payments"]["message"]
    assert report["adult"]["status"] == "failed"
    assert report["accounts"]["status"] == "held" and "--fail-fast" in report["accounts"]["message"]
    with duckdb.connect(str(project / "wh.duckdb"), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM duckdb_views() WHERE schema_name = 'synthetic'").fetchall() == [(0,)]
        held = con.sql("SELECT status, published FROM _synthspec.runs WHERE table_name = 'accounts'").fetchall()
    assert held == [("held", False)]


def test_a_parent_that_cannot_be_read_stops_its_children_and_keeps_their_views(project: Path) -> None:
    assert apply(project).returncode == 0
    before = published(project)
    with duckdb.connect(str(project / "wh.duckdb")) as con:
        con.execute("DROP TABLE raw.accounts")
    # The parent runs and errors: its child is skipped.
    result = apply(project, "--force")
    assert result.returncode == 3
    report = {t["table"]: t for t in json.loads((project / "target" / "run_results.json").read_text())["tables"]}
    assert report["accounts"]["status"] == "error"
    assert report["payments"]["status"] == "skipped"
    assert report["payments"]["message"] == "not run: referenced table 'accounts' has errors"
    # The parent is not selected but must be read: the child is an error with the parent's code.
    result = apply(project, "--force", "--select", "payments")
    assert result.returncode == 3
    (payments,) = json.loads((project / "target" / "run_results.json").read_text())["tables"]
    assert payments["status"] == "error" and payments["message"] == "payments: not run: referenced table 'accounts' has errors"
    assert "not run: referenced table 'accounts' has errors" in result.stderr
    after = published(project)
    for table in ("accounts", "payments"):  # the previously published versions, untouched
        pd.testing.assert_frame_equal(before[table], after[table])
