"""`synthspec apply`: per table, train (or reuse), sample, check, and publish only if every
error-severity check passes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from synthspec import __version__
from synthspec.engine.prepare import Prepared, RunPlan, prepare_run
from synthspec.engine.progress import progress_bar
from synthspec.engine.results import RunResult, TableResult, iso, utc_now, write_reports
from synthspec.engine.secrets import policy_secrets
from synthspec.errors import EnvironmentError_, ExitCode, SpecError, SynthspecError, UsageError
from synthspec.io import history, state, warehouse
from synthspec.io.warehouse import Connections
from synthspec.metrics.checks import Outcome
from synthspec.models.base import Budget, ModelColumn, Synthesizer
from synthspec.models.registry import get_model
from synthspec.spec.project import LoadedSpec, Project

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from synthspec.engine.relational import Relations


@dataclass
class ApplyOptions:
    force: bool = False
    fail_fast: bool = False
    show_progress: bool = True
    debug: bool = False  # re-raise table errors so the CLI shows the traceback


@dataclass
class RealTable:
    """A source read once per run: its rows, their model encoding and the train/holdout split."""

    source: pd.DataFrame
    encoded: pd.DataFrame
    train_idx: np.ndarray
    holdout_idx: np.ndarray


@dataclass
class Staged:
    """A table that passed its checks, waiting for its group to publish."""

    publication: history.Publication
    output: pd.DataFrame  # publish-ready values (the published ones for a re-check)
    action: str


@dataclass
class _Run:
    cons: Connections
    project: Project
    salt: bytes
    options: ApplyOptions
    plan: RunPlan
    real: dict[str, RealTable] = field(default_factory=dict)
    staged: dict[str, Staged] = field(default_factory=dict)

    def prepared(self, table: str) -> Prepared:
        p = self.plan.prepared[table]
        assert isinstance(p, Prepared)
        return p


def apply(project: Project, specs: list[LoadedSpec], options: ApplyOptions) -> RunResult:
    result = RunResult()
    salt = state.salt(project.state_dir)
    try:
        with warehouse.open_project(project, write=True) as cons:
            run = _Run(cons, project, salt, options, prepare_run(cons, project, specs, salt, force=options.force))
            for group in run.plan.groups():
                tables = _apply_group(run, group)
                result.tables.extend(tables)
                if options.fail_fast and any(t.exit_code != ExitCode.OK for t in tables):
                    break
    finally:
        result.finished_at = utc_now()
        write_reports(result, project.target_dir)
    return result


def _apply_group(run: _Run, group: list[str]) -> list[TableResult]:
    """Run every table of a group (tables linked by references, parents first), then publish
    all of their new versions in one transaction, or none if any of them failed."""
    results: list[TableResult] = []
    broken: dict[str, TableResult] = {}
    for table in group:
        blocked = next((parent for parent in run.plan.graph.parents(table) if parent in broken), None)
        if blocked is not None:
            out = TableResult(table=table, status="skipped", action="none")
            out.message = f"not run: referenced table '{blocked}' {broken[blocked].status}"
            broken[table] = out
        else:
            out = _apply_table(run, table)
            if out.status in ("failed", "error"):
                broken[table] = out
        results.append(out)
    staged = [t for t in group if t in run.staged]
    if broken:
        failed = ", ".join(sorted(t for t, r in broken.items() if r.status != "skipped"))
        for table in staged:
            out = next(r for r in results if r.table == table)
            out.status, out.published = "held", False
            out.message = f"checks passed but not published: linked table(s) {failed} did not pass (tables linked by references publish together)"
            record = run.staged.pop(table).publication.record
            record.status, record.published, record.version, record.message = "held", False, None, out.message
            history.record_run(_target(run), record)
        return results
    if staged:
        with _timed(results[0].timings if len(staged) == 1 else {}, "publish_s"):
            history.publish_all(_target(run), schema=run.project.config.target.schema_,
                                items=[run.staged[t].publication for t in staged], keep_versions=run.project.config.keep_versions)
        for out in results:
            if out.table in run.staged:
                out.status, out.published = "passed", True
    return results


def _target(run: _Run):  # noqa: ANN202
    assert run.cons.target is not None
    return run.cons.target


@contextmanager
def _timed(timings: dict[str, float], key: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = timings.get(key, 0.0) + time.perf_counter() - start


def _apply_table(run: _Run, table: str) -> TableResult:
    out = TableResult(table=table)
    started = utc_now()
    options = run.options
    try:
        prepared = run.plan.prepared[table]
        if isinstance(prepared, SynthspecError):
            raise prepared
        out.model, out.fingerprint, out.action = prepared.model, prepared.fps.training, prepared.action
        if prepared.action == "none":
            out.status, out.rows, out.published = "up_to_date", prepared.rows, True
            _record_up_to_date(run.cons, prepared, out, started)
            return out
        _run(run, prepared, out, started)
    except SpecError as exc:
        if options.debug:
            raise
        out.status, out.exit_code, out.message = "error", exc.exit_code, "; ".join(exc.lines())
    except SynthspecError as exc:
        if options.debug:
            raise
        out.status, out.exit_code, out.message = "error", exc.exit_code, str(exc)
    except MemoryError:
        out.status, out.exit_code, out.message = "error", ExitCode.ENVIRONMENT, "out of memory"
    return out


def _read_real(run: _Run, p: Prepared) -> RealTable:
    """The source rows and their split, once per run. A child row is held out exactly when its
    parent (through the first reference) is, so no parent is seen in training through its
    children while its own row is in the holdout; rows without a parent split at random."""
    import numpy as np

    from synthspec.engine import codec

    if p.table in run.real:
        return run.real[p.table]
    spec = p.loaded.spec
    source = warehouse.read_source(run.cons, p.loaded, run.project, [c for c, _ in p.source_columns])
    encoded = codec.encode(source, p.plans)
    train_idx, holdout_idx = split_indices(len(source), spec.holdout, spec.model.seed)
    driving = next((r for r in p.refs if not r.self_reference), None)
    if driving is not None and len(source) > 1:
        parent = _read_real(run, run.prepared(driving.parent))
        parent_keys = parent.source[driving.parent_column]
        held_keys = parent_keys.iloc[parent.holdout_idx]
        fk = source[driving.column]
        linked = fk.isin(parent_keys).to_numpy()
        held = fk.isin(held_keys).to_numpy()
        loose = np.flatnonzero(~linked)
        loose_train, loose_holdout = split_indices(len(loose), spec.holdout, spec.model.seed) if len(loose) > 1 else (np.arange(len(loose)), np.zeros(0, np.int64))
        train = np.sort(np.r_[np.flatnonzero(linked & ~held), loose[loose_train]]).astype(np.int64)
        holdout = np.sort(np.r_[np.flatnonzero(held), loose[loose_holdout]]).astype(np.int64)
        if len(train) and len(holdout):
            train_idx, holdout_idx = train, holdout
    run.real[p.table] = RealTable(source, encoded, train_idx, holdout_idx)
    return run.real[p.table]


def _synthetic_parent(run: _Run, table: str) -> tuple[Prepared, pd.DataFrame]:
    """A referenced table's synthetic rows: this run's new ones, else the published ones."""
    p = run.prepared(table)
    if table in run.staged:
        return p, run.staged[table].output
    if p.published is None:
        raise UsageError(f"referenced table '{table}' has no published synthetic version yet: apply it first or select it too (--select {table})")
    return p, history.read_published(_target(run), table, p.published.version)


def _run(run: _Run, p: Prepared, out: TableResult, started) -> None:  # noqa: ANN001
    # numpy/pandas and the metrics load here, so that an up-to-date apply starts fast.
    import numpy as np
    import pandas as pd

    from synthspec.engine import codec, relational
    from synthspec.engine.checks import run_checks

    project, options = run.project, run.options
    spec = p.loaded.spec
    with _timed(out.timings, "read_s"):
        real = _read_real(run, p)
        source = real.source
        train = real.encoded.iloc[real.train_idx].reset_index(drop=True)
        holdout = real.encoded.iloc[real.holdout_idx].reset_index(drop=True)
        donors = source.iloc[real.train_idx].reset_index(drop=True)
        parents = {r.parent: _synthetic_parent(run, r.parent) for r in p.refs if not r.self_reference}
    columns = codec.model_columns(p.plans)

    if p.action == "recheck":
        assert p.published is not None
        with _timed(out.timings, "sample_s"):
            output = history.read_published(_target(run), p.table, p.published.version)
            synthetic = codec.encode(output, p.plans)
        epsilon = (p.published.metrics or {}).get("epsilon_spent")
    else:
        fitted = _fitted_model(run, p, out, started, train, columns)
        if fitted is None:
            return  # refused before fitting (privacy budget exhausted)
        model, relations = fitted
        with _timed(out.timings, "sample_s"), progress_bar(f"{p.table}: sampling", enabled=options.show_progress) as bar:
            layout = relational.ChildLayout(p.rows, None, {})
            # A child's rows get their own random stream: with its parents' seed, row i of both
            # would be correlated through the RNG alone.
            seed = relational.derived_seed(spec.model.seed, "rows", p.table) if parents else spec.model.seed
            if relations is not None:
                synthetic_parents = {t: relational.SyntheticParent(codec.encode(rows, pp.plans), rows[_key(pp)])
                                     for t, (pp, rows) in parents.items()}
                layout = relational.layout(relations, synthetic_parents, p.rows, spec.model.seed, explicit=_explicit_rows(p))
            with _model_errors(p.model, "sampling"):
                if model is None:
                    sampled = None
                elif layout.given is not None:
                    sampled = model.sample(layout.n, seed=seed, given=layout.given).drop(columns=list(layout.given.columns))
                else:
                    sampled = model.sample(layout.n, seed=seed)
            bar(1, 1)
            synthetic = codec.enforce(sampled, p.plans, spec.constraints) if sampled is not None else real.encoded.iloc[:0].reindex(range(layout.n))
            pii = _pii_columns(p)
            avoid = _normalised_values(source, pii) if any(pl.role in ("post", "key") for pl in p.plans) else None
            pending_self = {r.column: pd.Series([None] * layout.n, dtype=object) for r in p.refs if r.self_reference}
            output = codec.decode(synthetic, p.plans, donors, layout.n, np.random.default_rng(spec.model.seed),
                                  secrets=policy_secrets(p.loaded, project), avoid=avoid, key_formats=source,
                                  foreign_keys={**layout.foreign_keys, **pending_self})
            if pending_self and relations is not None:
                for column, values in relational.assign_self_references(relations, synthetic, output[_key(p)], spec.model.seed).items():
                    output[column] = values
        epsilon = model.epsilon_spent if model is not None else None

    kinds = {c.name: c.kind for c in columns}
    with _timed(out.timings, "checks_s"):
        extra = {"epsilon_spent": epsilon, **_leakage(source, output, _pii_columns(p)),
                 **_relational_metrics(run, p, real, output, parents)}
        metrics, out.checks = run_checks(train, holdout, synthetic, kinds, p.checks, seed=spec.model.seed, extra=extra,
                                         quasi_identifiers=spec.privacy.quasi_identifiers,
                                         epsilon=spec.privacy.epsilon, delta=spec.privacy.delta)
        out.metrics.update(metrics)
    out.rows = len(output)
    failed = any(c.outcome == Outcome.FAILED for c in out.checks)
    target = _target(run)
    version = p.published.version if p.action == "recheck" and p.published else history.next_version(target, p.table)
    record = _record(p, out, started, version=version, status="failed" if failed else "passed", published=not failed)
    if failed:
        out.status, out.exit_code = "failed", ExitCode.CHECK_FAILED
        names = ", ".join(c.metric for c in out.checks if c.outcome == Outcome.FAILED)
        out.message = f"checks failed: {names}; nothing published, the previous version is unchanged"
        record.version = None
        history.record_run(target, record)
        return
    out.status = "passed"
    run.staged[p.table] = Staged(
        history.Publication(p.table, None if p.action == "recheck" else output, p.source_columns, record,
                            reuse_version=version if p.action == "recheck" else None),
        output, p.action)


def _key(p: Prepared) -> str:
    keys = [pl.name for pl in p.plans if pl.spec.primary_key]
    if len(keys) != 1:
        raise UsageError(f"table '{p.table}' is referenced, so it needs exactly one primary_key column")
    return keys[0]


def _explicit_rows(p: Prepared) -> bool:
    """Whether the spec sets the row count; otherwise a child's parents' drawn children decide."""
    spec = p.loaded.spec
    return bool(spec.rows or spec.scale)


def _relational_metrics(run: _Run, p: Prepared, real: RealTable, output: pd.DataFrame,
                        parents: dict[str, tuple[Prepared, pd.DataFrame]]) -> dict[str, float | None]:
    """key_uniqueness, and per reference: referential integrity of the output against the
    synthetic parent, and the similarity of children-per-parent counts to the real ones."""
    from synthspec.engine.relational import children_counts
    from synthspec.metrics.relational import (
        cardinality_similarity,
        key_uniqueness,
        referential_integrity,
    )

    metrics: dict[str, float | None] = {}
    keys = [pl.name for pl in p.plans if pl.spec.primary_key]
    if keys:
        metrics["key_uniqueness"] = key_uniqueness(output, keys)
    integrity, cardinality = [], []
    for ref in p.refs:
        if ref.self_reference:
            real_parent, synthetic_parent = real.source, output
        else:
            real_parent, synthetic_parent = _read_real(run, run.prepared(ref.parent)).source, parents[ref.parent][1]
        ri = referential_integrity(output[ref.column], synthetic_parent[ref.parent_column])
        card = cardinality_similarity(children_counts(real_parent[ref.parent_column], real.source[ref.column]),
                                      children_counts(synthetic_parent[ref.parent_column], output[ref.column]))
        metrics[f"referential_integrity:{ref.column}"], metrics[f"cardinality:{ref.column}"] = ri, card
        integrity.append(ri)
        cardinality.append(card)
    if p.refs:
        metrics["referential_integrity"], metrics["cardinality"] = min(integrity), min(cardinality)
    return metrics


def _fitted_model(run: _Run, p: Prepared, out: TableResult, started, train: pd.DataFrame,  # noqa: ANN001
                  columns: list[ModelColumn]) -> tuple[Synthesizer | None, Relations | None] | None:
    """The cached model (hash-verified) for a resample, else a newly trained and cached one;
    for a table with references, also its count models (one model directory holds both)."""
    import pandas as pd

    from synthspec.engine import relational

    cons, project, options = run.cons, run.project, run.options
    spec = p.loaded.spec
    cls = get_model(p.model)
    params = cls.Params.model_validate(spec.model.params)
    conditional = bool(p.refs) and cls.supports_given and bool(columns)
    given_columns = _given_columns(run, p) if conditional else []
    all_columns = [*given_columns, *columns]
    if given_columns:
        # The parents' attributes come first, so every column of the child is drawn given them.
        first = [c.name for c in given_columns]
        params = params.model_copy(update={"visit_sequence": first + list(getattr(params, "visit_sequence", None) or [])})
    if p.action == "resample":
        expected = history.recorded_artifact(cons.target, p.table, p.fps.training)
        directory = state.verified_model_dir(project.state_dir, p.table, p.fps.training, expected)
        if directory is not None:
            model = cls.load(directory, all_columns, params, spec.model.seed) if columns else None
            relations = relational.Relations.load(directory, p.refs, _count_columns(run, p)) if p.refs else None
            return model, relations
        p.action, p.reasons, out.action = "train", ["no cached model"], "train"
    budget = None
    real = _read_real(run, p)
    relations = _fit_relations(run, p, real, given_columns) if p.refs else None
    data: object = train
    if given_columns:
        assert relations is not None
        data = pd.concat([_train_context(run, p, real), train], axis=1)
    if cls.differentially_private:
        budget = _reserve_budget(cons, project, p, out, started)
        if budget is None:
            return None
        from synthspec.privacy.dp import PrivateTable

        data = PrivateTable(train, columns, budget)
    model = cls(all_columns, params, spec.model.seed, budget) if columns else None
    if model is not None:
        with _timed(out.timings, "fit_s"), progress_bar(f"{p.table}: training {p.model}", enabled=options.show_progress) as bar, _model_errors(p.model, "training"):
            model.fit(data, progress=bar)

    def save(directory: Path) -> None:
        if model is not None:
            model.save(directory)
        if relations is not None:
            relations.save(directory)

    _, digest = state.store_model(project.state_dir, p.table, p.fps.training, save)
    history.record_model(_target(run), p.table, p.fps.training, p.model, digest)
    return model, relations


def _parent_columns(run: _Run, table: str) -> list[ModelColumn]:
    from synthspec.engine import codec

    return codec.model_columns(run.prepared(table).plans)


def _given_columns(run: _Run, p: Prepared) -> list[ModelColumn]:
    from synthspec.engine.relational import context_columns

    return [c for ref in p.refs if not ref.self_reference for c in context_columns(ref, _parent_columns(run, ref.parent))]


def _count_columns(run: _Run, p: Prepared) -> dict[str, list[ModelColumn]]:
    from synthspec.engine import codec
    from synthspec.engine.relational import count_model_columns

    return {ref.column: count_model_columns(codec.model_columns(p.plans) if ref.self_reference else _parent_columns(run, ref.parent))
            for ref in p.refs}


def _train_context(run: _Run, p: Prepared, real: RealTable) -> pd.DataFrame:
    """The parents' real attributes of every training row (null where the key is null)."""
    import pandas as pd

    from synthspec.engine.relational import lookup, renamed

    fks = real.source.iloc[real.train_idx].reset_index(drop=True)
    frames = []
    for ref in p.refs:
        if ref.self_reference:
            continue
        parent = _read_real(run, run.prepared(ref.parent))
        frames.append(renamed(lookup(parent.encoded, parent.source[ref.parent_column], fks[ref.column]), ref))
    return pd.concat(frames, axis=1)


def _fit_relations(run: _Run, p: Prepared, real: RealTable, given: list[ModelColumn]) -> Relations:
    """One count model per reference, fitted on the parent's training rows (every child row
    counts), and the real null share of each foreign key."""
    from synthspec.engine import relational

    seed = p.loaded.spec.model.seed
    relations = relational.Relations(p.refs, [c.name for c in given])
    fk_train = real.source.iloc[real.train_idx]
    count_columns = _count_columns(run, p)
    for ref in p.refs:
        parent = real if ref.self_reference else _read_real(run, run.prepared(ref.parent))
        keys = parent.source[ref.parent_column].iloc[parent.train_idx].reset_index(drop=True)
        counts = relational.children_counts(keys, real.source[ref.column])
        frame = parent.encoded.iloc[parent.train_idx].reset_index(drop=True)
        relations.counts[ref.column] = relational.fit_count_model(frame, count_columns[ref.column][:-1], counts, seed)
        relations.stats[ref.column] = relational.RelationStats.of(float(fk_train[ref.column].isna().mean()) if len(fk_train) else 0.0, counts)
    return relations


def _pii_columns(p: Prepared) -> list[str]:
    """Columns whose real values must never appear in the output: every policy but keep."""
    return [plan.name for plan in p.plans if plan.spec.pii not in (None, "keep")]


def _normalised_values(source: pd.DataFrame, columns: list[str]) -> set[str]:
    from synthspec.privacy.policies import normalise_for_matching

    return {normalise_for_matching(v) for c in columns for v in source[c].dropna().unique()}


def _leakage(source: pd.DataFrame, output: pd.DataFrame, columns: list[str]) -> dict[str, float | None]:
    if not columns:
        return {"pii_leakage": None}
    from synthspec.metrics.disclosure import pii_leakage

    return {"pii_leakage": float(pii_leakage({c: source[c] for c in columns}, output).count)}


def _record(p: Prepared, out: TableResult, started, *, version: int | None, status: str, published: bool,  # noqa: ANN001
            message: str | None = None) -> history.RunRecord:
    return history.RunRecord(
        run_id=uuid.uuid4().hex, table=p.table, version=version, status=status, published=published,
        started_at=started, finished_at=utc_now(), model=p.model, rows=p.rows, training_fp=p.fps.training,
        sampling_fp=p.fps.sampling, checks_fp=p.fps.checks, synthspec_version=__version__, metrics=out.metrics,
        message=message, training_parts=p.fps.parts, privacy=p.privacy,
    )


def _reserve_budget(cons: Connections, project: Project, p: Prepared, out: TableResult, started) -> Budget | None:  # noqa: ANN001
    """Check the ledger and reserve this run's epsilon before any noisy query runs. Over the
    cap: record a failed run (exit 1) and return None; nothing is fitted or published."""
    from synthspec.io import ledger

    spec = p.loaded.spec
    assert cons.target is not None and spec.privacy.epsilon is not None
    key = ledger.source_key(cons.source, p.loaded, project)
    balance = ledger.balance(project.state_dir, cons.target, key)
    epsilon, delta = spec.privacy.epsilon, spec.privacy.delta or 0.0
    cap = spec.privacy.max_total_epsilon
    out.metrics["epsilon_spent_before"] = balance.epsilon
    if cap is not None and balance.epsilon + epsilon > cap + 1e-12:
        out.status, out.exit_code = "failed", ExitCode.CHECK_FAILED
        out.message = (f"privacy budget exhausted for {key}: ε={balance.epsilon:g} already spent in {balance.runs} run(s) "
                       f"(last at {balance.last_at}); this run needs ε={epsilon:g}, the cap is max_total_epsilon={cap:g}; nothing was fitted or published")
        history.record_run(cons.target, _record(p, out, started, version=None, status="failed", published=False,
                                                message="privacy budget exhausted"))
        return None
    ledger.reserve(project.state_dir, cons.target, ledger.Spend(
        run_id=uuid.uuid4().hex, source=key, table=p.table, epsilon=epsilon, delta=delta, at=iso(utc_now()) or ""))
    return Budget(epsilon, delta)


def _record_up_to_date(cons: Connections, p: Prepared, out: TableResult, started) -> None:  # noqa: ANN001
    """Every run is recorded, including the ones with nothing to do (not as a publication)."""
    assert cons.target is not None and p.published is not None
    history.record_run(cons.target, _record(p, out, started, version=p.published.version, status="up_to_date", published=False))


@contextmanager
def _model_errors(model: str, stage: str) -> Iterator[None]:
    """A model's own exception becomes a table error. Only the exception class is shown:
    library messages may quote data values."""
    try:
        yield
    except (SynthspecError, MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise EnvironmentError_(f"model '{model}' failed during {stage}: {exc.__class__.__name__} (run with --debug for details)") from exc


def split_indices(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of the training and holdout splits (holdout: at least one row when n > 1,
    never all of them). Rows arrive in a canonical order, so this depends only on the data."""
    import numpy as np

    order = np.random.default_rng([seed, 0x5EED]).permutation(n)
    k = min(max(int(round(n * fraction)), 1), n - 1) if n > 1 else 0
    return np.sort(order[k:]), np.sort(order[:k])


__all__ = ["ApplyOptions", "apply", "split_indices"]
