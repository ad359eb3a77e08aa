"""Per-column fidelity checks beyond the QualityReport averages, and correlation distance.

A property score is a mean, so one broken column can hide behind fourteen good ones. These
metrics gate on the *worst* column instead; each returns its per-column scores too, so a report
can say which column failed (names only, never values).

* ``ks_complement`` / ``tv_complement``: SDMetrics' ``KSComplement`` (numerical) and
  ``TVComplement`` (categorical). They are exactly the QualityReport's Column Shapes scores, so
  :func:`shape_scores` only regroups ``FidelityScores.column_shape_scores`` (no recomputation).
* ``boundary_adherence``: SDMetrics ``BoundaryAdherence`` with its defaults: the range is the
  real column's min/max; if the real column has nulls, synthetic nulls are left out of the
  share, otherwise a synthetic null counts as outside.
* ``category_adherence``: SDMetrics ``CategoryAdherence`` with its defaults: the share of
  synthetic values (nulls included in the denominator) among the real column's values; a
  synthetic null is valid only if the real column has nulls.
* ``correlation_distance``: not an SDMetrics metric. The mean over pairs of numerical columns
  of ``|r_real - r_synthetic|`` (Pearson, the same computation as ``CorrelationSimilarity``,
  whose score is ``1 - distance / 2``), every pair counted whatever its real strength. Range
  [0, 2], lower is better.

"Real" is the training split. A column whose score is undefined (no values to compare) is
``None`` and left out of the minimum; if every column is, the metric is ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd

from synthspec.metrics._frames import check_kinds
from synthspec.metrics.fidelity import _is_constant, _pearson, _prepare, _to_float, _Undefined

__all__ = [
    "ColumnScores",
    "CorrelationDistance",
    "boundary_adherence",
    "category_adherence",
    "correlation_distance",
    "shape_scores",
]


@dataclass(frozen=True)
class ColumnScores:
    """Scores per column (in ``kinds`` order) and the gate's value: their minimum."""

    columns: dict[str, float | None] = field(default_factory=dict)

    @property
    def value(self) -> float | None:
        """The lowest defined column score (``None`` if no column has one)."""
        defined = [v for v in self.columns.values() if v is not None]
        return min(defined) if defined else None

    @property
    def worst(self) -> str | None:
        """The column with the lowest score (the first one on ties)."""
        defined = {k: v for k, v in self.columns.items() if v is not None}
        return min(defined, key=defined.__getitem__) if defined else None


@dataclass(frozen=True)
class CorrelationDistance:
    """Mean ``|r_real - r_synthetic|`` over the pairs where both correlations are defined."""

    value: float | None
    #: Pairs of numerical columns (``itertools.combinations`` of ``kinds`` order), ``None``
    #: where a correlation is undefined (a constant column, fewer than two complete rows).
    pairs: dict[tuple[str, str], float | None] = field(default_factory=dict)


def shape_scores(
    column_shape_scores: Mapping[str, float | None], kinds: Mapping[str, str]
) -> tuple[ColumnScores, ColumnScores]:
    """``(ks_complement, tv_complement)`` from the QualityReport's per-column shape scores."""
    def pick(kind: str) -> ColumnScores:
        return ColumnScores({n: column_shape_scores.get(n) for n, k in kinds.items() if k == kind})

    return pick("numerical"), pick("categorical")


def _boundary(real: np.ndarray, synthetic: np.ndarray) -> float | None:
    """``BoundaryAdherence.compute`` with no explicit range."""
    real_nulls = np.isnan(real)
    present = real[~real_nulls]
    low = present.min() if present.size else math.nan
    high = present.max() if present.size else math.nan
    if real_nulls.any():
        synthetic = synthetic[~np.isnan(synthetic)]
    if synthetic.size == 0:
        return None
    inside = (synthetic >= low) & (synthetic <= high)  # NaN compares False: outside
    return float(np.count_nonzero(inside) / synthetic.size)


def boundary_adherence(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, str]
) -> ColumnScores:
    """Share of synthetic values within the real min/max, per numerical column."""
    columns = check_kinds(kinds, ("real", real), ("synthetic", synthetic))
    return ColumnScores({
        name: _boundary(_to_float(real[name]), _to_float(synthetic[name]))
        for name in columns
        if kinds[name] == "numerical"
    })


def _category(real: pd.Series, synthetic: pd.Series) -> float | None:
    """``CategoryAdherence.compute`` with no explicit categories (the null code is the last)."""
    prepared = _prepare(real, synthetic, "categorical")
    assert prepared.real_codes is not None and prepared.synth_codes is not None
    if prepared.synth_codes.size == 0:
        return None
    seen = np.bincount(prepared.real_codes, minlength=prepared.n_codes) > 0
    return float(seen[prepared.synth_codes].mean())


def category_adherence(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, str]
) -> ColumnScores:
    """Share of synthetic values seen in the real column, per categorical column."""
    columns = check_kinds(kinds, ("real", real), ("synthetic", synthetic))
    return ColumnScores({
        name: _category(real[name], synthetic[name])
        for name in columns
        if kinds[name] == "categorical"
    })


def _correlation(x: np.ndarray, y: np.ndarray) -> float | None:
    """Pearson's r over the rows where both are present; ``None`` where it is undefined."""
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if _is_constant(x) or _is_constant(y):
        return None
    try:
        r = _pearson(x, y)
    except _Undefined:
        return None
    return None if math.isnan(r) else r


def correlation_distance(
    real: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, str]
) -> CorrelationDistance:
    """Mean absolute difference of Pearson correlations over all numerical column pairs."""
    columns = check_kinds(kinds, ("real", real), ("synthetic", synthetic))
    numerical = [name for name in columns if kinds[name] == "numerical"]
    real_values = {name: _to_float(real[name]) for name in numerical}
    synth_values = {name: _to_float(synthetic[name]) for name in numerical}
    pairs: dict[tuple[str, str], float | None] = {}
    for first, second in combinations(numerical, 2):
        r_real = _correlation(real_values[first], real_values[second])
        r_synth = _correlation(synth_values[first], synth_values[second])
        pairs[(first, second)] = (
            None if r_real is None or r_synth is None else abs(r_real - r_synth)
        )
    defined = [v for v in pairs.values() if v is not None]
    return CorrelationDistance(float(np.mean(defined)) if defined else None, pairs)
