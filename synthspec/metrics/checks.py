"""Threshold evaluation: turn a metric value and a spec's ``{min, max, severity}`` into an outcome.

This is the gate's decision, so it is kept tiny and total: every input gives exactly one
:class:`Outcome`, a metric that could not be computed is ``not_evaluated`` (never silently
``passed``), and messages contain only metric values and thresholds, never cell values, so they
are safe in CI logs, PR comments and ``run_results.json``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

Severity = Literal["error", "warn"]

#: Metrics implemented in ``synthspec.metrics`` today (names as used under ``checks:``).
METRIC_NAMES: tuple[str, ...] = (
    "quality_score",
    "column_shapes",
    "column_pair_trends",
    "ks_complement",
    "tv_complement",
    "correlation_distance",
    "boundary_adherence",
    "category_adherence",
    "ml_efficacy",
    "dcr_share",
    "exact_match_rate",
    "nndr",
    "membership_inference_auc",
    "k_anonymity",
    "reidentification_risk",
    "pii_leakage",
    "epsilon_spent",
    "key_uniqueness",
    "referential_integrity",
    "cardinality",
)

#: Which direction is better, so reports and ``plan`` can tell a loosened threshold from a
#: tightened one. Fidelity scores are gated with ``min`` (except ``correlation_distance``, a
#: distance, gated with ``max``); privacy metrics with ``max`` (``dcr_share`` above 0.5 means
#: synthetic rows sit closer to training rows than to unseen rows, and the privacy check only
#: bounds it from above).
HIGHER_IS_BETTER: dict[str, bool] = {
    "quality_score": True,
    "column_shapes": True,
    "column_pair_trends": True,
    "ks_complement": True,
    "tv_complement": True,
    "correlation_distance": False,
    "boundary_adherence": True,
    "category_adherence": True,
    "ml_efficacy": True,
    "dcr_share": False,
    "exact_match_rate": False,
    "nndr": False,
    "membership_inference_auc": False,
    "k_anonymity": True,
    "reidentification_risk": False,
    "pii_leakage": False,
    "epsilon_spent": False,
    "key_uniqueness": True,
    "referential_integrity": True,
    "cardinality": True,
}


class Outcome(str, Enum):
    """Result of one check; the string values appear verbatim in ``run_results.json``."""

    PASSED = "passed"
    FAILED = "failed"
    WARN = "warn"
    NOT_EVALUATED = "not_evaluated"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


@dataclass
class CheckResult:
    """One evaluated check. ``details`` carries context such as the holdout baseline."""

    metric: str
    outcome: Outcome
    value: float | None
    min: float | None
    max: float | None
    severity: Severity = "error"
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def blocks(self) -> bool:
        """Whether this result stops publishing (the gate): a failure or an error."""
        return self.outcome in (Outcome.FAILED, Outcome.ERROR)

    def to_dict(self) -> dict[str, Any]:
        """The ``checks[]`` entry of ``run_results.json`` (JSON-ready, stable key order)."""
        return {
            "metric": self.metric,
            "outcome": self.outcome.value,
            "value": self.value,
            "min": self.min,
            "max": self.max,
            "severity": self.severity,
            "message": self.message,
            "details": dict(self.details),
        }


def _fmt_pair(value: float, bound: float) -> tuple[str, str]:
    """Format a value and the bound it missed so the two visibly differ.

    Three decimals normally ("0.812 < min 0.900"); integers stay integers ("3 > max 0");
    more decimals only when three would print a miss as equal ("0.0104 > max 0.0100").
    """
    if float(value).is_integer() and float(bound).is_integer():
        return f"{value:.0f}", f"{bound:.0f}"
    for digits in range(3, 10):
        left, right = f"{value:.{digits}f}", f"{bound:.{digits}f}"
        if left != right:
            return left, right
    return repr(float(value)), repr(float(bound))


def _as_number(value: float | None) -> float | None:
    """``None`` for missing or NaN values (NaN means the metric was undefined, not bad)."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def evaluate(
    metric: str,
    value: float | None,
    min: float | None = None,  # noqa: A002 - mirrors the spec key
    max: float | None = None,  # noqa: A002 - mirrors the spec key
    severity: Severity = "error",
    *,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> CheckResult:
    """Compare ``value`` with the inclusive range ``[min, max]``.

    ``None`` or NaN gives ``not_evaluated`` (with ``reason`` as message when given): a metric
    that could not be computed must be visible rather than counted as a pass. Outside the range
    gives ``failed`` for severity ``error`` and ``warn`` for severity ``warn``; inside gives
    ``passed``. Both bounds are inclusive, so ``pii_leakage: {max: 0}`` passes at exactly 0.
    """
    if severity not in ("error", "warn"):
        raise ValueError(f"severity must be 'error' or 'warn', not {severity!r}")
    if min is not None and max is not None and min > max:
        raise ValueError(f"{metric}: min {min} is greater than max {max}")
    extra = dict(details or {})
    number = _as_number(value)
    if number is None:
        message = reason or f"{metric} could not be computed"
        return CheckResult(metric, Outcome.NOT_EVALUATED, None, min, max, severity, message, extra)
    problems = []
    if min is not None and number < min:
        shown, bound = _fmt_pair(number, min)
        problems.append(f"{metric} {shown} < min {bound}")
    if max is not None and number > max:
        shown, bound = _fmt_pair(number, max)
        problems.append(f"{metric} {shown} > max {bound}")
    if not problems:
        return CheckResult(metric, Outcome.PASSED, number, min, max, severity, None, extra)
    outcome = Outcome.FAILED if severity == "error" else Outcome.WARN
    return CheckResult(metric, outcome, number, min, max, severity, "; ".join(problems), extra)


def error_result(
    metric: str,
    min: float | None = None,  # noqa: A002 - mirrors the spec key
    max: float | None = None,  # noqa: A002 - mirrors the spec key
    severity: Severity = "error",
    *,
    message: str,
) -> CheckResult:
    """A check whose metric raised. It blocks publishing whatever the severity: an unknown
    privacy state is not a pass. ``message`` must name the problem, not data values."""
    return CheckResult(metric, Outcome.ERROR, None, min, max, severity, message)
