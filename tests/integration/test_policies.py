"""PII policies end to end on titanic (real names), with real Faker and real DuckDB."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from synthspec.cli.main import cli

pytestmark = pytest.mark.integration

TITANIC = Path(__file__).resolve().parents[1] / "fixtures" / "titanic.csv"
SECRET = "a-test-secret-of-32-characters!!"

SPEC = """\
version: 1
table: passengers
source: {table: raw.titanic}
model: {type: cart, params: {min_samples_leaf: 20}}
columns:
  PassengerId: {type: id, primary_key: true}
  Survived: {type: categorical}
  Pclass: {type: categorical}
  Name: {type: text, pii: fake, faker: name}
  Sex: {type: categorical}
  Age: {type: numerical, pii: generalize, width: 10}
  SibSp: {type: numerical}
  Parch: {type: numerical}
  Ticket: {type: text, pii: hash}
  Fare: {type: numerical}
  Cabin: {type: text, pii: mask, keep_last: 1}
  Embarked: {type: categorical}
checks:
  quality_score: {min: 0.5}
  dcr_share: {max: 0.9}
  pii_leakage: {max: 0}
"""


@pytest.fixture
def titanic_project(tmp_path, monkeypatch):
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    con.execute("CREATE SCHEMA raw")
    con.execute(f"CREATE TABLE raw.titanic AS SELECT * FROM read_csv('{TITANIC}')")
    con.close()
    (tmp_path / "synthspec.yml").write_text("name: t\nsource: {duckdb: wh.duckdb}\ntarget: {duckdb: wh.duckdb}\n")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "passengers.yml").write_text(SPEC)
    monkeypatch.setenv("SYNTHSPEC_SECRET", SECRET)
    return tmp_path


def run(project: Path, *args: str):
    result = CliRunner().invoke(cli, [*args, "--project-dir", str(project)], catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def test_policies_publish_no_real_pii(titanic_project):
    result = run(titanic_project, "apply", "-q")
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(titanic_project / "wh.duckdb"), read_only=True)
    real = con.execute("SELECT Name, Ticket, Cabin, Age FROM raw.titanic").df()
    out = con.execute("SELECT Name, Ticket, Cabin, Age FROM synthetic.passengers").df()
    assert con.execute("DESCRIBE synthetic.passengers").fetchall() == con.execute("DESCRIBE raw.titanic").fetchall()
    con.close()
    # Independent leakage check: no real name, ticket or cabin appears anywhere in the output.
    cells = {str(v).strip().lower() for col in out.columns for v in out[col].dropna()}
    for column in ("Name", "Ticket", "Cabin"):
        assert not cells & {str(v).strip().lower() for v in real[column].dropna()}, column
    assert out["Name"].notna().all() and out["Name"].str.contains(" ").all()
    assert out["Ticket"].dropna().str.fullmatch(r"[0-9a-f]{32}").all()
    # masked cabins; a masked value held by fewer than 5 rows is protected as a rare value
    assert out["Cabin"].dropna().str.fullmatch(r"[* ]*\*\w|_RARE_").all()
    assert (out["Age"].dropna() % 10 == 0).all() and out["Age"].notna().any()
    table = json.loads((titanic_project / "target" / "run_results.json").read_text())["tables"][0]
    assert table["metrics"]["pii_leakage"] == 0


def test_fake_and_hash_are_consistent_across_runs_and_keyed(titanic_project, monkeypatch):
    run(titanic_project, "apply", "-q")
    con = duckdb.connect(str(titanic_project / "wh.duckdb"), read_only=True)
    first = con.execute("SELECT Name, Ticket FROM synthetic.passengers").fetchall()
    con.close()
    run(titanic_project, "apply", "--force", "-q")
    con = duckdb.connect(str(titanic_project / "wh.duckdb"), read_only=True)
    assert con.execute("SELECT Name, Ticket FROM synthetic.passengers").fetchall() == first
    con.close()
    monkeypatch.setenv("SYNTHSPEC_SECRET", "another-secret-of-32-characters!")
    plan = run(titanic_project, "plan")
    assert "will resample" in plan.output  # a rotated secret changes the pseudonyms, not the model
    run(titanic_project, "apply", "-q")
    con = duckdb.connect(str(titanic_project / "wh.duckdb"), read_only=True)
    rotated = con.execute("SELECT Name, Ticket FROM synthetic.passengers").fetchall()
    con.close()
    assert {t for _, t in rotated}.isdisjoint({t for _, t in first})


def test_missing_secret_is_an_environment_error_of_the_commands_that_read_it(titanic_project, monkeypatch):
    # validate is offline and secret-free: a pull-request job without secrets lints specs.
    monkeypatch.delenv("SYNTHSPEC_SECRET")
    assert run(titanic_project, "validate").exit_code == 0
    line = ("specs/passengers.yml:9:22: column 'Name': 'pii: fake' needs a secret key in the environment variable "
            "'SYNTHSPEC_SECRET', which is not set")
    for command in ("plan", "apply"):
        result = run(titanic_project, command, "-q")
        assert result.exit_code == 3, (command, result.output)
        assert line in result.output
        assert "column 'Ticket'" in result.output
    results = json.loads((titanic_project / "target" / "run_results.json").read_text())
    assert results["status"] == "error"
    assert results["tables"][0]["errors"][0]["class"] == "EnvironmentError"
    assert run(titanic_project, "sample", "passengers", "-n", "5").exit_code == 3
    monkeypatch.setenv("SYNTHSPEC_SECRET", "short")
    result = run(titanic_project, "plan")
    assert result.exit_code == 3 and "shorter than 16 characters" in result.output
