"""No histogram edge of report.html is a real minimum or maximum (issue 8, "Leaks")."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthspec.engine.results import RunResult, TableResult, report_html
from synthspec.metrics.profile import MAX_BINS, numerical_profile


def _assert_safe(values: pd.Series, *, datetime: bool = False) -> list[float]:
    """The profile's edges: equal width, at most MAX_BINS bins, covering the 1st–99th
    percentiles, and none at (or within a millionth of a bin of) the real min or max."""
    p = numerical_profile(str(values.name), values, values, datetime=datetime)
    assert p is not None and p.edges is not None
    edges = np.array(p.edges)
    width = edges[1] - edges[0]
    assert np.allclose(np.diff(edges), width) and len(edges) - 1 <= MAX_BINS
    present = values.dropna().to_numpy(dtype="float64")
    low, high = np.percentile(present, [1, 99])
    assert edges[0] <= low < edges[0] + width and edges[-1] - width < high <= edges[-1]
    for extreme in (present.min(), present.max()):
        assert np.min(np.abs(edges - extreme)) > width * 1e-6, f"{values.name}: an edge is the real extreme {extreme}"
    assert sum(p.real) == pytest.approx(1.0, abs=1e-4)  # shares are stored rounded to 6 decimals
    return list(edges)


def test_no_edge_is_an_extreme_of_any_adult_column(adult):
    numerical = [c for c in adult.columns if adult[c].dtype.kind in "if"]
    assert len(numerical) == 6
    for column in numerical:
        _assert_safe(adult[column])


def test_report_labels_do_not_show_adult_extremes(adult):
    """The labels in report.html print the edges as they are (no rounding onto an extreme)."""
    from synthspec.metrics.profile import column_profiles

    kinds = {"age": "numerical", "education_num": "numerical", "capital_gain": "numerical"}
    frame = adult[list(kinds)].astype("float64")
    page = report_html(RunResult(tables=[TableResult(table="adult", profile=column_profiles(frame, frame, kinds))]))
    labels = [line for line in page.split("<text") if "text-anchor" in line]
    assert labels
    for column in kinds:
        for extreme in (int(adult[column].min()), int(adult[column].max())):
            assert not any(f">{extreme:,} –" in line or f"– {extreme:,}<" in line for line in labels), (column, extreme)


def test_whole_numbers_with_extremes_on_the_grid():
    # Ages 17..90 with many rows at both ends: the 1st and 99th percentiles are the extremes.
    values = pd.Series(np.r_[np.full(50, 17.0), np.arange(17.0, 91.0).repeat(10), np.full(50, 90.0)], name="age")
    edges = _assert_safe(values)
    assert 17.0 not in edges and 90.0 not in edges
    tens = pd.Series(np.tile(np.arange(0.0, 101.0, 10.0), 20), name="tens")  # 0, 10, ... 100: every grid point
    _assert_safe(tens)


def test_huge_outlier_is_neither_an_edge_nor_stretches_the_bins():
    values = pd.Series(np.r_[np.arange(1000.0), [1e12]], name="income")
    edges = _assert_safe(values)
    assert max(edges) < 2000


def test_constant_and_almost_constant_columns_are_not_profiled():
    assert numerical_profile("c", pd.Series(np.full(500, 42.0)), pd.Series(np.full(500, 42.0))) is None
    mostly = pd.Series(np.r_[np.full(995, 7.0), [1.0, 2.0, 3.0, 100.0, 200.0]])
    assert numerical_profile("m", mostly, mostly) is None  # any edge around 7 would reveal it


def test_small_and_fractional_columns():
    rng = np.random.default_rng(3)
    _assert_safe(pd.Series(rng.normal(0, 1, 60).round(2), name="small"))
    _assert_safe(pd.Series(np.linspace(0.0, 1.0, 101), name="grid"))  # 0.0 and 1.0 on every nice grid
    _assert_safe(pd.Series(np.r_[np.full(10, -5.0), rng.integers(-5, 6, 300), np.full(10, 5.0)].astype(float), name="signed"))


def test_datetimes_at_midnight_are_shifted_off_their_extremes():
    days = pd.Series(pd.date_range("2020-01-01", "2020-12-31", freq="D").repeat(3))
    seconds = pd.Series(days.astype("int64") // 10**9, dtype="float64", name="signup")
    edges = _assert_safe(seconds, datetime=True)
    assert all((e % 86400) in (0, 43200, 21600, 64800) for e in edges)  # whole or quarter days
    hourly = pd.Series(pd.date_range("2021-03-01", periods=400, freq="h").astype("int64") // 10**9, dtype="float64", name="t")
    _assert_safe(hourly, datetime=True)
