"""The compact forms of the engine's frames: categories held as codes, and numbers held as
float32 where that is exact.

Numbers (:func:`narrow`, :func:`widened`): the real table's encoding (the model frame of every
source row, held for the whole run) holds a numerical column as float32 when float32 holds each
of its values exactly (integers up to 2^24 in magnitude, values read from a REAL column unless generalized, short
binary fractions; NaN for nulls), else as float64. Models and metrics are handed float64
columns (``widened``, where the engine takes rows out of the encoding for them), the same
numbers as before, so results do not change; only the memory held does (4 bytes a cell, not 8).

Categories:

An object column holds an 8-byte pointer per cell; a pandas ``Categorical`` holds a code per
cell (int8 below 127 distinct values, int16 below 32,767, else int32) and each distinct value
once, in an index whose hash table costs some 50 bytes a value. So a column is held as codes
when it has at most one distinct value per :data:`ROWS_PER_VALUE` rows (where that saves
memory), and as objects otherwise (identifiers, names, e-mails: nearly one value a row). The
source frame's text columns (when read through Arrow) and the model frame's categorical
columns follow this rule.

Two properties keep every consumer's results what they are on the object column, so that the
compact form changes memory, not rows or metric values:

- the categories are ``object`` values (a boolean stays a Python ``bool``): pandas hashes a
  category the way it hashes the same object in an object column, so content hashes and
  row orders built on them are unchanged;
- the categories are sorted (when the values can be compared; else in order of first
  appearance, as pandas does), so sorting by a column follows the values' order.

What differs, and is handled where it matters: a null is code ``-1``, and
``to_numpy(dtype=object)`` gives NaN for it, not None (:func:`objects` gives None);
``value_counts`` lists values held by no row (count 0) and breaks ties by the categories'
order, not by first appearance; ``unique`` returns a Categorical (:func:`distinct` gives the
values held).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by modules the start-up path loads: numpy and pandas only when used
    import numpy as np
    import pandas as pd

#: A column is held as codes when it has at most one distinct value per this many rows.
ROWS_PER_VALUE = 16


def held(codes: np.ndarray, uniques: np.ndarray) -> pd.Categorical | np.ndarray:
    """The column ``uniques[codes]`` (``-1``: null; ``uniques`` distinct and non-null) as codes
    (:func:`from_codes`) when it has few distinct values for its rows, else as objects (None
    for null)."""
    import numpy as np

    if len(uniques) * ROWS_PER_VALUE > len(codes):
        return np.append(np.asarray(uniques, dtype=object), None)[codes]
    return from_codes(codes, uniques)


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
    return pd.Categorical.from_codes(recode(np.asarray(codes), rank), categories=pd.Index(uniques[order], dtype=object))


def recode(codes: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[codes]``, with null (``-1``) staying ``-1``."""
    import numpy as np

    return np.where(codes >= 0, table[np.maximum(codes, 0)], -1) if len(table) else codes


def compact(values: np.ndarray) -> pd.Categorical | np.ndarray:
    """An object array of categories (None or NaN for null) as :func:`held` holds it."""
    import pandas as pd

    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return held(codes, uniques)


def objects(values: pd.Series) -> pd.Series:
    """A compact column as the object column it stands for (None for nulls); any other column
    as it is. For code that reads cells one by one or tells nulls by ``is None``."""
    import pandas as pd

    if isinstance(values.dtype, pd.CategoricalDtype):
        return pd.Series(values.to_numpy(dtype=object, na_value=None), index=values.index, name=values.name, dtype=object)
    return values


def distinct(values: pd.Series) -> pd.Series:
    """The values of a column that matter only once each: a compact column's values held by
    at least one row (its categories, without copying every cell), any other column as it is."""
    import numpy as np
    import pandas as pd

    if not isinstance(values.dtype, pd.CategoricalDtype):
        return values
    codes = values.cat.codes.to_numpy()
    present = np.bincount(codes[codes >= 0], minlength=len(values.cat.categories)) > 0
    return pd.Series(values.cat.categories.to_numpy(dtype=object)[present], name=values.name, dtype=object)


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


def narrow(values: np.ndarray) -> np.ndarray:
    """A float64 array as float32 when float32 holds every value exactly (NaN, ±infinity and
    -0.0 included), else unchanged."""
    import numpy as np

    if values.dtype != np.float64:
        return values
    with np.errstate(over="ignore"):  # beyond float32's range: infinity, which is not equal
        small = values.astype(np.float32)
    return small if np.array_equal(small, values, equal_nan=True) else values


def widened(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its float32 columns (:func:`narrow`) as float64, exactly the values; its
    other columns are shared, not copied. ``frame`` itself when it has no float32 column."""
    import numpy as np

    narrowed = {name: "float64" for name in frame.columns if frame[name].dtype == np.float32}
    return frame.astype(narrowed, copy=False) if narrowed else frame
