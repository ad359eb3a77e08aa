"""Unit tests for synthspec.metrics.fidelity: tiny frames with hand-computed SDMetrics scores.

No SDMetrics import here (parity with SDMetrics itself is tests/integration/test_fidelity_parity.py);
each expected value is derived in the test from SDMetrics 0.32.0's definitions, including its
quirks (per-frame bin edges, NaN sharing the top bin, 1e-6 regularisation, 14-decimal rounding).
"""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthspec.metrics.fidelity import FidelityScores, quality_scores


def cat(*values: object) -> pd.Series:
    """A categorical column under the frame contract (object dtype, None for nulls)."""
    return pd.Series(list(values), dtype=object)


def num(*values: float) -> pd.Series:
    """A numerical column under the frame contract (float64, NaN for nulls)."""
    return pd.Series(values, dtype="float64")


def mixed_frame(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, dict[str, str]]:
    """Frame with strong real trends, so that pairs pass SDMetrics' real-trend thresholds."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = 2.0 * x + rng.normal(scale=0.3, size=n)
    colour = np.where(x > 0, "red", "blue").astype(object)
    flag = np.array([bool(v) for v in y > 0], dtype=object)
    frame = pd.DataFrame({"x": x, "y": y, "colour": colour, "flag": flag})
    frame.loc[rng.random(n) < 0.1, "y"] = np.nan
    frame.loc[rng.random(n) < 0.1, "colour"] = None
    kinds = {"x": "numerical", "y": "numerical", "colour": "categorical", "flag": "categorical"}
    return frame, kinds


def test_identical_frames_score_one() -> None:
    frame, kinds = mixed_frame()
    scores = quality_scores(frame, frame.copy(), kinds)
    assert isinstance(scores, FidelityScores)
    assert scores.quality_score == pytest.approx(1.0, abs=1e-15)
    assert scores.column_shapes == pytest.approx(1.0, abs=1e-15)
    assert scores.column_pair_trends == pytest.approx(1.0, abs=1e-15)
    assert all(v == pytest.approx(1.0, abs=1e-15) for v in scores.column_shape_scores.values())
    assert any(v is not None for v in scores.pair_scores.values())


def test_result_order_and_keys_follow_kinds() -> None:
    frame, kinds = mixed_frame()
    reordered = frame[["flag", "colour", "y", "x"]]
    scores = quality_scores(reordered, frame, kinds)
    assert list(scores.column_shape_scores) == list(kinds)
    assert list(scores.pair_scores) == [
        ("x", "y"),
        ("x", "colour"),
        ("x", "flag"),
        ("y", "colour"),
        ("y", "flag"),
        ("colour", "flag"),
    ]


def test_ks_with_ties() -> None:
    # ECDFs evaluated with side="right" at each pooled value: at 1 real is 2/3, synthetic 1/3;
    # at 2 both are 1. D = 1/3. A rank walk that breaks ties arbitrarily would find 2/3.
    real = pd.DataFrame({"v": num(1, 1, 2)})
    synth = pd.DataFrame({"v": num(1, 2, 2)})
    scores = quality_scores(real, synth, {"v": "numerical"})
    assert scores.column_shape_scores["v"] == pytest.approx(2 / 3, abs=1e-15)

    # All values tied across frames: identical ECDFs.
    tied = pd.DataFrame({"v": num(5, 5, 5, 5)})
    assert quality_scores(tied, tied.iloc[:2], {"v": "numerical"}).column_shapes == 1.0


def test_ks_ignores_nulls_and_rounds_to_14_decimals() -> None:
    # KSComplement rounds to 14 decimals first, so 0.1 + 0.2 and 0.3 are the same value.
    real = pd.DataFrame({"v": num(0.1 + 0.2, np.nan, 1.0)})
    synth = pd.DataFrame({"v": num(0.3, 1.0, np.nan, np.nan)})
    assert quality_scores(real, synth, {"v": "numerical"}).column_shapes == 1.0


def test_tv_complement_with_nulls() -> None:
    # Nulls dropped: real a 2/3, b 1/3; synthetic a 1/3, b 2/3 -> TVD 1/3.
    real = pd.DataFrame({"c": cat("a", "a", "b", None)})
    synth = pd.DataFrame({"c": cat("a", "b", "b", None, None)})
    scores = quality_scores(real, synth, {"c": "categorical"})
    assert scores.column_shape_scores["c"] == pytest.approx(2 / 3, abs=1e-15)


def test_tv_complement_regularises_synthetic_only_values() -> None:
    # SDMetrics adds 1e-6 to the real count of "c" (seen only in synthetic), which also
    # enlarges the real total used for every real frequency.
    real = pd.DataFrame({"c": cat("a", "a")})
    synth = pd.DataFrame({"c": cat("a", "c")})
    total = 2 + 1e-6
    expected = 1 - 0.5 * (abs(0.5 - 2 / total) + abs(0.5 - 1e-6 / total))
    score = quality_scores(real, synth, {"c": "categorical"}).column_shape_scores["c"]
    assert score == pytest.approx(expected, abs=1e-15)
    assert score != pytest.approx(0.5, abs=1e-9)


def test_bool_categoricals() -> None:
    # real (nulls dropped) True 2/3, False 1/3; synthetic 1/2, 1/2 -> TVD 1/6.
    real = pd.DataFrame({"b": cat(True, False, True, None)})
    synth = pd.DataFrame({"b": cat(True, True, False, False)})
    score = quality_scores(real, synth, {"b": "categorical"}).column_shape_scores["b"]
    assert score == pytest.approx(5 / 6, abs=1e-15)


def test_correlation_similarity() -> None:
    real = pd.DataFrame({"x": num(1, 2, 3, 4, 5), "y": num(1, 2, 3, 5, 4)})
    synth = pd.DataFrame({"x": num(1, 2, 3, 4, 5), "y": num(5, 4, 3, 2, 1)})
    kinds = {"x": "numerical", "y": "numerical"}
    r_real = float(np.corrcoef(real["x"], real["y"])[0, 1])  # 0.9
    scores = quality_scores(real, synth, kinds)
    expected = 1 - abs(r_real - (-1.0)) / 2
    assert scores.pair_scores[("x", "y")] == pytest.approx(expected, abs=1e-12)
    assert scores.column_pair_trends == pytest.approx(expected, abs=1e-12)


def test_correlation_drops_rows_with_a_null_in_either_column() -> None:
    real = pd.DataFrame({"x": num(1, 2, 3, 4, np.nan), "y": num(2, 4, 6, 8, 100)})
    synth = pd.DataFrame({"x": num(1, 2, np.nan, 3), "y": num(3, 2, 50, 1)})
    scores = quality_scores(real, synth, {"x": "numerical", "y": "numerical"})
    assert scores.pair_scores[("x", "y")] == pytest.approx(0.0, abs=1e-12)  # +1 vs -1


def test_weak_real_correlation_is_left_out() -> None:
    # |r_real| <= 0.5: SDMetrics' single-table report scores the pair NaN and skips it.
    real = pd.DataFrame({"x": num(1, 2, 3, 4), "y": num(1, -1, -1, 1)})  # r = 0
    synth = pd.DataFrame({"x": num(1, 2, 3, 4), "y": num(1, 2, 3, 4)})
    kinds = {"x": "numerical", "y": "numerical"}
    scores = quality_scores(real, synth, kinds)
    assert scores.pair_scores == {("x", "y"): None}
    assert scores.column_pair_trends is None
    assert scores.quality_score == scores.column_shapes

    # With the threshold lowered the pair is scored, except r_real == 0 exactly (SDMetrics
    # tests |r| <= threshold, so 0 is still excluded at threshold 0).
    lowered = quality_scores(real, synth, kinds, real_correlation_threshold=0.0)
    assert lowered.pair_scores == {("x", "y"): None}
    real2 = real.assign(y=num(1, -1, 0, 1))
    lowered = quality_scores(real2, synth, kinds, real_correlation_threshold=0.0)
    r_real = float(np.corrcoef(real2["x"], real2["y"])[0, 1])
    assert lowered.pair_scores[("x", "y")] == pytest.approx(1 - abs(r_real - 1) / 2, abs=1e-12)


def test_constant_numerical_column_has_no_correlation() -> None:
    real = pd.DataFrame({"x": num(1, 2, 3, 4), "k": num(7, 7, np.nan, 7)})
    synth = pd.DataFrame({"x": num(1, 2, 3, 4), "k": num(1, 2, 3, 4)})
    scores = quality_scores(real, synth, {"x": "numerical", "k": "numerical"})
    assert scores.pair_scores[("x", "k")] is None


def test_contingency_with_discretised_numerical_column() -> None:
    # Real x in [0, 10]: 0 -> bin 1, 10 -> bin 11 (the maximum is past the last edge).
    # Synthetic x in [0, 10]: 0 -> 1, 5 -> 6, 10 -> 11.
    # Real joint: (1, a) 1/2, (11, b) 1/2; synthetic: (1, a), (6, b), (6, a), (11, b) 1/4 each.
    real = pd.DataFrame({"x": num(0, 10, 0, 10), "c": cat("a", "b", "a", "b")})
    synth = pd.DataFrame({"x": num(0, 5, 5, 10), "c": cat("a", "b", "a", "b")})
    kinds = {"x": "numerical", "c": "categorical"}
    scores = quality_scores(real, synth, kinds)
    # Real Cramér's V is 1 (> 0.3), so the pair counts. TVD = (1/4 + 1/4 + 1/4 + 1/4) / 2.
    assert scores.pair_scores[("x", "c")] == pytest.approx(0.5, abs=1e-15)
    assert scores.column_pair_trends == pytest.approx(0.5, abs=1e-15)


def test_discretisation_uses_each_frames_own_bin_edges() -> None:
    # SDMetrics bins real and synthetic separately and matches bins by index, so a synthetic
    # column scaled by 100 has the same contingency table (while its KS score is poor).
    real = pd.DataFrame({"x": num(0, 10, 0, 10, 5), "c": cat("a", "b", "a", "b", "a")})
    synth = real.assign(x=real["x"] * 100)
    scores = quality_scores(real, synth, {"x": "numerical", "c": "categorical"})
    assert scores.pair_scores[("x", "c")] == 1.0
    # ECDFs at 10: real 1, synthetic 2/5 -> D = 3/5.
    assert scores.column_shape_scores["x"] == pytest.approx(0.4, abs=1e-15)


def test_null_shares_the_top_bin_and_categorical_null_is_a_category() -> None:
    # np.digitize puts NaN (sorts last) in the same bin as the maximum: real codes 1, 11, 11, 1
    # equal synthetic codes 1, 11, 11, 1, so the joint distributions match.
    real = pd.DataFrame({"x": num(0, 10, np.nan, 0), "c": cat("a", "b", "b", "a")})
    synth = pd.DataFrame({"x": num(0, 10, 10, 0), "c": cat("a", "b", "b", "a")})
    kinds = {"x": "numerical", "c": "categorical"}
    assert quality_scores(real, synth, kinds).pair_scores[("x", "c")] == 1.0

    # Categorical nulls are a category of their own in contingency tables (dropna=False) and
    # frequencies are over all rows: real (a,p) (b,q) (None,p) (None,None), synthetic has
    # (a,p) (b,q) (a,p) (None,None).
    real = pd.DataFrame({"c": cat("a", "b", None, None), "d": cat("p", "q", "p", None)})
    synth = pd.DataFrame({"c": cat("a", "b", "a", None), "d": cat("p", "q", "p", None)})
    kinds = {"c": "categorical", "d": "categorical"}
    scores = quality_scores(real, synth, kinds)
    assert scores.pair_scores[("c", "d")] == pytest.approx(0.75, abs=1e-15)


def test_weak_real_association_is_left_out() -> None:
    # Real c and d independent (Cramér's V = 0 <= 0.3): the pair does not count.
    real = pd.DataFrame({"c": cat("a", "a", "b", "b"), "d": cat("p", "q", "p", "q")})
    synth = pd.DataFrame({"c": cat("a", "a", "b", "b"), "d": cat("p", "p", "q", "q")})
    kinds = {"c": "categorical", "d": "categorical"}
    assert quality_scores(real, synth, kinds).pair_scores == {("c", "d"): None}
    # Threshold 0 (no association computed): TVD of the joints is 1/2.
    scored = quality_scores(real, synth, kinds, real_association_threshold=0.0)
    assert scored.pair_scores[("c", "d")] == pytest.approx(0.5, abs=1e-15)


def test_all_null_column_is_none_and_excluded_from_averages() -> None:
    real = pd.DataFrame(
        {
            "x": num(1, 2, 3, 4),
            "y": num(2, 4, 6, 9),
            "gone": num(np.nan, np.nan, np.nan, np.nan),
            "blank": cat(None, None, None, None),
        }
    )
    synth = real.copy()
    kinds = {"x": "numerical", "y": "numerical", "gone": "numerical", "blank": "categorical"}
    scores = quality_scores(real, synth, kinds)
    assert scores.column_shape_scores["gone"] is None
    assert scores.column_shape_scores["blank"] is None
    assert scores.column_shapes == 1.0
    assert all(v is None for pair, v in scores.pair_scores.items() if "gone" in pair)
    assert all(v is None for pair, v in scores.pair_scores.items() if "blank" in pair)
    assert scores.pair_scores[("x", "y")] == 1.0
    assert scores.column_pair_trends == 1.0
    assert scores.quality_score == 1.0


def test_overall_is_mean_of_the_two_properties() -> None:
    frame, kinds = mixed_frame(seed=1)
    other, _ = mixed_frame(seed=2)
    scores = quality_scores(frame, other.iloc[:300], kinds)
    assert scores.column_shapes is not None and scores.column_pair_trends is not None
    defined = [v for v in scores.pair_scores.values() if v is not None]
    assert scores.column_pair_trends == pytest.approx(float(np.mean(defined)), abs=1e-15)
    shapes = [v for v in scores.column_shape_scores.values() if v is not None]
    assert scores.column_shapes == pytest.approx(float(np.mean(shapes)), abs=1e-15)
    assert scores.quality_score == pytest.approx(
        (scores.column_shapes + scores.column_pair_trends) / 2, abs=1e-15
    )
    assert all(0.0 <= v <= 1.0 for v in shapes + defined)


def test_no_defined_score_gives_none_everywhere() -> None:
    real = pd.DataFrame({"x": num(np.nan, np.nan)})
    scores = quality_scores(real, real, {"x": "numerical"})
    assert scores == FidelityScores(None, None, None, {"x": None}, {})


def test_scores_are_plain_floats() -> None:
    frame, kinds = mixed_frame()
    scores = quality_scores(frame, frame, kinds)
    values = [scores.quality_score, scores.column_shapes, scores.column_pair_trends]
    values += list(scores.column_shape_scores.values()) + list(scores.pair_scores.values())
    assert all(v is None or type(v) is float for v in values)
    assert not any(v is not None and math.isnan(v) for v in values)


@pytest.mark.parametrize(
    ("kinds", "message"),
    [
        ({"x": "ordinal"}, "unknown column kind"),
        ({"missing": "numerical"}, "real frame lacks columns: missing"),
    ],
)
def test_invalid_input(kinds: dict[str, str], message: str) -> None:
    frame = pd.DataFrame({"x": num(1, 2)})
    with pytest.raises(ValueError, match=message):
        quality_scores(frame, frame, kinds)


def test_invalid_threshold() -> None:
    frame = pd.DataFrame({"x": num(1, 2)})
    with pytest.raises(ValueError, match="between 0 and 1"):
        quality_scores(frame, frame, {"x": "numerical"}, real_association_threshold=1.5)


def test_module_imports_only_numpy_and_pandas() -> None:
    """The point of the module: no sdmetrics/scipy/torch import cost."""
    import synthspec.metrics.fidelity as fidelity

    tree = ast.parse(Path(fidelity.__file__).read_text())
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    allowed = {"__future__", "collections", "dataclasses", "itertools", "math", "numpy", "pandas"}
    assert roots <= allowed


@pytest.mark.parametrize("threshold", [0.0, 0.3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_frames_batch_pairs_with_the_pair_by_pair_scores(threshold: float, seed: int) -> None:
    """Small frames score their contingency pairs together (``_contingency_batch``, what the
    bootstrap intervals run): every pair equals ``_contingency_similarity``'s score, through
    nulls, a constant column, a column absent from one frame's values and failed discretisation."""
    from itertools import combinations

    from synthspec.metrics import fidelity

    rng = np.random.default_rng(seed)
    n = 300

    def frame(shift: float) -> pd.DataFrame:
        x = rng.normal(size=n)
        out = pd.DataFrame({
            "x": x,
            "y": x * 2 + rng.normal(scale=0.5 + shift, size=n),
            "inf": np.where(rng.random(n) < 0.01, np.inf, x),
            "k": np.where(x > shift, "hi", "lo").astype(object),
            "many": rng.integers(0, 40, n).astype(str).astype(object),
            "same": np.full(n, "only", dtype=object),
            "rare": rng.choice(["a", "b", "c"] if shift else ["a", "b"], n).astype(object),
        })
        out.loc[rng.random(n) < 0.1, "k"] = None
        out.loc[rng.random(n) < 0.1, "x"] = np.nan
        return out

    kinds = {"x": "numerical", "y": "numerical", "inf": "numerical", "k": "categorical", "many": "categorical",
             "same": "categorical", "rare": "categorical"}
    real, synthetic = frame(0.0), frame(0.4)
    arrays = [fidelity.column_arrays(frame, kinds).arrays for frame in (real, synthetic)]
    prepared = {name: fidelity._prepare(arrays[0][name], arrays[1][name], kind) for name, kind in kinds.items()}
    pairs = [(prepared[a], prepared[b]) for a, b in combinations(prepared, 2)
             if "categorical" in (kinds[a], kinds[b]) and prepared[a].real_codes is not None and prepared[b].real_codes is not None]
    together = fidelity._contingency_batch(pairs, threshold)
    one_by_one = [fidelity._contingency_similarity(a, b, threshold) for a, b in pairs]
    assert [v is None for v in together] == [v is None for v in one_by_one]
    assert any(v is not None for v in one_by_one) and (threshold == 0 or any(v is None for v in one_by_one))
    for got, want in zip(together, one_by_one, strict=True):
        assert got is None or got == pytest.approx(want, abs=1e-12)
    # quality_scores takes the batched path at this size and gives the same report, on frames
    # or on their ColumnArrays (the bootstrap's form).
    assert len(real) + len(synthetic) <= fidelity._BATCH_MAX_ROWS
    scores = quality_scores(real, synthetic, kinds, real_association_threshold=threshold)
    assert scores == quality_scores(fidelity.column_arrays(real, kinds), fidelity.column_arrays(synthetic, kinds), kinds,
                                    real_association_threshold=threshold)
    for (a, b), value in scores.pair_scores.items():
        if "categorical" in (kinds[a], kinds[b]):
            expected = fidelity._contingency_similarity(prepared[a], prepared[b], threshold)
            assert (value is None) == (expected is None)
            assert value is None or value == pytest.approx(expected, abs=1e-12)
