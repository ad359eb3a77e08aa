"""The synthetic frame every check and profile of a table scores: one canonical form.

Metric values must be bit-identical for the same published rows, spec and seed, whether they
are computed at publish time, on a re-check of the rows read back from the target, in another
process or with ``--jobs``. So both paths build the frame the same way:

1. the publish-ready rows go through the publication's CAST (``io.roundtrip``): the checks
   score the values a consumer queries (rounded decimals, truncated dates), not the model's
   unrounded draws;
2. they are encoded to the model frame contract like the real rows (``codec.encode``);
3. rows are put in a content order (a 64-bit hash of each encoded row, ties kept in place:
   rows with equal hashes are, but for a 2^-64 collision, equal rows, whose order changes
   nothing). Seeded subsamples (dcr_share, bootstrap replicates) then pick the same rows
   however DuckDB or a sampler happened to order them.

The real rows need no such step: ``warehouse.read_source`` already reads them in a content
order and ``codec.encode`` gives them the contract dtypes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pandas as pd

    from synthspec.engine.columns import ColumnPlan


def checked_frame(rows: pd.DataFrame, plans: list[ColumnPlan]) -> pd.DataFrame:
    """``rows`` (publish-ready values, or published ones read back) as the checks see them."""
    return content_order(published_frame(rows, plans))


def check_sample(pieces: Iterable[pd.DataFrame], plans: list[ColumnPlan]) -> pd.DataFrame:
    """The rows the checks score, from the output in pieces (the shards of a big table, see
    ``engine.shards``): their checked form, in content order. One piece gives exactly
    ``checked_frame`` of it."""
    import pandas as pd

    frames = [published_frame(piece, plans) for piece in pieces]
    return content_order(frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True))


def published_frame(rows: pd.DataFrame, plans: list[ColumnPlan]) -> pd.DataFrame:
    """The modelled columns of ``rows`` as published, encoded like the real rows, in the
    order of ``rows`` (so positions still name rows, e.g. to redraw those equal to a real row)."""
    from synthspec.engine import codec
    from synthspec.io.roundtrip import as_published

    modelled = [(p.name, p.duckdb_type) for p in plans if p.role == "model"]
    return codec.encode(as_published(rows, modelled), plans)


def content_order(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame``'s rows sorted by a hash of their values (stable), with a fresh RangeIndex.

    The hash is pandas' (``hash_pandas_object``): fixed across processes and platforms, unlike
    Python's ``hash`` of a str, which is salted per process."""
    import numpy as np
    import pandas as pd

    if frame.empty or not len(frame.columns):
        return frame.reset_index(drop=True)
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return frame.iloc[np.argsort(hashes, kind="stable")].reset_index(drop=True)


__all__ = ["check_sample", "checked_frame", "content_order", "published_frame"]
