"""Inline SVG charts for report.html: no script, nothing fetched, every chart with an axis.

Each chart has a ``viewBox`` and scales down with the page (CSS ``max-width: 100%``), so the
report is usable at phone width. Inputs are the privacy-safe aggregates of the run results
(profiles, insights): a chart never sees a row."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from synthspec.metrics.insights import Bivariate, DcrHistogram
from synthspec.metrics.profile import ColumnProfile
from synthspec.report.fmt import bin_labels, share, tick

REAL, SYNTHETIC, HOLDOUT = "#0969da", "#fb8f44", "#8250df"
MUTED, GRID, FONT = "#656d76", "#d8dee4", "system-ui,-apple-system,Segoe UI,Roboto,sans-serif"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def svg(width: float, height: float, title: str, body: Sequence[str]) -> str:
    """An SVG that shrinks to its container (width attribute = natural size, CSS caps it)."""
    return (f'<svg role="img" class="chart" width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" '
            f'font-family="{FONT}" font-size="11"><title>{_e(title)}</title>{"".join(body)}</svg>')


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """0 and round steps (1, 2 or 5 times a power of ten) up to at least ``top``."""
    top = max(top, 1e-9)
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(f * magnitude for f in (1, 2, 5, 10) if f * magnitude >= raw)
    return [round(step * i, 12) for i in range(math.ceil(top / step - 1e-9) + 1)]


def _short(label: str, size: int = 24) -> str:
    return label if len(label) <= size else label[: size - 1] + "…"


def distribution(profile: ColumnProfile) -> str:
    """Grouped horizontal bars, real above synthetic, with a share axis at the bottom."""
    labels = bin_labels(profile)
    label_w, plot_w, value_w, row_h, axis_h = 150, 220, 112, 18, 24
    ticks = nice_ticks(max([*profile.real, *profile.synthetic, 0.0]))
    top = ticks[-1]
    height = row_h * len(labels) + axis_h + 4
    body = []
    x0, bottom = label_w, row_h * len(labels) + 4
    for value in ticks:
        x = x0 + plot_w * value / top
        body.append(f'<line x1="{x:.1f}" y1="2" x2="{x:.1f}" y2="{bottom}" stroke="{GRID}"/>')
        body.append(f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle" fill="{MUTED}" font-size="10">{tick(value)}</text>')
    body.append(f'<line x1="{x0}" y1="{bottom}" x2="{x0 + plot_w}" y2="{bottom}" stroke="{MUTED}"/>')
    for i, label in enumerate(labels):
        y = 3 + i * row_h
        body.append(f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end"><title>{_e(label)}</title>{_e(_short(label))}</text>')
        for j, (value, colour, name) in enumerate(((profile.real[i], REAL, "real"), (profile.synthetic[i], SYNTHETIC, "synthetic"))):
            body.append(f'<rect x="{x0}" y="{y + 1 + j * 8}" width="{plot_w * value / top:.1f}" height="7" fill="{colour}">'
                        f"<title>{_e(label)}, {name}: {share(value)}</title></rect>")
        body.append(f'<text x="{x0 + plot_w + 6}" y="{y + 12}" font-size="10" fill="{MUTED}">'
                    f"{share(profile.real[i])} / {share(profile.synthetic[i])}</text>")
    return svg(label_w + plot_w + value_w, height, f"{profile.name}: real vs synthetic shares of rows", body)


def _colour(value: float | None, *, diverging: bool) -> str:
    """White to blue for [0, 1]; red–white–blue for [-1, 1]; grey for undefined."""
    if value is None or not math.isfinite(value):
        return "#eaeef2"
    v = max(-1.0, min(1.0, value))
    target = (9, 105, 218) if v >= 0 else (207, 34, 46)
    t = abs(v) if diverging or v >= 0 else 0.0
    r, g, b = (round(255 + (c - 255) * t) for c in target)
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(matrix: Sequence[Sequence[float | None]], rows: Sequence[str], cols: Sequence[str], title: str, *,
            diverging: bool = False, scale_max: float = 1.0, fmt: str = "value") -> str:
    """A matrix of coloured cells with row and column labels and a colour scale below."""
    cell, label_w, top_h = 18, 120, 96
    width = label_w + cell * len(cols) + 10
    scale_y = top_h + cell * len(rows) + 12
    height = scale_y + 34
    body = []
    for j, name in enumerate(cols):
        x = label_w + j * cell + cell / 2 + 4
        body.append(f'<text transform="translate({x:.1f},{top_h - 4}) rotate(-60)" font-size="10">'
                    f"<title>{_e(name)}</title>{_e(_short(name, 16))}</text>")
    for i, name in enumerate(rows):
        y = top_h + i * cell
        body.append(f'<text x="{label_w - 4}" y="{y + 13}" text-anchor="end" font-size="10"><title>{_e(name)}</title>{_e(_short(name, 18))}</text>')
        for j, value in enumerate(matrix[i]):
            scaled = None if value is None else value / scale_max
            text = "suppressed (fewer than 10 real rows) or undefined" if value is None else (share(value) if fmt == "share" else f"{value:.3f}")
            body.append(f'<rect x="{label_w + j * cell}" y="{y}" width="{cell - 1}" height="{cell - 1}" '
                        f'fill="{_colour(scaled, diverging=diverging)}"><title>{_e(rows[i])} × {_e(cols[j])}: {text}</title></rect>')
    low = -scale_max if diverging else 0.0
    steps = 10
    span = cell * max(len(cols), 6)
    for k in range(steps):
        v = low + (scale_max - low) * (k + 0.5) / steps
        body.append(f'<rect x="{label_w + span * k / steps:.1f}" y="{scale_y}" width="{span / steps + 0.5:.1f}" height="8" '
                    f'fill="{_colour(v / scale_max, diverging=diverging)}"/>')
    for v, anchor, x in ((low, "start", label_w), (scale_max, "end", label_w + span)):
        text = share(v) if fmt == "share" else f"{v:g}"
        body.append(f'<text x="{x:.1f}" y="{scale_y + 20}" text-anchor="{anchor}" fill="{MUTED}" font-size="10">{text}</text>')
    return svg(max(width, label_w + span + 10), height, title, body)


def bivariate(pair: Bivariate) -> list[str]:
    """The real and the synthetic share grids of one pair, on one colour scale."""
    values = [v for line in (*pair.real, *pair.synthetic) for v in line if v is not None]
    scale = max([*values, 1e-9])
    a, b = pair.columns
    return [heatmap(grid, pair.row_labels, pair.col_labels, f"{a} × {b}: {name} shares of rows", scale_max=scale, fmt="share")
            for name, grid in (("real", pair.real), ("synthetic", pair.synthetic))]


def dcr(hist: DcrHistogram) -> str:
    """Vertical bars per distance bin: synthetic→training beside synthetic→holdout, with axes."""
    bins = len(hist.edges)
    left, plot_w, plot_h, top, bottom_h = 48, 420, 150, 10, 40
    ticks = nice_ticks(max([*hist.train, *hist.holdout, 0.0]))
    peak = ticks[-1]
    width, height = left + plot_w + 16, top + plot_h + bottom_h
    slot = plot_w / bins
    base = top + plot_h
    body = []
    for value in ticks:
        y = base - plot_h * value / peak
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end" fill="{MUTED}" font-size="10">{tick(value)}</text>')
    for i in range(bins):
        x = left + i * slot
        label = f"≥ {hist.edges[i]:g}" if i == bins - 1 else f"[{hist.edges[i]:g}, {hist.edges[i + 1]:g})"
        for j, (value, colour, name) in enumerate(((hist.train[i], REAL, "to training"), (hist.holdout[i], HOLDOUT, "to holdout"))):
            h = plot_h * value / peak
            body.append(f'<rect x="{x + 1 + j * (slot - 2) / 2:.1f}" y="{base - h:.1f}" width="{(slot - 2) / 2:.1f}" height="{h:.1f}" '
                        f'fill="{colour}"><title>distance {label}, {name}: {share(value)}</title></rect>')
    for i in range(0, bins, 5):
        x = left + i * slot
        text = f"≥ {hist.edges[i]:g}" if i == bins - 1 else f"{hist.edges[i]:g}"
        body.append(f'<line x1="{x:.1f}" y1="{base}" x2="{x:.1f}" y2="{base + 4}" stroke="{MUTED}"/>'
                    f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle" fill="{MUTED}" font-size="10">{text}</text>')
    body.append(f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="{MUTED}"/>')
    body.append(f'<text x="{left + plot_w / 2}" y="{base + 32}" text-anchor="middle" fill="{MUTED}">'
                "distance to the closest real row (Gower, 0 = identical; last bin open-ended)</text>")
    return svg(width, height, "distances to the closest training and holdout rows", body)


__all__ = ["HOLDOUT", "REAL", "SYNTHETIC", "bivariate", "dcr", "distribution", "heatmap", "nice_ticks", "svg"]
