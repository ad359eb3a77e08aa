"""Intervals of sampled metrics and the gate decisions made on them (issue 9, part 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from synthspec.engine.checks import run_checks
from synthspec.engine.tiny import is_tiny, smallest_assessable, tiny_checks
from synthspec.metrics.checks import Outcome, evaluate
from synthspec.metrics.intervals import Interval, bootstrap, ratio_interval, wilson
from synthspec.spec.models import CheckSpec
from tests.helpers import KINDS, make_frame


def _mean_difference(a: pd.DataFrame, b: pd.DataFrame) -> dict[str, float]:
    return {"d": float(b["x"].mean() - a["x"].mean())}


def test_wilson_covers_a_known_share_about_ninety_percent_of_the_time() -> None:
    rng = np.random.default_rng(7)
    p, n = 0.3, 60
    hits = [(iv := wilson(k, n)) is not None and iv.low <= p <= iv.high for k in rng.binomial(n, p, size=2000)]
    assert 0.86 <= np.mean(hits) <= 0.95
    assert wilson(0, 0) is None
    # Never outside [0, 1], even at the edges; wider with fewer trials.
    edge = wilson(10, 10)
    assert edge is not None and edge.high == 1.0 and edge.low > 0.7
    assert wilson(5, 10).high - wilson(5, 10).low > wilson(500, 1000).high - wilson(500, 1000).low  # type: ignore[union-attr]


@pytest.mark.parametrize("max_rows", [1000, 60])  # full bootstrap, then m-out-of-n with scaling
def test_bootstrap_covers_a_known_difference_of_means(max_rows: int) -> None:
    rng = np.random.default_rng(11)
    truth, covered = 0.5, []
    for trial in range(150):
        a = pd.DataFrame({"x": rng.normal(0.0, 1.0, 300)})
        b = pd.DataFrame({"x": rng.normal(truth, 1.0, 300)})
        point = _mean_difference(a, b)
        interval = bootstrap(_mean_difference, [a, b], point, seed=trial, max_rows=max_rows, bounds=(-10, 10))["d"]
        covered.append(interval.low <= truth <= interval.high)
    # 90% nominal; 12 replicates estimate the spread within ~20%, so allow some slack.
    assert 0.8 <= np.mean(covered) <= 0.98


def test_bootstrap_is_deterministic_and_skips_undefined_statistics() -> None:
    a, b = make_frame(200, 1), make_frame(200, 2)
    point = _mean_difference(a, b)
    first = bootstrap(_mean_difference, [a, b], point, seed=3, bounds=(-10, 10))
    assert first == bootstrap(_mean_difference, [a, b], point, seed=3, bounds=(-10, 10))
    assert first != bootstrap(_mean_difference, [a, b], point, seed=4, bounds=(-10, 10))
    assert bootstrap(lambda *_: {"d": None}, [a, b], point, seed=3) == {}
    assert bootstrap(_mean_difference, [a.iloc[:0], b], point, seed=3) == {}


def test_a_ratio_interval_widens_with_the_baseline_spread() -> None:
    narrow = ratio_interval(1.0, 0.8, Interval(0.79, 0.81, "bootstrap"))
    wide = ratio_interval(1.0, 0.8, Interval(0.7, 0.9, "bootstrap"))
    assert narrow is not None and wide is not None
    assert narrow.low <= 1.0 <= narrow.high and wide.high - wide.low > narrow.high - narrow.low
    assert ratio_interval(None, 0.8, Interval(0.7, 0.9, "bootstrap")) is None


def test_the_gate_fails_only_when_the_whole_interval_is_on_the_wrong_side() -> None:
    within = evaluate("quality_score", 0.80, min=0.85, interval=Interval(0.76, 0.86, "bootstrap"), decide="interval")
    assert within.outcome is Outcome.PASSED
    assert "quality_score 0.800 < min 0.850, but its 90% interval [0.760, 0.860] reaches it" in within.details["within_noise"]
    beyond = evaluate("quality_score", 0.80, min=0.85, interval=Interval(0.78, 0.82, "bootstrap"), decide="interval")
    assert beyond.outcome is Outcome.FAILED
    assert beyond.message == "quality_score 0.800 < min 0.850 (its 90% interval [0.780, 0.820] lies entirely beyond)"
    # `decide: value` is the point estimate alone; a privacy maximum works the same way.
    assert evaluate("quality_score", 0.80, min=0.85, interval=Interval(0.76, 0.86, "bootstrap"), decide="value").outcome is Outcome.FAILED
    assert evaluate("dcr_share", 0.6, max=0.55, interval=Interval(0.5, 0.7, "wilson"), decide="interval").outcome is Outcome.PASSED
    assert evaluate("dcr_share", 0.9, max=0.55, interval=Interval(0.8, 0.97, "wilson"), decide="interval").outcome is Outcome.FAILED


def test_min_relative_gates_on_the_ratio_to_real_data_and_needs_it() -> None:
    passed = evaluate("quality_score", 0.62, min_relative=0.9, relative=0.97, relative_interval=Interval(0.85, 1.09, "r"),
                      decide="interval")
    assert passed.outcome is Outcome.PASSED and passed.details["relative"] == 0.97
    failed = evaluate("quality_score", 0.40, min_relative=0.9, relative=0.45, relative_interval=Interval(0.4, 0.5, "r"),
                      decide="interval")
    assert failed.outcome is Outcome.FAILED
    assert failed.message.startswith("quality_score relative to real data 0.450 < min 0.900")
    unknown = evaluate("quality_score", 0.62, min_relative=0.9, relative=None, reason="no holdout")
    assert unknown.outcome is Outcome.NOT_EVALUATED and unknown.message == "no holdout" and unknown.blocks


def test_guardrails_keep_the_tighter_relative_bound_and_the_point_decision() -> None:
    spec = CheckSpec(min_relative=0.8, decide="interval")
    merged = spec.under(CheckSpec(min_relative=0.9, decide="value"))
    assert merged.min_relative == 0.9 and merged.decide == "value"
    assert CheckSpec(min_relative=0.95).under(CheckSpec(min_relative=0.9)).min_relative == 0.95


def test_tiny_tables_are_those_without_a_five_row_holdout() -> None:
    assert is_tiny(22, 0.2) and not is_tiny(23, 0.2) and smallest_assessable(0.2) == 23
    assert is_tiny(2, 0.5) and not is_tiny(10, 0.5)
    checks = {"quality_score": CheckSpec(min_relative=0.9), "dcr_share": CheckSpec(max=0.55), "pii_leakage": CheckSpec(max=0)}
    out = tiny_checks(checks, {"dcr_share": CheckSpec(max=0.5)}, modelled=True)
    assert out["quality_score"].not_evaluated == "allow"  # replaced
    assert out["dcr_share"].not_evaluated is None  # a guardrail covers it: it still blocks
    assert out["pii_leakage"].not_evaluated is None  # exact, computable at any size
    assert out["real_row_matches"].max == 0 and out["real_row_matches"].not_evaluated == "block"
    assert "real_row_matches" not in tiny_checks(checks, {}, modelled=False)


def test_real_data_at_a_hundred_rows_passes_relative_quality_and_carries_sizes() -> None:
    # Real vs real at 100 rows scores well below an absolute 0.85 (that is the noise a gate
    # must not fail on); relative to the holdout's own score it is ~1.
    frame = make_frame(300, 5)
    train, holdout, synthetic = frame.iloc[:80], frame.iloc[80:100].reset_index(drop=True), frame.iloc[100:200].reset_index(drop=True)
    checks = {"quality_score": CheckSpec(min_relative=0.9, decide="interval"), "dcr_share": CheckSpec(max=0.55, decide="interval")}
    metrics, results = run_checks(train, holdout, synthetic, KINDS, checks, seed=1)
    quality = next(r for r in results if r.metric == "quality_score")
    assert quality.outcome is Outcome.PASSED, quality.message
    assert quality.details["n_train"] == 80 and quality.details["n_holdout"] == 20 and quality.details["n_synthetic"] == 100
    assert quality.interval is not None and quality.interval.low <= metrics["quality_score"] <= quality.interval.high  # type: ignore[operator]
    assert 0.8 < quality.details["relative"] < 1.25 and "relative_interval" in quality.details
    dcr = next(r for r in results if r.metric == "dcr_share")
    assert dcr.interval is not None and dcr.interval.method == "wilson" and dcr.details["effective_trials"] < 100
    again = run_checks(train, holdout, synthetic, KINDS, checks, seed=1)[1]
    assert [r.to_dict() for r in again] == [r.to_dict() for r in results]  # deterministic


def test_a_tiny_table_replaces_estimated_checks_and_counts_real_rows() -> None:
    frame = make_frame(8, 3)
    copies = frame.iloc[[0, 1, 2]].reset_index(drop=True)
    checks = tiny_checks({"quality_score": CheckSpec(min_relative=0.9)}, {}, modelled=True)
    metrics, results = run_checks(frame, frame.iloc[:0], copies, KINDS, checks, seed=1, tiny_rows=23)
    by = {r.metric: r for r in results}
    assert by["quality_score"].outcome is Outcome.NOT_EVALUATED and not by["quality_score"].blocks
    assert "the table has 8 rows, too few to estimate quality_score" in by["quality_score"].message
    assert metrics["real_row_matches"] == 3 and by["real_row_matches"].outcome is Outcome.FAILED


def test_min_relative_is_refused_on_a_metric_real_data_does_not_score() -> None:
    from pydantic import ValidationError

    from synthspec.spec.models import Checks

    with pytest.raises(ValidationError, match="'min_relative' needs a metric real data scores too"):
        Checks.model_validate({"dcr_share": {"min_relative": 0.9}})
    assert Checks.model_validate({"column_shapes": {"min_relative": 0.9}}).column_shapes.min_relative == 0.9  # type: ignore[union-attr]


def test_a_failed_real_row_check_names_the_action() -> None:
    frame = make_frame(8, 3)
    checks = tiny_checks({}, {}, modelled=True)
    _, (result,) = run_checks(frame, frame.iloc[:0], frame.iloc[:2].reset_index(drop=True), KINDS, checks, seed=1, tiny_rows=23)
    assert result.message == ("real_row_matches 2 > max 0: the model keeps producing real rows (every combination of the "
                              "modelled columns it can draw is a real row): give identifying columns a pii policy, model "
                              "fewer columns, add rows, or set `gate: {tiny_tables: block}`")


def test_a_spec_cannot_loosen_a_relative_guardrail(write, tmp_path) -> None:
    from synthspec.errors import SpecError
    from synthspec.spec.project import load_project

    write("synthspec.yml", "name: t\ntarget: {duckdb: out.duckdb}\nguardrails:\n  checks:\n"
                           "    quality_score: {min_relative: 0.9, decide: value}\n")
    write("specs/t.yml", "version: 1\ntable: t\nsource: {path: t.csv}\ncolumns:\n  x: {type: numerical}\n"
                         "checks:\n  quality_score: {min_relative: 0.8, decide: interval}\n")
    with pytest.raises(SpecError) as raised:
        load_project(tmp_path)
    messages = [p.message for p in raised.value.problems]
    assert "checks.quality_score.min_relative loosens the project guardrail (min_relative 0.9)" in messages
    assert "checks.quality_score.decide 'interval' loosens the project guardrail (value)" in messages


def test_a_low_ratio_keeps_the_spread_of_a_score_as_noisy_as_the_baseline() -> None:
    """Both scores spread like the baseline (±0.1 around 0.8): the ratio's half-width is
    0.1 / 0.8 * sqrt(1 + ratio²) (delta method), not narrower for a lower ratio."""
    import math

    spread = Interval(0.7, 0.9, "bootstrap")
    for ratio in (0.6, 1.0, 1.2):
        interval = ratio_interval(ratio, 0.8, spread)
        assert interval is not None
        assert math.isclose((interval.high - interval.low) / 2, 0.125 * math.sqrt(1 + ratio**2))
