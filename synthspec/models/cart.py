"""Sequential CART synthesizer in the style of synthpop.

Columns are visited in a fixed order. The first is drawn from its empirical marginal; every later
column has a decision tree on the columns visited before it. A synthetic row is routed down that
tree and takes the value of a random training row (a "donor") from the leaf it lands in, so leaves
are the unit of disclosure: ``min_samples_leaf`` bounds how specific a donor pool can be, and
numerical donors are blurred with a kernel scaled to their leaf's spread. The rows landing in one
leaf take a systematic sample of its donors (``_Tree.donor_positions``) rather than independent
draws: each row's donor is still uniform over the leaf, but together they follow the leaf's
distribution without a multinomial resample's noise, which otherwise compounds column after
column (measured against real holdouts, three seeds: accuracy +0.002 on Adult and kc_house, DCR
share no higher).

Categorical predictors are integer codes, which a tree can only split into ranges. Each tree
therefore sees every categorical predictor with its categories ordered by the mean of that tree's
target (numerical targets and binary ones): for those, the best split of the categories into two
groups is one of these ranges (Breiman et al., 1984), so a zip code can be split by price or
latitude in one cut instead of by the accident of its spelling. The order is stored per tree.

A numerical column nearly linear in earlier numerical ones (a line in at most three of them
explaining at least 81% of its variance, |r| >= 0.9 for one: a line price and its product's list
price, a date and an earlier date, a total and its parts) is modelled as its residual from that
line: the trees draw a residual donor, added to the line at the synthetic predictors.
Piecewise-constant leaves alone turn r = 0.997 into 0.77; residuals keep it, and a total that is
exactly the sum of its parts stays so (kc_house: living area = above ground + basement).

A leaf of ~1.86·sqrt(n) rows is coarse: on kc_house, leaves on the columns before it explain 65%
of the variance of log price where gradient boosting explains 87%, and a learner trained on
synthetic rows cannot know more than the rows' own model. A continuous column (not levels, not on
a line) therefore also gets a centre: a few boosted trees in the earlier columns (:func:`_boost`),
kept when they explain at least a fifth of the held-out variance. The leaf still supplies the
values; the centre only picks which row gets which. Only the order of a leaf's values matters,
so the centre is fitted on the column's ranks (logistic scores of its mid-ranks, :func:`_scores`:
a few huge lots weigh no more than their rank). The rows of a leaf draw its donors as without a
centre; those that drew a continuous donor then exchange them so that their order follows each
row's simulated score, the centre at its predictors plus Gaussian noise of the leaf's (held-out)
spread around it (:meth:`_Tree.draw`). Every donor is used as often as without a centre, so the
leaf's values and distribution are kept exactly; its point masses stay with rows drawn at random
(a zero the predictors know nothing of is not pushed to the rows they put lowest), and no row is
paired with its own residual. Measured against real holdouts (3 seeds): kc_house
TSTR R² of log price 0.81 -> 0.87 and accuracy 0.969 -> 0.973; the 47-table corpus's
quality_score +0.0027 on average (23 up, 6 down) at an unchanged mean dcr_share; Adult has no
such column and is unchanged.

A categorical column whose categories all spell numbers (bathrooms ``"1.75"``, a grade ``"7"``:
what ``init`` drafts for numbers of few values, so that only real values are published) is
ordered by them (:func:`_ordered_codes`) and may take a centre the same way: its leaf's codes
are exchanged in that order, its nulls stay random. A bathroom count then follows the house's
grade where a leaf mixing grades would draw it at random (kc_house, 3 seeds: accuracy
0.9728 -> 0.9735, bathrooms-grade pair 0.934 -> 0.96; DCR share unchanged).

Real numbers are written round: 78% of kc_house's prices are whole thousands, 98% of its areas
whole tens, and a few round sums are shared by many rows (450,000). A value held by
:data:`_COMMON_COUNT` rows or more of a column not drawn off a line is therefore donated exactly
(heaps stay where they are), and a blurred value is drawn on its donor's grid (:func:`_grid_codes`,
:func:`_on_grid`): exactly as round as the donor (451,500 gives an odd multiple of 500) where that
unit is within a tenth of its kernel, else rounded to at most a quarter of it (the rounding never
undoes the blur: a rare value comes back exactly in at most about one draw in ten). Without this,
0.1% of synthetic prices were whole thousands and a reviewer could tell them at a glance; with it,
the share of multiples of 10, 100, 1,000 and 10,000 matches the real one in every kc_house column
within 0.02 (3 seeds: accuracy +0.0002, DCR share unchanged; the 47-table corpus: quality_score
+0.0012, 33 up, 9 down, dcr_share +0.0002).

A column that is never below (or above) an earlier one of its kind in the real rows keeps that
order: a first order is never before the signup, a last never before the first, a sale price
never above the list price (:func:`_bounds`). Values drawn past the bound are mirrored across it
(:func:`_within`), and a bound whose gaps vary at most half as much as the column (days between
dates years apart) becomes its line: the gap is drawn, within the real gaps' range, with their
point masses (a last order on the day of the first). Without this, 17% of synthetic customers
had their last order before their first, and 2% their first before their signup. An order is a
bound only where chance would rarely give it (:func:`_by_chance`: not a price above a floor area
in other units, true of every pair of rows), and a sentinel (:func:`_sentinel`: a renovation
year of 0 for never, an end date of 9999) is exempt from it: kc_house's houses are never
renovated before they are built, the 96% never renovated aside (3.5% of the synthetic renovated
houses were).

Trees are grown by :mod:`synthspec.models.tree` (CART on binned predictors, in numpy) and kept as
flat numpy arrays, so a saved model is plain ``.npz`` + JSON (no pickle) and samples identically
wherever it is loaded.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthspec.models.base import Budget, ModelColumn, ModelParams, Synthesizer, reflect_past
from synthspec.models.params import CartParams, leaf_size
from synthspec.models.registry import register
from synthspec.models.tree import GrownTree, Layout
from synthspec.models.tree import grow as grow_tree

_FORMAT = 8  # 2: per-tree category orders (recode_*), linear parts; 3: lines in several columns; 4: centres;
# 5: centres of ordered categories (a format-4 reader would ignore them and draw such a column at random);
# 6: donors' grids (a format-5 reader would publish blurred values off their grid); 7: bounds
# (a format-6 reader would draw a gap to a bound as a residual, past the bound); 8: sentinels exempt
# from bounds (a format-7 reader would push a renovation year of 0 past the year built)
_LEAF = -1
# A value holding at least this share of its leaf is a point mass (capital_gain == 0,
# hours_per_week == 40): it is donated exactly, never blurred, so spikes survive smoothing.
_ATOM_SHARE = 0.1
# Fewer continuous donors than this give no usable spread estimate; they are donated exactly.
_MIN_SMOOTH_DONORS = 10
# A numerical column whose least-squares line in earlier numerical columns explains this
# squared share of its variance (this correlation, for one column) is modelled as its residual.
_LINEAR_R = 0.9
# Numerical columns with fewer distinct values than this are levels (education_num, floors 1,
# 1.5, 2, star ratings): blurring them would only move rows off the grid or to a neighbouring
# level, so they are donated exactly. Unless most values are held by one row (fewer than two
# rows a value on average): then they are measurements of a small table (25 states' outputs
# and capital), donated exactly they would be copied and their lines lost (r 0.95 drawn 0.23).
_ORDINAL_LEVELS = 30
_ORDINAL_ROWS_PER_VALUE = 2
#: Values of a blurred column held by at least this many rows are donated exactly (a price of
#: 450,000, 40 hours a week); rarer ones are blurred (the spec's default rare-value threshold).
_COMMON_COUNT = 5
#: The units a blurred value is rounded to (:func:`_grid_codes`), as (numerator, denominator,
#: moduli): 1, 2 and 5 times a power of ten for numbers, then a second, minute, hour and day for
#: datetimes in epoch seconds (below a second, the decimal ones). A code is an index into this
#: table. A value *exactly* on unit ``u`` is a multiple ``k u`` that is no multiple of a coarser
#: unit of its kind: ``k`` is no multiple of any of the unit's moduli (an odd number of fives).
_MODULI = {1: (2, 5), 2: (5,), 5: (2,)}  # on 1: neither even nor a five; on 2: an even number of no ten; on 5: odd
_UNITS: list[tuple[int, int, tuple[int, ...]]] = [
    (m * 10**e, 1, _MODULI[m]) if e >= 0 else (m, 10**-e, _MODULI[m]) for e in range(-12, 16) for m in (1, 2, 5)
]
_UNITS[-1] = (*_UNITS[-1][:2], ())  # the coarsest
_SECOND = len(_UNITS)
_UNITS += [(1, 1, (60,)), (60, 1, (60,)), (3_600, 1, (24,)), (86_400, 1, ())]
_UNIT_NUM = np.array([u[0] for u in _UNITS], np.float64)
_UNIT_DEN = np.array([u[1] for u in _UNITS], np.float64)


def _steps() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per unit, the period ``p`` of its exact multiples (the product of its moduli: 10 for
    (2, 5)) and, for each residue of ``k`` mod ``p``, how far down and up the nearest ``k`` on the
    unit exactly is (:data:`_UNITS`)."""
    period = np.array([math.prod(u[2]) for u in _UNITS], np.int64)
    down = np.zeros((len(_UNITS), int(period.max())), np.float64)
    up = np.zeros_like(down)
    for i, (_, _, moduli) in enumerate(_UNITS):
        p = int(period[i])
        exact = [all(res % m for m in moduli) for res in range(p)]
        for res in range(p):
            down[i, res] = next(d for d in range(p + 1) if exact[(res - d) % p])
            up[i, res] = next(d for d in range(p + 1) if exact[(res + d) % p])
    return period, down, up


_PERIOD, _DOWN, _UP = _steps()
#: The codes of each kind's units, smallest first (numbers: False, datetimes: True).
_KIND_CODES = {
    False: np.arange(_SECOND),
    True: np.r_[[i for i in range(_SECOND) if _UNITS[i][1] > 1], np.arange(_SECOND, len(_UNITS))],
}
_NO_GRID = -1  # a donor whose value is a multiple of none of its kind's units
#: A blurred value's unit is at most these shares of its kernel's scale, drawn exactly on it or
#: only rounded to it (see :meth:`_Tree.set_donors`).
_GRID_KERNEL = (0.1, 0.25)
#: Added to a grid code (:attr:`_Tree.grid`): the value is drawn exactly on the unit (see :data:`_UNITS`).
_EXACT = 128
_NPZ_DATE = (1980, 1, 1, 0, 0, 0)
# Batches of at least this many rows are routed by scikit-learn's compiled traversal (importing
# it costs about a second; numpy's traversal costs ~2 s per million rows and 15 trees).
_COMPILED_ROUTE_ROWS = 250_000


def _levels(distinct: int, rows: int) -> bool:
    """Whether a numerical column of ``distinct`` values over ``rows`` rows (30 or more: fewer
    are never blurred) is a set of levels: so few values that each is held by sqrt(rows) rows
    on average (hours worked or ages over 20,000 rows). Such a column gets no centre; its values
    held by at least :data:`_COMMON_COUNT` rows are donated exactly as in any blurred column (a
    kernel would only move rows between levels: Adult, 3 seeds, TSTR AUC +0.008)."""
    return distinct < rows**0.5


def _common_values(values: np.ndarray) -> np.ndarray:
    """Whether each of ``values`` is held by at least :data:`_COMMON_COUNT` of them."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    return counts[inverse] >= _COMMON_COUNT


def _multiple_of(values: np.ndarray, code: int, precision: float = 2e-15) -> np.ndarray:
    """Whether each of ``values`` is a whole multiple of unit ``code`` to a relative
    ``precision`` (a few ulps: 47.6801 is a multiple of 0.0001)."""
    r = values * _UNIT_DEN[code] / _UNIT_NUM[code]
    return np.abs(r - np.round(r)) <= np.maximum(1e-9, np.abs(r) * precision)


def _grid_codes(values: np.ndarray, datetime: bool = False) -> np.ndarray:
    """Per value, the code of the coarsest unit of its kind (:data:`_KIND_CODES`) it is a whole
    multiple of: a price of 451,500 is on a grid of 500, 450,000 on one of 50,000, a latitude
    of 47.6801 on one of 0.0001, a moment at 14:30:00 on one of a minute; 0 on the coarsest.
    Real numbers are rounded (prices to thousands, areas to tens of square feet, moments to whole
    minutes), and a blurred value is drawn on its donor's unit (:meth:`_Tree.draw`), so the
    synthetic column is as round as the real one. :data:`_NO_GRID` where none fits."""
    kind = _KIND_CODES[datetime]
    codes = np.full(len(values), _NO_GRID, np.int64)
    codes[values == 0] = kind[-1]
    whole = values == np.round(values)
    # Fractions read from single precision (a REAL column: 37.2 is 37.20000076) are multiples
    # to its precision; whole numbers are exact in both.
    fractions = values[~whole & np.isfinite(values)]
    single = fractions.size and np.array_equal(fractions.astype(np.float32).astype(np.float64), fractions)
    # Smallest unit first (whole numbers from 1: they are on every finer unit). A value off a
    # unit that every coarser one is a multiple of (all but the twos: 5 is no multiple of 2) is
    # off all of them and leaves the loop.
    for fine, alive in ((True, np.flatnonzero(~whole)), (False, np.flatnonzero(whole & (values != 0)))):
        for code in kind[(_UNIT_NUM[kind] < _UNIT_DEN[kind]) == fine]:
            if not alive.size:
                break
            on = _multiple_of(values[alive], code, 2.5e-7 if fine and single else 2e-15)
            codes[alive[on]] = code
            if _UNITS[code][2] != (5,):  # not a 2
                alive = alive[on]
    return codes


def _on_grid(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``values`` rounded to the units ``codes`` (:data:`_NO_GRID`: left as they are); with
    :data:`_EXACT` added, to the nearest multiple exactly on the unit (a donor of 7,245 gives
    7,315, not 7,310). Computed as the unit's decimal spelling would round them (division by a
    power of ten: 476801 / 10**4 is the float 47.6801)."""
    out = values.copy()
    on = np.flatnonzero(codes != _NO_GRID)
    code, exact = codes[on] % _EXACT, codes[on] >= _EXACT
    num, den = _UNIT_NUM[code], _UNIT_DEN[code]
    r = values[on] * den / num
    k = np.round(r)
    if exact.any():
        # The nearest k exactly on the unit, below or above (3 or 7 for a 5 on a unit of 1).
        ex = np.flatnonzero(exact)
        unit, kx = code[ex], k[ex]
        residue = np.mod(kx, _PERIOD[unit]).astype(np.int64)
        below, above = kx - _DOWN[unit, residue], kx + _UP[unit, residue]
        k[ex] = np.where(r[ex] - below <= above - r[ex], below, above)
    out[on] = k * num / den
    return out


@dataclass
class _Tree:
    """A fitted tree flattened to arrays, plus the donor values of each leaf.

    Donors of node ``k`` are ``donors[offsets[k]:offsets[k + 1]]`` (empty for inner nodes);
    ``bandwidth`` holds per-donor kernel noise scales (0 for exact donation). The categorical
    predictor in column ``recode_columns[i]`` is seen by this tree as the rank of its code,
    ``recode_ranks[recode_offsets[i] + code]``.
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    offsets: np.ndarray
    donors: np.ndarray
    bandwidth: np.ndarray
    recode_columns: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    recode_offsets: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    recode_ranks: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    #: Per node: the spread of its donors around the column's centre (:class:`_Boosted`), the
    #: noise of the rank a synthetic row takes in its leaf (see :meth:`draw`); empty when the
    #: column has no centre.
    residual_sd: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: Per donor: the unit (code into :data:`_UNITS`) its blurred value is rounded to, and
    #: whether exactly on it (+ :data:`_EXACT`): see :meth:`set_donors`; :data:`_NO_GRID` for
    #: donors given exactly. Empty when the column's values are not rounded.
    grid: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int16))

    def __post_init__(self) -> None:
        #: An ordered categorical column's tree with a centre (donors are codes, in the order of
        #: their numbers): the number of its codes the centre ranks, all but the null code (see
        #: :meth:`_ranked`). Saved in model.json with the column, not among the tree's arrays.
        self.ordered_codes: int | None = None

    @classmethod
    def single_leaf(cls) -> _Tree:
        # Marginals are a tree without splits, so the first column shares all the donor logic.
        return cls(
            left=np.array([_LEAF], np.int64), right=np.array([_LEAF], np.int64),
            feature=np.array([-2], np.int64), threshold=np.array([-2.0]),
            missing_left=np.zeros(1, bool), offsets=np.zeros(2, np.int64),
            donors=np.zeros(0), bandwidth=np.zeros(0),
        )  # fmt: skip

    @classmethod
    def from_grown(cls, tree: GrownTree) -> _Tree:
        return cls(
            left=tree.left, right=tree.right, feature=tree.feature, threshold=tree.threshold,
            missing_left=tree.missing_left, offsets=np.zeros(len(tree.left) + 1, np.int64),
            donors=np.zeros(0), bandwidth=np.zeros(0),
        )  # fmt: skip

    def set_recode(self, orders: dict[int, np.ndarray]) -> None:
        """Keep, per categorical predictor column, the rank this tree gives each code."""
        columns = sorted(orders)
        self.recode_columns = np.array(columns, np.int64)
        self.recode_offsets = np.cumsum([0] + [len(orders[k]) for k in columns]).astype(np.int64)
        ranks = [orders[k] for k in columns]
        self.recode_ranks = np.concatenate(ranks).astype(np.float32) if ranks else np.zeros(0, np.float32)

    def recoded(self, x: np.ndarray) -> np.ndarray:
        """``x`` with each recoded categorical predictor replaced by its rank (NaN stays NaN)."""
        if not len(self.recode_columns):
            return x
        x = x.copy()
        for i, k in enumerate(self.recode_columns):
            col = x[:, k]
            known = ~np.isnan(col)
            col[known] = self.recode_ranks[self.recode_offsets[i] + col[known].astype(np.int64)]
        return x

    def route(self, x: np.ndarray) -> np.ndarray:
        """Leaf index of every row of float32 ``x`` (categorical predictors as codes). Big
        batches go through scikit-learn's compiled traversal of a tree rebuilt from these
        arrays (an order of magnitude faster than numpy's, worth importing scikit-learn for),
        smaller ones through the numpy traversal below; both give the same leaves."""
        x = self.recoded(x)
        if len(x) >= _COMPILED_ROUTE_ROWS and x.dtype == np.float32:
            compiled = self._compiled()
            if compiled is not None:
                return compiled.apply(x).astype(np.int64)
        return self._route_numpy(x)

    def _compiled(self) -> Any:
        """scikit-learn's ``Tree`` holding this tree's nodes (built once; None when this
        scikit-learn's node layout is not the one known here: the numpy traversal is used)."""
        cached = self.__dict__.get("_sklearn_tree", False)
        if cached is not False:
            return cached
        tree = None
        try:
            tree = _sklearn_tree(self)
        except Exception:  # noqa: BLE001 - another scikit-learn's internals: fall back, same leaves
            tree = None
        self.__dict__["_sklearn_tree"] = tree
        return tree

    def _route_numpy(self, x: np.ndarray) -> np.ndarray:
        node = np.zeros(len(x), np.int64)
        active = np.arange(len(x)) if self.left[0] != _LEAF else np.zeros(0, np.int64)
        while active.size:
            nd = node[active]
            # float32 feature vs float64 threshold, NaN routed by the learnt side.
            v = x[active, self.feature[nd]]
            go_left = np.where(np.isnan(v), self.missing_left[nd], v <= self.threshold[nd])
            nd = np.where(go_left, self.left[nd], self.right[nd])
            node[active] = nd
            active = active[self.left[nd] != _LEAF]
        return node

    def set_donors(self, leaves: np.ndarray, values: np.ndarray, smoothing: float, *, common: bool = False,
                   grid: np.ndarray | None = None, datetime: bool = False,
                   centre: tuple[np.ndarray, np.ndarray, float] | None = None) -> None:
        """``common``: values held by :data:`_COMMON_COUNT` donors or more are donated exactly
        (heaps at round numbers stay where they are). ``grid``: the unit code of each donor's
        own value (:func:`_grid_codes`; its value, not its residual from a line): a blurred
        value is drawn exactly on it where it is within :data:`_GRID_KERNEL`'s tenth of the
        donor's kernel, else rounded to it or to the widest unit of its kind (``datetime``: time
        units) within a quarter of the kernel, whichever is finer, so rounding never undoes
        the blur. ``centre``: the column's centre at each donor's row, the row's own score
        (:func:`_scores`) and how much wider held-out rows' residuals were; each leaf keeps the
        spread of the scores around the centre, the noise of a synthetic row's simulated score
        (:meth:`draw`)."""
        order = np.lexsort((values, leaves))
        leaves, values = leaves[order], values[order]
        self.donors = values.astype(np.float64)
        self.offsets = np.searchsorted(leaves, np.arange(len(self.left) + 1)).astype(np.int64)
        self.bandwidth = _donor_bandwidth(leaves, self.donors, smoothing)
        if common:
            self.bandwidth[_common_values(self.donors)] = 0.0
        self.grid = np.zeros(0, np.int16)
        if grid is not None and len(values):
            kind = _KIND_CODES[datetime]
            # The widest units of the kind within a tenth and a quarter of the donor's kernel. A
            # value is drawn exactly on its donor's unit when that is within the tenth (exact
            # multiples are sparser: 1, 3, 7, 9 on a unit of 1), else on the donor's unit or the
            # quarter's, whichever is finer: a rare value blurred is drawn back exactly at most
            # about one time in ten, as rounding a blurred whole number to one always was.
            widths = _UNIT_NUM[kind] / _UNIT_DEN[kind]

            def widest(share: float) -> np.ndarray:
                within = np.searchsorted(widths, self.bandwidth * share, side="right") - 1
                return np.where(within >= 0, kind[np.maximum(within, 0)], _NO_GRID)

            own, exact, plain = grid[order], widest(_GRID_KERNEL[0]), widest(_GRID_KERNEL[1])
            code = np.where(own <= exact, own + _EXACT * (own >= 0), np.minimum(own, plain))
            self.grid = np.where(self.bandwidth > 0, code, _NO_GRID).astype(np.int16)
        self.residual_sd = np.zeros(0)
        if centre is not None:
            # The spread of the scores of the leaf's ranked donors (not its point masses nor
            # nulls, see :meth:`_ranked`) around the centre, widened as the held-out rows' spread
            # was (the centre was fitted on most of these rows: their residuals are too small).
            fitted, scores, widen = centre
            continuous = self._ranked()
            residual = np.where(continuous, scores[order] - fitted[order], 0.0)
            m = np.maximum(np.add.reduceat(np.r_[continuous, False].astype(np.int64), self.offsets[:-1]), 1)
            total = np.add.reduceat(np.r_[residual, 0.0], self.offsets[:-1])
            square = np.add.reduceat(np.r_[residual**2, 0.0], self.offsets[:-1])
            sd = np.sqrt(np.maximum(square / m - (total / m) ** 2, 0.0)) * (np.diff(self.offsets) > 0)
            self.residual_sd = widen * sd

    def draw(self, x: np.ndarray, rng: np.random.Generator, centre: _Boosted | None = None,
             offset: np.ndarray | None = None, within: tuple[float, float] | None = None) -> np.ndarray:
        """A donor value per row of ``x`` plus its kernel noise (reflected into ``within``: the
        range of the real gaps to a bound) plus ``offset`` (a line at the row's predictors, the
        donors being residuals from it), rounded to the donor's grid (:attr:`grid`): a donor
        price of 451,500 gives 463,500, not 463,217.

        With the column's ``centre``, the rows of a leaf that drew one of its continuous donors
        exchange them so that the row with the lowest simulated score (centre at the row +
        Gaussian noise of the leaf's spread around it) holds the lowest: a row whose predictors
        call for a high value gets one of the leaf's high values, as often as the real residuals
        allow. The leaf's donors are used as many times as without a centre, so its values and
        their distribution are kept exactly; its point masses (:data:`_ATOM_SHARE`: a basement
        area of 0) stay with the rows that drew them at random, so a centre does not tie them to
        its predictors. An ordered categorical column's donors are codes in the order of their
        numbers, all ranked but the null code (:meth:`_ranked`)."""
        leaf = self.route(x)
        idx = self.donor_positions(leaf, rng)
        if centre is not None and self.residual_sd.size:
            keys = centre.predict(x) + self.residual_sd[leaf] * rng.standard_normal(len(x))
            rest = np.flatnonzero(self._ranked()[idx])
            # Both sorted by leaf (a leaf's donors are contiguous, in node order), then rows by
            # key and donors by position (value): pairing them is a rank match within each leaf.
            rows = rest[np.lexsort((keys[rest], leaf[rest]))]
            idx[rows] = np.sort(idx[rest])
        # Always consume the normals so a column's RNG use depends on the model, not the rows.
        values = self.donors[idx] + rng.standard_normal(len(x)) * self.bandwidth[idx]
        if within is not None:
            lo, hi = within
            values = np.where(values < lo, 2 * lo - values, values)
            values = np.clip(np.where(values > hi, 2 * hi - values, values), lo, hi)
        if offset is not None:
            values = values + offset
        return _on_grid(values, self.grid[idx].astype(np.int64)) if self.grid.size else values

    def _ranked(self) -> np.ndarray:
        """Whether a centre ranks each donor: a numerical column's continuous donors (its point
        masses stay random), every donor but the null code of an ordered categorical column."""
        if self.ordered_codes is not None:
            return self.donors < self.ordered_codes
        return ~self._atoms()

    def _atoms(self) -> np.ndarray:
        """Whether each donor is a point mass of its leaf (:func:`_point_masses`; computed once)."""
        cached = self.__dict__.get("_atom")
        if cached is None:
            cached = _point_masses(np.repeat(np.arange(len(self.left)), np.diff(self.offsets)), self.donors)
            self.__dict__["_atom"] = cached
        return cached

    def donor_positions(self, leaf: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A donor for each row landing in ``leaf``: a systematic sample of each leaf's donors.

        The ``k`` rows landing in a leaf of ``m`` donors (sorted by value) take, in a random
        order, the donors at ``floor((u + i) m / k)`` for ``i < k`` and one uniform ``u`` per
        leaf: evenly spaced through the leaf's sorted values, each donor used ``k/m`` times
        rounded either way. Every row still gets a uniformly random donor of its leaf, as with
        independent draws, but the rows of a leaf together follow its donors' distribution
        instead of a multinomial resample of it, whose noise compounds over the columns."""
        n = len(leaf)
        shuffled = rng.permutation(n)
        # Rows by leaf, in random order within a leaf (a stable sort of 16-bit keys is a radix sort).
        keys = leaf.astype(np.uint16 if len(self.left) <= np.iinfo(np.uint16).max else np.int64)
        order = shuffled[np.argsort(keys[shuffled], kind="stable")]
        grouped = leaf[order]
        counts = np.bincount(grouped, minlength=len(self.left))
        first = np.cumsum(counts) - counts  # position in ``order`` of each leaf's first row
        rank = np.arange(n) - first[grouped]
        start = self.offsets[grouped]
        size = self.offsets[grouped + 1] - start
        u = rng.random(len(self.left))[grouped]
        idx = np.empty(n, np.int64)
        # (u + rank) < count, but float rounding can reach it when u is within 2**-53 of 1.
        idx[order] = start + np.minimum(((u + rank) * size // counts[grouped]).astype(np.int64), size - 1)
        return idx


@dataclass
class _Boosted:
    """A column's centre: a sum of regression trees in earlier columns (gradient boosting,
    squared error, :func:`_boost`), the part of a numerical or ordered categorical column's ranks
    its predictors explain. It decides which of a leaf's donors a synthetic row takes
    (:meth:`_Tree.draw`), never the value itself. Node arrays of every tree side by side
    (children are global node indices, ``-1`` for leaves), ``value`` the leaf values (learning
    rate included), ``roots`` each tree's first node. Categorical predictors are seen as
    ``recode_*`` ranks, as in :class:`_Tree`."""

    base: float
    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    recode_columns: np.ndarray
    recode_offsets: np.ndarray
    recode_ranks: np.ndarray
    #: The held-out rows' residual spread over the fitted rows' (at least 1), at fit time.
    widen: float = 1.0

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The sum at the rows of float32 ``x`` (columns by visit position), tree by tree (each
        routed as a :class:`_Tree`: big batches through the compiled traversal)."""
        out = np.full(len(x), self.base)
        if not len(x):
            return out
        probe = _Tree.single_leaf()
        probe.recode_columns, probe.recode_offsets, probe.recode_ranks = (
            self.recode_columns, self.recode_offsets, self.recode_ranks)
        x = probe.recoded(x)
        for tree, value in self._trees():
            out += value[tree.route(x)]
        return out

    def _trees(self) -> list[tuple[_Tree, np.ndarray]]:
        """Each tree as a :class:`_Tree` (local node indices) and its node values (built once)."""
        cached = self.__dict__.get("_split")
        if cached is None:
            ends = [*self.roots[1:], len(self.left)]
            cached = []
            for start, end in zip(self.roots, ends, strict=True):
                part = slice(int(start), int(end))
                left, right = self.left[part], self.right[part]
                cached.append((_Tree(
                    left=np.where(left == _LEAF, _LEAF, left - start), right=np.where(right == _LEAF, _LEAF, right - start),
                    feature=self.feature[part], threshold=self.threshold[part], missing_left=self.missing_left[part],
                    offsets=np.zeros(end - start + 1, np.int64), donors=np.zeros(0), bandwidth=np.zeros(0),
                ), self.value[part]))  # fmt: skip
            self.__dict__["_split"] = cached
        return cached


#: Boosting of a column's centre: trees of this depth and leaf size, this learning rate, at most
#: this many trees (fewer when the held-out rows stop improving for ``_BOOST_PATIENCE`` trees),
#: grown on at most ``_BOOST_ROWS`` rows with predictors in ``_BOOST_BINS`` bins; kept when it
#: explains ``_BOOST_MIN_R2`` of the held-out rows' variance. Few deep trees with a large step:
#: on kc_house (3 seeds) as good as 50 trees of depth 4 at a tenth of the rate, in half the time.
_BOOST_DEPTH = 6
_BOOST_LEAF = 20
_BOOST_RATE = 0.5
_BOOST_TREES = 15
_BOOST_PATIENCE = 5
_BOOST_ROWS = 20_000
_BOOST_MIN_R2 = 0.2
_BOOST_BINS = 63


def _scores(y: np.ndarray) -> np.ndarray:
    """Logistic scores of ``y``'s mid-ranks (ties share one): the scale a centre is fitted on.
    Only the order of a leaf's values matters to a centre, so it is fitted on ranks: a few
    huge lots or prices then weigh no more than their rank, as in a tree's splits.

    Ordered categories (a few values, ties the rule) are scored the same way. Spreading each
    tie uniformly over its ranks was measured too: a room count in one leaf then followed its
    predictor less closely than the real rows (correlation 0.88 for a real 0.94; 0.91 with
    mid-ranks; both 0.94 with leaves of 300 rows)."""
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    mid = (np.cumsum(counts) - counts / 2) / len(y)
    return np.log(mid / (1 - mid + 1e-12))[inverse]


def _boost(x: np.ndarray, y: np.ndarray, categories: dict[int, int], seed: int) -> _Boosted | None:
    """Gradient-boosted trees (squared error) of ``y`` on float32 ``x`` (``categories``: the
    categorical predictors, column -> number of codes, seen ranked by their mean of ``y``), or
    None when they explain less than :data:`_BOOST_MIN_R2` of held-out rows' variance. A fifth
    of the rows (at most :data:`_BOOST_ROWS` in all, a seeded sample) is held out: it chooses the
    number of trees and decides whether the centre is kept. The trees are grown by
    :func:`synthspec.models.tree.grow` on bins computed once, so the sum is deterministic."""
    rng = np.random.default_rng(seed)
    take = rng.permutation(len(y))[:_BOOST_ROWS]
    if len(take) < 10 * _BOOST_LEAF or x.shape[1] == 0:
        return None
    cut = len(take) // 5
    held, fit = np.sort(take[:cut]), np.sort(take[cut:])
    probe = _Tree.single_leaf()
    probe.set_recode({k: _target_order(x[fit, k], n, y[fit]) for k, n in categories.items()})
    xf, xh = probe.recoded(x[fit]), probe.recoded(x[held])
    yf, yh = y[fit].astype(np.float64), y[held].astype(np.float64)
    var = float(np.var(yh))
    if not var > 0:
        return None
    base = float(yf.mean())
    pf, ph = np.full(len(yf), base), np.full(len(yh), base)
    layout = Layout(xf, _BOOST_BINS)
    grown: list[tuple[GrownTree, np.ndarray]] = []
    best, best_at = float(np.mean((yh - ph) ** 2)), 0
    for t in range(_BOOST_TREES):
        g = grow_tree(xf, yf - pf, classify=False, min_samples_leaf=_BOOST_LEAF, max_depth=_BOOST_DEPTH,
                      layout=layout)
        lf, lh = g.nodes, _Tree.from_grown(g)._route_numpy(xh)
        count = np.bincount(lf, minlength=len(g.left))
        value = _BOOST_RATE * np.bincount(lf, weights=yf - pf, minlength=len(g.left)) / np.maximum(count, 1)
        pf += value[lf]
        ph += value[lh]
        grown.append((g, value))
        mse = float(np.mean((yh - ph) ** 2))
        if mse < best:
            best, best_at = mse, t + 1
        elif t + 1 - best_at >= _BOOST_PATIENCE:
            break
    if best_at == 0 or 1 - best / var < _BOOST_MIN_R2:
        return None
    grown = grown[:best_at]
    pf = base + sum(v[g.nodes] for g, v in grown)
    widen = max(1.0, float(np.sqrt(best / max(float(np.mean((yf - pf) ** 2)), 1e-300))))
    sizes = [len(g.left) for g, _ in grown]
    starts = np.cumsum([0] + sizes[:-1]).astype(np.int64)

    def joined(arrays: list[np.ndarray], shift: bool = False) -> np.ndarray:
        if not shift:
            return np.concatenate(arrays)
        return np.concatenate([np.where(a == _LEAF, _LEAF, a + s) for a, s in zip(arrays, starts, strict=True)])

    return _Boosted(
        base=base, left=joined([g.left for g, _ in grown], True), right=joined([g.right for g, _ in grown], True),
        feature=joined([g.feature for g, _ in grown]), threshold=joined([g.threshold for g, _ in grown]),
        missing_left=joined([g.missing_left for g, _ in grown]), value=joined([v for _, v in grown]),
        roots=starts, recode_columns=probe.recode_columns, recode_offsets=probe.recode_offsets,
        recode_ranks=probe.recode_ranks, widen=widen,
    )


def _sklearn_tree(tree: _Tree) -> Any:
    """A ``sklearn.tree._tree.Tree`` with ``tree``'s structure (no values: only ``apply`` is
    used). Raises when this scikit-learn stores nodes differently."""
    from sklearn.tree._tree import Tree

    n = len(tree.left)
    features = int(tree.feature.max()) + 1 if n else 1
    shell = Tree(max(features, 1), np.array([1], dtype=np.intp), 1)
    dtype = shell.__getstate__()["nodes"].dtype
    if set(dtype.names or ()) < {"left_child", "right_child", "feature", "threshold", "missing_go_to_left"}:
        raise ValueError("unknown node layout")
    nodes = np.zeros(n, dtype=dtype)
    nodes["left_child"], nodes["right_child"] = tree.left, tree.right
    nodes["feature"], nodes["threshold"] = tree.feature, tree.threshold
    nodes["missing_go_to_left"] = tree.missing_left
    depth, frontier = 0, [0]
    while frontier:  # the depth sklearn keeps in its state
        frontier = [c for k in frontier for c in (tree.left[k], tree.right[k]) if c != _LEAF]
        depth += bool(frontier)
    shell.__setstate__({"max_depth": depth, "node_count": n, "nodes": nodes, "values": np.zeros((n, 1, 1))})
    return shell


def _point_masses(leaves: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Whether each donor is a point mass of its leaf: a value held by at least
    :data:`_ATOM_SHARE` of the leaf's donors; ``leaves``/``values`` sorted by (leaf, value)."""
    if len(values) == 0:
        return np.zeros(0, bool)
    new_run = np.r_[True, (leaves[1:] != leaves[:-1]) | (values[1:] != values[:-1])]
    run_id = np.cumsum(new_run) - 1
    run_len = np.bincount(run_id)[run_id]
    return run_len >= _ATOM_SHARE * np.bincount(leaves)[leaves]


def _donor_bandwidth(leaves: np.ndarray, values: np.ndarray, smoothing: float) -> np.ndarray:
    """Per-donor kernel scale; ``leaves``/``values`` sorted by (leaf, value)."""
    bw = np.zeros(len(values))
    if smoothing <= 0 or len(values) == 0:
        return bw
    cont = ~_point_masses(leaves, values)
    if not cont.any():
        return bw
    # Spread of the continuous (non-atom) donors of each leaf: contiguous groups, still sorted.
    cl, cv = leaves[cont], values[cont]
    _, start, m = np.unique(cl, return_index=True, return_counts=True)
    mean = np.add.reduceat(cv, start) / m
    sd = np.sqrt(np.add.reduceat((cv - np.repeat(mean, m)) ** 2, start) / np.maximum(m - 1, 1))
    iqr = cv[start + ((m - 1) * 3) // 4] - cv[start + (m - 1) // 4]
    spread = np.where(iqr > 0, np.minimum(sd, iqr / 1.34), sd)
    leaf_bw = np.where(m >= _MIN_SMOOTH_DONORS, smoothing * 0.9 * spread * m**-0.2, 0.0)
    bw[cont] = np.repeat(leaf_bw, m)
    return bw


def _fit_threads() -> int:
    """Threads growing trees: the cores this process may use (``OMP_NUM_THREADS`` when a
    ``--jobs`` worker was given its share of them)."""
    import os

    limit = os.environ.get("OMP_NUM_THREADS", "")
    return int(limit) if limit.isdigit() and int(limit) > 0 else (os.cpu_count() or 1)


def _target_order(codes: np.ndarray, n_codes: int, y: np.ndarray) -> np.ndarray:
    """Rank of each of ``n_codes`` category codes by the mean of ``y`` over its rows (codes
    absent from these rows last; ties by code), for the codes of one categorical predictor
    (NaN: missing) and a numerical or 0/1 target."""
    known = ~np.isnan(codes)
    c = codes[known].astype(np.int64)
    count = np.bincount(c, minlength=n_codes)
    total = np.bincount(c, weights=y[known].astype(np.float64), minlength=n_codes)
    mean = np.where(count > 0, total / np.maximum(count, 1), np.inf)
    rank = np.empty(n_codes, np.float64)
    rank[np.lexsort((np.arange(n_codes), mean))] = np.arange(n_codes)
    return rank


@dataclass
class _ColumnModel:
    kind: str
    vocab: list[Any]  # categorical: values by code, None (null) last if present
    lo: float
    hi: float
    null_tree: _Tree | None  # numerical only: donors are 1.0 where the value is null
    value_tree: _Tree | None  # None when a numerical column is entirely null
    # numerical only: the value is the drawn residual + a line in earlier columns (see
    # :class:`_Linear` and :func:`_linear_part`)
    linear: _Linear | None = None
    # numerical or ordered categorical: which of a leaf's donors a row takes follows this sum of
    # trees (see :func:`_boost`)
    centre: _Boosted | None = None
    # numerical only: the earlier columns (visit positions) it is at least / at most in every
    # real row (see :func:`_bounds`), or -1
    lower: int = -1
    upper: int = -1
    # numerical only: the line is one of those bounds, the residual the gap to it (drawn within
    # the real gaps' range, so the bound holds)
    gap: tuple[float, float] | None = None
    # numerical only: which rows are exempt from the lower / upper bound (:data:`_OWN`: those
    # holding this column's sentinel, below; :data:`_THEIRS`: the bound's; see :func:`_sentinel`)
    exempt: tuple[int, int] = (0, 0)
    # numerical only: this column's sentinel (:func:`_sentinel`), NaN where none
    sentinel: float = math.nan


@dataclass(frozen=True)
class _Linear:
    """``intercept + sum(slopes[i] * x[:, columns[i]])``, each predictor's nulls read as its
    ``fills[i]`` (its mean where the line was fitted)."""

    columns: tuple[int, ...]
    intercept: float
    slopes: tuple[float, ...]
    fills: tuple[float, ...]

    @classmethod
    def from_saved(cls, entry: dict[str, Any]) -> _Linear:
        if "column" in entry:  # one predictor, as format 2 wrote it
            return cls((int(entry["column"]),), float(entry["intercept"]), (float(entry["slope"]),), (float(entry["fill"]),))
        return cls(tuple(int(c) for c in entry["columns"]), float(entry["intercept"]),
                   tuple(float(v) for v in entry["slopes"]), tuple(float(v) for v in entry["fills"]))

    def line(self, x: np.ndarray) -> np.ndarray:
        """The line at the rows of ``x`` (columns by visit position)."""
        return self.line_of([x[:, column] for column in self.columns])

    def line_of(self, predictors: list[np.ndarray]) -> np.ndarray:
        """The line at the given values of its predictors (in ``columns`` order)."""
        out = np.full(len(predictors[0]), self.intercept)
        for values, slope, fill in zip(predictors, self.slopes, self.fills, strict=True):
            values = values.astype(np.float64)
            out += slope * np.where(np.isnan(values), fill, values)
        return out


#: Fewest rows in which a column must be at least (or at most) an earlier one for that to be
#: kept as a bound (:func:`_bounds`).
_BOUND_MIN_ROWS = 10
#: An order holding in all ``n`` real rows is a bound only if chance would rarely give it:
#: ``(1 - q) ** n`` below this, ``q`` the share of pairs of *different* rows out of that order.
#: A price is above a floor area in other units in every pair of rows (``q = 0``: no bound); a
#: house is built after another's renovation in 1.8% of pairs of kc_house's renovated houses,
#: never after its own (453 rows: 10^-3.6). A bound holding in every real row costs little if
#: it is one by chance, so the bar is not set lower.
_BOUND_CHANCE = 1e-2
#: A bound is drawn as the gap to it (a datetime's, :meth:`_Tree.draw` ``within``) when the gaps
#: vary at most this share of the column's variance: a first order days after a signup spread
#: over years.
_BOUND_GAP_SHARE = 0.5


#: Bits of a bound's exemption: rows holding the column's own sentinel, or the bound's.
_OWN, _THEIRS = 1, 2


@dataclass(frozen=True)
class _Bound:
    """The earlier column (visit position, -1: none) a column is at least or at most in every real
    row, the share of the column's variance the gaps to it leave, and which rows are exempt:
    those holding the column's own sentinel (:data:`_OWN`), the bound's (:data:`_THEIRS`), or
    either (:func:`_sentinel`)."""

    column: int = -1
    spread: float = math.inf
    exempt: int = 0


def _sentinel(values: np.ndarray) -> float:
    """A number standing for "none" in a column: its smallest or largest value, held by at least
    :data:`_BOUND_MIN_ROWS` rows but not all but a few (a renovation year of 0 for a house never
    renovated, 9999 for no end date); NaN where there is none. Only bounds look at it: a sentinel
    row is exempt from an order every other row keeps (:func:`_bounds`)."""
    finite = values[~np.isnan(values)]
    if finite.size < 2 * _BOUND_MIN_ROWS:
        return math.nan
    ends = [(int(np.count_nonzero(finite == end)), float(end)) for end in (finite.min(), finite.max())]
    count, end = max(ends)
    return end if _BOUND_MIN_ROWS <= count <= finite.size - _BOUND_MIN_ROWS else math.nan


def _by_chance(y: np.ndarray, x: np.ndarray, lower: bool, rows: int) -> bool:
    """Whether ``y >= x`` (``lower``, else ``<=``) holding in ``rows`` rows is what chance gives:
    ``(1 - q) ** rows`` at least :data:`_BOUND_CHANCE`, ``q`` the share of pairs of different
    rows of ``y`` and ``x`` (a sample of them) out of that order."""
    order = np.sort(x)
    if lower:  # pairs with x_j > y_i
        wrong = len(x) - np.searchsorted(order, y, side="right")
    else:
        wrong = np.searchsorted(order, y, side="left")
    # A row's own pair is never out of order: n (n - 1) pairs of different rows.
    q = float(wrong.sum()) / (float(len(y)) * max(len(x) - 1, 1))
    return q < 1.0 and rows * math.log1p(-q) >= math.log(_BOUND_CHANCE)


def _exemption(saved: bool | int) -> int:
    """A saved bound exemption: bits (:data:`_OWN`, :data:`_THEIRS`), or ``true`` from models
    saved while format 8 had one flag for both (rows holding either sentinel)."""
    if isinstance(saved, bool):
        return _OWN | _THEIRS if saved else 0
    return int(saved)


def _better(found: _Bound, kept: _Bound) -> bool:
    """Whether ``found`` beats ``kept``: fewer exemptions first, then gaps that vary less."""
    def key(b: _Bound) -> tuple[int, float]:
        return (bin(b.exempt).count("1"), b.spread)
    return kept.column < 0 or key(found) < key(kept)


def _bounds(x: np.ndarray, y: np.ndarray, candidates: list[int], sentinels: np.ndarray,
            own: float) -> tuple[_Bound, _Bound]:
    """The earlier columns (visit positions among ``candidates``) that ``y`` is at least (lower)
    and at most (upper) in every row of ``x`` (rows: ``y``'s, none null in the column) beyond
    chance (:func:`_by_chance`): a first order is never before the signup, a last never before
    the first. An order that fails only in rows where ``y`` holds its sentinel ``own``, or the
    earlier column its own (``sentinels``, by visit position; NaN: none), or either, holds with
    those rows exempt (the fewest that do): a house is never renovated before it is built, a
    renovation year of 0 aside, whichever of the two comes first. Of each side, the bound with
    the fewest exemptions whose gaps vary least."""
    lower, upper = _Bound(), _Bound()
    if len(y) < _BOUND_MIN_ROWS or not float(np.var(y)) > 0:
        return lower, upper
    step = -(-len(y) // _LINEAR_SELECTION_ROWS)
    # Rows spread over the table first (most pairs are out of order in some of them), then every
    # row; chance is judged on the spread rows.
    screen = slice(None, None, step)
    for k in candidates:
        for exempt in (0, _OWN, _THEIRS, _OWN | _THEIRS):
            if (exempt & _OWN and math.isnan(own)) or (exempt & _THEIRS and math.isnan(sentinels[k])):
                continue
            keep: Any = slice(None)
            if exempt:
                keep = np.ones(len(y), bool)
                if exempt & _OWN:
                    keep &= y != own
                if exempt & _THEIRS:
                    keep &= x[:, k] != sentinels[k]
            yk, xk = y[keep], x[keep, k]
            if len(yk) < _BOUND_MIN_ROWS:
                continue
            gap = yk[screen] - xk[screen]
            below, above = gap.min() >= 0, gap.max() <= 0  # False on a null
            if below or above:
                gap = yk - xk
                below, above = below and gap.min() >= 0, above and gap.max() <= 0
            if not (below or above):
                continue  # out of order: with (more) sentinels exempt?
            spread = float(np.var(gap)) / max(float(np.var(yk)), 1e-300)
            found = _Bound(k, spread, exempt)
            if below and _better(found, lower) and not _by_chance(yk[screen], xk[screen], True, len(yk)):
                lower = found
            if above and _better(found, upper) and not _by_chance(yk[screen], xk[screen], False, len(yk)):
                upper = found
            break
    return lower, upper


def _within(values: np.ndarray, lower: np.ndarray | None, upper: np.ndarray | None, lo: float, hi: float,
            whole: bool = False) -> np.ndarray:
    """``values`` on the right side of per-row bounds (NaN: none), those beyond mirrored across
    the bound (:func:`reflect_past`) within ``lo``..``hi``; ``whole``: whole numbers, the
    nearest on the right side."""
    out = values
    if lower is not None:
        out = reflect_past(out, lower, above=True, limit=hi)
    if upper is not None:
        out = reflect_past(out, upper, above=False, limit=lo)
    with np.errstate(invalid="ignore"):
        if whole:
            out = np.round(out)
            if upper is not None:
                out = np.where(out > upper, np.floor(upper), out)
            if lower is not None:
                out = np.where(out < lower, np.ceil(lower), out)
        if lower is not None:  # bounds the other way round (their own columns out of order)
            out = np.where(out < lower, lower, out)
    return out


def _line_range(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Values drawn off a line, cut a range's width beyond the observed range ``lo``..``hi``
    and at 0 for a column never negative (not reflected: that would break a total's sum)."""
    low = 2 * lo - hi
    return np.clip(values, max(low, 0.0) if lo >= 0 else low, 2 * hi - lo)


#: Most earlier columns one line combines, the share of variance each further one must add,
#: and the rows the choice is made on (the coefficients are fitted on every row).
_LINEAR_MAX_PREDICTORS = 3
_LINEAR_MIN_GAIN = 0.01
_LINEAR_SELECTION_ROWS = 50_000
#: A line is looked for beyond its first column only when that column explains this much.
_LINEAR_FLOOR = 0.1


def _linear_part(x: np.ndarray, y: np.ndarray, candidates: list[int]) -> _Linear | None:
    """The least-squares line of ``y`` on at most three candidate columns of ``x`` (rows: ``y``'s)
    when it explains at least ``_LINEAR_R ** 2`` of ``y``'s variance; else None.

    Forward selection: the candidate most correlated with ``y`` first, then the one adding the
    most explained variance while it adds at least 1%: a total and its parts (living area =
    above ground + basement, R² 1) is one line where each part alone explains too little. The
    choice is made on at most ``_LINEAR_SELECTION_ROWS`` rows spread over the table; the line is
    then fitted, and its share of variance checked again, on every row."""
    if not candidates:
        return None
    step_rows = max(1, -(-len(y) // _LINEAR_SELECTION_ROWS))
    screen = _Screen(x[::step_rows][:, candidates].astype(np.float64), y[::step_rows])
    chosen: list[int] = []  # positions in ``candidates``
    explained = 0.0
    for size in range(_LINEAR_MAX_PREDICTORS):
        if size and explained < _LINEAR_FLOOR:  # nothing to build a line on
            break
        step: tuple[int, float] | None = None
        for k in range(len(candidates)):
            if k in chosen:
                continue
            r2 = screen.explained([*chosen, k])
            if r2 is not None and r2 >= explained + (_LINEAR_MIN_GAIN if chosen else 0.0) and (step is None or r2 >= step[1]):
                step = (k, r2)
        if step is None:
            break
        chosen.append(step[0])
        explained = step[1]
        if explained >= 1.0 - 1e-12:
            break
    if not chosen or explained < _LINEAR_R**2:
        return None
    columns = [candidates[k] for k in chosen]
    predictors = x[:, columns].astype(np.float64)
    known = ~np.isnan(predictors).any(axis=1)
    fit = _least_squares(predictors[known], y[known])
    if fit is None or _r2(predictors[known], y[known], fit) < _LINEAR_R**2:
        return None
    intercept, slopes = fit
    fills = tuple(float(v) for v in predictors[known].mean(axis=0))
    return _Linear(tuple(columns), intercept, tuple(float(v) for v in slopes), fills)


class _Screen:
    """R² of ``y`` on subsets of the columns of ``a``: from one covariance matrix when nothing
    is null (each subset then costs a 3x3 solve, not a pass over the rows), else by least
    squares on the rows where the subset is known."""

    def __init__(self, a: np.ndarray, y: np.ndarray) -> None:
        self.a, self.y = a, y
        self.cov: np.ndarray | None = None
        if len(y) >= _MIN_SMOOTH_DONORS and not np.isnan(a).any() and not np.isnan(y).any():
            both = np.column_stack([a, y])
            self.cov = np.cov(both, rowvar=False).reshape(both.shape[1], both.shape[1])

    def explained(self, subset: list[int]) -> float | None:
        if self.cov is None:
            return _explained(self.a[:, subset], self.y)
        var = np.diag(self.cov)
        if var[-1] <= 0 or (var[subset] <= 0).any():
            return None
        if len(subset) == 1:  # the squared correlation, as a one-column line always had
            k = subset[0]
            return float(self.cov[k, -1] ** 2 / (var[k] * var[-1]))
        within = self.cov[np.ix_(subset, subset)]
        across = self.cov[subset, -1]
        try:
            solved = np.linalg.solve(within, across)
        except np.linalg.LinAlgError:  # collinear parts: this subset adds nothing
            return None
        return float(min(1.0, across @ solved / var[-1]))


def _least_squares(a: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray] | None:
    """Intercept and slopes of ``y`` on the columns of ``a`` (centred, so large values such as
    epoch seconds keep their precision); None when a column or ``y`` is constant."""
    if len(y) < max(_MIN_SMOOTH_DONORS, 20 * a.shape[1]) or y.std() == 0 or (a.std(axis=0) == 0).any():
        return None
    a_mean, y_mean = a.mean(axis=0), y.mean()
    slopes = np.linalg.lstsq(a - a_mean, y - y_mean, rcond=None)[0]
    return float(y_mean - a_mean @ slopes), slopes


def _r2(a: np.ndarray, y: np.ndarray, fit: tuple[float, np.ndarray]) -> float:
    residual = y - fit[0] - a @ fit[1]
    total = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(residual @ residual) / total if total > 0 else 0.0


def _explained(a: np.ndarray, y: np.ndarray) -> float | None:
    """R² of ``y`` on the columns of ``a`` over the rows where all are known (None: too few
    rows, or a constant column)."""
    known = ~np.isnan(a).any(axis=1)
    a, y = a[known].astype(np.float64), y[known]
    if a.shape[1] == 1:  # one predictor: the squared correlation, as the single-column line had
        if len(y) < _MIN_SMOOTH_DONORS or a[:, 0].std() == 0 or y.std() == 0:
            return None
        return float(np.corrcoef(a[:, 0], y)[0, 1]) ** 2
    fit = _least_squares(a, y)
    return None if fit is None else _r2(a, y, fit)


#: A number as text: ASCII digits, an optional sign, point and exponent (not ``" 5"``,
#: ``"1_000"``, ``"inf"``, ``"nan"`` or other digits, all of which ``float`` would read).
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def _number(value: Any) -> float | None:
    """The finite number a category's text spells (``"2.5"``, ``"98052"``), else None."""
    if not isinstance(value, str) or not _NUMBER_TEXT.fullmatch(value):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _category_key(value: Any) -> tuple[str, bool, float, str]:
    """Vocabulary order: by type, then categories that spell numbers by their value (``"2"``
    before ``"10"``), then the rest as text."""
    number = _number(value)
    return (type(value).__name__, number is None, 0.0 if number is None else number, str(value))


def _ordered_codes(vocab: list[Any]) -> int | None:
    """For a vocabulary of at least three categories that all spell numbers (bathrooms
    ``"1.75"``, a grade ``"7"``; :func:`_category_key` sorts them by value), the number of its
    non-null codes: the column is ordered and may take a centre. Else None.

    A heuristic on the text: codes that are numbers (zip codes, ids held as text) count as
    ordered too. Their order only matters where it predicts: a centre is kept only when it
    explains a fifth of the held-out variance (:func:`_boost`)."""
    values = vocab[:-1] if vocab and vocab[-1] is None else vocab
    if len(values) < 3 or any(_number(v) is None for v in values):
        return None
    return len(values)


def _clean_category(value: Any) -> Any:
    # JSON must reproduce vocabularies exactly; the contract allows only str and bool.
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return value if isinstance(value, str) else str(value)


def _category_codes(col: pd.Series) -> tuple[list[Any], np.ndarray]:
    """A categorical column's vocabulary (cleaned values sorted by :func:`_category_key`, None
    last when there are nulls) and every row's code in it. Text-only and boolean-only columns
    (what the engine passes, as category codes or objects) are factorised once and only their
    distinct values cleaned; other objects go cell by cell, since equal-hashing values of
    different types (``1``, ``True``) must stay apart exactly as
    :func:`_category_codes_per_cell` keeps them."""
    compact = isinstance(col.dtype, pd.CategoricalDtype)  # the engine's frames hold categories as codes
    held = col.cat.categories if compact else col
    if (col.dtype != object and not compact) or pd.api.types.infer_dtype(held, skipna=True) not in ("string", "boolean", "empty"):
        return _category_codes_per_cell(col)
    codes, uniques = pd.factorize(col)  # observed values only
    cleaned = [_clean_category(u) for u in uniques]
    vocab: list[Any] = sorted(set(cleaned), key=_category_key)
    code_of = {v: i for i, v in enumerate(vocab)}
    has_null = bool((codes < 0).any())
    vocab += [None] if has_null else []
    # position k of the lookup: the code of distinct value k; the last position: nulls (code -1)
    lookup = np.array([code_of[v] for v in cleaned] + [len(vocab) - 1], np.int64)
    return vocab, lookup[codes]


def _category_codes_per_cell(col: pd.Series) -> tuple[list[Any], np.ndarray]:
    """:func:`_category_codes` one cell at a time, for columns of mixed Python types."""
    missing = col.isna().to_numpy()
    raw = [None if gap else _clean_category(v) for v, gap in zip(col, missing, strict=True)]
    vocab: list[Any] = sorted({v for v in raw if v is not None}, key=_category_key)
    vocab += [None] if any(v is None for v in raw) else []
    code_of = {v: i for i, v in enumerate(vocab)}
    return vocab, np.array([code_of[v] for v in raw], np.int64)


@register("cart")
class CartSynthesizer(Synthesizer):
    description = (
        "Sequential decision trees with leaf donor sampling (synthpop-style); fast default."
    )
    cost = 1
    differentially_private = False
    supports_given = True
    subsample_in_fit = True  # fit(..., grow_rows=): trees on the subsample, donors per `donors`
    compact_numbers = True  # numbers are read with to_numpy(np.float64): float32 columns as they are
    Params: ClassVar[type[ModelParams]] = CartParams

    def __init__(self, columns: list[ModelColumn], params: ModelParams, seed: int, budget: Budget | None = None) -> None:
        super().__init__(columns, params, seed, budget)
        self._order: list[str] = []
        self._models: dict[str, _ColumnModel] = {}

    def _visit_order(self, data: pd.DataFrame) -> list[str]:
        names = [c.name for c in self.columns]
        first = list(self.params.visit_sequence or [])  # type: ignore[attr-defined]
        unknown = [n for n in first if n not in names]
        if unknown or len(set(first)) != len(first):
            raise ValueError(f"visit_sequence has unknown or repeated columns: {first}")
        # Low-cardinality columns first: their trees are cheap and they make good early splits.
        rest = sorted(
            (n for n in names if n not in first), key=lambda n: data[n].nunique(dropna=False)
        )
        return first + rest

    def fit(self, data: pd.DataFrame, progress: Callable[[int, int], Any] | None = None, *,
            grow_rows: np.ndarray | None = None) -> None:
        """``grow_rows`` (positions in ``data``, big tables): grow the trees on these rows only;
        with ``donors: all`` every row of ``data`` is then routed to its leaf as a donor (the
        trees' cost is n log n in the rows they are grown on, routing is linear), with
        ``donors: fitted`` the other rows are not used at all."""
        if grow_rows is not None and getattr(self.params, "donors", "fitted") == "fitted":
            data, grow_rows = data.iloc[grow_rows].reset_index(drop=True), None
        self._fit(data, progress, grow_rows)

    def _fit(self, data: pd.DataFrame, progress: Callable[[int, int], Any] | None,
             grow_rows: np.ndarray | None = None) -> None:
        p: CartParams = self.params  # type: ignore[assignment]
        if len(data) == 0:
            raise ValueError("cannot fit the cart model on an empty table")
        by_name = {c.name: c for c in self.columns}
        self._order = self._visit_order(data)
        x = np.empty((len(data), len(self._order)), np.float64)
        self._models = {}

        growing: np.ndarray | None = None
        if grow_rows is not None:
            growing = np.zeros(len(data), bool)
            growing[grow_rows] = True

        # categorical predictors (column -> number of codes) with more than two categories
        categories: dict[int, int] = {}
        numerical: set[int] = set()  # numerical predictors (visit positions)
        sentinels = np.full(len(self._order), math.nan)  # by visit position (:func:`_sentinel`)

        def build(j: int, rows: np.ndarray, y: np.ndarray, classify: bool, smooth: float, predictors: dict[int, int],
                  centre: bool, ordered: int | None, common: bool, grid: np.ndarray | None,
                  datetime: bool) -> tuple[_Tree, _Boosted | None]:
            """Tree ``j``; ``predictors``: its categorical predictors (column -> codes), taken
            when it was submitted (the main thread goes on adding later columns); ``ordered``: an
            ordered categorical column's number of non-null codes (:func:`_ordered_codes`);
            ``common``, ``datetime``: as in :meth:`_Tree.set_donors`; ``grid``: the column's
            values at ``rows``, whose units blurred values are rounded to."""
            xj = x[rows, :j].astype(np.float32)  # columns before j: filled before this is submitted
            if j == 0:
                tree = _Tree.single_leaf()
            else:
                on = slice(None) if growing is None else growing[rows]
                orders = {}
                if not classify or y.max(initial=0) <= 1:  # numerical or binary target
                    orders = {k: _target_order(xj[on, k], n, y[on]) for k, n in predictors.items()}
                probe = _Tree.single_leaf()
                probe.set_recode(orders)
                tree = _Tree.from_grown(grow_tree(probe.recoded(xj[on]), y[on], classify=classify,
                                                  min_samples_leaf=leaf, max_depth=p.max_depth))
                tree.set_recode(orders)
            boosted, scores = None, None
            if centre and j:
                if ordered is None:
                    scores = _scores(y)
                    boosted = _boost(xj, scores, predictors, self.seed + j)
                else:  # fitted on the rows holding a value (the null code is not ranked)
                    ranked = y < ordered
                    scores = np.zeros(len(y))
                    scores[ranked] = _scores(y[ranked])
                    boosted = _boost(xj[ranked], scores[ranked], predictors, self.seed + j)
            tree.ordered_codes = ordered if boosted is not None else None  # read only with a centre
            tree.set_donors(tree.route(xj), y.astype(np.float64), smooth, common=common, datetime=datetime,
                            grid=None if grid is None else _grid_codes(grid, datetime),
                            centre=None if boosted is None else (boosted.predict(xj), scores, boosted.widen))
            return tree, boosted

        grown_on = len(data) if grow_rows is None else len(grow_rows)
        leaf = p.min_samples_leaf if p.min_samples_leaf is not None else leaf_size(grown_on)
        everyone = np.arange(len(data))
        # A tree learns from the data's earlier columns, never from another tree: the trees are
        # grown side by side (numpy releases the GIL in most of the work) and deterministically,
        # so the model is the same on any number of threads.
        trees: dict[tuple[str, str], Future[tuple[_Tree, _Boosted | None]]] = {}
        with ThreadPoolExecutor(max_workers=_fit_threads()) as pool:

            def grow(key: tuple[str, str], j: int, rows: np.ndarray, y: np.ndarray, classify: bool, smooth: float,
                     centre: bool = False, ordered: int | None = None, common: bool = False,
                     grid: np.ndarray | None = None, datetime: bool = False) -> None:
                trees[key] = pool.submit(build, j, rows, y, classify, smooth, {k: n for k, n in categories.items() if k < j},
                                         centre, ordered, common, grid, datetime)

            for j, name in enumerate(self._order):
                col = data[name]
                if by_name[name].kind == "categorical":
                    vocab, y = _category_codes(col)
                    # Categories that spell numbers are ordered: like a continuous column, the
                    # column may take a centre (a bathroom count follows a house's grade).
                    ordered = _ordered_codes(vocab) if p.centre else None
                    grow((name, "value"), j, everyone, y, True, 0.0, centre=ordered is not None, ordered=ordered)
                    self._models[name] = _ColumnModel("categorical", vocab, 0.0, 0.0, None, None)
                    # Predictors see nulls as NaN (the trees learn which side missing values go to).
                    null_code = len(vocab) - 1 if vocab and vocab[-1] is None else -1
                    x[:, j] = np.where(y == null_code, np.nan, y)
                    if len(vocab) - (null_code >= 0) > 2:
                        categories[j] = len(vocab)
                    continue
                v = col.to_numpy(np.float64)
                null = np.isnan(v)
                if null.any():
                    grow((name, "null"), j, everyone, null.astype(np.int64), True, 0.0)
                nonnull = np.flatnonzero(~null)
                distinct = np.unique(v[nonnull]).size
                # neither blurred nor drawn off a line
                ordinal = distinct < _ORDINAL_LEVELS and distinct * _ORDINAL_ROWS_PER_VALUE <= nonnull.size
                smooth = 0.0 if ordinal else p.smoothing
                levels = not ordinal and _levels(distinct, nonnull.size)
                target, linear, gap = v[nonnull], None, None
                earlier = x[nonnull, :j] if null.any() else x[:, :j]  # at the rows holding a value
                kin = [k for k in range(j) if k in numerical and by_name[self._order[k]].datetime == by_name[name].datetime]
                sentinels[j] = _sentinel(v)
                lower, upper = (_Bound(), _Bound()) if ordinal else _bounds(earlier, target, kin, sentinels, sentinels[j])
                if p.linear and not ordinal:
                    linear = _linear_part(earlier, target, [k for k in range(j) if k in numerical])
                    # A datetime's bound close to as good as the line becomes the line: the value
                    # is drawn as its gap to the bound (a duration), never beyond it, with the
                    # real gaps' point masses (a last order on the day of the first). Numbers
                    # are not (a share of graduates is no fixed gap below the share of school
                    # leavers: corpus midwest's quality fell 0.036); their bounds only hold.
                    # A bound with exempt rows is no line (a sentinel is no gap away from anything).
                    bound = min((b for b in (lower, upper) if b.column >= 0 and not b.exempt),
                                key=lambda b: b.spread, default=_Bound())
                    if bound.spread <= _BOUND_GAP_SHARE and by_name[name].datetime and (
                            linear is None or np.var(target - linear.line(earlier)) >= 0.5 * bound.spread * np.var(target)):
                        linear = _Linear((bound.column,), 0.0, (1.0,), (float(np.mean(earlier[:, bound.column])),))
                        gaps = target - earlier[:, bound.column]
                        gap = (float(gaps.min()), float(gaps.max()))
                    if linear is not None:
                        target = target - linear.line(earlier)
                # A sentinel drawn off a line (this column's or its bound's) comes out only near
                # itself, not on it: rows meant to hold it would be mirrored far past the bound.
                lower, upper = (_Bound() if (b.exempt & _OWN and linear is not None) or (
                    b.exempt & _THEIRS and self._models[self._order[b.column]].linear is not None) else b
                                for b in (lower, upper))
                if nonnull.size:
                    # Blurred values keep their donors' heaps and grids, as round as the real
                    # ones (a residual from a line is not a value: its heaps are not kept).
                    grow((name, "value"), j, nonnull, target, False, smooth,
                         centre=p.centre and linear is None and not (ordinal or levels),
                         common=linear is None, grid=None if ordinal else v[nonnull],
                         datetime=by_name[name].datetime)
                lo, hi = (float(v[nonnull].min()), float(v[nonnull].max())) if nonnull.size else (0.0, 0.0)
                self._models[name] = _ColumnModel("numerical", [], lo, hi, None, None, linear, None, lower.column,
                                                  upper.column, gap, (lower.exempt, upper.exempt), sentinels[j])
                x[:, j] = v
                numerical.add(j)
            for j, name in enumerate(self._order):
                model = self._models[name]
                if (name, "value") in trees:
                    model.value_tree, model.centre = trees[(name, "value")].result()
                model.null_tree = trees[(name, "null")].result()[0] if (name, "null") in trees else None
                if progress is not None:
                    progress(j + 1, len(self._order))

    def sample(self, n: int, seed: int, given: pd.DataFrame | None = None) -> pd.DataFrame:
        """``given`` fixes some columns (one row per synthetic row, ``n == len(given)``); they
        must come first in the visit order (``visit_sequence``), so every other column's trees
        condition on them. Unseen categories and nulls route as missing values."""
        if not self._models:
            raise RuntimeError("the cart model has not been fitted")
        fixed = list(given.columns) if given is not None else []
        if set(self._order[: len(fixed)]) != set(fixed):
            raise ValueError(f"given columns {fixed} are not the first of the visit order {self._order[: len(fixed)]}")
        if given is not None and len(given) != n:
            raise ValueError(f"given has {len(given)} rows, asked for {n}")
        rng = np.random.default_rng(seed)
        x = np.empty((n, len(self._order)), np.float32)
        out: dict[str, np.ndarray] = {}
        whole = {c.name for c in self.columns if c.integer}
        for j, name in enumerate(self._order):
            m = self._models[name]
            xj = x[:, :j]
            if name in fixed:
                assert given is not None
                out[name], x[:, j] = self._given_column(m, given[name])
            elif m.kind == "categorical":
                assert m.value_tree is not None
                codes = m.value_tree.draw(xj, rng, m.centre).astype(np.int64)
                out[name] = np.array(m.vocab, dtype=object)[codes]
                null_code = len(m.vocab) - 1 if m.vocab and m.vocab[-1] is None else -1
                x[:, j] = np.where(codes == null_code, np.nan, codes)
            else:
                values = np.full(n, np.nan)
                if m.value_tree is not None:
                    line = None if m.linear is None else m.linear.line_of([out[self._order[k]] for k in m.linear.columns])
                    v = m.value_tree.draw(xj, rng, m.centre, line, m.gap)
                    if m.linear is None:
                        # Reflect kernel noise at the observed range so edges keep their density.
                        # (np.where, not lo + |v - lo|, so unsmoothed donors stay bit-exact.)
                        v = np.where(v < m.lo, 2 * m.lo - v, v)
                        values = np.clip(np.where(v > m.hi, 2 * m.hi - v, v), m.lo, m.hi)
                    else:
                        # At the drawn values (float64, not their float32 copies). Not reflected
                        # at the observed range, which would break the line (parts drawn near
                        # their largest values add up to a total above the largest real one);
                        # only cut a range's width beyond it, and at 0 for a column never negative.
                        values = _line_range(v, m.lo, m.hi)
                    if name in whole:
                        # Whole numbers as they will be published, here: later columns then see,
                        # and lines add up, the values a reader gets (above + basement = living).
                        values = np.round(values)
                    if m.lower >= 0 or m.upper >= 0:
                        values = self._bounded(m, values, out, name in whole)
                if m.null_tree is not None:
                    values[m.null_tree.draw(xj, rng) > 0.5] = np.nan
                out[name] = values
                x[:, j] = values
        return pd.DataFrame({c.name: out[c.name] for c in self.columns}, index=pd.RangeIndex(n))

    def _bounded(self, m: _ColumnModel, values: np.ndarray, out: dict[str, np.ndarray], whole: bool) -> np.ndarray:
        """A column's drawn ``values`` within its bounds (:func:`_within`) at the drawn rows
        ``out``, rows holding a sentinel exempt from a bound that exempts them."""
        own = values == m.sentinel  # all False without one (NaN)

        def bound(k: int, exempt: int) -> np.ndarray | None:
            if k < 0:
                return None
            at = out[self._order[k]]
            if not exempt:
                return at
            free = own if exempt & _OWN else np.zeros(len(at), bool)
            if exempt & _THEIRS:
                free = free | (at == self._models[self._order[k]].sentinel)
            return np.where(free, np.nan, at) if free.any() else at

        return _within(values, bound(m.lower, m.exempt[0]), bound(m.upper, m.exempt[1]), m.lo, m.hi, whole)

    @staticmethod
    def _given_column(m: _ColumnModel, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """The given values as output, and as the predictors the trees were grown on."""
        if m.kind == "categorical":
            # Keyed as the vocabulary's identity (type and text), not its order: no number parsing per row.
            code_of = {(type(v).__name__, str(v)): i for i, v in enumerate(m.vocab) if v is not None}
            raw = values.to_numpy(dtype=object)
            cleaned = (None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else _clean_category(v)
                       for v in raw)
            codes = np.array([np.nan if c is None else code_of.get((type(c).__name__, str(c)), np.nan) for c in cleaned],
                             np.float64)
            return raw, codes
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
        return numbers, numbers

    def save(self, directory: Path) -> None:
        arrays: dict[str, np.ndarray] = {}
        meta: dict[str, Any] = {"format": _FORMAT, "order": self._order, "columns": {}}
        for i, name in enumerate(self._order):
            m = self._models[name]
            entry: dict[str, Any] = {"kind": m.kind, "vocab": m.vocab, "lo": m.lo, "hi": m.hi,
                                     "linear": None if m.linear is None else asdict(m.linear), "centre": None}
            for role, tree in (("null_tree", m.null_tree), ("value_tree", m.value_tree)):
                key = None
                if tree is not None:
                    key = f"t{i}{role[0]}"
                    arrays.update({f"{key}_{f.name}": getattr(tree, f.name) for f in fields(_Tree)})
                entry[role] = key
            if m.kind == "categorical" and m.centre is not None:
                entry["ordered"] = m.value_tree.ordered_codes if m.value_tree is not None else None
            if m.centre is not None:
                key = f"c{i}"
                arrays.update({f"{key}_{f.name}": getattr(m.centre, f.name) for f in fields(_Boosted)
                               if f.name not in ("base", "widen")})
                entry["centre"] = {"key": key, "base": m.centre.base, "widen": m.centre.widen}
            if m.lower >= 0 or m.upper >= 0:
                entry.update(lower=m.lower, upper=m.upper, gap=None if m.gap is None else list(m.gap))
                if any(m.exempt):
                    entry["exempt"] = list(m.exempt)
            if not math.isnan(m.sentinel):
                entry["sentinel"] = m.sentinel
            meta["columns"][name] = entry
        _write_npz(Path(directory) / "trees.npz", arrays)
        (Path(directory) / "model.json").write_text(json.dumps(meta, indent=1, sort_keys=True))

    @classmethod
    def load(
        cls, directory: Path, columns: list[ModelColumn], params: ModelParams, seed: int
    ) -> CartSynthesizer:
        meta = json.loads((Path(directory) / "model.json").read_text())
        if meta.get("format") not in (2, 3, 4, 5, 6, 7, _FORMAT):  # format 2's one-column lines read as such
            raise ValueError(f"unsupported cart model format: {meta.get('format')!r}")
        model = cls(columns, params, seed)
        model._order = list(meta["order"])
        with np.load(Path(directory) / "trees.npz", allow_pickle=False) as npz:

            def tree(key: str | None) -> _Tree | None:
                if key is None:
                    return None
                # Formats before 4 have no residual spreads (no centres), before 6 no grids (blurred
                # values are not rounded); any other array is required.
                optional = ({"residual_sd"} if meta["format"] < 4 else set()) | ({"grid"} if meta["format"] < 6 else set())
                return _Tree(**{f.name: npz[f"{key}_{f.name}"] for f in fields(_Tree)
                                if f.name not in optional or f"{key}_{f.name}" in npz})

            def centre(entry: dict[str, Any] | None) -> _Boosted | None:
                if entry is None:
                    return None
                key = entry["key"]
                return _Boosted(base=float(entry["base"]), widen=float(entry["widen"]),
                                **{f.name: npz[f"{key}_{f.name}"] for f in fields(_Boosted) if f.name not in ("base", "widen")})

            for name, e in meta["columns"].items():
                model._models[name] = m = _ColumnModel(
                    e["kind"],
                    e["vocab"],
                    e["lo"],
                    e["hi"],
                    tree(e["null_tree"]),
                    tree(e["value_tree"]),
                    None if e["linear"] is None else _Linear.from_saved(e["linear"]),
                    centre(e.get("centre")),
                    int(e.get("lower", -1)),
                    int(e.get("upper", -1)),
                    None if e.get("gap") is None else (float(e["gap"][0]), float(e["gap"][1])),
                    tuple(_exemption(v) for v in e.get("exempt", (0, 0))),  # type: ignore[arg-type]
                    float(e.get("sentinel", math.nan)),
                )
                if m.kind == "categorical" and m.centre is not None:
                    # Saved with the model: the codes it ranks, all but the null code.
                    ordered = e.get("ordered")
                    if m.value_tree is None or not isinstance(ordered, int) or not 0 < ordered <= len(m.vocab):
                        raise ValueError(f"cart model: categorical column {name!r} has a centre but no valid ordered codes")
                    m.value_tree.ordered_codes = ordered
        return model


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez`` but byte-reproducible (fixed timestamps), so artifact hashes are stable."""
    # compresslevel 1: a third of level 6's time (~25 ms vs ~75 ms for Adult's 6 MB of trees)
    # for a file ~25% larger.
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for key in sorted(arrays):
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            zf.writestr(zipfile.ZipInfo(f"{key}.npy", date_time=_NPZ_DATE), buf.getvalue(),
                        compress_type=zipfile.ZIP_DEFLATED, compresslevel=1)  # fmt: skip
