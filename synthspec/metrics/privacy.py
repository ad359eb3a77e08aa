"""Distance- and identity-based privacy metrics: ``dcr_share`` and ``exact_match_rate``.

Both compare the synthetic table with the rows the model was trained on *and* with the holdout
rows it never saw. The holdout is the baseline that makes the numbers interpretable: a
synthesizer that generalises produces rows that are no closer to (and no more often identical
to) its training rows than to fresh rows from the same population.

Pure functions on DataFrames following the model frame contract (see ``_frames``); nothing here
reads or writes anything, and results never contain cell values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synthspec.metrics._frames import check_kinds, normalise

#: Synthetic rows (and at most as many rows of each reference) dcr_share compares.
DCR_MAX_ROWS = 5000
#: Synthetic rows per distance block: 128 x 5000 reference rows x 4 bytes = 2.5 MB per scratch
#: buffer. Measured on Adult (5000 x 5000, 15 columns, 2 cores): 128 rows 0.48 s, 256 rows
#: 0.55 s, 512 rows 0.65 s; smaller blocks stay in cache, much smaller ones pay per-call overhead.
_CHUNK_ROWS = 128
#: Two summed distances closer than this (in column units) are a tie; float32 sums of the same
#: terms in a different order may differ by a few ulps and must not decide the outcome.
_TIE_TOLERANCE = 1e-5
#: Scaled numerical values are clipped to +-this many training ranges (float32 spacing there is
#: ~1e-3, far below the clip at 1 that the distance applies anyway).
_CLIP = 1e4
#: Categorical columns with at most this many categories (null included) are one-hot encoded;
#: caps the one-hot matrices at 64 x 4 bytes per row and column while BLAS still wins.
_MAX_ONEHOT = 64


@dataclass(frozen=True)
class DcrResult:
    """Outcome of :func:`dcr_share`. Distances are Gower distances in [0, 1]."""

    share: float
    n_synthetic: int
    n_reference: int
    median_dcr_train: float
    median_dcr_holdout: float
    #: Per compared synthetic row, the Gower distance to its closest training row and to its
    #: closest holdout row (what :func:`dcr_distances` returns): the report's histograms reuse
    #: them instead of measuring the same samples again.
    distances: tuple[np.ndarray, np.ndarray] = field(default=(np.zeros(0), np.zeros(0)), compare=False, repr=False)


@dataclass(frozen=True)
class ExactMatchResult:
    """Outcome of :func:`exact_match_rate`; ``holdout_rate`` is the real-data baseline."""

    rate: float
    holdout_rate: float
    n_synthetic: int
    n_holdout: int


def _sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted positions of ``size`` rows out of ``n`` (all rows when ``size >= n``)."""
    if size >= n:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


def _sampled_encodings(frames: Sequence[tuple[pd.DataFrame, int]], columns: list[str], kinds: Mapping[str, str],
                       rng: np.random.Generator) -> list[np.ndarray]:
    """Up to ``size`` rows of each frame (drawn in order, so the RNG use is fixed), normalised
    and encoded together for the distance kernel."""
    picks = [(frame, _sample(len(frame), size, rng)) for frame, size in frames]
    return _encode([normalise(frame.iloc[idx], columns, kinds) for frame, idx in picks], kinds)


def _single_threaded_blas() -> AbstractContextManager[object]:
    """Limit BLAS to one thread for the kernel's many small matrix products.

    Measured on 2 cores: with a second busy process, multi-threaded OpenBLAS spin-waits and the
    5000 x 5000 Adult case goes from ~0.5 s to ~1.5 s; single-threaded it is stable. The engine
    may also run several tables at once (``--jobs``), where BLAS threads only oversubscribe.
    """
    try:
        from threadpoolctl import threadpool_limits  # scikit-learn's dependency
    except ImportError:  # pragma: no cover - keep working without it, only slower
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


@dataclass(frozen=True)
class _Encoded:
    """One frame's rows encoded for the distance kernel (see ``_encode``)."""

    num: np.ndarray  # float32 (rows, numerical columns), scaled; nulls at a far sentinel
    codes: np.ndarray  # int32 (rows, high-cardinality categorical columns)
    onehot: np.ndarray  # float32 (rows, sum of categories of low-cardinality columns)
    n_onehot_columns: int

    def __len__(self) -> int:
        return len(self.num)


def _encode(frames: list[pd.DataFrame], kinds: Mapping[str, str]) -> list[_Encoded]:
    """Encode frames (the training sample first) on shared scales and category codes.

    Numerical values are scaled by the training sample's range, so ``|a - b|`` is the Gower term
    before clipping at 1. Values are clipped to ``[-_CLIP, _CLIP]`` ranges so float32 keeps
    precision (only two values both that far out of range could compare wrongly), and nulls (and
    infinities) get a sentinel 2 beyond that: null vs null is then 0 and null vs value clips to 1. A zero-range column is encoded by exact
    value (codes 0, 2, 4, ...) so equal values contribute 0 and unequal ones 1.

    Categorical columns treat null as one more category. Those with few categories are one-hot
    encoded, so the number of matching columns between two rows is one matrix product (BLAS,
    both cores); wide ones keep integer codes compared element-wise, so a near-unique column
    cannot blow the one-hot matrix up to rows x distinct values.
    """
    sizes = [len(f) for f in frames]
    bounds = np.cumsum([0, *sizes])
    total = int(bounds[-1])
    numeric: list[np.ndarray] = []
    codes_cols: list[np.ndarray] = []
    onehots: list[np.ndarray] = []
    for name, kind in kinds.items():
        if kind == "categorical":
            joined = pd.concat([f[name] for f in frames], ignore_index=True)
            codes, uniques = pd.factorize(joined, use_na_sentinel=False)
            if len(uniques) <= _MAX_ONEHOT:
                block = np.zeros((total, len(uniques)), dtype=np.float32)
                block[np.arange(total), codes] = 1.0
                onehots.append(block)
            else:
                codes_cols.append(codes.astype(np.int32))
            continue
        values = [f[name].to_numpy(dtype=np.float64) for f in frames]
        finite = values[0][np.isfinite(values[0])]
        lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 0.0)
        joined = np.concatenate(values)
        ok = np.isfinite(joined)
        if hi > lo:
            scaled = (joined - lo) / (hi - lo)
        else:
            scaled = np.zeros_like(joined)
            scaled[ok] = 2.0 * pd.factorize(joined[ok])[0]
        np.clip(scaled, -_CLIP, _CLIP, out=scaled)
        scaled[~ok] = _CLIP + 2.0
        numeric.append(scaled.astype(np.float32))

    def stack(cols: list[np.ndarray], dtype: type, axis_concat: bool = False) -> np.ndarray:
        if not cols:
            return np.zeros((total, 0), dtype=dtype)
        return np.concatenate(cols, axis=1) if axis_concat else np.stack(cols, axis=1)

    num = stack(numeric, np.float32)
    codes_all = stack(codes_cols, np.int32)
    onehot = stack(onehots, np.float32, axis_concat=True)
    return [
        _Encoded(
            num=num[bounds[i] : bounds[i + 1]],
            codes=codes_all[bounds[i] : bounds[i + 1]],
            onehot=onehot[bounds[i] : bounds[i + 1]],
            n_onehot_columns=len(onehots),
        )
        for i in range(len(frames))
    ]


def _nearest(query: _Encoded, ref: _Encoded, k: int = 1) -> np.ndarray:
    """Distances from each query row to its ``k`` nearest reference rows, as summed column
    distances: shape ``(n_query,)`` for ``k == 1``, else ``(n_query, k)`` in ascending order.

    Brute force in blocks of ``_CHUNK_ROWS`` query rows. The one-hot part is one matrix product
    giving ``-matches`` (the constant number of one-hot columns is added after the minimum);
    each numerical column then adds ``min(|a - b|, 1)`` in place and each wide categorical
    column adds ``a != b``, reusing scratch buffers, so peak memory is a few
    ``chunk x n_ref`` blocks regardless of table size. For ``k > 1`` the smallest come from
    ``np.partition``, linear in the number of references.
    """
    n_query, n_ref = len(query.num), len(ref.num)
    out = np.empty((n_query, k), dtype=np.float32)
    neg_onehot_t = np.ascontiguousarray(-ref.onehot.T)
    ref_num = [np.ascontiguousarray(ref.num[:, j]) for j in range(ref.num.shape[1])]
    ref_codes = [np.ascontiguousarray(ref.codes[:, j]) for j in range(ref.codes.shape[1])]
    acc = np.empty((_CHUNK_ROWS, n_ref), dtype=np.float32)
    buf = np.empty((_CHUNK_ROWS, n_ref), dtype=np.float32)
    neq = np.empty((_CHUNK_ROWS, n_ref), dtype=bool) if ref_codes else None
    for start in range(0, n_query, _CHUNK_ROWS):
        stop = min(start + _CHUNK_ROWS, n_query)
        a, b = acc[: stop - start], buf[: stop - start]
        if query.n_onehot_columns:
            np.matmul(query.onehot[start:stop], neg_onehot_t, out=a)
        else:
            a.fill(0.0)
        for j, col in enumerate(ref_num):
            np.subtract(query.num[start:stop, j, None], col[None, :], out=b)
            np.abs(b, out=b)
            np.minimum(b, 1.0, out=b)
            a += b
        if neq is not None:
            m = neq[: stop - start]
            for j, col in enumerate(ref_codes):
                np.not_equal(query.codes[start:stop, j, None], col[None, :], out=m)
                a += m
        if k == 1:
            a.min(axis=1, out=out[start:stop, 0])
        else:
            out[start:stop] = np.sort(np.partition(a, k - 1, axis=1)[:, :k], axis=1)
    out += query.n_onehot_columns
    return out[:, 0] if k == 1 else out


def dcr_share(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, str],
    *,
    seed: int,
    max_rows: int = DCR_MAX_ROWS,
) -> DcrResult:
    """Share of synthetic rows closer to a training row than to a holdout row (0.5 is ideal).

    If the model memorised its training rows, synthetic rows sit next to them and the share tends
    to 1; a model that learnt the distribution is as close to unseen holdout rows as to training
    rows. Because train and holdout are compared through equal-size samples, chance alone gives
    0.5. A synthetic row equally close to both counts half (ties are common with discrete data).

    Sampling: up to ``max_rows`` synthetic rows; ``n_ref = min(len(train), len(holdout),
    max_rows)`` rows each from train and holdout, drawn with ``numpy.random.default_rng(seed)``,
    so the result is deterministic given ``seed``.

    Distance (Gower-style): the mean over columns of a per-column term in [0, 1]:

    * numerical: ``min(|a - b| / range, 1)`` with ``range = max - min`` of the training sample
      (clipped at 1 so one out-of-range value cannot outweigh other columns); a zero-range
      column contributes 0 when equal and 1 otherwise;
    * categorical: 0 if equal, 1 otherwise;
    * null vs null: 0; null vs non-null: 1 (both kinds).

    Nearest neighbours are found by exact brute force in float32 (see ``_nearest``).
    """
    if max_rows < 1:
        raise ValueError("max_rows must be at least 1")
    columns = check_kinds(
        kinds, ("training", train), ("holdout", holdout), ("synthetic", synthetic)
    )
    if len(train) == 0 or len(holdout) == 0 or len(synthetic) == 0:
        raise ValueError("dcr_share needs non-empty training, holdout and synthetic frames")
    if not columns:
        raise ValueError("dcr_share needs at least one column")
    d_train, d_hold, n_ref = _closest(train, holdout, synthetic, columns, kinds, seed=seed, max_rows=max_rows)
    diff = d_hold.astype(np.float64) - d_train.astype(np.float64)
    closer = np.where(np.abs(diff) <= _TIE_TOLERANCE, 0.5, (diff > 0).astype(np.float64))
    n_cols = len(columns)
    return DcrResult(
        share=float(closer.mean()),
        n_synthetic=len(d_train),
        n_reference=n_ref,
        median_dcr_train=float(np.median(d_train)) / n_cols,
        median_dcr_holdout=float(np.median(d_hold)) / n_cols,
        distances=(d_train.astype(np.float64) / n_cols, d_hold.astype(np.float64) / n_cols),
    )


def _row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """One uint64 per row of a normalised frame (see ``_frames.normalise``), equal for rows
    equal in every column (nulls equal to nulls); ``-0.0`` is folded into ``0.0``. For the
    tiny-table policy's few rows; :func:`exact_match_rate` uses the vectorised ``_match_hashes``."""
    if frame.shape[1] == 0:
        return np.zeros(len(frame), dtype=np.uint64)
    frame = frame.copy()
    for name in frame.columns:
        if frame[name].dtype == np.float64:
            frame[name] = frame[name] + 0.0  # -0.0 + 0.0 == +0.0
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


def _match_hashes(frames: Sequence[pd.DataFrame], columns: list[str], kinds: Mapping[str, str]) -> list[np.ndarray]:
    """One uint64 per row of each frame, equal for rows equal in every column (nulls equal to
    nulls), comparable across the frames.

    Categorical values are compared as text (``True`` equals ``"True"``, as ``_frames.normalise``
    has it), but only their distinct values are turned into text: each column is factorised
    over all frames at once and its codes are hashed, which is linear and vectorised (per-cell
    ``str`` of a million-row frame cost seconds). Numerical values are compared as float64,
    ``-0.0`` folded into ``0.0`` and every NaN alike."""
    sizes = np.cumsum([0, *(len(f) for f in frames)])

    def part(name: str) -> np.ndarray:
        if kinds[name] == "numerical":
            values = np.concatenate([pd.to_numeric(f[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
                                     for f in frames]) + 0.0  # -0.0 + 0.0 == +0.0
            values[np.isnan(values)] = np.nan  # one NaN bit pattern
            return values.view(np.int64)
        joined = pd.concat([f[name].astype(object) for f in frames], ignore_index=True)
        codes, uniques = pd.factorize(joined, use_na_sentinel=True)
        text = pd.Series([str(u) for u in uniques], dtype=object)
        merged, _ = pd.factorize(text)  # True and "True" are one value
        return np.where(codes < 0, -1, merged[np.maximum(codes, 0)] if len(merged) else -1)

    if not columns:
        return [np.zeros(len(f), dtype=np.uint64) for f in frames]
    # pandas' row hash (``hash_pandas_object`` of a frame of the parts, index excluded), one
    # column at a time: memory holds the running hash and one column, not a frame of every
    # column of every real row (two of them, with pandas' consolidation), on a 10M-row table.
    hashes = np.zeros(int(sizes[-1]), dtype=np.uint64) + np.uint64(0x345678)
    mult = np.uint64(1000003)
    for i, name in enumerate(columns):
        hashes ^= pd.util.hash_array(part(name))
        hashes *= mult
        mult += np.uint64(82520 + 2 * (len(columns) - i))
    hashes += np.uint64(97531)
    return [hashes[sizes[i]:sizes[i + 1]] for i in range(len(frames))]


def exact_match_rate(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, str] | None = None,
) -> ExactMatchResult:
    """Share of synthetic rows identical to some training row, with the holdout baseline.

    Real tables contain duplicate rows (Adult has a few dozen), so some exact matches are
    expected even from a perfect generator; ``holdout_rate`` (holdout rows found in training)
    is that baseline. A rate far above it means the model copies training rows.

    Rows are compared on every column in ``kinds`` (default: the training frame's columns, with
    float64 columns numerical and the rest categorical) via 64-bit row hashes, which is linear
    time; a hash collision (probability ~n^2 / 2^64) could only overstate the rate.
    """
    if kinds is None:
        kinds = {
            str(c): ("numerical" if train[c].dtype.kind in "fiu" else "categorical")
            for c in train.columns
        }
    columns = check_kinds(
        kinds, ("training", train), ("holdout", holdout), ("synthetic", synthetic)
    )
    train_hashes, holdout_hashes, synthetic_hashes = _match_hashes([train, holdout, synthetic], columns, kinds)
    # Membership by binary search in the sorted training hashes: np.unique/np.isin on a
    # million uint64s cost seconds, a sort and searchsorted a fraction of one.
    known = np.sort(train_hashes)

    def rate(hashes: np.ndarray) -> float:
        if len(hashes) == 0:
            return float("nan")
        if not len(known):
            return 0.0
        at = np.minimum(np.searchsorted(known, hashes), len(known) - 1)
        return float((known[at] == hashes).mean())

    return ExactMatchResult(
        rate=rate(synthetic_hashes),
        holdout_rate=rate(holdout_hashes),
        n_synthetic=len(synthetic),
        n_holdout=len(holdout),
    )


def dcr_distances(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, str],
    *,
    seed: int,
    max_rows: int = DCR_MAX_ROWS,
) -> tuple[np.ndarray, np.ndarray]:
    """Per compared synthetic row, the Gower distance (mean over columns, in [0, 1]) to its
    closest training row and to its closest holdout row: the distributions behind
    :func:`dcr_share`, drawn from the same samples (same seed, same order of draws), for the
    report's privacy histograms. Distances only, never a row."""
    columns = check_kinds(kinds, ("training", train), ("holdout", holdout), ("synthetic", synthetic))
    if not len(train) or not len(holdout) or not len(synthetic) or not columns:
        return np.zeros(0), np.zeros(0)
    d_train, d_hold, _ = _closest(train, holdout, synthetic, columns, kinds, seed=seed, max_rows=max_rows)
    return d_train.astype(np.float64) / len(columns), d_hold.astype(np.float64) / len(columns)


def _closest(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, columns: list[str],
             kinds: Mapping[str, str], *, seed: int, max_rows: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Summed column distances (float32) from up to ``max_rows`` synthetic rows to their closest
    row among ``n_ref`` sampled training rows and among as many holdout rows, and ``n_ref``:
    the samples both :func:`dcr_share` and :func:`dcr_distances` measure (seeded draws)."""
    rng = np.random.default_rng(seed)
    n_ref = min(len(train), len(holdout), max_rows)
    enc_train, enc_hold, enc_syn = _sampled_encodings([(train, n_ref), (holdout, n_ref), (synthetic, max_rows)], columns, kinds, rng)
    # The two searches are independent and numpy releases the GIL in their kernels: one thread
    # each (BLAS single-threaded in both) uses two cores for the price of one search.
    from concurrent.futures import ThreadPoolExecutor

    with _single_threaded_blas(), ThreadPoolExecutor(max_workers=2) as pool:
        to_train = pool.submit(_nearest, enc_syn, enc_train)
        to_holdout = pool.submit(_nearest, enc_syn, enc_hold)
        return to_train.result(), to_holdout.result(), n_ref
