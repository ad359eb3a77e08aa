"""The gate end to end (issue 8): what could not be assessed is not published, a check the
table cannot compute fails `validate`, guardrails stay floors, and `plan` says what weakened."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers import ALIAS_BOMB, make_warehouse, query_db, run_cli

pytestmark = pytest.mark.integration

PROJECT = """
name: t
source: {duckdb: wh.duckdb}
target: {duckdb: wh.duckdb, schema: synthetic}
"""

ONE = """
version: 1
table: one
source: {table: raw.one}
model: {type: cart, seed: 1}
columns:
  age: {type: numerical}
  city: {type: categorical}
"""


def views(project: Path) -> list[tuple]:
    return query_db(project, "SELECT view_name FROM duckdb_views() WHERE schema_name = 'synthetic'")


def results(project: Path) -> dict:
    return json.loads((project / "target" / "run_results.json").read_text())


@pytest.fixture
def one_row(tmp_path: Path, write) -> Path:
    """A project over a table of one real row (it has no holdout: nothing can assess it)."""
    make_warehouse(tmp_path / "wh.duckdb", {"one": pd.DataFrame({"age": [42], "city": ["x"]})})
    write("synthspec.yml", PROJECT)
    write("specs/one.yml", ONE)
    return tmp_path


def test_a_one_row_table_is_refused_not_published(one_row: Path, write) -> None:
    # issue 8, A: the one real row was published (every value identical, dcr_share "n/a"). A
    # model of one row can only publish that row: refused before any model runs, whatever the
    # gate allows.
    assert run_cli(one_row, "validate").exit_code == 0
    write("specs/one.yml", ONE + "checks:\n  dcr_share: {max: 0.6, not_evaluated: allow}\n")
    result = run_cli(one_row, "apply", "-q")
    assert result.exit_code == 3, result.output
    assert "table 'one': the source has 1 row(s); synthspec needs at least 2" in result.output
    assert views(one_row) == []


FLAT = """
version: 1
table: flat
source: {table: raw.flat}
model: {type: cart, seed: 1}
columns:
  x: {type: numerical}
  c: {type: numerical}
  city: {type: categorical}
checks:
  correlation_distance: {max: 0.5}
"""


@pytest.fixture
def flat(tmp_path: Path, write) -> Path:
    """A table whose only numerical pair has a constant column: its correlation is undefined,
    so correlation_distance cannot be evaluated."""
    frame = pd.DataFrame({"x": np.arange(60, dtype=float) % 7, "c": 5.0, "city": ["a", "b", "c"] * 20})
    make_warehouse(tmp_path / "wh.duckdb", {"flat": frame})
    write("synthspec.yml", PROJECT)
    write("specs/flat.yml", FLAT)
    return tmp_path


def test_a_check_that_cannot_be_evaluated_blocks(flat: Path, write) -> None:
    assert run_cli(flat, "validate").exit_code == 0
    result = run_cli(flat, "apply", "-q")
    assert result.exit_code == 1, result.output
    assert "flat: failed" in result.output and "correlation_distance not evaluated" in result.output
    assert "nothing published, the previous version is unchanged" in result.output
    assert "set `not_evaluated: allow`" in result.output
    assert views(flat) == []
    table = results(flat)["tables"][0]
    assert table["status"] == "failed" and not table["published"]
    check = next(c for c in table["checks"] if c["metric"] == "correlation_distance")
    assert check["outcome"] == "not_evaluated" and check["not_evaluated"] == "block"
    assert '<failure message="not evaluated:' in (flat / "target" / "junit.xml").read_text()

    # A project-wide `allow` does not loosen a guardrail...
    write("synthspec.yml", PROJECT + "gate: {not_evaluated: allow}\nguardrails:\n  checks: {correlation_distance: {max: 0.6}}\n")
    assert run_cli(flat, "apply", "-q").exit_code == 1
    assert views(flat) == []
    # ...and a spec cannot allow a guarded check: that loosens the guardrail.
    write("specs/flat.yml", FLAT.replace("{max: 0.5}", "{max: 0.5, not_evaluated: allow}"))
    result = run_cli(flat, "validate")
    assert result.exit_code == 2
    assert "checks.correlation_distance.not_evaluated 'allow' loosens the project guardrail" in result.output
    # Without a guardrail, allowing it is an explicit, reviewable decision.
    write("synthspec.yml", PROJECT)
    result = run_cli(flat, "apply")
    assert result.exit_code == 0, result.output
    assert "not_evaluated (allowed:" in result.output
    assert views(flat) == [("flat",)]


def test_a_check_without_its_prerequisites_fails_validate(one_row: Path, write) -> None:
    # issue 8, A: `k_anonymity: {min: 1000}` without quasi-identifiers validated, applied, published.
    write("specs/one.yml", ONE + "checks:\n  k_anonymity: {min: 1000}\n")
    for command in ("validate", "apply"):
        result = run_cli(one_row, command)
        assert result.exit_code == 2
        assert result.output.startswith("specs/one.yml:9:3: checks.k_anonymity needs privacy.quasi_identifiers")
    assert views(one_row) == []


def test_null_and_nan_thresholds_are_spec_errors(one_row: Path, write, monkeypatch: pytest.MonkeyPatch) -> None:
    # issue 8, B: `dcr_share: null` fell back to 0.6 under a 0.55 guardrail; `max: .nan` and
    # `${DCR_MAX:-0.5}` with DCR_MAX=nan printed "0.5320 max nan passed".
    write("synthspec.yml", PROJECT + "spec_variables: [DCR_MAX]\nguardrails:\n  checks: {dcr_share: {max: 0.55}}\n")
    for check, message in (("null", "specs/one.yml:9:3: checks.dcr_share: null is not a check; to remove a check, delete it"),
                           ("{max: .nan}", "specs/one.yml:9:20: checks.dcr_share.max: Input should be a finite number"),
                           ('{max: "${DCR_MAX:-0.5}"}', "specs/one.yml:9:20: checks.dcr_share.max: Input should be a finite number")):
        write("specs/one.yml", ONE + f"checks:\n  dcr_share: {check}\n")
        monkeypatch.setenv("DCR_MAX", "nan")
        result = run_cli(one_row, "plan")
        assert result.exit_code == 2 and result.output.startswith(message), result.output
        assert "nan" not in result.output.replace("not evaluated", "")


def test_plan_lists_a_removed_guarded_check_and_the_guardrails_that_do_not_apply(tmp_path: Path, write) -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"age": rng.integers(18, 80, 300), "city": rng.choice(["a", "b", "c"], 300)})
    make_warehouse(tmp_path / "wh.duckdb", {"people": frame})
    write("synthspec.yml", PROJECT + "guardrails:\n  checks:\n    dcr_share: {max: 0.95}\n    pii_leakage: {max: 0}\n")
    spec = ONE.replace("table: one", "table: people").replace("raw.one", "raw.people")
    write("specs/people.yml", spec + "checks:\n  dcr_share: {max: 0.9}\n")
    result = run_cli(tmp_path, "apply", "-q")
    assert result.exit_code == 0, result.output
    dcr = next(c for c in results(tmp_path)["tables"][0]["checks"] if c["metric"] == "dcr_share")
    assert dcr["max"] == 0.9
    write("specs/people.yml", spec)
    result = run_cli(tmp_path, "plan")
    assert result.exit_code == 0
    assert "privacy weakened: check dcr_share removed (the project guardrail max 0.95 still applies)" in result.output
    assert ("note: guardrail pii_leakage does not apply to this table: the metric needs a column with a pii policy "
            "other than keep") in result.output


def test_an_alias_bomb_is_a_located_spec_error(one_row: Path, write) -> None:
    # issue 8, C: a 9x9 alias bomb ate memory until killed; a recursive alias gave RecursionError.
    write("specs/bomb.yml", ALIAS_BOMB)
    write("specs/loop.yml", "version: 1\ntable: loop\ncolumns: &c {a: *c}\n")
    result = run_cli(one_row, "validate")
    assert result.exit_code == 2
    assert result.output.splitlines() == [
        "specs/bomb.yml:6:4: this value expands to more than 100,000 nodes once its aliases are expanded (an alias bomb?)",
        "specs/loop.yml:3:10: a recursive alias (an anchor used inside itself) is not supported"]


def test_a_tiny_holdout_does_not_let_the_gate_pass_on_noise(tmp_path: Path, write) -> None:
    # A 5-row table with `holdout: 0.0001` and leaves of one row published 5 real rows: dcr_share
    # 0.6 against one holdout row passed `max 0.6`.
    frame = pd.DataFrame({"age": [23, 35, 47, 51, 62], "city": ["a", "b", "c", "d", "e"]})
    make_warehouse(tmp_path / "wh.duckdb", {"five": frame})
    write("synthspec.yml", PROJECT)
    write("specs/five.yml", ONE.replace("one", "five").replace("{type: cart, seed: 1}",
                                                               "{type: cart, seed: 1, params: {min_samples_leaf: 1}}")
          + "holdout: 0.0001\n")
    # A tiny table (issue 9): the model may not publish a real row. Leaves of one row donate only
    # real rows, so the continuous column is moved off real values (within the real range) and
    # the cities, all rarer than k, are the token: no published row is a real row.
    result = run_cli(tmp_path, "apply", "-q")
    assert result.exit_code == 0, result.output
    check = next(c for c in results(tmp_path)["tables"][0]["checks"] if c["metric"] == "real_row_matches")
    assert check["value"] == 0
    published = query_db(tmp_path, "SELECT age, city FROM synthetic.five")
    assert len(published) == 5 and not set(published) & set(frame.itertuples(index=False, name=None))
    assert all(23 <= age <= 62 for age, _ in published)
    # With the strict policy the holdout metrics are not evaluated and block, as before (the
    # published version stays as it was).
    write("synthspec.yml", PROJECT + "gate: {tiny_tables: block}\n")
    result = run_cli(tmp_path, "apply", "-q")
    assert result.exit_code == 1, result.output
    assert "dcr_share not evaluated: the table has 5 rows and a holdout of 1; a holdout metric needs at least 5" in result.output
    assert query_db(tmp_path, "SELECT age, city FROM synthetic.five") == published
