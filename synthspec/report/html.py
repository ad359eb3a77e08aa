"""report.html: the reviewer's page. Verdict first, then a table of contents and per table its
checks (value, threshold, margin, interval), the metrics that are not checks, a per-column
summary, distributions (worst column first, its score beside it), correlation heatmaps,
bivariate views of the worst pairs, a privacy section and the run details.

Self-contained (inline CSS and SVG, no script, nothing fetched) and usable at 390 px: charts
scale with the page and wide tables scroll inside a wrapper. Everything shown comes from the
run results, which hold aggregates computed under the privacy rule of
``synthspec.metrics.profile``: no raw cell value can reach the page."""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING

from synthspec.metrics.checks import CheckResult, Outcome
from synthspec.metrics.intervals import LEVEL
from synthspec.metrics.profile import MIN_CATEGORY_COUNT
from synthspec.report import charts
from synthspec.report.fmt import bin_labels, full_size, number, share, signed

if TYPE_CHECKING:
    from synthspec.engine.results import RunResult, TableResult
    from synthspec.metrics.insights import Bivariate, TableInsights
    from synthspec.metrics.profile import ColumnProfile

CSS = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem auto;max-width:1100px;color:#1f2328;padding:0 1rem}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.25rem;margin-top:2.4rem;border-bottom:2px solid #d0d7de;padding-bottom:.3rem}
h3{font-size:1.05rem;margin:1.6rem 0 .4rem}
.wrap{overflow-x:auto;max-width:100%;margin:.4rem 0 1rem}
table{border-collapse:collapse}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.passed,.up_to_date{color:#1a7f37}.failed,.error{color:#cf222e}.warn,.held,.skipped,.not_evaluated,.not_run,.no_tables{color:#9a6700}
.badge{font-weight:700}.muted{color:#656d76}.verdict{border:1px solid #d0d7de;border-radius:8px;padding:.8rem 1rem;margin:1rem 0}
.verdict.passed{background:#dafbe1}.verdict.failed,.verdict.error{background:#ffebe9}
.plots{display:flex;flex-wrap:wrap;gap:1rem}.plots.pair figure{flex:1 1 300px}
figure{margin:0;border:1px solid #d0d7de;border-radius:6px;padding:.5rem;max-width:100%}
figcaption{font-weight:600;margin-bottom:.3rem}
svg.chart{max-width:100%;height:auto;display:block}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 .8rem;vertical-align:middle}
nav.toc{border:1px solid #d0d7de;border-radius:6px;padding:.4rem 1rem;background:#f6f8fa}nav.toc ul{margin:.2rem 0;padding-left:1.2rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dl.facts dt{color:#656d76}dl.facts dd{margin:0;overflow-wrap:anywhere}
@media (max-width:640px){body{margin:.8rem auto;padding:0 .6rem}th,td{padding:.2rem .35rem}}
"""

_SECTIONS = (("checks", "Checks"), ("metrics", "Other metrics"), ("columns", "Column summary"),
             ("distributions", "Distributions"), ("correlations", "Correlations"), ("pairs", "Column pairs"),
             ("privacy", "Privacy"), ("utility", "Utility (ml_efficacy)"), ("rare", "Rare values protected"),
             ("details", "Run details"))


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _table(header: Iterable[str], rows: Iterable[Iterable[str]], cls: str = "") -> list[str]:
    """A table inside a horizontally scrolling wrapper (the page itself never scrolls sideways).
    Cells are pre-rendered HTML."""
    out = [f'<div class="wrap"><table{f" class={cls!r}" if cls else ""}>', "<tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>"]
    out += ["<tr>" + "".join(rows_cell for rows_cell in row) + "</tr>" for row in rows]
    return [*out, "</table></div>"]


def _td(text: object, cls: str = "") -> str:
    return f'<td class="{cls}">{text}</td>' if cls else f"<td>{text}</td>"


def _anchor(table: str, section: str = "") -> str:
    slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in table)
    return f"t-{slug}" + (f"-{section}" if section else "")


def render(result: RunResult) -> str:
    """The whole page as one string."""
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>synthspec report: {_e(result.status)}</title>", f"<style>{CSS}</style>", "</head>", "<body>"]
    parts += _verdict(result)
    parts += _toc(result)
    parts += ['<h2 id="overview">Overview</h2>', *_overview(result)]
    for table in result.tables:
        parts += _table_section(table)
    parts += ['<h2 id="about">About this report</h2>',
              '<p class="muted">Every number here is an aggregate: shares of rows, counts, scores and distances. '
              "Numerical bins lie on a coarse grid around the real data's 1st–99th percentiles that never has an edge at "
              "the real minimum or maximum; the first and last bins are open-ended and count every value beyond. "
              f"Categories and cells held by fewer than {MIN_CATEGORY_COUNT} real rows are merged into \u201cother\u201d "
              "or left blank; a quantile is shown as the bin that holds it. No raw cell value appears in this report.</p>",
              "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _verdict(result: RunResult) -> list[str]:
    counts: dict[str, int] = {}
    for t in result.tables:
        counts[t.status] = counts.get(t.status, 0) + 1
    tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no table processed"
    blocking = [(t.table, c) for t in result.tables for c in t.checks if c.blocks]
    out = [f'<div class="verdict {_e(result.status)}">',
           f'<h1>synthspec: <span class="badge {_e(result.status)}">{_e(result.status)}</span></h1>',
           f"<p>{len(result.tables)} table(s): {_e(tally)}.</p>"]
    if blocking:
        out.append("<p>Blocking: " + "; ".join(f"<b>{_e(t)}</b> {_e(c.metric)} {_e(c.value_text())} ({_e(c.outcome.value)})"
                                               for t, c in blocking) + "</p>")
    from synthspec.engine.results import NO_TABLES, no_tables_message

    problems = [*(f"run: {e.cls}: {e.message}" for e in result.errors),
                *(f"{t.table}: {line}" for t in result.tables for line in problems_of(t))]
    if not problems and result.status == NO_TABLES:
        problems = [no_tables_message()]
    out += [f'<p class="{_e(result.status)}">{_e(p)}</p>' for p in problems]
    out.append(f'<p class="muted">synthspec {_e(result.version)}; started {_e(_iso(result.started_at))}, '
               f"finished {_e(_iso(result.finished_at) or '—')}</p></div>")
    return out


def _iso(moment: object) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None  # type: ignore[attr-defined]


def _toc(result: RunResult) -> list[str]:
    out = ['<nav class="toc" aria-label="Contents"><b>Contents</b><ul><li><a href="#overview">Overview</a></li>']
    for t in result.tables:
        present = [f'<a href="#{_anchor(t.table, key)}">{title}</a>' for key, title in _SECTIONS if _has(t, key)]
        out.append(f'<li><a href="#{_anchor(t.table)}">{_e(t.table)}</a> <span class="badge {_e(t.status)}">{_e(t.status)}</span>'
                   + (f"<br>{' · '.join(present)}" if present else "") + "</li>")
    return [*out, '<li><a href="#about">About this report</a></li></ul></nav>']


def _has(t: TableResult, key: str) -> bool:
    insights = t.insights
    return {
        "checks": bool(t.checks), "metrics": bool(_other_metrics(t)),
        "columns": bool(insights and insights.columns), "distributions": bool(t.profile),
        "correlations": bool(insights and insights.heatmap_columns), "pairs": bool(insights and insights.pairs),
        "privacy": bool(insights and insights.dcr) or any(c.metric in _PRIVACY for c in t.checks),
        "utility": any(c.metric == "ml_efficacy" for c in t.checks), "rare": bool(t.rare), "details": True,
    }[key]


def _overview(result: RunResult) -> list[str]:
    rows = []
    for t in result.tables:
        passed = sum(c.outcome == Outcome.PASSED for c in t.checks)
        rows.append([_td(f'<a href="#{_anchor(t.table)}">{_e(t.table)}</a>'), _td(_e(t.status), t.status), _td(_e(t.action)),
                     _td(_e(t.model or "—")), _td(number(t.rows), "num"), _td("yes" if t.published else "no"),
                     _td(f"{passed}/{len(t.checks)}", "num"), _td(f"{_seconds(t):.3f}", "num")])
    if not rows:
        return ['<p class="error">No table was processed in this run.</p>']
    return _table(["table", "status", "action", "model", "rows", "published", "checks passed", "time (s)"], rows)


def problems_of(t: TableResult) -> list[str]:
    """A table's problems, one line each with the error's class (older results: the message)."""
    return [f"{e.cls}: {e.message}" for e in t.errors] or ([t.message] if t.message else [])


def _seconds(t: TableResult) -> float:
    return sum(round(v, 3) for v in t.stage_seconds.values())


def _table_section(t: TableResult) -> list[str]:
    out = [f'<h2 id="{_anchor(t.table)}">{_e(t.table)} <span class="badge {_e(t.status)}">{_e(t.status)}</span></h2>']
    if t.up_to_date_since:
        from synthspec.engine.results import since_text

        out.append(f'<p class="muted">{_e(since_text(t.up_to_date_since))}: the checks, metrics and charts below are that run\'s</p>')
    out += [f'<p class="{_e(t.status)}">{_e(line)}</p>' for line in problems_of(t)]
    if t.insights is not None and t.insights.error:
        out.append(f'<p class="warn">{_e(t.insights.error)}</p>')
    for key, title in _SECTIONS:
        if _has(t, key):
            out += [f'<h3 id="{_anchor(t.table, key)}">{title}</h3>', *_RENDERERS[key](t)]
    if not t.profile and t.status not in ("error", "skipped", "up_to_date"):
        out.append('<p class="muted">No distribution profile was recorded for this run.</p>')
    return out


def margin(check: CheckResult) -> float | None:
    """How far the value is inside its threshold (negative: beyond it); the nearer bound."""
    if check.value is None:
        return None
    sides = [m for m in ((check.value - check.min) if check.min is not None else None,
                         (check.max - check.value) if check.max is not None else None) if m is not None]
    return min(sides) if sides else None


def threshold(check: CheckResult) -> str:
    parts = [f"≥ {number(check.min)}" if check.min is not None else "", f"≤ {number(check.max)}" if check.max is not None else "",
             f"≥ {number(check.min_relative)} × real (min_relative)" if check.min_relative is not None else ""]
    text = ", ".join(p for p in parts if p) or "—"
    source = check.details.get("threshold_from")
    return f"{text} ({source})" if source else text


def _checks(t: TableResult) -> list[str]:
    rows = []
    for c in t.checks:
        sizes = " / ".join(str(c.details[k]) for k in ("n_train", "n_holdout", "n_synthetic") if k in c.details) or "—"
        outcome = "blocks" if c.blocks and c.outcome != Outcome.FAILED else c.outcome.value
        rows.append([_td(_e(c.metric)), _td(_e(outcome), c.outcome.value), _td(_e(c.value_text()), "num"), _td(_e(threshold(c)), "num"),
                     _td(signed(margin(c)), "num"), _td(_e(sizes), "num"), _td(_e(c.severity)),
                     _td(_e(c.note() or ""))])
    note = (f'<p class="muted">Value [{LEVEL:.0%} interval of a sampled metric]. Margin: how far the value is inside its '
            "threshold (negative: beyond); sizes: training / holdout / synthetic rows behind it. In brackets: where the threshold came from "
            "(the table's spec, the project's defaults, a project guardrail, or a built-in default or rule).</p>")
    return [*_table(["metric", "outcome", "value [interval]", "threshold", "margin", "sizes", "severity", "message"], rows), note]


_PRIVACY = ("dcr_share", "exact_match_rate", "nndr", "membership_inference_auc", "k_anonymity", "reidentification_risk")


def _other_metrics(t: TableResult) -> dict[str, float | None]:
    checked = {c.metric for c in t.checks}
    return {k: v for k, v in sorted(t.metrics.items()) if k not in checked}


def _metrics(t: TableResult) -> list[str]:
    rows = [[_td(_e(k)), _td(number(v), "num")] for k, v in _other_metrics(t).items()]
    return ['<p class="muted">Computed but not gated by a check.</p>', *_table(["metric", "value"], rows)]


def _columns(t: TableResult) -> list[str]:
    insights = t.insights
    assert insights is not None
    quantiles = ("p5", "p25", "p50", "p75", "p95")
    labels = {p.name: bin_labels(p) for p in t.profile or []}
    datetimes = {p.name for p in t.profile or [] if p.datetime}
    rows = []
    for c in sorted(insights.columns, key=_worst_first):
        q = [_td(_quantile(labels.get(c.name), c.quantiles.get(k)), "num") for k in quantiles]
        rows.append([_td(_e(c.name)), _td("datetime" if c.name in datetimes else _e(c.kind)), _td(number(c.score), "num"),
                     _td(f"{share(c.missing[0])} / {share(c.missing[1])}", "num"),
                     _td(f"{number(c.distinct[0])} / {number(c.distinct[1])}", "num"), *q, _td(_e(c.top or "—"))])
    note = ('<p class="muted">real / synthetic. Score: KSComplement (numerical) or TVComplement (categorical), 1 = same shape; '
            "worst first. A quantile is shown as the bin of the column's chart that holds it (never a real value); the most "
            f"frequent category is named only when at least {MIN_CATEGORY_COUNT} real rows hold it.</p>")
    return [note, *_table(["column", "kind", "score", "missing", "distinct", "p5 in", "p25 in", "p50 in", "p75 in", "p95 in", "most frequent"], rows)]


def _quantile(labels: list[str] | None, bins: list[int] | None) -> str:
    """``real / synthetic`` bin labels; one label when both fall in the same bin."""
    if not labels or not bins or any(b >= len(labels) for b in bins):
        return "—"
    real, synthetic = (labels[b] for b in bins)
    return _e(real) if real == synthetic else f"{_e(real)} / {_e(synthetic)}"


def _worst_first(c: object) -> tuple[float, str]:
    score = getattr(c, "score", None)
    return (score if score is not None else 2.0, str(getattr(c, "name", "")))


def _scores(t: TableResult) -> dict[str, float | None]:
    return {c.name: c.score for c in t.insights.columns} if t.insights else {}


def _distributions(t: TableResult) -> list[str]:
    assert t.profile is not None
    scores = _scores(t)
    profiles = sorted(t.profile, key=lambda p: (scores.get(p.name) if scores.get(p.name) is not None else 2.0, p.name))
    out = [f'<p class="legend"><span style="background:{charts.REAL}"></span>real (training rows)'
           f'<span style="background:{charts.SYNTHETIC}"></span>synthetic — worst-scoring column first</p>', '<div class="plots">']
    for p in profiles:
        kind = "datetime" if p.datetime else ("integer" if p.integer else p.kind)
        score = scores.get(p.name)
        out.append(f'<figure><figcaption>{_e(p.name)} <span class="muted">({_e(kind)})</span>'
                   f'{f" — score {number(score, 3)}" if score is not None else ""}</figcaption>{charts.distribution(p)}</figure>')
    return [*out, "</div>"]


def _correlations(t: TableResult) -> list[str]:
    i = t.insights
    assert i is not None
    cols = i.heatmap_columns
    diff = [[None if a is None or b is None else abs(b - a) for a, b in zip(ra, rs, strict=True)]
            for ra, rs in zip(i.real_association, i.synthetic_association, strict=True)]
    note = ('<p class="muted">Association per column pair: Spearman rank correlation between two numerical columns (−1 to 1), '
            "Cramér's V otherwise (0 to 1, numerical columns cut on their bin grid); on up to 5,000 rows per side. "
            "Difference: |synthetic − real| (0 = the pair is preserved).</p>")
    largest = max([v for line in diff for v in line if v is not None] + [0.0])
    scales = {"real": 1.0, "synthetic": 1.0, "difference": charts.nice_ticks(max(largest, 0.05), 2)[-1]}
    figures = [f"<figure><figcaption>{name}</figcaption>"
               f"{charts.heatmap(matrix, cols, cols, f'{name} association', diverging=name != 'difference', scale_max=scales[name])}</figure>"
               for name, matrix in (("real", i.real_association), ("synthetic", i.synthetic_association), ("difference", diff))]
    return [note, '<div class="plots">', *figures, "</div>"]


def _pairs(t: TableResult) -> list[str]:
    i = t.insights
    assert i is not None
    out = ['<p class="muted">The column pairs whose trend the synthetic data keeps worst (lowest pair score). Shares of rows per '
           f"cell; real cells held by fewer than {MIN_CATEGORY_COUNT} rows are left grey.</p>"]
    for pair in i.pairs:
        a, b = pair.columns
        real_svg, synth_svg = charts.bivariate(pair_labels(pair, t.profile or []))
        out += [f"<h4>{_e(a)} × {_e(b)} <span class=\"muted\">pair score {number(pair.score, 3)}</span></h4>",
                '<div class="plots pair">', f"<figure><figcaption>real</figcaption>{real_svg}</figure>",
                f"<figure><figcaption>synthetic</figcaption>{synth_svg}</figure>", "</div>"]
    return out


def pair_labels(pair: Bivariate, profiles: list[ColumnProfile]) -> Bivariate:
    """The pair with its bins labelled as the distribution charts label them."""
    names = {p.name: dict(zip(p.labels, bin_labels(p), strict=True)) for p in profiles}
    rows, cols = (names.get(column, {}) for column in pair.columns)
    return replace(pair, row_labels=[rows.get(v, v) for v in pair.row_labels], col_labels=[cols.get(v, v) for v in pair.col_labels])


def _privacy(t: TableResult) -> list[str]:
    out = []
    checks = {c.metric: c for c in t.checks}
    dcr_check = checks.get("dcr_share")
    value = dcr_check.value if dcr_check else t.metrics.get("dcr_share")
    if value is not None:
        where = ""
        if dcr_check is not None and (m := margin(dcr_check)) is not None:
            where = f" — threshold {_e(threshold(dcr_check))}, margin {signed(m)} ({'inside' if m >= 0 else 'beyond'})"
        out.append(f"<p><b>dcr_share {number(value, 4)}</b>{where}. The share of synthetic rows closer to a training row "
                   "than to a holdout row the model never saw. 0.5 means the synthetic rows are as close to unseen real rows as "
                   "to the training rows (no memorisation); towards 1 the model copies its training rows.</p>")
    insights = t.insights
    if insights is not None and insights.dcr is not None:
        h = insights.dcr
        out += [f'<p class="legend"><span style="background:{charts.REAL}"></span>synthetic → closest training row'
                f'<span style="background:{charts.HOLDOUT}"></span>synthetic → closest holdout row</p>',
                f"<figure><figcaption>Distance to the closest record</figcaption>{charts.dcr(h)}</figure>",
                f'<p class="muted">{number(h.rows)} synthetic rows, each against {number(h.references)} training and as many holdout rows '
                f"(seeded samples). Median distance: {number(h.median[0], 3)} to training, {number(h.median[1], 3)} to holdout; "
                f"identical rows (distance 0): {share(h.exact[0])} to training, {share(h.exact[1])} to holdout. Two curves that "
                "overlap mean no memorisation; mass at 0 on the training side only would mean copies.</p>"]
    rows = [[_td(_e(c.metric)), _td(_e(c.outcome.value), c.outcome.value), _td(_e(c.value_text()), "num"),
             _td(_e(threshold(c)), "num"), _td(signed(margin(c)), "num")] for c in t.checks if c.metric in _PRIVACY]
    if rows:
        out += _table(["privacy check", "outcome", "value", "threshold", "margin"], rows)
    return out


def _utility(t: TableResult) -> list[str]:
    """ml_efficacy: a model trained on synthetic rows and one trained on real rows, both scored
    on the holdout (train-synthetic-test-real over train-real-test-real)."""
    c = next(c for c in t.checks if c.metric == "ml_efficacy")
    d = c.details
    rows = [[_td(_e(d.get("target", "—"))), _td(_e(d.get("task") or "—")), _td(_e(d.get("score") or "—")),
             _td(number(d.get("tstr"), 4), "num"), _td(number(d.get("trtr"), 4), "num"), _td(_e(c.value_text()), "num"),
             _td(_e(threshold(c)), "num"), _td(_e(c.outcome.value), c.outcome.value)]]
    return ['<p class="muted">A model trained on the synthetic rows (TSTR) and one trained on the real training rows (TRTR), '
            "both scored on the holdout; ml_efficacy is their ratio, capped at 1 (1 = the synthetic data predicts as well as the real).</p>",
            *_table(["target", "task", "score", "TSTR", "TRTR", "ml_efficacy", "threshold", "outcome"], rows)]


def _rare(t: TableResult) -> list[str]:
    rows = [[_td(_e(r["column"])), _td(number(r["min_count"]), "num"), _td(number(r["values"]), "num"), _td(number(r["rows"]), "num"),
             _td(_e(r["replace"] if r["values"] else "—"))] for r in t.rare or []]
    return ['<p class="muted">Categories held by fewer than min_count real rows, replaced before training '
            "(token: the protected token; sample: a frequent value; null: every value was rare).</p>",
            *_table(["column", "min_count", "values", "rows", "replaced by"], rows)]


def _details(t: TableResult) -> list[str]:
    i: TableInsights | None = t.insights
    facts = [("model", t.model or "—"), ("action", t.action), ("seed", number(i.seed) if i else "—"),
             ("training rows", number(full_size(i.n_train_total, i.n_train)) if i else "—"),
             ("holdout rows", number(full_size(i.n_holdout_total, i.n_holdout)) if i else "—"),
             ("synthetic rows", number(t.rows)), ("fingerprint", t.fingerprint or "—"),
             ("training fingerprint", (i.training_fingerprint or "—") if i else "—")]
    if i is not None and (sampled := i.sampled()) is not None:
        facts.append(("metrics computed on", sampled))
    out = ['<dl class="facts">', *(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts), "</dl>"]
    if t.stage_seconds:
        out += _table([_e(k) for k in t.stage_seconds], [[_td(f"{round(v, 3):.3f}", "num") for v in t.stage_seconds.values()]])
    return out


_RENDERERS = {"checks": _checks, "metrics": _metrics, "columns": _columns, "distributions": _distributions,
              "correlations": _correlations, "pairs": _pairs, "privacy": _privacy, "utility": _utility, "rare": _rare, "details": _details}


__all__ = ["CSS", "margin", "pair_labels", "render", "threshold"]
