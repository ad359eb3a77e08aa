"""Metric functions and threshold evaluation: pure functions on DataFrames (no I/O).

Frames follow the model frame contract: each compared column has a kind, ``numerical``
(float64, NaN for nulls, datetimes as epoch seconds) or ``categorical`` (object dtype with
str/bool values, ``None`` for nulls), given explicitly as ``kinds`` and never detected from data.
Identifier columns are not passed. Importing this package does not import SDMetrics: the fidelity scores are a native
re-implementation of SDMetrics' QualityReport, checked for parity in the integration tests.
"""

from __future__ import annotations

from synthspec.metrics._frames import Kind
from synthspec.metrics.checks import (
    HIGHER_IS_BETTER,
    METRIC_NAMES,
    CheckResult,
    Outcome,
    Severity,
    error_result,
    evaluate,
)
from synthspec.metrics.fidelity import FidelityScores, quality_scores
from synthspec.metrics.privacy import DcrResult, ExactMatchResult, dcr_share, exact_match_rate

__all__ = [
    "HIGHER_IS_BETTER",
    "METRIC_NAMES",
    "CheckResult",
    "DcrResult",
    "ExactMatchResult",
    "Kind",
    "Outcome",
    "FidelityScores",
    "Severity",
    "dcr_share",
    "error_result",
    "evaluate",
    "exact_match_rate",
    "quality_scores",
]
