"""What the reviewer's report shows beyond the checks, computed while the data is at hand.

`synthspec report` re-renders report.html and report.pdf from run_results.json alone, so every
number a chart needs is computed here, at check time, and stored with the run. Everything
follows the privacy rule of :mod:`synthspec.metrics.profile` (the source of the coarse grids):

* column summaries: missing shares and distinct counts (counts, no value); a quantile is
  stored as the profile bin holding it (the grid never sits at the real minimum or maximum),
  so it is known to within a bin only; the most frequent category
  is named only when the profile shows it (at least ``MIN_CATEGORY_COUNT`` real rows);
* correlations: one association per column pair (Spearman's rank correlation between two
  numerical columns, Cramér's V otherwise, numerical columns cut on their profile grid): an
  aggregate over at least ``MIN_NUMERICAL_ROWS`` rows, no row;
* bivariate views: shares of rows per cell of two profiles' bins; a real cell held by fewer
  than ``MIN_CATEGORY_COUNT`` rows is suppressed (``None``), like a rare category;
* distances to the closest record: shares of synthetic rows per bin of a fixed grid of Gower
  distances (a distance is not a cell value).

Pure functions on model frames (see ``synthspec.metrics._frames``); nothing is read or written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from synthspec.metrics._frames import normalise
from synthspec.metrics.profile import (
    MIN_CATEGORY_COUNT,
    MIN_NUMERICAL_ROWS,
    MISSING,
    OTHER,
    ColumnProfile,
)

if TYPE_CHECKING:
    # numpy and pandas load on first use: `validate`, `plan` and a no-op `apply` import
    # this module (for its dataclasses) and never compute with it.
    import numpy as np
    import pandas as pd

#: Quantiles of the column summary (snapped to the profile grid).
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Columns in the correlation heatmaps (the first ones in spec order; a wider matrix is unreadable).
MAX_HEATMAP_COLUMNS = 16
#: Worst column pairs shown as bivariate views.
MAX_PAIRS = 3
#: Rows per frame behind the associations (a seeded subsample: the matrix is a picture, not a gate).
MAX_ASSOCIATION_ROWS = 5000
#: Distance-to-closest-record histogram: bins of this Gower width up to ``DCR_TOP``; beyond is one open bin.
DCR_WIDTH, DCR_TOP = 0.02, 0.4


@dataclass
class ColumnSummary:
    """One modelled column, real beside synthetic. ``quantiles`` map ``"p5"``... to the
    ``[real, synthetic]`` profile bins holding them (absent when the column has no profile grid)."""

    name: str
    kind: str
    missing: list[float]
    distinct: list[int]
    score: float | None = None
    quantiles: dict[str, list[int]] = field(default_factory=dict)
    top: str | None = None


@dataclass
class Bivariate:
    """Shares of rows per (row label, column label) cell; ``real`` cells are None when suppressed."""

    columns: list[str]
    score: float | None
    row_labels: list[str]
    col_labels: list[str]
    real: list[list[float | None]]
    synthetic: list[list[float]]


@dataclass
class DcrHistogram:
    """Shares of compared synthetic rows per distance bin, to the closest training row and to
    the closest holdout row. ``edges``: bin edges (the last bin is open: ``>= edges[-1]``);
    ``exact``: the shares at distance 0 (identical rows), which the first bin also counts."""

    edges: list[float]
    train: list[float]
    holdout: list[float]
    exact: list[float]
    median: list[float]
    #: Synthetic rows compared (a seeded sample; see ``privacy.dcr_distances``).
    rows: int = 0
    #: Training rows and as many holdout rows each synthetic row is compared with (nearer
    #: neighbours among more rows: distances shrink with this, so both sides use the same).
    references: int = 0


@dataclass
class TableInsights:
    """Everything the report draws beyond checks and profiles (see the module's privacy rule)."""

    seed: int | None = None
    n_train: int | None = None
    n_holdout: int | None = None
    n_synthetic: int | None = None
    training_fingerprint: str | None = None
    #: The full sizes, set only when the sizes above are bounded samples of them (see
    #: ``engine.checked.CHECK_ROWS``): the metrics and charts were computed on samples.
    n_train_total: int | None = None
    n_holdout_total: int | None = None
    n_synthetic_total: int | None = None
    columns: list[ColumnSummary] = field(default_factory=list)
    heatmap_columns: list[str] = field(default_factory=list)
    real_association: list[list[float | None]] = field(default_factory=list)
    synthetic_association: list[list[float | None]] = field(default_factory=list)
    pairs: list[Bivariate] = field(default_factory=list)
    dcr: DcrHistogram | None = None
    #: Why the charts are missing, when computing them failed (the exception class only).
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _rounded(asdict(self))

    def sampled(self) -> str | None:
        """"computed on samples of ..." for the report's run details, or None when every row
        was used."""
        if self.n_synthetic_total is None:
            return None
        return (f"samples of {self.n_train:,} training / {self.n_holdout:,} holdout / {self.n_synthetic:,} synthetic rows "
                f"(exact_match_rate: every real row)")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableInsights:
        dcr = data.get("dcr")
        return cls(seed=data.get("seed"), n_train=data.get("n_train"), n_holdout=data.get("n_holdout"),
                   n_synthetic=data.get("n_synthetic"), training_fingerprint=data.get("training_fingerprint"),
                   n_train_total=data.get("n_train_total"), n_holdout_total=data.get("n_holdout_total"),
                   n_synthetic_total=data.get("n_synthetic_total"),
                   columns=[ColumnSummary(**c) for c in data.get("columns", [])],
                   heatmap_columns=list(data.get("heatmap_columns", [])),
                   real_association=[list(r) for r in data.get("real_association", [])],
                   synthetic_association=[list(r) for r in data.get("synthetic_association", [])],
                   pairs=[Bivariate(**p) for p in data.get("pairs", [])],
                   dcr=DcrHistogram(**dcr) if dcr else None, error=data.get("error"))


def _rounded(value: Any) -> Any:
    """Floats at run_results.json's precision (6 decimals), so a re-render draws the same."""
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def table_insights(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, str],
                   profiles: Sequence[ColumnProfile], *, seed: int, column_scores: Mapping[str, float | None],
                   pair_scores: Mapping[tuple[str, str], float | None],
                   dcr_distances: tuple[np.ndarray, np.ndarray] | None = None) -> TableInsights:
    """The report's data for one table. ``train``/``synthetic``: model frames; ``profiles``:
    the grids (see ``metrics.profile``); scores from the QualityReport; ``dcr_distances``: the
    per-row Gower distances to the closest training and holdout rows (``privacy.dcr_distances``)."""
    import numpy as np

    columns = list(kinds)
    real_n, synth_n = normalise(train, columns, kinds), normalise(synthetic, columns, kinds)
    by_name = {p.name: p for p in profiles}
    rng = np.random.default_rng([seed, 0x1A51])
    real_s, synth_s = _subsample(real_n, rng), _subsample(synth_n, rng)
    heat = [c for c in columns if c in by_name][:MAX_HEATMAP_COLUMNS]
    enough = len(real_s) >= MIN_NUMERICAL_ROWS and len(synth_s) >= MIN_NUMERICAL_ROWS
    worst = sorted(((s, pair) for pair, s in pair_scores.items() if s is not None and all(c in by_name for c in pair)),
                   key=lambda item: (item[0], item[1]))[:MAX_PAIRS]
    return TableInsights(
        seed=seed, n_train=len(train), n_holdout=len(holdout), n_synthetic=len(synthetic),
        columns=[_summary(name, kinds[name], real_n[name], synth_n[name], by_name.get(name), column_scores.get(name))
                 for name in columns],
        heatmap_columns=heat if enough else [],
        real_association=association_matrix(real_s, heat, kinds, by_name) if enough else [],
        synthetic_association=association_matrix(synth_s, heat, kinds, by_name) if enough else [],
        pairs=[bivariate(real_n, synth_n, by_name[a], by_name[b], score) for score, (a, b) in worst],
        dcr=dcr_histogram(*dcr_distances) if dcr_distances is not None else None,
    )


def _subsample(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    import numpy as np

    if len(frame) <= MAX_ASSOCIATION_ROWS:
        return frame
    return frame.iloc[np.sort(rng.choice(len(frame), MAX_ASSOCIATION_ROWS, replace=False))].reset_index(drop=True)


def _summary(name: str, kind: str, real: pd.Series, synthetic: pd.Series, profile: ColumnProfile | None,
             score: float | None) -> ColumnSummary:
    """Counts for every column; grid-snapped quantiles or the profile's top category."""
    import numpy as np

    summary = ColumnSummary(name, kind, [_missing(real), _missing(synthetic)],
                            [int(real.nunique(dropna=True)), int(synthetic.nunique(dropna=True))], score)
    if profile is None:
        return summary
    if kind == "numerical" and profile.edges:
        edges = np.asarray(profile.edges)
        for q in QUANTILES:
            pair = [_bin_of(series, q, edges) for series in (real, synthetic)]
            if all(v is not None for v in pair):
                summary.quantiles[f"p{round(q * 100)}"] = [int(v) for v in pair if v is not None]
    elif kind == "categorical" and profile.labels and profile.labels[0] not in (OTHER, MISSING):
        summary.top = profile.labels[0]
    return summary


def _missing(series: pd.Series) -> float:
    return float(series.isna().mean()) if len(series) else 0.0


def _bin_of(series: pd.Series, q: float, edges: np.ndarray) -> int | None:
    """The profile bin (0-based, end bins open) holding the ``q`` quantile: the report prints
    the bin's label, so a quantile is known to within a bin of the safe grid only."""
    import numpy as np

    values = series.dropna().to_numpy(dtype="float64")
    if not values.size:
        return None
    value = float(np.quantile(values, q))
    return int(np.clip(np.searchsorted(edges, value, side="right") - 1, 0, len(edges) - 2))


def _codes(series: pd.Series, profile: ColumnProfile) -> np.ndarray:
    """Each value's position in ``_labels(profile)`` (bins clipped into the end bins, other, missing)."""
    import numpy as np

    labels = _labels(profile)
    other, missing = labels.index(OTHER), labels.index(MISSING)
    if profile.kind == "numerical" and profile.edges:
        edges = np.asarray(profile.edges)
        values = series.to_numpy(dtype="float64")
        bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)
        return np.where(np.isnan(values), missing, bins).astype(np.int64)
    index = {label: i for i, label in enumerate(labels) if label not in (OTHER, MISSING)}
    codes = series.map(index).fillna(other).to_numpy(dtype="float64")
    return np.where(series.isna().to_numpy(), missing, codes).astype(np.int64)


def _labels(profile: ColumnProfile) -> list[str]:
    """The profile's bars, plus ``other`` and ``missing`` when it has none (empty there)."""
    return [*profile.labels, *(extra for extra in (OTHER, MISSING) if extra not in profile.labels)]


def association_matrix(frame: pd.DataFrame, columns: list[str], kinds: Mapping[str, str],
                       profiles: Mapping[str, ColumnProfile]) -> list[list[float | None]]:
    """Symmetric matrix of associations: Spearman between numerical columns (signed), Cramér's
    V otherwise (in [0, 1]); None where undefined (a constant column)."""
    codes = {c: _codes(frame[c], profiles[c]) for c in columns}
    matrix: list[list[float | None]] = [[1.0 if i == j else None for j in range(len(columns))] for i in range(len(columns))]
    for i, a in enumerate(columns):
        for j in range(i + 1, len(columns)):
            b = columns[j]
            if kinds[a] == kinds[b] == "numerical":
                value = _spearman(frame[a].to_numpy(dtype="float64"), frame[b].to_numpy(dtype="float64"))
            else:
                value = _cramers_v(codes[a], codes[b])
            matrix[i][j] = matrix[j][i] = value
    return matrix


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    import numpy as np
    import pandas as pd

    ok = ~(np.isnan(a) | np.isnan(b))
    if ok.sum() < MIN_NUMERICAL_ROWS:
        return None
    ra, rb = pd.Series(a[ok]).rank().to_numpy(), pd.Series(b[ok]).rank().to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


def _cramers_v(a: np.ndarray, b: np.ndarray) -> float | None:
    import numpy as np

    table = np.zeros((int(a.max()) + 1, int(b.max()) + 1))
    np.add.at(table, (a, b), 1.0)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    n, k = table.sum(), min(table.shape) - 1
    if n == 0 or k == 0:
        return None
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    return float(min(1.0, math.sqrt(chi2 / (n * k))))


def bivariate(real: pd.DataFrame, synthetic: pd.DataFrame, rows: ColumnProfile, cols: ColumnProfile,
              score: float | None) -> Bivariate:
    """Shares per cell of two profiles' bars; real cells under ``MIN_CATEGORY_COUNT`` rows
    suppressed; bars empty on both sides left out."""
    import numpy as np

    row_labels, col_labels = _labels(rows), _labels(cols)

    def grid(frame: pd.DataFrame) -> np.ndarray:
        counts = np.zeros((len(row_labels), len(col_labels)))
        np.add.at(counts, (_codes(frame[rows.name], rows), _codes(frame[cols.name], cols)), 1.0)
        return counts

    real_counts, synth_counts = grid(real), grid(synthetic)
    both = real_counts + synth_counts
    keep_rows, keep_cols = np.flatnonzero(both.sum(axis=1) > 0), np.flatnonzero(both.sum(axis=0) > 0)
    real_counts, synth_counts = real_counts[np.ix_(keep_rows, keep_cols)], synth_counts[np.ix_(keep_rows, keep_cols)]
    real_total, synth_total = max(1.0, float(real_counts.sum())), max(1.0, float(synth_counts.sum()))
    real_shares = [[float(c) / real_total if c >= MIN_CATEGORY_COUNT or c == 0 else None for c in line] for line in real_counts]
    return Bivariate([rows.name, cols.name], score, [row_labels[i] for i in keep_rows], [col_labels[i] for i in keep_cols],
                     real_shares, [[float(c) / synth_total for c in line] for line in synth_counts])


def dcr_histogram(train: np.ndarray, holdout: np.ndarray) -> DcrHistogram:
    """Shares per bin of a fixed grid (the same for every table, so reports compare)."""
    import numpy as np

    edges = np.round(np.arange(0.0, DCR_TOP + DCR_WIDTH / 2, DCR_WIDTH), 6)

    def shares(values: np.ndarray) -> list[float]:
        if not values.size:
            return [0.0] * len(edges)
        index = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 1)
        return [float(c) / values.size for c in np.bincount(index, minlength=len(edges))]

    def exact(values: np.ndarray) -> float:
        return float(np.mean(values <= 1e-9)) if values.size else 0.0

    def median(values: np.ndarray) -> float:
        return float(np.median(values)) if values.size else 0.0

    return DcrHistogram([float(e) for e in edges], shares(train), shares(holdout), [exact(train), exact(holdout)],
                        [median(train), median(holdout)], rows=int(train.size))


__all__ = ["Bivariate", "ColumnSummary", "DcrHistogram", "TableInsights", "association_matrix", "bivariate",
           "dcr_histogram", "table_insights"]
