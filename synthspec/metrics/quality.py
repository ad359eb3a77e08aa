"""Fidelity scores from SDMetrics' single-table ``QualityReport``.

``quality_score`` is the mean of two properties: ``column_shapes`` (per column, KSComplement for
numerical and TVComplement for categorical columns) and ``column_pair_trends`` (per column pair,
correlation similarity or contingency similarity). SDMetrics 0.32 averages pair trends only over
pairs whose *real* correlation (|r| > 0.5) or association (Cramér's V > 0.3) is strong enough to
be a trend worth reproducing; when no pair qualifies the property is undefined and
``column_pair_trends`` is ``None`` (``quality_score`` is then ``column_shapes``).

What this wrapper adds, and why:

* Metadata is built from the spec's ``kinds`` and never detected from data: detection would
  let a synthesizer's output types change which metric scores a column.
* Frames are normalised (float64 / str) so bool-valued categoricals and ``int``/``category``
  dtypes score like the contract types they stand for.
* Columns null in *both* frames carry no shape and are skipped (listed in
  ``skipped_columns``). A column null in only one frame (e.g. a synthesizer that lost a
  column) gets shape score 0: SDMetrics would silently drop it as incomputable and report a
  perfect score. Pairs involving such columns are not scored.
* Determinism: SDMetrics subsamples large frames with numpy's *global* random state; instead
  frames above ``max_rows`` are subsampled here with a seeded generator and SDMetrics'
  subsampling is turned off.
* SDMetrics' warnings (deprecation of the single-table report class, runtime warnings on
  degenerate columns) and any console output are suppressed.

SDMetrics is imported inside :func:`quality_report` so importing ``synthspec.metrics`` stays
fast for commands that never compute quality.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synthspec.metrics._frames import check_kinds, normalise

_SHAPES = "Column Shapes"
_PAIRS = "Column Pair Trends"


@dataclass(frozen=True)
class QualityScores:
    """Scores in [0, 1] (higher is better); ``None`` where nothing could be scored."""

    quality_score: float | None
    column_shapes: float | None
    column_pair_trends: float | None
    #: Shape score per column; ``None`` for a column SDMetrics could not score.
    column_shape_scores: dict[str, float | None] = field(default_factory=dict)
    #: Number of column pairs that met SDMetrics' real-trend threshold and were averaged.
    n_pairs_scored: int = 0
    #: Columns left out because they are null in both frames.
    skipped_columns: tuple[str, ...] = ()


def _finite_or_none(value: object) -> float | None:
    """``float(value)``, or ``None`` for NaN/None/non-numbers (undefined scores)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _subsample(frame: pd.DataFrame, max_rows: int | None, rng: np.random.Generator) -> pd.DataFrame:
    """At most ``max_rows`` rows, chosen by ``rng`` and kept in their original order."""
    if max_rows is None or len(frame) <= max_rows:
        return frame
    keep = np.sort(rng.choice(len(frame), size=max_rows, replace=False))
    return frame.iloc[keep].reset_index(drop=True)


def _run_report(real: pd.DataFrame, synthetic: pd.DataFrame, metadata: dict) -> object:
    """Generate an SDMetrics QualityReport silently and deterministically."""
    sink = io.StringIO()
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
    ):
        warnings.simplefilter("ignore")
        from sdmetrics.reports.single_table import QualityReport

        report = QualityReport()
        # Never let SDMetrics sample with the global numpy RNG (see module docstring).
        report.num_rows_subsample = None
        report.generate(real, synthetic, metadata, verbose=False)
    return report


def quality_report(
    real: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, str],
    *,
    seed: int = 0,
    max_rows: int | None = 50_000,
) -> QualityScores:
    """Score how closely ``synthetic`` reproduces ``real`` (SDMetrics QualityReport).

    ``kinds`` maps each compared column to ``"numerical"`` or ``"categorical"``. Frames larger
    than ``max_rows`` are subsampled with ``numpy.random.default_rng(seed)`` (50 000 is
    SDMetrics' own default subsample size for pair trends); ``None`` scores every row.
    Same inputs and seed give the same scores.
    """
    columns = check_kinds(kinds, ("real", real), ("synthetic", synthetic))
    rng = np.random.default_rng(seed)
    real_n = _subsample(normalise(real, columns, kinds), max_rows, rng)
    synth_n = _subsample(normalise(synthetic, columns, kinds), max_rows, rng)

    shape_scores: dict[str, float | None] = {}
    skipped: list[str] = []
    scored: list[str] = []
    for name in columns:
        real_empty = bool(real_n[name].isna().all())
        synth_empty = bool(synth_n[name].isna().all())
        if real_empty and synth_empty:
            skipped.append(name)
        elif real_empty or synth_empty:
            shape_scores[name] = 0.0
        else:
            scored.append(name)

    pairs: float | None = None
    n_pairs = 0
    if scored:
        metadata = {"columns": {name: {"sdtype": kinds[name]} for name in scored}}
        report = _run_report(real_n[scored], synth_n[scored], metadata)
        shapes = report.get_details(_SHAPES)  # type: ignore[attr-defined]
        for name, score in zip(shapes["Column"], shapes["Score"], strict=True):
            shape_scores[str(name)] = _finite_or_none(score)
        if len(scored) > 1:
            details = report.get_details(_PAIRS)  # type: ignore[attr-defined]
            meets = details["Meets Threshold?"].astype("boolean").fillna(False).to_numpy(bool)
            values = pd.to_numeric(details["Score"], errors="coerce").to_numpy(float)[meets]
            values = values[np.isfinite(values)]
            n_pairs = int(values.size)
            pairs = float(values.mean()) if n_pairs else None

    ordered = {name: shape_scores[name] for name in columns if name in shape_scores}
    defined = [v for v in ordered.values() if v is not None]
    shapes_mean = float(np.mean(defined)) if defined else None
    parts = [v for v in (shapes_mean, pairs) if v is not None]
    return QualityScores(
        quality_score=float(np.mean(parts)) if parts else None,
        column_shapes=shapes_mean,
        column_pair_trends=pairs,
        column_shape_scores=ordered,
        n_pairs_scored=n_pairs,
        skipped_columns=tuple(skipped),
    )
