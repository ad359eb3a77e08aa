"""report.html (self-contained, no raw values) and the privacy-safe column profiles it plots."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from synthspec.engine.results import (
    RunResult,
    TableResult,
    load_results,
    render_reports,
    report_html,
    write_reports,
)
from synthspec.errors import ExitCode, UsageError
from synthspec.metrics.checks import evaluate
from synthspec.metrics.profile import (
    MAX_BINS,
    MISSING,
    OTHER,
    ColumnProfile,
    categorical_profile,
    column_profiles,
    numerical_profile,
)

VOID = {"meta", "br", "img", "input", "link", "hr", "col", "area", "base", "source", "wbr"}


class _Structure(HTMLParser):
    """Checks that every non-void element is closed in order; collects src/href values."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.links: list[str] = []
        self.tags: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.links += [v or "" for k, v in attrs if k in ("src", "href")]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
            return
        self.stack.pop()


def _parse(text: str) -> _Structure:
    parser = _Structure()
    parser.feed(text)
    parser.close()
    return parser


def _frames(n: int = 400) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    age = rng.normal(40, 12, n)
    age[0] = 123.0  # an extreme real value: must never appear
    city = np.array(["Ankara"] * 150 + ["Izmir"] * 120 + ["Bursa"] * 100 + ["Rareville"] * 3 + ["Tinytown"] * 2 + [None] * 25, dtype=object)
    real = pd.DataFrame({"age": age, "city": city})
    synthetic = pd.DataFrame({"age": rng.normal(41, 11, n),
                              "city": rng.choice(np.array(["Ankara", "Izmir", "Bursa", "Nowhere"], dtype=object), n)})
    return real, synthetic


def _run(profile: list[ColumnProfile] | None) -> RunResult:
    checks = [evaluate("quality_score", 0.91, min=0.85), evaluate("dcr_share", 0.71, max=0.55),
              evaluate("exact_match_rate", None, max=0.01)]
    table = TableResult(table="customers", status="failed", model="cart", rows=400, fingerprint="sha256:abc",
                        timings={"read_s": 0.1, "fit_s": 1.5}, metrics={"quality_score": 0.91, "dcr_share": 0.71},
                        checks=checks, message="checks failed: dcr_share; nothing published", exit_code=ExitCode.CHECK_FAILED,
                        profile=profile)
    other = TableResult(table="orders<x>", status="error", action="train", message="source missing", exit_code=ExitCode.ENVIRONMENT)
    return RunResult(tables=[table, other])


def test_numerical_profile_bins_inside_percentiles_never_extremes() -> None:
    real, synthetic = _frames()
    p = numerical_profile("age", real["age"], synthetic["age"])
    assert p is not None and p.kind == "numerical"
    assert p.edges is not None and len(p.edges) <= MAX_BINS + 1 and len(p.edges) == len(p.real) + 1 == len(p.synthetic) + 1
    assert np.allclose(np.diff(p.edges), p.edges[1] - p.edges[0])  # equal width
    low, high = np.percentile(real["age"], [1, 99])
    step = p.edges[1] - p.edges[0]
    assert low - step < p.edges[0] <= low and high <= p.edges[-1] < high + step
    assert real["age"].min() not in p.edges and real["age"].max() not in p.edges
    assert sum(p.real) == pytest.approx(1.0) and sum(p.synthetic) == pytest.approx(1.0)  # clipped, not dropped


def test_numerical_profile_needs_enough_rows_and_reports_missing() -> None:
    assert numerical_profile("x", pd.Series(np.arange(10.0)), pd.Series(np.arange(10.0))) is None
    values = pd.Series(np.r_[np.arange(100.0), [np.nan] * 100])
    p = numerical_profile("x", values, pd.Series(np.arange(100.0)))
    assert p is not None and p.labels[-1] == MISSING and p.real[-1] == pytest.approx(0.5) and p.synthetic[-1] == 0


def test_datetime_edges_are_whole_days() -> None:
    seconds = pd.Series(pd.date_range("2020-01-01 13:17:05", periods=500, freq="37min").astype("int64") // 10**9, dtype="float64")
    p = numerical_profile("when", seconds, seconds, datetime=True)
    assert p is not None and p.datetime and p.edges is not None
    assert p.edges[0] % 86400 == 0 and p.edges[-1] % 86400 == 0


def test_categorical_profile_merges_rare_categories_and_keeps_top() -> None:
    real, synthetic = _frames()
    p = categorical_profile("city", real["city"], synthetic["city"])
    assert p is not None
    assert p.labels == ["Ankara", "Izmir", "Bursa", OTHER, MISSING]
    assert "Rareville" not in p.labels and "Tinytown" not in p.labels and "Nowhere" not in p.labels
    assert p.real[3] == pytest.approx(5 / 400) and p.real[4] == pytest.approx(25 / 400)
    assert sum(p.synthetic) == pytest.approx(1.0) and p.synthetic[3] > 0  # "Nowhere" counted as other
    many = pd.Series([f"c{i:02d}" for i in range(30) for _ in range(10 + i)], dtype=object)
    top = categorical_profile("many", many, many)
    assert top is not None and len(top.labels) == 16 and top.labels[0] == "c29" and top.labels[-1] == OTHER


def test_column_profiles_follow_the_kinds_order_and_round_trip() -> None:
    real, synthetic = _frames()
    profiles = column_profiles(real, synthetic, {"city": "categorical", "age": "numerical"})
    assert [p.name for p in profiles] == ["city", "age"]
    again = [ColumnProfile.from_dict(json.loads(json.dumps(p.to_dict()))) for p in profiles]
    assert [p.labels for p in again] == [p.labels for p in profiles]


def test_report_is_self_contained_and_lists_checks() -> None:
    real, synthetic = _frames()
    text = report_html(_run(column_profiles(real, synthetic, {"age": "numerical", "city": "categorical"})))
    parsed = _parse(text)
    assert not parsed.errors and not parsed.stack, parsed.errors
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text, re.I)
    assert "http://" not in text and "https://" not in text and "<script" not in text.lower() and "@import" not in text
    assert all(link.startswith("#") for link in parsed.links)
    assert "svg" in parsed.tags and "<style>" in text
    for expected in ("quality_score", "dcr_share", "exact_match_rate", "not_evaluated", "0.55", "0.85", "0.71", "fit_s"):
        assert expected in text
    assert "orders&lt;x&gt;" in text and "orders<x>" not in text  # escaped
    assert "Ankara" in text and "Rareville" not in text and "Tinytown" not in text
    assert not any("123" in chunk for chunk in parsed.text)  # the extreme real age


def test_report_without_profiles(tmp_path: Path) -> None:
    write_reports(_run(None), tmp_path)
    text = (tmp_path / "report.html").read_text()
    assert not _parse(text).errors and "No distribution profile" in text and "<svg" not in text
    assert {p.name for p in tmp_path.iterdir()} == {"run_results.json", "junit.xml", "summary.md", "report.html"}


def test_results_round_trip_and_rerender(tmp_path: Path) -> None:
    real, synthetic = _frames()
    run = _run(column_profiles(real, synthetic, {"age": "numerical", "city": "categorical"}))
    write_reports(run, tmp_path)
    before = {name: (tmp_path / name).read_text() for name in ("junit.xml", "summary.md", "report.html")}
    for name in before:
        (tmp_path / name).unlink()
    loaded = load_results(tmp_path)
    assert loaded.to_dict() == json.loads((tmp_path / "run_results.json").read_text())
    assert loaded.exit_code == ExitCode.ENVIRONMENT
    render_reports(loaded, tmp_path)
    assert {name: (tmp_path / name).read_text() for name in before} == before


def test_load_results_without_a_run(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="run `synthspec apply` first"):
        load_results(tmp_path)
    (tmp_path / "run_results.json").write_text("{not json")
    with pytest.raises(UsageError, match="cannot read"):
        load_results(tmp_path)


def test_whole_number_columns_get_whole_number_bins() -> None:
    values = pd.Series(np.tile(np.arange(1.0, 17.0), 20))
    p = numerical_profile("education_num", values, values)
    assert p is not None and p.edges is not None
    step = p.edges[1] - p.edges[0]
    assert float(step).is_integer() and len(p.real) <= 16  # no more bins than values
    assert 1.0 not in p.edges and 16.0 not in p.edges  # the extremes are on the whole-number grid: shifted off
    assert sum(p.real) == pytest.approx(1.0)


def test_run_details_say_when_metrics_ran_on_samples() -> None:
    from synthspec.metrics.insights import TableInsights

    run = _run(None)
    table = run.tables[0]
    table.insights = TableInsights(seed=1, n_train=50_000, n_holdout=50_000, n_synthetic=50_000, n_train_total=800_000,
                                   n_holdout_total=200_000, n_synthetic_total=1_000_000)
    text = report_html(run)
    assert "metrics computed on" in text and "50,000 training" in text
    assert "800,000" in text and "200,000" in text  # the full sizes as training / holdout rows
    table.insights = TableInsights(seed=1, n_train=300, n_holdout=100, n_synthetic=400)
    assert "metrics computed on" not in report_html(run)
