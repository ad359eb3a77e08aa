"""Functional dependencies of the real data (city -> country) survive sampling exactly."""

from __future__ import annotations

import numpy as np
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


def test_learnt_from_codes_counts_nulls_tokens_and_mixed_values_as_before() -> None:
    """``learn`` compares integer codes of each column's values before and after protection:
    a null is a value of its own, a token-replaced row is no evidence and a determinant's
    distinct values exclude the token, as when the objects themselves were compared."""
    from synthspec.engine.dependencies import learn

    n = 60
    city = np.array([f"c{i % 6}" for i in range(n)], dtype=object)
    train = pd.DataFrame({
        "city": city,
        "country": np.array(["north" if c in ("c0", "c1", "c2") else "south" for c in city], dtype=object),
        "flag": np.array([True, False] * (n // 2), dtype=object),
        "note": np.array([None if i % 3 else "x" for i in range(n)], dtype=object),
    })
    protected = train.copy()
    protected.loc[:5, "city"] = "*"  # rare values replaced by the token: no evidence
    protected.loc[6:7, "country"] = "north"  # replaced by a frequent value: no evidence either
    learnt = {(d.determinant, d.dependent): d.mapping for d in learn(train, list(train.columns), protected, token="*")}
    assert learnt[("city", "country")] == {f"c{i}": ("north" if i < 3 else "south") for i in range(6)}
    assert all(dependent != "city" for _, dependent in learnt)  # a country holds several cities
    # with a token no row holds, and no protection at all, the same mapping is learnt
    assert learn(train, list(train.columns), token="*") == learn(train, list(train.columns))


def test_columns_fetched_one_at_a_time_give_the_same_dependencies() -> None:
    """``learn_columns`` (what a draw uses: each column encoded and protected on demand, then
    let go) learns what ``learn`` learns from whole frames, fetching each column once."""
    from synthspec.engine.dependencies import learn, learn_columns

    rng = np.random.default_rng(3)
    city = rng.choice([f"c{i}" for i in range(12)], 500).astype(object)
    train = pd.DataFrame({"city": city, "country": np.array([f"k{c[1:2]}" for c in city], dtype=object),
                          "flag": rng.choice([True, False, None], 500).astype(object)})
    protected = train.copy()
    protected.loc[rng.random(500) < 0.05, "city"] = "*"
    fetched: list[str] = []

    def before(c: str) -> pd.Series:
        fetched.append(c)
        return train[c]

    got = learn_columns(list(train.columns), before, lambda c: protected[c], token="*")
    assert fetched == list(train.columns)
    assert got == learn(train, list(train.columns), protected, token="*")
    assert ("city", "country") in {(d.determinant, d.dependent) for d in got}
