"""The CPU-bound part of applying one table: fit (or load) the model, sample, decode and check.

Everything here works on plain values handed over by the parent process (a picklable
:class:`TableJob`), never on a database connection, so `apply --jobs N` can run it in worker
processes while the parent alone reads sources and publishes (DuckDB allows one writer).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthspec.engine.columns import ColumnPlan
from synthspec.engine.progress import progress_bar
from synthspec.errors import EnvironmentError_, SynthspecError
from synthspec.io.compact import distinct, objects, widened
from synthspec.metrics.checks import CheckResult
from synthspec.models.base import Budget, ModelColumn, Synthesizer
from synthspec.models.registry import get_model
from synthspec.spec.models import CheckSpec, TableSpec
from synthspec.spec.relations import Reference

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from synthspec.engine.checks import Computed, Population
    from synthspec.engine.relational import Relations, SyntheticParent
    from synthspec.metrics.insights import TableInsights
    from synthspec.metrics.profile import ColumnProfile


@dataclass
class RefInputs:
    """What one reference needs: the parent's training rows and their children counts (for the
    count model), the real parent keys (for the cardinality metric) and, for a reference to
    another table, the parent's synthetic rows to draw against."""

    ref: Reference
    parent_columns: list[ModelColumn]
    parent_train: pd.DataFrame
    counts: np.ndarray
    real_parent_keys: pd.Series
    synthetic: SyntheticParent | None  # None: a self-reference


@dataclass
class TableJob:
    table: str
    action: str  # train | resample | recheck
    model: str
    spec: TableSpec
    plans: list[ColumnPlan]
    checks: dict[str, CheckSpec]
    rows: int
    explicit_rows: bool
    source: pd.DataFrame
    encoded: pd.DataFrame
    train_idx: np.ndarray
    holdout_idx: np.ndarray
    secrets: dict[str, bytes]
    state_dir: Path
    training_fp: str
    cached_dir: Path | None = None  # a hash-verified cached model (resample)
    budget: Budget | None = None  # reserved in the ledger before the job was handed out
    refs: list[RefInputs] = field(default_factory=list)
    given: list[ModelColumn] = field(default_factory=list)  # parent columns the model conditions on
    train_context: pd.DataFrame | None = None  # their real values for the training rows
    published: pd.DataFrame | None = None  # recheck: the published rows
    published_epsilon: float | None = None
    show_progress: bool = False
    threshold_sources: dict[str, str] = field(default_factory=dict)  # per check: spec, guardrail... (report)
    column_types: list[tuple[str, str]] = field(default_factory=list)  # the published columns (Parquet parts)
    executor: str = "local"  # ray: the shards of a big output are drawn as Ray tasks (engine/ray_executor.py)
    shardable: bool = False  # no references either way: big outputs are drawn in shards (engine/shards.py)


@dataclass
class JobResult:
    output: pd.DataFrame
    metrics: dict[str, float | None]
    checks: list[CheckResult]
    timings: dict[str, float]
    action: str
    reasons: list[str] = field(default_factory=list)
    artifact_sha256: str | None = None  # set when a model was trained and cached
    profile: list[ColumnProfile] | None = None  # real vs synthetic distributions, for report.html
    insights: TableInsights | None = None  # the rest of the report's charts (metrics.insights)
    #: a sharded output: every row is in these Parquet parts (``output`` holds the first shard)
    parts: list[Path] = field(default_factory=list)
    rows: int | None = None  # rows of the whole output (default: ``len(output)``)

    @property
    def total_rows(self) -> int:
        return len(self.output) if self.rows is None else self.rows


def limit_threads(threads: int) -> None:
    """Worker initializer: cap every numeric library at ``threads`` threads."""
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[name] = str(threads)
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    # torch reads OMP_NUM_THREADS when it is imported (by an SDV model, if at all): importing it
    # here would cost every worker seconds for nothing.
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


@contextmanager
def timed(timings: dict[str, float], key: str, table: str | None = None) -> Iterator[None]:
    """Add the stage's seconds to ``timings[key]`` and record ``<stage>_peak_mb``: the process's
    peak RSS at the end of the stage. The peak never decreases, so it is "peak so far" (an upper
    bound on the stage's own need); getrusage is one cheap syscall, not a sampler. With
    ``table``, the stage's start is a run event (``synthspec.engine.events``)."""
    from synthspec.engine.events import emit

    emit(table, key.removesuffix("_s"))
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = timings.get(key, 0.0) + time.perf_counter() - start
        peak = peak_rss_mb()
        if peak is not None:
            timings[key.removesuffix("_s") + "_peak_mb"] = peak


def peak_rss_mb() -> float | None:
    """This process's peak resident set size in MB (None where getrusage does not exist)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / 2**20 if sys.platform == "darwin" else peak / 1024, 1)  # bytes on macOS, KiB on Linux


@contextmanager
def model_errors(model: str, stage: str) -> Iterator[None]:
    """A model's own exception becomes a table error. Only the exception class is shown:
    library messages may quote data values."""
    try:
        yield
    except (SynthspecError, MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise EnvironmentError_(f"model '{model}' failed during {stage}: {exc.__class__.__name__} (run with --debug for details)") from exc


def compute(job: TableJob) -> JobResult:
    from synthspec.engine.checked import check_sample
    from synthspec.engine.checks import Computed, run_checks
    from synthspec.engine.codec import model_columns
    from synthspec.engine.tiny import smallest_assessable
    from synthspec.metrics.profile import column_profiles

    spec = job.spec
    timings: dict[str, float] = {}
    result_action, reasons, digest = job.action, [], None
    train = job.encoded.iloc[job.train_idx].reset_index(drop=True)
    holdout = job.encoded.iloc[job.holdout_idx].reset_index(drop=True)
    columns = model_columns(job.plans)
    epsilon: float | None
    parts: list[Path] = []
    if job.action == "recheck":
        assert job.published is not None
        output, epsilon = job.published, job.published_epsilon
        # What is checked is what is published, in one canonical form on both paths, on at most
        # CHECK_ROWS rows (engine/checked.py).
        synthetic = check_sample([output], job.plans)
        leakage = _leakage(job.source, output, job.plans)
    else:
        if job.action == "resample" and job.cached_dir is None:
            result_action, reasons = "train", ["no cached model"]
        model, relations, digest = fitted_model(job, train, columns, timings, train_model=result_action == "train")
        with timed(timings, "sample_s", job.table):
            output, synthetic, parts, leakage = _draw_all(job, model, relations, {c.name: c.kind for c in columns})
        epsilon = model.epsilon_spent if model is not None else None

    kinds = {c.name: c.kind for c in columns}
    tiny_rows = smallest_assessable(spec.holdout) if len(job.encoded) > 1 and not len(job.holdout_idx) else None
    with timed(timings, "checks_s", job.table):
        train, holdout, population = _check_frames(job, train, holdout, job.rows if parts else len(output))
        computed = Computed()
        from synthspec.metrics.intervals import ks_similarity

        relational_metrics = _relational_metrics(job, output)
        sizes = relational_metrics.pop("_cardinality_sizes", None)
        extra_intervals = {}
        if sizes is not None and (interval := ks_similarity(relational_metrics["cardinality"], *sizes)) is not None:
            extra_intervals["cardinality"] = interval
        if parts and "key_uniqueness" in relational_metrics:  # over every part, not the first shard's rows
            from synthspec.engine.shards import key_duplicates

            total, duplicated = key_duplicates(parts, [p.name for p in job.plans if p.spec.primary_key])
            relational_metrics["key_uniqueness"] = 1.0 - duplicated / total if total else 1.0
        extra = {"epsilon_spent": epsilon, **leakage, **relational_metrics}
        profiles: list[list[ColumnProfile]] = []

        def profile_columns() -> None:  # the report's grids, while dcr_share's search runs
            profiles.append(column_profiles(train, synthetic, kinds, datetimes={c.name for c in columns if c.datetime}))

        metrics, checks = run_checks(train, holdout, synthetic, kinds, job.checks, seed=spec.model.seed, extra=extra,
                                     quasi_identifiers=spec.privacy.quasi_identifiers,
                                     epsilon=spec.privacy.epsilon, delta=spec.privacy.delta, tiny_rows=tiny_rows,
                                     extra_intervals=extra_intervals, population=population, computed=computed,
                                     meanwhile=profile_columns)
        profile = profiles[0]
    for check in checks:
        if check.metric in job.threshold_sources:
            check.details["threshold_from"] = job.threshold_sources[check.metric]
    with timed(timings, "report_s", job.table):
        insights = report_insights(job, train, holdout, synthetic, kinds, profile, computed, population)
    return JobResult(output, metrics, checks, timings, result_action, reasons, digest, profile, insights,
                     parts=parts, rows=job.rows if parts else None)


@dataclass
class ShardOut:
    """One drawn shard, as the table's compute needs it back: its candidates for the checks'
    sample (``engine.checked.sample_candidates``), its pii_leakage count and its Parquet part."""

    candidates: tuple[pd.DataFrame, np.ndarray]
    leaked: float
    part: Path | None
    output: pd.DataFrame | None = None  # the publish-ready rows, kept for shard 0 only


def draw_shard(job: TableJob, model: Synthesizer | None, relations: Relations | None, kinds: dict[str, str],
               shard: Any, shards_in_all: int, memo: dict[str, Any], directory: Path | None, *,
               keep: bool = False) -> ShardOut:
    """Draw, decode and write one shard (``engine.shards``): the same rows wherever it runs
    (here, or as a Ray task: ``engine.ray_executor.draw_shards``)."""
    from synthspec.engine import shards
    from synthspec.engine.checked import sample_candidates

    shard_seed, kwargs = shards.draw_args(job.spec.model.seed, shard, shards_in_all)
    synthetic, output = draw_gated(job, model, relations, kinds, seed=shard_seed, memo=memo, **kwargs)
    leaked = _leakage(job.source, output, job.plans)["pii_leakage"] or 0.0
    part = shards.write_part(output, job.column_types, shards.part_path(directory, shard.index)) if directory is not None else None
    return ShardOut(sample_candidates(output, job.plans), leaked, part, output if keep else None)


def draw_gated(job: TableJob, model: Synthesizer | None, relations: Relations | None, kinds: dict[str, str], *,
               seed: int, memo: dict[str, Any], **shard: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``draw``, then, under ``real_row_matches: {max: 0}`` (tiny tables), the rows equal to a
    real row replaced (``tiny.avoid_real_rows``): what `apply` publishes and `sample` writes."""
    from synthspec.engine.tiny import avoid_real_rows

    synthetic, output = draw(job, model, relations, seed=seed, memo=memo, **shard)
    if (check := job.checks.get("real_row_matches")) is not None and check.max == 0:
        synthetic, output = avoid_real_rows(job, model, relations, synthetic, output, kinds, seed=seed, **shard)
    return synthetic, output


def _draw_all(job: TableJob, model: Synthesizer | None, relations: Relations | None,
              kinds: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame, list[Path], dict[str, float | None]]:
    """Every shard of the output (``engine.shards``): the first shard's publish-ready rows,
    the checks' sample of all rows in their canonical form (``engine.checked``), the Parquet
    parts (none when there is one shard: the rows stay in memory) and pii_leakage over all
    rows. Only the first shard and the sample stay in memory. With ``--executor ray`` the
    shards after the first are drawn as Ray tasks while this one draws the first."""
    from synthspec.engine import shards
    from synthspec.engine.checked import merge_candidates

    layout = shards.layout(job.rows, shardable=job.shardable)
    memo: dict[str, Any] = {}
    directory = shards.parts_dir(job.state_dir, job.table) if len(layout) > 1 else None
    leaked, parts, first = [0.0], [], []

    def drawn(bar: Callable[[int, int], Any]) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        """The shards in order, one at a time (their candidates are merged as they come)."""
        if job.executor == "ray" and len(layout) > 1:
            from synthspec.engine.ray_executor import draw_shards

            outs = draw_shards(job, model, kinds, layout, directory, memo)
        else:
            outs = (draw_shard(job, model, relations, kinds, shard, len(layout), memo, directory, keep=shard.index == 0)
                    for shard in layout)
        for index, out in enumerate(outs):
            leaked[0] += out.leaked
            parts.extend([out.part] if out.part is not None else [])
            first.extend([out.output] if out.output is not None else [])
            bar(index + 1, len(layout))
            yield out.candidates

    try:
        with progress_bar(f"{job.table}: sampling", enabled=job.show_progress, table=job.table, stage="sample") as bar:
            sample = merge_candidates(drawn(bar), job.plans)
    except BaseException:
        if directory is not None:  # a failed or interrupted draw leaves no part behind
            shutil.rmtree(directory, ignore_errors=True)
        raise
    leakage = {"pii_leakage": leaked[0] if pii_columns(job.plans) else None}
    return first[0], sample, parts, leakage


def _check_frames(job: TableJob, train: pd.DataFrame, holdout: pd.DataFrame,
                  n_synthetic: int) -> tuple[pd.DataFrame, pd.DataFrame, Population]:
    """The training split and holdout the checks and the report score (at most CHECK_ROWS rows
    each, seeded: engine/checked.py; the synthetic side is ``check_sample``), and the full
    table behind them, for the metrics where every row counts and for the sizes reported."""
    from synthspec.engine.checked import real_sample
    from synthspec.engine.checks import Population

    seed = job.spec.model.seed
    return (widened(real_sample(train, seed, 0)), widened(real_sample(holdout, seed, 1)),
            Population(train, holdout, n_synthetic))


def report_insights(job: TableJob, train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
                    kinds: dict[str, str], profile: list[ColumnProfile], computed: Computed | None = None,
                    population: Population | None = None) -> TableInsights:
    """The report's data beyond the checks (see ``metrics.insights``), while the rows are at
    hand. A failure here never blocks publishing: the report says what is missing and why.

    ``computed``: what ``run_checks`` already has (the QualityReport, dcr_share's distances),
    reused rather than computed again; ``population``: the full frames when the others are
    samples of them (the run details then say so)."""
    from synthspec.engine.tiny import MIN_HOLDOUT_ROWS
    from synthspec.metrics.fidelity import quality_scores
    from synthspec.metrics.insights import TableInsights, table_insights
    from synthspec.metrics.privacy import DCR_MAX_ROWS, dcr_distances

    seed = job.spec.model.seed
    sizes = {"seed": seed, "n_train": len(train), "n_holdout": len(holdout), "n_synthetic": len(synthetic),
             "training_fingerprint": job.training_fp, **_totals(train, holdout, synthetic, population)}
    if not kinds or not len(train) or not len(synthetic):
        return TableInsights(**sizes)
    computed = computed or Computed()
    try:
        quality = computed.quality or quality_scores(train, synthetic, kinds)
        # The histograms show the distances dcr_share measured (5000 rows at most; computed
        # once: the cost is quadratic in the rows compared).
        distances, references = computed.dcr_distances, computed.dcr_references
        if distances is None and len(holdout) >= MIN_HOLDOUT_ROWS:
            distances = dcr_distances(train, holdout, synthetic, kinds, seed=seed)
            references = min(len(train), len(holdout), DCR_MAX_ROWS)
        insights = table_insights(train, holdout, synthetic, kinds, profile, seed=seed,
                                  column_scores=quality.column_shape_scores, pair_scores=quality.pair_scores,
                                  dcr_distances=distances)
    except Exception as exc:  # a report chart must not stop a gate; its message may quote data
        return TableInsights(**sizes, error=f"report details could not be computed ({type(exc).__name__})")
    insights.training_fingerprint = job.training_fp
    for key, value in _totals(train, holdout, synthetic, population).items():
        setattr(insights, key, value)
    if insights.dcr is not None:
        insights.dcr.references = references
    return insights


def _totals(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame,
            population: Population | None) -> dict[str, int]:
    """The full sizes of frames the report's data was computed on samples of (none when every
    row was used: the report then has nothing to say about sampling)."""
    if population is None:
        return {}
    totals = {"n_train_total": len(population.train), "n_holdout_total": len(population.holdout),
              "n_synthetic_total": population.n_synthetic}
    sampled = (len(train), len(holdout), len(synthetic)) != tuple(totals.values())
    return totals if sampled else {}


def draw(job: TableJob, model: Synthesizer | None, relations: Relations | None, *,
         seed: int | None = None, rows: int | None = None, offset: int = 0,
         memo: dict[str, Any] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The job's synthetic rows: as the model's frame (for the checks) and publish-ready.

    Lay out the rows (children: parents and context), sample, enforce bounds and constraints,
    decode (keys, foreign keys, PII policies), then assign self-references. ``seed`` defaults
    to the spec's; `apply` and `sample` share this path, so they draw the same rows.

    ``rows`` and ``offset`` draw one shard of a table without references (``engine.shards``):
    ``rows`` rows whose generated keys continue from position ``offset``. ``memo`` keeps what
    every shard of one job shares (the learnt dependencies, the real values to avoid)."""
    import numpy as np
    import pandas as pd

    from synthspec.engine import codec, relational, sequence

    spec = job.spec
    seed = spec.model.seed if seed is None else seed
    memo = {} if memo is None else memo
    parents = {r.ref.parent: r.synthetic for r in job.refs if r.synthetic is not None}
    layout = relational.ChildLayout(job.rows if rows is None else rows, None, {})
    # A child's rows get their own random stream: with its parents' seed, row i of both would
    # be correlated through the RNG alone.
    row_seed = relational.derived_seed(seed, "rows", job.table) if parents else seed
    if relations is not None:
        driving = next((r for r in job.refs if r.synthetic is not None), None)
        rows = job.rows if driving is None or driving.synthetic is None else relational.child_rows(
            job.rows, explicit=job.explicit_rows, real_parents=len(driving.real_parent_keys),
            synthetic_parents=len(driving.synthetic.keys))
        layout = relational.layout(relations, parents, rows, seed, unique=_foreign_key_primary_key(job.plans))
    sequential = spec.sequence is not None and bool(job.given) and layout.parent_rows is not None
    with model_errors(job.model, "sampling"):
        if model is None:
            sampled = None
        elif sequential:
            assert spec.sequence is not None and layout.parent_rows is not None
            draw_rows = sequence.sample if spec.sequence.draw == "events" else sequence.sample_sorted
            sampled = draw_rows(model, layout.given, layout.parent_rows, spec.sequence.order_by, row_seed)
        elif layout.given is not None:
            sampled = model.sample(layout.n, seed=row_seed, given=layout.given).drop(columns=list(layout.given.columns))
        else:
            sampled = model.sample(layout.n, seed=row_seed)
    private = get_model(job.model).differentially_private
    donors = training_rows(job, memo)
    if sampled is not None and not private:
        # real ranges, granularity and supports, before constraints and checks (engine/codec.py)
        if "conform" not in memo:
            memo["conform"] = codec.conform_rules(job.plans, donors)
        sampled = codec.conform(sampled, memo["conform"])
    synthetic = (codec.enforce(sampled, job.plans, spec.constraints, context=layout.context) if sampled is not None
                 else widened(job.encoded.iloc[:0]).reindex(range(layout.n)))
    if sequential and sampled is not None:  # a constraint may have mirrored an event out of order
        assert spec.sequence is not None and layout.parent_rows is not None
        synthetic = sequence.reorder(synthetic, layout.parent_rows, spec.sequence.order_by)
    if sampled is not None and not private:
        # city -> country and the like: kept exactly where the real data has them (engine/dependencies.py)
        from synthspec.engine import dependencies
        from synthspec.spec.models import DEFAULT_RARE_TOKEN

        if "dependencies" not in memo:
            categorical = [c.name for c in codec.model_columns(job.plans) if c.kind == "categorical"]
            plan_of = {p.name: p for p in job.plans if p.name in categorical}
            # one column at a time: the training rows' encoding, and the same rows protected
            memo["dependencies"] = dependencies.learn_columns(
                categorical, lambda c: codec.encode(donors[[c]], [plan_of[c]])[c],
                lambda c: job.encoded[c].iloc[job.train_idx], token=DEFAULT_RARE_TOKEN)
        synthetic = dependencies.enforce(synthetic, memo["dependencies"])
    if "avoid" not in memo:
        memo["avoid"] = (_normalised_values(job.source, pii_columns(job.plans))
                         if any(p.role in ("post", "key") for p in job.plans) else None)
    pending_self = {r.ref.column: pd.Series([None] * layout.n, dtype=object) for r in job.refs if r.synthetic is None}
    output = codec.decode(synthetic, job.plans, donors, layout.n, np.random.default_rng(seed),
                          secrets=job.secrets, avoid=memo["avoid"], key_formats=job.source,
                          foreign_keys={**layout.foreign_keys, **pending_self}, offset=offset,
                          total=None if rows is None else job.rows)
    if pending_self and relations is not None:
        keys = output[primary_key_column(job.plans, job.table)]
        for column, values in relational.assign_self_references(relations, synthetic, keys, seed).items():
            output[column] = values
    return synthetic, output


def training_rows(job: TableJob, memo: dict[str, Any]) -> pd.DataFrame:
    """The source's training rows (the donors of policies and conformed values), copied out of
    the source once per job and kept in ``memo`` for its other shards: copying them per shard
    cost seconds a shard on a 10M-row table."""
    if DONORS not in memo:
        memo[DONORS] = job.source.iloc[job.train_idx].reset_index(drop=True)  # text still as codes
    return memo[DONORS]


#: The ``memo`` key of :func:`training_rows` (a Ray task recomputes it rather than receive it).
DONORS = "donors"


def fitted_model(job: TableJob, train: pd.DataFrame, columns: list[ModelColumn], timings: dict[str, float], *,
            train_model: bool) -> tuple[Synthesizer | None, Relations | None, str | None]:
    """The cached model and count models (resample), or newly fitted and cached ones."""
    import pandas as pd

    from synthspec.engine import relational, sequence
    from synthspec.io import state

    spec = job.spec
    cls = get_model(job.model)
    params = cls.Params.model_validate(spec.model.params)
    all_columns = [*job.given, *columns]
    if job.given:
        # The parents' attributes come first, so every column of the child is drawn given them.
        first = [c.name for c in job.given]
        params = params.model_copy(update={"visit_sequence": first + list(getattr(params, "visit_sequence", None) or [])})
    refs = [r.ref for r in job.refs]
    count_columns = {r.ref.column: relational.count_model_columns(r.parent_columns) for r in job.refs}
    if not train_model:
        assert job.cached_dir is not None
        model = cls.load(job.cached_dir, all_columns, params, spec.model.seed) if columns else None
        relations = relational.Relations.load(job.cached_dir, refs, count_columns) if refs else None
        return model, relations, None
    relations = None
    if refs:
        relations = relational.Relations(refs, [c.name for c in job.given if not sequence.is_step(c.name)])
        null_share = job.source[[r.column for r in refs]].iloc[job.train_idx].isna().mean() if len(job.train_idx) else None
        for r in job.refs:
            relations.counts[r.ref.column] = relational.fit_count_model(r.parent_train, r.parent_columns, r.counts, spec.model.seed)
            share = float(null_share[r.ref.column]) if null_share is not None else 0.0
            relations.stats[r.ref.column] = relational.RelationStats.of(share, r.counts)
    context = job.train_context
    if job.given and spec.sequence is not None:  # order_by as first values and gaps, plus each row's place
        train, steps = sequence.training(widened(train), sequence_groups(job), spec.sequence.order_by,
                                         events=spec.sequence.draw == "events")
        context = steps if context is None else pd.concat([context, steps], axis=1)
    grow_rows = subsample_rows(job, train, columns, private=cls.differentially_private)
    if grow_rows is not None and not cls.subsample_in_fit:
        train = train.iloc[grow_rows].reset_index(drop=True)
        context = None if context is None else context.iloc[grow_rows].reset_index(drop=True)
    train = train if cls.compact_numbers else widened(train)  # float64 numbers unless it reads float32 (io/compact.py)
    data: object = train
    if job.given:
        data = pd.concat([context, train], axis=1)
    if cls.differentially_private:
        from synthspec.privacy.dp import PrivateTable

        assert job.budget is not None
        data = PrivateTable(train, columns, job.budget)
    model = cls(all_columns, params, spec.model.seed, job.budget) if columns else None
    if model is not None:
        with timed(timings, "fit_s", job.table), progress_bar(f"{job.table}: training {job.model}", enabled=job.show_progress,
                                                              table=job.table, stage="fit") as bar, \
                model_errors(job.model, "training"):
            if grow_rows is not None and cls.subsample_in_fit:
                model.fit(data, progress=bar, grow_rows=grow_rows)  # type: ignore[call-arg]
            else:
                model.fit(data, progress=bar)

    def save(directory: Path) -> None:
        if model is not None:
            model.save(directory)
        if relations is not None:
            relations.save(directory)

    _, digest = state.store_model(job.state_dir, job.table, job.training_fp, save)
    return model, relations, digest


def sequence_groups(job: TableJob) -> np.ndarray:
    """The driving parent of every training row (a code per distinct key; -1: a null key)."""
    import numpy as np
    import pandas as pd

    driving = next(r for r in job.refs if r.synthetic is not None)
    keys = objects(job.source[driving.ref.column]).iloc[job.train_idx].reset_index(drop=True)
    return pd.factorize(keys)[0].astype(np.int64)


def subsample_rows(job: TableJob, train: pd.DataFrame, columns: list[ModelColumn], *, private: bool) -> np.ndarray | None:
    """Positions in ``train`` of the rows to fit on, or None for every row (engine/subsample.py).
    Only the fit sees the subsample; the checks and the donors of policies keep the whole split."""
    from synthspec.engine.subsample import subsample_applies, training_cap, training_rows

    cap = training_cap(job.spec.model.max_training_rows, private=private)
    if cap is None or not subsample_applies(cap, len(train)):
        return None
    return training_rows(train, {c.name: c.kind for c in columns}, cap, job.spec.model.seed, stratify=not private)


def _foreign_key_primary_key(plans: list[ColumnPlan]) -> list[str]:
    """The primary key's columns when every one of them is a foreign key (a link table)."""
    keys = [p for p in plans if p.spec.primary_key]
    return [p.name for p in keys] if keys and all(p.role == "ref" for p in keys) else []


def primary_key_column(plans: list[ColumnPlan], table: str) -> str:
    keys = [p.name for p in plans if p.spec.primary_key]
    if len(keys) != 1:
        from synthspec.errors import UsageError

        raise UsageError(f"table '{table}' is referenced, so it needs exactly one primary_key column")
    return keys[0]


def pii_columns(plans: list[ColumnPlan]) -> list[str]:
    """Columns whose real values must never appear in the output: every policy but keep."""
    return [plan.name for plan in plans if plan.spec.pii not in (None, "keep")]


def _normalised_values(source: pd.DataFrame, columns: list[str]) -> set[str]:
    from synthspec.privacy.policies import normalise_for_matching

    # Dropped columns of types no published cell can hold are not read (see engine/inputs.py).
    return {normalise_for_matching(v) for c in columns if c in source for v in distinct(source[c]).dropna().unique()}


def _leakage(source: pd.DataFrame, output: pd.DataFrame, plans: list[ColumnPlan]) -> dict[str, float | None]:
    """pii_leakage over the cells as published (CAST to the source types, see
    ``io.roundtrip``), so that a re-check of the published rows counts what publishing did."""
    columns = pii_columns(plans)
    if not columns:
        return {"pii_leakage": None}
    from synthspec.io.roundtrip import as_published
    from synthspec.metrics.disclosure import pii_leakage

    output = as_published(output, [(p.name, p.duckdb_type) for p in plans if p.name in output.columns])
    # Dropped columns of types no published cell can hold (BLOB, lists, STRUCT...) are not read,
    # so not scanned: none of their values can equal a published cell (see engine/inputs.py).
    return {"pii_leakage": float(pii_leakage({c: distinct(source[c]) for c in columns if c in source}, output).count)}


def _relational_metrics(job: TableJob, output: pd.DataFrame) -> dict[str, Any]:
    """key_uniqueness, and per reference: referential integrity of the output against the
    synthetic parent, and the similarity of children-per-parent counts to the real ones."""
    from synthspec.engine.relational import children_counts
    from synthspec.metrics.relational import (
        cardinality_similarity,
        key_uniqueness,
        referential_integrity,
    )

    metrics: dict[str, Any] = {}
    keys = [p.name for p in job.plans if p.spec.primary_key]
    if keys:
        metrics["key_uniqueness"] = key_uniqueness(output, keys)
    integrity, cardinality = [], []
    for r in job.refs:
        ref = r.ref
        synthetic_keys = output[ref.parent_column] if r.synthetic is None else r.synthetic.keys
        ri = referential_integrity(output[ref.column], synthetic_keys)
        real_counts = children_counts(r.real_parent_keys, objects(job.source[ref.column]))
        synthetic_counts = children_counts(synthetic_keys.reset_index(drop=True), output[ref.column])
        card = cardinality_similarity(real_counts, synthetic_counts)
        metrics[f"referential_integrity:{ref.column}"], metrics[f"cardinality:{ref.column}"] = ri, card
        integrity.append(ri)
        cardinality.append((card, len(real_counts), len(synthetic_counts)))
    if job.refs:
        metrics["referential_integrity"] = min(integrity)
        metrics["cardinality"], n_real, n_synthetic = min(cardinality)
        metrics["_cardinality_sizes"] = (n_real, n_synthetic)
    return metrics


__all__ = ["JobResult", "RefInputs", "TableJob", "compute", "draw", "fitted_model", "limit_threads", "model_errors", "pii_columns", "timed"]
