"""Native, vectorised re-implementation of SDMetrics 0.32.0's single-table ``QualityReport``.

Why this exists: ``import sdmetrics`` costs several seconds (it pulls in torch and scipy.stats) and
``QualityReport.generate`` takes ~3 s on UCI Adult, while the whole ``apply`` must beat a
GaussianCopula fit. This module computes the *same numbers* with numpy and pandas only: each
column is turned into integer codes once, contingency tables are ``np.bincount`` calls and the KS
statistic is a ``searchsorted`` over sorted arrays.

What is reproduced (``sdmetrics.reports.single_table.QualityReport`` with metadata
``{"columns": {name: {"sdtype": kind}}}``, defaults untouched):

* **Column Shapes** = mean over columns of ``KSComplement`` (numerical) or ``TVComplement``
  (categorical), NaN scores skipped.

  - KS: nulls dropped, values rounded to 14 decimals (``Series.round(MAX_DECIMALS)``), then
    ``scipy.stats.ks_2samp`` (ties: both ECDFs evaluated with ``side="right"`` at every pooled
    value). For ``max(n1, n2) <= 10_000`` scipy's exact mode snaps D to a multiple of
    ``1 / lcm(n1, n2)``; that is reproduced too.
  - TV: nulls dropped; a value seen only in the synthetic column adds ``1e-6`` to the *real*
    counter (SDMetrics' "regularisation"), so every real frequency is divided by
    ``n_real + 1e-6 * k`` rather than ``n_real``.

* **Column Pair Trends** = mean over pairs of ``CorrelationSimilarity`` (Pearson, numerical x
  numerical) or ``ContingencySimilarity`` (every other pair), restricted to pairs whose *real*
  trend is strong enough: the single-table report sets ``real_correlation_threshold = 0.5`` and
  ``real_association_threshold = 0.3``. A pair with ``|r_real| <= 0.5`` or real Cramér's V
  ``<= 0.3`` (or fewer than two distinct values on either axis of the real contingency table)
  gets score NaN and does not count. If no pair qualifies the property is NaN.

  - Pearson: a column constant (one distinct non-null value) in either frame is an error
    (NaN); otherwise rows with a null in either column are dropped, fewer than two rows is an
    error and a column constant after the drop gives NaN. Score ``1 - |r_real - r_synth| / 2``.
  - Contingency: nulls are a category of their own (``groupby(dropna=False)``), frequencies are
    divided by the full row counts, score ``1 - TVD`` of the joint distributions.
  - A numerical column in a mixed pair is discretised **separately in each frame**:
    ``np.digitize(x, np.histogram_bin_edges(x.dropna()))`` with 10 bins, so real bin ``i`` and
    synthetic bin ``i`` are matched by index even though their edges differ, the maximum value
    lands in bin 11 (``digitize`` is right-open) and NaN lands there too (NaN sorts last).
    A column whose edges cannot be computed (±inf values) fails discretisation in both frames.

* **Overall** = ``np.nanmean`` of the two property scores.

Known, deliberate difference: when either frame has more than 50 000 rows SDMetrics subsamples
each frame (``DataFrame.sample`` with numpy's *global* RNG, no seed) before every contingency
pair, so its pair score is random. Here every row is used: the result equals SDMetrics run with
``report.num_rows_subsample = None`` and is deterministic. Up to 50 000 rows the parity is exact
up to floating-point summation order (~1e-15).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import pandas as pd

__all__ = [
    "ColumnArrays",
    "DEFAULT_REAL_ASSOCIATION_THRESHOLD",
    "DEFAULT_REAL_CORRELATION_THRESHOLD",
    "FidelityScores",
    "column_arrays",
    "quality_scores",
]

#: ``sdmetrics.reports.utils.DEFAULT_REAL_CORRELATION_THRESHOLD`` (set by the single-table report).
DEFAULT_REAL_CORRELATION_THRESHOLD = 0.5
#: ``sdmetrics.reports.utils.DEFAULT_REAL_ASSOCIATION_THRESHOLD`` (set by the single-table report).
DEFAULT_REAL_ASSOCIATION_THRESHOLD = 0.3

_KINDS = ("numerical", "categorical")
#: ``sdmetrics.single_column.statistical.kscomplement.MAX_DECIMALS`` (``sys.float_info.dig - 1``).
_KS_DECIMALS = 14
#: scipy ``ks_2samp(method="auto")`` uses the exact distribution (and snaps D) up to this size.
_KS_MAX_EXACT_N = 10_000
#: Count added to the real counter for synthetic-only values in SDMetrics' ``get_frequencies``.
_TV_REGULARISATION = 1e-6
#: ``ColumnPairTrends._discretize_column`` uses ``np.histogram_bin_edges``' default of 10 bins.
_N_BINS = 10
#: Real contingency tables up to this many cells get scipy's dense chi-squared arithmetic.
_DENSE_TABLE_CELLS = 1 << 20


@dataclass(frozen=True)
class FidelityScores:
    """SDMetrics QualityReport scores in [0, 1] (higher is better); ``None`` = undefined.

    ``column_pair_trends`` is the mean of the non-``None`` values of ``pair_scores``: a pair is
    ``None`` when its real trend is below the report's threshold or it cannot be computed, which
    is exactly the set SDMetrics leaves out of the average.
    """

    quality_score: float | None
    column_shapes: float | None
    column_pair_trends: float | None
    #: KSComplement / TVComplement per column, in ``kinds`` order.
    column_shape_scores: dict[str, float | None] = field(default_factory=dict)
    #: Correlation / contingency similarity per pair, in ``itertools.combinations(kinds)`` order.
    pair_scores: dict[tuple[str, str], float | None] = field(default_factory=dict)


class _Undefined(Exception):
    """A metric raised inside SDMetrics; the report records NaN for it."""


@dataclass(frozen=True)
class _Prepared:
    """One column of both frames in the forms the metrics need (built once, reused per pair)."""

    kind: str
    #: Numerical only: float64 values (NaN for nulls).
    real_values: np.ndarray | None
    synth_values: np.ndarray | None
    #: Contingency codes in ``[0, n_codes)``: categorical values with one extra code for nulls;
    #: numerical columns discretised per frame (``None`` if discretisation failed).
    real_codes: np.ndarray | None
    synth_codes: np.ndarray | None
    n_codes: int
    #: Numerical only: exactly one distinct non-null value in the real / synthetic frame, and
    #: whether the frame has a null (per column, not recomputed for each of its pairs).
    constant: tuple[bool, bool] = (False, False)
    has_null: tuple[bool, bool] = (True, True)


def _to_float(series: pd.Series) -> np.ndarray:
    """Float64 view of a numerical column (nulls of any kind become NaN)."""
    return pd.to_numeric(series, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)


def _discretise(values: np.ndarray) -> np.ndarray:
    """``ColumnPairTrends._discretize_column``: 10 equal-width bins fitted on this frame alone.

    Raises whatever numpy raises (e.g. non-finite range), which SDMetrics records as a failed
    discretisation.
    """
    edges = np.histogram_bin_edges(values[~np.isnan(values)])
    return np.digitize(values, bins=edges).astype(np.int64, copy=False)


class ColumnArrays:
    """A frame's compared columns as numpy arrays, the form :func:`quality_scores` scores:
    numerical columns as float64 (NaN for nulls), categorical ones as they are given (object
    values, or integer codes from :func:`coded_categories`). ``take_rows`` resamples them
    without pandas, which is what bootstrap replicates (``metrics.intervals.bootstrap``) do
    tens of times per check."""

    def __init__(self, arrays: Mapping[str, np.ndarray], rows: int) -> None:
        self.arrays, self.rows = dict(arrays), rows

    def __len__(self) -> int:
        return self.rows

    def take_rows(self, indices: np.ndarray) -> ColumnArrays:
        return ColumnArrays({name: values[indices] for name, values in self.arrays.items()}, len(indices))


def column_arrays(frame: pd.DataFrame, kinds: Mapping[str, str], coded: bool = False) -> ColumnArrays:
    """``frame``'s ``kinds`` columns as :class:`ColumnArrays` (``coded``: its categorical columns
    are :func:`coded_categories` codes)."""
    arrays: dict[str, np.ndarray] = {}
    for name, kind in kinds.items():
        series = frame[name]
        if kind == "numerical":
            arrays[name] = _to_float(series)
        else:
            arrays[name] = series.to_numpy(np.int64) if coded else series.astype(object).to_numpy()
    return ColumnArrays(arrays, len(frame))


def _prepare(real: np.ndarray, synthetic: np.ndarray, kind: str, coded: bool = False) -> _Prepared:
    """Encode one column of both frames once (arrays of :func:`column_arrays`), so every pair
    reuses the integer codes (``coded``: categorical columns already are codes)."""
    if kind == "numerical":
        real_values, synth_values = real, synthetic
        real_codes: np.ndarray | None
        synth_codes: np.ndarray | None
        try:
            real_codes, synth_codes = _discretise(real_values), _discretise(synth_values)
        except Exception:  # SDMetrics catches everything here too
            real_codes = synth_codes = None
        # np.digitize returns 0..len(edges) = 0..N_BINS + 1.
        return _Prepared(kind, real_values, synth_values, real_codes, synth_codes, _N_BINS + 2,
                         (_is_constant(real_values), _is_constant(synth_values)),
                         (bool(np.isnan(real_values).any()), bool(np.isnan(synth_values).any())))

    if coded:
        codes = np.concatenate([real, synthetic]).astype(np.int64, copy=False)
        n_values = int(codes.max(initial=-1)) + 1
    else:
        codes, uniques = pd.factorize(np.concatenate([real, synthetic]), use_na_sentinel=True)
        n_values = len(uniques)
    codes = np.where(codes < 0, n_values, codes).astype(np.int64, copy=False)  # null = own code
    n_real = len(real)
    return _Prepared(kind, None, None, codes[:n_real], codes[n_real:], n_values + 1)


def coded_categories(frames: Sequence[pd.DataFrame], kinds: Mapping[str, str]) -> list[pd.DataFrame]:
    """``frames`` with every categorical column of ``kinds`` replaced by integer codes shared by
    all of them (``-1``: null). :func:`quality_scores` gives the same scores on these as on the
    values (every score depends only on which cells are equal), without factorising the text
    again for every pair of frames and bootstrap replicate."""
    categorical = [name for name, kind in kinds.items() if kind == "categorical"]
    if not categorical:
        return list(frames)
    bounds = np.cumsum([0] + [len(frame) for frame in frames])
    coded = [frame.copy(deep=False) for frame in frames]
    for name in categorical:
        pooled = np.concatenate([frame[name].astype(object).to_numpy() for frame in frames])
        codes, _ = pd.factorize(pooled, use_na_sentinel=True)
        for i, frame in enumerate(coded):
            frame[name] = codes[bounds[i]:bounds[i + 1]].astype(np.int64)
    return coded


def _ks_complement(real: np.ndarray, synthetic: np.ndarray) -> float | None:
    """``KSComplement``: ``1 - D`` of ``scipy.stats.ks_2samp`` on rounded, non-null values."""
    data1 = np.sort(np.round(real[~np.isnan(real)], _KS_DECIMALS))
    data2 = np.sort(np.round(synthetic[~np.isnan(synthetic)], _KS_DECIMALS))
    n1, n2 = data1.size, data2.size
    if n1 == 0 or n2 == 0:
        return None
    # scipy evaluates both ECDFs at every pooled value; repeated values give identical
    # differences, so evaluating at the distinct pooled values (sorted: a stable sort of two
    # sorted runs is a linear merge, and sorted keys make searchsorted cache-friendly) gives
    # the same extremes.
    pooled = np.sort(np.concatenate([data1, data2]), kind="stable")
    distinct = pooled[np.concatenate(([True], pooled[1:] != pooled[:-1]))]
    cdf1 = np.searchsorted(data1, distinct, side="right") / n1
    cdf2 = np.searchsorted(data2, distinct, side="right") / n2
    diffs = cdf1 - cdf2
    min_s = float(np.clip(-diffs.min(), 0, 1))
    max_s = float(diffs.max())
    d = min_s if min_s > max_s else max_s
    if max(n1, n2) <= _KS_MAX_EXACT_N:
        # scipy's exact mode (``_attempt_exact_2kssamp``) snaps D to the lattice h / lcm.
        lcm = (n1 // math.gcd(n1, n2)) * n2
        d = int(np.round(d * lcm)) * 1.0 / lcm
    return 1.0 - d


def _tv_complement(real_codes: np.ndarray, synth_codes: np.ndarray, n_codes: int) -> float | None:
    """``TVComplement`` with SDMetrics' 1e-6 regularisation of synthetic-only values.

    The last code is the null code, which ``TVComplement`` drops.
    """
    n_values = n_codes - 1
    real_counts = np.bincount(real_codes, minlength=n_codes)[:n_values].astype(np.float64)
    synth_counts = np.bincount(synth_codes, minlength=n_codes)[:n_values].astype(np.float64)
    n_real, n_synth = real_counts.sum(), synth_counts.sum()
    if n_real == 0 or n_synth == 0:
        return None
    real_counts[(real_counts == 0) & (synth_counts > 0)] = _TV_REGULARISATION
    f_exp = real_counts / real_counts.sum()
    f_obs = synth_counts / n_synth
    return 1.0 - 0.5 * float(np.abs(f_obs - f_exp).sum())


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """``scipy.stats.pearsonr(x, y).statistic`` (NaN for constant input, exact ±1 for n = 2)."""
    n = x.size
    if n < 2:
        raise _Undefined("x and y must have length at least 2")
    if bool(np.all(x == x[0])) or bool(np.all(y == y[0])):
        return math.nan
    # Same operation order as scipy (centre, scale by the max to avoid overflow, normalise, dot)
    # but with numpy's pairwise sums instead of BLAS: a threaded BLAS dot on a busy 2-core box
    # costs milliseconds per call, far more than the arithmetic.
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        xm = x - x.mean()
        ym = y - y.mean()
        xmax = np.abs(xm).max()
        ymax = np.abs(ym).max()
        xs = xm / xmax
        ys = ym / ymax
        normxm = xmax * np.sqrt(np.sum(xs * xs))
        normym = ymax * np.sqrt(np.sum(ys * ys))
        r = float(np.clip(np.sum((xm / normxm) * (ym / normym)), -1.0, 1.0))
    if n == 2 and not math.isnan(r):
        r = float(np.round(r))
    return r


def _is_constant(values: np.ndarray) -> bool:
    """``Series.nunique() == 1``: exactly one distinct non-null value."""
    present = values[~np.isnan(values)]
    return present.size > 0 and bool(np.all(present == present[0]))


def _correlation_similarity(a: _Prepared, b: _Prepared, threshold: float) -> float | None:
    """``CorrelationSimilarity.compute_breakdown`` (Pearson) with the report's real threshold."""
    assert a.real_values is not None and a.synth_values is not None
    assert b.real_values is not None and b.synth_values is not None
    if any(a.constant) or any(b.constant):
        return None  # ConstantInputError
    r_real = _pearson(*_both_present(a.real_values, b.real_values, a.has_null[0] or b.has_null[0]))
    if abs(r_real) <= threshold:
        return None
    r_synth = _pearson(*_both_present(a.synth_values, b.synth_values, a.has_null[1] or b.has_null[1]))
    if math.isnan(r_real) or math.isnan(r_synth):
        return None
    return 1.0 - abs(r_real - r_synth) / 2.0


def _both_present(x: np.ndarray, y: np.ndarray, nulls: bool) -> tuple[np.ndarray, np.ndarray]:
    """The rows where neither value is null (``nulls``: whether either column has one)."""
    if not nulls:
        return x, y
    keep = ~(np.isnan(x) | np.isnan(y))
    return x[keep], y[keep]


def _dense_ids(codes: np.ndarray, n_codes: int) -> tuple[np.ndarray, int]:
    """Each code's rank among the distinct codes present (``np.unique(codes,
    return_inverse=True)[1]`` for codes in ``[0, n_codes)``, by counting instead of sorting),
    and how many distinct codes there are."""
    present = np.bincount(codes, minlength=n_codes) > 0
    rank = np.cumsum(present) - 1
    return rank[codes], int(present.sum())


def _cramers_v(rows: np.ndarray, cols: np.ndarray, counts: np.ndarray, n_row_codes: int, n_col_codes: int) -> float:
    """``scipy.stats.contingency.association(table, method="cramer")`` of the real table.

    The table is ``counts`` at (``rows``, ``cols``) over the rows/columns that occur, as
    ``groupby(...).size().unstack(fill_value=0)`` builds it. NaN when that table has fewer than
    two rows or columns (SDMetrics then scores the pair NaN).
    """
    row_idx, n_rows = _dense_ids(rows, n_row_codes)
    col_idx, n_cols = _dense_ids(cols, n_col_codes)
    total = float(counts.sum())
    if total == 0 or min(n_rows, n_cols) < 2:
        return math.nan
    row_sums = np.bincount(row_idx, weights=counts, minlength=n_rows)
    col_sums = np.bincount(col_idx, weights=counts, minlength=n_cols)
    if n_rows * n_cols <= _DENSE_TABLE_CELLS:
        observed = np.zeros((n_rows, n_cols))
        observed[row_idx, col_idx] = counts
        expected = row_sums[:, None] * col_sums[None, :] / total
        chi2 = float(((observed - expected) ** 2 / expected).sum())
    else:
        # sum (O - E)^2 / E = sum_{O > 0} O^2 / E - n, without materialising a huge table.
        expected = row_sums[row_idx] * col_sums[col_idx] / total
        chi2 = float((counts.astype(np.float64) ** 2 / expected).sum() - total)
    return math.sqrt(chi2 / total / min(n_rows - 1, n_cols - 1))


def _joint_counts(
    a_real: np.ndarray,
    b_real: np.ndarray,
    a_synth: np.ndarray,
    b_synth: np.ndarray,
    n_a: int,
    n_b: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts of every (a, b) combination in each frame: (cell ids, real counts, synth counts).

    Dense ``bincount`` when the code grid is small, ``np.unique`` over the cells that occur when
    both columns have many distinct values.
    """
    real_cells = a_real * n_b + b_real
    synth_cells = a_synth * n_b + b_synth
    n_cells = n_a * n_b
    if n_cells <= 2 * (real_cells.size + synth_cells.size) + 4096:
        real_counts = np.bincount(real_cells, minlength=n_cells)
        synth_counts = np.bincount(synth_cells, minlength=n_cells)
        cells = np.flatnonzero((real_counts > 0) | (synth_counts > 0))
        return cells, real_counts[cells], synth_counts[cells]
    cells, inverse = np.unique(np.concatenate([real_cells, synth_cells]), return_inverse=True)
    inverse = inverse.reshape(-1)
    real_counts = np.bincount(inverse[: real_cells.size], minlength=cells.size)
    synth_counts = np.bincount(inverse[real_cells.size :], minlength=cells.size)
    return cells, real_counts, synth_counts


def _contingency_similarity(a: _Prepared, b: _Prepared, threshold: float) -> float | None:
    """``ContingencySimilarity.compute_breakdown`` with the report's real association threshold."""
    if a.real_codes is None or b.real_codes is None:
        return None  # discretisation failed
    assert a.synth_codes is not None and b.synth_codes is not None
    cells, real_counts, synth_counts = _joint_counts(
        a.real_codes, b.real_codes, a.synth_codes, b.synth_codes, a.n_codes, b.n_codes
    )
    if threshold > 0:
        present = real_counts > 0
        association = _cramers_v(
            cells[present] // b.n_codes, cells[present] % b.n_codes, real_counts[present], a.n_codes, b.n_codes
        )
        if math.isnan(association) or association <= threshold:
            return None
    n_real, n_synth = a.real_codes.size, a.synth_codes.size
    real_freq = real_counts / n_real if n_real else np.zeros(cells.size)
    synth_freq = synth_counts / n_synth if n_synth else np.zeros(cells.size)
    return 1.0 - float(np.abs(real_freq - synth_freq).sum()) / 2.0


#: Pairs of small frames (at most this many rows in both together) whose code grid has at most
#: ``_BATCH_PAIR_CELLS`` cells are scored together by ``_contingency_batch``; larger frames and
#: grids keep ``_contingency_similarity`` pair by pair (there the counting, not the per-call
#: overhead, is the cost, and per-pair arrays stay in cache).
_BATCH_MAX_ROWS = 4096
_BATCH_PAIR_CELLS = 1 << 14
#: Codes (rows x pairs) one step of ``_contingency_batch`` lays out at most (2 MB per frame).
_BATCH_CODES = 1 << 18


def _contingency_batch(pairs: Sequence[tuple[_Prepared, _Prepared]], threshold: float) -> list[float | None]:
    """``_contingency_similarity`` of many pairs of small frames at once: every pair's joint
    table is a slice of one ``bincount`` per frame, and the real tables' chi-squared (hence
    Cramér's V) and the TVDs are summed per slice. Over the present rows and columns of a
    table ``sum (O - E)^2 / E = sum_{O > 0} O^2 / E - n`` (E sums to n), so only the cells
    that occur count. Same scores as the pair-by-pair path up to floating-point summation order
    (a pair at exactly the association threshold could fall either side); on 15 columns of
    1,000 rows it is ~3x faster, which is what the bootstrap intervals (tens of reports per
    check) pay for."""
    scores: list[float | None] = [None] * len(pairs)
    if not pairs:
        return scores
    a0 = pairs[0][0]
    assert a0.real_codes is not None and a0.synth_codes is not None
    n_real, n_synth = a0.real_codes.size, a0.synth_codes.size
    # Each column's real code counts (a pair's margins), once per column.
    margins = {id(column): np.bincount(column.real_codes, minlength=column.n_codes)  # type: ignore[arg-type]
               for pair in pairs for column in pair}
    # Chunks of at most _BATCH_CODES codes (rows x pairs) and as many cells (the pairs' grids).
    start = 0
    while start < len(pairs):
        stop, codes, cells = start, 0, 0
        while stop < len(pairs) and (stop == start or (codes + n_real + n_synth <= _BATCH_CODES
                                                       and cells + pairs[stop][0].n_codes * pairs[stop][1].n_codes <= _BATCH_CODES)):
            codes += n_real + n_synth
            cells += pairs[stop][0].n_codes * pairs[stop][1].n_codes
            stop += 1
        scores[start:stop] = _contingency_chunk(pairs[start:stop], threshold, n_real, n_synth, margins)
        start = stop
    return scores


def _contingency_chunk(pairs: Sequence[tuple[_Prepared, _Prepared]], threshold: float, n_real: int,
                       n_synth: int, margins: Mapping[int, np.ndarray]) -> list[float | None]:
    heights = np.array([a.n_codes for a, _ in pairs], dtype=np.int64)
    widths = np.array([b.n_codes for _, b in pairs], dtype=np.int64)
    sizes = heights * widths
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    total = int(sizes.sum())
    n_pairs = len(pairs)

    def counts(side: str) -> np.ndarray:
        firsts = np.stack([getattr(a, side) for a, _ in pairs])
        seconds = np.stack([getattr(b, side) for _, b in pairs])
        return np.bincount((offsets[:, None] + firsts * widths[:, None] + seconds).ravel(), minlength=total).astype(np.float64)

    real, synth = counts("real_codes"), counts("synth_codes")
    pair_of = np.repeat(np.arange(n_pairs), sizes)
    keep = np.ones(n_pairs, dtype=bool)
    if threshold > 0:
        if n_real == 0:
            return [None] * n_pairs
        seen = np.flatnonzero(real > 0)
        pair_seen = pair_of[seen]
        local = seen - offsets[pair_seen]
        first_margins = [margins[id(a)] for a, _ in pairs]
        second_margins = [margins[id(b)] for _, b in pairs]
        row_start = np.concatenate(([0], np.cumsum(heights)[:-1]))
        col_start = np.concatenate(([0], np.cumsum(widths)[:-1]))
        rows = np.concatenate(first_margins)[row_start[pair_seen] + local // widths[pair_seen]]
        cols = np.concatenate(second_margins)[col_start[pair_seen] + local % widths[pair_seen]]
        observed = real[seen]
        chi2 = np.bincount(pair_seen, weights=observed * observed * n_real / (rows * cols.astype(np.float64)), minlength=n_pairs) - n_real
        present_rows = np.array([np.count_nonzero(m) for m in first_margins])
        present_cols = np.array([np.count_nonzero(m) for m in second_margins])
        dof = np.minimum(present_rows, present_cols) - 1
        with np.errstate(invalid="ignore", divide="ignore"):
            association = np.sqrt(np.maximum(chi2, 0.0) / n_real / dof)
        keep = (dof >= 1) & (association > threshold)
    real_freq = real / n_real if n_real else np.zeros(total)
    synth_freq = synth / n_synth if n_synth else np.zeros(total)
    tvd = np.bincount(pair_of, weights=np.abs(real_freq - synth_freq), minlength=n_pairs) / 2.0
    return [1.0 - float(tvd[i]) if keep[i] else None for i in range(n_pairs)]


def _pair_score(
    a: _Prepared, b: _Prepared, correlation_threshold: float, association_threshold: float
) -> float | None:
    """Score one pair the way ``ColumnPairTrends._generate_details`` does (errors -> None)."""
    try:
        if a.kind == "numerical" and b.kind == "numerical":
            return _correlation_similarity(a, b, correlation_threshold)
        return _contingency_similarity(a, b, association_threshold)
    except _Undefined:
        return None


def _mean(values: Iterable[float | None]) -> float | None:
    """Mean of the defined values (pandas' ``Series.mean`` skips NaN); ``None`` if there are none."""
    defined = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(defined)) if defined else None


def _check_threshold(name: str, value: float) -> None:
    """Same range SDMetrics' metrics validate (they raise on anything outside [0, 1])."""
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number between 0 and 1")


def quality_scores(
    real: pd.DataFrame | ColumnArrays,
    synthetic: pd.DataFrame | ColumnArrays,
    kinds: Mapping[str, str],
    *,
    real_correlation_threshold: float = DEFAULT_REAL_CORRELATION_THRESHOLD,
    real_association_threshold: float = DEFAULT_REAL_ASSOCIATION_THRESHOLD,
    coded: bool = False,
) -> FidelityScores:
    """SDMetrics' single-table QualityReport scores, computed natively (see module docstring).

    ``kinds`` maps every compared column to ``"numerical"`` (float64, NaN for nulls, datetimes as
    epoch seconds) or ``"categorical"`` (object dtype: str/bool values, ``None`` for nulls); its
    order is the metadata order, which fixes the pair order. Columns not in ``kinds`` are ignored.
    The thresholds default to the report's own; set them to the values of a report whose
    ``real_correlation_threshold`` / ``real_association_threshold`` attributes were changed
    (``0`` scores every pair, as SDMetrics then does). ``real`` and ``synthetic`` may be
    :class:`ColumnArrays` of these columns instead (the bootstrap's replicates).
    """
    _check_threshold("real_correlation_threshold", real_correlation_threshold)
    _check_threshold("real_association_threshold", real_association_threshold)
    bad = sorted(str(name) for name, kind in kinds.items() if kind not in _KINDS)
    if bad:
        raise ValueError(f"unknown column kind for: {', '.join(bad)}")
    arrays = []
    for label, frame in (("real", real), ("synthetic", synthetic)):
        columns = frame.arrays if isinstance(frame, ColumnArrays) else frame.columns
        missing = [str(name) for name in kinds if name not in columns]
        if missing:
            raise ValueError(f"{label} frame lacks columns: {', '.join(missing)}")
        arrays.append(frame if isinstance(frame, ColumnArrays) else column_arrays(frame, kinds, coded))
    real_arrays, synth_arrays = (a.arrays for a in arrays)

    prepared = {name: _prepare(real_arrays[name], synth_arrays[name], kind, coded) for name, kind in kinds.items()}

    shape_scores: dict[str, float | None] = {}
    for name, column in prepared.items():
        if column.kind == "numerical":
            assert column.real_values is not None and column.synth_values is not None
            shape_scores[name] = _ks_complement(column.real_values, column.synth_values)
        else:
            assert column.real_codes is not None and column.synth_codes is not None
            shape_scores[name] = _tv_complement(
                column.real_codes, column.synth_codes, column.n_codes
            )

    pair_scores: dict[tuple[str, str], float | None] = {}
    rows = len(real) + len(synthetic)
    small = rows <= _BATCH_MAX_ROWS
    batched: list[tuple[str, str]] = []
    for first, second in combinations(prepared, 2):
        a, b = prepared[first], prepared[second]
        if ("categorical" in (a.kind, b.kind) and small and a.real_codes is not None and b.real_codes is not None
                and a.n_codes * b.n_codes <= min(_BATCH_PAIR_CELLS, 2 * rows + 4096)):  # a dense grid, as _joint_counts
            batched.append((first, second))
            pair_scores[(first, second)] = None  # keeps the combinations order
            continue
        pair_scores[(first, second)] = _pair_score(a, b, real_correlation_threshold, real_association_threshold)
    together = _contingency_batch([(prepared[first], prepared[second]) for first, second in batched], real_association_threshold)
    pair_scores.update(zip(batched, together, strict=True))

    column_shapes = _mean(shape_scores.values())
    column_pair_trends = _mean(pair_scores.values())
    return FidelityScores(
        quality_score=_mean((column_shapes, column_pair_trends)),
        column_shapes=column_shapes,
        column_pair_trends=column_pair_trends,
        column_shape_scores=shape_scores,
        pair_scores=pair_scores,
    )
