"""Cross-column agreement: where the real data has a functional dependency between two modelled
categorical columns (every city lies in one country, every product code has one category),
the synthetic rows keep it exactly.

A model learns such dependencies only approximately: CART conditions on a few leaves, a copula
on correlations, so a frequent city can come out with the wrong country (seen: 14% of
city/country pairs existing in the real data). After sampling, each dependent column is set
from its determinant through the real mapping, whatever model drew the row.

What is learnt is only the mapping between values that are published anyway: the training
frame has already been through rare-value protection, so every value of a determinant is
held by several real rows (the protected token, which stands for many values, is never a
determinant value: rows holding it keep what the model drew). A differentially private model
is left alone: the mapping is read from the data, outside its budget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: A determinant must repeat: at most this share of its non-null training values distinct
#: (a near-unique column determines everything, trivially, and says nothing).
MAX_DISTINCT_SHARE = 0.5


@dataclass(frozen=True)
class Dependency:
    """``dependent`` is a function of ``determinant`` in the training rows: ``mapping``."""

    determinant: str
    dependent: str
    mapping: dict[object, object]


def learn(train: pd.DataFrame, columns: list[str], protected: pd.DataFrame | None = None,
          token: str | None = None) -> list[Dependency]:
    """The functional dependencies among ``columns`` (categorical, in the model's encoding) of
    the training rows: for each dependent column, its most specific determinant (the one with
    the most distinct values), in an order where a column is set before anything derived from
    it. Nulls count as a value.

    ``protected`` is the same rows after rare-value protection (default: ``train`` itself). Only
    rows whose determinant value survived it unchanged are evidence: a rare value replaced by
    the token or by a frequent value says nothing about its row's other columns. A value that
    survived is held by enough rows that what it determines does too."""
    protected = train if protected is None else protected
    present = [c for c in columns if c in train.columns]
    return learn_columns(present, lambda c: train[c], lambda c: protected[c], token)


def learn_columns(columns: list[str], before: Callable[[str], pd.Series], after: Callable[[str], pd.Series],
                  token: str | None = None) -> list[Dependency]:
    """:func:`learn` over columns fetched one at a time: ``before(c)`` gives column ``c`` of the
    training rows, ``after(c)`` the same rows after protection. Each column is coded and its
    values let go before the next is fetched, so on a big table memory holds the columns'
    integer codes (a byte or two a cell) instead of two frames of objects (16 bytes a cell)."""
    present = list(columns)
    # Each column's values before and after protection factorised together, once: every test
    # below compares integer codes (on a million rows, comparing the objects themselves cost
    # seconds). ``codes``: the training values with null as a code of its own.
    distinct: dict[str, int] = {}
    evidence: dict[str, np.ndarray] = {}
    codes: dict[str, np.ndarray] = {}
    values: dict[str, np.ndarray] = {}
    for c in present:
        raw, kept, token_code, values[c] = _joint_codes(before(c), after(c), token)
        n_values = int(max(raw.max(initial=-1), kept.max(initial=-1))) + 1
        survivor = kept >= 0
        if token_code is not None:
            survivor &= kept != token_code
        distinct[c] = int(np.count_nonzero(np.bincount(kept[survivor], minlength=n_values)))
        evidence[c] = survivor & (kept == raw)
        codes[c] = np.where(raw < 0, n_values, raw).astype(np.min_scalar_type(n_values), copy=False)
        del raw, kept, survivor
    candidates: list[tuple[int, str, str]] = []
    for a in present:
        keep = evidence[a]
        rows = int(keep.sum())
        if rows < 2 or distinct[a] < 2 or distinct[a] > MAX_DISTINCT_SHARE * rows:
            continue
        a_codes = codes[a][keep].astype(np.int64)
        groups = _distinct(a_codes)
        for b in present:
            if b == a or distinct[b] < 2:
                continue
            b_codes = codes[b][keep].astype(np.int64)
            if _distinct(a_codes * (int(b_codes.max()) + 1) + b_codes) == groups:  # one b per a
                candidates.append((distinct[a], a, b))
    chosen: dict[str, str] = {}
    for _, a, b in sorted(candidates, key=lambda c: (-c[0], c[1], c[2])):
        # one determinant per column; never both directions of a one-to-one pair (a cycle)
        if b not in chosen and chosen.get(a) != b and not _derives(chosen, a, b):
            chosen[b] = a
    out = []
    for b in _order(chosen):
        a = chosen[b]
        a_codes, b_codes = codes[a][evidence[a]], codes[b][evidence[a]]
        first = np.sort(np.unique(a_codes, return_index=True)[1])  # each determinant value's first row
        mapping = {_value(values[a], a_codes[i]): _value(values[b], b_codes[i]) for i in first}
        out.append(Dependency(a, b, mapping))
    return out


def _value(uniques: np.ndarray, code: int) -> object:
    """The value of ``code`` among a column's ``uniques`` (beyond them: the null code)."""
    return uniques[int(code)] if int(code) < len(uniques) else None


def _joint_codes(before: pd.Series, after: pd.Series, token: object) -> tuple[np.ndarray, np.ndarray, int | None, np.ndarray]:
    """Integer codes of two aligned columns over their pooled values (-1: null), so equal
    values, in either column, have equal codes; the code of ``token`` (None: absent); and the
    value of each code."""
    pooled, uniques = pd.factorize(np.concatenate([before.to_numpy(dtype=object), after.to_numpy(dtype=object)]),
                                   use_na_sentinel=True)
    pooled = pooled.astype(np.int64, copy=False)
    found = [i for i, value in enumerate(uniques) if token is not None and isinstance(value, str) and value == token]
    return pooled[: len(before)], pooled[len(before):], (found[0] if found else None), np.asarray(uniques, dtype=object)


#: Codes below this are counted with a bincount (linear) rather than a sort.
_BINCOUNT_LIMIT = 1 << 24


def _distinct(codes: np.ndarray) -> int:
    """How many distinct non-negative integer codes: a bincount when they are small (pairs of
    category codes on big tables: linear, where a sort is n log n), else ``np.unique``."""
    if codes.size and int(codes.max()) < _BINCOUNT_LIMIT:
        return int(np.count_nonzero(np.bincount(codes)))
    return int(np.unique(codes).size)


def _derives(chosen: dict[str, str], start: str, target: str) -> bool:
    """Whether ``start`` is (transitively) set from ``target`` already: adding target <- start
    would close a cycle."""
    seen, column = set(), start
    while column in chosen and column not in seen:
        seen.add(column)
        column = chosen[column]
        if column == target:
            return True
    return False


def _order(chosen: dict[str, str]) -> list[str]:
    """Dependent columns, each after the column it is set from."""
    done: list[str] = []

    def visit(b: str) -> None:
        if b in done:
            return
        if chosen[b] in chosen:
            visit(chosen[b])
        done.append(b)

    for b in sorted(chosen):
        visit(b)
    return done


def enforce(frame: pd.DataFrame, dependencies: list[Dependency]) -> pd.DataFrame:
    """``frame`` (a model's sampled frame) with every dependent value set from its determinant
    where the determinant holds a value of the mapping; other rows keep what was drawn."""
    if not dependencies:
        return frame
    frame = frame.copy()
    for dep in dependencies:
        if dep.determinant not in frame.columns or dep.dependent not in frame.columns:
            continue
        known = frame[dep.determinant].isin(list(dep.mapping))
        if known.any():
            values = frame[dep.dependent].astype(object).copy()
            values[known] = frame.loc[known, dep.determinant].map(dep.mapping)
            frame[dep.dependent] = values
    return frame
