"""SDV's models drawing rows given the first columns' values (a child given its parent), by
matching a pool of their joint draws (synthspec/models/matching.py), with real SDV training."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthspec.models import matching
from synthspec.models.base import ModelColumn
from synthspec.models.params import GaussianCopulaParams
from synthspec.models.sdv_models import GaussianCopula

pytestmark = pytest.mark.integration


def _fitted() -> tuple[GaussianCopula, pd.DataFrame]:
    rng = np.random.default_rng(0)
    n = 1500
    parent_price = rng.lognormal(3, 0.5, n)
    data = pd.DataFrame({"parent.price": parent_price,
                         "parent.kind": rng.choice(["a", "b"], n).astype(object),
                         "price": parent_price * rng.uniform(0.8, 1.0, n)})
    columns = [ModelColumn("parent.price", "numerical"), ModelColumn("parent.kind", "categorical"),
               ModelColumn("price", "numerical")]
    model = GaussianCopula(columns, GaussianCopulaParams(), seed=1)
    model.fit(data)
    return model, data


def test_rows_given_their_parents_in_pieces_keep_the_dependence(monkeypatch: pytest.MonkeyPatch) -> None:
    model, data = _fitted()
    given = data[["parent.price", "parent.kind"]].iloc[:700].reset_index(drop=True)
    whole = model.sample(len(given), seed=5, given=given)
    monkeypatch.setattr(matching, "PIECE", 200)  # four pieces, each with a pool of its own
    pieces = model.sample(len(given), seed=5, given=given)
    for out in (whole, pieces):
        assert len(out) == len(given) and list(out.columns) == ["parent.price", "parent.kind", "price"]
        pd.testing.assert_frame_equal(out[["parent.price", "parent.kind"]], given)
        assert np.corrcoef(out["parent.price"], out["price"])[0, 1] > 0.8
    pd.testing.assert_frame_equal(pieces, model.sample(len(given), seed=5, given=given))  # deterministic
    # Unconditioned draws say nothing of the given parent.
    free = model.sample(len(given), seed=5)
    assert abs(np.corrcoef(given["parent.price"], free["price"])[0, 1]) < 0.2
    assert model.sample(0, seed=5, given=given.iloc[:0]).empty
    with pytest.raises(ValueError, match="first columns"):
        model.sample(3, seed=5, given=given[["parent.kind"]].iloc[:3])


def test_a_line_in_the_parent_is_kept_given_the_parent_and_saved(tmp_path) -> None:
    """A line price = list price x discount (r 0.997): the copula alone loses much of it; drawn
    as a residual from its line and the line added back at the given parent's list price, it
    is kept. The lines are saved with the model."""
    rng = np.random.default_rng(3)
    n = 2000
    list_price = np.round(rng.lognormal(3, 0.9, n), 2)
    data = pd.DataFrame({"parent.list_price": list_price, "quantity": rng.integers(1, 9, n).astype(np.float64),
                         "unit_price": np.round(list_price * rng.uniform(0.93, 1.0, n), 2)})
    real = np.corrcoef(data["parent.list_price"], data["unit_price"])[0, 1]
    columns = [ModelColumn("parent.list_price", "numerical"), ModelColumn("quantity", "numerical"),
               ModelColumn("unit_price", "numerical")]
    corr = {}
    for linear in (False, True):
        model = GaussianCopula(columns, GaussianCopulaParams(linear=linear), seed=1)
        model.fit(data)
        given = data[["parent.list_price"]].iloc[:800].reset_index(drop=True)
        out = model.sample(len(given), seed=5, given=given)
        pd.testing.assert_frame_equal(out[["parent.list_price"]], given)
        corr[linear] = np.corrcoef(out["parent.list_price"], out["unit_price"])[0, 1]
    assert corr[True] > real - 0.005 and corr[False] < real - 0.03, (real, corr)
    free = model.sample(1000, seed=6)
    assert np.corrcoef(free["parent.list_price"], free["unit_price"])[0, 1] > real - 0.01
    assert free["unit_price"].min() >= 0  # a column never negative is not drawn below 0
    model.save(tmp_path)
    assert (tmp_path / "lines.json").exists()
    loaded = GaussianCopula.load(tmp_path, columns, model.params, model.seed)
    pd.testing.assert_frame_equal(loaded.sample(500, seed=7), model.sample(500, seed=7))
