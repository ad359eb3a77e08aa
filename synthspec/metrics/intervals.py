"""Uncertainty of sampled metrics: the interval a gate decides on, and the sample sizes behind it.

A metric computed on a sample of rows is a noisy estimate: quality of a perfect copy of the
population scores ~0.78 on 100 rows and ~0.99 on 30 000 (measured on UCI Adult, real vs real).
So every sampled metric reports a two-sided 90% interval, and the gate can decide on the
interval instead of the point (see ``metrics.checks.evaluate``). Two estimators:

* ``wilson``: the Wilson score interval of a share (dcr_share, exact_match_rate), over the
  effective number of independent trials given by the metric (never more than its references).
* ``bootstrap``: a normal-approximation bootstrap over rows. Each replicate resamples the rows
  of both frames with replacement and recomputes the statistic; the interval is the point
  estimate ± z × the replicates' standard deviation. Centering on the point (not on the
  replicates) removes the downward bias that duplicated rows give distribution scores; the
  normal form is stable with the few replicates the cost budget allows. Frames larger than
  ``max_rows`` are resampled at ``max_rows`` rows (an m-out-of-n bootstrap) and the spread is
  scaled by ``sqrt(m / n)``, the rate of a root-n statistic, so large tables stay cheap.

Everything is seeded: same inputs and seed give the same interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: Two-sided level of every interval (z = 1.645): a gate that fails only when the whole interval
#: is on the wrong side fails a table at its threshold about 5% of the time.
LEVEL = 0.90
Z = 1.6448536269514722
#: Bootstrap replicates and the rows per frame a replicate draws at most. Measured on Adult
#: (15 columns): a quality_scores call on 1000-row replicates resampled as numpy arrays costs
#: ~6 ms (its contingency pairs scored together, see ``fidelity._contingency_batch``), so the
#: two bootstraps of an apply (quality intervals, min_relative's baseline) add ~0.15 s to a
#: ~3.5 s apply; a standard deviation from 12 replicates is within ~20% of its limit, enough
#: to tell noise from a regression.
REPLICATES = 12
MAX_ROWS = 1000


@dataclass(frozen=True)
class Interval:
    """A two-sided interval around a metric's value; ``method`` names the estimator."""

    low: float
    high: float
    method: str
    level: float = LEVEL

    def to_dict(self) -> dict[str, object]:
        return {"low": self.low, "high": self.high, "method": self.method, "level": self.level}


#: The two-sample Kolmogorov-Smirnov critical coefficient at the 10% level (c(α) = sqrt(-ln(α/2)/2)).
KS_C = math.sqrt(-math.log(0.05) / 2)


def ks_similarity(value: float, n: int, m: int) -> Interval | None:
    """An interval around ``1 - KS`` (cardinality) of two samples of ``n`` and ``m`` parents:
    ± the KS statistic two samples of one distribution exceed only 10% of the time at these
    sizes. Over 8 parents that is ±0.61 (nothing can be told), over 600 ±0.07."""
    if n < 1 or m < 1:
        return None
    half = KS_C * math.sqrt((n + m) / (n * m))
    return Interval(max(0.0, value - half), min(1.0, value + half), "ks")


def wilson(successes: float, trials: int, *, bounds: tuple[float, float] = (0.0, 1.0)) -> Interval | None:
    """Wilson score interval of ``successes / trials`` (``successes`` may be fractional: ties
    count half in dcr_share). None without a trial."""
    if trials <= 0:
        return None
    p = min(max(successes / trials, 0.0), 1.0)
    z2 = Z * Z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = Z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return Interval(max(bounds[0], centre - half), min(bounds[1], centre + half), "wilson")


def bootstrap(
    statistic: Callable[..., Mapping[str, float | None]],
    frames: Sequence[Any],
    points: Mapping[str, float | None],
    *,
    seed: int,
    replicates: int = REPLICATES,
    max_rows: int = MAX_ROWS,
    bounds: tuple[float, float] = (0.0, 1.0),
) -> dict[str, Interval]:
    """Normal-approximation bootstrap intervals of the statistics ``statistic(*frames)``
    returns (one call gives several, e.g. the three QualityReport scores), around ``points``.
    ``frames``: DataFrames, or frames with ``take_rows(positions)`` and ``len``.

    Each replicate resamples every frame's rows with replacement (at most ``max_rows`` each,
    drawn from ``numpy.random.default_rng([seed, ...])``); a statistic undefined in a replicate
    is skipped there. A statistic gets no interval when its point is undefined, fewer than two
    replicates define it, or a frame is empty."""
    import numpy as np

    if any(len(frame) == 0 for frame in frames):
        return {}
    rng = np.random.default_rng([seed, 0xB007])
    sizes = [min(len(frame), max_rows) for frame in frames]
    values: dict[str, list[float]] = {name: [] for name, point in points.items() if point is not None}
    for _ in range(replicates):
        picks = [_resampled(frame, rng.integers(0, len(frame), size)) for frame, size in zip(frames, sizes, strict=True)]
        for name, value in statistic(*picks).items():
            if name in values and value is not None and math.isfinite(value):
                values[name].append(float(value))
    # m-out-of-n: the variance of a two-sample score goes as the sum of 1/rows over the frames.
    scale = math.sqrt(sum(1 / len(frame) for frame in frames) / sum(1 / m for m in sizes))
    out: dict[str, Interval] = {}
    for name, seen in values.items():
        if len(seen) >= 2:
            point = float(points[name])  # type: ignore[arg-type]
            half = Z * float(np.std(seen, ddof=1)) * scale
            out[name] = Interval(max(bounds[0], point - half), min(bounds[1], point + half), "bootstrap")
    return out


def _resampled(frame: object, rows: object) -> object:
    """``frame``'s ``rows`` (positions, repeats allowed) with a fresh index: a DataFrame's, or
    those of any frame offering ``take_rows`` (``fidelity.ColumnArrays``: numpy only)."""
    take_rows = getattr(frame, "take_rows", None)
    if take_rows is not None:
        return take_rows(rows)
    return frame.iloc[rows].reset_index(drop=True)  # type: ignore[attr-defined]


def ratio_interval(ratio: float | None, baseline: float | None, baseline_interval: Interval | None) -> Interval | None:
    """Interval of ``synthetic / baseline`` where both scores are taken at the same sizes (the
    synthetic rows subsampled to the holdout's size) and ``baseline_interval`` is the real
    score's. Under the hypothesis a relative threshold tests (the synthetic rows are as good as
    real ones) both scores have the same spread ``s``, so by the delta method the ratio's is
    ``s / baseline * sqrt(1 + ratio**2)``: one bootstrap instead of two. (Not ``ratio * sqrt(2)``
    times the baseline's relative spread, which takes the synthetic score's *relative* spread
    for the baseline's and narrows the interval of a low ratio: a 37-row table whose 7-row
    holdout scored 0.73 failed at 0.61 of it "beyond noise".)"""
    if ratio is None or baseline is None or baseline_interval is None or baseline <= 0:
        return None
    relative_half = (baseline_interval.high - baseline_interval.low) / 2 / baseline
    half = math.sqrt(1.0 + ratio**2) * relative_half
    return Interval(max(0.0, ratio - half), ratio + half, "bootstrap ratio")


__all__ = ["LEVEL", "MAX_ROWS", "REPLICATES", "Z", "Interval", "bootstrap", "ratio_interval", "wilson"]
