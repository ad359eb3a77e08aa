"""`synthspec apply`: per table, train (or reuse), sample, check, and publish only if every
error-severity check passes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from synthspec import __version__
from synthspec.engine.prepare import Prepared, prepare
from synthspec.engine.progress import progress_bar
from synthspec.engine.results import RunResult, TableResult, iso, utc_now, write_reports
from synthspec.engine.secrets import policy_secrets
from synthspec.errors import EnvironmentError_, ExitCode, SpecError, SynthspecError
from synthspec.io import history, state, warehouse
from synthspec.io.warehouse import Connections
from synthspec.metrics.checks import Outcome
from synthspec.models.base import Budget, Synthesizer
from synthspec.models.registry import get_model
from synthspec.spec.project import LoadedSpec, Project

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass
class ApplyOptions:
    force: bool = False
    fail_fast: bool = False
    show_progress: bool = True
    debug: bool = False  # re-raise table errors so the CLI shows the traceback


def apply(project: Project, specs: list[LoadedSpec], options: ApplyOptions) -> RunResult:
    result = RunResult()
    salt = state.salt(project.state_dir)
    try:
        with warehouse.open_project(project, write=True) as cons:
            for loaded in specs:
                table = _apply_table(cons, project, loaded, salt, options)
                result.tables.append(table)
                if options.fail_fast and table.exit_code != ExitCode.OK:
                    break
    finally:
        result.finished_at = utc_now()
        write_reports(result, project.target_dir)
    return result


@contextmanager
def _timed(timings: dict[str, float], key: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = timings.get(key, 0.0) + time.perf_counter() - start


def _apply_table(cons: Connections, project: Project, loaded: LoadedSpec, salt: bytes, options: ApplyOptions) -> TableResult:
    out = TableResult(table=loaded.table)
    started = utc_now()
    try:
        with _timed(out.timings, "read_s"):
            prepared = prepare(cons, project, loaded, salt, force=options.force)
        out.model, out.fingerprint, out.action = prepared.model, prepared.fps.training, prepared.action
        if prepared.action == "none":
            out.status, out.rows, out.published = "up_to_date", prepared.rows, True
            _record_up_to_date(cons, prepared, out, started)
            return out
        _run(cons, project, prepared, out, options, started)
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


def _run(cons: Connections, project: Project, p: Prepared, out: TableResult, options: ApplyOptions, started) -> None:  # noqa: ANN001
    # numpy/pandas and the metrics load here, so that an up-to-date apply starts fast.
    import numpy as np

    from synthspec.engine import codec
    from synthspec.engine.checks import run_checks

    spec = p.loaded.spec
    assert cons.target is not None
    with _timed(out.timings, "read_s"):
        source = warehouse.read_source(cons, p.loaded, project, [c for c, _ in p.source_columns])
        real = codec.encode(source, p.plans)
        train_idx, holdout_idx = split_indices(len(real), spec.holdout, spec.model.seed)
        train, holdout = real.iloc[train_idx].reset_index(drop=True), real.iloc[holdout_idx].reset_index(drop=True)
        donors = source.iloc[train_idx].reset_index(drop=True)
    columns = codec.model_columns(p.plans)

    model = None
    if p.action == "recheck":
        assert p.published is not None
        with _timed(out.timings, "sample_s"):
            output = history.read_published(cons.target, p.table, p.published.version)
            synthetic = codec.encode(output, p.plans)
        epsilon = (p.published.metrics or {}).get("epsilon_spent")
    else:
        model = _fitted_model(cons, project, p, out, options, started, train, columns)
        if model is None:
            return  # refused before fitting (privacy budget exhausted)
        with _timed(out.timings, "sample_s"), progress_bar(f"{p.table}: sampling", enabled=options.show_progress) as bar:
            with _model_errors(p.model, "sampling"):
                sampled = model.sample(p.rows, seed=spec.model.seed) if columns else None
            bar(1, 1)
            synthetic = codec.enforce(sampled, p.plans, spec.constraints) if columns else real.iloc[:0]
            pii = _pii_columns(p)
            avoid = _normalised_values(source, pii) if any(pl.role == "post" for pl in p.plans) else None
            output = codec.decode(synthetic, p.plans, donors, p.rows, np.random.default_rng(spec.model.seed),
                                  secrets=policy_secrets(p.loaded, project), avoid=avoid, key_formats=source)
        epsilon = model.epsilon_spent

    kinds = {c.name: c.kind for c in columns}
    with _timed(out.timings, "checks_s"):
        extra = {"epsilon_spent": epsilon, **_leakage(source, output, _pii_columns(p))}
        metrics, out.checks = run_checks(train, holdout, synthetic, kinds, p.checks, seed=spec.model.seed, extra=extra,
                                         quasi_identifiers=spec.privacy.quasi_identifiers,
                                         epsilon=spec.privacy.epsilon, delta=spec.privacy.delta)
        out.metrics.update(metrics)
    out.rows = p.rows
    failed = any(c.outcome == Outcome.FAILED for c in out.checks)
    version = p.published.version if p.action == "recheck" and p.published else history.next_version(cons.target, p.table)
    record = _record(p, out, started, version=version, status="failed" if failed else "passed", published=not failed)
    if failed:
        out.status, out.exit_code = "failed", ExitCode.CHECK_FAILED
        names = ", ".join(c.metric for c in out.checks if c.outcome == Outcome.FAILED)
        out.message = f"checks failed: {names}; nothing published, the previous version is unchanged"
        record.version = None
        history.record_run(cons.target, record)
        return
    with _timed(out.timings, "publish_s"):
        history.publish(
            cons.target, schema=project.config.target.schema_, table=p.table,
            frame=None if p.action == "recheck" else output,
            column_types=p.source_columns, record=record, keep_versions=project.config.keep_versions,
            reuse_version=version if p.action == "recheck" else None,
        )
    out.status, out.published = "passed", True


def _fitted_model(cons: Connections, project: Project, p: Prepared, out: TableResult, options: ApplyOptions,
                  started, train: pd.DataFrame, columns: list) -> Synthesizer | None:  # noqa: ANN001
    """The cached model (hash-verified) for a resample, else a newly trained and cached one."""
    spec = p.loaded.spec
    cls = get_model(p.model)
    params = cls.Params.model_validate(spec.model.params)
    if p.action == "resample":
        expected = history.recorded_artifact(cons.target, p.table, p.fps.training)
        directory = state.verified_model_dir(project.state_dir, p.table, p.fps.training, expected)
        if directory is not None:
            return cls.load(directory, columns, params, spec.model.seed)
        p.action, p.reasons, out.action = "train", ["no cached model"], "train"
    budget = None
    data: object = train
    if cls.differentially_private:
        budget = _reserve_budget(cons, project, p, out, started)
        if budget is None:
            return None
        from synthspec.privacy.dp import PrivateTable

        data = PrivateTable(train, columns, budget)
    model = cls(columns, params, spec.model.seed, budget)
    with _timed(out.timings, "fit_s"), progress_bar(f"{p.table}: training {p.model}", enabled=options.show_progress) as bar, _model_errors(p.model, "training"):
        model.fit(data, progress=bar)
    _, digest = state.store_model(project.state_dir, p.table, p.fps.training, model.save)
    history.record_model(cons.target, p.table, p.fps.training, p.model, digest)
    return model


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
