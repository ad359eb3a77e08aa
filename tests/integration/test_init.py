"""`init` drafts: never a value from the data, always a spec that passes `validate` (issue 8)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from synthspec.engine.init import _key, header_looks_like_data
from tests.helpers import query_db, run_cli

pytestmark = pytest.mark.integration

TITANIC = Path(__file__).resolve().parents[1] / "fixtures" / "titanic.csv"
SECRET = "an-init-test-secret-of-32-chars!"

# Column names YAML would read as something else, or that need quoting, or escapes.
AWKWARD = ["on", "null", "Yes", "OFF", "true", "y", "~", "a\nb", "it's", 'say "hi"', "key: value", "  lead", "trail ",
           "ünïcødé", "emoji😀", "#hash", "- dash", "[x]", "{y}", "&anchor", "*alias", "!tag", "%pct", "@at", "`tick`",
           "1starts", "12:30", "2020-01-01", "0x1F", "1e3", "tab\there", "nel\x85x", ".inf", "a,b", "back\\slash"]


def test_headerless_csv_gets_generic_names_and_a_warning(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTHSPEC_SECRET", SECRET)
    titanic = pd.read_csv(TITANIC)
    (tmp_path / "lake").mkdir()
    people = titanic[["Name", "Sex", "Ticket", "Embarked"]]
    people.to_csv(tmp_path / "lake" / "people.csv", header=False, index=False)  # all text: DuckDB takes row 1 for a header
    titanic.to_csv(tmp_path / "lake" / "titanic.csv", index=False)  # a real header: kept
    result = run_cli(tmp_path, "init", "--from-path", "lake/*.csv")
    assert result.exit_code == 0, result.output
    assert "warning: lake/people.csv: The first row of this file looks like data, not a header" in result.stderr
    assert "titanic.csv" not in result.stderr
    spec = (tmp_path / "specs" / "people.yml").read_text()
    assert list(yaml.safe_load(spec)["columns"]) == ["column0", "column1", "column2", "column3"]
    assert "# The first row of this file looks like data" in spec
    cells = {str(v) for row in people.head(3).itertuples(index=False) for v in row if isinstance(v, str) and len(v) > 1}
    assert not [c for c in cells if c in spec] and "Braund" not in result.output
    assert "PassengerId:" in (tmp_path / "specs" / "titanic.yml").read_text()
    assert yaml.safe_load(spec)["source"] == {"path": "lake/people.csv", "header": False}
    assert run_cli(tmp_path, "validate").exit_code == 0
    # `apply` reads the file the way init did: every row is data, no first row taken for names.
    result = run_cli(tmp_path, "apply", "-q", "-s", "people")
    assert result.exit_code in (0, 1), result.output
    assert "Braund" not in result.output and "is not declared" not in result.output
    rows = json.loads((tmp_path / "target" / "run_results.json").read_text())["tables"][0]["rows"]
    assert rows == len(people)


def test_header_check_reasons():
    assert header_looks_like_data(["PassengerId", "Name", "Sex", "Ticket"], [0, 0, 0, 0]) is None
    assert header_looks_like_data(["first name", "E-mail (work)", "Price ($)"], [0, 0, 0]) is None
    assert header_looks_like_data(["male", "x"], [312, 0]) == "its cell in column 1 also occurs as a value in that column"
    assert "number, date" in header_looks_like_data(["name", "1984-03-01"], [0, 0])
    assert "number, date" in header_looks_like_data(["name", "42.5"], [0, 0])
    assert "unusual" in header_looks_like_data(["ayse@example.com", "Ankara"], [0, 0])
    assert "unusual" in header_looks_like_data(["Braund, Mr. Owen Harris", "male"], [0, 0])
    assert header_looks_like_data(["John Smith", "city"], [0, 0]) == "its cell in column 1 looks like PERSON"


def test_awkward_column_names_are_quoted_and_read_back_exactly():
    for name in AWKWARD:
        assert yaml.safe_load(f"{_key(name)}: 1") == {name: 1}, repr(name)


def test_init_then_validate_and_apply_with_awkward_names(tmp_path):
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    con.execute("CREATE SCHEMA raw")
    # Column i holds i*1000 + (row % 50): the published columns show which source column they came from.
    columns = ", ".join(f"({i} * 1000 + i % 50)::INTEGER AS {_sql_name(name)}" for i, name in enumerate(AWKWARD))
    con.execute(f'CREATE TABLE raw."on" AS SELECT i AS id, {columns} FROM range(400) t(i)')
    con.close()
    result = run_cli(tmp_path, "init", "--from-duckdb", str(tmp_path / "wh.duckdb"), "--schema", "raw")
    assert result.exit_code == 0, result.output
    spec = yaml.safe_load((tmp_path / "specs" / "on.yml").read_text())
    assert spec["table"] == "on" and list(spec["columns"]) == ["id", *AWKWARD]
    validate = run_cli(tmp_path, "validate")
    assert validate.exit_code == 0, validate.output
    project = tmp_path / "synthspec.yml"  # the sawtooth columns are hard to model: this test is about names
    project.write_text(project.read_text().replace("quality_score: {min_relative: 0.9}", "quality_score: {min: 0.1}"))
    applied = run_cli(tmp_path, "apply", "-q")
    assert applied.exit_code == 0, applied.output
    assert query_db(tmp_path, 'DESCRIBE synthetic."on"') == query_db(tmp_path, 'DESCRIBE raw."on"')
    assert query_db(tmp_path, 'DESCRIBE _synthspec."on__v1"') == query_db(tmp_path, 'DESCRIBE raw."on"')
    for i, name in enumerate(AWKWARD):
        low, high = query_db(tmp_path, f'SELECT min({_sql_name(name)}), max({_sql_name(name)}) FROM _synthspec."on__v1"')[0]
        assert i * 1000 <= low <= high < i * 1000 + 50, (name, low, high)


def _sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
