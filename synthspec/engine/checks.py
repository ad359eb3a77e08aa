"""Compute the metrics a table's checks need (plus the cheap defaults) and evaluate them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from synthspec.engine.tiny import MIN_HOLDOUT_ROWS
from synthspec.metrics.checks import CheckResult, Outcome, error_result, evaluate
from synthspec.metrics.registry import METRICS
from synthspec.spec.models import CheckSpec

if TYPE_CHECKING:
    import numpy as np

    from synthspec.metrics.fidelity import FidelityScores
    from synthspec.metrics.intervals import Interval

_QUALITY = ("quality_score", "column_shapes", "column_pair_trends")
#: Minimum-over-columns metrics, and the column kind each one scores.
_PER_COLUMN = {"ks_complement": "numerical", "tv_complement": "categorical",
               "boundary_adherence": "numerical", "category_adherence": "categorical"}


@dataclass(frozen=True)
class Population:
    """The full table behind frames sampled for the checks (see ``engine.checked``): the
    metrics that must see every real row (exact_match_rate, real_row_matches) use these
    frames, and the checks' details report these sizes next to the compared ones."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    n_synthetic: int


@dataclass
class Computed:
    """What the checks computed that the report needs too (filled by ``run_checks``), so the
    report does not compute it again: the QualityReport and dcr_share's distances."""

    quality: FidelityScores | None = None
    dcr_distances: tuple[np.ndarray, np.ndarray] | None = None
    dcr_references: int = 0


def run_checks(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, str],
    checks: Mapping[str, CheckSpec],
    *,
    seed: int,
    extra: Mapping[str, float | None] | None = None,
    quasi_identifiers: list[str] | None = None,
    epsilon: float | None = None,
    delta: float | None = None,
    tiny_rows: int | None = None,
    extra_intervals: Mapping[str, Interval] | None = None,
    population: Population | None = None,
    computed: Computed | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> tuple[dict[str, float | None], list[CheckResult]]:
    """Metrics are computed on the model's frames ("real" is the training split); the holdout
    is the reference for the privacy metrics, for ml_efficacy and for `min_relative`. The
    costlier disclosure metrics (nndr, membership_inference_auc, k_anonymity,
    reidentification_risk), the per-column fidelity metrics and ml_efficacy run only when a
    check names them. A metric that raises gives an ``error`` result (it blocks publishing)
    whose message names the exception type only. A metric that cannot be computed is
    ``not_evaluated`` with the reason and the sizes involved (it blocks publishing unless its
    check says ``not_evaluated: allow``). Sampled metrics carry an interval (see
    ``metrics.intervals``) and every check of one reports n_train, n_holdout and n_synthetic.

    ``tiny_rows``: set on a tiny table (see ``engine.tiny``) to the rows it would need not to
    be; the checks of estimated metrics are then not evaluated, whatever their value.

    ``population``: the full frames when ``train``, ``holdout`` and ``synthetic`` are bounded
    samples of them (``engine.checked``); sampled checks then also report n_train_total,
    n_holdout_total and n_synthetic_total. ``computed``: receives what the report reuses.
    ``meanwhile``: other work of the caller's, run here while dcr_share's search may still be
    running on its thread (it would otherwise only be waited for)."""
    from synthspec.engine.tiny import real_row_positions
    from synthspec.metrics.fidelity import coded_categories, quality_scores

    metrics: dict[str, float | None] = {}
    details: dict[str, dict[str, object]] = {}
    reasons: dict[str, str] = {}
    errors: dict[str, str] = {}
    intervals: dict[str, Interval] = {}
    relative: dict[str, float | None] = {}
    full = population or Population(train, holdout, len(synthetic))
    computed = computed if computed is not None else Computed()
    if kinds:
        # dcr_share's nearest-neighbour search (numpy kernels that release the GIL) runs on the
        # second core while the quality scores run here; its results are merged at the point
        # they always were, so the reports list them in the same order.
        privacy: tuple[dict[str, float | None], dict[str, Interval], dict[str, dict[str, object]]] = ({}, {}, {})
        pending = None
        if len(holdout) >= MIN_HOLDOUT_ROWS:
            pending = _in_background(_holdout_privacy, train, holdout, synthetic, kinds, seed, *privacy, full, computed)
        try:
            coded_train, coded_holdout, coded_synthetic = coded_categories([train, holdout, synthetic], kinds)
            quality = quality_scores(coded_train, coded_synthetic, kinds, coded=True)
            computed.quality = quality
            for name in _QUALITY:
                metrics[name] = getattr(quality, name)
            if set(checks) & set(_QUALITY) and tiny_rows is None:
                intervals.update(_quality_intervals(coded_train, coded_synthetic, kinds, quality, seed))
            wanted_relative = [name for name, check in checks.items() if check.min_relative is not None]
            if wanted_relative and len(holdout) >= MIN_HOLDOUT_ROWS:
                _relative_quality(coded_train, coded_holdout, coded_synthetic, kinds, wanted_relative, seed, relative,
                                  intervals, details, reasons)
            elif wanted_relative:
                reasons.update({name: f"min_relative compares with the holdout's own score, and a holdout of {len(holdout)} "
                                      f"rows is fewer than {MIN_HOLDOUT_ROWS}: raise `holdout:` or add rows" for name in wanted_relative})
            if meanwhile is not None:
                meanwhile()
        finally:
            if pending is not None:
                pending.result()  # its exception, if any, is the run's
        for merged, found in zip((metrics, intervals, details), privacy, strict=True):
            merged.update(found)  # type: ignore[attr-defined]
        if "real_row_matches" in checks:  # hashing every row costs ~0.3 s on Adult: only when gated
            real = pd.concat([full.train, full.holdout], ignore_index=True)
            metrics["real_row_matches"] = float(len(real_row_positions(synthetic, real, kinds)))
        reasons.update(_disclosure(train, holdout, synthetic, kinds, set(checks), seed, quasi_identifiers or [],
                                   epsilon, delta, metrics, details))
        reasons.update(_fidelity(train, synthetic, kinds, set(checks), quality, metrics, details))
        if "ml_efficacy" in checks:
            reasons.update(_utility(train, holdout, synthetic, kinds, checks["ml_efficacy"].target, seed,
                                    metrics, details, errors))
    elif meanwhile is not None:
        meanwhile()
    for name, value in (extra or {}).items():
        if value is not None:
            metrics[name] = value
    intervals.update(extra_intervals or {})
    reasons.update(_size_reasons(len(train), len(holdout), kinds, checks, tiny_rows))
    sizes = {"n_train": len(train), "n_holdout": len(holdout), "n_synthetic": len(synthetic),
             "n_train_total": len(full.train), "n_holdout_total": len(full.holdout), "n_synthetic_total": full.n_synthetic}
    results = []
    for name, spec in checks.items():
        if name in errors:
            results.append(error_result(name, spec.min, spec.max, spec.severity, message=errors[name]))
            continue
        metric = METRICS.get(name)
        replaced = tiny_rows is not None and metric is not None and metric.sampled
        result = evaluate(name, None if replaced else metrics.get(name), spec.min, spec.max, spec.severity,
                          reason=reasons.get(name), not_evaluated=spec.not_evaluated or "block",
                          interval=intervals.get(name), min_relative=spec.min_relative, relative=relative.get(name),
                          relative_interval=intervals.get(f"{name}:relative"), decide=spec.decide or "interval")
        result.details.update(details.get(name, {}))
        if metric is not None and metric.action and result.outcome in (Outcome.FAILED, Outcome.WARN):
            result.message = f"{result.message}: {metric.action}"
        if metric is not None and metric.sampled:
            result.details.update(sizes)
        results.append(result)
    return metrics, results


def _in_background(function: Callable[..., None], *args: object) -> Future[None]:
    """``function(*args)`` on a thread of its own (one-shot; the caller collects its result)."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(function, *args)
    finally:
        pool.shutdown(wait=False)


def _quality_intervals(train: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, str],
                       quality: FidelityScores, seed: int) -> dict[str, Interval]:
    """Bootstrap intervals of the three QualityReport scores (one resampled report per replicate);
    the frames' categorical columns are shared codes (``coded_categories``)."""
    return _quality_bootstrap(train, synthetic, kinds, _scores(quality), seed)


def _quality_bootstrap(real: pd.DataFrame, other: pd.DataFrame, kinds: Mapping[str, str],
                       points: dict[str, float | None], seed: int) -> dict[str, Interval]:
    """``intervals.bootstrap`` of the three QualityReport scores of ``real`` vs ``other`` (coded
    frames), the replicates resampled as numpy arrays (``fidelity.ColumnArrays``)."""
    from synthspec.metrics.fidelity import column_arrays, quality_scores
    from synthspec.metrics.intervals import bootstrap

    frames = [column_arrays(frame, kinds, coded=True) for frame in (real, other)]
    return bootstrap(lambda a, b: _scores(quality_scores(a, b, kinds, coded=True)), frames, points, seed=seed)


#: Rows per side of the `min_relative` comparison (training, holdout, synthetic subsamples).
RELATIVE_MAX_ROWS = 5000


def _relative_quality(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, str],
                      names: list[str], seed: int, relative: dict[str, float | None], intervals: dict[str, Interval],
                      details: dict[str, dict[str, object]], reasons: dict[str, str]) -> None:
    """Synthetic quality over the quality real data scores at the same size: the holdout against
    the training rows (the baseline), and a seeded subsample of the synthetic rows as large as
    the holdout against the same training rows. Sets ``relative[name]`` and its interval under
    ``"<name>:relative"``."""
    import numpy as np

    from synthspec.metrics.fidelity import quality_scores
    from synthspec.metrics.intervals import ratio_interval

    rng = np.random.default_rng([seed, 0x5A3E])

    def at_most(frame: pd.DataFrame, rows: int) -> pd.DataFrame:
        return frame if len(frame) <= rows else frame.iloc[np.sort(rng.choice(len(frame), rows, replace=False))].reset_index(drop=True)

    # Both sides at one size, capped (the ratio is a comparison at equal sizes, not the full
    # table's score): two reports on 26k x 6.5k Adult rows cost ~2 s, at 5k rows ~0.4 s.
    train, holdout = at_most(train, RELATIVE_MAX_ROWS), at_most(holdout, RELATIVE_MAX_ROWS)
    n = len(holdout)
    same_size = at_most(synthetic, n)
    baseline = _scores(quality_scores(train, holdout, kinds, coded=True))
    synthetic_score = _scores(quality_scores(train, same_size.reset_index(drop=True), kinds, coded=True))
    spread = _quality_bootstrap(train, holdout, kinds, baseline, seed)
    for name in names:
        base, ours = baseline.get(name), synthetic_score.get(name)
        if base is None or ours is None or base <= 0:
            where = "the real holdout" if base is None or base <= 0 else "the synthetic rows"
            reasons[name] = f"min_relative: {name} is undefined on {where} at {n} rows"
            continue
        relative[name] = ours / base
        interval = ratio_interval(relative[name], base, spread.get(name))
        if interval is not None:
            intervals[f"{name}:relative"] = interval
        details.setdefault(name, {}).update({"baseline": base, "synthetic_at_holdout_size": ours})


def _holdout_privacy(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, str],
                     seed: int, metrics: dict[str, float | None], intervals: dict[str, Interval],
                     details: dict[str, dict[str, object]], full: Population, computed: Computed) -> None:
    """dcr_share and exact_match_rate with their Wilson intervals. dcr_share's noise comes from
    the synthetic rows and from the references on each side: its effective number of trials
    is ``1 / (1/n_synthetic + 1/(2 n_reference))`` (variances add), so few holdout rows give a
    wide interval even under many synthetic rows. exact_match_rate looks the (sampled)
    synthetic rows up among *all* real rows: a sample of the reference would miss matches."""
    from synthspec.metrics.intervals import wilson
    from synthspec.metrics.privacy import dcr_share, exact_match_rate

    dcr = dcr_share(train, holdout, synthetic, kinds, seed=seed)
    computed.dcr_distances, computed.dcr_references = dcr.distances, dcr.n_reference
    metrics["dcr_share"] = dcr.share
    trials = max(1, int(1 / (1 / dcr.n_synthetic + 1 / (2 * dcr.n_reference))))
    details["dcr_share"] = {"n_synthetic_compared": dcr.n_synthetic, "n_reference": dcr.n_reference, "effective_trials": trials}
    if (interval := wilson(dcr.share * trials, trials)) is not None:
        intervals["dcr_share"] = interval
    exact = exact_match_rate(full.train, full.holdout, synthetic, kinds)
    metrics["exact_match_rate"] = exact.rate
    metrics["holdout_exact_match_rate"] = exact.holdout_rate
    details["exact_match_rate"] = {"holdout_rate": exact.holdout_rate}
    if (interval := wilson(exact.rate * exact.n_synthetic, exact.n_synthetic)) is not None:
        intervals["exact_match_rate"] = interval


def _scores(quality: FidelityScores) -> dict[str, float | None]:
    return {name: getattr(quality, name) for name in _QUALITY}


def _size_reasons(n_train: int, n_holdout: int, kinds: Mapping[str, str], checks: Mapping[str, CheckSpec],
                  tiny_rows: int | None = None) -> dict[str, str]:
    """Why the checks whose metric needs what this table lacks at run time are not evaluated,
    with the sizes involved (a table of one row has no holdout: it is never assessed)."""
    rows = n_train + n_holdout
    counted = f"{rows} row{'' if rows == 1 else 's'}"
    reasons: dict[str, str] = {}
    for name in checks:
        metric = METRICS.get(name)
        needs = metric.needs if metric is not None else frozenset()
        if not rows and needs:
            reasons[name] = "the table has no rows"
        elif tiny_rows is not None and metric is not None and metric.sampled:
            reasons[name] = (f"the table has {counted}, too few to estimate {name} (a holdout of {MIN_HOLDOUT_ROWS} rows "
                             f"needs {tiny_rows} rows): tiny-table policy, the model trained on every row and "
                             "real_row_matches replaces this check")
        elif "holdout" in needs and not n_holdout:
            reasons[name] = f"the table has {counted}, too few for a holdout (at least 2 rows are needed)"
        elif "holdout" in needs and n_holdout < MIN_HOLDOUT_ROWS:
            reasons[name] = (f"the table has {counted} and a holdout of {n_holdout}; a holdout metric needs at least "
                             f"{MIN_HOLDOUT_ROWS} holdout rows (a share over fewer is noise): raise `holdout:` or add rows")
        elif needs & {"modelled", "two_modelled", "numerical", "two_numerical", "categorical"} and not kinds:
            reasons[name] = "the table has no modelled column"
    return reasons


def _disclosure(train, holdout, synthetic, kinds, wanted: set[str], seed: int, qis: list[str],  # noqa: ANN001
                epsilon: float | None, delta: float | None, metrics: dict, details: dict) -> dict[str, str]:
    """The disclosure metrics that checks ask for; returns why any could not be computed."""
    from synthspec.metrics import disclosure

    reasons: dict[str, str] = {}
    if "nndr" in wanted and len(holdout) >= MIN_HOLDOUT_ROWS:
        result = disclosure.nndr(train, holdout, synthetic, kinds, seed=seed)
        metrics["nndr"] = result.share
        details["nndr"] = {"median_synthetic": result.median_synthetic, "median_holdout": result.median_holdout}
    if "membership_inference_auc" in wanted and len(holdout) >= MIN_HOLDOUT_ROWS:
        metrics["membership_inference_auc"] = disclosure.membership_inference_auc(train, holdout, synthetic, kinds, seed=seed)
        # A lower bound on risk, next to the upper bound differential privacy guarantees.
        details["membership_inference_auc"] = {
            "max_auc_allowed_by_epsilon": disclosure.max_auc_for_epsilon(epsilon, delta or 0.0) if epsilon is not None else None}
    usable = [q for q in qis if q in kinds]
    for name, compute in (("k_anonymity", lambda: float(disclosure.k_anonymity(synthetic, usable))),
                          ("reidentification_risk", lambda: float(disclosure.reidentification_risk(train, synthetic, usable)))):
        if name in wanted:
            if usable:
                metrics[name] = compute()
            else:
                reasons[name] = "needs privacy.quasi_identifiers (modelled columns)"
    return reasons


def _fidelity(train: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, str], wanted: set[str],
              quality: FidelityScores, metrics: dict[str, float | None], details: dict[str, dict[str, object]]) -> dict[str, str]:
    """The per-column fidelity metrics and correlation_distance that checks ask for. Per-column
    scores go into ``metrics`` as ``<metric>:<column>``; returns why any could not be computed."""
    from synthspec.metrics import adherence

    reasons: dict[str, str] = {}
    scores: dict[str, adherence.ColumnScores] = {}
    if wanted & {"ks_complement", "tv_complement"}:
        # The QualityReport's Column Shapes scores are exactly these: regrouped, not recomputed.
        scores["ks_complement"], scores["tv_complement"] = adherence.shape_scores(quality.column_shape_scores, kinds)
    if "boundary_adherence" in wanted:
        scores["boundary_adherence"] = adherence.boundary_adherence(train, synthetic, kinds)
    if "category_adherence" in wanted:
        scores["category_adherence"] = adherence.category_adherence(train, synthetic, kinds)
    for name, kind in _PER_COLUMN.items():
        if name not in wanted:
            continue
        result = scores[name]
        metrics[name] = result.value
        metrics.update({f"{name}:{column}": value for column, value in result.columns.items()})
        details[name] = {"worst_column": result.worst}
        if result.value is None:
            reasons[name] = f"{name} needs a {kind} column with values in both the training split and the output"
    if "correlation_distance" in wanted:
        distance = adherence.correlation_distance(train, synthetic, kinds)
        metrics["correlation_distance"] = distance.value
        details["correlation_distance"] = {"pairs": sum(v is not None for v in distance.pairs.values())}
        if distance.value is None:
            reasons["correlation_distance"] = "correlation_distance needs two numerical columns whose correlation is defined in both frames"
    return reasons


def _utility(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, kinds: Mapping[str, str],
             target: str | None, seed: int, metrics: dict[str, float | None], details: dict[str, dict[str, object]],
             errors: dict[str, str]) -> dict[str, str]:
    """ml_efficacy on the check's target; returns why it could not be computed."""
    if target is None or target not in kinds:
        return {"ml_efficacy": "ml_efficacy needs `target`, a modelled column"}
    if not len(holdout):
        return {"ml_efficacy": "ml_efficacy needs holdout rows to test on"}
    from synthspec.metrics.utility import ml_efficacy

    try:
        result = ml_efficacy(train, holdout, synthetic, kinds, target, seed=seed)
    except Exception as exc:  # a failed model must block, and its message may quote data
        errors["ml_efficacy"] = f"ml_efficacy could not be computed ({type(exc).__name__})"
        return {}
    metrics["ml_efficacy"] = result.value
    details["ml_efficacy"] = {"target": target, **result.details()}
    return {"ml_efficacy": result.reason} if result.reason else {}
