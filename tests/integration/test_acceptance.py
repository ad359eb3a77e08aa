"""The issue's measured acceptance on the full UCI Adult table (bundled as Parquet)."""

from __future__ import annotations

import json

import duckdb
import pytest
from click.testing import CliRunner

from synthspec.cli.main import cli
from tests.conftest import ADULT

pytestmark = pytest.mark.integration


def test_init_then_apply_on_full_adult(tmp_path, monkeypatch):
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    con.execute("CREATE SCHEMA raw")
    con.execute(f"CREATE TABLE raw.adult AS SELECT * FROM read_parquet('{ADULT}')")
    con.close()
    monkeypatch.chdir(tmp_path)  # FILE arguments are relative to the working directory
    runner = CliRunner()
    init = runner.invoke(cli, ["init", "--from-duckdb", "wh.duckdb", "--schema", "raw", "--project-dir", str(tmp_path)],
                         catch_exceptions=False)
    assert init.exit_code == 0, init.output
    result = runner.invoke(cli, ["apply", "-q", "--project-dir", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM synthetic.adult").fetchone() == (32561,)
    assert con.execute("DESCRIBE synthetic.adult").fetchall() == con.execute("DESCRIBE raw.adult").fetchall()
    con.close()
    table = json.loads((tmp_path / "target" / "run_results.json").read_text())["tables"][0]
    assert table["model"] == "cart"
    assert table["metrics"]["quality_score"] >= 0.95
    assert table["metrics"]["dcr_share"] <= 0.52
    assert table["metrics"]["exact_match_rate"] <= table["metrics"]["holdout_exact_match_rate"] + 0.001
