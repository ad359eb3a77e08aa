"""Differential privacy through apply: public domains, the budget ledger, refusal before fitting."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml
from click.testing import CliRunner

from synthspec.cli.main import cli
from tests.helpers import dp_adult_spec, make_warehouse

pytestmark = pytest.mark.integration


def run(project: Path, *args: str):
    result = CliRunner().invoke(cli, [*args, "--project-dir", str(project)], catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def dp_project(tmp_path, adult):
    frame = adult.head(1500)
    make_warehouse(tmp_path / "wh.duckdb", {"adult": frame})
    spec = dp_adult_spec(adult, {"table": "raw.adult"})
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "adult.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    (tmp_path / "synthspec.yml").write_text("name: dp\nsource: {duckdb: wh.duckdb}\ntarget: {duckdb: wh.duckdb}\n")
    return tmp_path


def published_rows(project: Path):
    con = duckdb.connect(str(project / "wh.duckdb"), read_only=True)
    try:
        return con.execute("SELECT * FROM synthetic.adult").fetchall()
    finally:
        con.close()


def test_dp_apply_spends_budget_and_refuses_past_the_cap(dp_project):
    result = run(dp_project, "apply", "-q")
    assert result.exit_code == 0, result.output
    table = json.loads((dp_project / "target" / "run_results.json").read_text())["tables"][0]
    assert table["model"] == "dp_bayes" and 0 < table["metrics"]["epsilon_spent"] <= 1.0
    before = published_rows(dp_project)
    plan = json.loads(run(dp_project, "plan", "--format", "json").output)["tables"][0]
    assert plan["budget"]["epsilon_spent"] == 1.0 and plan["budget"]["epsilon_left"] == 0.5
    # A second forced training run would bring the total to 2.0 > 1.5: refused before fitting.
    result = run(dp_project, "apply", "--force")
    assert result.exit_code == 1
    assert "privacy budget exhausted" in result.output and "nothing was fitted or published" in result.output
    table = json.loads((dp_project / "target" / "run_results.json").read_text())["tables"][0]
    assert table["status"] == "failed" and "fit_s" not in table["timings"]
    assert published_rows(dp_project) == before


def test_ledger_survives_a_lost_state_directory(dp_project):
    assert run(dp_project, "apply", "-q").exit_code == 0
    shutil.rmtree(dp_project / ".synthspec")  # a fresh CI clone has no state directory
    result = run(dp_project, "apply", "--force")
    assert result.exit_code == 1 and "ε=1 already spent in 1 run(s)" in result.output


def test_resampling_a_dp_model_spends_nothing(dp_project):
    assert run(dp_project, "apply", "-q").exit_code == 0
    spec = dp_project / "specs" / "adult.yml"
    spec.write_text(spec.read_text() + "rows: 500\n")
    result = run(dp_project, "apply", "-q")
    assert result.exit_code == 0, result.output
    table = json.loads((dp_project / "target" / "run_results.json").read_text())["tables"][0]
    assert table["action"] == "resample"
    plan = json.loads(run(dp_project, "plan", "--format", "json").output)["tables"][0]
    assert plan["budget"]["epsilon_spent"] == 1.0


def test_data_derived_domains_are_refused(dp_project):
    spec = dp_project / "specs" / "adult.yml"
    spec.write_text(spec.read_text().replace("domain: public", "domain: data", 1))
    result = run(dp_project, "validate")
    assert result.exit_code == 2
    assert "its domain was drafted from the data (`domain: data`); review it and set `domain: public`" in result.output


def test_epsilon_needs_a_dp_model(dp_project):
    spec = dp_project / "specs" / "adult.yml"
    spec.write_text(spec.read_text().replace("type: dp_bayes", "type: cart"))
    result = run(dp_project, "validate")
    assert result.exit_code == 2 and "privacy.epsilon needs a differentially private model; 'cart' is not one" in result.output
