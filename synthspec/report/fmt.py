"""Numbers and labels as the report prints them, shared by the HTML and PDF renderers.

Two rules make the printed numbers honest: shares keep enough significant digits that two
different shares never print alike (0.06% and 0.33% are not both "0%"), and bin labels say
exactly which values a bin holds (half-open ``[a, b)`` intervals, open-ended tails for the end
bins that count values beyond the edges, integer ranges for whole-number columns)."""

from __future__ import annotations

import math
from datetime import datetime, timezone

from synthspec.metrics.profile import ColumnProfile


def share(value: float | None) -> str:
    """A share of rows as a percentage: one decimal at 10% and above, two significant digits
    below (never rounded to a misleading 0)."""
    if value is None or not math.isfinite(value):
        return "—"
    percent = value * 100
    if percent == 0:
        return "0%"
    if abs(percent) >= 10:
        return f"{percent:.1f}%"
    if abs(percent) >= 1:
        return f"{percent:.2f}%"
    if abs(percent) < 0.001:
        return "<0.001%" if percent > 0 else ">-0.001%"
    return f"{percent:.2g}%"


def tick(value: float) -> str:
    """An axis tick as a percentage (ticks are round numbers: no padding digits)."""
    return f"{value * 100:.6g}%"


def number(value: object, digits: int = 4) -> str:
    """A metric value: integers as integers, other numbers with ``digits`` significant digits."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    if 1e-6 <= abs(value) < 1e15:  # positional, never 8.308e-05
        # numpy.format_float_positional(precision=digits, unique=False, fractional=False,
        # trim="-") in pure Python (both round the exact binary value; equal on 10^6 random
        # values): rendering a report must not load numpy.
        from decimal import Decimal

        text = format(Decimal(f"{value:.{digits - 1}e}"), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    return f"{value:.{digits}g}"


def signed(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:+.{digits}f}".replace("-", "−")


def _edge(value: float, profile: ColumnProfile, step: float) -> str:
    """An edge as it is (edges sit on a grid that avoids the real extremes: never round one)."""
    if profile.datetime:
        whole_days = step >= 86400 and value % 86400 == 0
        return datetime.fromtimestamp(value, timezone.utc).strftime("%Y-%m-%d" if whole_days else "%Y-%m-%d %H:%M")
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.10g}"


def bin_labels(profile: ColumnProfile) -> list[str]:
    """One label per bar of ``profile``. Numerical bins: ``< e1`` (the first bin also counts
    everything below the grid), ``[a, b)``, ``≥ e(n-1)``; whole-number columns as integer ranges
    (``18–22``), which never share an edge with the next bin. Other bars keep their label."""
    labels = list(profile.labels)
    edges = profile.edges
    if profile.kind != "numerical" or not edges or len(edges) < 2:
        return labels
    bins, step = len(edges) - 1, edges[1] - edges[0]
    if bins == 1:
        return ["all values", *labels[1:]]
    out = []
    for i in range(bins):
        low, high = edges[i], edges[i + 1]
        if profile.integer and not profile.datetime:
            out.append(_integer_label(i, bins, low, high))
        elif i == 0:
            out.append(f"< {_edge(high, profile, step)}")
        elif i == bins - 1:
            out.append(f"≥ {_edge(low, profile, step)}")
        else:
            out.append(f"[{_edge(low, profile, step)}, {_edge(high, profile, step)})")
    return out + labels[bins:]


def _integer_label(i: int, bins: int, low: float, high: float) -> str:
    """Whole numbers in ``[low, high)``; the tails are open (and print a grid edge, never a
    real extreme: ``< ceil(e1)`` is above the minimum, ``> floor(e)`` below the maximum)."""
    first, last = math.ceil(low), math.ceil(high) - 1
    if i == 0:
        return f"< {math.ceil(high):,}"
    if i == bins - 1:
        return f"≥ {low:,.0f}" if float(low).is_integer() else f"> {math.floor(low):,}"
    return f"{first:,}" if first == last else f"{first:,}–{last:,}"


def full_size(total: int | None, compared: int | None) -> int | None:
    """A frame's full size: ``total`` when the metrics saw a sample of it, else ``compared``."""
    return compared if total is None else total


__all__ = ["bin_labels", "full_size", "number", "share", "signed", "tick"]
