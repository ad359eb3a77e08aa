"""CART trees grown on binned predictors, in numpy: the trees of the cart model.

A tree is grown level by level. Every predictor is cut into at most :data:`MAX_BINS` bins once
(each distinct value its own bin when there are few; otherwise bins of equal row counts, cut
half-way between neighbouring values), plus a bin for missing values. At each level, one
``bincount`` per predictor gives every open node's class counts (or row counts and sums) per bin;
cumulative sums give the children of every cut, and the best cut of each node is taken at once.

The criterion is CART's (Breiman et al., 1984): Gini impurity for categorical targets, squared
error for numerical ones, children of at least ``min_samples_leaf`` rows, and missing values sent
to whichever side scores better (when a node has none, to the larger child). A node is split
while it is impure and holds a valid cut, as scikit-learn's trees do; ties go to the earlier
predictor and the lower cut, so growing is deterministic without a random state.

Why not scikit-learn: importing it costs more than a second (it loads ``scipy.stats``), which is
most of an ``apply`` on a table of tens of thousands of rows; binned predictors also cost a
fraction of the memory of float copies, and the cost of a level is linear in the rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Bins per predictor (besides the missing-value bin).
MAX_BINS = 255
#: Histogram cells (open nodes x bins x classes) one pass may hold; more are split over passes.
_CELL_BUDGET = 4_000_000
LEAF = -1
_UNDEFINED = -2  # feature and threshold of a leaf, as in scikit-learn


@dataclass
class GrownTree:
    """Node arrays (children ``LEAF`` for leaves); ``x <= threshold`` goes left, missing values
    go left where ``missing_left``."""

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    #: The leaf each training row ended in (``grow``'s rows, in order).
    nodes: np.ndarray | None = None


def bin_edges(values: np.ndarray, max_bins: int = MAX_BINS) -> np.ndarray:
    """Upper edges of the bins of one predictor (float64, increasing): ``x`` is in bin ``b``
    (1-based) when ``edges[b - 2] < x <= edges[b - 1]``. Edges lie half-way between neighbouring
    distinct values, so a value never sits on an edge."""
    known = values[~np.isnan(values)]
    if known.size == 0:
        return np.zeros(0)
    distinct, counts = np.unique(known, return_counts=True)
    if len(distinct) <= max_bins:
        cut = np.arange(len(distinct) - 1)
    else:  # bins of about equal row counts; a heavy value keeps its own bin
        cum = np.cumsum(counts)
        cut = np.unique(np.searchsorted(cum, np.arange(1, max_bins) * (known.size / max_bins)))
        cut = cut[cut < len(distinct) - 1]
    lo, hi = distinct[cut].astype(np.float64), distinct[cut + 1].astype(np.float64)
    return lo + (hi - lo) / 2


def binned(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of every value (0: missing), consistent with ``values <= threshold`` routing."""
    b = np.searchsorted(edges, values.astype(np.float64), side="left") + 1
    b[np.isnan(values)] = 0
    return b.astype(np.int64)


def grow(x: np.ndarray, y: np.ndarray, *, classify: bool, min_samples_leaf: int,
         max_depth: int | None = None, layout: Layout | None = None) -> GrownTree:
    """A tree of ``y`` on the columns of ``x`` (float, NaN: missing). ``y``: class codes
    ``0..K-1`` when ``classify``, else numbers. ``layout``: ``Layout(x)`` when the caller
    grows several trees on the same predictors (binning them is a large part of the cost)."""
    n, n_features = x.shape
    leaf = max(1, int(min_samples_leaf))
    if classify:
        y = np.asarray(y, np.int64)
        if n and y.min() < 0:
            raise ValueError("class codes must be non-negative")
        n_classes = int(y.max(initial=0)) + 1
    else:
        y = np.asarray(y, np.float64)
        y = y - y.mean() if n else y  # centred: smaller sums, the same cuts
        n_classes = 0
    layout = Layout(x) if layout is None else layout

    left, right, feature = [LEAF], [LEAF], [_UNDEFINED]
    threshold, missing_left = [float(_UNDEFINED)], [False]
    cut_bin = [0]  # per node: the last bin (1-based) that goes left
    node = np.zeros(n, np.int64)  # node of every row
    frontier = np.array([0], np.int64)  # nodes of this level that may split
    depth = 0
    while frontier.size and (max_depth is None or depth < max_depth):
        frontier = frontier[np.bincount(node, minlength=len(left))[frontier] >= 2 * leaf]
        if not frontier.size:
            break
        slot_of = np.full(len(left), -1, np.int64)
        slot_of[frontier] = np.arange(frontier.size)
        slot = slot_of[node]
        best = _best_cuts(layout, slot, frontier.size, y, n_classes, leaf)
        children = []
        for s, k in enumerate(frontier):
            f, b, miss_left, n_left, n_right, has_missing = best[s]
            if f < 0:
                continue
            k = int(k)
            left[k], right[k] = len(left), len(left) + 1
            feature[k], cut_bin[k] = f, b
            edges = layout.edges[f]
            threshold[k] = float(edges[b - 1]) if b <= len(edges) else float("inf")
            missing_left[k] = miss_left if has_missing else n_left > n_right
            for _ in range(2):
                left.append(LEAF), right.append(LEAF), feature.append(_UNDEFINED)
                threshold.append(float(_UNDEFINED)), missing_left.append(False), cut_bin.append(0)
            children.extend((left[k], right[k]))
        if not children:
            break
        # Move the rows of split nodes to their children.
        lefts, features, cuts, miss = (np.asarray(a) for a in (left, feature, cut_bin, missing_left))
        split = np.flatnonzero((slot >= 0) & (lefts[node] != LEAF))
        nd = node[split]
        b_rows = layout.bins[split, features[nd]]
        go_left = np.where(b_rows == 0, miss[nd], b_rows <= cuts[nd])
        node[split] = np.where(go_left, lefts[nd], lefts[nd] + 1)
        frontier = np.array(children, np.int64)
        depth += 1
    return GrownTree(np.array(left, np.int64), np.array(right, np.int64), np.array(feature, np.int64),
                     np.array(threshold, np.float64), np.array(missing_left, bool), node)


class Layout:
    """Every predictor's bins as histogram columns side by side: predictor ``f`` holds columns
    ``offsets[f]`` (bin 1) to ``offsets[f] + n_bins[f] - 1``, then one column for its missing
    values when it has any. ``columns[i, f]``: row ``i``'s column for predictor ``f``."""

    def __init__(self, x: np.ndarray, max_bins: int = MAX_BINS) -> None:
        n_features = x.shape[1]
        self.edges = [bin_edges(x[:, f], max_bins) for f in range(n_features)]
        self.bins = np.empty(x.shape, np.int32)
        for f in range(n_features):
            self.bins[:, f] = binned(x[:, f], self.edges[f])
        self.n_bins = np.array([len(e) + 1 for e in self.edges], np.int64)
        self.has_missing = (self.bins == 0).any(axis=0) if len(x) else np.zeros(n_features, bool)
        widths = self.n_bins + self.has_missing
        self.offsets = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
        missing_col = self.offsets[:-1] + self.n_bins
        self.columns = np.where(self.bins == 0, missing_col, self.offsets[:-1] + self.bins - 1).astype(np.int64)


def _best_cuts(layout: Layout, slot: np.ndarray, n_slots: int, y: np.ndarray, n_classes: int,
               leaf: int) -> list[tuple[int, int, bool, int, int, bool]]:
    """Per open node (``slot`` of every row, -1: not open): (predictor, last bin on the left,
    missing left, left rows, right rows, node has missing values); predictor -1: no valid cut.
    Predictors are scored in groups whose histograms fit :data:`_CELL_BUDGET`, and the open
    nodes in as many passes as that takes."""
    best_score = np.full(n_slots, -np.inf)
    out = [(-1, 0, False, 0, 0, False)] * n_slots
    rows = np.flatnonzero(slot >= 0)
    depth = max(n_classes, 1)  # cells per column and node: class counts, or a target sum
    widths = np.diff(layout.offsets)
    groups: list[list[int]] = [[]]
    for f, w in enumerate(widths):
        if groups[-1] and n_slots * (widths[groups[-1]].sum() + w) * depth > _CELL_BUDGET:
            groups.append([])
        groups[-1].append(f)
    for group in groups:
        per_pass = max(1, _CELL_BUDGET // (int(widths[group].sum()) * depth))
        for s0 in range(0, n_slots, per_pass):
            s1 = min(n_slots, s0 + per_pass)
            part = rows if s1 - s0 == n_slots else rows[(slot[rows] >= s0) & (slot[rows] < s1)]
            found = _score_group(layout, group, slot[part] - s0, part, y[part], s1 - s0, n_classes, leaf)
            for i, (score, f, cut, miss_left, n_left, n_right, has_missing) in enumerate(found):
                if score > best_score[s0 + i]:
                    best_score[s0 + i] = score
                    out[s0 + i] = (f, cut, miss_left, n_left, n_right, has_missing)
    return out


def _score_group(layout: Layout, group: list[int], slot: np.ndarray, rows: np.ndarray, y: np.ndarray,
                 n_slots: int, n_classes: int, leaf: int) -> list[tuple[float, int, int, bool, int, int, bool]]:
    """The best cut among the contiguous predictors ``group`` for each of ``n_slots`` nodes:
    (score, predictor (-1: none), last bin on the left, missing left, left rows, right rows, has
    missing). Score: the children's sums of squared class counts (or target sums) over their
    rows, which orders cuts as CART's impurity decrease does. Pure nodes get no cut."""
    first, last = group[0], group[-1]
    c0 = int(layout.offsets[first])
    n_cols = int(layout.offsets[last + 1]) - c0
    cells = (slot[:, None] * n_cols + (layout.columns[rows, first:last + 1] - c0)).ravel()
    if n_classes:
        idx = cells * n_classes + np.repeat(y, len(group))
        hist = np.bincount(idx, minlength=n_slots * n_cols * n_classes).reshape(n_slots, n_cols, n_classes)
        hist = hist.astype(np.float64)
        count = hist.sum(axis=2)
    else:
        count = np.bincount(cells, minlength=n_slots * n_cols).reshape(n_slots, n_cols).astype(np.float64)
        hist = np.bincount(cells, weights=np.repeat(y, len(group)), minlength=n_slots * n_cols)
        hist = hist.reshape(n_slots, n_cols, 1)
    # Running sums within each predictor (a predictor's value bins, then its missing bin): the
    # running sum over the group less its value before the predictor (last predictor first).
    cum, cum_n = np.cumsum(hist, axis=1), np.cumsum(count, axis=1)
    for f in reversed(group[1:]):
        a, b = int(layout.offsets[f]) - c0, int(layout.offsets[f + 1]) - c0
        cum[:, a:b] -= cum[:, a - 1 : a].copy()
        cum_n[:, a:b] -= cum_n[:, a - 1 : a].copy()
    end = int(layout.offsets[first + 1]) - c0 - 1
    total, total_n = cum[:, end].copy(), cum_n[:, end].copy()  # every node's totals
    tt = np.einsum("sk,sk->s", total, total)[:, None]
    pure = (total.max(axis=1) >= total_n) if n_classes else _constant(slot, y, n_slots)
    valid = np.ones(n_cols, bool)  # columns that end a cut: not a missing bin
    valid[(layout.offsets[group] + layout.n_bins[group] - c0)[layout.has_missing[group]]] = False

    def scores(lh: np.ndarray, ln: np.ndarray, a: np.ndarray, tc: np.ndarray, on: np.ndarray) -> np.ndarray:
        rn = total_n[:, None] - ln
        ok = (ln >= leaf) & (rn >= leaf) & on[None, :] & ~pure[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(ok, a / ln + (tt - 2 * tc + a) / rn, -np.inf)

    a = np.einsum("sck,sck->sc", cum, cum)
    tc = np.einsum("sck,sk->sc", cum, total)
    right = scores(cum, cum_n, a, tc, valid)  # missing values go right
    left = np.full_like(right, -np.inf)  # missing values go left
    missing_n = np.zeros((n_slots, n_cols))
    for f in np.array(group)[layout.has_missing[group]]:
        a0, m = int(layout.offsets[f]) - c0, int(layout.offsets[f] + layout.n_bins[f]) - c0
        miss, mn = hist[:, m], count[:, m]
        missing_n[:, a0:m + 1] = mn[:, None]
        part = cum[:, a0:m]
        a_left = a[:, a0:m] + 2 * np.einsum("sck,sk->sc", part, miss) + np.einsum("sk,sk->s", miss, miss)[:, None]
        tc_left = tc[:, a0:m] + np.einsum("sk,sk->s", total, miss)[:, None]
        left[:, a0:m] = scores(part, cum_n[:, a0:m] + mn[:, None], a_left, tc_left, np.ones(m - a0, bool))
    feature_of = np.searchsorted(layout.offsets, np.arange(n_cols) + c0, side="right") - 1
    out: list[tuple[float, int, int, bool, int, int, bool]] = []
    at_right, at_left = np.argmax(right, axis=1), np.argmax(left, axis=1)
    for i in range(n_slots):
        c, to_left = at_right[i], False
        if left[i, at_left[i]] > right[i, c]:
            c, to_left = at_left[i], True
        score = float(left[i, c] if to_left else right[i, c])
        if score == -np.inf:
            out.append((-np.inf, -1, 0, False, 0, 0, False))
            continue
        f = int(feature_of[c])
        n_left = int(cum_n[i, c] + (missing_n[i, c] if to_left else 0))
        out.append((score, f, int(c + c0 - layout.offsets[f]) + 1, to_left, n_left, int(total_n[i]) - n_left,
                    bool(missing_n[i, c] > 0)))
    return out


def _constant(slot: np.ndarray, y: np.ndarray, n_slots: int) -> np.ndarray:
    """Whether each node's numerical targets are all equal."""
    lo, hi = np.full(n_slots, np.inf), np.full(n_slots, -np.inf)
    np.minimum.at(lo, slot, y)
    np.maximum.at(hi, slot, y)
    return lo >= hi
