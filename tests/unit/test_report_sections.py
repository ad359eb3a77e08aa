"""The reviewer's report: honest bins and shares, privacy of the new aggregates (insights),
every section present, re-rendering from run_results.json alone, and the PDF."""

from __future__ import annotations

import json
import re
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
from synthspec.metrics.checks import evaluate
from synthspec.metrics.fidelity import quality_scores
from synthspec.metrics.insights import TableInsights, dcr_histogram, table_insights
from synthspec.metrics.privacy import dcr_distances, dcr_share
from synthspec.metrics.profile import ColumnProfile, column_profiles, numerical_profile
from synthspec.report.fmt import bin_labels, share
from synthspec.report.html import margin

KINDS = {"age": "numerical", "income": "numerical", "city": "categorical", "plan": "categorical"}


def _frames(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Training, holdout and synthetic frames; the training rows hold an extreme income and
    two rare cities that must never reach a report."""
    rng = np.random.default_rng(seed)

    def frame(rows: int, shift: float = 0.0) -> pd.DataFrame:
        age = np.round(rng.normal(40 + shift, 12, rows)).clip(18, 80)
        income = np.round(rng.lognormal(10, 0.5, rows), 2)
        city = rng.choice(np.array(["Ankara", "Izmir", "Bursa"], dtype=object), rows, p=[0.5, 0.3, 0.2])
        plan = np.where(age > 45, "gold", "basic").astype(object)
        return pd.DataFrame({"age": age, "income": income, "city": city, "plan": plan})

    train, holdout, synthetic = frame(n), frame(n // 2), frame(n, shift=2.0)
    train.loc[0, "income"] = 987654.32
    train.loc[1, "city"], train.loc[2, "city"] = "Rareville", "Tinytown"
    return train, holdout, synthetic


def _insights(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame) -> tuple[list[ColumnProfile], TableInsights]:
    profiles = column_profiles(train, synthetic, KINDS)
    quality = quality_scores(train, synthetic, KINDS)
    distances = dcr_distances(train, holdout, synthetic, KINDS, seed=3)
    insights = table_insights(train, holdout, synthetic, KINDS, profiles, seed=3, column_scores=quality.column_shape_scores,
                              pair_scores=quality.pair_scores, dcr_distances=distances)
    return profiles, insights


def _run() -> RunResult:
    train, holdout, synthetic = _frames()
    profiles, insights = _insights(train, holdout, synthetic)
    checks = [evaluate("quality_score", 0.91, min=0.85), evaluate("dcr_share", 0.57, max=0.55)]
    table = TableResult(table="people", status="failed", model="cart", rows=600, fingerprint="sha256:abc",
                        timings={"fit_s": 1.2}, metrics={"quality_score": 0.91, "dcr_share": 0.57, "exact_match_rate": 0.0},
                        checks=checks, profile=profiles, insights=insights)
    return RunResult(tables=[table])


def test_shares_keep_enough_digits_to_differ() -> None:
    assert share(0.0006) == "0.06%" and share(0.0033) == "0.33%"
    assert share(0.0) == "0%" and share(0.123456) == "12.3%" and share(0.05678) == "5.68%"
    assert share(1e-7) == "<0.001%" and share(None) == "—"


def test_bins_are_half_open_with_open_tails() -> None:
    p = ColumnProfile("x", "numerical", ["bin 1", "bin 2", "bin 3", "missing"], [0.2, 0.5, 0.2, 0.1], [0.25, 0.5, 0.25, 0.0],
                      edges=[0.5, 1.0, 1.5, 2.0])
    assert bin_labels(p) == ["< 1", "[1, 1.5)", "≥ 1.5", "missing"]


def test_integer_columns_get_disjoint_integer_ranges() -> None:
    ages = pd.Series(np.r_[np.full(50, 17.0), np.arange(17.0, 91.0).repeat(10), np.full(50, 90.0)])
    p = numerical_profile("age", ages, ages)
    assert p is not None and p.integer and p.edges is not None
    labels = bin_labels(p)
    assert labels[0].startswith("< ") and labels[-1].startswith(("≥ ", "> "))
    ranges = [tuple(int(v.replace(",", "")) for v in label.split("–")) for label in labels[1:-1]]
    assert all(len(r) in (1, 2) for r in ranges)
    lows, highs = [r[0] for r in ranges], [r[-1] for r in ranges]
    assert all(high + 1 == low for high, low in zip(highs, lows[1:], strict=False))  # adjacent, never shared
    assert "17" not in labels[0] and "90" not in labels[-1]  # the tails print grid edges, not the extremes
    assert json.loads(json.dumps(p.to_dict()))["integer"] is True and ColumnProfile.from_dict(p.to_dict()).integer


def test_insights_hold_no_raw_value() -> None:
    train, holdout, synthetic = _frames()
    profiles, insights = _insights(train, holdout, synthetic)
    text = json.dumps(insights.to_dict())
    assert "987654" not in text and "Rareville" not in text and "Tinytown" not in text
    income = next(c for c in insights.columns if c.name == "income")
    assert set(income.quantiles) == {"p5", "p25", "p50", "p75", "p95"}
    assert all(isinstance(b, int) for pair in income.quantiles.values() for b in pair)  # bins, not values
    city = next(c for c in insights.columns if c.name == "city")
    assert city.top == "Ankara" and city.distinct == [5, 3] and city.missing == [0.0, 0.0]
    for pair in insights.pairs:
        assert "Rareville" not in pair.row_labels + pair.col_labels
        real_counts = [v * len(train) for line in pair.real for v in line if v is not None and v > 0]
        assert all(c >= 10 - 1e-6 for c in real_counts)  # small real cells are suppressed


def test_insights_round_trip_and_are_deterministic() -> None:
    train, holdout, synthetic = _frames()
    _, first = _insights(train, holdout, synthetic)
    _, second = _insights(train, holdout, synthetic)
    assert first.to_dict() == second.to_dict()
    assert TableInsights.from_dict(json.loads(json.dumps(first.to_dict()))).to_dict() == first.to_dict()
    assert len(first.heatmap_columns) == 4 and first.real_association[0][0] == 1.0
    plan_age = first.real_association[first.heatmap_columns.index("age")][first.heatmap_columns.index("plan")]
    assert plan_age is not None and plan_age > 0.5  # plan is a function of age: a strong association


def test_dcr_distances_are_the_ones_behind_dcr_share() -> None:
    train, holdout, synthetic = _frames()
    d_train, d_hold = dcr_distances(train, holdout, synthetic, KINDS, seed=5)
    result = dcr_share(train, holdout, synthetic, KINDS, seed=5)
    assert float(np.median(d_train)) == pytest.approx(result.median_dcr_train, rel=1e-6)
    assert float(np.median(d_hold)) == pytest.approx(result.median_dcr_holdout, rel=1e-6)
    hist = dcr_histogram(d_train, d_hold)
    assert sum(hist.train) == pytest.approx(1.0) and sum(hist.holdout) == pytest.approx(1.0)
    assert hist.edges[0] == 0.0 and len(hist.train) == len(hist.edges)  # the last bin is open-ended
    copies = dcr_histogram(np.zeros(4), np.array([0.1, 0.2, 0.9, 0.0]))
    assert copies.exact == [1.0, 0.25] and copies.holdout[-1] == 0.25  # 0.9 lands in the open tail


def test_margin_is_the_distance_inside_the_nearer_bound() -> None:
    assert margin(evaluate("dcr_share", 0.5156, max=0.53)) == pytest.approx(0.0144)
    assert margin(evaluate("quality_score", 0.8, min=0.85)) == pytest.approx(-0.05)
    assert margin(evaluate("quality_score", None, min=0.85)) is None


def test_every_section_is_present_and_linked() -> None:
    page = report_html(_run())
    ids = set(re.findall(r'id="([^"]+)"', page))
    for section in ("checks", "metrics", "columns", "distributions", "correlations", "pairs", "privacy", "details"):
        assert f"t-people-{section}" in ids, section
    links = set(re.findall(r'href="#([^"]+)"', page))
    assert links <= ids and "overview" in links
    assert page.index("synthspec: <span") < page.index('id="overview"')  # verdict first
    other = page[page.index('id="t-people-metrics"'):page.index('id="t-people-columns"')]
    assert "exact_match_rate" in other and "quality_score" not in other  # no repeat of the checks
    assert "margin" in page and "−0.020" in page  # dcr_share 0.57 is 0.02 beyond its max
    assert "987654" not in page and "Rareville" not in page
    assert 'viewBox="0 0' in page and "max-width:100%" in page and '<div class="wrap">' in page


def test_distributions_worst_first() -> None:
    run = _run()
    page = report_html(run)
    scores = {c.name: c.score for c in run.tables[0].insights.columns}  # type: ignore[union-attr]
    expected = sorted(scores, key=lambda name: (scores[name], name))
    captions = re.findall(r"<figcaption>([a-z]+) <span", page)
    assert captions == expected


def test_report_rerenders_from_run_results_alone(tmp_path: Path) -> None:
    write_reports(_run(), tmp_path)
    before = (tmp_path / "report.html").read_text()
    (tmp_path / "report.html").unlink()
    render_reports(load_results(tmp_path), tmp_path)
    assert (tmp_path / "report.html").read_text() == before and "Distance to the closest record" in before


def test_pdf_has_the_sections_and_is_reproducible(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from synthspec.report.pdf import write_pdf, write_report_pdf

    run = _run()
    first = write_report_pdf(run, tmp_path).read_bytes()
    second = write_pdf(RunResult.from_dict(json.loads(json.dumps(run.to_dict()))), tmp_path / "again.pdf").read_bytes()
    assert first.startswith(b"%PDF") and first == second
    pages = max(int(n) for n in re.findall(rb"/Count (\d+)", first))
    assert pages == 7  # cover, checks, column summary, distributions, correlations, pairs, privacy


def test_a_run_without_tables_or_with_errors_says_so(tmp_path: Path) -> None:
    from synthspec.engine.results import RunError
    from synthspec.report.pdf import write_pdf

    empty = RunResult(errors=[RunError("EnvironmentError", "database is locked")])
    page = report_html(empty)
    assert "No table was processed" in page and 'class="verdict error"' in page
    assert "EnvironmentError: database is locked" in page
    broken = RunResult(tables=[TableResult(table="orders", status="error", message="source missing")])
    page = report_html(broken)
    assert 'id="t-orders-details"' in page and 'id="t-orders-distributions"' not in page and "source missing" in page
    for name, run in (("empty.pdf", empty), ("broken.pdf", broken)):
        pytest.importorskip("matplotlib")
        assert write_pdf(run, tmp_path / name).read_bytes().startswith(b"%PDF")


def test_threshold_sources_name_who_set_each_threshold(write, tmp_path: Path) -> None:
    from synthspec.engine.prepare import effective_checks, threshold_sources
    from synthspec.spec.project import load_project

    write("synthspec.yml", """
        name: t
        source: {duckdb: wh.duckdb}
        target: {duckdb: wh.duckdb, schema: synthetic}
        defaults:
          checks:
            quality_score: {min: 0.8}
        guardrails:
          checks:
            dcr_share: {max: 0.55}
        """)
    write("specs/people.yml", """
        version: 1
        table: people
        source: {table: raw.people}
        columns:
          id: {type: id, primary_key: true}
          age: {type: numerical}
          city: {type: categorical}
        checks:
          exact_match_rate: {max: 0.01}
        """)
    project = load_project(tmp_path, {})
    loaded = project.specs[0]
    sources = threshold_sources(loaded, project, effective_checks(loaded, project))
    assert sources == {"quality_score": "project default", "dcr_share": "guardrail", "exact_match_rate": "spec",
                       "key_uniqueness": "built-in rule"}
    check = evaluate("dcr_share", 0.5, max=0.55)
    check.details["threshold_from"] = "guardrail"
    table = TableResult(table="people", checks=[check])
    assert "≤ 0.55 (guardrail)" in report_html(RunResult(tables=[table]))


def test_readme_links_the_committed_screenshots() -> None:
    root = Path(__file__).resolve().parents[2]
    links = set(re.findall(r"docs/img/[\w.-]+\.png", (root / "README.md").read_text()))
    assert {"docs/img/report-1400.png", "docs/img/report-390.png", "docs/img/report-pdf-page1.png"} <= links
    assert all((root / link).is_file() for link in links), sorted(link for link in links if not (root / link).is_file())


def test_ml_efficacy_has_its_section() -> None:
    check = evaluate("ml_efficacy", 0.93, min=0.8)
    check.details.update({"target": "income", "task": "classification", "score": "roc_auc", "tstr": 0.81, "trtr": 0.87})
    page = report_html(RunResult(tables=[TableResult(table="adult", checks=[check])]))
    section = page[page.index('id="t-adult-utility"'):page.index('id="t-adult-details"')]
    assert "income" in section and "0.81" in section and "0.87" in section and "roc_auc" in section


def test_a_new_run_removes_a_stale_pdf(tmp_path: Path) -> None:
    from synthspec.engine.results import clear_reports

    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4 from an older run")
    clear_reports(tmp_path)
    assert not (tmp_path / "report.pdf").exists()
