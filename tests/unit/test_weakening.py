from __future__ import annotations

from synthspec.engine.weakening import privacy_snapshot, weakenings
from synthspec.spec.models import TableSpec


def snapshot(**overrides):
    pii = overrides.pop("pii", "drop")
    name = {"type": "text", "pii": pii, **({"reason": "public figures"} if pii == "keep" else {})}
    spec = TableSpec.model_validate({
        "version": 1, "table": "t", "source": {"table": "raw.t"},
        "columns": {"name": name, "age": {"type": "numerical"}},
        "privacy": {"quasi_identifiers": overrides.pop("qi", ["age"])},
    })
    checks = {"dcr_share": {"min": None, "max": 0.55, "severity": "error"}, "quality_score": {"min": 0.9, "max": None, "severity": "error"}}
    checks.update(overrides.pop("checks", {}))
    return privacy_snapshot(spec, {k: v for k, v in checks.items() if v is not None})


def test_no_previous_spec_no_weakening():
    assert weakenings(None, snapshot()) == []
    assert weakenings(snapshot(), snapshot()) == []


def test_relaxed_removed_and_downgraded_checks():
    old = snapshot()
    assert weakenings(old, snapshot(checks={"dcr_share": {"min": None, "max": 0.6, "severity": "error"}})) == [
        "check dcr_share: max raised from 0.55 to 0.6"]
    assert weakenings(old, snapshot(checks={"dcr_share": {"min": None, "max": 0.55, "severity": "warn"}})) == [
        "check dcr_share: severity lowered from error to warn"]
    assert weakenings(old, snapshot(checks={"dcr_share": None})) == ["check dcr_share removed"]
    assert weakenings(old, snapshot(checks={"dcr_share": {"min": None, "max": 0.5, "severity": "error"}})) == []


def test_policy_and_quasi_identifiers():
    assert weakenings(snapshot(), snapshot(pii="keep")) == ["column name: pii policy changed from drop to keep"]
    assert weakenings(snapshot(pii="keep"), snapshot(pii="drop")) == []
    assert weakenings(snapshot(), snapshot(qi=[])) == ["quasi-identifiers removed: age"]
