"""Metrics across tables: do foreign keys resolve, are keys unique, and do parents have as many
children as in the real data."""

from __future__ import annotations

import numpy as np
import pandas as pd


def referential_integrity(foreign_keys: pd.Series, parent_keys: pd.Series) -> float:
    """Share of non-null foreign-key values found among the parent's keys (1.0 when every
    value is null: nothing dangles)."""
    present = foreign_keys.dropna()
    if present.empty:
        return 1.0
    keys = set(parent_keys.dropna().astype(str))
    return float(present.astype(str).isin(keys).mean())


def key_uniqueness(frame: pd.DataFrame, columns: list[str]) -> float:
    """Share of rows whose (composite) key is non-null and appears once."""
    if frame.empty:
        return 1.0
    keys = frame[columns]
    complete = keys.notna().all(axis=1)
    once = ~keys.astype(str).duplicated(keep=False)
    return float((complete & once).mean())


def cardinality_similarity(real_counts: np.ndarray, synthetic_counts: np.ndarray) -> float:
    """1 - the Kolmogorov-Smirnov statistic between the children-per-parent distributions
    (parents without children included): SDMetrics' CardinalityShapeSimilarity."""
    real = np.sort(np.asarray(real_counts, dtype=np.float64))
    synthetic = np.sort(np.asarray(synthetic_counts, dtype=np.float64))
    if real.size == 0 or synthetic.size == 0:
        return 1.0 if real.size == synthetic.size else 0.0
    grid = np.union1d(real, synthetic)
    cdf_real = np.searchsorted(real, grid, side="right") / real.size
    cdf_synthetic = np.searchsorted(synthetic, grid, side="right") / synthetic.size
    return float(1.0 - np.max(np.abs(cdf_real - cdf_synthetic)))


__all__ = ["cardinality_similarity", "key_uniqueness", "referential_integrity"]
