"""Conditional draws for models that cannot condition: matching to a pool of joint rows.

A child table's rows are drawn given their parent's attributes (``Synthesizer.supports_given``,
see ``engine.relational``). cart conditions natively. A model that only learns a joint
distribution (SDV's Gaussian copula, CTGAN, TVAE) is fitted on the given columns and its own
together, and a conditional draw is then

1. a pool of ``POOL_FACTOR`` times as many joint rows as asked for, sampled from the model;
2. each given row matched to a pool row whose given columns are among the closest, each pool
   row used at most once, greedily in a seeded random order of the given rows (Gower-style
   distance: numbers scaled by the given values' range and clipped at 1, categories and nulls
   0 when equal, 1 otherwise);
3. the matched pool rows' own columns, with the given values in place of the pool's.

A pool row's own columns follow the model's joint distribution given pool context close to the
row's context, so a child keeps what the model learnt of its dependence on its parent (a line's
price and its product's list price) instead of being drawn independently of it. Matching
without replacement keeps the child columns' marginal: a context shared by many given rows
(a category) takes as many distinct pool rows. Work is bounded by matching in blocks: the given
rows (shuffled) in blocks of ``BLOCK``, each against its own block of ``POOL_FACTOR * BLOCK``
pool rows, so the cost grows linearly with the rows drawn; a model draws at most ``PIECE`` rows
given their parents at once, each piece from a pool of its own, so memory does not grow with
the rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

#: Pool rows drawn per row asked for.
POOL_FACTOR = 4
#: Given rows matched together (against ``POOL_FACTOR`` times as many pool rows).
BLOCK = 1024
#: Rows a model draws given their parents in one go (one pool of ``POOL_FACTOR`` times as many
#: joint rows): a bigger child is drawn in pieces, each with a pool of its own.
PIECE = 64 * BLOCK


def draw_given(given: pd.DataFrame, draw: Callable[[int, int], pd.DataFrame], kinds: Mapping[str, str],
               seed: int) -> pd.DataFrame:
    """A model's rows given ``given`` (its first columns' values, one row per row drawn):
    ``draw(rows, seed)`` samples the model's joint rows. In pieces of at most ``PIECE`` rows,
    each matched (:func:`conditional`) to a pool of its own seeded by the seed and the piece's
    index: memory holds one piece's pool, whatever the rows."""
    pieces = []
    for index, start in enumerate(range(0, max(len(given), 1), PIECE)):
        piece = given.iloc[start:start + PIECE].reset_index(drop=True)
        piece_seed = int(np.random.SeedSequence([seed, index]).generate_state(1)[0])
        pieces.append(conditional(piece, draw(POOL_FACTOR * len(piece), piece_seed), kinds, piece_seed))
    return pieces[0] if len(pieces) == 1 else pd.concat(pieces, ignore_index=True)


def conditional(given: pd.DataFrame, pool: pd.DataFrame, kinds: Mapping[str, str], seed: int) -> pd.DataFrame:
    """Rows of ``pool`` (a model's joint draw holding the given columns and its own, at least as
    many rows as ``given``) matched to ``given``'s rows, with ``given``'s values in its columns,
    in ``given``'s order. ``kinds``: ``numerical``/``categorical`` of the columns (at least the
    given ones; others by their dtype)."""
    if len(pool) < len(given):
        raise ValueError(f"a pool of {len(pool)} rows cannot match {len(given)} given rows")
    if not len(given):
        out = pool.iloc[:0].reset_index(drop=True)
        for name in given.columns:
            out[name] = given[name].reset_index(drop=True)
        return out
    own = [c for c in pool.columns if c not in given.columns]
    weights = relevance(pool, list(given.columns), own, kinds)
    picks = match(given, pool[list(given.columns)], kinds, np.random.default_rng([seed, 0x3A7C]), weights)
    out = pool.iloc[picks].reset_index(drop=True)
    for name in given.columns:
        out[name] = given[name].reset_index(drop=True)
    return out


#: Weight of a given column that says nothing of the model's own columns (it still breaks ties).
MIN_WEIGHT = 0.05


def relevance(pool: pd.DataFrame, given: list[str], own: list[str], kinds: Mapping[str, str]) -> dict[str, float]:
    """Each given column's weight in the matching distance: its strongest association in the
    pool with one of the model's own columns (|Pearson| between numbers, the correlation ratio
    between a category and a number, Cramér's V between categories), at least ``MIN_WEIGHT``.
    A parent attribute the child's columns depend on (a product's list price for a line's
    price) then counts more than one they ignore (the order's shipping fee)."""
    def numerical(c: str) -> bool:  # columns without a kind: by their dtype
        if c in kinds:
            return kinds[c] == "numerical"
        return pd.api.types.is_numeric_dtype(pool[c]) and not pd.api.types.is_bool_dtype(pool[c])

    codes = {c: pd.factorize(pool[c].to_numpy(dtype=object), use_na_sentinel=False)[0]
             for c in [*given, *own] if not numerical(c)}
    numbers = {c: pd.to_numeric(pool[c], errors="coerce").to_numpy(np.float64, na_value=np.nan)
               for c in [*given, *own] if c not in codes}
    weights = {}
    for g in given:
        best = 0.0
        for y in own:
            value = _association(numbers.get(g), codes.get(g), numbers.get(y), codes.get(y))
            best = max(best, value if np.isfinite(value) else 0.0)
        weights[g] = max(MIN_WEIGHT, min(1.0, best))
    return weights


def _association(x_num: np.ndarray | None, x_codes: np.ndarray | None, y_num: np.ndarray | None,
                 y_codes: np.ndarray | None) -> float:
    if x_num is not None and y_num is not None:
        keep = ~(np.isnan(x_num) | np.isnan(y_num))
        if keep.sum() < 3 or np.std(x_num[keep]) == 0 or np.std(y_num[keep]) == 0:
            return 0.0
        return abs(float(np.corrcoef(x_num[keep], y_num[keep])[0, 1]))
    if x_codes is not None and y_codes is not None:  # Cramér's V, as the quality report computes it
        from synthspec.metrics.fidelity import _cramers_v

        width = int(y_codes.max(initial=-1)) + 1
        cells, counts = np.unique(x_codes.astype(np.int64) * width + y_codes, return_counts=True)
        return _cramers_v(cells // max(width, 1), cells % max(width, 1), counts, int(x_codes.max(initial=-1)) + 1, width)
    codes, values = (x_codes, y_num) if x_codes is not None else (y_codes, x_num)
    assert codes is not None and values is not None
    keep = ~np.isnan(values)
    codes, values = codes[keep], values[keep]
    if values.size < 3 or np.var(values) == 0:
        return 0.0
    counts = np.bincount(codes)
    means = np.bincount(codes, weights=values) / np.maximum(counts, 1)
    between = float((counts * (means - values.mean()) ** 2).sum())
    return float(np.sqrt(between / (values.size * np.var(values))))


def match(given: pd.DataFrame, pool: pd.DataFrame, kinds: Mapping[str, str], rng: np.random.Generator,
          weights: Mapping[str, float] | None = None) -> np.ndarray:
    """For each row of ``given``, the position of a distinct ``pool`` row close to it on the
    shared columns (see the module docstring; ``weights``: each column's weight in the
    distance, 1 by default); deterministic given ``rng``'s state."""
    n, m = len(given), len(pool)
    if n == 0:
        return np.zeros(0, np.int64)
    features_given, features_pool, how = _features(given, pool, kinds)
    scale = [float((weights or {}).get(name, 1.0)) for name in given.columns]
    order = rng.permutation(n)
    pool_order = rng.permutation(m)
    blocks = max(1, -(-n // BLOCK))
    given_blocks = np.array_split(order, blocks)
    pool_blocks = np.array_split(pool_order, blocks)
    out = np.empty(n, np.int64)
    for rows, candidates in zip(given_blocks, pool_blocks, strict=True):
        distance = _distances(features_given, features_pool, how, scale, rows, candidates)
        out[rows] = candidates[_greedy(distance)]
    return out


def _features(given: pd.DataFrame, pool: pd.DataFrame, kinds: Mapping[str, str]) -> tuple[list[np.ndarray], list[np.ndarray], list[str]]:
    """Per given column: scaled numbers (NaN for nulls) or shared integer codes (-1 for nulls)."""
    left, right, how = [], [], []
    for name in given.columns:
        if kinds.get(name) == "numerical":
            a = pd.to_numeric(given[name], errors="coerce").to_numpy(np.float64, na_value=np.nan)
            b = pd.to_numeric(pool[name], errors="coerce").to_numpy(np.float64, na_value=np.nan)
            present = a[~np.isnan(a)]
            span = float(present.max() - present.min()) if present.size else 0.0
            scale = span if span > 0 else 1.0
            left.append(a / scale)
            right.append(b / scale)
            how.append("numerical")
        else:
            codes, _ = pd.factorize(np.concatenate([given[name].to_numpy(dtype=object), pool[name].to_numpy(dtype=object)]),
                                    use_na_sentinel=True)
            left.append(codes[: len(given)].astype(np.int64))
            right.append(codes[len(given):].astype(np.int64))
            how.append("categorical")
    return left, right, how


def _distances(left: list[np.ndarray], right: list[np.ndarray], how: list[str], scale: list[float],
               rows: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Weighted sums of column distances between the ``rows`` of the given features and the
    ``candidates`` of the pool's (float32, rows x candidates)."""
    total = np.zeros((len(rows), len(candidates)), np.float32)
    for a_all, b_all, kind, weight in zip(left, right, how, scale, strict=True):
        a, b = a_all[rows][:, None], b_all[candidates][None, :]
        if kind == "numerical":
            with np.errstate(invalid="ignore"):
                d = np.minimum(np.abs(a - b), 1.0)
            both, one = np.isnan(a) & np.isnan(b), np.isnan(a) ^ np.isnan(b)
            d = np.where(both, 0.0, np.where(one, 1.0, d))
        else:
            d = a != b
        total += np.float32(weight) * d.astype(np.float32, copy=False)
    return total


def _greedy(distance: np.ndarray) -> np.ndarray:
    """Row by row (in the order given), the closest column not taken yet; first column on ties
    (the columns are in a seeded random order)."""
    distance = distance.copy()
    out = np.empty(distance.shape[0], np.int64)
    for i in range(distance.shape[0]):
        j = int(np.argmin(distance[i]))
        out[i] = j
        distance[:, j] = np.inf
    return out


__all__ = ["BLOCK", "MIN_WEIGHT", "PIECE", "POOL_FACTOR", "conditional", "draw_given", "match", "relevance"]
