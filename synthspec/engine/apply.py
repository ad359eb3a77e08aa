"""`synthspec apply`: per table, train (or reuse), sample, check; per group of tables linked by
references, publish all new versions together, and only if every error-severity check passed.

The parent process reads sources, decides, and publishes; the CPU-bound part of each table
(``synthspec.engine.compute``) runs inline or, with ``--jobs N``, in N worker processes or, with
``--executor ray``, as Ray tasks (``synthspec.engine.ray_executor``). A table is handed out once
the tables it references are done (it is drawn against their new rows)."""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from synthspec import __version__, redact
from synthspec.engine import shards
from synthspec.engine.compute import JobResult, RefInputs, TableJob, compute, limit_threads
from synthspec.engine.prepare import Prepared, RunPlan, prepare_run
from synthspec.engine.progress import progress_bar
from synthspec.engine.results import (
    RunError,
    RunResult,
    TableResult,
    as_utc,
    clear_reports,
    error_class,
    iso,
    table_lines,
    utc_now,
    write_reports,
)
from synthspec.engine.secrets import policy_secrets
from synthspec.errors import ExitCode, SynthspecError, UsageError
from synthspec.io import history, state, warehouse
from synthspec.io.compact import object_frame, objects, widened
from synthspec.io.warehouse import Connections
from synthspec.metrics.checks import gate_message
from synthspec.models.base import Budget
from synthspec.models.registry import get_model
from synthspec.spec.project import LoadedSpec, Project

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy as np
    import pandas as pd

    from synthspec.engine.rare import Protection
    from synthspec.engine.ray_executor import RayPool
    from synthspec.engine.relational import SyntheticParent

    Pool = ProcessPoolExecutor | RayPool  # what runs compute off the parent: --jobs N, or --executor ray


#: Set by the CLI's SIGINT/SIGTERM handler: once set, nothing more is published.
STOP = threading.Event()


def _stop_point() -> None:
    if STOP.is_set():
        raise KeyboardInterrupt


@dataclass
class ApplyOptions:
    force: bool = False
    fail_fast: bool = False
    show_progress: bool = True
    debug: bool = False  # re-raise table errors so the CLI shows the traceback
    jobs: int = 1  # worker processes for the CPU-bound part (1: inline)
    executor: str = "local"  # local (inline or --jobs worker processes) | ray (one Ray task per table)
    ray_address: str | None = None  # the Ray cluster (None: RAY_ADDRESS, else what ray.init() finds or starts)

    @property
    def inline(self) -> bool:
        """Compute runs in this process (its progress bars are shown per table)."""
        return self.executor == "local" and self.jobs <= 1


@dataclass
class RealTable:
    """A source read once per run: its rows, their model encoding (rare values protected) and
    the train/holdout split."""

    source: pd.DataFrame
    encoded: pd.DataFrame
    train_idx: np.ndarray
    holdout_idx: np.ndarray
    protected: list[Protection] = field(default_factory=list)  # what rare-value protection did


@dataclass
class Staged:
    """A table that passed its checks, waiting for its group to publish."""

    publication: history.Publication
    output: pd.DataFrame  # publish-ready values (the published ones for a re-check)


@dataclass
class _Run:
    cons: Connections
    project: Project
    salt: bytes
    options: ApplyOptions
    plan: RunPlan
    run_id: str
    real: dict[str, RealTable] = field(default_factory=dict)
    staged: dict[str, Staged] = field(default_factory=dict)
    results: dict[str, TableResult] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)  # tables whose result is final (up to publication)
    #: parents' synthetic rows as their children see them, read and encoded once per run
    parents: dict[str, SyntheticParent] = field(default_factory=dict)

    def prepared(self, table: str) -> Prepared:
        p = self.plan.prepared[table]
        assert isinstance(p, Prepared)
        return p


@dataclass
class _Pending:
    """A table handed to compute: what the parent needs to finish it."""

    p: Prepared
    out: TableResult
    started: object


def apply(project: Project, specs: list[LoadedSpec], options: ApplyOptions, result: RunResult | None = None) -> RunResult:
    """Run the selected tables; the reports always say what happened. ``result`` (optional)
    is filled in place, so a caller still has every table's outcome when the run raises."""
    result = RunResult() if result is None else result
    state.ensure_writable(project.target_dir, "reports")
    try:
        state.ensure_writable(project.state_dir, "state")
        salt = state.salt(project.state_dir)
    except SynthspecError as exc:  # nothing ran, and the reports say so (not the last run's "passed")
        result.errors.extend(run_errors(exc))
        result.tables.extend(_final_tables(None, specs, result.errors))
        result.finished_at = utc_now()
        clear_reports(project.target_dir)
        write_reports(result, project.target_dir)
        raise
    # Until this run writes its own, the reports say a run is under way: a process killed
    # outright (SIGKILL, out of memory) must not leave the previous run's "passed" in place,
    # not even in one of the files (the old ones go first).
    clear_reports(project.target_dir)
    write_reports(RunResult(started_at=result.started_at, run_id=result.run_id, errors=[RunError(
        "Unfinished", f"the run started at {iso(result.started_at)} has not finished: it is still running, or it was killed")]),
        project.target_dir)
    run: _Run | None = None
    try:
        with warehouse.open_project(project, write=True) as cons, shards.cleanup(project.state_dir):
            run = _Run(cons, project, salt, options, prepare_run(cons, project, specs, salt, force=options.force), result.run_id)
            _schedule(run)
    except BaseException as exc:  # the reports say the run failed, and why (never "passed")
        result.errors.extend(run_errors(exc))
        if run is not None:
            _unfinished(run, result.errors[0])
        raise
    finally:
        result.tables.extend(_final_tables(run, specs, result.errors))
        result.finished_at = utc_now()
        try:
            write_reports(result, project.target_dir)
        except SynthspecError as exc:  # the tables' outcomes are still shown, and the run is an error
            result.errors.append(RunError(error_class(exc), str(exc)))
    return result


def run_errors(exc: BaseException) -> list[RunError]:
    """What stopped the run, one entry per problem line (no cell value: library messages of
    an internal error are not shown, only the exception's type)."""
    cls = error_class(exc)
    if isinstance(exc, SynthspecError):
        return [RunError(cls, redact.text(line)) for line in exc.lines()]
    if isinstance(exc, KeyboardInterrupt):
        return [RunError(cls, "interrupted")]
    return [RunError(cls, f"internal error: {type(exc).__name__}")]


def _final_tables(run: _Run | None, specs: list[LoadedSpec], errors: list[RunError]) -> list[TableResult]:
    """Every table of the run, in plan order; one the run never got to (it stopped before)
    is `not_run`, never missing nor passed."""
    order = run.plan.tables if run is not None else [s.table for s in specs]
    results = run.results if run is not None else {}
    why = (f"not run: the run stopped ({errors[0].message})" if errors else
           "not run: --fail-fast stopped the run after a table failed" if run is not None and run.options.fail_fast else "not run")
    return [results.get(t) or TableResult(table=t, status="not_run", action="none", message=why) for t in order]


def _unfinished(run: _Run, stop: RunError) -> None:
    """After the run stopped: a table that was still running is an error, and one whose checks
    passed but whose group was not published yet is held; neither reads as passed."""
    why = stop.message
    for table, out in run.results.items():
        if table in run.staged:
            out.status, out.published = "held", False
            out.message = f"checks passed but not published: the run stopped ({why})"
        elif table not in run.done and out.status in ("passed", "error"):
            out.status, out.exit_code = "error", ExitCode.ENVIRONMENT
            out.message = out.message or f"not finished: the run stopped ({why})"
            out.errors = out.errors or [RunError(stop.cls, out.message)]


def _schedule(run: _Run) -> None:
    """Hand out tables as the tables they reference finish; publish each group when all of its
    tables are done. With one job everything runs inline, in the plan's order."""
    graph = run.plan.graph
    groups = run.plan.groups()
    group_of = {t: i for i, g in enumerate(groups) for t in g}
    waiting = list(run.plan.tables)  # dependency order
    running: dict[Future[JobResult], _Pending] = {}
    show = run.options.show_progress and not run.options.inline  # inline runs show each table's own bars
    with _executor(run.options) as (pool, jobs), progress_bar(f"apply ({_label(run.options, jobs)})", enabled=show, total=len(waiting)) as bar:
        while waiting or running:
            _stop_point()
            bar(len(run.done), len(run.plan.tables))
            for table in list(waiting):
                if pool is not None and len(running) >= jobs:
                    break
                busy = {pending.p.table for pending in running.values()}
                if any(parent in waiting or parent in busy for parent in graph.parents(table)):
                    continue
                waiting.remove(table)
                if _launch(run, table, pool, running):
                    continue
                _group_done(run, groups, group_of, table)
                if pool is None:
                    break  # inline: one table per pass, so the plan's order is kept
            if running:
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in done:
                    pending = running.pop(future)
                    _finish(run, pending, _collect(run, future))
                    _group_done(run, groups, group_of, pending.p.table)
            if run.options.fail_fast and any(r.exit_code != ExitCode.OK for r in run.results.values()):
                waiting.clear()
    for table in list(run.staged):  # a group cut short by --fail-fast publishes nothing
        _hold(run, table, "checks passed but not published: --fail-fast stopped the run before the rest of its group")


def _launch(run: _Run, table: str, pool: Pool | None, running: dict[Future[JobResult], _Pending]) -> bool:
    """Start the table; True when it is now running in a worker, False when it is done."""
    pending = _start(run, table)
    job = _job(run, pending) if pending is not None else None
    if pending is None or job is None:
        return False
    if pool is None:
        _finish(run, pending, _call(run, job))
        return False
    running[pool.submit(compute, job)] = pending
    return True


@contextmanager
def _executor(options: ApplyOptions) -> Iterator[tuple[Pool | None, int]]:
    """Where compute runs, and how many tables at once: inline (None), Ray tasks (as many as the
    cluster has CPUs), or worker processes with cores/jobs threads each for their numeric
    libraries (spawned, not forked: the parent holds a DuckDB connection and thread pools)."""
    if options.executor == "ray":
        from synthspec.engine.ray_executor import ray_pool

        with ray_pool(options.ray_address) as remote:
            yield remote, remote.slots()
        return
    jobs = max(1, options.jobs)
    if jobs <= 1:
        yield None, 1
        return
    import multiprocessing

    threads = max(1, (os.cpu_count() or 1) // jobs)
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=limit_threads, initargs=(threads,))
    try:
        yield pool, jobs
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _label(options: ApplyOptions, slots: int) -> str:
    return f"Ray, {slots} task(s) at once" if options.executor == "ray" else f"{slots} jobs"


def _call(run: _Run, job: TableJob) -> JobResult | SynthspecError:
    try:
        return compute(job)
    except SynthspecError as exc:
        if run.options.debug:
            raise
        return exc
    except MemoryError:
        from synthspec.errors import EnvironmentError_

        return EnvironmentError_("out of memory")


def _collect(run: _Run, future: Future[JobResult]) -> JobResult | SynthspecError:
    try:
        return future.result()
    except SynthspecError as exc:
        if run.options.debug:
            raise
        return exc
    except MemoryError:
        from synthspec.errors import EnvironmentError_

        return EnvironmentError_("out of memory")


def _group_done(run: _Run, groups: list[list[str]], group_of: dict[str, int], table: str) -> None:
    """Publish the table's group once every member is done."""
    run.done.add(table)
    group = groups[group_of[table]]
    if all(t in run.done for t in group):
        _publish_group(run, group)


def _publish_group(run: _Run, group: list[str]) -> None:
    """All new versions of the group in one transaction, or none if any member failed."""
    _stop_point()
    results = [run.results[t] for t in group]
    broken = [r.table for r in results if r.status in ("failed", "error")]
    staged = [t for t in group if t in run.staged]
    if broken:
        for table in staged:
            _hold(run, table, f"checks passed but not published: linked table(s) {', '.join(broken)} did not pass "
                              "(tables linked by references publish together)")
        return
    if staged:
        from synthspec.engine.compute import timed

        for table in staged:  # the history keeps the result as published, for later no-op runs
            out = run.results[table]
            run.staged[table].publication.record.result = {**out.to_dict(), "status": "passed", "published": True}
        try:
            with timed(run.results[staged[-1]].timings, "publish_s", staged[-1]):
                history.publish_all(_target(run), schema=run.project.config.target.schema_,
                                    items=[run.staged[t].publication for t in staged], keep_versions=run.project.config.keep_versions)
        except SynthspecError as exc:
            for table in staged:
                shards.remove(run.staged[table].publication.parts)  # rolled back: the group's views are as they were; other groups go on
            if run.options.debug:
                raise
            for table in staged:
                out = run.results[table]
                out.status, out.published, out.exit_code = "error", False, exc.exit_code
                out.message = f"{exc}; nothing of its group was published, the previous versions are unchanged"
                out.errors = [RunError(error_class(exc), out.message)]
                del run.staged[table]
                _record_error(run, out)
            return
        for table in staged:
            run.results[table].status, run.results[table].published = "passed", True
            shards.remove(run.staged[table].publication.parts)
            del run.staged[table]


def _hold(run: _Run, table: str, message: str) -> None:
    out = run.results[table]
    out.status, out.published, out.message = "held", False, message
    publication = run.staged.pop(table).publication
    shards.remove(publication.parts)
    record = publication.record
    record.status, record.published, record.version, record.message = "held", False, None, redact.text(message)
    record.result = out.to_dict()
    history.record_run(_target(run), record)


def _target(run: _Run):  # noqa: ANN202
    assert run.cons.target is not None
    return run.cons.target


def _start(run: _Run, table: str) -> _Pending | None:
    """The table's result if it needs no compute (up to date, skipped, error), else a pending."""
    out = TableResult(table=table)
    run.results[table] = out
    started = utc_now()
    broken = next((t for t in run.plan.graph.parents(table) if t in run.results and run.results[t].status in ("failed", "error", "skipped")), None)
    if broken is not None:
        out.status, out.action = "skipped", "none"
        why = {"failed": "failed its checks", "error": "has errors"}.get(run.results[broken].status, "was not run")
        out.message = f"not run: referenced table '{broken}' {why}"
        return None
    try:
        prepared = run.plan.prepared[table]
        if isinstance(prepared, SynthspecError):
            raise prepared
        out.model, out.fingerprint, out.action = prepared.model, prepared.fps.training, prepared.action
        if prepared.action == "none":
            out.status, out.rows, out.published = "up_to_date", prepared.rows, True
            out = run.results[table] = _carried(run, prepared, out)
            _record_up_to_date(run, prepared, out, started)
            return None
        return _Pending(prepared, out, started)
    except SynthspecError as exc:
        _fail(run, out, exc)
        return None


def _carried(run: _Run, p: Prepared, out: TableResult) -> TableResult:
    """An up-to-date table's entry: the full result of the run that published (or last
    re-checked) its current version, from the run history; as it is when there is none."""
    assert p.published is not None
    last = history.last_result(run.cons.target, p.table, p.published.version)
    if last is None:
        return out
    run_id, finished_at, data = last
    since = {"run_id": run_id, "finished_at": iso(as_utc(finished_at)) if finished_at is not None else None}
    carried = TableResult.from_dict(data).carried(since)
    carried.fingerprint, carried.model = out.fingerprint, out.model
    return carried


def _fail(run: _Run, out: TableResult, exc: SynthspecError) -> None:
    """The table is an error: one line per problem, each with the error's class; recorded in
    the run history when the target is open (so `report --run` shows it)."""
    if run.options.debug:
        raise exc
    out.status, out.exit_code = "error", exc.exit_code
    spec_file = next((s.file for s in run.project.specs if s.table == out.table), None)
    lines = [redact.text(line) for line in table_lines(out.table, spec_file, exc.lines())]
    out.errors = [RunError(error_class(exc), line) for line in lines]
    out.message = "\n".join(lines)
    _record_error(run, out)


def _job(run: _Run, pending: _Pending) -> TableJob | None:
    """Everything compute needs, read and decided in the parent (None: nothing to compute)."""
    from synthspec.engine import codec, relational

    p, out = pending.p, pending.out
    spec = p.loaded.spec
    try:
        from synthspec.engine.compute import timed

        with timed(out.timings, "read_s", p.table):
            real = _read_real(run, p)
            out.rare = [r.to_dict() for r in real.protected]
            job = TableJob(
                table=p.table, action=p.action, model=p.model, spec=spec, plans=p.plans, checks=p.checks, rows=p.rows,
                explicit_rows=bool(spec.rows or spec.scale), source=real.source, encoded=real.encoded,
                train_idx=real.train_idx, holdout_idx=real.holdout_idx, secrets=policy_secrets(p.loaded, run.project),
                state_dir=run.project.state_dir, training_fp=p.fps.training, show_progress=run.options.show_progress and run.options.inline,
                threshold_sources=p.threshold_sources, column_types=p.source_columns,
                # a child is laid out over its parents, a parent's keys serve its children: one piece
                shardable=not p.refs and not run.plan.graph.children(p.table), executor=run.options.executor,
            )
            for ref in p.refs:
                parent = real if ref.self_reference else _read_real(run, run.prepared(ref.parent))
                parent_plans = p.plans if ref.self_reference else run.prepared(ref.parent).plans
                synthetic = None if ref.self_reference else _synthetic_parent(run, ref.parent)
                parent_keys = objects(parent.source[ref.parent_column])
                job.refs.append(RefInputs(
                    ref, codec.model_columns(parent_plans), widened(parent.encoded.iloc[parent.train_idx].reset_index(drop=True)),
                    relational.children_counts(parent_keys.iloc[parent.train_idx].reset_index(drop=True), objects(real.source[ref.column])),
                    parent_keys, synthetic))
            cls = get_model(p.model)
            if p.refs and cls.supports_given and codec.model_columns(p.plans):
                job.given = [c for r in job.refs if r.synthetic is not None for c in relational.context_columns(r.ref, r.parent_columns)]
                job.train_context = _train_context(run, p, real) if job.given else None
                if job.given and spec.sequence is not None:  # drawn event by event (engine/sequence.py)
                    from synthspec.engine import sequence

                    job.given += sequence.CONTEXT
            if p.action == "recheck":
                assert p.published is not None
                job.published = history.read_published(_target(run), p.table, p.published.version)
                job.published_epsilon = (p.published.metrics or {}).get("epsilon_spent")
            elif p.action == "resample":
                expected = history.recorded_artifact(run.cons.target, p.table, p.fps.training)
                job.cached_dir = state.verified_model_dir(run.project.state_dir, p.table, p.fps.training, expected)
            if job.action != "recheck" and job.cached_dir is None and cls.differentially_private:
                job.budget = _reserve_budget(run, p, out, pending.started)
                if job.budget is None:
                    return None  # refused before fitting (privacy budget exhausted)
        return job
    except SynthspecError as exc:
        _fail(run, out, exc)
        return None


def _finish(run: _Run, pending: _Pending, result: JobResult | SynthspecError) -> None:
    """Record the model and the run; stage the new version for its group's publication."""
    p, out = pending.p, pending.out
    if isinstance(result, SynthspecError):
        _fail(run, out, result)
        return
    for key, value in result.timings.items():  # seconds add up; a peak RSS is a maximum
        out.timings[key] = max(out.timings.get(key, 0.0), value) if key.endswith("_peak_mb") else out.timings.get(key, 0.0) + value
    if result.action != p.action:
        p.action, p.reasons, out.action = result.action, result.reasons, result.action
    target = _target(run)
    if result.artifact_sha256 is not None:
        history.record_model(target, p.table, p.fps.training, p.model, result.artifact_sha256)
    out.metrics.update(result.metrics)
    out.checks = result.checks
    out.profile = result.profile
    out.insights = result.insights
    out.rows = result.total_rows
    # The gate: a failed check, a metric that raised, or an error-severity check that could not
    # be evaluated (unless allowed) stops publishing alike.
    failed = any(c.blocks for c in out.checks)
    version = p.published.version if p.action == "recheck" and p.published else history.next_version(target, p.table)
    record = _record(run.run_id, p, out, pending.started, version=version, status="failed" if failed else "passed", published=not failed)
    if failed:
        shards.remove(result.parts)
        out.status, out.exit_code = "failed", ExitCode.CHECK_FAILED
        out.message = gate_message(p.table, out.checks)
        record.version, record.result = None, out.to_dict()
        history.record_run(target, record)
        return
    out.status = "passed"
    run.staged[p.table] = Staged(
        history.Publication(p.table, None if p.action == "recheck" or result.parts else result.output, p.source_columns,
                            record, reuse_version=version if p.action == "recheck" else None, parts=result.parts),
        result.output)


def _read_real(run: _Run, p: Prepared) -> RealTable:
    """The source rows and their split, once per run. A child row is held out exactly when its
    parent (through the first reference) is, so no parent is seen in training through its
    children while its own row is in the holdout; rows without a parent split at random."""
    import numpy as np

    from synthspec.engine import codec, rare, tiny
    from synthspec.engine.inputs import check_source, read_columns

    if p.table in run.real:
        return run.real[p.table]
    spec = p.loaded.spec
    # Too few rows, NaN or ±infinity: a located error before any model runs (see engine/inputs.py).
    check_source(run.cons, p.loaded, run.project, p.plans, p.row_count)
    source = warehouse.read_source(run.cons, p.loaded, run.project, read_columns(p.plans))
    # No model, metric or report sees a rare value: protected before the split (see engine/rare.py).
    encoded, protected = rare.protect(codec.encode(source, p.plans, compact_numbers=True), p.rare_rules, spec.model.seed)
    train_idx, holdout_idx = tiny.split(len(source), spec.holdout, spec.model.seed, run.project.config.gate.tiny_tables)
    driving = next((r for r in p.refs if not r.self_reference), None)
    if driving is not None and len(holdout_idx):  # a tiny table trains on every row
        parent = _read_real(run, run.prepared(driving.parent))
        parent_keys = objects(parent.source[driving.parent_column])
        held_keys = parent_keys.iloc[parent.holdout_idx]
        fk = objects(source[driving.column])
        linked = fk.isin(parent_keys).to_numpy()
        held = fk.isin(held_keys).to_numpy()
        loose = np.flatnonzero(~linked)
        loose_train, loose_holdout = split_indices(len(loose), spec.holdout, spec.model.seed) if len(loose) > 1 else (np.arange(len(loose)), np.zeros(0, np.int64))
        train = np.sort(np.r_[np.flatnonzero(linked & ~held), loose[loose_train]]).astype(np.int64)
        holdout = np.sort(np.r_[np.flatnonzero(held), loose[loose_holdout]]).astype(np.int64)
        if len(train) and len(holdout):
            train_idx, holdout_idx = train, holdout
    run.real[p.table] = RealTable(source, encoded, train_idx, holdout_idx, protected)
    return run.real[p.table]


def _synthetic_parent(run: _Run, table: str) -> SyntheticParent:
    """A referenced table's synthetic rows (this run's new ones, else the published ones) as
    its children see them: the model's encoding and the keys. A parent is done before any of
    its children starts, so the first child's read serves the others."""
    if table not in run.parents:
        from synthspec.engine import codec
        from synthspec.engine.relational import SyntheticParent

        p = run.prepared(table)
        if table in run.staged:
            rows = run.staged[table].output
        elif p.published is None:
            raise UsageError(f"referenced table '{table}' has no published synthetic version yet: apply it first or select it too (--select {table})")
        else:
            rows = history.read_published(_target(run), table, p.published.version)
        key = next(pl.name for pl in p.plans if pl.spec.primary_key)  # lint: a referenced table has one
        run.parents[table] = SyntheticParent(codec.encode(rows, p.plans, published=True), rows[key])
    return run.parents[table]


def _train_context(run: _Run, p: Prepared, real: RealTable) -> pd.DataFrame:
    """The parents' real attributes of every training row (null where the key is null)."""
    import pandas as pd

    from synthspec.engine.relational import lookup, renamed

    fks = object_frame(real.source.iloc[real.train_idx].reset_index(drop=True))
    frames = []
    for ref in p.refs:
        if ref.self_reference:
            continue
        parent = _read_real(run, run.prepared(ref.parent))
        frames.append(renamed(widened(lookup(parent.encoded, objects(parent.source[ref.parent_column]), fks[ref.column])), ref))
    return pd.concat(frames, axis=1)


def _record(run_id: str, p: Prepared, out: TableResult, started, *, version: int | None, status: str, published: bool,  # noqa: ANN001
            message: str | None = None) -> history.RunRecord:
    return history.RunRecord(
        run_id=run_id, table=p.table, version=version, status=status, published=published,
        started_at=started, finished_at=utc_now(), model=p.model, rows=p.rows, training_fp=p.fps.training,
        sampling_fp=p.fps.sampling, checks_fp=p.fps.checks, synthspec_version=__version__, metrics=out.metrics,
        message=redact.text(message) if message else message, training_parts=p.fps.parts, privacy=p.privacy,
    )


def _reserve_budget(run: _Run, p: Prepared, out: TableResult, started) -> Budget | None:  # noqa: ANN001
    """Check the ledger and reserve this run's epsilon on every relation the source reads,
    before any noisy query runs, under the machine ledger's lock (two runs over the same data
    must not both see the budget left). Over the cap on any relation: record a failed run
    (exit 1) and return None; nothing is fitted or published."""
    from synthspec.io import ledger

    cons, project = run.cons, run.project
    spec = p.loaded.spec
    assert cons.target is not None and spec.privacy.epsilon is not None
    machine = ledger.machine_ledger_path(project)
    relations = ledger.relations(cons, p.loaded, project)
    epsilon, delta = spec.privacy.epsilon, spec.privacy.delta or 0.0
    cap = ledger.total_cap(spec, project)
    with ledger.exclusive(machine):
        balances = [ledger.balance(project.state_dir, cons.target, r, machine) for r in relations]
        most = max(balances, key=lambda b: b.epsilon)
        out.metrics["epsilon_spent_before"] = most.epsilon
        if cap is not None and most.epsilon + epsilon > cap + 1e-12:
            out.status, out.exit_code = "failed", ExitCode.CHECK_FAILED
            out.message = (f"privacy budget exhausted for {most.source}: ε={most.epsilon:g} already spent in {most.runs} run(s) "
                           f"(last at {most.last_at}); this run needs ε={epsilon:g}, the cap is max_total_epsilon={cap:g}; "
                           "nothing was fitted or published")
            record = _record(run.run_id, p, out, started, version=None, status="failed", published=False,
                             message="privacy budget exhausted")
            record.result = out.to_dict()
            history.record_run(cons.target, record)
            return None
        run_id, at = uuid.uuid4().hex, iso(utc_now()) or ""
        ledger.reserve(project.state_dir, cons.target, [
            ledger.Spend(run_id=run_id, source=r.key, table=p.table, epsilon=epsilon, delta=delta, at=at, location=r.location)
            for r in relations], machine)
    return Budget(epsilon, delta)


def _record_up_to_date(run: _Run, p: Prepared, out: TableResult, started) -> None:  # noqa: ANN001
    """Every run is recorded, including the ones with nothing to do (not as a publication),
    with the result it showed (the carried one), so `report --run` rebuilds it."""
    assert run.cons.target is not None and p.published is not None
    record = _record(run.run_id, p, out, started, version=p.published.version, status="up_to_date", published=False)
    record.result = out.to_dict()
    history.record_run(run.cons.target, record)


def _record_error(run: _Run, out: TableResult) -> None:
    """An errored table in the history (best effort: the error may be the database's own)."""
    import duckdb

    if run.cons.target is None:
        return
    now = utc_now()
    record = history.RunRecord(run_id=run.run_id, table=out.table, version=None, status="error", published=False,
                               started_at=now, finished_at=now, model=out.model, rows=None, training_fp=out.fingerprint,
                               sampling_fp=None, checks_fp=None, synthspec_version=__version__, metrics={},
                               message=out.errors[0].message if out.errors else out.message, result=out.to_dict())
    with contextlib.suppress(duckdb.Error, SynthspecError):
        history.record_run(run.cons.target, record)


def split_indices(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of the training and holdout splits (holdout: at least one row when n > 1,
    never all of them). Rows arrive in a canonical order, so this depends only on the data."""
    import numpy as np

    order = np.random.default_rng([seed, 0x5EED]).permutation(n)
    k = min(max(int(round(n * fraction)), 1), n - 1) if n > 1 else 0
    return np.sort(order[k:]), np.sort(order[:k])


__all__ = ["ApplyOptions", "apply", "split_indices"]
