"""report.pdf: the sections of report.html on A4 pages, drawn with matplotlib (no browser).

Same data, same rules: everything comes from the run results (privacy-safe aggregates), bins
carry the labels of ``report.fmt.bin_labels`` and shares its significant digits. The file is
reproducible: no creation date is embedded, so the same results give the same bytes.
matplotlib is imported here only, so no other command pays for it."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthspec.metrics.checks import Outcome
from synthspec.report import charts
from synthspec.report.fmt import bin_labels, full_size, number, share, signed, tick
from synthspec.report.html import margin, pair_labels, problems_of, threshold

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from synthspec.engine.results import RunResult, TableResult

A4 = (8.27, 11.69)
_COLOURS = {"passed": "#1a7f37", "up_to_date": "#1a7f37", "failed": "#cf222e", "error": "#cf222e"}
#: Distribution charts per page (rows x columns).
_GRID = (4, 2)


PDF_FILE = "report.pdf"


def write_report_pdf(result: RunResult, target_dir: Path) -> Path:
    """``target_dir/report.pdf`` from ``result``, redacted like every report (a PDF cannot be
    redacted after rendering, so the results are, before)."""
    from synthspec import redact
    from synthspec.engine.results import RunResult
    from synthspec.errors import EnvironmentError_

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise EnvironmentError_("report --pdf needs matplotlib: pip install matplotlib") from None
    redacted = RunResult.from_dict(redact.data(result.to_dict()))
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        return write_pdf(redacted, target_dir / PDF_FILE)
    except OSError as exc:
        raise EnvironmentError_(f"cannot write '{target_dir.name}/{PDF_FILE}': {exc.strerror}") from exc


def write_pdf(result: RunResult, path: Path) -> Path:
    """Render ``result`` to ``path`` (one page per section and table)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_pdf import PdfPages

    metadata: dict[str, Any] = {"Title": f"synthspec report: {result.status}", "Creator": "synthspec",
                                "Producer": "synthspec", "CreationDate": None}
    with PdfPages(path, metadata=metadata) as pdf:
        for figure in _pages(result):
            pdf.savefig(figure)
    return path


def _figure() -> Figure:
    from matplotlib.figure import Figure

    figure = Figure(figsize=A4)
    figure.set_layout_engine("none")
    return figure


def _pages(result: RunResult) -> list[Figure]:
    pages = [_cover(result)]
    for table in result.tables:
        pages.append(_checks_page(table))
        if table.insights is not None and table.insights.columns:
            pages.append(_summary_page(table))
        pages += _distribution_pages(table)
        if table.insights is not None and table.insights.heatmap_columns:
            pages.append(_correlation_page(table))
        if table.insights is not None and table.insights.pairs:
            pages.append(_pairs_page(table))
        if table.insights is not None and table.insights.dcr is not None:
            pages.append(_privacy_page(table))
    return pages


def _text(figure: Figure, lines: Sequence[tuple[str, dict[str, Any]]], top: float = 0.95, step: float = 0.022) -> float:
    """Lines of text from ``top`` down; returns where the next element may start."""
    y = top
    for line, style in lines:
        for wrapped in _wrap(line, 95 if style.get("size", 10) <= 10 else 60):
            figure.text(0.07, y, wrapped, va="top", **{"size": 10, **style})
            y -= step * style.get("size", 10) / 10
    return y


def _wrap(line: str, width: int) -> list[str]:
    import textwrap

    return textwrap.wrap(line, width) or [""]


def _table(figure: Figure, top: float, header: list[str], rows: list[list[str]], height_per_row: float = 0.022,
           colours: list[list[str]] | None = None) -> float:
    """A ruled table from ``top`` down; returns the bottom."""
    height = height_per_row * (len(rows) + 1)
    ax = figure.add_axes((0.07, top - height, 0.86, height))
    ax.axis("off")
    if not rows:
        return top
    table = ax.table(cellText=rows, colLabels=header, loc="upper center", cellLoc="left", colLoc="left",
                     cellColours=colours, bbox=(0, 0, 1, 1))
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    for (row, _), cell in table.get_celld().items():
        cell.set_edgecolor("#d0d7de")
        if row == 0:
            cell.set_facecolor("#f6f8fa")
            cell.set_text_props(weight="bold")
    return top - height - 0.02


def _cover(result: RunResult) -> Figure:
    figure = _figure()
    colour = _COLOURS.get(result.status, "#9a6700")
    counts: dict[str, int] = {}
    for t in result.tables:
        counts[t.status] = counts.get(t.status, 0) + 1
    tally = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no table processed"
    lines: list[tuple[str, dict[str, Any]]] = [
        (f"synthspec: {result.status}", {"size": 22, "weight": "bold", "color": colour}),
        (f"{len(result.tables)} table(s): {tally}.", {}),
        (f"synthspec {result.version}; started {_iso(result.started_at)}, finished {_iso(result.finished_at) or '—'}",
         {"color": charts.MUTED}), ("", {})]
    lines += [(f"Blocking: {t.table} {c.metric} {c.value_text()} ({c.outcome.value})", {"color": _COLOURS["failed"]})
              for t in result.tables for c in t.checks if c.blocks]
    lines += [(f"{name}: {message}", {"color": _COLOURS["failed"]})
              for name, message in [*(("run", f"{e.cls}: {e.message}") for e in result.errors),
                                    *((t.table, line) for t in result.tables for line in problems_of(t))]]
    y = _text(figure, lines)
    rows = [[t.table, t.status, t.action, t.model or "—", number(t.rows), "yes" if t.published else "no",
             f"{sum(c.outcome == Outcome.PASSED for c in t.checks)}/{len(t.checks)}"] for t in result.tables]
    y = _table(figure, y - 0.02, ["table", "status", "action", "model", "rows", "published", "checks passed"], rows)
    contents = [("Contents", {"size": 13, "weight": "bold"})]
    contents += [(f"{t.table}: checks, column summary, distributions, correlations, column pairs, privacy, run details", {})
                 for t in result.tables]
    contents += [("", {}), ("Every number is an aggregate (shares, counts, scores, distances). Bins lie on a coarse grid that never "
                           "has an edge at a real minimum or maximum; end bins are open-ended; categories and cells held by fewer "
                           "than 10 real rows are merged or left blank. No raw cell value appears in this report.", {"color": charts.MUTED})]
    _text(figure, contents, top=y - 0.02)
    return figure


def _iso(moment: Any) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def _heading(figure: Figure, t: TableResult, section: str) -> float:
    return _text(figure, [(f"{t.table} — {section}", {"size": 15, "weight": "bold"}),
                          (f"status {t.status}", {"color": _COLOURS.get(t.status, "#9a6700")})])


def _short(fingerprint: str | None) -> str:
    """A fingerprint's first 24 characters (the page is narrower than a hash; the HTML has it whole)."""
    return "—" if not fingerprint else fingerprint if len(fingerprint) <= 24 else fingerprint[:24] + "…"


def _checks_page(t: TableResult) -> Figure:
    figure = _figure()
    y = _heading(figure, t, "checks")
    if t.up_to_date_since:
        from synthspec.engine.results import since_text

        y = _text(figure, [(since_text(t.up_to_date_since), {"color": "#656d76"})], top=y)
    for line in problems_of(t):
        y = _text(figure, [(line, {"color": _COLOURS.get(t.status, "#9a6700")})], top=y)
    rows, colours = [], []
    for c in t.checks:
        interval = f"[{number(c.interval.low)}, {number(c.interval.high)}]" if c.interval else "—"
        rows.append([c.metric, c.outcome.value, c.value_text().split(" [")[0], threshold(c), signed(margin(c)), interval, c.severity])
        tint = {"passed": "#dafbe1", "failed": "#ffebe9", "error": "#ffebe9"}.get(c.outcome.value, "#fff8c5")
        colours.append(["white", tint, *["white"] * 5])
    y = _table(figure, y - 0.01, ["metric", "outcome", "value", "threshold", "margin", "90% interval", "severity"], rows,
               colours=colours or None)
    checked = {c.metric for c in t.checks}
    others = [[k, number(v)] for k, v in sorted(t.metrics.items()) if k not in checked]
    if others:
        y = _text(figure, [("Other metrics (not gated)", {"size": 12, "weight": "bold"})], top=y)
        y = _table(figure, y, ["metric", "value"], others)
    i = t.insights
    facts = [["model", t.model or "—"], ["action", t.action], ["seed", number(i.seed) if i else "—"],
             ["training / holdout / synthetic rows", f"{number(full_size(i.n_train_total, i.n_train)) if i else '—'} / "
                                                     f"{number(full_size(i.n_holdout_total, i.n_holdout)) if i else '—'} / {number(t.rows)}"],
             *([["metrics computed on", sampled]] if i is not None and (sampled := i.sampled()) is not None else []),
             ["fingerprint", _short(t.fingerprint)], ["training fingerprint", _short(i.training_fingerprint if i else None)],
             ["timings (s)", ", ".join(f"{k.removesuffix('_s')} {v:.1f}" for k, v in t.stage_seconds.items()) or "—"]]
    y = _text(figure, [("Run details", {"size": 12, "weight": "bold"})], top=y)
    _table(figure, y, ["", ""], facts)
    return figure


def _summary_page(t: TableResult) -> Figure:
    figure = _figure()
    y = _heading(figure, t, "column summary (real / synthetic)")
    assert t.insights is not None
    labels = {p.name: bin_labels(p) for p in t.profile or []}
    rows = []
    for c in sorted(t.insights.columns, key=lambda c: (c.score if c.score is not None else 2.0, c.name)):
        median = c.quantiles.get("p50")
        where = labels.get(c.name)
        median_text = "—" if not median or not where or max(median) >= len(where) else " / ".join(dict.fromkeys(where[b] for b in median))
        rows.append([c.name, c.kind, number(c.score), f"{share(c.missing[0])} / {share(c.missing[1])}",
                     f"{number(c.distinct[0])} / {number(c.distinct[1])}", median_text, c.top or "—"])
    _table(figure, y - 0.01, ["column", "kind", "score", "missing", "distinct", "median in", "most frequent"], rows)
    return figure


def _category_labels(ax: Axes, axis: str, labels: Sequence[str]) -> None:
    """Labels at 0, 1, 2... along ``axis`` drawn as plain text: matplotlib builds a full tick
    object (lines, texts, grid line) per label, which made a 15-column report take seconds."""
    from matplotlib.transforms import blended_transform_factory

    if axis == "y":
        ax.set_yticks([])
        transform = blended_transform_factory(ax.transAxes, ax.transData)
        for i, label in enumerate(labels):
            ax.text(-0.02, i, label, transform=transform, ha="right", va="center", fontsize=5.5)
    else:
        ax.set_xticks([])
        transform = blended_transform_factory(ax.transData, ax.transAxes)
        for i, label in enumerate(labels):
            ax.text(i, -0.02, label, transform=transform, ha="right", va="top", rotation=60, rotation_mode="anchor", fontsize=5.5)


def _percent_axis(ax: Axes, axis: str = "x") -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(MaxNLocator(4))
    target.set_major_formatter(FuncFormatter(lambda v, _: tick(v)))


def _distribution_pages(t: TableResult) -> list[Figure]:
    if not t.profile:
        return []
    scores = {c.name: c.score for c in t.insights.columns} if t.insights else {}
    profiles = sorted(t.profile, key=lambda p: (scores.get(p.name) if scores.get(p.name) is not None else 2.0, p.name))
    per_page = _GRID[0] * _GRID[1]
    pages = []
    for start in range(0, len(profiles), per_page):
        figure = _figure()
        _heading(figure, t, "distributions, worst first")
        figure.text(0.07, 0.895, "blue: real (training rows); orange: synthetic", size=8, color=charts.MUTED)
        for k, p in enumerate(profiles[start:start + per_page]):
            row, col = divmod(k, _GRID[1])
            ax = figure.add_axes((0.2 + col * 0.45, 0.7 - row * 0.215, 0.25, 0.17))
            labels = bin_labels(p)
            positions = range(len(labels))
            ax.barh([y - 0.2 for y in positions], p.real, height=0.4, color=charts.REAL, label="real")
            ax.barh([y + 0.2 for y in positions], p.synthetic, height=0.4, color=charts.SYNTHETIC, label="synthetic")
            ax.set_ylim(len(labels) - 0.5, -0.5)
            _category_labels(ax, "y", [lab if len(lab) <= 18 else lab[:17] + "…" for lab in labels])
            ax.tick_params(axis="x", labelsize=6)
            _percent_axis(ax)
            score = scores.get(p.name)
            ax.set_title(f"{p.name}" + (f" — score {number(score, 3)}" if score is not None else ""), fontsize=8, loc="left")
            ax.grid(axis="x", color=charts.GRID, linewidth=0.5)
        pages.append(figure)
    return pages


def _heat(figure: Figure, rect: tuple[float, float, float, float], matrix: Sequence[Sequence[float | None]], rows: Sequence[str],
          cols: Sequence[str], title: str, *, vmin: float, vmax: float, cmap: str, fmt: Callable[[float], str] = str) -> None:
    import numpy as np
    from matplotlib.ticker import FuncFormatter

    ax = figure.add_axes(rect)
    data = np.array([[math.nan if v is None else v for v in line] for line in matrix], dtype=float)
    image = ax.imshow(np.ma.masked_invalid(data), vmin=vmin, vmax=vmax, cmap=cmap, aspect="auto")
    ax.set_facecolor("#eaeef2")
    _category_labels(ax, "x", [c[:14] for c in cols])
    _category_labels(ax, "y", [r[:16] for r in rows])
    ax.set_title(title, fontsize=9, loc="left")
    bar = figure.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    bar.ax.tick_params(labelsize=6)
    bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt(v)))


def _correlation_page(t: TableResult) -> Figure:
    figure = _figure()
    y = _heading(figure, t, "correlations")
    i = t.insights
    assert i is not None
    _text(figure, [("Spearman between numerical columns (−1 to 1), Cramér's V otherwise (0 to 1); difference |synthetic − real|.",
                    {"size": 8, "color": charts.MUTED})], top=y)
    diff = [[None if a is None or b is None else abs(b - a) for a, b in zip(ra, rs, strict=True)]
            for ra, rs in zip(i.real_association, i.synthetic_association, strict=True)]
    largest = max([v for line in diff for v in line if v is not None] + [0.05])
    cols = i.heatmap_columns
    _heat(figure, (0.14, 0.5, 0.33, 0.3), i.real_association, cols, cols, "real", vmin=-1, vmax=1, cmap="RdBu",
          fmt=lambda v: f"{v:g}")
    _heat(figure, (0.6, 0.5, 0.33, 0.3), i.synthetic_association, cols, cols, "synthetic", vmin=-1, vmax=1, cmap="RdBu",
          fmt=lambda v: f"{v:g}")
    _heat(figure, (0.14, 0.1, 0.33, 0.3), diff, cols, cols, "difference", vmin=0, vmax=charts.nice_ticks(largest, 2)[-1],
          cmap="Blues", fmt=lambda v: f"{v:g}")
    return figure


def _pairs_page(t: TableResult) -> Figure:
    figure = _figure()
    y = _heading(figure, t, "column pairs kept worst (shares of rows; grey: fewer than 10 real rows)")
    assert t.insights is not None
    height = min(0.24, (y - 0.08) / max(1, len(t.insights.pairs)) - 0.07)
    for k, raw in enumerate(t.insights.pairs):
        pair = pair_labels(raw, t.profile or [])
        top = y - 0.05 - k * (height + 0.07)
        values = [v for line in (*pair.real, *pair.synthetic) for v in line if v is not None]
        vmax = max([*values, 1e-9])
        a, b = pair.columns
        for j, (name, grid) in enumerate((("real", pair.real), ("synthetic", pair.synthetic))):
            _heat(figure, (0.14 + j * 0.45, top - height, 0.3, height), grid, pair.row_labels, pair.col_labels,
                  f"{a} × {b}: {name} (pair score {number(pair.score, 3)})", vmin=0, vmax=vmax, cmap="Blues", fmt=share)
    return figure


def _privacy_page(t: TableResult) -> Figure:
    figure = _figure()
    y = _heading(figure, t, "privacy")
    assert t.insights is not None and t.insights.dcr is not None
    h = t.insights.dcr
    dcr_check = next((c for c in t.checks if c.metric == "dcr_share"), None)
    value = dcr_check.value if dcr_check else t.metrics.get("dcr_share")
    lines: list[tuple[str, dict[str, Any]]] = []
    if value is not None:
        extra = f"; threshold {threshold(dcr_check)}, margin {signed(margin(dcr_check))}" if dcr_check else ""
        lines.append((f"dcr_share {number(value, 4)}{extra}.", {"weight": "bold"}))
    lines += [("The share of synthetic rows closer to a training row than to a holdout row the model never saw. 0.5: as close "
               "to unseen real rows as to the training rows (no memorisation); towards 1: copies of training rows.", {}),
              (f"{number(h.rows)} synthetic rows, each against {number(h.references)} training and as many holdout rows. "
               f"Median distance {number(h.median[0], 3)} to training, {number(h.median[1], 3)} to holdout; identical rows "
               f"{share(h.exact[0])} to training, {share(h.exact[1])} to holdout.", {"color": charts.MUTED})]
    y = _text(figure, lines, top=y)
    ax = figure.add_axes((0.12, y - 0.33, 0.8, 0.28))
    centres = list(range(len(h.edges)))
    ax.bar([c - 0.2 for c in centres], h.train, width=0.4, color=charts.REAL, label="synthetic → closest training row")
    ax.bar([c + 0.2 for c in centres], h.holdout, width=0.4, color=charts.HOLDOUT, label="synthetic → closest holdout row")
    ax.set_xticks(centres[::5], [f"≥ {h.edges[c]:g}" if c == len(h.edges) - 1 else f"{h.edges[c]:g}" for c in centres[::5]], fontsize=7)
    ax.set_xlabel("distance to the closest real row (Gower; last bin open-ended)", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    _percent_axis(ax, "y")
    ax.legend(fontsize=7)
    ax.grid(axis="y", color=charts.GRID, linewidth=0.5)
    rows = [[c.metric, c.outcome.value, c.value_text().split(" [")[0], threshold(c), signed(margin(c))]
            for c in t.checks if c.metric in ("dcr_share", "exact_match_rate", "nndr", "membership_inference_auc",
                                              "k_anonymity", "reidentification_risk")]
    if rows:
        _table(figure, y - 0.4, ["privacy check", "outcome", "value", "threshold", "margin"], rows)
    return figure


__all__ = ["PDF_FILE", "write_pdf", "write_report_pdf"]
