"""The gate is total (issue 8): a check that cannot be evaluated blocks, a check the table cannot
compute fails `validate`, guardrails are floors over every other threshold, and the metric
registry is the one declaration those rules derive from."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthspec.engine.checks import run_checks
from synthspec.engine.plan import _guardrail_notes
from synthspec.engine.prepare import effective_checks
from synthspec.engine.results import RunResult, TableResult, junit
from synthspec.errors import SpecError
from synthspec.metrics.checks import Outcome, error_result, evaluate
from synthspec.metrics.registry import METRICS, NEEDS, applicability, unmet
from synthspec.spec.models import CheckSpec, TableSpec
from synthspec.spec.project import Project, load_project
from tests.helpers import KINDS, make_frame

PROJECT = """
name: t
source: {duckdb: wh.duckdb}
target: {duckdb: wh.duckdb, schema: synthetic}
"""

COLUMNS = """
  id: {type: id, primary_key: true}
  age: {type: numerical}
  city: {type: categorical}
"""


def spec_text(columns: str = COLUMNS, extra: str = "") -> str:
    return "version: 1\ntable: people\nsource: {table: raw.people}\ncolumns:" + columns + extra


def load(write, root: Path, spec: str, project: str = PROJECT) -> Project:
    write("synthspec.yml", project)
    write("specs/people.yml", spec)
    return load_project(root, {})


def problems(write, root: Path, spec: str, project: str = PROJECT) -> list[str]:
    with pytest.raises(SpecError) as info:
        load(write, root, spec, project)
    return info.value.lines()


# --- the registry ---------------------------------------------------------------------------------


def test_every_metric_declares_known_needs_and_a_description() -> None:
    for metric in METRICS.values():
        assert metric.needs <= NEEDS and metric.description
    spec = TableSpec.model_validate({"version": 1, "table": "t", "source": {"table": "raw.t"},
                                     "columns": {"id": {"type": "id", "primary_key": True}, "age": {"type": "numerical"}}})
    why = applicability(spec)
    assert why["quality_score"] is None and why["ks_complement"] is None and why["key_uniqueness"] is None
    assert why["tv_complement"] == "needs a modelled categorical or boolean column"
    assert why["column_pair_trends"] == "needs two modelled columns; this table has 1"
    assert why["referential_integrity"] == "needs a column with `references`"
    assert why["ml_efficacy"] == "needs 'target', the column the models learn to predict"
    assert unmet("ml_efficacy", spec, "age") is None and "the primary key" in unmet("ml_efficacy", spec, "id")


KEY_ONLY = """
  id: {type: id, primary_key: true}
  note: {type: text}
  ssn: {type: text, pii: drop}
"""


@pytest.mark.parametrize(("columns", "extra", "check", "message"), [
    # issue 8, A: `k_anonymity: {min: 1000}` without quasi-identifiers validated and published
    (COLUMNS, "", "k_anonymity: {min: 1000}", "checks.k_anonymity needs privacy.quasi_identifiers"),
    (COLUMNS, "privacy: {quasi_identifiers: [id]}\n", "reidentification_risk: {max: 0.1}",
     "checks.reidentification_risk needs privacy.quasi_identifiers that are modelled columns"),
    (KEY_ONLY, "", "quality_score: {min: 0.8}", "checks.quality_score needs a modelled column"),
    (KEY_ONLY, "", "dcr_share: {max: 0.6}", "checks.dcr_share needs a modelled column"),
    (COLUMNS, "", "column_pair_trends: {min: 0.8}", None),
    (COLUMNS.replace("  city: {type: categorical}\n", ""), "", "column_pair_trends: {min: 0.8}",
     "checks.column_pair_trends needs two modelled columns; this table has 1"),
    (COLUMNS, "", "correlation_distance: {max: 0.1}", "checks.correlation_distance needs two modelled numerical"),
    (COLUMNS.replace("numerical", "categorical"), "", "ks_complement: {min: 0.8}",
     "checks.ks_complement needs a modelled numerical or datetime column"),
    (COLUMNS.replace("categorical", "numerical"), "", "category_adherence: {min: 0.8}",
     "checks.category_adherence needs a modelled categorical or boolean column"),
    (COLUMNS.replace("id: {type: id, primary_key: true}", "id: {type: id, pii: drop}"), "", "key_uniqueness: {min: 1}",
     "checks.key_uniqueness needs a primary_key column"),
    (COLUMNS, "", "referential_integrity: {min: 1}", "checks.referential_integrity needs a column with `references`"),
    (COLUMNS, "", "cardinality: {min: 0.9}", "checks.cardinality needs a column with `references`"),
    (COLUMNS, "", "pii_leakage: {max: 0}", "checks.pii_leakage needs a column with a pii policy other than keep"),
    (COLUMNS, "", "epsilon_spent: {max: 1}", "checks.epsilon_spent needs a differentially private model"),
])
def test_a_check_the_table_cannot_compute_fails_validate(write, tmp_path, columns, extra, check, message) -> None:
    text = spec_text(columns, extra + "checks:\n  " + check + "\n")
    if message is None:
        load(write, tmp_path, text)
        return
    (line,) = problems(write, tmp_path, text)
    checks_line = text.splitlines().index("checks:") + 2
    assert line.startswith(f"specs/people.yml:{checks_line}:3: ") and message in line


def test_defaults_a_table_cannot_compute_are_left_out(write, tmp_path) -> None:
    project = PROJECT + "defaults:\n  checks:\n    k_anonymity: {min: 5}\n    pii_leakage: {max: 0}\n"
    loaded = load(write, tmp_path, spec_text(KEY_ONLY), project)
    (spec,) = loaded.specs
    # Built-in quality_score/dcr_share and the project's defaults: none computable here.
    assert set(effective_checks(spec, loaded)) == {"key_uniqueness", "pii_leakage"}
    loaded = load(write, tmp_path, spec_text(), project)
    assert set(effective_checks(loaded.specs[0], loaded)) == {"quality_score", "dcr_share", "key_uniqueness"}


# --- guardrails are floors ------------------------------------------------------------------------

GUARDED = PROJECT + "guardrails:\n  checks:\n    dcr_share: {max: 0.55}\n"


def test_a_guardrail_is_a_floor_over_the_builtin_default(write, tmp_path) -> None:
    # issue 8, B: the built-in dcr_share <= 0.6 shadowed a 0.55 guardrail (setdefault).
    loaded = load(write, tmp_path, spec_text(), GUARDED)
    dcr = effective_checks(loaded.specs[0], loaded)["dcr_share"]
    assert (dcr.max, dcr.severity, dcr.not_evaluated) == (0.55, "error", "block")
    loaded = load(write, tmp_path, spec_text(extra="checks:\n  dcr_share: {max: 0.5}\n"), GUARDED)
    assert effective_checks(loaded.specs[0], loaded)["dcr_share"].max == 0.5


def test_check_spec_under_a_guardrail_takes_the_tighter_bounds() -> None:
    floor = CheckSpec(min=0.2, max=0.55)
    both = CheckSpec(min=0.1, max=0.5, severity="warn", not_evaluated="allow").under(floor)
    assert (both.min, both.max, both.severity, both.not_evaluated) == (0.2, 0.5, "error", "block")
    allowed = CheckSpec(max=0.6, severity="warn", not_evaluated="allow").under(CheckSpec(max=0.55, severity="warn", not_evaluated="allow"))
    assert (allowed.max, allowed.severity, allowed.not_evaluated) == (0.55, "warn", "allow")


def test_not_evaluated_defaults_to_block_and_guardrails_cannot_be_allowed(write, tmp_path) -> None:
    allow = "checks:\n  quality_score: {min: 0.5, not_evaluated: allow}\n"
    loaded = load(write, tmp_path, spec_text(extra=allow), GUARDED)
    checks = effective_checks(loaded.specs[0], loaded)
    assert checks["quality_score"].not_evaluated == "allow" and checks["key_uniqueness"].not_evaluated == "block"
    # The project-wide default allows unguarded checks only.
    loaded = load(write, tmp_path, spec_text(), GUARDED + "gate: {not_evaluated: allow}\n")
    checks = effective_checks(loaded.specs[0], loaded)
    assert checks["quality_score"].not_evaluated == "allow" and checks["dcr_share"].not_evaluated == "block"
    # Allowing a guarded check loosens the guardrail.
    text = spec_text(extra="checks:\n  dcr_share: {max: 0.5, not_evaluated: allow}\n")
    (line,) = problems(write, tmp_path, text, GUARDED)
    assert line.startswith("specs/people.yml:9:25: ") and "checks.dcr_share.not_evaluated 'allow' loosens the project guardrail" in line
    load(write, tmp_path, text, GUARDED.replace("{max: 0.55}", "{max: 0.55, not_evaluated: allow}"))


def test_a_guardrail_the_table_cannot_compute_is_left_out_and_plan_says_so(write, tmp_path) -> None:
    project = PROJECT + "guardrails:\n  checks:\n    k_anonymity: {min: 5}\n    dcr_share: {max: 0.55}\n"
    loaded = load(write, tmp_path, spec_text(KEY_ONLY), project)
    (spec,) = loaded.specs
    assert set(effective_checks(spec, loaded)) == {"key_uniqueness"}
    assert _guardrail_notes(loaded, spec) == [
        "guardrail dcr_share does not apply to this table: the metric needs a modelled column; every column of this "
        "table is a key, a foreign key, dropped, hashed, faked or free text",
        "guardrail k_anonymity does not apply to this table: the metric needs privacy.quasi_identifiers "
        "(modelled columns an attacker may know); this spec names none"]


def test_a_quasi_identifier_guardrail_cannot_be_skipped_by_naming_none(write, tmp_path) -> None:
    # A table with modelled columns and no quasi-identifiers would skip a k_anonymity guardrail.
    project = PROJECT + "guardrails:\n  checks:\n    k_anonymity: {min: 5}\n"
    (line,) = problems(write, tmp_path, spec_text(), project)
    assert line.startswith("specs/people.yml:1:1: the project guardrail k_anonymity needs privacy.quasi_identifiers")
    assert "a guardrail cannot be skipped by naming none" in line
    loaded = load(write, tmp_path, spec_text(extra="\nprivacy: {quasi_identifiers: [age, city]}\n"), project)
    assert effective_checks(loaded.specs[0], loaded)["k_anonymity"].min == 5


# --- run time: not evaluated, with the sizes involved ---------------------------------------------


def test_a_one_row_table_is_not_evaluated_and_blocks() -> None:
    one = make_frame(1, 1)
    checks = {"quality_score": CheckSpec(min=0.5), "dcr_share": CheckSpec(max=0.6, not_evaluated="block"),
              "nndr": CheckSpec(max=0.2, not_evaluated="allow")}
    _, results = run_checks(one, one.iloc[:0], one.copy(), KINDS, checks, seed=0)
    by_name = {r.metric: r for r in results}
    assert by_name["quality_score"].outcome is Outcome.PASSED  # a copy of the one row scores perfectly
    dcr = by_name["dcr_share"]
    assert dcr.outcome is Outcome.NOT_EVALUATED and dcr.blocks
    assert dcr.message == "the table has 1 row, too few for a holdout (at least 2 rows are needed)"
    assert by_name["nndr"].outcome is Outcome.NOT_EVALUATED and not by_name["nndr"].blocks


def test_junit_shows_a_blocking_check_as_a_failure() -> None:
    table = TableResult("people", status="failed", checks=[
        evaluate("dcr_share", None, max=0.6, reason="the table has 1 row, too few for a holdout"),
        evaluate("nndr", None, max=0.2, not_evaluated="allow"),
        error_result("ml_efficacy", min=0.9, message="ml_efficacy could not be computed (ValueError)")])
    xml = junit(RunResult(tables=[table]))
    assert 'failures="1" errors="1"' in xml
    assert '<failure message="not evaluated: the table has 1 row, too few for a holdout" />' in xml
    assert '<error message="ml_efficacy could not be computed (ValueError)" />' in xml
    assert xml.count("<skipped") == 1
    again = TableResult.from_dict(table.to_dict())
    assert [c.blocks for c in again.checks] == [True, False, True]
