"""Disclosure metrics: pii_leakage, nndr, membership_inference_auc, k_anonymity, re-identification.

Companions of ``privacy`` (``dcr_share``, ``exact_match_rate``), whose Gower encoding and
brute-force distance kernel they reuse, so every distance-based metric measures closeness the
same way. Each answers a different question:

* ``pii_leakage``: is a real PII value (a name, an email) published anywhere, in any column?
* ``nndr``: do synthetic rows sit unusually tightly against one particular training row?
* ``membership_inference_auc``: can an attacker holding the output tell training members from
  non-members? Reported next to :func:`max_auc_for_epsilon`, what the DP budget allows.
* ``k_anonymity`` / ``reidentification_risk``: over the spec's ``privacy.quasi_identifiers``.

Pure functions on DataFrames (model frame contract, see ``_frames``): nothing is read or
written, and no result or message contains a cell value.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synthspec.metrics._frames import check_kinds
from synthspec.metrics.privacy import (
    _TIE_TOLERANCE,
    _nearest,
    _sampled_encodings,
    _single_threaded_blas,
)
from synthspec.privacy.policies import normalise_for_matching

# --- pii_leakage ---------------------------------------------------------------------------------

#: Normalised real values shorter than this are not checked: two-letter values ("AL", "tr")
#: occur by chance in any categorical column and would make the check fail on noise.
MIN_LEAK_LENGTH = 3
#: Number-like real values (digits with separators) with fewer digits than this are not
#: checked: ages, years, counts and small codes coincide with synthetic numbers by chance. Phone
#: numbers, national ids, card numbers and IBAN digits are all longer.
MIN_LEAK_DIGITS = 6
_NUMBER_LIKE = re.compile(r"^[\s\d+\-.,/()]+$")
_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?(e[+-]?\d+)?$")


@dataclass(frozen=True)
class LeakageResult:
    """Outcome of :func:`pii_leakage`; counts of distinct normalised real values, never values.

    ``count`` is the gate value (distinct real values found anywhere; a value found in several
    places counts once). ``by_column`` counts per PII column (a value present in two PII columns
    counts in both), ``found_in`` per output column, so a failure says where to look.
    ``checked`` values were compared; ``skipped`` were too short or too generic to compare.
    """

    count: int
    by_column: dict[str, int]
    checked: int
    skipped: int = 0
    found_in: dict[str, int] = field(default_factory=dict)


def _leak_candidate(text: str, min_length: int, min_digits: int) -> bool:
    """Whether a normalised real value is specific enough to count as a leak when found."""
    if len(text) < min_length:
        return False
    if _NUMBER_LIKE.match(text):
        return sum(c.isdigit() for c in text) >= min_digits
    return True


def _normalised_distinct(series: pd.Series) -> set[str]:
    """The distinct non-null values of a column, each through ``normalise_for_matching``."""
    present = series[series.notna()]
    if len(present) == 0:
        return set()
    uniques = pd.unique(present.to_numpy(dtype=object))
    return {normalise_for_matching(v) for v in uniques}


def _numeric_hits(candidates: set[str], column: pd.Series) -> set[str]:
    """Real values that equal a number in a numeric output column, without rendering each
    synthetic number as text (a continuous column of a million rows has a million distinct
    values). A normalised real value written as a plain number (``"5321234567"``,
    ``"-12.5"``, ``"1e-05"``: the canonical texts of numbers) matches a cell of equal value."""
    numeric = {text: float(text) for text in candidates if _PLAIN_NUMBER.match(text)}
    if not numeric:
        return set()
    cells = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    cells = np.unique(cells[np.isfinite(cells)])
    texts = list(numeric)
    found = np.isin(np.array([numeric[t] for t in texts], dtype=np.float64), cells)
    return {text for text, hit in zip(texts, found, strict=True) if hit}


def pii_leakage(
    real_pii: Mapping[str, pd.Series],
    output: pd.DataFrame,
    *,
    min_length: int = MIN_LEAK_LENGTH,
    min_digits: int = MIN_LEAK_DIGITS,
) -> LeakageResult:
    """Count real PII values that appear as whole cell values anywhere in the output.

    Every distinct non-null real value of every PII column and every distinct non-null cell of
    every output column (any dtype, numbers and timestamps through their canonical text) is
    normalised with :func:`~synthspec.privacy.policies.normalise_for_matching` (NFKC, Turkish
    İ/ı folded, casefolded, whitespace collapsed), and a real value counts as leaked when it
    equals an output cell: ``"  AYŞE  YILMAZ"`` in the output leaks ``"Ayşe Yılmaz"``.

    Whole values only, as the product defines the check: a real surname inside a longer fake
    name is not a leak (token matching would flag every common surname Faker knows). Values
    shorter than ``min_length`` characters, and number-like values with fewer than
    ``min_digits`` digits, are skipped (counted in ``skipped``) because they match by chance.

    Faked columns can coincide with real values by chance (common names); generate them with
    ``fake_values(..., avoid=...)`` so that a pass means no real value is published at all.
    """
    real_sets: dict[str, set[str]] = {}
    skipped: set[str] = set()
    for name, series in real_pii.items():
        values = _normalised_distinct(series)
        keep = {v for v in values if _leak_candidate(v, min_length, min_digits)}
        skipped |= values - keep
        real_sets[str(name)] = keep
    everything = set().union(*real_sets.values()) if real_sets else set()
    skipped -= everything
    found: set[str] = set()
    found_in: dict[str, int] = {}
    for column in output.columns:
        if not everything:
            break
        cells = output[column]
        if pd.api.types.is_numeric_dtype(cells) and not pd.api.types.is_bool_dtype(cells):
            hits = _numeric_hits(everything, cells)
        else:
            hits = everything & _normalised_distinct(cells)
        if hits:
            found_in[str(column)] = len(hits)
            found |= hits
    return LeakageResult(
        count=len(found),
        by_column={name: len(values & found) for name, values in real_sets.items()},
        checked=len(everything),
        skipped=len(skipped),
        found_in=found_in,
    )


# --- nndr ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NndrResult:
    """Outcome of :func:`nndr`. Ratios are in [0, 1]; 1 means "as close to the second-nearest
    training row as to the nearest", i.e. not tied to any single training record.

    ``share`` is the gate value (lower is better, about 0.05 for a model that generalises):
    the share of synthetic rows whose NNDR is below ``holdout_p5``, the 5th percentile of the
    holdout rows' NNDR.
    """

    share: float
    median_synthetic: float
    median_holdout: float
    synthetic_p5: float
    holdout_p5: float
    n_synthetic: int
    n_holdout: int
    n_reference: int


def _ratio(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``first / second`` with float32 noise removed: equal distances (within the tie
    tolerance) give exactly 1, including 0/0 (a row equal to two identical training rows is
    not singled out; ``exact_match_rate`` reports copies), and a zero first distance gives 0."""
    d1 = first.astype(np.float64)
    d2 = second.astype(np.float64)
    d1 = np.where(d1 <= _TIE_TOLERANCE, 0.0, d1)
    tie = (d2 - d1) <= _TIE_TOLERANCE
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(tie, 1.0, d1 / np.where(d2 > 0, d2, 1.0))
    return np.clip(ratio, 0.0, 1.0)


def nndr(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, str],
    *,
    seed: int,
    max_rows: int = 2000,
    max_reference_rows: int = 50000,
) -> NndrResult:
    """Nearest-neighbour distance ratio of synthetic rows, against the holdout's as baseline.

    A row's NNDR is its distance to the nearest training row divided by its distance to the
    second-nearest (Gower distance as in ``dcr_share``). A ratio near 0 means the row is much
    closer to one training record than to any other: it reproduces *that* record, which is
    what makes a row identifying even when it is not an exact copy. Following CTAB-GAN (Zhao
    et al., 2021) and Synthcity, the tail matters more than the mean, so the gate value is the
    share of synthetic rows whose NNDR is below the 5th percentile of the holdout rows' NNDR:
    real rows the model never saw show how tight "naturally close" is for this data, so a model
    that generalises scores about 0.05 (at most, with ties) and a memorising one far more.
    Medians and 5th percentiles of both are reported alongside.

    Sampling with ``numpy.random.default_rng(seed)``: up to ``max_reference_rows`` training
    rows as the reference (all of them by default: a synthetic copy of a training row only
    shows when that row is in the reference, so sampling the reference hides memorisation in
    proportion), up to ``max_rows`` holdout and up to ``max_rows`` synthetic rows as queries
    (2000 each estimate the 5th percentile to about +-1 percentage point). Cost is linear in
    queries x reference rows: 1.8-2.2 s for Adult (4000 x 26k rows, 15 columns, one core).
    """
    if max_rows < 1 or max_reference_rows < 2:
        raise ValueError("max_rows must be at least 1 and max_reference_rows at least 2")
    columns = check_kinds(
        kinds, ("training", train), ("holdout", holdout), ("synthetic", synthetic)
    )
    if len(train) < 2 or len(holdout) == 0 or len(synthetic) == 0:
        raise ValueError("nndr needs two training rows and non-empty holdout and synthetic frames")
    if not columns:
        raise ValueError("nndr needs at least one column")
    rng = np.random.default_rng(seed)
    frames = [(train, max_reference_rows), (holdout, max_rows), (synthetic, max_rows)]
    enc_train, enc_hold, enc_syn = _sampled_encodings(frames, columns, kinds, rng)
    with _single_threaded_blas():
        r_hold = _ratio(*_nearest(enc_hold, enc_train, k=2).T)
        r_syn = _ratio(*_nearest(enc_syn, enc_train, k=2).T)
    holdout_p5 = float(np.percentile(r_hold, 5))
    return NndrResult(
        share=float((r_syn < holdout_p5 - _TIE_TOLERANCE).mean()),
        median_synthetic=float(np.median(r_syn)),
        median_holdout=float(np.median(r_hold)),
        synthetic_p5=float(np.percentile(r_syn, 5)),
        holdout_p5=holdout_p5,
        n_synthetic=len(enc_syn),
        n_holdout=len(enc_hold),
        n_reference=len(enc_train),
    )


# --- membership inference ------------------------------------------------------------------------


def _auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Mann-Whitney AUC: P(score of a positive > score of a negative), ties counting half."""
    scores = np.concatenate([positive, negative])
    ranks = pd.Series(scores).rank(method="average").to_numpy()
    n_pos, n_neg = len(positive), len(negative)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def membership_inference_auc(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, str],
    *,
    seed: int,
    max_rows: int = 2000,
    max_synthetic_rows: int = 50000,
) -> float:
    """AUC of a distance-based membership-inference attack (0.5 = no signal, 1 = certain).

    The attacker holds the synthetic table and a candidate record and guesses "member" when the
    record is close to some synthetic row: its score is minus its Gower distance to the nearest
    synthetic row. Candidates are equal-size samples (``min(len(train), len(holdout),
    max_rows)`` each) of training rows (members) and holdout rows (non-members, same
    population, never seen by the model); the AUC is that of members against non-members, with
    ties counting half (distances are rounded to 1e-4 column units first, so float32 noise
    cannot order equal distances).

    This is one simple attack, so the value is a lower bound on membership risk, not a measure
    of it: stronger attacks (shadow models, density ratios as in DOMIAS) may do better. Compare
    it with :func:`max_auc_for_epsilon` for a DP model. Up to ``max_synthetic_rows`` synthetic
    rows form the attacker's reference, all of them by default: the attacker has the whole
    output, and a sample would hide copied records in proportion (Adult, synthetic = training
    copy: AUC 0.69 with a 10k-row sample, 1.0 with all rows). Cost is linear in candidates x
    reference rows: 1.6-2.0 s for Adult (4000 x 26k rows, 15 columns, one core). Sampling
    uses ``numpy.random.default_rng(seed)``.
    """
    if max_rows < 1 or max_synthetic_rows < 1:
        raise ValueError("max_rows and max_synthetic_rows must be at least 1")
    columns = check_kinds(
        kinds, ("training", train), ("holdout", holdout), ("synthetic", synthetic)
    )
    if len(train) == 0 or len(holdout) == 0 or len(synthetic) == 0:
        raise ValueError(
            "membership_inference_auc needs non-empty training, holdout and synthetic frames"
        )
    if not columns:
        raise ValueError("membership_inference_auc needs at least one column")
    rng = np.random.default_rng(seed)
    n = min(len(train), len(holdout), max_rows)
    frames = [(train, n), (holdout, n), (synthetic, max_synthetic_rows)]
    enc_mem, enc_non, enc_syn = _sampled_encodings(frames, columns, kinds, rng)
    with _single_threaded_blas():
        d_mem = _nearest(enc_mem, enc_syn).astype(np.float64)
        d_non = _nearest(enc_non, enc_syn).astype(np.float64)
    return _auc(-np.round(d_mem, 4), -np.round(d_non, 4))


def max_auc_for_epsilon(epsilon: float, delta: float = 0.0) -> float:
    """The largest membership-inference AUC an (ε, δ)-DP training run allows.

    Derivation. For any test deciding whether one record was in the training data, (ε, δ)-DP
    confines (false-positive rate f, true-positive rate t) to the privacy region (Wasserman &
    Zhou 2010; Kairouz, Oh & Viswanath 2015, "The composition theorem for differential
    privacy", Thm. 2.1)::

        t <= e^ε f + δ        and        1 - f <= e^ε (1 - t) + δ

    so the best ROC curve is ``t(f) = min(e^ε f + δ, 1 - e^-ε (1 - δ - f), 1)``. Its two lines
    cross at ``f* = (1 - δ) / (1 + e^ε)`` and the second reaches 1 at ``f = 1 - δ``; the area
    under it is::

        AUC = e^ε f*^2 / 2 + δ f*  +  L - e^-ε L^2 / 2  +  δ,   L = (1 - δ) e^ε / (1 + e^ε)

    which for pure ε-DP (δ = 0) simplifies to ``e^ε / (1 + e^ε)``: 0.5 at ε = 0, 0.73 at ε = 1,
    0.99 at ε = 5 (the same value as the balanced-accuracy bound, as the curve is symmetric).
    An empirical AUC above it (beyond sampling noise) means the run was not as private as its
    ε claims; one below it proves nothing, since the attack may be weak.
    """
    if not (epsilon >= 0) or not (0.0 <= delta <= 1.0):
        raise ValueError("epsilon must be >= 0 and delta in [0, 1]")
    if math.isinf(epsilon):
        return 1.0
    if delta == 0.0:
        return 1.0 / (1.0 + math.exp(-epsilon))
    grow = math.exp(epsilon)
    cross = (1.0 - delta) / (1.0 + grow)
    rest = (1.0 - delta) * grow / (1.0 + grow)
    area = grow * cross**2 / 2.0 + delta * cross + rest - rest**2 / (2.0 * grow) + delta
    return min(1.0, area)


# --- quasi-identifiers ---------------------------------------------------------------------------


def _qi_values(series: pd.Series) -> pd.Series:
    """One QI column in a form that compares equal across frames: numbers as float64 (so an
    int64 source column matches a float64 synthetic one; -0.0 folded into 0.0), datetimes as
    they are, everything else as ``str`` with ``None`` for nulls."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return pd.Series(pd.to_numeric(series, errors="coerce").astype("float64") + 0.0)
    if pd.api.types.is_datetime64_any_dtype(series):
        return series.reset_index(drop=True)
    raw = series.astype(object).to_numpy()
    text = np.where(pd.isna(raw), None, raw.astype(str)).astype(object)
    return pd.Series(text, dtype=object)


def _class_keys(
    labelled: Sequence[tuple[str, pd.DataFrame]], quasi_identifiers: Sequence[str]
) -> list[np.ndarray]:
    """Per frame, one int64 equivalence-class id per row, shared across the frames.

    Each QI column is factorised jointly over all frames (nulls are a value of their own), and
    the codes are combined column by column, re-factorising after each step so the ids stay
    below the row count: exact (no hashing, so no collision can merge two classes and overstate
    k) and linear time.
    """
    if not quasi_identifiers:
        raise ValueError("needs at least one quasi-identifier")
    for label, frame in labelled:
        missing = [q for q in quasi_identifiers if q not in frame.columns]
        if missing:
            raise ValueError(f"{label} frame lacks quasi-identifier columns: {', '.join(missing)}")
    frames = [frame for _, frame in labelled]
    sizes = [len(f) for f in frames]
    bounds = np.cumsum([0, *sizes])
    key = np.zeros(int(bounds[-1]), dtype=np.int64)
    for name in quasi_identifiers:
        joined = pd.concat([_qi_values(f[name]) for f in frames], ignore_index=True)
        codes, uniques = pd.factorize(joined, use_na_sentinel=False)
        combined = key * max(len(uniques), 1) + codes.astype(np.int64)
        key = pd.factorize(combined)[0].astype(np.int64)
    return [key[bounds[i] : bounds[i + 1]] for i in range(len(frames))]


def k_anonymity(frame: pd.DataFrame, quasi_identifiers: Sequence[str]) -> int:
    """Size of the smallest equivalence class over the quasi-identifier columns (0 if empty).

    A table is k-anonymous when every combination of QI values it contains is shared by at
    least k rows. Values are compared exactly and nulls form a value of their own. Numerical
    QIs are used as they are, so a continuous column (exact age in days, income) makes nearly
    every row its own class and k = 1: users should ``generalize`` such columns (bins, date
    truncation) in the spec before listing them as quasi-identifiers.
    """
    (key,) = _class_keys([("the", frame)], list(quasi_identifiers))
    if len(key) == 0:
        return 0
    return int(np.bincount(key).min())


def reidentification_risk(
    real: pd.DataFrame, synthetic: pd.DataFrame, quasi_identifiers: Sequence[str]
) -> float:
    """Share of synthetic rows whose QI combination singles out exactly one real row.

    An attacker who knows a person's quasi-identifiers (age, zip code, sex...) and finds them
    in a published row can link that row to the person when exactly one real record has that
    combination: the row's other columns then read as that person's attributes. This counts
    synthetic rows whose combination (compared exactly, nulls as a value, numbers as float64 so
    int and float columns agree) occurs exactly once in ``real``. 0 is best; NaN for an empty
    synthetic frame. Like :func:`k_anonymity` it is only meaningful over generalised QIs.
    """
    real_key, syn_key = _class_keys(
        [("real", real), ("synthetic", synthetic)], list(quasi_identifiers)
    )
    if len(syn_key) == 0:
        return float("nan")
    n_classes = int(max(real_key.max(initial=-1), syn_key.max(initial=-1))) + 1
    real_counts = np.bincount(real_key, minlength=n_classes)
    return float((real_counts[syn_key] == 1).mean())
