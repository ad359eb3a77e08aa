"""Functional dependencies of the real data (city -> country) survive sampling exactly."""

from __future__ import annotations

import pandas as pd

from synthspec.engine import dependencies

TOKEN = "_RARE_"


def _train() -> pd.DataFrame:
    cities = {"Paris": "France", "Lyon": "France", "Berlin": "Germany", "Hamburg": "Germany", "Oslo": "Norway"}
    rows = [(c, k, "a" if i % 2 else "b") for i, (c, k) in enumerate(list(cities.items()) * 6)]
    rows += [(TOKEN, "France", "a"), (TOKEN, "Spain", "b")]  # the token stands for many cities
    return pd.DataFrame(rows, columns=["city", "country", "other"])


def test_learns_city_to_country_not_the_reverse_nor_independent_columns():
    learnt = dependencies.learn(_train(), ["city", "country", "other"], token=TOKEN)
    assert [(d.determinant, d.dependent) for d in learnt] == [("city", "country")]
    assert learnt[0].mapping["Berlin"] == "Germany" and TOKEN not in learnt[0].mapping


def test_enforce_sets_the_dependent_and_leaves_token_rows_alone():
    learnt = dependencies.learn(_train(), ["city", "country", "other"], token=TOKEN)
    drawn = pd.DataFrame({"city": ["Paris", "Oslo", TOKEN, None], "country": ["Germany", "France", "Spain", "Norway"],
                          "other": ["a", "b", "a", "b"]})
    out = dependencies.enforce(drawn, learnt)
    assert out["country"].tolist() == ["France", "Norway", "Spain", "Norway"]
    assert drawn["country"].tolist()[0] == "Germany"  # the input is not modified


def test_one_to_one_pairs_and_chains_have_no_cycle():
    train = pd.DataFrame({"code": ["A1", "B2", "C3"] * 5, "label": ["alpha", "beta", "gamma"] * 5,
                          "group": ["x", "x", "y"] * 5})
    learnt = dependencies.learn(train, ["code", "label", "group"])
    pairs = {(d.determinant, d.dependent) for d in learnt}
    assert len(pairs) == 2 and (("code", "label") in pairs or ("label", "code") in pairs)
    assert not {(b, a) for a, b in pairs} & pairs
    drawn = pd.DataFrame({"code": ["A1", "C3"], "label": ["gamma", "alpha"], "group": ["y", "x"]})
    out = dependencies.enforce(drawn, learnt)
    assert {tuple(r) for r in out.itertuples(index=False)} <= {tuple(r) for r in train.itertuples(index=False)}


def test_near_unique_columns_determine_nothing():
    train = pd.DataFrame({"name": [f"n{i}" for i in range(20)], "kind": ["a", "b"] * 10})
    assert dependencies.learn(train, ["name", "kind"]) == []


def test_rows_whose_determinant_was_replaced_are_not_evidence():
    raw = pd.DataFrame({"zip": ["1", "1", "4", "4", "2", "2", "3"], "area": ["A", "A", "A", "A", "B", "B", "C"]})
    # zip 3 (one row) was replaced by a frequent zip, its area by the token
    protected = raw.assign(zip=["1", "1", "4", "4", "2", "2", "1"], area=["A", "A", "A", "A", "B", "B", "_RARE_"])
    (learnt,) = dependencies.learn(raw, ["zip", "area"], protected, token=TOKEN)
    assert (learnt.determinant, learnt.mapping) == ("zip", {"1": "A", "4": "A", "2": "B"})


def test_distinct_counts_match_unique_on_small_and_large_codes() -> None:
    """The linear count of distinct pair codes equals np.unique's, whatever the code range."""
    import numpy as np

    from synthspec.engine.dependencies import _BINCOUNT_LIMIT, _distinct

    rng = np.random.default_rng(0)
    for high in (1, 7, 1000, _BINCOUNT_LIMIT * 4):
        codes = rng.integers(0, high, 5000)
        assert _distinct(codes) == np.unique(codes).size
    assert _distinct(np.zeros(0, np.int64)) == 0
