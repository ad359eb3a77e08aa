"""Conditional draws by matching to a pool of joint rows (synthspec/models/matching.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthspec.models import matching


def _pool(n: int, seed: int = 0) -> pd.DataFrame:
    """Joint rows where ``y`` follows ``x`` closely and ``label`` decides ``z``."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 100, n)
    label = rng.choice(["a", "b", "c"], n).astype(object)
    return pd.DataFrame({
        "x": x, "label": label,
        "y": 2 * x + rng.normal(0, 1, n),
        "z": np.where(label == "a", 1000.0, np.where(label == "b", 2000.0, 3000.0)) + rng.normal(0, 1, n),
    })


def test_each_given_row_gets_a_distinct_pool_row_of_its_own_category() -> None:
    pool = _pool(4000)
    given = pd.DataFrame({"label": np.array(["a"] * 600 + ["c"] * 300, dtype=object)})
    picks = matching.match(given, pool[["label"]], {"label": "categorical"}, np.random.default_rng(1))
    assert len(set(picks.tolist())) == len(picks)  # without replacement
    assert (pool["label"].to_numpy()[picks] == given["label"].to_numpy()).all()


def test_own_columns_follow_the_given_numbers_and_categories() -> None:
    pool = _pool(8000)
    rng = np.random.default_rng(2)
    given = pd.DataFrame({"x": rng.uniform(0, 100, 2000), "label": rng.choice(["a", "b", "c"], 2000).astype(object)})
    out = matching.conditional(given, pool, {"x": "numerical", "label": "categorical"}, seed=3)
    assert list(out.columns) == list(pool.columns)
    pd.testing.assert_frame_equal(out[["x", "label"]], given)  # the given values, in their order
    assert np.corrcoef(out["x"], out["y"])[0, 1] > 0.98  # y drawn given x
    expected = given["label"].map({"a": 1000.0, "b": 2000.0, "c": 3000.0})
    assert (out["z"] - expected).abs().max() < 10  # z drawn given the label
    # Unmatched, the pool's own x would say nothing of the given one.
    assert abs(np.corrcoef(given["x"], pool["y"].iloc[:2000])[0, 1]) < 0.1


def test_same_seed_same_rows_and_nulls_match_nulls() -> None:
    pool = _pool(2000)
    pool.loc[::10, "x"] = np.nan
    pool.loc[::7, "label"] = None
    given = pd.DataFrame({"x": [np.nan, 50.0, np.nan, 10.0], "label": np.array([None, "a", "b", None], dtype=object)})
    kinds = {"x": "numerical", "label": "categorical"}
    first = matching.conditional(given, pool, kinds, seed=5)
    pd.testing.assert_frame_equal(first, matching.conditional(given, pool, kinds, seed=5))
    picks = matching.match(given, pool[["x", "label"]], kinds, np.random.default_rng([5, 0x3A7C]))
    matched = pool.iloc[picks].reset_index(drop=True)
    assert matched["x"].isna().tolist() == [True, False, True, False]
    assert matched["label"].isna().tolist() == [True, False, False, True]


def test_blocks_bound_the_work_and_keep_rows_distinct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matching, "BLOCK", 100)
    pool = _pool(4 * 950)
    given = pd.DataFrame({"x": np.linspace(0, 100, 950)})
    picks = matching.match(given, pool[["x"]], {"x": "numerical"}, np.random.default_rng(0))
    assert len(set(picks.tolist())) == 950
    assert np.abs(pool["x"].to_numpy()[picks] - given["x"].to_numpy()).max() < 5


def test_a_pool_smaller_than_the_rows_asked_for_is_an_error() -> None:
    with pytest.raises(ValueError, match="cannot match"):
        matching.conditional(pd.DataFrame({"x": [1.0, 2.0]}), _pool(1)[["x", "y"]], {"x": "numerical"}, seed=0)


def test_parent_attributes_weigh_by_what_they_say_of_the_child() -> None:
    """A given column the model's own columns depend on weighs its association; one they
    ignore only breaks ties (MIN_WEIGHT)."""
    pool = _pool(3000)
    rng = np.random.default_rng(9)
    pool["noise"] = rng.normal(size=len(pool))
    pool["tag"] = rng.choice(["p", "q"], len(pool)).astype(object)
    kinds = {"x": "numerical", "label": "categorical", "noise": "numerical", "tag": "categorical"}
    weights = matching.relevance(pool, ["x", "label", "noise", "tag"], ["y", "z"], kinds)
    assert weights["x"] > 0.95 and weights["label"] > 0.95  # y follows x, z follows label
    assert weights["noise"] < 0.1 and weights["tag"] < 0.1
    assert min(weights.values()) >= matching.MIN_WEIGHT


def test_no_row_asked_for_gives_an_empty_frame_of_the_pool_columns() -> None:
    pool = _pool(10)
    out = matching.conditional(pool[["x", "label"]].iloc[:0], pool, {"x": "numerical", "label": "categorical"}, seed=0)
    assert out.empty and list(out.columns) == list(pool.columns)
    assert matching.relevance(pool.iloc[:0], ["label"], ["z"], {"label": "categorical"})["label"] == matching.MIN_WEIGHT
