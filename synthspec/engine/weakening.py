"""What a spec change does to privacy, compared with the last applied spec.

`plan` lists every change that weakens privacy (a threshold relaxed, a check removed or
downgraded to a warning, a PII policy weakened, more epsilon), so a reviewer sees it in the
pull request even when each edit looks harmless on its own.
"""

from __future__ import annotations

from typing import Any

from synthspec.spec.models import TableSpec

# Stronger policies first; a move to a later one (or to no policy) weakens privacy.
_POLICY_STRENGTH = {"drop": 5, "hash": 4, "fake": 4, "generalize": 3, "mask": 3, "keep": 1, None: 0}


def privacy_snapshot(spec: TableSpec, checks: dict[str, Any]) -> dict[str, Any]:
    """The privacy-relevant part of a spec, as stored with every published run. It holds no
    free text (reasons, queries), so no resolved ``${ENV}`` value can end up in the history."""
    return {
        "checks": {name: {"min": c["min"], "max": c["max"], "severity": c["severity"]} for name, c in sorted(checks.items())},
        "pii": {name: c.pii for name, c in spec.columns.items()},
        "epsilon": spec.privacy.epsilon,
        "delta": spec.privacy.delta,
        "max_total_epsilon": spec.privacy.max_total_epsilon,
        "quasi_identifiers": sorted(spec.privacy.quasi_identifiers),
        "holdout": spec.holdout,
    }


def weakenings(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    if not old:
        return []
    out: list[str] = []
    for metric, before in old.get("checks", {}).items():
        after = new["checks"].get(metric)
        if after is None:
            out.append(f"check {metric} removed")
            continue
        if before["min"] is not None and (after["min"] is None or after["min"] < before["min"]):
            out.append(f"check {metric}: min lowered from {before['min']} to {after['min']}")
        if before["max"] is not None and (after["max"] is None or after["max"] > before["max"]):
            out.append(f"check {metric}: max raised from {before['max']} to {after['max']}")
        if before["severity"] == "error" and after["severity"] == "warn":
            out.append(f"check {metric}: severity lowered from error to warn")
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
    dropped = sorted(set(old.get("quasi_identifiers", [])) - set(new["quasi_identifiers"]))
    if dropped:
        out.append(f"quasi-identifiers removed: {', '.join(dropped)}")
    return out
