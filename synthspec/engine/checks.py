"""Compute the metrics a table's checks need (plus the cheap defaults) and evaluate them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from synthspec.metrics.checks import CheckResult, error_result, evaluate
from synthspec.metrics.registry import METRICS
from synthspec.spec.models import CheckSpec

if TYPE_CHECKING:
    import pandas as pd

    from synthspec.metrics.fidelity import FidelityScores

_QUALITY = ("quality_score", "column_shapes", "column_pair_trends")
#: Minimum-over-columns metrics, and the column kind each one scores.
_PER_COLUMN = {"ks_complement": "numerical", "tv_complement": "categorical",
               "boundary_adherence": "numerical", "category_adherence": "categorical"}


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
    is the reference for the privacy metrics and for ml_efficacy. The costlier disclosure metrics
    (nndr, membership_inference_auc, k_anonymity, reidentification_risk), the per-column
    fidelity metrics and ml_efficacy run only when a check names them. A metric that raises
    gives an ``error`` result (it blocks publishing) whose message names the exception type only.
    A metric that cannot be computed is ``not_evaluated`` with the reason and the sizes involved
    (it blocks publishing unless its check says ``not_evaluated: allow``)."""
    from synthspec.metrics.fidelity import quality_scores
    from synthspec.metrics.privacy import dcr_share, exact_match_rate

    metrics: dict[str, float | None] = {}
    details: dict[str, dict[str, object]] = {}
    reasons: dict[str, str] = {}
    errors: dict[str, str] = {}
    if kinds:
        quality = quality_scores(train, synthetic, kinds)
        for name in _QUALITY:
            metrics[name] = getattr(quality, name)
        if len(holdout) >= MIN_HOLDOUT_ROWS:
            dcr = dcr_share(train, holdout, synthetic, kinds, seed=seed)
            metrics["dcr_share"] = dcr.share
            details["dcr_share"] = {"n_synthetic": dcr.n_synthetic, "n_reference": dcr.n_reference}
            exact = exact_match_rate(train, holdout, synthetic, kinds)
            metrics["exact_match_rate"] = exact.rate
            metrics["holdout_exact_match_rate"] = exact.holdout_rate
            details["exact_match_rate"] = {"holdout_rate": exact.holdout_rate}
        reasons.update(_disclosure(train, holdout, synthetic, kinds, set(checks), seed, quasi_identifiers or [],
                                   epsilon, delta, metrics, details))
        reasons.update(_fidelity(train, synthetic, kinds, set(checks), quality, metrics, details))
        if "ml_efficacy" in checks:
            reasons.update(_utility(train, holdout, synthetic, kinds, checks["ml_efficacy"].target, seed,
                                    metrics, details, errors))
    for name, value in (extra or {}).items():
        if value is not None:
            metrics[name] = value
    reasons.update(_size_reasons(len(train), len(holdout), kinds, checks))
    results = []
    for name, spec in checks.items():
        if name in errors:
            results.append(error_result(name, spec.min, spec.max, spec.severity, message=errors[name]))
            continue
        result = evaluate(name, metrics.get(name), spec.min, spec.max, spec.severity, reason=reasons.get(name),
                          not_evaluated=spec.not_evaluated or "block")
        result.details.update(details.get(name, {}))
        results.append(result)
    return metrics, results


#: Holdout rows below which the holdout metrics (dcr_share, exact_match_rate, nndr,
#: membership_inference_auc, ml_efficacy) are not evaluated: a share over one or two rows says
#: nothing, and `holdout: 0.0001` must not make a gate pass on noise.
MIN_HOLDOUT_ROWS = 5


def _size_reasons(n_train: int, n_holdout: int, kinds: Mapping[str, str], checks: Mapping[str, CheckSpec]) -> dict[str, str]:
    """Why the checks whose metric needs what this table lacks at run time are not evaluated,
    with the sizes involved (a table of one row has no holdout: it is never assessed)."""
    rows = n_train + n_holdout
    counted = f"{rows} row{'' if rows == 1 else 's'}"
    reasons: dict[str, str] = {}
    for name in checks:
        needs = METRICS[name].needs if name in METRICS else frozenset()
        if not rows and needs:
            reasons[name] = "the table has no rows"
        elif "holdout" in needs and not n_holdout:
            reasons[name] = f"the table has {counted}, too few for a holdout (at least 2 rows are needed)"
        elif "holdout" in needs and n_holdout < MIN_HOLDOUT_ROWS:
            reasons[name] = (f"the table has {counted} and a holdout of {n_holdout}; a holdout metric needs at least "
                             f"{MIN_HOLDOUT_ROWS} holdout rows (a share over fewer is noise): raise `holdout:` or add rows")
        elif needs & {"modelled", "two_modelled", "numerical", "two_numerical", "categorical"} and not kinds:
            reasons[name] = "the table has no modelled column"
    return reasons


def _disclosure(train, holdout, synthetic, kinds, wanted: set[str], seed: int, qis: list[str],  # noqa: ANN001
                epsilon: float | None, delta: float | None, metrics: dict, details: dict) -> dict[str, str]:
    """The disclosure metrics that checks ask for; returns why any could not be computed."""
    from synthspec.metrics import disclosure

    reasons: dict[str, str] = {}
    if "nndr" in wanted and len(holdout) >= MIN_HOLDOUT_ROWS:
        result = disclosure.nndr(train, holdout, synthetic, kinds, seed=seed)
        metrics["nndr"] = result.share
        details["nndr"] = {"median_synthetic": result.median_synthetic, "median_holdout": result.median_holdout}
    if "membership_inference_auc" in wanted and len(holdout) >= MIN_HOLDOUT_ROWS:
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


def _fidelity(train: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, str], wanted: set[str],
              quality: FidelityScores, metrics: dict[str, float | None], details: dict[str, dict[str, object]]) -> dict[str, str]:
    """The per-column fidelity metrics and correlation_distance that checks ask for. Per-column
    scores go into ``metrics`` as ``<metric>:<column>``; returns why any could not be computed."""
    from synthspec.metrics import adherence

    reasons: dict[str, str] = {}
    scores: dict[str, adherence.ColumnScores] = {}
    if wanted & {"ks_complement", "tv_complement"}:
        # The QualityReport's Column Shapes scores are exactly these: regrouped, not recomputed.
        scores["ks_complement"], scores["tv_complement"] = adherence.shape_scores(quality.column_shape_scores, kinds)
    if "boundary_adherence" in wanted:
        scores["boundary_adherence"] = adherence.boundary_adherence(train, synthetic, kinds)
    if "category_adherence" in wanted:
        scores["category_adherence"] = adherence.category_adherence(train, synthetic, kinds)
    for name, kind in _PER_COLUMN.items():
        if name not in wanted:
            continue
        result = scores[name]
        metrics[name] = result.value
        metrics.update({f"{name}:{column}": value for column, value in result.columns.items()})
        details[name] = {"worst_column": result.worst}
        if result.value is None:
            reasons[name] = f"{name} needs a {kind} column with values in both the training split and the output"
    if "correlation_distance" in wanted:
        distance = adherence.correlation_distance(train, synthetic, kinds)
        metrics["correlation_distance"] = distance.value
        details["correlation_distance"] = {"pairs": sum(v is not None for v in distance.pairs.values())}
        if distance.value is None:
            reasons["correlation_distance"] = "correlation_distance needs two numerical columns whose correlation is defined in both frames"
    return reasons


def _utility(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, str],
             target: str | None, seed: int, metrics: dict[str, float | None], details: dict[str, dict[str, object]],
             errors: dict[str, str]) -> dict[str, str]:
    """ml_efficacy on the check's target; returns why it could not be computed."""
    if target is None or target not in kinds:
        return {"ml_efficacy": "ml_efficacy needs `target`, a modelled column"}
    if not len(holdout):
        return {"ml_efficacy": "ml_efficacy needs holdout rows to test on"}
    from synthspec.metrics.utility import ml_efficacy

    try:
        result = ml_efficacy(train, holdout, synthetic, kinds, target, seed=seed)
    except Exception as exc:  # a failed model must block, and its message may quote data
        errors["ml_efficacy"] = f"ml_efficacy could not be computed ({type(exc).__name__})"
        return {}
    metrics["ml_efficacy"] = result.value
    details["ml_efficacy"] = {"target": target, **result.details()}
    return {"ml_efficacy": result.reason} if result.reason else {}
