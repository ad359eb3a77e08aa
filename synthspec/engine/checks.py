"""Compute the metrics a table's checks need (plus the cheap defaults) and evaluate them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from synthspec.metrics.checks import CheckResult, evaluate
from synthspec.spec.models import CheckSpec

if TYPE_CHECKING:
    import pandas as pd

_QUALITY = ("quality_score", "column_shapes", "column_pair_trends")


def run_checks(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, str],
    checks: Mapping[str, CheckSpec],
    *,
    seed: int,
    extra: Mapping[str, float | None] | None = None,
) -> tuple[dict[str, float | None], list[CheckResult]]:
    """Metrics are computed on the model's frames ("real" is the training split); the holdout
    is the reference for the privacy metrics."""
    from synthspec.metrics.fidelity import quality_scores
    from synthspec.metrics.privacy import dcr_share, exact_match_rate

    metrics: dict[str, float | None] = {}
    details: dict[str, dict[str, object]] = {}
    if kinds:
        quality = quality_scores(train, synthetic, kinds)
        for name in _QUALITY:
            metrics[name] = getattr(quality, name)
        if len(holdout):
            dcr = dcr_share(train, holdout, synthetic, kinds, seed=seed)
            metrics["dcr_share"] = dcr.share
            details["dcr_share"] = {"n_synthetic": dcr.n_synthetic, "n_reference": dcr.n_reference}
            exact = exact_match_rate(train, holdout, synthetic, kinds)
            metrics["exact_match_rate"] = exact.rate
            metrics["holdout_exact_match_rate"] = exact.holdout_rate
            details["exact_match_rate"] = {"holdout_rate": exact.holdout_rate}
    for name, value in (extra or {}).items():
        if value is not None:
            metrics[name] = value
    results = []
    for name, spec in checks.items():
        result = evaluate(name, metrics.get(name), spec.min, spec.max, spec.severity)
        result.details.update(details.get(name, {}))
        results.append(result)
    return metrics, results
