"""Child tables drawn as per-parent sequences (`sequence: {order_by: <column>}`).

A child declared as a sequence of its parent (orders of a customer, visits of a patient) is
drawn event by event, as an autoregressive model over each parent's rows ordered by
``order_by`` (SDV's PAR and MOSTLY AI's sequential models draw sequences this way):

* **training**: the child's real rows are grouped by their driving foreign key (the first
  reference to another table) and ordered by ``order_by`` (nulls last, ties in source order).
  Every row gets four context columns the model conditions on, besides its parent's attributes:
  its position in the sequence, the sequence's length, the previous event's ``order_by`` and the
  gap before that one. ``order_by`` itself is modelled as the first event's value and, after
  it, as the gap since the previous event (never negative);
* **sampling**: the parents and their children counts are laid out as for any child; then the
  first events of every parent are drawn, then every second event given the first, and so on,
  each event's ``order_by`` the previous one's plus a drawn gap. So sequences are ordered by
  construction, gaps follow the real gaps given the parent, the position and the last gap, and
  the other columns of an event depend on where it falls in its sequence.

A row without a parent (a null key) is a sequence of one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from synthspec.models.base import ModelColumn

if TYPE_CHECKING:
    from synthspec.models.base import Synthesizer

PREFIX = "__sequence__."
POSITION, LENGTH, PREVIOUS, PREVIOUS_GAP = (PREFIX + n for n in ("position", "length", "previous", "previous_gap"))
CONTEXT = [
    ModelColumn(POSITION, "numerical", integer=True),
    ModelColumn(LENGTH, "numerical", integer=True),
    ModelColumn(PREVIOUS, "numerical"),
    ModelColumn(PREVIOUS_GAP, "numerical"),
]


def is_step(name: str) -> bool:
    """Whether a given column is one of the sequence's own (not a parent's attribute)."""
    return name.startswith(PREFIX)


def layout(groups: np.ndarray, times: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every row's position in its sequence, the sequence's length, and the rows in sequence
    order (one sequence after another). ``groups``: the parent of every row (-1: none, a
    sequence of its own); ``times``: the order within a parent (NaN last; None: row order)."""
    n = len(groups)
    groups = np.asarray(groups, np.int64)
    solo = groups < 0
    key = np.where(solo, np.arange(n) + (groups.max(initial=-1) + 1), groups)
    by_time = np.zeros(n) if times is None else np.where(np.isnan(times), np.inf, times)
    order = np.lexsort((np.arange(n), by_time, key))
    sorted_key = key[order]
    start = np.r_[True, sorted_key[1:] != sorted_key[:-1]]
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    position, length = np.empty(n, np.int64), np.empty(n, np.int64)
    position[order] = np.arange(n) - first
    run_id = np.cumsum(start) - 1
    length[order] = np.bincount(run_id)[run_id] if n else run_id
    return position, length, order


def _history(times: np.ndarray, position: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the previous event's time and the gap before that one (NaN where there is no
    such event; an event without a time is skipped). ``order`` lists rows in sequence order."""
    t = times[order]
    m = len(t)
    start = np.arange(m) - position[order]  # where each row's sequence starts
    known = np.where(~np.isnan(t), np.arange(m), -1)
    # carried[i]: the last row before i with a known time (any sequence; checked against start)
    carried = np.maximum.accumulate(np.r_[-1, known[:-1]]) if m else known
    last, before = np.full(m, np.nan), np.full(m, np.nan)
    one = carried >= start
    last[one] = t[carried[one]]
    two = one.copy()
    two[one] = carried[carried[one]] >= start[one]
    before[two] = last[two] - t[carried[carried[two]]]
    out_last, out_gap = np.empty(m), np.empty(m)
    out_last[order], out_gap[order] = last, before
    return out_last, out_gap


def training(train: pd.DataFrame, groups: np.ndarray, order_by: str, *, events: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training frame with ``order_by`` as first values and gaps, and the sequence context
    of every row. ``groups``: every training row's parent (-1: none). ``events=False`` (draw:
    sorted): ``order_by`` stays as it is and the previous event is not context (all null)."""
    times = train[order_by].to_numpy(np.float64)
    position, length, order = layout(groups, times)
    if not events:
        blank = np.full(len(times), np.nan)
        return train, pd.DataFrame({POSITION: position.astype(np.float64), LENGTH: length.astype(np.float64),
                                    PREVIOUS: blank, PREVIOUS_GAP: blank})
    previous, previous_gap = _history(times, position, order)
    modelled = train.copy()
    modelled[order_by] = np.where(np.isnan(previous), times, times - previous)
    context = pd.DataFrame({POSITION: position.astype(np.float64), LENGTH: length.astype(np.float64),
                            PREVIOUS: previous, PREVIOUS_GAP: previous_gap})
    return modelled, context


def sample(model: Synthesizer, given: pd.DataFrame | None, groups: np.ndarray, order_by: str,
           seed: int) -> pd.DataFrame:
    """``len(groups)`` rows drawn event by event (see the module's docstring); ``given``: the
    parents' attributes of every row (or None), ``groups``: every row's parent (-1: none)."""
    from synthspec.engine.relational import derived_seed

    n = len(groups)
    position, length, order = layout(groups)
    times = np.full(n, np.nan)
    previous, previous_gap = np.full(n, np.nan), np.full(n, np.nan)
    parts: list[pd.DataFrame] = []
    rows_of: list[np.ndarray] = []
    for p in range(int(length.max(initial=0))):
        rows = np.flatnonzero(position == p)
        context = pd.DataFrame({POSITION: float(p), LENGTH: length[rows].astype(np.float64),
                                PREVIOUS: previous[rows], PREVIOUS_GAP: previous_gap[rows]})
        if given is not None:
            context = pd.concat([given.iloc[rows].reset_index(drop=True), context], axis=1)
        drawn = model.sample(len(rows), seed=derived_seed(seed, "sequence", str(p)), given=context)
        drawn = drawn.drop(columns=list(context.columns))
        step = drawn[order_by].to_numpy(np.float64)
        value = np.where(np.isnan(previous[rows]), step, previous[rows] + np.maximum(step, 0.0))
        drawn[order_by] = value
        times[rows] = value
        # The next event of each sequence sees this one (or, for a null time, the one before).
        follow = rows[p + 1 < length[rows]]
        nxt = _next_rows(order, follow)
        here = times[follow]
        known = ~np.isnan(here)
        previous[nxt] = np.where(known, here, previous[follow])
        previous_gap[nxt] = np.where(known, here - previous[follow], previous_gap[follow])
        parts.append(drawn)
        rows_of.append(rows)
    if not parts:
        empty = model.sample(0, seed=seed)
        return empty.drop(columns=[c for c in empty.columns if is_step(c) or (given is not None and c in given.columns)])
    out = pd.concat(parts, ignore_index=True)
    at = np.empty(n, np.int64)
    at[np.concatenate(rows_of)] = np.arange(n)
    return out.iloc[at].reset_index(drop=True)


def sample_sorted(model: Synthesizer, given: pd.DataFrame | None, groups: np.ndarray, order_by: str,
                  seed: int) -> pd.DataFrame:
    """``draw: sorted``: every row drawn at once given its parent, position and sequence length,
    then each parent's ``order_by`` values sorted into position order."""
    n = len(groups)
    position, length, _ = layout(groups)
    blank = np.full(n, np.nan)
    context = pd.DataFrame({POSITION: position.astype(np.float64), LENGTH: length.astype(np.float64),
                            PREVIOUS: blank, PREVIOUS_GAP: blank})
    if given is not None:
        context = pd.concat([given.reset_index(drop=True), context], axis=1)
    drawn = model.sample(n, seed=seed, given=context).drop(columns=list(context.columns))
    return reorder(drawn, groups, order_by)


def _next_rows(order: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The row after each of ``rows`` in sequence order."""
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return order[rank[rows] + 1]


def reorder(frame: pd.DataFrame, groups: np.ndarray, order_by: str) -> pd.DataFrame:
    """Every sequence's ``order_by`` values sorted back into event order, where a later step
    (a cross-table constraint mirroring a value across its parent's) put them out of order."""
    position, _, order = layout(groups)
    values = frame[order_by].to_numpy(np.float64)
    run_start = np.arange(len(order)) - position[order]
    key = np.where(np.isnan(values[order]), np.inf, values[order])
    resorted = np.lexsort((key, run_start))
    fixed = values.copy()
    fixed[order] = values[order][resorted]
    if np.array_equal(fixed, values, equal_nan=True):
        return frame
    frame = frame.copy()
    frame[order_by] = fixed
    return frame


def gaps(groups: np.ndarray, times: np.ndarray) -> np.ndarray:
    """The gaps between consecutive events of every sequence (known times only)."""
    position, _, order = layout(groups, times)
    t = times[order]
    pos = position[order]
    keep = (pos[1:] > 0) & ~np.isnan(t[1:]) & ~np.isnan(t[:-1])
    return (t[1:] - t[:-1])[keep]
