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
