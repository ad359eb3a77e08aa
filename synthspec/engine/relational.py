"""Foreign keys: how many children each parent gets, which parent each child row points at,
and the parent attributes a child's model conditions on.

For every reference ``child.fk -> parent.pk`` a small *count model* (the cart model over the
parent's attributes plus a children column) learns how many children a parent with given
attributes has, zero included. Sampling a child then runs top-down:

* the row count is fixed first (:func:`child_rows`: the source's, or the spec's) and kept
  exactly: drawing each parent's children independently let the total drift, and the drift
  compounded down a chain (8 -> 59 -> 412 rows became 8 -> 79 -> 551);
* the *driving* reference (the first one to another table) lays the rows out: the real null
  share of them gets a null key, the rest is spread over the synthetic parents by drawn
  counts calibrated to the real children-per-parent distribution tilted to that exact total
  (:func:`calibrate`);
* every other reference to another table assigns parents to rows so that the per-parent counts
  follow that parent's count model, to the same exact total (nulls at the real share);
* when the model can condition (``Synthesizer.supports_given``), the rows are drawn given their
  parents' attributes (columns named ``<fk>.<parent column>``), so a child depends on its parent;
* self-references (``customers.referred_by``) are assigned last, among the table's own rows.

Foreign keys are copied from the synthetic parent's published keys, so they always resolve and
any hash/fake policy of the parent key carries over to the child unchanged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthspec.models.base import ModelColumn
from synthspec.spec.relations import Reference

CHILDREN = "__children__"
_META = "relations.json"


def derived_seed(seed: int, *labels: str) -> int:
    """An independent seed per use. Two models sampled with the same seed consume the same
    random stream row by row: a parent's i-th row and its count (or its child's i-th row) would
    be correlated through the RNG alone (seen: high draws picking both the later category and
    the larger count)."""
    digest = hashlib.sha256(json.dumps([seed, *labels]).encode()).digest()
    return int.from_bytes(digest[:4], "big")


def context_name(ref: Reference, column: str) -> str:
    return f"{ref.column}.{column}"


def context_columns(ref: Reference, parent_columns: list[ModelColumn]) -> list[ModelColumn]:
    """The parent's model columns as a child's (given) columns."""
    return [replace(c, name=context_name(ref, c.name)) for c in parent_columns]


def count_model_columns(parent_columns: list[ModelColumn]) -> list[ModelColumn]:
    return [*parent_columns, ModelColumn(CHILDREN, "numerical", integer=True, low=0.0)]


def count_leaf_size(parents: int) -> int:
    """Leaf size of a count model: pools of ~sqrt(parents) parents, at least 20."""
    return max(20, round(parents**0.5))


def children_counts(parent_keys: pd.Series, child_fk: pd.Series) -> np.ndarray:
    """Children of each parent row (FK values matching no parent are ignored)."""
    counts = child_fk.dropna().value_counts()
    return parent_keys.map(counts).fillna(0).to_numpy(dtype=np.int64)


def lookup(parent_frame: pd.DataFrame, parent_keys: pd.Series, child_fk: pd.Series) -> pd.DataFrame:
    """The parent row of every child row (all-null where the FK is null or unresolved)."""
    position = pd.Series(np.arange(len(parent_keys)), index=pd.Index(parent_keys))
    position = position[~position.index.duplicated()]
    idx = child_fk.map(position)
    found = idx.notna().to_numpy()
    rows = np.where(found, idx.fillna(0).to_numpy(dtype=np.int64), 0)
    out = parent_frame.iloc[rows].reset_index(drop=True) if len(parent_frame) else parent_frame.reindex(range(len(child_fk)))
    return _blank(out, ~found)


def _blank(frame: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """``frame`` with the rows of ``mask`` set to null (NaN for numbers, None otherwise)."""
    if not mask.any():
        return frame
    out = {}
    for name in frame.columns:
        values = frame[name]
        if values.dtype.kind == "f":
            out[name] = np.where(mask, np.nan, values.to_numpy())
        else:
            obj = values.to_numpy(dtype=object).copy()
            obj[mask] = None
            out[name] = obj
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def renamed(frame: pd.DataFrame, ref: Reference) -> pd.DataFrame:
    return frame.rename(columns={c: context_name(ref, c) for c in frame.columns})


@dataclass
class RelationStats:
    """What sampling needs about one reference besides its count model."""

    null_share: float  # share of child rows whose FK is null
    #: children-per-parent histogram of the training parents: (count, parents with that count)
    histogram: list[tuple[int, int]] = field(default_factory=list)

    @classmethod
    def of(cls, null_share: float, counts: np.ndarray) -> RelationStats:
        values, freq = np.unique(counts, return_counts=True)
        return cls(null_share, [(int(v), int(f)) for v, f in zip(values, freq, strict=True)])


@dataclass
class Relations:
    """The relational part of a child's model: the references it follows, their count models,
    and the context columns its main model was fitted with (empty: drawn unconditionally)."""

    refs: list[Reference]
    given: list[str] = field(default_factory=list)
    stats: dict[str, RelationStats] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)  # fk column -> fitted cart count model

    @property
    def driving(self) -> Reference | None:
        return next((r for r in self.refs if not r.self_reference), None)

    def save(self, directory: Path) -> None:
        meta = {"given": self.given,
                "stats": {k: {"null_share": v.null_share, "histogram": v.histogram} for k, v in sorted(self.stats.items())}}
        (directory / _META).write_text(json.dumps(meta, indent=1, sort_keys=True))
        for column, model in sorted(self.counts.items()):
            target = directory / "counts" / column
            target.mkdir(parents=True)
            model.save(target)

    @classmethod
    def load(cls, directory: Path, refs: list[Reference], count_columns: dict[str, list[ModelColumn]]) -> Relations:
        from synthspec.models.cart import CartSynthesizer
        from synthspec.models.params import CartParams

        meta = json.loads((directory / _META).read_text())
        stats = {k: RelationStats(v["null_share"], [(int(a), int(b)) for a, b in v["histogram"]]) for k, v in meta["stats"].items()}
        out = cls(refs, list(meta["given"]), stats)
        for ref in refs:
            out.counts[ref.column] = CartSynthesizer.load(directory / "counts" / ref.column, count_columns[ref.column], CartParams(), 0)
        return out


def fit_count_model(parent_frame: pd.DataFrame, parent_columns: list[ModelColumn], counts: np.ndarray, seed: int) -> Any:
    """A cart model of (parent attributes..., children) that samples counts given attributes."""
    from synthspec.models.cart import CartSynthesizer
    from synthspec.models.params import CartParams

    columns = count_model_columns(parent_columns)
    frame = parent_frame.reset_index(drop=True).assign(**{CHILDREN: counts.astype(np.float64)})
    params = CartParams(min_samples_leaf=count_leaf_size(len(frame)), smoothing=0.0,
                        visit_sequence=[c.name for c in parent_columns])
    model = CartSynthesizer(columns, params, seed)
    model.fit(frame)
    return model


def sample_counts(model: Any, stats: RelationStats, parent_frame: pd.DataFrame, seed: int,
                  total: int | None = None) -> np.ndarray:
    """Children per synthetic parent: drawn given the parent's attributes, then calibrated so
    their distribution is the real one and, when ``total`` is given, they add up to it exactly
    (see :func:`calibrate`)."""
    if len(parent_frame) == 0:
        return np.zeros(0, np.int64)
    drawn = model.sample(len(parent_frame), seed, given=parent_frame.reset_index(drop=True))[CHILDREN]
    drawn = np.maximum(np.rint(np.nan_to_num(drawn.to_numpy(np.float64))), 0)
    return calibrate(drawn, stats.histogram, np.random.default_rng([seed, 0xCA]), total)


def calibrate(drawn: np.ndarray, histogram: list[tuple[int, int]], rng: np.random.Generator,
              total: int | None = None) -> np.ndarray:
    """Rank-preserving quantile mapping: the parent with the i-th smallest drawn count (ties
    broken at random) gets the (i + 1/2)/n quantile of the real distribution, or, when
    ``total`` is given, of the real distribution tilted to that total (:func:`tilted_quantiles`);
    what the quantiles still miss is added or removed by :func:`fit_total`.

    The count model ranks parents well (who has many children) but synthetic parents do not
    fall into its leaves in the real proportions, which skews the totals; mapping ranks onto
    the real children-per-parent distribution keeps the ranking and restores the shape. The
    histogram is the training parents' only (the holdout stays unseen), so its mean drifts
    from the table's (8 parents, 2 childless ones held out: +34% children, compounding down a
    chain): the tilt moves the shape just enough to hit the real total."""
    n = len(drawn)
    if n == 0:
        return np.zeros(0, np.int64)
    if histogram:
        values = np.array([v for v, _ in histogram], np.int64)
        weights = np.array([f for _, f in histogram], np.float64)
        quantiles = tilted_quantiles(values, weights, n, total)
        order = np.lexsort((rng.random(n), drawn))
        out = np.empty(n, np.int64)
        out[order] = quantiles
    else:
        out = drawn.astype(np.int64)
    return out if total is None else fit_total(out, total, rng)


#: Bisection steps for the tilt; ±60 on values scaled to [0, 1] is as far as a tilt can go
#: (e^-60 of a value's weight is no parent at any realistic table size).
_TILT_STEPS, _TILT_LIMIT = 64, 60.0


def tilted_quantiles(values: np.ndarray, weights: np.ndarray, n: int, total: int | None) -> np.ndarray:
    """The n (i + 1/2)/n quantiles, ascending, of the distribution p(v) ∝ weight(v)·e^(θ·v),
    with θ chosen so that they add up to ``total`` as nearly as they can (θ = 0 without one).

    Among all distributions on the real counts with a given mean, the exponential tilt is the
    closest to the real one (least Kullback-Leibler divergence): no count the real data does
    not have appears, childless parents stay a share of their own, and a small correction
    changes every share a little instead of a few counts a lot. The quantiles' sum only grows
    with θ, so bisection finds the step nearest ``total``; the rest (at most a gap between
    neighbouring counts per step) is left to :func:`fit_total`."""
    spread = float(values[-1] - values[0]) if len(values) > 1 else 0.0
    scaled = (values - values[0]) / spread if spread else np.zeros(len(values))

    def quantiles(theta: float) -> np.ndarray:
        logits = np.log(weights) + theta * scaled
        cdf = np.cumsum(np.exp(logits - logits.max()))
        cdf /= cdf[-1]
        # how many of the points (i + 1/2)/n fall below each cdf step
        below = np.clip(np.ceil(cdf * n - 0.5), 0, n).astype(np.int64)
        below[-1] = n
        return np.repeat(values, np.diff(below, prepend=0))

    if total is None or not spread:
        return quantiles(0.0)
    low, high = -_TILT_LIMIT, _TILT_LIMIT
    if quantiles(low).sum() >= total:
        return quantiles(low)
    if quantiles(high).sum() <= total:
        return quantiles(high)
    for _ in range(_TILT_STEPS):  # invariant: sum(low) < total < sum(high)
        middle = (low + high) / 2
        got = quantiles(middle).sum()
        if got == total:
            return quantiles(middle)
        low, high = (middle, high) if got < total else (low, middle)
    below, above = quantiles(low), quantiles(high)
    return below if total - below.sum() <= above.sum() - total else above


def fit_total(counts: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
    """``counts`` changed as little as possible to sum to ``total``, keeping which parents have
    children: units are added in proportion to the counts (uniformly if all are zero) and
    removed uniformly from the units beyond each parent's first, and from those only when
    there are too few."""
    counts = counts.copy()
    have = int(counts.sum())
    if have > total:
        spare = np.maximum(counts - 1, 0)
        for pool in (spare, counts):
            take = min(have - total, int(pool.sum()))
            if take:
                units = np.repeat(np.arange(len(counts)), pool)
                np.subtract.at(counts, units[rng.choice(len(units), size=take, replace=False)], 1)
                have -= take
    elif have < total and len(counts):
        weights = counts / have if have else np.full(len(counts), 1 / len(counts))
        np.add.at(counts, rng.choice(len(counts), size=total - have, p=weights), 1)
    return counts


@dataclass
class SyntheticParent:
    """A parent's synthetic rows as a child sees them: its model frame and its published keys."""

    frame: pd.DataFrame
    keys: pd.Series


@dataclass
class ChildLayout:
    """The rows of a child before its own columns are drawn."""

    n: int
    given: pd.DataFrame | None  # context columns (None: the model draws unconditionally)
    foreign_keys: dict[str, pd.Series]  # fk column -> values (self-references come later)
    #: every parent attribute of every row (``<fk>.<column>``), for cross-table constraints
    context: pd.DataFrame | None = None
    #: the driving parent's row of every row (-1: a null key): a sequence's grouping
    parent_rows: np.ndarray | None = None


def child_rows(rows: int, *, explicit: bool, real_parents: int, synthetic_parents: int) -> int:
    """A child's synthetic row count: ``rows`` when the spec sets it (``rows:``/``scale:``),
    else its source's row count scaled as its driving parent was (the same count when the
    parent is drawn at its own source's): children per parent stay the real ones at every
    level of a chain instead of compounding the drift of each level's draws."""
    if explicit or real_parents == 0:
        return rows
    return round(rows * synthetic_parents / real_parents)


def layout(relations: Relations, parents: dict[str, SyntheticParent], rows: int, seed: int,
           unique: list[str] | None = None) -> ChildLayout:
    """Rows, parent assignment and context of a child table: exactly ``rows`` rows (see
    :func:`child_rows`), of which the real null share has a null driving key and the rest
    are spread over the parents by their count model.
    ``unique``: foreign keys that together form the primary key (a link table such as
    ``order_tags``): repeated combinations are repaired (see :func:`_unique_rows`)."""
    rng = np.random.default_rng([seed, 0xF0])
    driving = relations.driving
    position: dict[str, np.ndarray] = {}  # fk column -> parent row per child row (-1: null)
    n = rows
    if driving is not None:
        parent = parents[driving.parent]
        linked = _linked(rows, relations.stats[driving.column].null_share, len(parent.keys))
        counts = sample_counts(relations.counts[driving.column], relations.stats[driving.column], parent.frame,
                               derived_seed(seed, "counts", driving.column), total=linked)
        position[driving.column] = np.r_[np.repeat(np.arange(len(parent.keys)), counts), np.full(rows - linked, -1)].astype(np.int64)
    for ref in relations.refs:
        if ref.self_reference or ref is driving:
            continue
        positions, mask = _assign(relations, ref, parents[ref.parent].frame, n, rng, seed)
        full = np.full(n, -1, np.int64)
        full[mask] = positions
        position[ref.column] = full
    sizes = {ref.column: len(parents[ref.parent].keys) for ref in relations.refs if ref.parent in parents}
    keep = _unique_rows(position, unique or [], sizes, rng)
    if keep is not None:
        position = {column: rows_[keep] for column, rows_ in position.items()}
        n = int(keep.sum())
    foreign_keys: dict[str, pd.Series] = {}
    contexts: list[pd.DataFrame] = []
    for ref in relations.refs:
        if ref.column not in position:
            continue
        parent, rows_ = parents[ref.parent], position[ref.column]
        linked = rows_ >= 0
        values = np.full(n, None, dtype=object)
        values[linked] = parent.keys.to_numpy(dtype=object)[rows_[linked]]
        foreign_keys[ref.column] = pd.Series(values, dtype=object)
        frame = (_blank(parent.frame.iloc[np.where(linked, rows_, 0)].reset_index(drop=True), ~linked)
                 if len(parent.frame) else parent.frame.reindex(range(n)))
        contexts.append(renamed(frame, ref))
    context = pd.concat([c.reset_index(drop=True) for c in contexts], axis=1) if contexts else None
    given = context[relations.given] if relations.given and context is not None else None
    parent_rows = position.get(driving.column) if driving is not None else None
    return ChildLayout(n, given, foreign_keys, context, parent_rows)


def _unique_rows(position: dict[str, np.ndarray], unique: list[str], sizes: dict[str, int],
                 rng: np.random.Generator) -> np.ndarray | None:
    """Rows to keep so that the ``unique`` foreign keys never repeat a combination: duplicates
    first swap their last key's parent with random rows (a few rounds, which keeps every
    parent's count), then what still repeats moves its last key to a parent it is not yet
    combined with (:func:`_move_to_free`); only a row whose other keys are already combined
    with every parent is dropped. ``sizes``: parents per column. None when there is nothing
    to do."""
    columns = [c for c in unique if c in position]
    if len(columns) < 2 or len(columns) != len(unique):
        return None
    last = position[columns[-1]]

    def repeated() -> np.ndarray:
        frame = pd.DataFrame({c: position[c] for c in columns})
        complete = (frame >= 0).all(axis=1).to_numpy()
        return complete & frame.duplicated(keep="first").to_numpy()

    candidates = np.flatnonzero(last >= 0)
    for _ in range(8):
        dup = np.flatnonzero(repeated())
        if dup.size == 0 or candidates.size < 2:
            break
        partners = rng.choice(candidates, size=dup.size)
        last[dup], last[partners] = last[partners], last[dup].copy()
    dup = np.flatnonzero(repeated())
    if dup.size:
        _move_to_free([position[c] for c in columns[:-1]], last, dup, sizes[columns[-1]], rng)
    return ~repeated()


def _move_to_free(others: list[np.ndarray], last: np.ndarray, dup: np.ndarray, parents: int,
                  rng: np.random.Generator) -> None:
    """Give each repeated row (``dup``) a last-key parent its other keys are not combined with
    yet, drawn in proportion to the parents' current children (so the count shape holds; at
    random among childless ones when no free parent has children). Rows with no free parent
    keep their value (and are dropped by the caller)."""
    combined: dict[tuple[int, ...], set[int]] = {}
    duplicate = np.zeros(len(last), bool)
    duplicate[dup] = True
    complete = np.flatnonzero((last >= 0) & np.logical_and.reduce([o >= 0 for o in others]))
    for row in complete[~duplicate[complete]]:
        combined.setdefault(tuple(int(o[row]) for o in others), set()).add(int(last[row]))
    children = np.bincount(last[last >= 0], minlength=parents).astype(np.float64)
    for row in dup:
        used = combined.setdefault(tuple(int(o[row]) for o in others), set())
        choice = _free_parent(children, used, rng)
        if choice is None:
            continue
        children[last[row]] -= 1
        children[choice] += 1
        last[row] = choice
        used.add(choice)


def _free_parent(children: np.ndarray, used: set[int], rng: np.random.Generator) -> int | None:
    """A parent not in ``used``, in proportion to ``children`` (a few quick draws first: most
    parents are free; then among all free ones, at random among childless ones if need be)."""
    total = children.sum()
    if total > 0:
        for choice in rng.choice(len(children), size=16, p=children / total):
            if int(choice) not in used:
                return int(choice)
    free = np.setdiff1d(np.arange(len(children)), np.fromiter(used, np.int64, len(used)))
    if free.size == 0:
        return None
    weights = children[free]
    return int(rng.choice(free, p=weights / weights.sum() if weights.sum() > 0 else None))


def _linked(rows: int, null_share: float, parents: int) -> int:
    """Rows of ``rows`` whose key is not null: the real share, none without parents."""
    return rows - round(rows * null_share) if parents else 0


def _assign(relations: Relations, ref: Reference, parent_frame: pd.DataFrame, n: int, rng: np.random.Generator,
            seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Parent positions for the non-null rows (mask) of a non-driving reference."""
    linked = _linked(n, relations.stats[ref.column].null_share, len(parent_frame))
    mask = np.zeros(n, bool)
    mask[rng.permutation(n)[:linked]] = True
    counts = sample_counts(relations.counts[ref.column], relations.stats[ref.column], parent_frame,
                           derived_seed(seed, "counts", ref.column), total=linked)
    positions = rng.permutation(np.repeat(np.arange(len(parent_frame)), counts))
    return positions, mask


def assign_self_references(relations: Relations, frame: pd.DataFrame, keys: pd.Series, seed: int) -> dict[str, pd.Series]:
    """Values of the self-references among the table's own synthetic rows (a row never
    points at itself when another choice exists)."""
    rng = np.random.default_rng([seed, 0xF1])
    out = {}
    n = len(frame)
    for ref in relations.refs:
        if not ref.self_reference:
            continue
        positions, mask = _assign(relations, ref, frame, n, rng, seed)
        rows = np.flatnonzero(mask)
        for _ in range(3):  # swap away self-pointers
            own = np.flatnonzero(positions == rows)
            if own.size == 0 or n < 2:
                break
            partners = rng.integers(0, len(rows), size=own.size)
            positions[own], positions[partners] = positions[partners], positions[own].copy()
        values = np.full(n, None, dtype=object)
        values[rows] = keys.to_numpy(dtype=object)[positions]
        out[ref.column] = pd.Series(values, dtype=object)
    return out


__all__ = [
    "CHILDREN", "ChildLayout", "RelationStats", "Relations", "SyntheticParent", "assign_self_references",
    "child_rows", "children_counts", "context_columns", "count_model_columns", "fit_count_model", "fit_total", "layout", "lookup",
]
