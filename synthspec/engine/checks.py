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
    quasi_identifiers: list[str] | None = None,
    epsilon: float | None = None,
    delta: float | None = None,
) -> tuple[dict[str, float | None], list[CheckResult]]:
    """Metrics are computed on the model's frames ("real" is the training split); the holdout
    is the reference for the privacy metrics. The costlier disclosure metrics (nndr,
    membership_inference_auc, k_anonymity, reidentification_risk) run only when a check names
    them."""
    from synthspec.metrics.fidelity import quality_scores
    from synthspec.metrics.privacy import dcr_share, exact_match_rate

    metrics: dict[str, float | None] = {}
    details: dict[str, dict[str, object]] = {}
    reasons: dict[str, str] = {}
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
        reasons.update(_disclosure(train, holdout, synthetic, kinds, set(checks), seed, quasi_identifiers or [],
                                   epsilon, delta, metrics, details))
    for name, value in (extra or {}).items():
        if value is not None:
            metrics[name] = value
    results = []
    for name, spec in checks.items():
        result = evaluate(name, metrics.get(name), spec.min, spec.max, spec.severity, reason=reasons.get(name))
        result.details.update(details.get(name, {}))
        results.append(result)
    return metrics, results


def _disclosure(train, holdout, synthetic, kinds, wanted: set[str], seed: int, qis: list[str],  # noqa: ANN001
                epsilon: float | None, delta: float | None, metrics: dict, details: dict) -> dict[str, str]:
    """The disclosure metrics that checks ask for; returns why any could not be computed."""
    from synthspec.metrics import disclosure

    reasons: dict[str, str] = {}
    if "nndr" in wanted and len(holdout):
        result = disclosure.nndr(train, holdout, synthetic, kinds, seed=seed)
        metrics["nndr"] = result.share
        details["nndr"] = {"median_synthetic": result.median_synthetic, "median_holdout": result.median_holdout}
    if "membership_inference_auc" in wanted and len(holdout):
        metrics["membership_inference_auc"] = disclosure.membership_inference_auc(train, holdout, synthetic, kinds, seed=seed)
        # A lower bound on risk, next to the upper bound differential privacy guarantees.
        details["membership_inference_auc"] = {
            "max_auc_allowed_by_epsilon": disclosure.max_auc_for_epsilon(epsilon, delta or 0.0) if epsilon is not None else None}
    usable = [q for q in qis if q in kinds]
    for name, compute in (("k_anonymity", lambda: float(disclosure.k_anonymity(synthetic, usable))),
                          ("reidentification_risk", lambda: float(disclosure.reidentification_risk(train, synthetic, usable)))):
        if name in wanted:
            if usable:
                metrics[name] = compute()
            else:
                reasons[name] = "needs privacy.quasi_identifiers (modelled columns)"
    return reasons
