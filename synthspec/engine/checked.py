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

Bounded cost: every check and the report score at most ``CHECK_ROWS`` rows per frame
(``check_sample`` for the output, ``real_sample`` for the training split and the holdout).
Tables at or below the cap are scored on every row, exactly as before the cap existed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from synthspec.engine.columns import ColumnPlan


def checked_frame(rows: pd.DataFrame, plans: list[ColumnPlan]) -> pd.DataFrame:
    """``rows`` (publish-ready values, or published ones read back) as the checks see them."""
    return content_order(published_frame(rows, plans))


def published_frame(rows: pd.DataFrame, plans: list[ColumnPlan]) -> pd.DataFrame:
    """The modelled columns of ``rows`` as published, encoded like the real rows, in the
    order of ``rows`` (so positions still name rows, e.g. to redraw those equal to a real row)."""
    from synthspec.engine import codec
    from synthspec.io.roundtrip import as_published

    modelled = [(p.name, p.duckdb_type) for p in plans if p.role == "model"]
    return codec.encode(as_published(rows, modelled), plans, published=True)


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


#: Rows per frame (synthetic output, training split, holdout) the checks and the report score.
#: The metrics' cost grows with the rows compared (QualityReport pairs, profiles, bootstrap):
#: on Adult (32k rows, all scored) checks + report take a few seconds, so 50k rows bound them
#: there at any table size. A share's sampling error at 50k rows is ~0.2 percentage points,
#: and the intervals are computed on the sampled sizes (docs/checks.md).
CHECK_ROWS = 50_000


def check_sample(pieces: Iterable[pd.DataFrame], plans: list[ColumnPlan], rows: int = CHECK_ROWS) -> pd.DataFrame:
    """At most ``rows`` rows of the output given in ``pieces`` (e.g. the shards of a big
    table), in their checked form and content order.

    Each piece is CAST as published; the ``rows`` rows with the smallest hash of their
    published values (``io.roundtrip.smallest_published``) are kept: a uniform sample that
    does not depend on the row order or on how the output was cut into pieces, so a re-check
    of the published rows picks the same rows. Only those are encoded. At or below ``rows`` rows in all, this is exactly
    ``checked_frame`` of the concatenated pieces. Memory holds the kept rows and one piece."""
    return merge_candidates((sample_candidates(piece, plans, rows) for piece in pieces), plans, rows)


def sample_candidates(piece: pd.DataFrame, plans: list[ColumnPlan], rows: int = CHECK_ROWS) -> tuple[pd.DataFrame, np.ndarray]:
    """One piece's share of ``check_sample``: its ``rows`` rows of smallest hash, published
    values and hashes (computed where the piece is drawn, e.g. on a Ray worker)."""
    from synthspec.io.roundtrip import smallest_published

    return smallest_published(piece, [(p.name, p.duckdb_type) for p in plans if p.role == "model"], rows)


def merge_candidates(candidates: Iterable[tuple[pd.DataFrame, np.ndarray]], plans: list[ColumnPlan],
                     rows: int = CHECK_ROWS) -> pd.DataFrame:
    """``check_sample`` from the pieces' candidates, in any order: the ``rows`` smallest
    hashes over all of them, encoded and in content order."""
    import numpy as np
    import pandas as pd

    from synthspec.engine import codec

    kept: pd.DataFrame | None = None
    hashes = np.zeros(0, dtype=np.uint64)
    for published, piece_hashes in candidates:
        kept = published if kept is None else pd.concat([kept, published], ignore_index=True)
        hashes = np.concatenate([hashes, piece_hashes])
        if len(kept) > rows:
            smallest = np.sort(np.argsort(hashes, kind="stable")[:rows])
            kept, hashes = kept.iloc[smallest].reset_index(drop=True), hashes[smallest]
    if kept is None:
        raise ValueError("check_sample needs at least one piece")
    return content_order(codec.encode(kept, plans, published=True))


def real_sample(frame: pd.DataFrame, seed: int, stream: int, rows: int = CHECK_ROWS) -> pd.DataFrame:
    """``frame`` itself when it has at most ``rows`` rows, else a seeded sample of ``rows`` of
    its rows in their order (the real rows are read in content order). ``stream`` keeps the
    training split's and the holdout's draws independent."""
    if len(frame) <= rows:
        return frame
    import numpy as np

    rng = np.random.default_rng([seed, 0xC4EC, stream])
    return frame.iloc[np.sort(rng.choice(len(frame), rows, replace=False))].reset_index(drop=True)


__all__ = ["CHECK_ROWS", "check_sample", "merge_candidates", "sample_candidates", "checked_frame", "content_order", "published_frame", "real_sample"]
