"""The frame the checks score (engine/checked.py, io/roundtrip.py): the published values, in a
content order, so that the same rows give bit-identical metrics however they were produced,
read back or ordered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthspec.engine.checked import checked_frame, content_order
from synthspec.engine.checks import run_checks
from synthspec.engine.columns import ColumnPlan
from synthspec.errors import EnvironmentError_
from synthspec.io.roundtrip import as_published
from synthspec.spec.models import CheckSpec, ColumnSpec
from tests.helpers import KINDS, make_frame

PLANS = [
    ColumnPlan("id", "BIGINT", ColumnSpec(type="id", primary_key=True)),
    ColumnPlan("price", "DECIMAL(10,2)", ColumnSpec(type="numerical")),
    ColumnPlan("born", "DATE", ColumnSpec(type="datetime")),
    ColumnPlan("seen", "TIMESTAMP WITH TIME ZONE", ColumnSpec(type="datetime")),
    ColumnPlan("level", "INTEGER", ColumnSpec(type="categorical")),
    ColumnPlan("tier", "VARCHAR", ColumnSpec(type="categorical")),
]


def _output(n: int = 60, seed: int = 1) -> pd.DataFrame:
    """Publish-ready rows as a sampler hands them over: unrounded floats, instants with a time
    of day for a DATE column, nullable integers."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "id": np.arange(n),
        "price": rng.gamma(2.0, 20.0, n),
        "born": pd.Timestamp("1970-01-01") + pd.to_timedelta(rng.integers(0, 10**9, n), unit="s"),
        "seen": pd.Timestamp("2024-01-01", tz="Europe/Istanbul") + pd.to_timedelta(rng.integers(0, 10**7, n), unit="s"),
        "level": pd.array([None if i % 7 == 0 else int(v) for i, v in enumerate(rng.integers(1, 4, n))], dtype="Int64"),
        "tier": pd.Series([None if i % 5 == 0 else str(v) for i, v in enumerate(rng.choice(["a", "b"], n))], dtype=object),
    })


def test_the_round_trip_gives_the_published_values_in_the_same_order() -> None:
    output = _output()
    types = [(p.name, p.duckdb_type) for p in PLANS]
    published = as_published(output, types)
    assert list(published.columns) == [p.name for p in PLANS]
    assert published["id"].tolist() == output["id"].tolist()  # order kept
    assert published["price"].tolist() == [round(v, 2) for v in output["price"]]
    assert (published["born"] == published["born"].dt.normalize()).all()  # a DATE has no time of day
    assert str(published["seen"].dt.tz) == "UTC" and (published["seen"] == output["seen"]).all()
    # Idempotent: rows read back from the target CAST to the very same frame again.
    pd.testing.assert_frame_equal(as_published(published, types), published)


def test_the_checked_frame_does_not_depend_on_row_order_or_index() -> None:
    output = _output()
    shuffled = output.sample(frac=1.0, random_state=3)
    shuffled.index = np.arange(100, 100 + len(shuffled))
    pd.testing.assert_frame_equal(checked_frame(output, PLANS), checked_frame(shuffled, PLANS))
    assert checked_frame(output, PLANS).index.equals(pd.RangeIndex(len(output)))
    # Keys are not modelled, so they are not scored.
    assert "id" not in checked_frame(output, PLANS).columns


def test_content_order_keeps_empty_and_columnless_frames() -> None:
    assert content_order(make_frame(0, 1)).empty
    assert len(content_order(pd.DataFrame(index=range(4)))) == 4


def test_checks_on_shuffled_rows_give_bit_identical_values() -> None:
    """Every seeded subsample (bootstrap replicates, dcr_share's rows) picks the same rows."""
    train, holdout, synthetic = make_frame(300, 1), make_frame(80, 2), make_frame(300, 3)
    checks = {"quality_score": CheckSpec(min=0.1), "dcr_share": CheckSpec(max=0.99),
              "exact_match_rate": CheckSpec(max=1.0), "nndr": CheckSpec(max=1.0),
              "membership_inference_auc": CheckSpec(max=1.0)}

    def scored(frame: pd.DataFrame) -> tuple[dict, list]:
        metrics, results = run_checks(train, holdout, content_order(frame), KINDS, checks, seed=9)
        return metrics, [(r.metric, r.value, r.interval, r.details) for r in results]

    reordered = synthetic.iloc[::-1].reset_index(drop=True)
    assert scored(synthetic) == scored(reordered)
    # Without the content order the bootstrap picks other rows: the order did matter.
    plain = run_checks(train, holdout, synthetic, KINDS, checks, seed=9)[1]
    other = run_checks(train, holdout, reordered, KINDS, checks, seed=9)[1]
    assert [r.interval for r in plain] != [r.interval for r in other]


def test_rows_that_do_not_fit_the_source_types_are_an_environment_error_without_values() -> None:
    frame = pd.DataFrame({"price": [1.5, 987654.321]})
    with pytest.raises(EnvironmentError_) as caught:
        as_published(frame, [("price", "DECIMAL(4,2)")])
    assert "do not fit the source's column types" in str(caught.value)
    assert "987654" not in str(caught.value)


def test_types_synthspec_does_not_model_come_back_as_nulls() -> None:
    frame = pd.DataFrame({"blob": [None, None], "n": [1, 2]})
    published = as_published(frame, [("blob", "BLOB"), ("n", "INTEGER")])
    assert published["blob"].isna().all() and published["n"].tolist() == [1, 2]
