"""What a spec change does to privacy, compared with the last applied spec.

`plan` lists every change that weakens privacy (a threshold relaxed, a check removed or
downgraded to a warning or allowed to go unevaluated, a PII policy weakened, more epsilon), so
a reviewer sees it in the pull request even when each edit looks harmless on its own, and even
when a guardrail or a default still catches it: the spec's own thresholds are compared as well
as the effective ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synthspec.spec.models import CheckSpec, TableSpec

# Stronger policies first; a move to a later one (or to no policy) weakens privacy.
_POLICY_STRENGTH = {"drop": 5, "hash": 4, "fake": 4, "generalize": 3, "mask": 3, "keep": 1, None: 0}


def _threshold(check: Mapping[str, Any]) -> dict[str, Any]:
    return {"min": check.get("min"), "max": check.get("max"), "severity": check.get("severity", "error"),
            "not_evaluated": check.get("not_evaluated"), "min_relative": check.get("min_relative"),
            "decide": check.get("decide")}


def privacy_snapshot(spec: TableSpec, checks: dict[str, Any]) -> dict[str, Any]:
    """The privacy-relevant part of a spec, as stored with every published run. It holds no
    free text (reasons, queries), so no resolved ``${ENV}`` value can end up in the history.
    ``checks``: the effective thresholds; ``declared``: the spec's own (with project defaults),
    before built-in defaults and guardrails."""
    return {
        "checks": {name: _threshold(c) for name, c in sorted(checks.items())},
        "declared": {name: _threshold(c.model_dump()) for name, c in sorted(spec.checks.items())},
        "pii": {name: c.pii for name, c in spec.columns.items()},
        "epsilon": spec.privacy.epsilon,
        "delta": spec.privacy.delta,
        "max_total_epsilon": spec.privacy.max_total_epsilon,
        "quasi_identifiers": sorted(spec.privacy.quasi_identifiers),
        "holdout": spec.holdout,
    }


def _loosened(metric: str, before: Mapping[str, Any], after: Mapping[str, Any] | None) -> list[str]:
    if after is None:
        return [f"check {metric} removed"]
    out = []
    if before["min"] is not None and (after["min"] is None or after["min"] < before["min"]):
        out.append(f"check {metric}: min lowered from {before['min']} to {after['min']}")
    if before["max"] is not None and (after["max"] is None or after["max"] > before["max"]):
        out.append(f"check {metric}: max raised from {before['max']} to {after['max']}")
    # Snapshots from before `min_relative` and `decide` existed hold neither: nothing to compare with.
    if before.get("min_relative") is not None and (after.get("min_relative") is None or after["min_relative"] < before["min_relative"]):
        out.append(f"check {metric}: min_relative lowered from {before['min_relative']} to {after.get('min_relative')}")
    if before.get("decide") == "value" and after.get("decide") == "interval":
        out.append(f"check {metric}: decide changed from value to interval (a miss within noise now passes)")
    if before["severity"] == "error" and after["severity"] == "warn":
        out.append(f"check {metric}: severity lowered from error to warn")
    # Snapshots from before `not_evaluated` existed hold None: nothing to compare with.
    if before.get("not_evaluated") == "block" and after.get("not_evaluated") == "allow":
        out.append(f"check {metric}: not_evaluated changed from block to allow")
    return out


def _bounds(check: Mapping[str, Any]) -> str:
    return " ".join(f"{k} {check[k]}" for k in ("min", "max", "min_relative") if check.get(k) is not None)


def weakenings(old: dict[str, Any] | None, new: dict[str, Any],
               guardrails: Mapping[str, CheckSpec] | None = None) -> list[str]:
    """Every privacy-weakening change from ``old`` to ``new`` (snapshots). A check the spec
    removed or relaxed is listed even when a guardrail (named in ``guardrails``) or a default
    still applies, with what still applies."""
    if not old:
        return []
    out: list[str] = []
    guardrails = guardrails or {}
    old_checks, new_checks = old.get("checks", {}), new["checks"]
    # Snapshots from older versions hold only the effective thresholds: compare those alone then.
    old_declared, new_declared = (old["declared"], new["declared"]) if "declared" in old else ({}, {})
    for metric in sorted(old_checks):
        changes = _loosened(metric, old_declared[metric], new_declared.get(metric)) if metric in old_declared else []
        if changes and metric in guardrails:
            changes = [f"{change} (the project guardrail {_bounds(guardrails[metric].model_dump())} still applies)" for change in changes]
        elif changes and metric in new_checks and _bounds(new_checks[metric]) != _bounds(new_declared.get(metric, {})):
            changes = [f"{change} (still checked at {_bounds(new_checks[metric])})" for change in changes]
        if not changes and metric in old_checks:  # a guardrail or a default itself relaxed
            changes = _loosened(metric, old_checks[metric], new_checks.get(metric))
        out += changes
    for column, before in old.get("pii", {}).items():
        after = new["pii"].get(column, before)
        if _POLICY_STRENGTH[after] < _POLICY_STRENGTH[before]:
            out.append(f"column {column}: pii policy changed from {before} to {after or 'none'}")
    if old.get("epsilon") is not None:
        if new["epsilon"] is None:
            out.append("differential privacy removed (privacy.epsilon)")
        elif new["epsilon"] > old["epsilon"]:
            out.append(f"privacy.epsilon raised from {old['epsilon']} to {new['epsilon']}")
    if old.get("delta") is not None and (new["delta"] is None or new["delta"] > old["delta"]) and new["epsilon"] is not None:
        out.append(f"privacy.delta raised from {old['delta']} to {new['delta']}")
    if old.get("max_total_epsilon") is not None and (new["max_total_epsilon"] is None or new["max_total_epsilon"] > old["max_total_epsilon"]):
        out.append(f"privacy.max_total_epsilon raised from {old['max_total_epsilon']} to {new['max_total_epsilon']}")
    out += _rare_weakenings(old, new)
    dropped = sorted(set(old.get("quasi_identifiers", [])) - set(new["quasi_identifiers"]))
    if dropped:
        out.append(f"quasi-identifiers removed: {', '.join(dropped)}")
    return out


def _rare_weakenings(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """A lower rare-value threshold, or protection gone from a column that is still declared
    (a type change, `min_count: 1`); a DP model protecting the table instead is not a weakening.
    Snapshots from before rare-value protection hold none: nothing to compare with."""
    out = []
    before_all, after_all = old.get("rare_min_count") or {}, new.get("rare_min_count") or {}
    for column, before in sorted(before_all.items()):
        after = after_all.get(column)
        if column not in new.get("pii", {}) or (after is None and new.get("epsilon") is not None):
            continue
        if after is None:
            out.append(f"column {column}: rare-value protection removed (was min_count {before})")
        elif after < before:
            out.append(f"column {column}: rare.min_count lowered from {before} to {after}")
    return out
