"""Shared frame handling for the metric functions.

Every metric receives frames that follow the model frame contract (see ``synthspec.models.base``):
``numerical`` columns are float64 with NaN for nulls, ``categorical`` columns hold str/bool values
with nulls, as objects or as codes (``synthspec.io.compact``). The helpers here re-assert that contract so a metric
never depends on how a particular synthesizer happened to type its output (an ``int64`` column
or a ``category`` dtype must score exactly like the float/object column it stands for).

Error messages name columns only, never values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    # numpy and pandas load on first use: `plan` and a no-op `apply` import the metric
    # modules (for their dataclasses) and never compute with them.
    import numpy as np
    import pandas as pd

Kind = Literal["numerical", "categorical"]
KINDS: tuple[str, ...] = ("numerical", "categorical")


def check_kinds(kinds: Mapping[str, str], *frames: tuple[str, pd.DataFrame]) -> list[str]:
    """Validate ``kinds`` against the frames and return the column order to use.

    The order is that of ``kinds`` (the spec's order), so results never depend on how a
    synthesizer ordered its output columns. Columns of a frame not named in ``kinds`` are
    ignored: the caller decides what is compared.
    """
    bad = sorted(name for name, kind in kinds.items() if kind not in KINDS)
    if bad:
        raise ValueError(f"unknown column kind for: {', '.join(bad)}")
    columns = list(kinds)
    for label, frame in frames:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{label} frame lacks columns: {', '.join(missing)}")
    return columns


def normalise(frame: pd.DataFrame, columns: list[str], kinds: Mapping[str, str]) -> pd.DataFrame:
    """Return a copy with only ``columns``, a fresh RangeIndex and contract dtypes.

    Numerical columns become float64 (NaN for nulls). Categorical values become ``str``
    (``True`` -> ``"True"``) with ``None`` for every kind of null, so that a bool column in one
    frame and the same values as strings in another compare equal, and so pandas never has to
    order or hash a mix of bools and strings.
    """
    import numpy as np
    import pandas as pd

    out: dict[str, pd.Series] = {}
    for name in columns:
        series = frame[name]
        if kinds[name] == "numerical":
            values = pd.to_numeric(series, errors="coerce").to_numpy(
                dtype="float64", na_value=np.nan
            )
            out[name] = pd.Series(values, dtype="float64")
        else:
            out[name] = pd.Series(_as_text(series.astype(object).to_numpy()), dtype=object)
    return pd.DataFrame(out, columns=columns)


def _as_text(raw: np.ndarray) -> np.ndarray:
    """Object values as ``str`` (``None`` for nulls), converting each distinct value once.

    Converting every cell (``raw.astype(str)``) dominated the metrics on large frames. Distinct
    values are found by hashing, which merges values Python calls equal (``1 == 1.0 ==
    True``) but whose text differs: the per-distinct path is taken only when the values are
    all ``str`` or all ``bool`` (the contract), where equal means same text."""
    import numpy as np
    import pandas as pd

    if pd.api.types.infer_dtype(raw, skipna=False) == "string":  # text, no null: nothing to convert
        return raw.copy()
    if pd.api.types.infer_dtype(raw, skipna=True) in ("string", "boolean", "empty"):
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
        text = np.array([str(u) for u in uniques] + [None], dtype=object)
        return text[codes]  # code -1 (a null) picks the trailing None
    mask = pd.isna(raw)
    return np.where(mask, None, raw.astype(str)).astype(object)
