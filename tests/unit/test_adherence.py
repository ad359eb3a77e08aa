"""Per-column fidelity metrics, correlation_distance, ml_efficacy, their wiring into the checks
and the spec rules for ml_efficacy's target. Small frames; the SDMetrics parity is in
tests/integration/test_metric_parity_columns.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from synthspec.cli.main import cli
from synthspec.engine.checks import run_checks
from synthspec.errors import SpecError
from synthspec.metrics.adherence import (
    ColumnScores,
    boundary_adherence,
    category_adherence,
    correlation_distance,
    shape_scores,
)
from synthspec.metrics.checks import HIGHER_IS_BETTER, Outcome
from synthspec.metrics.fidelity import quality_scores
from synthspec.metrics.utility import ml_efficacy
from synthspec.spec.models import CheckSpec
from synthspec.spec.project import load_project
from tests.unit.test_metrics import KINDS, make_frame


def frame(**columns: list) -> pd.DataFrame:
    """Contract frame: lists of numbers become float64, anything else object."""
    out = {}
    for name, values in columns.items():
        if all(v is None or isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            out[name] = pd.Series([np.nan if v is None else v for v in values], dtype="float64")
        else:
            out[name] = pd.Series(values, dtype=object)
    return pd.DataFrame(out)


# --- ColumnScores, ks/tv ----------------------------------------------------------------------


def test_column_scores_minimum_and_worst_skip_undefined() -> None:
    scores = ColumnScores({"a": 0.9, "b": None, "c": 0.7, "d": 0.7})
    assert scores.value == 0.7 and scores.worst == "c"
    assert ColumnScores({"a": None}).value is None and ColumnScores().worst is None


def test_shape_scores_regroup_the_quality_report_by_kind() -> None:
    real, synthetic = make_frame(300, 1), make_frame(300, 2)
    quality = quality_scores(real, synthetic, KINDS)
    ks, tv = shape_scores(quality.column_shape_scores, KINDS)
    assert list(ks.columns) == ["x", "y"] and list(tv.columns) == ["c", "b"]
    assert ks.columns["x"] == quality.column_shape_scores["x"]
    assert tv.value == min(quality.column_shape_scores["c"], quality.column_shape_scores["b"])


# --- boundary_adherence -------------------------------------------------------------------------


def test_boundary_adherence_share_inside_the_real_range() -> None:
    real = frame(x=[0.0, 5.0, 10.0], y=[1.0, 2.0, 3.0], c=["a", "b", "c"])
    synthetic = frame(x=[-1.0, 0.0, 10.0, 11.0], y=[1.0, 2.0, 3.0, 2.5], c=["a", "a", "a", "a"])
    result = boundary_adherence(real, synthetic, {"x": "numerical", "y": "numerical", "c": "categorical"})
    assert result.columns == {"x": 0.5, "y": 1.0}
    assert result.value == 0.5 and result.worst == "x"


def test_boundary_adherence_nulls_follow_sdmetrics() -> None:
    kinds = {"x": "numerical"}
    synthetic = frame(x=[1.0, None, 2.0, 9.0])
    # Real without nulls: a synthetic null is outside the range.
    assert boundary_adherence(frame(x=[0.0, 5.0]), synthetic, kinds).value == 0.5
    # Real with nulls: synthetic nulls are left out of the share.
    assert boundary_adherence(frame(x=[0.0, None, 5.0]), synthetic, kinds).value == pytest.approx(2 / 3)
    # Nothing to score.
    assert boundary_adherence(frame(x=[0.0, None]), frame(x=[None, None]), kinds).value is None


# --- category_adherence -------------------------------------------------------------------------


def test_category_adherence_share_of_seen_values() -> None:
    kinds = {"c": "categorical", "b": "categorical"}
    real = frame(c=["a", "b", "a", "b"], b=[True, False, True, True])
    synthetic = frame(c=["a", "z", "b", None], b=[True, True, False, True])
    result = category_adherence(real, synthetic, kinds)
    # The unseen value and the null (real has none) are both outside.
    assert result.columns == {"c": 0.5, "b": 1.0} and result.worst == "c"


def test_category_adherence_null_is_valid_when_real_has_nulls() -> None:
    kinds = {"c": "categorical"}
    assert category_adherence(frame(c=["a", None]), frame(c=["a", None, "q", None]), kinds).value == 0.75
    assert category_adherence(frame(c=["a"]), frame(c=pd.Series([], dtype=object).tolist()), kinds).value is None


# --- correlation_distance ------------------------------------------------------------------------


def test_correlation_distance_is_zero_for_the_same_data_and_two_for_a_flipped_sign() -> None:
    real = frame(x=[1.0, 2.0, 3.0, 4.0], y=[2.0, 4.0, 6.0, 8.0])
    kinds = {"x": "numerical", "y": "numerical"}
    assert correlation_distance(real, real.copy(), kinds).value == pytest.approx(0.0)
    flipped = real.assign(y=-real["y"])
    assert correlation_distance(real, flipped, kinds).value == pytest.approx(2.0)


def test_correlation_distance_mean_over_defined_pairs() -> None:
    real, synthetic = make_frame(500, 1), make_frame(500, 2)
    synthetic["z"] = 1.0  # constant: its pairs are undefined and left out
    real["z"] = np.arange(500.0)
    kinds = {"x": "numerical", "y": "numerical", "z": "numerical"}
    result = correlation_distance(real, synthetic, kinds)
    assert list(result.pairs) == [("x", "y"), ("x", "z"), ("y", "z")]
    assert result.pairs[("x", "z")] is None and result.pairs[("y", "z")] is None
    assert result.value == pytest.approx(result.pairs[("x", "y")])
    assert correlation_distance(real, synthetic, {"x": "numerical", "c": "categorical"}).value is None


# --- ml_efficacy --------------------------------------------------------------------------------


def _table(n: int, seed: int) -> pd.DataFrame:
    """A target that the other columns predict well: label, multiclass and numerical."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    score = 3 * x + (colour == "red") * 2 + rng.normal(scale=0.3, size=n)
    return pd.DataFrame({
        "x": x,
        "noise": rng.normal(size=n),
        "colour": pd.Series(colour, dtype=object),
        "label": pd.Series([bool(v) for v in score > 0.5], dtype=object),
        "grade": pd.Series(np.where(score < -1, "low", np.where(score < 2, "mid", "high")), dtype=object),
        "score": score,
    })


ML_KINDS = {"x": "numerical", "noise": "numerical", "colour": "categorical", "label": "categorical",
            "grade": "categorical", "score": "numerical"}


@pytest.mark.parametrize(("target", "task", "score"), [("label", "binary", "roc_auc"),
                                                        ("grade", "multiclass", "macro_f1"),
                                                        ("score", "regression", "r2")])
def test_ml_efficacy_real_rows_as_synthetic_score_one(target: str, task: str, score: str) -> None:
    train, holdout = _table(600, 1), _table(300, 2)
    result = ml_efficacy(train, holdout, train.copy(), ML_KINDS, target, seed=0)
    assert (result.task, result.score) == (task, score)
    assert result.value == 1.0 and result.tstr == result.trtr and result.trtr > 0.7
    assert (result.n_train, result.n_test) == (600, 300)


def test_ml_efficacy_drops_when_the_target_relation_is_broken() -> None:
    train, holdout = _table(600, 1), _table(300, 2)
    synthetic = _table(600, 3)
    shuffled = synthetic.assign(label=synthetic["label"].sample(frac=1, random_state=0).to_numpy())
    good = ml_efficacy(train, holdout, synthetic, ML_KINDS, "label", seed=0)
    bad = ml_efficacy(train, holdout, shuffled, ML_KINDS, "label", seed=0)
    assert good.value is not None and good.value > 0.95
    assert bad.value is not None and bad.value < 0.7
    again = ml_efficacy(train, holdout, shuffled, ML_KINDS, "label", seed=0)
    assert again == bad  # seeded


def test_ml_efficacy_single_synthetic_class_predicts_that_class() -> None:
    train, holdout = _table(400, 1), _table(200, 2)
    synthetic = train.assign(label=pd.Series([True] * 400, dtype=object))
    result = ml_efficacy(train, holdout, synthetic, ML_KINDS, "label", seed=0)
    assert result.tstr == 0.5 and result.value is not None and result.value < 0.6


def test_ml_efficacy_all_missing_and_high_cardinality_features() -> None:
    train, holdout, synthetic = _table(400, 1), _table(200, 2), _table(400, 3)
    for frame in (train, holdout, synthetic):
        frame["ids"] = pd.Series([f"v{i}" for i in range(len(frame))], dtype=object)  # > 254 values
        frame["blank"] = np.nan
    kinds = {**ML_KINDS, "ids": "categorical", "blank": "numerical"}
    assert ml_efficacy(train, holdout, synthetic, kinds, "label", seed=0).value > 0.9
    synthetic[["x", "score"]] = np.nan  # the synthesizer lost the predictive columns
    synthetic["grade"] = "mid"
    lost = ml_efficacy(train, holdout, synthetic, kinds, "label", seed=0)
    assert lost.value is not None and lost.value < 0.9


def test_ml_efficacy_undefined_cases_say_why() -> None:
    train, holdout = _table(400, 1), _table(200, 2)
    one_class = train.assign(label=pd.Series([True] * 400, dtype=object))
    assert "fewer than two classes" in ml_efficacy(one_class, holdout, train, ML_KINDS, "label", seed=0).reason
    no_target = train.assign(label=pd.Series([None] * 400, dtype=object))
    assert "no synthetic row" in ml_efficacy(train, holdout, no_target, ML_KINDS, "label", seed=0).reason
    unpredictable = train.assign(score=np.random.default_rng(5).normal(size=400))
    result = ml_efficacy(unpredictable, holdout, train, ML_KINDS, "score", seed=0)
    assert result.value is None and "do not predict the target" in result.reason
    many = train.assign(colour=pd.Series([f"v{i % 60}" for i in range(400)], dtype=object))
    assert "more than 50 classes" in ml_efficacy(many, holdout, many, ML_KINDS, "colour", seed=0).reason


def test_ml_efficacy_details_hold_no_cell_values() -> None:
    train, holdout = _table(400, 1), _table(200, 2)
    details = ml_efficacy(train, holdout, train, ML_KINDS, "grade", seed=0).details()
    assert set(details) == {"task", "score", "tstr", "trtr", "n_train", "n_test"}
    assert not {"low", "mid", "high"} & {str(v) for v in details.values()}


# --- run_checks wiring --------------------------------------------------------------------------


def test_run_checks_computes_the_new_metrics_only_when_named() -> None:
    train, holdout, synthetic = make_frame(300, 1), make_frame(100, 2), make_frame(300, 3)
    metrics, _ = run_checks(train, holdout, synthetic, KINDS, {}, seed=0)
    assert not [k for k in metrics if k.split(":")[0] in {"ks_complement", "tv_complement", "boundary_adherence",
                                                          "category_adherence", "correlation_distance", "ml_efficacy"}]
    checks = {name: CheckSpec(min=0.0) for name in ("ks_complement", "tv_complement", "boundary_adherence",
                                                    "category_adherence")}
    checks["correlation_distance"] = CheckSpec(max=0.0)
    metrics, results = run_checks(train, holdout, synthetic, KINDS, checks, seed=0)
    assert metrics["ks_complement"] == min(metrics["ks_complement:x"], metrics["ks_complement:y"])
    assert metrics["tv_complement"] == min(metrics["tv_complement:c"], metrics["tv_complement:b"])
    assert {"boundary_adherence:x", "boundary_adherence:y", "category_adherence:c", "category_adherence:b"} <= set(metrics)
    by_name = {r.metric: r for r in results}
    assert by_name["ks_complement"].outcome is Outcome.PASSED
    assert by_name["ks_complement"].details["worst_column"] in ("x", "y")
    distance = by_name["correlation_distance"]
    assert distance.outcome is Outcome.FAILED and distance.message.startswith("correlation_distance ")
    assert distance.details == {"pairs": 1}
    assert not HIGHER_IS_BETTER["correlation_distance"] and HIGHER_IS_BETTER["ml_efficacy"]


def test_run_checks_not_evaluated_reasons() -> None:
    train, holdout, synthetic = make_frame(200, 1), make_frame(50, 2), make_frame(200, 3)
    kinds = {"c": "categorical", "b": "categorical"}
    checks = {"ks_complement": CheckSpec(min=0.5), "correlation_distance": CheckSpec(max=0.1),
              "ml_efficacy": CheckSpec(min=0.5)}
    _, results = run_checks(train, holdout, synthetic, kinds, checks, seed=0)
    by_name = {r.metric: r for r in results}
    assert all(r.outcome is Outcome.NOT_EVALUATED for r in results)
    assert "needs a numerical column" in by_name["ks_complement"].message
    assert "two numerical columns" in by_name["correlation_distance"].message
    assert "needs `target`" in by_name["ml_efficacy"].message


def test_run_checks_ml_efficacy_result_and_error(monkeypatch: pytest.MonkeyPatch) -> None:
    train, holdout = _table(300, 1), _table(100, 2)
    checks = {"ml_efficacy": CheckSpec(min=0.9, target="label")}
    metrics, (result,) = run_checks(train, holdout, train.copy(), ML_KINDS, checks, seed=0)
    assert metrics["ml_efficacy"] == 1.0 and result.outcome is Outcome.PASSED
    assert result.details["target"] == "label" and result.details["score"] == "roc_auc"

    def boom(*args: object, **kwargs: object) -> None:
        raise ValueError("y contains previously unseen labels: 'secret-cell-value'")

    monkeypatch.setattr("synthspec.metrics.utility.ml_efficacy", boom)
    _, (result,) = run_checks(train, holdout, train.copy(), ML_KINDS, checks, seed=0)
    assert result.outcome is Outcome.ERROR and result.blocks
    assert result.message == "ml_efficacy could not be computed (ValueError)"


# --- spec rules ---------------------------------------------------------------------------------

PROJECT = """
name: t
source: {duckdb: wh.duckdb}
target: {duckdb: wh.duckdb, schema: synthetic}
"""

SPEC = """
version: 1
table: people
source:
  table: raw.people
columns:
  id: {type: id, primary_key: true}
  age: {type: numerical}
  city: {type: categorical}
  email: {type: text, pii: drop}
checks:
"""


def lint(write, root: Path, checks: str) -> list[str]:
    write("synthspec.yml", PROJECT)
    write("specs/people.yml", SPEC + checks)
    try:
        load_project(root, {})
    except SpecError as exc:
        return exc.lines()
    return []


def test_new_checks_are_supported(write, tmp_path) -> None:
    checks = ("  ks_complement: {min: 0.8}\n  tv_complement: {min: 0.8}\n  correlation_distance: {max: 0.1}\n"
              "  boundary_adherence: {min: 0.99}\n  category_adherence: {min: 0.99}\n"
              "  ml_efficacy: {min: 0.8, target: city}\n")
    # correlation_distance needs two numerical columns: with only `age`, validate refuses it.
    (line,) = lint(write, tmp_path, checks)
    assert "checks.correlation_distance needs two modelled numerical or datetime columns; this table has 1" in line
    write("specs/people.yml", SPEC.replace("  city:", "  income: {type: numerical}\n  city:") + checks)
    load_project(tmp_path, {})


def test_target_only_on_ml_efficacy(write, tmp_path) -> None:
    (line,) = lint(write, tmp_path, "  ks_complement: {min: 0.8, target: age}\n")
    assert line.startswith("specs/people.yml:11:") and "checks.ks_complement: 'target' is only valid for ml_efficacy" in line


@pytest.mark.parametrize(("check", "message"), [
    ("{min: 0.8}", "checks.ml_efficacy needs 'target'"),
    ("{min: 0.8, target: cty}", "checks.ml_efficacy.target 'cty' is not a declared column; did you mean 'city'?"),
    ("{min: 0.8, target: email}", "checks.ml_efficacy.target 'email' is not a modelled column: it is dropped"),
    ("{min: 0.8, target: id}", "checks.ml_efficacy.target 'id' is not a modelled column: it is the primary key"),
])
def test_ml_efficacy_target_must_be_a_modelled_column(write, tmp_path, check: str, message: str) -> None:
    (line,) = lint(write, tmp_path, f"  ml_efficacy: {check}\n")
    assert line.startswith("specs/people.yml:11:") and message in line


def test_bad_target_exits_2(write, tmp_path) -> None:
    lint(write, tmp_path, "  ml_efficacy:\n    min: 0.8\n    target: nope\n")
    result = CliRunner().invoke(cli, ["validate", "--project-dir", str(tmp_path)], catch_exceptions=False)
    assert result.exit_code == 2
    assert result.output.startswith("specs/people.yml:13:") and "'nope' is not a declared column" in result.output
