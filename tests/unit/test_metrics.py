"""Unit tests for synthspec.metrics: small frames, no model training, no timing assertions."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from synthspec.metrics.checks import (
    HIGHER_IS_BETTER,
    METRIC_NAMES,
    CheckResult,
    Outcome,
    error_result,
    evaluate,
    gate_message,
)
from synthspec.metrics.privacy import dcr_share, exact_match_rate
from synthspec.metrics.registry import METRICS
from synthspec.spec.models import Checks
from tests.helpers import KINDS, make_frame

# --- dcr_share -------------------------------------------------------------------------------


def test_dcr_copy_of_training_is_one() -> None:
    train, holdout = make_frame(400, 1), make_frame(400, 2)
    result = dcr_share(train, holdout, train.copy(), KINDS, seed=0)
    assert result.share == pytest.approx(1.0, abs=0.01)
    assert result.median_dcr_train == 0.0
    assert result.median_dcr_holdout > 0.0
    assert (result.n_synthetic, result.n_reference) == (400, 400)


def test_dcr_fresh_draws_are_near_half() -> None:
    train, holdout, synthetic = make_frame(2000, 1), make_frame(2000, 2), make_frame(2000, 3)
    result = dcr_share(train, holdout, synthetic, KINDS, seed=0)
    assert result.share == pytest.approx(0.5, abs=0.05)


def test_dcr_ties_count_half() -> None:
    # Every synthetic row is identical to one training row and one holdout row.
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": pd.Series(["a", "b", None], dtype=object)})
    kinds = {"x": "numerical", "c": "categorical"}
    result = dcr_share(frame, frame.copy(), frame.copy(), kinds, seed=0)
    assert result.share == 0.5
    # One row closer to training, one tie, one closer to holdout: (1 + 0.5 + 0) / 3.
    train = pd.DataFrame({"x": [0.0, 10.0, 20.0], "c": pd.Series(["a"] * 3, dtype=object)})
    holdout = pd.DataFrame({"x": [1.0, 10.0, 19.0], "c": pd.Series(["a"] * 3, dtype=object)})
    synthetic = pd.DataFrame({"x": [0.0, 10.0, 19.0], "c": pd.Series(["a"] * 3, dtype=object)})
    result = dcr_share(train, holdout, synthetic, kinds, seed=0)
    assert result.share == pytest.approx(0.5)
    result = dcr_share(train, holdout, synthetic.iloc[:2], kinds, seed=0)
    assert result.share == pytest.approx(0.75)


def test_dcr_gower_distance_terms() -> None:
    kinds = {"x": "numerical", "c": "categorical"}
    train = pd.DataFrame({"x": [0.0, 10.0], "c": pd.Series(["a", "a"], dtype=object)})
    holdout = pd.DataFrame({"x": [np.nan, np.nan], "c": pd.Series([None, None], dtype=object)})
    # Range 10: |5 - 0| / 10 = 0.5 numerically, categorical match -> mean 0.25 to training;
    # holdout is null everywhere -> 1 per column -> 1.0.
    synthetic = pd.DataFrame({"x": [5.0], "c": pd.Series(["a"], dtype=object)})
    result = dcr_share(train, holdout, synthetic, kinds, seed=0)
    assert result.median_dcr_train == pytest.approx(0.25)
    assert result.median_dcr_holdout == pytest.approx(1.0)
    assert result.share == 1.0
    # Null vs null is 0, far out-of-range values clip at 1 per column.
    synthetic = pd.DataFrame({"x": [np.nan, 1e9], "c": pd.Series([None, "b"], dtype=object)})
    result = dcr_share(train, holdout, synthetic, kinds, seed=0)
    assert result.median_dcr_holdout == pytest.approx(0.5)  # 0 (null row) and 1 (value row)
    assert result.median_dcr_train == pytest.approx(1.0)


def test_dcr_zero_range_and_bool_columns() -> None:
    kinds = {"k": "numerical", "flag": "categorical"}
    train = pd.DataFrame({"k": [3.0, 3.0], "flag": pd.Series([True, False], dtype=object)})
    holdout = pd.DataFrame({"k": [4.0, 4.0], "flag": pd.Series([True, False], dtype=object)})
    synthetic = pd.DataFrame({"k": [3.0], "flag": pd.Series(["True"], dtype=object)})
    result = dcr_share(train, holdout, synthetic, kinds, seed=0)
    assert result.median_dcr_train == 0.0
    assert result.median_dcr_holdout == pytest.approx(0.5)


def test_dcr_is_deterministic_and_samples() -> None:
    train, holdout, synthetic = make_frame(900, 1), make_frame(700, 2), make_frame(800, 3)
    first = dcr_share(train, holdout, synthetic, KINDS, seed=7, max_rows=300)
    again = dcr_share(train, holdout, synthetic, KINDS, seed=7, max_rows=300)
    assert first == again
    assert (first.n_synthetic, first.n_reference) == (300, 300)
    assert dcr_share(train, holdout, synthetic, KINDS, seed=7).n_reference == 700


def test_dcr_wide_categorical_uses_codes() -> None:
    # More categories than the one-hot limit: same answer through the element-wise path.
    n = 300
    ids = pd.Series([f"v{i}" for i in range(n)], dtype=object)
    train = pd.DataFrame({"c": ids})
    holdout = pd.DataFrame({"c": pd.Series([f"w{i}" for i in range(n)], dtype=object)})
    result = dcr_share(train, holdout, train.copy(), {"c": "categorical"}, seed=0)
    assert result.share == 1.0
    assert result.median_dcr_holdout == 1.0


def test_dcr_rejects_missing_columns_without_values() -> None:
    train = make_frame(10, 1)
    with pytest.raises(ValueError, match="synthetic frame lacks columns: c") as info:
        dcr_share(train, train, train.drop(columns="c"), KINDS, seed=0)
    assert "red" not in str(info.value)


# --- exact_match_rate ------------------------------------------------------------------------


def test_exact_match_rates() -> None:
    train = make_frame(50, 1)
    holdout = pd.concat([train.iloc[:5], make_frame(15, 2)], ignore_index=True)
    synthetic = pd.concat([train.iloc[10:20], make_frame(30, 3)], ignore_index=True)
    result = exact_match_rate(train, holdout, synthetic)
    assert result.rate == pytest.approx(10 / 40)
    assert result.holdout_rate == pytest.approx(5 / 20)
    assert (result.n_synthetic, result.n_holdout) == (40, 20)


def test_exact_match_nulls_equal_and_types_normalised() -> None:
    kinds = {"x": "numerical", "c": "categorical"}
    train = pd.DataFrame(
        {"x": [np.nan, -0.0, 1.0], "c": pd.Series([None, True, "a"], dtype=object)}
    )
    synthetic = pd.DataFrame(
        {
            "x": pd.Series([np.nan, 0.0, 1.0, 1.0]),
            "c": pd.Series([np.nan, "True", "a", "b"], dtype=object),
        }
    )
    result = exact_match_rate(train, train.iloc[:0], synthetic, kinds)
    assert result.rate == pytest.approx(3 / 4)
    assert math.isnan(result.holdout_rate)


def test_exact_match_no_matches() -> None:
    result = exact_match_rate(make_frame(30, 1), make_frame(30, 2), make_frame(30, 3), KINDS)
    assert result.rate == 0.0
    assert result.holdout_rate == 0.0


# --- evaluate --------------------------------------------------------------------------------


def test_evaluate_outcomes() -> None:
    assert evaluate("quality_score", 0.95, min=0.9).outcome is Outcome.PASSED
    failed = evaluate("quality_score", 0.812, min=0.9)
    assert failed.outcome is Outcome.FAILED
    assert failed.message == "quality_score 0.812 < min 0.900"
    warned = evaluate("dcr_share", 0.61, max=0.55, severity="warn")
    assert warned.outcome is Outcome.WARN
    assert warned.message == "dcr_share 0.610 > max 0.550"
    assert not warned.blocks and failed.blocks


def test_evaluate_bounds_inclusive_and_precise_messages() -> None:
    assert evaluate("pii_leakage", 0, max=0).outcome is Outcome.PASSED
    assert evaluate("x", 0.5, min=0.5, max=0.5).outcome is Outcome.PASSED
    assert evaluate("pii_leakage", 3, max=0).message == "pii_leakage 3 > max 0"
    close = evaluate("exact_match_rate", 0.0104, max=0.01)
    assert close.message == "exact_match_rate 0.0104 > max 0.0100"


def test_evaluate_not_evaluated_blocks_unless_allowed() -> None:
    # An error-severity check that could not be evaluated stops publishing (issue 8: a 1-row
    # table was published as the real row because dcr_share "n/a" did not block).
    for value in (None, float("nan")):
        result = evaluate("column_pair_trends", value, min=0.8)
        assert result.outcome is Outcome.NOT_EVALUATED
        assert result.value is None
        assert result.message
        assert result.blocks
    assert not evaluate("dcr_share", None, max=0.55, not_evaluated="allow").blocks
    assert not evaluate("dcr_share", None, max=0.55, severity="warn").blocks
    assert not evaluate("dcr_share", 0.5, max=0.55).blocks
    reason = evaluate("dcr_share", None, max=0.55, reason="no holdout rows")
    assert reason.message == "no holdout rows"


def test_evaluate_refuses_non_finite_bounds() -> None:
    # A NaN bound compares false with everything: "0.5320 max nan passed".
    for bound in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ValueError, match="finite"):
            evaluate("dcr_share", 0.532, max=bound)


def test_gate_message_names_failed_errored_and_unevaluated_checks() -> None:
    results = [evaluate("quality_score", 0.5, min=0.9),
               evaluate("dcr_share", None, max=0.6, reason="the table has 1 row, too few for a holdout"),
               evaluate("nndr", None, max=0.1, reason="the table has 1 row, too few for a holdout"),
               evaluate("k_anonymity", None, min=5, not_evaluated="allow"),
               error_result("ml_efficacy", min=0.9, message="ml_efficacy could not be computed (ValueError)")]
    message = gate_message("people", results)
    assert message.startswith("checks failed: quality_score; checks could not be computed (an error): ml_efficacy; "
                              "dcr_share, nndr not evaluated: the table has 1 row, too few for a holdout; "
                              "nothing published, the previous version is unchanged.")
    assert "make 'people' assessable (e.g. add rows)" in message and "`not_evaluated: allow`" in message
    assert "k_anonymity" not in message


def test_evaluate_validates_arguments() -> None:
    with pytest.raises(ValueError):
        evaluate("quality_score", 0.9, min=0.9, severity="fatal")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        evaluate("quality_score", 0.9, min=0.9, max=0.1)


def test_check_result_to_dict_is_json_ready() -> None:
    result = evaluate("dcr_share", 0.5, max=0.55, details={"holdout_baseline": 0.5})
    data = result.to_dict()
    assert list(data) == [
        "metric",
        "outcome",
        "value",
        "min",
        "max",
        "severity",
        "message",
        "details",
        "not_evaluated",
        "interval",
        "min_relative",
    ]
    assert data["outcome"] == "passed"
    assert data["details"] == {"holdout_baseline": 0.5}
    assert json.loads(json.dumps(data)) == data
    err = error_result("ml_efficacy", min=0.9, message="target column is empty")
    assert isinstance(err, CheckResult) and err.outcome is Outcome.ERROR and err.blocks


def test_metric_names_have_directions() -> None:
    assert set(METRIC_NAMES) == set(HIGHER_IS_BETTER) == set(METRICS)
    assert HIGHER_IS_BETTER["quality_score"] and not HIGHER_IS_BETTER["dcr_share"]
    assert set(Checks.model_fields) == set(METRICS)  # the spec's keys are the registry's metrics
    assert Checks.model_fields["dcr_share"].description == METRICS["dcr_share"].description


