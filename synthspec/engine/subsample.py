"""Which training rows a model is fitted on, for big sources.

Fitting cost grows with the rows (CART's trees at n log n, a copula's transforms linearly), while
what a model learns stops improving long before a million rows: above ``max_training_rows`` (see
``ModelSpec``) the model is fitted on a seeded subsample of the training split. The split itself
is untouched: the holdout stays the holdout, and every training row, fitted on or not, is a
training row for the privacy metrics (DCR, exact matches) and the donors of the policies, so the
checks measure the same thing with or without a subsample.

The subsample is a uniform sample (each row's place in it drawn from the spec's seed) plus, for a
model that is not differentially private, the rows that keep the data's support: up to
``COVER_ROWS`` rows of every categorical value (and of nulls in every column), and the rows holding
each numerical column's minimum and maximum, so no value or range the model could learn from the
full split is lost. It can therefore exceed the cap by a little (at most ``COVER_ROWS`` rows per
distinct value). A differentially private model takes only the uniform part: choosing rows by
their values would be a use of the data outside its budget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthspec.spec.models import DEFAULT_MAX_TRAINING_ROWS

if TYPE_CHECKING:
    # numpy and pandas load on first use: `plan` imports this module for ``training_cap``.
    import numpy as np
    import pandas as pd

#: Rows kept of every categorical value and of the nulls of every column, when the uniform sample
#: holds fewer (a value held by fewer training rows keeps them all).
COVER_ROWS = 10
#: Mixed into the seed, so the subsample's stream is not the split's or the model's.
_STREAM = 0x5AB5A


def training_cap(max_training_rows: int | None, *, private: bool) -> int | None:
    """The effective cap on the rows a model is fitted on (None: every training row)."""
    if max_training_rows is None:
        return None if private else DEFAULT_MAX_TRAINING_ROWS
    return max_training_rows or None


def subsample_applies(cap: int | None, rows: int) -> bool:
    """Whether ``rows`` training rows are more than the cap (a table at or below it is fitted on
    every training row, exactly as without one)."""
    return cap is not None and rows > cap


def training_rows(frame: pd.DataFrame, kinds: dict[str, str], cap: int, seed: int, *, stratify: bool) -> np.ndarray:
    """Sorted positions of the rows of ``frame`` (the model's encoding of the training split) to
    fit on: ``cap`` rows drawn uniformly with ``seed``, plus (``stratify``) the rows that keep
    every categorical value, every column's nulls and every numerical extreme represented."""
    import numpy as np
    import pandas as pd

    n = len(frame)
    if n <= cap:
        return np.arange(n, dtype=np.int64)
    order = np.random.default_rng([seed, _STREAM]).permutation(n)
    chosen = np.zeros(n, bool)
    chosen[order[:cap]] = True
    if stratify:
        for name, kind in kinds.items():
            if name not in frame.columns:
                continue
            column = frame[name]
            if kind == "categorical":
                codes = pd.factorize(column, use_na_sentinel=False)[0]
            else:
                values = column.to_numpy(dtype="float64")
                codes = np.isnan(values).astype(np.int64)
                if not codes.all():
                    chosen[[np.nanargmin(values), np.nanargmax(values)]] = True
            chosen[_first_of_each(codes, order)] = True
    return np.flatnonzero(chosen).astype(np.int64)


def _first_of_each(codes: np.ndarray, order: np.ndarray) -> np.ndarray:
    """The first ``COVER_ROWS`` rows of each code, in the random ``order``."""
    import pandas as pd

    in_order = codes[order]
    rank = pd.Series(in_order).groupby(in_order, sort=False).cumcount().to_numpy()
    return order[rank < COVER_ROWS]
