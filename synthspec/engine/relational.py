"""Foreign keys: how many children each parent gets, which parent each child row points at,
and the parent attributes a child's model conditions on.

For every reference ``child.fk -> parent.pk`` a small *count model* (the cart model over the
parent's attributes plus a children column) learns how many children a parent with given
attributes has, zero included. Sampling a child then runs top-down:

* the *driving* reference (the first one to another table) decides the rows: each synthetic
  parent gets a drawn number of children, and rows whose real foreign key is null come on top
  at the real null share;
* every other reference to another table assigns parents to rows so that the per-parent counts
  follow that parent's count model (nulls at the real share);
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


def sample_counts(model: Any, stats: RelationStats, parent_frame: pd.DataFrame, seed: int) -> np.ndarray:
    """Children per synthetic parent: drawn given the parent's attributes, then calibrated so
    their distribution is the real one (see :func:`calibrate`)."""
    if len(parent_frame) == 0:
        return np.zeros(0, np.int64)
    drawn = model.sample(len(parent_frame), seed, given=parent_frame.reset_index(drop=True))[CHILDREN]
    drawn = np.maximum(np.rint(np.nan_to_num(drawn.to_numpy(np.float64))), 0)
    return calibrate(drawn, stats.histogram, np.random.default_rng([seed, 0xCA]))


def calibrate(drawn: np.ndarray, histogram: list[tuple[int, int]], rng: np.random.Generator) -> np.ndarray:
    """Rank-preserving quantile mapping: the parent with the i-th smallest drawn count (ties
    broken at random) gets the real distribution's (i + 1/2)/n quantile.

    The count model ranks parents well (who has many children) but synthetic parents do not
    fall into its leaves in the real proportions, which skews the totals; mapping ranks onto
    the real children-per-parent distribution keeps the ranking and restores the shape."""
    n = len(drawn)
    if not histogram or n == 0:
        return drawn.astype(np.int64)
    values = np.repeat([v for v, _ in histogram], [f for _, f in histogram])
    quantiles = values[np.minimum(((np.arange(n) + 0.5) / n * len(values)).astype(np.int64), len(values) - 1)]
    order = np.lexsort((rng.random(n), drawn))
    out = np.empty(n, np.int64)
    out[order] = quantiles
    return out


def fit_total(counts: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
    """``counts`` changed as little as possible to sum to ``total``: units removed uniformly
    from the multiset, or added in proportion to the counts (uniformly if all are zero)."""
    counts = counts.copy()
    have = int(counts.sum())
    if have > total:
        units = np.repeat(np.arange(len(counts)), counts)
        drop = rng.choice(len(units), size=have - total, replace=False)
        np.subtract.at(counts, units[drop], 1)
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


def layout(relations: Relations, parents: dict[str, SyntheticParent], rows: int, seed: int, *, explicit: bool,
           unique: list[str] | None = None) -> ChildLayout:
    """Rows, parent assignment and context of a child table. With a driving reference the row
    count is what the parents' drawn children add up to, unless the spec sets it (``explicit``).
    ``unique``: foreign keys that together form the primary key (a link table such as
    ``order_tags``): repeated combinations are repaired, or dropped if they cannot be."""
    rng = np.random.default_rng([seed, 0xF0])
    driving = relations.driving
    position: dict[str, np.ndarray] = {}  # fk column -> parent row per child row (-1: null)
    if driving is None:
        n = rows
    else:
        parent = parents[driving.parent]
        null_share = relations.stats[driving.column].null_share
        counts = sample_counts(relations.counts[driving.column], relations.stats[driving.column], parent.frame,
                               derived_seed(seed, "counts", driving.column))
        if explicit:
            counts = fit_total(counts, round(rows * (1 - null_share)), rng)
        linked = int(counts.sum())
        orphans = rows - linked if explicit else (round(linked * null_share / (1 - null_share)) if null_share < 1 else rows)
        n = linked + orphans
        position[driving.column] = np.r_[np.repeat(np.arange(len(parent.keys)), counts), np.full(orphans, -1)].astype(np.int64)
    for ref in relations.refs:
        if ref.self_reference or ref is driving:
            continue
        positions, mask = _assign(relations, ref, parents[ref.parent].frame, n, rng, seed)
        full = np.full(n, -1, np.int64)
        full[mask] = positions
        position[ref.column] = full
    keep = _unique_rows(position, unique or [], rng)
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
    return ChildLayout(n, given, foreign_keys, context)


def _unique_rows(position: dict[str, np.ndarray], unique: list[str], rng: np.random.Generator) -> np.ndarray | None:
    """Rows to keep so that the ``unique`` foreign keys never repeat a combination: duplicates
    first swap their last key's parent with random rows (a few rounds, which keeps every
    parent's count), and what still repeats is dropped. None when there is nothing to do."""
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
    return ~repeated()


def _assign(relations: Relations, ref: Reference, parent_frame: pd.DataFrame, n: int, rng: np.random.Generator,
            seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Parent positions for the non-null rows (mask) of a non-driving reference."""
    null_share = relations.stats[ref.column].null_share
    linked = round(n * (1 - null_share)) if len(parent_frame) else 0
    mask = np.zeros(n, bool)
    mask[rng.permutation(n)[:linked]] = True
    drawn = sample_counts(relations.counts[ref.column], relations.stats[ref.column], parent_frame, derived_seed(seed, "counts", ref.column))
    counts = fit_total(drawn, linked, rng)
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
    "children_counts", "context_columns", "count_model_columns", "fit_count_model", "fit_total", "layout", "lookup",
]
