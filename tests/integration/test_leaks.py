"""Nothing leaks (issue 8): a real `apply` on a project whose specs interpolate secret-looking
environment variables, with a source whose cells make DuckDB raise a conversion error. Neither
the resolved values nor any raw cell may appear on stdout, stderr, in any file under target/,
in the run history or in the dbt sources file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
from click.testing import CliRunner

from synthspec.cli.main import cli
from tests.helpers import query_db

pytestmark = pytest.mark.integration

TITANIC = Path(__file__).resolve().parents[1] / "fixtures" / "titanic.csv"
SECRET = "policy-secret-0f3a9c1e77d24b6a"
TOKEN = "tok_live_9Q2xVb7Lm4Rt8Zp1"
SCHEMA = "rawdata_private"  # long enough to be redacted: a schema name read from the environment

PASSENGERS = """\
version: 1
table: passengers
description: "Titanic passengers, exported with token ${API_TOKEN}"
source: {table: "${RAW_SCHEMA}.titanic"}
model: {type: "${MODEL_TYPE}", params: {min_samples_leaf: 20}}
columns:
  PassengerId: {type: id, primary_key: true}
  Survived: {type: categorical, description: "keyed with ${API_TOKEN}"}
  Pclass: {type: categorical}
  Name: {type: text, pii: hash}
  Sex: {type: categorical}
  Age: {type: numerical}
  SibSp: {type: numerical}
  Parch: {type: numerical}
  Ticket: {type: text, pii: hash}
  Fare: {type: numerical}
  Cabin: {type: text, pii: drop}
  Embarked: {type: categorical}
checks:
  quality_score: {min: 0.3}
  dcr_share: {max: 0.95}
"""
# A conversion error quoting a passenger's name; the query also carries the token.
BAD = """\
version: 1
table: bad
source: {query: "SELECT PassengerId AS id, CAST(Name AS DECIMAL(10, 2)) AS amount FROM ${RAW_SCHEMA}.titanic WHERE Ticket <> '${API_TOKEN}'"}
columns:
  id: {type: id, primary_key: true, references: passengers.PassengerId}
  amount: {type: numerical}
"""
# DuckDB's "table does not exist" message names the (resolved) table.
MISSING = """\
version: 1
table: missing
source: {table: "${RAW_SCHEMA}.${API_TOKEN}"}
columns:
  a: {type: numerical}
"""


@pytest.fixture
def leaky(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    con.execute(f"CREATE SCHEMA {SCHEMA}")
    con.execute(f"CREATE TABLE {SCHEMA}.titanic AS SELECT * FROM read_csv('{TITANIC}') LIMIT 400")
    con.close()
    # The project lets specs read these variables: redaction is the second line of defence.
    (tmp_path / "synthspec.yml").write_text("name: leaky\nsource: {duckdb: wh.duckdb}\ntarget: {duckdb: wh.duckdb}\n"
                                            "spec_variables: [API_TOKEN, RAW_SCHEMA, MODEL_TYPE]\n")
    (tmp_path / "specs").mkdir()
    for name, text in (("passengers", PASSENGERS), ("bad", BAD), ("missing", MISSING)):
        (tmp_path / "specs" / f"{name}.yml").write_text(text)
    for name, value in (("SYNTHSPEC_SECRET", SECRET), ("API_TOKEN", TOKEN), ("RAW_SCHEMA", SCHEMA), ("MODEL_TYPE", "cart")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("SYNTHSPEC_DEBUG_UNREDACTED", raising=False)
    return tmp_path


def _cells() -> list[str]:
    """Every text cell of the source that could identify a passenger (names, tickets, cabins)."""
    frame = pd.read_csv(TITANIC).head(400)
    return sorted({str(v) for c in ("Name", "Ticket", "Cabin") for v in frame[c].dropna()} - {""})


FORBIDDEN = [SECRET, TOKEN, SCHEMA]


def _leaks(text: str) -> list[str]:
    found = [s for s in FORBIDDEN if s in text]
    found += [c for c in _cells() if len(c) >= 6 and c in text]  # shorter tickets ("2003") occur as numbers
    found += [part for part in ("Braund", "Owen Harris", "Cumings", "Heikkinen") if part in text]
    return found


def invoke(project: Path, *args: str, **env: str):
    result = CliRunner().invoke(cli, [*args, "--project-dir", str(project)], env=env or None)
    return result


def test_apply_leaks_no_secret_and_no_cell(leaky: Path):
    result = invoke(leaky, "apply")
    assert result.exit_code == 3, result.output
    assert _leaks(result.stdout) == [] and _leaks(result.stderr) == []
    # The errors are there, named by their table, with the references in place of the values.
    assert "Could not convert string" in result.stderr and 'to DECIMAL(10,2)' in result.stderr
    assert "bad: cannot read source query: Conversion Error" in result.stderr
    assert "${RAW_SCHEMA}.${API_TOKEN}" in result.stderr
    files = sorted((leaky / "target").iterdir())
    assert {f.name for f in files} == {"run_results.json", "junit.xml", "summary.md", "report.html"}
    for path in files:
        assert _leaks(path.read_text(encoding="utf-8")) == [], path.name
    assert "Could not convert string" in (leaky / "target" / "summary.md").read_text()
    history = query_db(leaky, "SELECT * FROM _synthspec.runs")
    assert history and _leaks(repr(history)) == []
    assert any("did not pass" in str(row) for row in history)  # passengers held: its linked table failed

    json_run = invoke(leaky, "apply", "--format", "json")
    assert _leaks(json_run.output) == [] and "${API_TOKEN}" in json_run.output


def test_validate_plan_and_dbt_sources_leak_nothing(leaky: Path):
    spec = leaky / "specs" / "passengers.yml"
    spec.write_text(PASSENGERS + "constraints:\n  - {type: inequality, low: Age, high: \"${API_TOKEN}\"}\n")
    result = invoke(leaky, "validate")
    assert result.exit_code == 2 and "${API_TOKEN}" in result.output and _leaks(result.output) == []
    json_result = invoke(leaky, "validate", "--format", "json")
    assert json_result.exit_code == 2 and _leaks(json_result.output) == []
    spec.write_text(PASSENGERS)

    plan = invoke(leaky, "plan")
    assert plan.exit_code == 3 and _leaks(plan.output) == []
    assert "missing: " in plan.stderr and "bad: " in plan.stderr  # every error line names its table

    sources = invoke(leaky, "dbt-sources", "-s", "passengers")
    assert sources.exit_code == 0 and _leaks(sources.output) == []
    assert "exported with token ${API_TOKEN}" in sources.output and "keyed with ${API_TOKEN}" in sources.output
    out = leaky / "sources.yml"
    real = invoke(leaky, "dbt-sources", "-s", "passengers", "--real-target", "prod", "--out", str(out))
    assert real.exit_code == 0 and _leaks(out.read_text()) == []
    # The real schema comes from the environment: dbt reads the same variable.
    assert "env_var('RAW_SCHEMA') if target.name == 'prod'" in out.read_text()


def test_debug_traceback_redacts_messages_unless_the_operator_opts_in(leaky: Path):
    result = invoke(leaky, "apply", "--debug", "-s", "bad")
    assert result.exit_code == 3
    assert "Traceback (most recent call last)" in result.stderr
    assert "ConversionException" in result.stderr and "The above exception was the direct cause" in result.stderr
    assert "SYNTHSPEC_DEBUG_UNREDACTED=1" in result.stderr
    assert _leaks(result.output) == []

    raw = invoke(leaky, "apply", "--debug", "-s", "bad", SYNTHSPEC_DEBUG_UNREDACTED="1")
    assert raw.exit_code == 3 and "Traceback" in raw.stderr
    assert any(part in raw.stderr for part in ("Braund", "Cumings", "Heikkinen"))  # the raw message, on request
    assert TOKEN not in raw.output and SCHEMA not in raw.output  # resolved values: never


def test_a_publish_error_quotes_no_cell(tmp_path: Path):
    from synthspec.errors import EnvironmentError_
    from synthspec.io import history

    record = history.RunRecord(run_id="r", table="people", version=1, status="passed", published=True, started_at=None,
                               finished_at=None, model="cart", rows=1, training_fp=None, sampling_fp=None, checks_fp=None,
                               synthspec_version="0", metrics={}, message=None)
    frame = pd.DataFrame({"age": ["Braund, Mr. Owen Harris"]})  # cannot be CAST to the source's type
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    try:
        with pytest.raises(EnvironmentError_) as info:
            history.publish_all(con, schema="synthetic", items=[history.Publication("people", frame, [("age", "INTEGER")], record)],
                                keep_versions=2)
    finally:
        con.close()
    message = str(info.value)
    assert message.startswith("people: cannot publish synthetic.people: Conversion Error") and "'…'" in message
    assert _leaks(message) == [] and "Owen" not in str(info.value)


def test_a_spec_cannot_read_the_policy_secret_or_an_unlisted_variable(leaky: Path):
    spec = leaky / "specs" / "passengers.yml"
    spec.write_text(spec.read_text().replace("${API_TOKEN}\"}", "${SYNTHSPEC_SECRET}\"}").replace(
        "exported with token ${API_TOKEN}", "exported by ${HOME}"))
    result = invoke(leaky, "validate")
    assert result.exit_code == 2
    assert "environment variable 'SYNTHSPEC_SECRET' may not be interpolated in a spec" in result.output
    assert "environment variable 'HOME' may not be interpolated in a spec" in result.output
    assert _leaks(result.output) == []
