"""Parity of the per-column metrics with SDMetrics 0.32.0's single-column metrics on UCI Adult.

``ks_complement`` / ``tv_complement`` (via the native QualityReport), ``boundary_adherence`` and
``category_adherence`` must equal ``sdmetrics.single_column``'s ``KSComplement``,
``TVComplement``, ``BoundaryAdherence`` and ``CategoryAdherence`` column by column (1e-9), with
nulls on both sides of both null rules. ``correlation_distance`` is not an SDMetrics metric; it
is checked against the correlations ``CorrelationSimilarity`` reports. One ``apply`` shows the
per-column values in ``run_results.json``.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from synthspec.cli.main import cli
from synthspec.metrics.adherence import (
    boundary_adherence,
    category_adherence,
    correlation_distance,
    shape_scores,
)
from synthspec.metrics.fidelity import quality_scores
from tests.integration.test_fidelity_parity import _contract_frame, _split, _synthetic

pytestmark = pytest.mark.integration

ADULT = Path(__file__).resolve().parents[2] / "data" / "adult.parquet"
TOLERANCE = 1e-9
SEED = 20240611


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Real (80 % of Adult) and a perturbed bootstrap "synthetic" frame that breaks every rule
    once: values beyond the real range, unseen categories, nulls where real has none and
    nulls where real has some."""
    if not ADULT.exists():
        pytest.skip(f"{ADULT} not found")
    frame, kinds = _contract_frame(pd.read_parquet(ADULT))
    rng = np.random.default_rng(SEED)
    frame.loc[rng.random(len(frame)) < 0.05, "hours_per_week"] = np.nan
    occupation = frame["occupation"].to_numpy().copy()
    occupation[rng.random(len(frame)) < 0.04] = None
    frame["occupation"] = pd.Series(occupation, dtype=object)
    real = _split(frame, SEED)
    synthetic = _synthetic(frame, SEED + 1, 30_000)
    n = len(synthetic)
    for name in ("age", "hours_per_week", "capital_gain"):
        wide = rng.random(n) < 0.03
        synthetic.loc[wide, name] = synthetic.loc[wide, name] * 3 + 10  # some beyond the max
    synthetic.loc[rng.random(n) < 0.02, "fnlwgt"] = np.nan  # null where real has none
    synthetic.loc[rng.random(n) < 0.02, "hours_per_week"] = np.nan  # null where real has some
    for name in ("workclass", "occupation", "native_country"):
        values = synthetic[name].to_numpy().copy()
        values[rng.random(n) < 0.02] = "never-seen"
        values[rng.random(n) < 0.02] = None
        synthetic[name] = pd.Series(values, dtype=object)
    return real, synthetic, kinds


def _sdmetrics(metric: str, real: pd.Series, synthetic: pd.Series) -> float | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import sdmetrics.single_column as single_column

        value = float(getattr(single_column, metric).compute(real, synthetic))
    return None if math.isnan(value) else value


def _assert_columns(ours: dict[str, float | None], metric: str, real: pd.DataFrame, synthetic: pd.DataFrame) -> None:
    expected = {name: _sdmetrics(metric, real[name], synthetic[name]) for name in ours}
    assert {k for k, v in expected.items() if v is None} == {k for k, v in ours.items() if v is None}
    worst = max(abs(ours[k] - v) for k, v in expected.items() if v is not None)  # type: ignore[operator]
    assert worst <= TOLERANCE, (metric, worst)


def test_ks_and_tv_complement_parity(frames) -> None:
    real, synthetic, kinds = frames
    ks, tv = shape_scores(quality_scores(real, synthetic, kinds).column_shape_scores, kinds)
    assert len(ks.columns) == 6 and len(tv.columns) == 9
    _assert_columns(ks.columns, "KSComplement", real, synthetic)
    _assert_columns(tv.columns, "TVComplement", real, synthetic)
    assert ks.value == min(ks.columns.values()) < 0.99  # type: ignore[type-var]


def test_boundary_adherence_parity(frames) -> None:
    real, synthetic, kinds = frames
    result = boundary_adherence(real, synthetic, kinds)
    assert list(result.columns) == [n for n, k in kinds.items() if k == "numerical"]
    _assert_columns(result.columns, "BoundaryAdherence", real, synthetic)
    assert result.columns["fnlwgt"] is not None and result.columns["fnlwgt"] < 0.99
    assert result.value is not None and result.value < 0.99


def test_category_adherence_parity(frames) -> None:
    real, synthetic, kinds = frames
    result = category_adherence(real, synthetic, kinds)
    assert list(result.columns) == [n for n, k in kinds.items() if k == "categorical"]
    _assert_columns(result.columns, "CategoryAdherence", real, synthetic)
    assert result.columns["income"] == 1.0 and result.value is not None and result.value < 0.99


def test_correlation_distance_matches_sdmetrics_correlations(frames) -> None:
    real, synthetic, kinds = frames
    result = correlation_distance(real, synthetic, kinds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from sdmetrics.column_pairs import CorrelationSimilarity

        expected = {}
        for first, second in result.pairs:
            breakdown = CorrelationSimilarity.compute_breakdown(
                real[[first, second]], synthetic[[first, second]], coefficient="Pearson")
            expected[(first, second)] = abs(breakdown["real"] - breakdown["synthetic"])
    assert len(result.pairs) == 15
    assert max(abs(result.pairs[p] - v) for p, v in expected.items()) <= TOLERANCE  # type: ignore[operator]
    assert result.value == pytest.approx(float(np.mean(list(expected.values()))), abs=TOLERANCE)


def test_apply_reports_per_column_values(adult_project) -> None:
    spec = adult_project / "specs" / "adult.yml"
    spec.write_text(spec.read_text() + "checks:\n  ks_complement: {min: 0.5}\n  tv_complement: {min: 0.5}\n"
                    "  boundary_adherence: {min: 0.5}\n  category_adherence: {min: 0.5}\n"
                    "  correlation_distance: {max: 1.0}\n  ml_efficacy: {min: 0.3, target: income}\n")
    result = CliRunner().invoke(cli, ["apply", "-q", "--project-dir", str(adult_project)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    table = json.loads((adult_project / "target" / "run_results.json").read_text())["tables"][0]
    metrics = table["metrics"]
    numerical = ("age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week")
    assert metrics["ks_complement"] == min(metrics[f"ks_complement:{c}"] for c in numerical)
    assert metrics["tv_complement:income"] > 0.5 and metrics["category_adherence:workclass"] > 0.5
    assert 0 <= metrics["correlation_distance"] <= 1.0 and 0.3 <= metrics["ml_efficacy"] <= 1.0
    checks = {c["metric"]: c for c in table["checks"]}
    assert checks["ml_efficacy"]["outcome"] == "passed" and checks["ml_efficacy"]["details"]["target"] == "income"
    assert checks["boundary_adherence"]["details"]["worst_column"] in numerical
