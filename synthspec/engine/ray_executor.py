"""`apply --executor ray`: each table's compute (``synthspec.engine.compute``) runs as a Ray task.

The pool below looks like the ``ProcessPoolExecutor`` that ``--jobs N`` uses (``submit`` returns a
``concurrent.futures.Future``), so the scheduler in ``engine/apply.py`` keeps one code path: it
hands a table out once the tables it references are done, publishes each group when all of its
tables are, and alone reads sources and writes DuckDB. A task only gets a picklable ``TableJob``
and returns a ``JobResult``: no database connection ever reaches a Ray worker.

Failures are told apart the way the local executor does:

* an error of the table itself (a ``SynthspecError`` raised by compute) comes back as a value and
  is re-raised in the parent, so the table is an error with its own message and exit code;
* a worker or node that died (``WorkerCrashedError``, ``NodeDiedError``, Ray's out-of-memory
  killer...) is retried by Ray (``MAX_RETRIES``); if it still fails, the table is an environment
  error (exit 3) that names what happened, and nothing of its group is published;
* any other exception of the task is re-raised as itself (an internal error, as with ``--jobs``).

Ray is an optional extra (``pip install 'synthspec[ray]'``); it is imported only here, and only
when ``--executor ray`` is given.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from synthspec.errors import EnvironmentError_, SynthspecError

if TYPE_CHECKING:
    from synthspec.engine.compute import JobResult, TableJob

#: How often Ray re-runs a task whose worker process or node died before the table is an error.
#: Compute is deterministic (same job, same rows), so a retried task gives the rows the first
#: attempt would have.
MAX_RETRIES = 2

#: CPUs one table's task reserves; its numeric libraries are capped at as many threads.
TASK_CPUS = 1


def import_ray() -> Any:
    """The ``ray`` module, or a one-line environment error (exit 3) saying how to get it."""
    try:
        import ray
    except ImportError as exc:  # also a module set to None, or a broken install
        raise EnvironmentError_(
            f"--executor ray needs Ray, which cannot be imported ({type(exc).__name__}): "
            "install it with `pip install 'synthspec[ray]'`, or run with --executor local") from None
    return ray


def run_table(job: TableJob) -> JobResult | SynthspecError:
    """The body of one Ray task: compute the table with its numeric libraries capped at the
    task's CPUs. A table error is returned, not raised, so it reaches the parent as the same
    exception (Ray would wrap it in a ``RayTaskError``)."""
    from synthspec.engine.compute import compute, limit_threads

    limit_threads(TASK_CPUS)
    try:
        return compute(job)
    except SynthspecError as exc:
        return exc
    except MemoryError:
        return EnvironmentError_("out of memory")


class RayPool:
    """``submit(fn, job)`` runs ``fn(job)`` as a Ray task and returns a standard future."""

    def __init__(self, ray: Any) -> None:
        self._ray = ray
        self._remote = ray.remote(num_cpus=TASK_CPUS, max_retries=MAX_RETRIES, retry_exceptions=False)(run_table)
        self._running: dict[Any, Future[Any]] = {}

    def slots(self) -> int:
        """How many tables to hand out at once: the cluster's CPUs (at least one)."""
        cpus = self._ray.cluster_resources().get("CPU", 1)
        return max(1, int(cpus) // TASK_CPUS)

    def submit(self, fn: Callable[[TableJob], Any], job: TableJob) -> Future[Any]:
        """Run one table. ``fn`` is what the local pool would run (``compute``); here the task
        always runs :func:`run_table`, which calls it."""
        ref = self._remote.options(name=f"synthspec:{job.table}").remote(job)
        outer: Future[Any] = Future()
        outer.set_running_or_notify_cancel()
        self._running[ref] = outer
        ref.future().add_done_callback(lambda inner: self._settle(ref, job.table, inner, outer))
        return outer

    def _settle(self, ref: Any, table: str, inner: Future[Any], outer: Future[Any]) -> None:
        self._running.pop(ref, None)
        try:
            value = inner.result()
        except BaseException as exc:  # noqa: BLE001 - translated, then handed to the parent as is
            outer.set_exception(task_failure(self._ray, table, exc))
            return
        if isinstance(value, SynthspecError):
            outer.set_exception(value)
        else:
            outer.set_result(value)

    def cancel_all(self) -> None:
        """Ctrl-C, or a run that stopped: every task still running or queued is cancelled
        (its worker killed), so no CPU keeps working for a run that publishes nothing."""
        for ref in list(self._running):
            with contextlib.suppress(Exception):
                self._ray.cancel(ref, force=True)
        self._running.clear()


def task_failure(ray: Any, table: str, exc: BaseException) -> BaseException:
    """What a failed task means for its table. An exception the task raised is the task's own
    (re-raised as itself); a worker, node or object lost after every retry is an environment
    error naming what Ray reported (never a library message: it may quote data)."""
    errors = ray.exceptions
    if isinstance(exc, errors.RayTaskError):
        cause = getattr(exc, "cause", None)
        return cause if isinstance(cause, BaseException) else exc
    if isinstance(exc, errors.TaskCancelledError):
        return KeyboardInterrupt()
    what = {"WorkerCrashedError": "its Ray worker process died", "NodeDiedError": "its Ray node died",
            "OutOfMemoryError": "Ray's memory monitor killed its worker (out of memory)",
            "ObjectLostError": "its input or result was lost from the Ray object store"}
    reason = next((text for name, text in what.items() if any(c.__name__ == name for c in type(exc).__mro__)),
                  f"the Ray task failed ({type(exc).__name__})")
    return EnvironmentError_(f"table '{table}' did not finish on Ray: {reason}, "
                             f"also after {MAX_RETRIES} retries ({type(exc).__name__})")


def _run_shard(job: TableJob, model: Any, kinds: dict[str, str], shard: Any, shards_in_all: int,
               memo: dict[str, Any], directory: Any) -> Any:
    """The body of one shard's Ray task: ``compute.draw_shard`` with the task's thread cap."""
    from synthspec.engine.compute import draw_shard, limit_threads

    limit_threads(TASK_CPUS)
    return draw_shard(job, model, None, kinds, shard, shards_in_all, memo, directory)


def draw_shards(job: TableJob, model: Any, kinds: dict[str, str], layout: list[Any], directory: Any,
                memo: dict[str, Any]) -> Iterator[Any]:
    """The shards of one big output (``engine.shards``), shard 0 drawn here and the others as Ray
    tasks from inside the table's own task, yielded in shard order (``compute.ShardOut``). The
    job, the model and what every shard shares (``memo``, filled by shard 0) go to the object
    store once. Each shard's rows depend only on the seed and its index, so they are the rows a
    local run draws; a shard whose worker dies is retried like a table. Parts are written by the
    workers to ``directory`` (the project's state directory: shared storage on a real cluster)."""
    import ray

    from synthspec.engine.compute import DONORS, draw_shard

    first = draw_shard(job, model, None, kinds, layout[0], len(layout), memo, directory, keep=True)
    remote = ray.remote(num_cpus=TASK_CPUS, max_retries=MAX_RETRIES, retry_exceptions=False)(_run_shard)
    # the training rows are a copy of the job's source rows: each task takes its own rather than
    # a second copy of them through the object store
    shared = {key: value for key, value in memo.items() if key != DONORS}
    job_ref, model_ref, memo_ref = ray.put(job), ray.put(model), ray.put(shared)
    refs = [remote.options(name=f"synthspec:{job.table}:shard{shard.index}").remote(
        job_ref, model_ref, kinds, shard, len(layout), memo_ref, directory) for shard in layout[1:]]
    yield first
    try:
        for shard, ref in zip(layout[1:], refs, strict=True):
            try:
                out = ray.get(ref)
            except BaseException as exc:
                raise task_failure(ray, f"{job.table} (shard {shard.index})", exc) from None
            yield out
            del out
    finally:
        for ref in refs:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)


def reachable(address: str, timeout: float = 10.0) -> None:
    """Fail fast on a cluster that does not answer: ``ray.init`` itself retries an unreachable
    address for minutes, printing a warning every few seconds. Addresses other than host:port
    (``auto``, ``local``, ``ray://...``) are left to Ray."""
    import socket

    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "/" in host or not host:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise EnvironmentError_(f"cannot reach the Ray cluster at {address} ({type(exc).__name__}): is it running "
                                "(`ray start --head`), and is --ray-address / RAY_ADDRESS its head's host:port?") from None


@contextmanager
def ray_pool(address: str | None) -> Iterator[RayPool]:
    """Connect to the Ray cluster at ``address`` (None: the ``RAY_ADDRESS`` environment variable,
    else a new local cluster started and stopped with the run). Leaving the block cancels what
    still runs and disconnects. Without an address Ray would otherwise look for the last cluster
    `ray start` recorded in /tmp/ray, and wait forever when that file outlived its cluster."""
    ray = import_ray()
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address is not None:
        reachable(address)
    try:
        ray.init(address=address or "local", log_to_driver=False, logging_level=logging.WARNING, include_dashboard=False,
                 configure_logging=True)
    except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ValueError...
        where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
        raise EnvironmentError_(f"cannot start or reach {where}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")) from None
    pool = RayPool(ray)
    try:
        yield pool
    finally:
        pool.cancel_all()
        with contextlib.suppress(Exception):
            ray.shutdown()


__all__ = ["MAX_RETRIES", "RayPool", "draw_shards", "import_ray", "ray_pool", "run_table", "task_failure"]
