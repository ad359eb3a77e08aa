"""Categories held as codes: the compact form of a text or boolean column in the engine's frames.

An object column holds an 8-byte pointer per cell; a pandas ``Categorical`` holds a 1- to
4-byte code per cell and each distinct value once. The source frame's text columns (when read
through Arrow) and the model frame's categorical columns are held this way.

Two properties keep every consumer's results what they are on the object column, so that the
compact form changes memory, not rows or metric values:

- the categories are ``object`` values (a boolean stays a Python ``bool``): pandas hashes a
  category the way it hashes the same object in an object column, so content hashes and
  row orders built on them are unchanged;
- the categories are sorted (when the values can be compared; else in order of first
  appearance, as pandas does), so what follows the categories' order (sorting, ``value_counts``
  ties, ``groupby``) follows the values' order.

A null is code ``-1``: ``to_numpy(dtype=object)`` gives NaN for it, not None; ask for
``na_value=None`` where None matters.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by modules the start-up path loads: numpy and pandas only when used
    import numpy as np
    import pandas as pd


def from_codes(codes: np.ndarray, uniques: np.ndarray) -> pd.Categorical:
    """The categorical of ``uniques[codes]`` (``-1``: null), ``uniques`` distinct and non-null."""
    import numpy as np
    import pandas as pd

    uniques = np.asarray(uniques, dtype=object)
    try:
        order = np.argsort(uniques, kind="stable")
    except TypeError:  # values of kinds that do not compare (str and bool): first appearance
        order = np.arange(len(uniques))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    codes = np.asarray(codes)
    sorted_codes = np.where(codes >= 0, rank[np.where(codes >= 0, codes, 0)] if len(rank) else -1, -1)
    return pd.Categorical.from_codes(sorted_codes, categories=pd.Index(uniques[order], dtype=object))


def compact(values: np.ndarray) -> pd.Categorical:
    """An object array of categories (None or NaN for null) as codes."""
    import pandas as pd

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return from_codes(codes, uniques)


def objects(values: pd.Series) -> pd.Series:
    """A compact column as the object column it stands for (None for nulls); any other column
    as it is. For code that reads cells one by one or tells nulls by ``is None``."""
    import pandas as pd

    if isinstance(values.dtype, pd.CategoricalDtype):
        return pd.Series(values.to_numpy(dtype=object, na_value=None), index=values.index, name=values.name, dtype=object)
    return values


def object_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every compact column as objects (see :func:`objects`)."""
    import pandas as pd

    compacted = [name for name in frame.columns if isinstance(frame[name].dtype, pd.CategoricalDtype)]
    if not compacted:
        return frame
    out = frame.copy(deep=False)  # not ``assign``: a column may be named like its parameters
    for name in compacted:
        out[name] = objects(frame[name])
    return out
