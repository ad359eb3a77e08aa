"""Metric functions and threshold evaluation: pure functions on DataFrames (no I/O).

Frames follow the model frame contract: each compared column has a kind, ``numerical``
(float64, NaN for nulls, datetimes as epoch seconds) or ``categorical`` (object dtype with
str/bool values, ``None`` for nulls), given explicitly as ``kinds`` and never detected from data.
Identifier columns are not passed.

Modules: ``checks`` (thresholds, outcomes; no numpy), ``fidelity`` (a native re-implementation
of SDMetrics' QualityReport, checked for parity in the integration tests), ``privacy``
(dcr_share, exact_match_rate). This package imports none of the heavy ones itself, so that
commands which compute no metric start fast.
"""
