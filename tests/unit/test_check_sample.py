"""Checks on bounded samples (engine/checked.py, engine/checks.py, metrics/privacy.py): the
output's sample is a content-hash sample, independent of row order and of how the output is cut
into pieces; small tables are scored exactly as before; exact_match_rate still looks up every
real row; the checks' details and the report say what was sampled."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthspec.engine.checked import check_sample, checked_frame, real_sample
from synthspec.engine.checks import Computed, Population, run_checks
from synthspec.metrics._frames import normalise
from synthspec.metrics.insights import TableInsights
from synthspec.metrics.privacy import _row_hashes, dcr_distances, exact_match_rate
from synthspec.spec.models import CheckSpec
from tests.helpers import KINDS, make_frame
from tests.unit.test_checked_frame import PLANS, _output


def test_below_the_cap_the_sample_is_the_checked_frame() -> None:
    output = _output(200)
    pd.testing.assert_frame_equal(check_sample([output], PLANS, rows=200), checked_frame(output, PLANS))
    pd.testing.assert_frame_equal(check_sample([output.iloc[:70], output.iloc[70:]], PLANS, rows=500),
                                  checked_frame(output, PLANS))


def test_above_the_cap_the_sample_ignores_row_order_and_pieces() -> None:
    output = _output(300, seed=3)
    sample = check_sample([output], PLANS, rows=50)
    assert len(sample) == 50
    shuffled = output.sample(frac=1.0, random_state=7)
    pieces = [shuffled.iloc[:40], shuffled.iloc[40:200], shuffled.iloc[200:]]  # below and above the cap
    pd.testing.assert_frame_equal(check_sample(pieces, PLANS, rows=50), sample)
    # A re-check reads the published (already CAST) rows back: the same sample again.
    from synthspec.io.roundtrip import as_published

    published = as_published(output, [(p.name, p.duckdb_type) for p in PLANS])
    pd.testing.assert_frame_equal(check_sample([published], PLANS, rows=50), sample)
    # The sampled rows are rows of the checked frame, in its content order.
    full = checked_frame(output, PLANS)
    keys = pd.util.hash_pandas_object(full, index=False)
    assert set(pd.util.hash_pandas_object(sample, index=False)) <= set(keys)
    assert pd.util.hash_pandas_object(sample, index=False).is_monotonic_increasing


def test_the_real_sample_is_seeded_and_kept_whole_below_the_cap() -> None:
    frame = make_frame(500, 1)
    assert real_sample(frame, seed=1, stream=0, rows=500) is frame
    a, b = real_sample(frame, seed=1, stream=0, rows=100), real_sample(frame, seed=1, stream=0, rows=100)
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 100 and a.index.equals(pd.RangeIndex(100))
    assert not real_sample(frame, seed=1, stream=1, rows=100).equals(a)


def _old_exact_match(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
                     kinds: dict[str, str]) -> tuple[float, float]:
    """The per-cell implementation exact_match_rate replaced (normalise, then hash rows)."""
    columns = list(kinds)
    known = np.unique(_row_hashes(normalise(train, columns, kinds)))
    return tuple(float(np.isin(_row_hashes(normalise(f, columns, kinds)), known).mean()) for f in (synthetic, holdout))


def test_exact_match_rate_matches_the_per_cell_comparison() -> None:
    kinds = {"x": "numerical", "flag": "categorical", "tier": "categorical"}
    train = pd.DataFrame({"x": [0.0, 1.5, np.nan, 2.0, 3.0], "flag": [True, False, None, True, False],
                          "tier": ["a", "b", "a", None, "c"]})
    holdout = pd.DataFrame({"x": [-0.0, 9.0, np.nan], "flag": ["True", True, None], "tier": ["a", "a", "a"]})
    synthetic = pd.DataFrame({"x": [-0.0, 1.5, np.nan, 2.0, 7.0, 3.0], "flag": ["True", "False", None, True, True, False],
                              "tier": ["a", "b", "a", None, "a", pd.NA]}).astype({"tier": object})
    result = exact_match_rate(train, holdout, synthetic, kinds)
    # -0.0 equals 0.0, "True" equals True, NaN/None/NA equal each other.
    assert (result.rate, result.holdout_rate) == (4 / 6, 2 / 3)
    assert (result.rate, result.holdout_rate) == _old_exact_match(train, holdout, synthetic, kinds)
    big_train, big_other = make_frame(3000, 5), make_frame(800, 6)
    mixed = pd.concat([big_other, big_train.iloc[:200]], ignore_index=True)
    result = exact_match_rate(big_train, big_other, mixed, KINDS)
    assert (result.rate, result.holdout_rate) == _old_exact_match(big_train, big_other, mixed, KINDS)
    assert result.rate >= 200 / len(mixed)
    assert exact_match_rate(big_train.iloc[:0], big_other, mixed, KINDS).rate == 0.0


def test_sampled_checks_report_the_full_sizes_and_match_every_real_row() -> None:
    train, holdout = make_frame(3000, 1), make_frame(800, 2)
    synthetic = train.iloc[:400].reset_index(drop=True)  # copies of training rows
    checks = {"exact_match_rate": CheckSpec(max=0.5), "dcr_share": CheckSpec(max=0.9)}
    small_train, small_holdout = real_sample(train, 0, 0, rows=300), real_sample(holdout, 0, 1, rows=300)
    computed = Computed()
    metrics, results = run_checks(small_train, small_holdout, synthetic, KINDS, checks, seed=0,
                                  population=Population(train, holdout, 4000), computed=computed)
    assert metrics["exact_match_rate"] == 1.0  # every copied row found, not only those in the sample
    details = {r.metric: r.details for r in results}
    assert details["dcr_share"]["n_train"] == 300 and details["dcr_share"]["n_train_total"] == 3000
    assert details["exact_match_rate"]["n_synthetic_total"] == 4000
    assert computed.quality is not None and computed.quality.quality_score == metrics["quality_score"]
    # The report's histograms get dcr_share's own distances, not a second measurement.
    assert computed.dcr_distances is not None
    again = dcr_distances(small_train, small_holdout, synthetic, KINDS, seed=0)
    np.testing.assert_array_equal(computed.dcr_distances[0], again[0])
    np.testing.assert_array_equal(computed.dcr_distances[1], again[1])


def test_the_report_says_when_metrics_ran_on_samples() -> None:
    assert TableInsights(n_train=10, n_holdout=5, n_synthetic=10).sampled() is None
    sampled = TableInsights(n_train=50_000, n_holdout=50_000, n_synthetic=50_000, n_train_total=800_000,
                            n_holdout_total=200_000, n_synthetic_total=1_000_000)
    assert sampled.sampled() is not None and "50,000 training" in sampled.sampled()
    assert TableInsights.from_dict(sampled.to_dict()).n_synthetic_total == 1_000_000


def test_normalise_converts_distinct_values_with_the_per_cell_result() -> None:
    """The per-distinct-value text conversion gives what converting every cell gave, also where
    hashing would merge values of different text (1, 1.0 and True)."""
    def per_cell(values: pd.Series) -> list[object]:
        raw = values.to_numpy()
        return list(np.where(pd.isna(raw), None, raw.astype(str)).astype(object))

    cases = [[True, "True", None, np.nan, 1, 1.0, "x", pd.NA], [True, False, None, np.nan], ["a", None, "b", pd.NA],
             [None, None], [], [np.float64(1.5), "a"], [np.True_, True, None]]
    for values in cases:
        series = pd.Series(values, dtype=object)
        assert normalise(pd.DataFrame({"c": series}), ["c"], {"c": "categorical"})["c"].tolist() == per_cell(series)
