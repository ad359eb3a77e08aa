from __future__ import annotations

from synthspec.engine.weakening import privacy_snapshot, weakenings
from synthspec.spec.models import CheckSpec, TableSpec


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


def declared(checks: dict, effective: dict) -> dict:
    """A snapshot whose spec declares ``checks`` and whose effective thresholds are ``effective``."""
    spec = TableSpec.model_validate({"version": 1, "table": "t", "source": {"table": "raw.t"},
                                     "columns": {"age": {"type": "numerical"}}, "checks": checks})
    return privacy_snapshot(spec, effective)


def test_a_relaxed_or_removed_check_is_listed_even_when_a_guardrail_still_applies() -> None:
    # issue 8, B: removing a guarded check showed no weakening, since the guardrail kept it.
    guard = {"dcr_share": CheckSpec(max=0.55)}
    floor = {"dcr_share": {"min": None, "max": 0.55, "severity": "error", "not_evaluated": "block"}}
    old = declared({"dcr_share": {"max": 0.5}}, {"dcr_share": {"min": None, "max": 0.5, "severity": "error", "not_evaluated": "block"}})
    assert weakenings(old, declared({}, floor), guard) == [
        "check dcr_share removed (the project guardrail max 0.55 still applies)"]
    assert weakenings(old, declared({"dcr_share": {"max": 0.55}}, floor), guard) == [
        "check dcr_share: max raised from 0.5 to 0.55 (the project guardrail max 0.55 still applies)"]
    builtin = {"dcr_share": {"min": None, "max": 0.6, "severity": "error", "not_evaluated": "block"}}
    assert weakenings(old, declared({}, builtin)) == ["check dcr_share removed (still checked at max 0.6)"]


def test_allowing_an_unevaluated_check_is_a_weakening() -> None:
    effective = {"quality_score": {"min": 0.8, "max": None, "severity": "error", "not_evaluated": "block"}}
    old = declared({"quality_score": {"min": 0.8}}, effective)
    allowed = {"quality_score": {**effective["quality_score"], "not_evaluated": "allow"}}
    new = declared({"quality_score": {"min": 0.8, "not_evaluated": "allow"}}, allowed)
    assert weakenings(old, new) == ["check quality_score: not_evaluated changed from block to allow"]
    assert weakenings(new, old) == []
