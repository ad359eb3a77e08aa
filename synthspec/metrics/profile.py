"""Small, privacy-safe profiles of real vs synthetic columns, for the plots of `report.html`.

A profile is computed once, while the data is at hand, and stored in the run's results, so the
report can be rendered again later (`synthspec report`) without reading any data. It holds
frequencies (shares of rows), never rows, and follows two rules so that no individual can be
recognised from it:

* numerical (and datetime) columns: at most ``MAX_BINS`` equal-width bins covering the real
  data's 1st to 99th percentiles. The bin width is a "nice" number (1, 2 or 5 times a power of
  ten; whole numbers for columns holding only whole numbers, whole days for datetimes) and the
  edges sit on a grid of that width, so an edge tells a percentile only to within a bin;
  values outside the edges are counted in the first or last bin. No edge is ever the real
  minimum or maximum (often one identifiable person: the oldest, the richest): when the grid
  would put one there, it is shifted by half (or a quarter) of a bin, which moves every edge
  off both extremes (each extreme rules out at most one shift). A column with fewer than
  ``MIN_NUMERICAL_ROWS`` non-null real values, or whose 1st and 99th percentiles are equal
  (almost constant: any edge around its value would reveal it), is not profiled.
* categorical columns: the labels of at most ``MAX_CATEGORIES`` categories, each held by at
  least ``MIN_CATEGORY_COUNT`` real rows; every other category is merged into ``other`` (a
  synthetic category that is not listed is counted there too). Nulls are shown as ``missing``.

Frames follow the model frame contract (see ``synthspec.metrics``): pure, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from synthspec.metrics._frames import check_kinds, normalise

if TYPE_CHECKING:
    # numpy and pandas load on first use: `validate`, `plan` and a no-op `apply` import
    # this module (for its dataclasses) and never compute with it.
    import numpy as np
    import pandas as pd

MAX_BINS = 20
MAX_CATEGORIES = 15
MIN_CATEGORY_COUNT = 10
MIN_NUMERICAL_ROWS = 50
_FIRST_DATE, _LAST_DATE = -62135596800.0, 253402300799.0  # 0001-01-01, 9999-12-31 23:59:59 (epoch s)
OTHER = "other"
MISSING = "missing"


@dataclass
class ColumnProfile:
    """One column's real and synthetic shares per bar (each list sums to 1 over non-empty frames).

    ``labels`` name the bars: category labels (plus ``other``/``missing``) for a categorical
    column; for a numerical one the bars are the bins between consecutive ``edges`` (epoch
    seconds when ``datetime``), then ``missing`` when either frame has nulls."""

    name: str
    kind: str  # numerical | categorical
    labels: list[str]
    real: list[float]
    synthetic: list[float]
    edges: list[float] | None = None
    datetime: bool = False
    notes: list[str] = field(default_factory=list)
    #: The real column holds whole numbers only (the report labels its bins as integers).
    integer: bool = False

    def __post_init__(self) -> None:
        # Shares are kept at the precision run_results.json stores, so `synthspec report`
        # re-renders exactly what `apply` rendered.
        self.real = [round(float(v), 6) for v in self.real]
        self.synthetic = [round(float(v), 6) for v in self.synthetic]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "datetime": self.datetime, "labels": self.labels,
                "edges": self.edges, "real": [round(v, 6) for v in self.real],
                "synthetic": [round(v, 6) for v in self.synthetic], "notes": self.notes,
                **({"integer": True} if self.integer else {})}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnProfile:
        return cls(name=str(data["name"]), kind=str(data["kind"]), labels=[str(v) for v in data["labels"]],
                   real=[float(v) for v in data["real"]], synthetic=[float(v) for v in data["synthetic"]],
                   edges=[float(v) for v in data["edges"]] if data.get("edges") is not None else None,
                   datetime=bool(data.get("datetime", False)), notes=[str(v) for v in data.get("notes", [])],
                   integer=bool(data.get("integer", False)))


def column_profiles(real: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, str],
                    datetimes: Collection[str] = ()) -> list[ColumnProfile]:
    """One profile per column of ``kinds`` (in its order) that can be shown safely.

    ``real`` should be the training rows (the holdout is kept for privacy checks); ``datetimes``
    names the numerical columns holding epoch seconds."""
    columns = check_kinds(kinds, ("real", real), ("synthetic", synthetic))
    real_n, synth_n = normalise(real, columns, kinds), normalise(synthetic, columns, kinds)
    profiles: list[ColumnProfile] = []
    for name in columns:
        if kinds[name] == "numerical":
            profile = numerical_profile(name, real_n[name], synth_n[name], datetime=name in datetimes)
        else:
            profile = categorical_profile(name, real_n[name], synth_n[name])
        if profile is not None:
            profiles.append(profile)
    return profiles


def numerical_profile(name: str, real: pd.Series, synthetic: pd.Series, *, datetime: bool = False,
                      bins: int = MAX_BINS) -> ColumnProfile | None:
    """Equal-width bins around the real 1st–99th percentile range (see the module's rules)."""
    import numpy as np
    import pandas as pd

    real_values = pd.to_numeric(real, errors="coerce").to_numpy(dtype="float64")
    synth_values = pd.to_numeric(synthetic, errors="coerce").to_numpy(dtype="float64")
    present = real_values[~np.isnan(real_values)]
    if present.size < MIN_NUMERICAL_ROWS:
        return None
    unit = 86400.0 if datetime else (1.0 if np.all(present == np.round(present)) else 0.0)
    edges = safe_edges(present, bins=max(1, min(bins, MAX_BINS)), unit=unit)
    if edges is not None and datetime:
        # Edges are shown as dates, which exist for years 1-9999 only: edges beyond are left
        # out (the end bins count the rest), and a column entirely beyond is not shown.
        edges = edges[(edges >= _FIRST_DATE) & (edges <= _LAST_DATE)]
        if len(edges) < 2:
            return None
    if edges is None:
        return None
    labels = [f"bin {i + 1}" for i in range(len(edges) - 1)]
    real_shares, synth_shares = _binned(real_values, edges), _binned(synth_values, edges)
    if real_shares[-1] or synth_shares[-1]:
        labels.append(MISSING)
    else:
        real_shares, synth_shares = real_shares[:-1], synth_shares[:-1]
    return ColumnProfile(name, "numerical", labels, real_shares, synth_shares,
                         edges=[float(e) for e in edges], datetime=datetime,
                         notes=["values outside the real 1st–99th percentiles are counted in the end bins"],
                         integer=unit == 1.0)


def safe_edges(present: np.ndarray, *, bins: int, unit: float = 0.0) -> np.ndarray | None:
    """At most ``bins`` + 1 equal-width edges covering the 1st–99th percentiles of ``present``
    (non-null values), none equal to its minimum or maximum; None when the percentiles are
    equal. ``unit``: the width is a multiple of it (1 for whole numbers, 86400 for datetimes
    in seconds; 0 for none)."""
    import numpy as np

    low, high = (float(v) for v in np.percentile(present, [1, 99]))
    if not high > low:
        return None
    extremes = (float(present.min()), float(present.max()))
    width = _nice_width((high - low) / bins, unit)
    while True:
        for shift in (0.0, 0.5, 0.25, 0.75):
            offset = shift * width
            first = math.floor((low - offset) / width) * width + offset
            count = max(1, math.ceil((high - first) / width - 1e-9))
            edges = first + width * np.arange(count + 1, dtype="float64")
            if count <= bins and not _touches(edges, extremes, width):
                return edges
        width = _nice_width(width * 1.0001, unit)  # too many bins: the next nice width


def _touches(edges: np.ndarray, extremes: tuple[float, float], width: float) -> bool:
    """An edge at (or, in floating point, within a millionth of a bin of) an extreme."""
    import numpy as np

    return any(bool(np.any(np.abs(edges - x) <= width * 1e-6)) for x in extremes)


def _nice_width(raw: float, unit: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten (in ``unit``s, when given) not below ``raw``."""
    scale = unit or 1.0
    target = max(raw / scale, 1.0 if unit else raw / scale)
    if target <= 0:
        return scale
    magnitude = 10.0 ** math.floor(math.log10(target))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= target * (1 - 1e-12):
            return float(factor * magnitude * scale)
    return float(10 * magnitude * scale)


def categorical_profile(name: str, real: pd.Series, synthetic: pd.Series, *, top: int = MAX_CATEGORIES,
                        min_count: int = MIN_CATEGORY_COUNT) -> ColumnProfile | None:
    """The most frequent categories held by at least ``min_count`` real rows; the rest merged."""
    real_counts, real_missing, real_total = _label_counts(real)
    synth_counts, synth_missing, synth_total = _label_counts(synthetic)
    # Most frequent first; ties by label, so the order never depends on the row order.
    shown = sorted(((label, count) for label, count in real_counts.items() if count >= min_count),
                   key=lambda item: (-item[1], item[0]))[: min(top, MAX_CATEGORIES)]
    labels = [label for label, _ in shown]
    if real_total == 0 and synth_total == 0:
        return None
    real_shares, real_rest = _category_shares(real_counts, real_missing, real_total, labels)
    synth_shares, synth_rest = _category_shares(synth_counts, synth_missing, synth_total, labels)
    bars = list(labels)
    for extra, (r, s) in ((OTHER, (real_rest[0], synth_rest[0])), (MISSING, (real_rest[1], synth_rest[1]))):
        if r or s:
            bars.append(extra)
            real_shares.append(r)
            synth_shares.append(s)
    notes = [f"categories held by fewer than {min_count} real rows, and all beyond the top {top}, are merged into '{OTHER}'"]
    return ColumnProfile(name, "categorical", bars, real_shares, synth_shares, notes=notes)


def _label_counts(series: pd.Series) -> tuple[dict[str, int], int, int]:
    """Rows per label (a value as text: ``1`` and ``"1"`` are one label), missing rows, all
    rows. Distinct values are turned into text once, not every cell."""
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(series.astype(object).to_numpy(), use_na_sentinel=True)
    present = codes[codes >= 0]
    counts: dict[str, int] = {}
    for value, count in zip(uniques, np.bincount(present, minlength=len(uniques)).tolist(), strict=True):
        label = str(value)
        counts[label] = counts.get(label, 0) + int(count)
    return counts, int(codes.size - present.size), int(codes.size)


def _category_shares(counts: Mapping[str, int], missing: int, total: int,
                     labels: list[str]) -> tuple[list[float], tuple[float, float]]:
    """Shares of each label, then (other, missing)."""
    if total == 0:
        return [0.0] * len(labels), (0.0, 0.0)
    shares = [float(counts.get(label, 0)) / total for label in labels]
    missing_share = float(missing) / total
    other = max(0.0, 1.0 - sum(shares) - missing_share)
    return shares, (other if other > 1e-12 else 0.0, missing_share)


def _binned(values: np.ndarray, edges: np.ndarray) -> list[float]:
    """Shares per bin (values clipped into the end bins), then the share of nulls."""
    import numpy as np

    total = values.size
    if total == 0:
        return [0.0] * len(edges)
    nan = np.isnan(values)
    clipped = np.clip(values[~nan], edges[0], edges[-1])
    counts, _ = np.histogram(clipped, bins=edges)
    return [float(c) / total for c in counts] + [float(nan.sum()) / total]


__all__ = ["ColumnProfile", "categorical_profile", "column_profiles", "numerical_profile", "safe_edges"]
