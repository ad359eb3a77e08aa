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

from synthspec.metrics.intervals import Interval
from synthspec.metrics.registry import METRICS

Severity = Literal["error", "warn"]
#: What an error-severity check whose metric could not be computed does to the gate.
NotEvaluated = Literal["block", "allow"]
#: Whether a sampled metric is decided on its interval or on its point estimate.
Decide = Literal["interval", "value"]

#: Metrics implemented in ``synthspec.metrics`` today (names as used under ``checks:``), and which
#: direction is better; both derive from the one declaration per metric in ``registry``.
METRIC_NAMES: tuple[str, ...] = tuple(METRICS)
HIGHER_IS_BETTER: dict[str, bool] = {name: metric.higher_is_better for name, metric in METRICS.items()}


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
    not_evaluated: NotEvaluated = "block"
    interval: Interval | None = None
    min_relative: float | None = None

    @property
    def blocks(self) -> bool:
        """Whether this result stops publishing (the gate): a failure, an error, or an
        error-severity check that could not be evaluated unless the spec or project allows it
        (an unknown privacy or quality state is not a pass)."""
        if self.outcome in (Outcome.FAILED, Outcome.ERROR):
            return True
        return self.outcome is Outcome.NOT_EVALUATED and self.severity == "error" and self.not_evaluated == "block"

    def value_text(self) -> str:
        """The value with its interval and, for `min_relative`, its ratio to real data, as
        reports show them: ``0.812 [0.790, 0.834]``, ``0.812 [0.790, 0.834] (0.97 of real)``."""
        if self.value is None:
            return "—"
        text = f"{self.value:.3f}"
        if self.interval is not None:
            text += f" [{self.interval.low:.3f}, {self.interval.high:.3f}]"
        if (ratio := self.details.get("relative")) is not None:
            text += f" ({ratio:.2f} of real)"
        return text

    def note(self) -> str | None:
        """The message, or why a miss within noise passed, or the sizes behind a sampled value."""
        if self.message:
            return self.message
        if noise := self.details.get("within_noise"):
            return f"within noise: {noise}"
        return None

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
            "not_evaluated": self.not_evaluated,
            "interval": self.interval.to_dict() if self.interval is not None else None,
            "min_relative": self.min_relative,
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
    not_evaluated: NotEvaluated = "block",
    interval: Interval | None = None,
    min_relative: float | None = None,
    relative: float | None = None,
    relative_interval: Interval | None = None,
    decide: Decide = "value",
) -> CheckResult:
    """Compare ``value`` with the inclusive range ``[min, max]`` (and ``relative``, the ratio of
    the value to real data's own score at the same size, with ``min_relative``).

    ``None`` or NaN gives ``not_evaluated`` (with ``reason`` as message when given): a metric
    that could not be computed must be visible rather than counted as a pass, and with severity
    ``error`` it blocks publishing unless ``not_evaluated="allow"``. The same holds for a
    ``min_relative`` whose ratio could not be computed. Outside the range gives ``failed`` for
    severity ``error`` and ``warn`` for severity ``warn``; inside gives ``passed``. Both bounds
    are inclusive, so ``pii_leakage: {max: 0}`` passes at exactly 0.

    ``decide="interval"`` with an ``interval``: a bound is missed only when the whole interval
    lies beyond it (the data show the miss, not the noise). A point estimate beyond the bound
    whose interval still reaches it passes, and ``details["within_noise"]`` says so."""
    if severity not in ("error", "warn"):
        raise ValueError(f"severity must be 'error' or 'warn', not {severity!r}")
    if not_evaluated not in ("block", "allow"):
        raise ValueError(f"not_evaluated must be 'block' or 'allow', not {not_evaluated!r}")
    for name, bound in (("min", min), ("max", max), ("min_relative", min_relative)):
        if bound is not None and not math.isfinite(bound):
            raise ValueError(f"{metric}: {name} must be a finite number")  # a NaN bound passes everything
    if min is not None and max is not None and min > max:
        raise ValueError(f"{metric}: min {min} is greater than max {max}")
    extra = dict(details or {})
    number = _as_number(value)
    ratio = _as_number(relative)

    def result(outcome: Outcome, message: str | None) -> CheckResult:
        return CheckResult(metric, outcome, number, min, max, severity, message, extra, not_evaluated, interval, min_relative)

    if number is None or (min_relative is not None and ratio is None):
        return result(Outcome.NOT_EVALUATED, reason or f"{metric} could not be computed")
    use = interval if decide == "interval" else None
    problems, noise = _misses(metric, number, use, min, max)
    if min_relative is not None:
        assert ratio is not None
        extra["relative"] = ratio
        if relative_interval is not None:
            extra["relative_interval"] = relative_interval.to_dict()
        more, more_noise = _misses(f"{metric} relative to real data", ratio,
                                   relative_interval if decide == "interval" else None, min_relative, None)
        problems, noise = problems + more, noise + more_noise
    if noise:
        extra["within_noise"] = "; ".join(noise)
    if not problems:
        return result(Outcome.PASSED, None)
    return result(Outcome.FAILED if severity == "error" else Outcome.WARN, "; ".join(problems))


def _misses(label: str, number: float, interval: Interval | None, low: float | None,
            high: float | None) -> tuple[list[str], list[str]]:
    """The bounds ``number`` misses, and the misses its interval excuses as noise."""
    problems: list[str] = []
    noise: list[str] = []
    for bound, missed, edge, sign in ((low, low is not None and number < low, interval.high if interval else None, "<"),
                                      (high, high is not None and number > high, interval.low if interval else None, ">")):
        if not missed:
            continue
        assert bound is not None
        shown, limit = _fmt_pair(number, bound)
        text = f"{label} {shown} {sign} {'min' if sign == '<' else 'max'} {limit}"
        assert interval is None or edge is not None
        if interval is not None and ((sign == "<" and edge >= bound) or (sign == ">" and edge <= bound)):
            noise.append(f"{text}, but its {interval.level:.0%} interval [{interval.low:.3f}, {interval.high:.3f}] reaches it")
        else:
            if interval is not None:
                text += f" (its {interval.level:.0%} interval [{interval.low:.3f}, {interval.high:.3f}] lies entirely beyond)"
            problems.append(text)
    return problems, noise


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


def gate_message(table: str, results: list[CheckResult]) -> str:
    """Why the gate stopped ``table``: the failed checks, the ones whose metric raised, and the
    ones that could not be evaluated with their reasons (grouped when they share one), plus what
    to do about the latter."""
    failed = [c.metric for c in results if c.outcome is Outcome.FAILED]
    errors = [c.metric for c in results if c.outcome is Outcome.ERROR]
    unassessed: dict[str, list[str]] = {}
    for c in results:
        if c.outcome is Outcome.NOT_EVALUATED and c.blocks:
            unassessed.setdefault(c.message or "could not be computed", []).append(c.metric)
    parts = []
    if failed:
        parts.append(f"checks failed: {', '.join(failed)}")
    if errors:
        parts.append(f"checks could not be computed (an error): {', '.join(errors)}")
    parts += [f"{', '.join(names)} not evaluated: {why}" for why, names in unassessed.items()]
    text = "; ".join(parts) + "; nothing published, the previous version is unchanged"
    if unassessed:
        text += (f". A check that cannot be evaluated blocks: make '{table}' assessable (e.g. add rows), "
                 "or set `not_evaluated: allow` on the check if publishing without it is acceptable")
    return text
