"""exact_match_rate's row hashes (synthspec/metrics/privacy.py): computed one column at a time,
they are pandas' row hashes of the whole frame of the columns' parts, bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthspec.metrics import privacy


def test_row_hashes_one_column_at_a_time_are_pandas_row_hashes() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    frame = pd.DataFrame({
        "x": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        "zero": np.where(rng.random(n) < 0.5, -0.0, 0.0),
        "city": rng.choice(["a", "b", None], n).astype(object),
        "flag": rng.choice([True, False], n).astype(object),
    })
    kinds = {"x": "numerical", "zero": "numerical", "city": "categorical", "flag": "categorical"}
    frames = [frame.iloc[:2500], frame.iloc[2500:], frame.iloc[:10]]
    got = privacy._match_hashes(frames, list(kinds), kinds)

    joined = pd.concat(frames, ignore_index=True)
    parts = {}
    for name, kind in kinds.items():
        if kind == "numerical":
            values = joined[name].to_numpy(np.float64) + 0.0
            values[np.isnan(values)] = np.nan
            parts[name] = values.view(np.int64)
        else:
            codes, uniques = pd.factorize(joined[name], use_na_sentinel=True)
            merged, _ = pd.factorize(pd.Series([str(u) for u in uniques], dtype=object))
            parts[name] = np.where(codes < 0, -1, merged[np.maximum(codes, 0)])
    expected = pd.util.hash_pandas_object(pd.DataFrame(parts), index=False).to_numpy()
    np.testing.assert_array_equal(np.concatenate(got), expected)
    # Equal rows hash alike across frames: the third frame is the first's first rows.
    np.testing.assert_array_equal(got[2], got[0][:10])
    # -0.0 and 0.0 are one value (and every NaN another): rows with a null x and city "a" differ
    # by their flag only.
    head = frame.iloc[:2500]
    same = (head["x"].isna() & (head["city"] == "a")).to_numpy()
    assert len(set(got[0][same].tolist())) == head.loc[same, "flag"].nunique() == 2
