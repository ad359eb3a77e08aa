"""Unit tests for synthspec.metrics.disclosure: small frames, no model training, no timings."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from synthspec.metrics.disclosure import (
    k_anonymity,
    max_auc_for_epsilon,
    membership_inference_auc,
    nndr,
    pii_leakage,
    reidentification_risk,
)
from tests.helpers import KINDS, make_frame

# --- pii_leakage ---------------------------------------------------------------------------------

REAL = {
    "name": pd.Series(["Ayşe Yılmaz", "İbrahim Çelik", "John Smith", "Al", None]),
    "phone": pd.Series([5321234567, 42, None], dtype=object),
}


def test_pii_leakage_finds_planted_values_after_normalisation() -> None:
    output = pd.DataFrame(
        {
            "name": pd.Series(["Fake Person", "  AYŞE   YILMAZ ", "Other Fake"], dtype=object),
            "note": pd.Series(["ibrahim çelik", "al", None], dtype=object),
            "phone": [5321234567.0, 42.0, np.nan],
        }
    )
    result = pii_leakage(REAL, output)
    assert result.count == 3
    assert result.by_column == {"name": 2, "phone": 1}
    assert result.found_in == {"name": 1, "note": 1, "phone": 1}
    assert result.checked == 4  # "Al" (short) and 42 (few digits) are skipped
    assert result.skipped == 2
    text = repr(result)
    assert "Yılmaz" not in text and "5321234567" not in text and "Çelik" not in text


def test_pii_leakage_is_zero_when_absent_and_ignores_substrings() -> None:
    output = pd.DataFrame(
        {
            "name": pd.Series(["Ayşe Yılmazoğlu", "Mr John Smith", None], dtype=object),
            "age": [42.0, 31.0, np.nan],
        }
    )
    result = pii_leakage(REAL, output)
    assert result.count == 0 and result.found_in == {}
    assert result.by_column == {"name": 0, "phone": 0}
    assert pii_leakage({}, output).count == 0


# --- nndr ----------------------------------------------------------------------------------------


def test_nndr_copy_of_training_is_flagged() -> None:
    train, holdout = make_frame(400, 1), make_frame(400, 2)
    result = nndr(train, holdout, train.copy(), KINDS, seed=0)
    assert result.share > 0.95
    assert result.median_synthetic == 0.0
    assert result.median_holdout > 0.2
    assert result.n_reference == 400


def test_nndr_fresh_draws_match_the_holdout_baseline() -> None:
    train, holdout, synthetic = make_frame(600, 1), make_frame(600, 2), make_frame(600, 3)
    result = nndr(train, holdout, synthetic, KINDS, seed=0)
    assert result.share < 0.12
    assert abs(result.median_synthetic - result.median_holdout) < 0.1
    assert 0.0 <= result.holdout_p5 <= result.median_holdout <= 1.0
    again = nndr(train, holdout, synthetic, KINDS, seed=0)
    assert again == result


def test_nndr_needs_two_training_rows() -> None:
    frame = make_frame(5, 1)
    with pytest.raises(ValueError):
        nndr(frame.iloc[:1], frame, frame, KINDS, seed=0)


# --- membership inference ------------------------------------------------------------------------


def test_mia_copy_of_training_is_near_one() -> None:
    train, holdout = make_frame(400, 1), make_frame(400, 2)
    assert membership_inference_auc(train, holdout, train.copy(), KINDS, seed=0) > 0.95


def test_mia_fresh_draws_are_near_half() -> None:
    train, holdout, synthetic = make_frame(800, 1), make_frame(800, 2), make_frame(800, 3)
    auc = membership_inference_auc(train, holdout, synthetic, KINDS, seed=0)
    assert abs(auc - 0.5) < 0.08


def test_mia_ties_count_half() -> None:
    frame = pd.DataFrame({"c": pd.Series(["a", "b"] * 20, dtype=object)})
    kinds = {"c": "categorical"}
    assert membership_inference_auc(frame, frame.copy(), frame.copy(), kinds, seed=0) == 0.5


def test_max_auc_for_epsilon() -> None:
    assert max_auc_for_epsilon(0.0) == 0.5
    values = [max_auc_for_epsilon(e) for e in (0.0, 0.1, 0.5, 1.0, 3.0, 10.0)]
    assert all(a < b for a, b in zip(values, values[1:], strict=False))
    assert max_auc_for_epsilon(1.0) == pytest.approx(math.e / (1 + math.e))
    assert max_auc_for_epsilon(math.inf) == 1.0
    # delta > 0: the closed form equals the area under the privacy-region ROC curve.
    eps, delta = 1.0, 0.05
    f = np.linspace(0.0, 1.0, 200001)
    curve = np.minimum.reduce(
        [math.exp(eps) * f + delta, 1 - math.exp(-eps) * (1 - delta - f), np.ones_like(f)]
    )
    area = float(np.sum((curve[1:] + curve[:-1]) / 2 * np.diff(f)))
    assert max_auc_for_epsilon(eps, delta) == pytest.approx(area, abs=1e-6)
    assert max_auc_for_epsilon(0.0, 1e-6) > 0.5
    with pytest.raises(ValueError):
        max_auc_for_epsilon(-1.0)


# --- quasi-identifiers ---------------------------------------------------------------------------


def qi_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [30, 30, 30, 40, 40, 50],
            "zip": pd.Series(["34000", "34000", "34000", "06000", "06000", None], dtype=object),
            "sex": pd.Series(["F", "F", "F", "M", "M", "F"], dtype=object),
        }
    )


def test_k_anonymity_small_example() -> None:
    frame = qi_frame()
    assert k_anonymity(frame, ["age", "zip", "sex"]) == 1  # the 50-year-old is alone
    assert k_anonymity(frame.iloc[:5], ["age", "zip", "sex"]) == 2
    assert k_anonymity(frame, ["sex"]) == 2
    nulls = pd.DataFrame({"z": pd.Series([None, None, "a", "a"], dtype=object)})
    assert k_anonymity(nulls, ["z"]) == 2  # nulls form a class of their own
    assert k_anonymity(frame.iloc[:0], ["age"]) == 0
    with pytest.raises(ValueError, match="lacks quasi-identifier columns: nope"):
        k_anonymity(frame, ["nope"])
    with pytest.raises(ValueError):
        k_anonymity(frame, [])


def test_reidentification_risk_example() -> None:
    real = qi_frame()
    synthetic = pd.DataFrame(
        {
            "age": [50.0, 30.0, 40.0, 50.0, 60.0],  # float vs the real int column
            "zip": pd.Series([None, "34000", "06000", "06000", "34000"], dtype=object),
            "sex": pd.Series(["F", "F", "M", "F", "F"], dtype=object),
        }
    )
    # Row 0 matches the unique real 50/None/F; the others match 3, 2, 0 and 0 real rows.
    assert reidentification_risk(real, synthetic, ["age", "zip", "sex"]) == pytest.approx(0.2)
    assert reidentification_risk(real, synthetic, ["sex"]) == 0.0
    assert math.isnan(reidentification_risk(real, synthetic.iloc[:0], ["sex"]))
