"""Parity of synthspec.metrics.fidelity with SDMetrics 0.32.0's single-table QualityReport.

Every number the report exposes (overall score, both property scores, each column's shape score
and each pair's score) must match to 1e-9. Observed differences are ~1e-16: both sides do the
same arithmetic and differ only in floating-point summation order.

SDMetrics is deterministic here except in one place: above 50 000 rows in either frame its
ContingencySimilarity subsamples both frames with numpy's global RNG (unseeded), so its pair
trends are random. Our implementation uses every row; the large-frame case therefore compares
with SDMetrics run with ``num_rows_subsample = None`` (its exact, full-data mode).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from synthspec.metrics.fidelity import FidelityScores, quality_scores

pytestmark = pytest.mark.integration

ADULT = Path(__file__).resolve().parents[2] / "data" / "adult.parquet"
TOLERANCE = 1e-9
SEED = 20240601
SHUFFLED = ("age", "education", "occupation", "capital_gain", "hours_per_week")


def _contract_frame(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Integers -> float64 numerical, strings -> object categorical with None for nulls."""
    kinds: dict[str, str] = {}
    columns: dict[str, pd.Series] = {}
    for name in raw.columns:
        series = raw[name]
        if pd.api.types.is_numeric_dtype(series):
            kinds[name] = "numerical"
            columns[name] = series.astype("float64")
        else:
            kinds[name] = "categorical"
            values = series.astype(object).to_numpy()
            columns[name] = pd.Series(np.where(pd.isna(values), None, values), dtype=object)
    return pd.DataFrame(columns), kinds


@pytest.fixture(scope="module")
def adult() -> tuple[pd.DataFrame, dict[str, str]]:
    """UCI Adult under the frame contract (32,561 rows x 15 columns)."""
    if not ADULT.exists():
        pytest.skip(f"{ADULT} not found")
    frame, kinds = _contract_frame(pd.read_parquet(ADULT))
    assert len(frame) == 32_561 and len(kinds) == 15
    return frame, kinds


def _split(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The 80 % "training" part of a seeded 80/20 split (the "real" side of the comparison)."""
    order = np.random.default_rng(seed).permutation(len(frame))
    return frame.iloc[order[: int(0.8 * len(frame))]].reset_index(drop=True)


def _synthetic(frame: pd.DataFrame, seed: int, n_rows: int) -> pd.DataFrame:
    """A frame that differs from ``frame``: a bootstrap sample with some columns shuffled.

    Shuffling breaks those columns' pair trends while keeping their marginals, so both
    properties move away from 1.
    """
    rng = np.random.default_rng(seed)
    out = frame.iloc[rng.integers(0, len(frame), size=n_rows)].reset_index(drop=True)
    for name in SHUFFLED:
        out[name] = out[name].to_numpy()[rng.permutation(n_rows)]
    return out


def _sdmetrics_report(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, str], **attributes: Any
) -> Any:
    """Generate ``sdmetrics.reports.single_table.QualityReport`` (attributes set beforehand)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.reports.single_table import QualityReport

        report = QualityReport()
        for name, value in attributes.items():
            setattr(report, name, value)
        metadata = {"columns": {name: {"sdtype": kind} for name, kind in kinds.items()}}
        report.generate(real[list(kinds)], synthetic[list(kinds)], metadata, verbose=False)
    return report


def _as_optional(value: object) -> float | None:
    """SDMetrics reports undefined scores as NaN; ours are ``None``."""
    number = float(value)  # type: ignore[arg-type]
    return None if math.isnan(number) else number


def _assert_parity(report: Any, ours: FidelityScores) -> float:
    """Compare every score SDMetrics exposes; return the largest absolute difference."""
    expected: dict[object, float | None] = {
        "overall": _as_optional(report.get_score()),
    }
    properties = report.get_properties().set_index("Property")["Score"]
    expected["Column Shapes"] = _as_optional(properties["Column Shapes"])
    expected["Column Pair Trends"] = _as_optional(properties["Column Pair Trends"])
    shapes = report.get_details("Column Shapes")
    for name, score in zip(shapes["Column"], shapes["Score"], strict=True):
        expected[name] = _as_optional(score)
    pairs = report.get_details("Column Pair Trends")
    for first, second, score in zip(
        pairs["Column 1"], pairs["Column 2"], pairs["Score"], strict=True
    ):
        expected[(first, second)] = _as_optional(score)

    actual: dict[object, float | None] = {
        "overall": ours.quality_score,
        "Column Shapes": ours.column_shapes,
        "Column Pair Trends": ours.column_pair_trends,
        **ours.column_shape_scores,
        **ours.pair_scores,
    }
    assert list(actual) == list(expected)  # same columns, same pairs, same order
    undefined = {key for key, value in expected.items() if value is None}
    assert undefined == {key for key, value in actual.items() if value is None}
    differences = [
        abs(float(actual[key]) - float(value))  # type: ignore[arg-type]
        for key, value in expected.items()
        if value is not None
    ]
    worst = max(differences)
    assert worst <= TOLERANCE, worst
    return worst


def test_adult_parity(adult: tuple[pd.DataFrame, dict[str, str]]) -> None:
    frame, kinds = adult
    real = _split(frame, SEED)
    synthetic = _synthetic(frame, SEED + 1, len(frame))
    ours = quality_scores(real, synthetic, kinds)
    _assert_parity(_sdmetrics_report(real, synthetic, kinds), ours)
    # Non-trivial: some pairs pass the real-trend thresholds and the score is below 1.
    assert sum(v is not None for v in ours.pair_scores.values()) >= 5
    assert ours.quality_score is not None and 0.5 < ours.quality_score < 0.999


def test_adult_parity_every_pair_scored(adult: tuple[pd.DataFrame, dict[str, str]]) -> None:
    """Thresholds at 0 score all 105 pairs (the report's ``real_*_threshold`` attributes)."""
    frame, kinds = adult
    real = _split(frame, SEED + 2)
    synthetic = _synthetic(frame, SEED + 3, len(frame))
    ours = quality_scores(
        real, synthetic, kinds, real_correlation_threshold=0.0, real_association_threshold=0.0
    )
    report = _sdmetrics_report(
        real, synthetic, kinds, real_correlation_threshold=0, real_association_threshold=0
    )
    _assert_parity(report, ours)
    assert all(v is not None for v in ours.pair_scores.values())


def test_parity_with_datetime_and_nulls(adult: tuple[pd.DataFrame, dict[str, str]]) -> None:
    """Epoch-seconds column, nulls in numerical and categorical columns, all-null columns."""
    frame, kinds = adult
    rng = np.random.default_rng(SEED + 4)
    year = 365.25 * 86_400.0
    frame = frame.copy()
    # A birth timestamp (fractional epoch seconds) tied to age, so the pair passes |r| > 0.5.
    frame["born_at"] = 1.2e9 - frame["age"] * year + rng.uniform(0, 90 * 86_400.0, len(frame))
    frame.loc[rng.random(len(frame)) < 0.05, "born_at"] = np.nan
    frame.loc[rng.random(len(frame)) < 0.10, "hours_per_week"] = np.nan
    sex = frame["sex"].to_numpy().copy()
    sex[rng.random(len(frame)) < 0.03] = None
    frame["sex"] = pd.Series(sex, dtype=object)
    frame["never_measured"] = np.nan
    frame["never_answered"] = pd.Series([None] * len(frame), dtype=object)
    kinds = {
        **kinds,
        "born_at": "numerical",
        "never_measured": "numerical",
        "never_answered": "categorical",
    }

    real = _split(frame, SEED + 5)
    synthetic = _synthetic(frame, SEED + 6, 20_000)
    # Shift the synthetic timestamps by a fraction of a day: same shape class, new values.
    synthetic["born_at"] = synthetic["born_at"] + 0.37 * 86_400.0
    ours = quality_scores(real, synthetic, kinds)
    _assert_parity(_sdmetrics_report(real, synthetic, kinds), ours)
    assert ours.column_shape_scores["never_measured"] is None
    assert ours.column_shape_scores["never_answered"] is None
    assert ours.pair_scores[("age", "born_at")] is not None


def test_parity_above_sdmetrics_subsample_size(adult: tuple[pd.DataFrame, dict[str, str]]) -> None:
    """> 50 000 rows: equal to SDMetrics' full-data mode (its default subsamples at random)."""
    frame, kinds = adult
    real = pd.concat([frame, frame], ignore_index=True)  # 65,122 rows
    synthetic = _synthetic(frame, SEED + 7, 60_000)
    ours = quality_scores(real, synthetic, kinds)
    _assert_parity(_sdmetrics_report(real, synthetic, kinds, num_rows_subsample=None), ours)
