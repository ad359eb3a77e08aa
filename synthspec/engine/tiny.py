"""Tiny tables: lookup and staff tables of a handful of rows, which the gate can still decide.

On 8 rows a holdout has 2 rows: dcr_share over 2 references and a quality score of 8 rows
against 8 (real data scores ~0.5 against itself there) are noise, so a gate built on them
either fails for nothing or passes for nothing. A table is *tiny* when its holdout would hold
fewer than :data:`MIN_HOLDOUT_ROWS` rows (fewer than 23 rows at the default holdout 0.2). With
the project's default ``gate.tiny_tables: replace``:

* the model trains on every row (no holdout: nothing could be measured with it);
* the checks of estimated metrics (``Metric.sampled``: quality, holdout metrics) are
  ``not_evaluated`` with the reason and the sizes, and allowed, unless a guardrail covers them
  and does not itself allow it (guardrails stay floors);
* ``real_row_matches: {max: 0}`` is added: no synthetic row may equal a real row (training
  or not) on the modelled columns. Sampling redraws such rows (:func:`avoid_real_rows`), so
  the check fails only when the model cannot produce anything else (the message says what to do).

PII policies, rare-value protection, key uniqueness and referential integrity apply as on any
table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from synthspec.metrics.registry import METRICS
from synthspec.spec.models import CheckSpec

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from synthspec.engine.compute import TableJob
    from synthspec.engine.relational import Relations
    from synthspec.models.base import Synthesizer

#: Holdout rows below which the holdout metrics (dcr_share, exact_match_rate, nndr,
#: membership_inference_auc, ml_efficacy) cannot be estimated: a share over fewer rows says
#: nothing, and `holdout: 0.0001` must not make a gate pass on noise.
MIN_HOLDOUT_ROWS = 5
#: Extra draws :func:`avoid_real_rows` makes to replace synthetic rows equal to real rows.
REDRAWS = 20


def holdout_size(rows: int, fraction: float) -> int:
    """Holdout rows of a table of ``rows`` rows (as ``engine.apply.split_indices`` splits)."""
    return min(max(int(round(rows * fraction)), 1), rows - 1) if rows > 1 else 0


def is_tiny(rows: int, fraction: float) -> bool:
    """Whether a table of ``rows`` rows is too small for a holdout of MIN_HOLDOUT_ROWS rows."""
    return holdout_size(rows, fraction) < MIN_HOLDOUT_ROWS


def smallest_assessable(fraction: float) -> int:
    """Fewest rows a table needs, at this holdout fraction, not to be tiny (23 at 0.2)."""
    rows = 2
    while is_tiny(rows, fraction):
        rows += 1
    return rows


def split(rows: int, fraction: float, seed: int, policy: Literal["replace", "block"] = "replace") -> tuple[np.ndarray, np.ndarray]:
    """Training and holdout positions: every row trains on a tiny table under ``replace``."""
    import numpy as np

    from synthspec.engine.apply import split_indices

    if policy == "replace" and is_tiny(rows, fraction):
        return np.arange(rows), np.zeros(0, np.int64)
    return split_indices(rows, fraction, seed)


def tiny_checks(checks: Mapping[str, CheckSpec], guardrails: Mapping[str, CheckSpec], *, modelled: bool) -> dict[str, CheckSpec]:
    """A tiny table's checks: estimated metrics allowed to go unevaluated (unless a guardrail
    covers them and does not allow it) and, with a modelled column, ``real_row_matches`` at 0."""
    out = {}
    for name, check in checks.items():
        metric = METRICS.get(name)
        guarded = name in guardrails and guardrails[name].not_evaluated != "allow"
        if metric is not None and metric.sampled and not guarded:
            check = check.model_copy(update={"not_evaluated": "allow"})
        out[name] = check
    if modelled:
        floor = CheckSpec(max=0)
        out["real_row_matches"] = out["real_row_matches"].under(floor) if "real_row_matches" in out else floor.model_copy(
            update={"not_evaluated": "block", "decide": "value"})
    return out


def real_row_positions(synthetic: pd.DataFrame, real: pd.DataFrame, kinds: Mapping[str, str]) -> np.ndarray:
    """Positions of the synthetic rows equal to some real row on every column of ``kinds``."""
    import numpy as np

    from synthspec.metrics._frames import normalise
    from synthspec.metrics.privacy import _row_hashes

    columns = list(kinds)
    if not columns or not len(synthetic):
        return np.zeros(0, np.int64)
    known = np.unique(_row_hashes(normalise(real, columns, kinds)))
    hashes = _row_hashes(normalise(synthetic, columns, kinds))
    return np.flatnonzero(np.isin(hashes, known))


def avoid_real_rows(job: TableJob, model: Synthesizer | None, relations: Relations | None, synthetic: pd.DataFrame,
                    output: pd.DataFrame, kinds: Mapping[str, str], *, seed: int | None = None,
                    **shard: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Replace the rows equal to a real row (on the modelled columns) by rows of further draws
    (seeds derived from ``seed``, by default the spec's, so the result stays deterministic) that
    equal none. Primary keys stay those of the first draw, so keys remain unique; whatever the
    model cannot avoid in REDRAWS draws is left for ``real_row_matches`` to report. ``shard``
    (``rows``, ``offset``): the draw is one shard of a big output (``engine.shards``)."""
    import numpy as np

    from synthspec.engine.checked import published_frame
    from synthspec.engine.compute import draw
    from synthspec.engine.relational import derived_seed

    # Compared as published (engine/checked.py): a draw that differs from a real row only
    # below the source type's precision is published as that real row.
    bad = real_row_positions(published_frame(output, job.plans), job.encoded, kinds)
    if not len(bad) or model is None:
        return synthetic, output
    synthetic, output = synthetic.copy(), output.copy()
    keys = [p.name for p in job.plans if p.spec.primary_key]
    for attempt in range(1, REDRAWS + 1):
        base = job.spec.model.seed if seed is None else seed
        more_synthetic, more_output = draw(job, model, relations, seed=derived_seed(base, "redraw", str(attempt)), **shard)
        good = np.setdiff1d(np.arange(len(more_synthetic)), real_row_positions(published_frame(more_output, job.plans), job.encoded, kinds))
        take = good[: len(bad)]
        if not len(take):
            continue
        filled, bad = bad[: len(take)], bad[len(take):]
        _fill(synthetic, filled, more_synthetic, take, list(synthetic.columns))
        _fill(output, filled, more_output, take, [c for c in output.columns if c not in keys])
        if not len(bad):
            break
    if len(bad):
        _move_off_real_values(job, synthetic, output, bad, kinds)
    return synthetic, output


#: Further draws of :func:`_move_off_real_values` before it gives up on a row.
MOVES = 20


def _move_off_real_values(job: TableJob, synthetic: pd.DataFrame, output: pd.DataFrame, bad: np.ndarray,
                          kinds: Mapping[str, str]) -> None:
    """The last resort for rows no draw could keep off the real rows (a model of a few rows
    donates real values, and a column whose every value is rare holds only the token): their
    continuous columns (datetimes and numbers that are not discrete) get values drawn
    uniformly within the real range, at the real granularity, until the row equals no real
    row. Discrete and categorical columns are left alone (only real values are published
    there). In place, ``synthetic`` and the decoded ``output`` alike; seeded."""
    import numpy as np

    from synthspec.engine import codec
    from synthspec.engine.relational import derived_seed

    donors = job.source.iloc[job.train_idx].reset_index(drop=True)
    continuous = [p for p in job.plans if p.role == "model" and p.name in synthetic.columns and p.model_column().kind == "numerical"
                  and (p.model_column().datetime or codec.discrete_support(donors[p.name]) is None)]
    if not continuous:
        return
    rng = np.random.default_rng(derived_seed(job.spec.model.seed, "tiny", "move"))
    for _ in range(MOVES):
        for plan in continuous:
            real = job.encoded[plan.name].to_numpy(dtype="float64")
            real = real[~np.isnan(real)]
            if real.size == 0 or real.min() == real.max():
                continue
            unit = codec.time_unit(real) if plan.model_column().datetime else 10.0 ** -(codec.real_decimals(donors[plan.name]) or 0)
            values = np.round(rng.uniform(real.min(), real.max(), size=len(bad)) / unit) * unit
            column = synthetic[plan.name].to_numpy(dtype="float64", copy=True)
            column[bad] = np.clip(values, real.min(), real.max())
            synthetic[plan.name] = column
        bad = real_row_positions(synthetic, job.encoded, kinds)  # only moved rows can still be real
        if not len(bad):
            break
    # decoding a modelled column is deterministic: the rows that did not move decode as before
    moved = codec.decode(synthetic[[p.name for p in continuous]], continuous, donors, len(synthetic), np.random.default_rng(0))
    for plan in continuous:
        output[plan.name] = moved[plan.name].to_numpy()


def _fill(frame: pd.DataFrame, positions: np.ndarray, other: pd.DataFrame, picks: np.ndarray, columns: list[str]) -> None:
    """``frame``'s rows at ``positions`` take ``other``'s rows at ``picks`` in ``columns``
    (in place; a column whose dtypes differ between the draws becomes object)."""
    for column in columns:
        mine, theirs = frame[column], other[column]
        values = mine.astype(object) if mine.dtype != theirs.dtype else mine.copy()
        values.iloc[positions] = theirs.iloc[picks].to_numpy()
        frame[column] = values


__all__ = ["MIN_HOLDOUT_ROWS", "REDRAWS", "avoid_real_rows", "holdout_size", "is_tiny", "real_row_positions",
           "smallest_assessable", "split", "tiny_checks"]
