"""The training subsample of big sources (engine/subsample.py): seeded, covering every value."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthspec.engine.fingerprint import fingerprints
from synthspec.engine.subsample import COVER_ROWS, training_cap, training_rows
from synthspec.spec.models import DEFAULT_MAX_TRAINING_ROWS, TableSpec

KINDS = {"x": "numerical", "c": "categorical", "b": "categorical"}


def frame(n: int = 20_000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    c = rng.choice(np.array(["common", "usual", "rare"], dtype=object), n, p=[0.7, 0.2999, 0.0001])
    c[[5, 6, 7]] = "three"  # a value of three rows only
    x = rng.normal(size=n)
    x[rng.random(n) < 0.0002] = np.nan
    b = (rng.random(n) < 0.5).astype(object)
    b[11] = None
    return pd.DataFrame({"x": x, "c": c, "b": b})


def test_cap_semantics() -> None:
    assert training_cap(None, private=False) == DEFAULT_MAX_TRAINING_ROWS
    assert training_cap(None, private=True) is None  # DP models: every row unless the spec says so
    assert training_cap(0, private=False) is None and training_cap(0, private=True) is None
    assert training_cap(5000, private=True) == 5000


def test_at_or_below_the_cap_every_row_in_order() -> None:
    data = frame(1000)
    assert training_rows(data, KINDS, 1000, 42, stratify=True).tolist() == list(range(1000))


def test_subsample_is_seeded_sorted_and_near_the_cap() -> None:
    data = frame()
    rows = training_rows(data, KINDS, 2000, 42, stratify=True)
    assert rows.tolist() == training_rows(data, KINDS, 2000, 42, stratify=True).tolist()
    assert rows.tolist() != training_rows(data, KINDS, 2000, 43, stratify=True).tolist()
    assert np.all(np.diff(rows) > 0)
    # the uniform part is the cap; coverage adds at most COVER_ROWS per distinct value and extremes
    assert 2000 <= len(rows) <= 2000 + COVER_ROWS * 10 + 2


def test_stratified_subsample_keeps_every_value_nulls_and_extremes() -> None:
    data = frame()
    fitted = data.iloc[training_rows(data, KINDS, 500, 42, stratify=True)]
    for column in ("c", "b"):
        assert set(fitted[column].dropna()) == set(data[column].dropna())
        assert fitted[column].isna().any() == data[column].isna().any()
    assert (fitted["c"] == "three").sum() == 3  # fewer rows than COVER_ROWS: all of them
    assert (fitted["c"] == "rare").sum() == min(COVER_ROWS, int((data["c"] == "rare").sum()))
    assert fitted["x"].min() == data["x"].min() and fitted["x"].max() == data["x"].max()
    assert fitted["x"].isna().any()


def test_uniform_subsample_for_private_models_is_exactly_the_cap() -> None:
    data = frame()
    rows = training_rows(data, KINDS, 500, 42, stratify=False)
    assert len(rows) == 500 and len(set(rows.tolist())) == 500


def _fps(row_count: int, **model: object) -> dict[str, str]:
    spec = TableSpec.model_validate({"version": 1, "table": "t", "source": {"table": "raw.t"},
                                     "columns": {"x": {"type": "numerical"}}, "model": {"seed": 1, **model}})
    return fingerprints(salt=b"s", spec=spec, model="cart", columns=[("x", "DOUBLE")], row_count=row_count,
                        data_hash="h", rows=row_count, checks={}).parts


def test_fingerprint_changes_only_for_tables_above_the_cap_or_an_explicit_key() -> None:
    small, big = _fps(1000), _fps(DEFAULT_MAX_TRAINING_ROWS + 1)
    assert "subsample" not in small and "subsample" in big
    assert _fps(1000, max_training_rows=0)["spec"] != small["spec"]  # set: a model-relevant change
    assert "subsample" not in _fps(DEFAULT_MAX_TRAINING_ROWS + 1, max_training_rows=0)
    assert _fps(5000, max_training_rows=100)["subsample"] != big["subsample"]


def test_a_model_revision_retrains_only_that_model(monkeypatch) -> None:
    """A built-in model whose algorithm changed (revision > 1) gets a new training fingerprint,
    so a model cached by an earlier synthspec is not reused; other models keep theirs."""
    import dataclasses

    from synthspec.models import params

    spec = TableSpec.model_validate({"version": 1, "table": "t", "source": {"table": "raw.t"},
                                     "columns": {"x": {"type": "numerical"}}, "model": {"seed": 1}})

    def training(model: str) -> str:
        return fingerprints(salt=b"s", spec=spec, model=model, columns=[("x", "DOUBLE")], row_count=10,
                            data_hash="h", rows=10, checks={}).training

    before = {name: training(name) for name in ("cart", "gaussian_copula")}
    cart = params.BUILTIN_MODELS["cart"]
    monkeypatch.setitem(params.BUILTIN_MODELS, "cart", dataclasses.replace(cart, revision=cart.revision + 1))
    assert training("cart") != before["cart"]
    assert training("gaussian_copula") == before["gaussian_copula"]
