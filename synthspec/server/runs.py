"""Runs of `synthspec serve`: a queue of `apply` processes, one at a time per project (one
writer per target database), each supervised, persisted and cancellable.

A run is the CLI itself, ``synthspec apply --format json`` in a child process, so every rule of
the CLI holds unchanged: the gate, the guardrails, the ledger, PII strictness, atomic
publishing. Exit codes become states (0 passed, 1 failed, 2 and 3 error, 130 cancelled). The
child reports its stages and progress as run events (``synthspec.engine.events``) into the
run's directory, which the API serves as they arrive.

Everything about a run lives in ``<state dir>/server/runs/<id>/``: ``run.json`` (written
atomically on every change), ``events.jsonl``, and once it ends, a copy of the reports it wrote.
The child dies with the server (Linux: ``PR_SET_PDEATHSIG`` sends it SIGTERM, which `apply`
treats as Ctrl-C: nothing more is published). A server that starts again finds runs it had
queued or was running and records them as failed, with the reason."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from synthspec.engine.events import ENV as EVENTS_ENV

TERMINAL = ("passed", "failed", "error", "cancelled")
_STATE_OF_EXIT = {0: "passed", 1: "failed", 2: "error", 3: "error", 130: "cancelled"}
#: The reports `apply` writes into target/ that a run keeps a copy of.
REPORTS = ("run_results.json", "report.html", "summary.md", "junit.xml")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Run:
    id: str
    select: list[str]
    force: bool
    state: str = "queued"  # queued | running | passed | failed | error | cancelled
    created_at: str = field(default_factory=_now)
    started_at: str | None = None
    finished_at: str | None = None
    exit_code: int | None = None
    #: why the run ended as it did, when its own output does not say (errors, cancellation)
    reason: str | None = None
    errors: list[str] = field(default_factory=list)
    #: per table, once the run has ended: status, published, metrics, checks (from run_results)
    tables: list[dict[str, Any]] = field(default_factory=list)
    cancel_requested: bool = False

    def public(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("cancel_requested")
        return data


def _libc_prctl() -> Any:
    """libc's ``prctl`` (Linux), looked up once in the parent: between fork and exec the child
    may only call what is already loaded."""
    if sys.platform != "linux":
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _libc_prctl()
_PR_SET_PDEATHSIG = 1


def _preexec() -> None:  # pragma: no cover - runs in the child between fork and exec
    """The child dies with the server: Linux sends it SIGTERM when the thread that started it
    (the run worker, alive as long as the server) ends, however the server ended."""
    os.setsid()
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGTERM))


class RunManager:
    """The queue and the records of every run of one project."""

    def __init__(self, project_dir: Path, state_dir: Path, target_dir: Path, env: dict[str, str] | None = None) -> None:
        self.project_dir = project_dir
        self.target_dir = target_dir
        self.root = state_dir / "server" / "runs"
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock_file = _hold_server_lock(state_dir / "server" / "lock")
        self.env = dict(os.environ if env is None else env)
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queue: deque[str] = deque()
        self._runs: dict[str, Run] = {}
        self._child: subprocess.Popen[bytes] | None = None
        self._running: str | None = None
        self._stopping = False
        self._recover()
        self._worker = threading.Thread(target=self._work, name="synthspec-runs", daemon=True)
        self._worker.start()

    # ------------------------------------------------------------------ records

    def _dir(self, run_id: str) -> Path:
        return self.root / run_id

    def _save(self, run: Run) -> None:
        directory = self._dir(run.id)
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = directory / "run.json.tmp"
        tmp.write_text(json.dumps(asdict(run), indent=2))
        os.replace(tmp, directory / "run.json")

    def _recover(self) -> None:
        """Load every recorded run; one this server had queued or was running when it stopped
        is failed now, with the reason (its child was stopped with the server)."""
        for path in sorted(self.root.glob("*/run.json")):
            try:
                data = json.loads(path.read_text())
                run = Run(**{k: v for k, v in data.items() if k in Run.__dataclass_fields__})
            except (OSError, ValueError, TypeError):
                continue
            if run.state not in TERMINAL:
                was = run.state
                run.state, run.finished_at = "error", _now()
                run.reason = (f"the server stopped while this run was {was}: it was stopped too, and published "
                              "nothing after that (the previous views are unchanged unless its reports say otherwise)")
                run.errors = [run.reason]
                self._save(run)
            self._runs[run.id] = run

    # ------------------------------------------------------------------ API

    def submit(self, select: list[str], force: bool) -> Run:
        now = datetime.now(timezone.utc)  # ids sort by creation time, to the millisecond
        run_id = now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z-" + secrets.token_hex(3)
        run = Run(id=run_id, select=list(select), force=force)
        with self._lock:
            self._runs[run.id] = run
            self._save(run)
            self._queue.append(run.id)
            self._wake.notify_all()
        return run

    def get(self, run_id: str) -> Run | None:
        with self._lock:
            return self._runs.get(run_id)

    def all(self) -> list[Run]:
        with self._lock:
            return sorted(self._runs.values(), key=lambda r: r.id, reverse=True)

    @property
    def busy(self) -> bool:
        """A run is writing into the target database now."""
        return self._running is not None

    def cancel(self, run_id: str) -> Run | None:
        with self._lock:
            run = self._runs.get(run_id)
            if run is None or run.state in TERMINAL:
                return run
            run.cancel_requested = True
            if run.state == "queued":
                with contextlib.suppress(ValueError):
                    self._queue.remove(run_id)
                run.state, run.finished_at, run.reason = "cancelled", _now(), "cancelled before it started"
                self._save(run)
                self._wake.notify_all()
                return run
            child = self._child if self._running == run_id else None
        if child is not None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)  # `apply` stops at its next safe point
        return run

    def wait(self, run_id: str, timeout: float) -> Run | None:
        """Block until the run ends or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while (run := self._runs.get(run_id)) is not None and run.state not in TERMINAL:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._wake.wait(left)
            return run

    def progress(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Per table: the stage it is in, and its progress within that stage when known."""
        tables: dict[str, dict[str, Any]] = {}
        for event in self.events(run_id):
            table = tables.setdefault(event["table"], {})
            if table.get("stage") != event["stage"]:
                table.clear()
            table["stage"] = event["stage"]
            if "total" in event:
                table["done"], table["total"] = event["done"], event["total"]
        return tables

    def events(self, run_id: str, start: int = 0) -> list[dict[str, Any]]:
        """The run's events from line ``start`` on."""
        path = self._dir(run_id) / "events.jsonl"
        try:
            lines = path.read_text().splitlines()
        except OSError:
            return []
        out = []
        for line in lines[start:]:
            with contextlib.suppress(ValueError):
                out.append(json.loads(line))
        return out

    async def follow(self, run_id: str, poll: float = 0.2) -> AsyncIterator[dict[str, Any]]:
        """Events as they arrive (stage changes and progress), then the run's end: dictionaries
        with ``type`` ``state``, ``stage`` or ``end``. Polls without holding a thread, so any
        number of clients can follow runs."""
        seen, last_state = 0, None
        while True:
            run = self.get(run_id)
            if run is None:
                return
            state = run.state  # read once: the worker may end the run meanwhile
            if state != last_state:
                last_state = state
                yield {"type": "state", "state": state}
            new = self.events(run_id, seen)
            seen += len(new)
            for event in new:
                yield {"type": "stage", **event}
            if state in TERMINAL:
                yield {"type": "end", **run.public()}
                return
            await asyncio.sleep(poll)

    def report(self, run_id: str) -> Path | None:
        path = self._dir(run_id) / "report.html"
        return path if path.is_file() else None

    def shutdown(self) -> None:
        """Stop the running child (nothing more is published) and the worker."""
        with self._lock:
            child = self._child
            self._queue.clear()
            self._stopping = True
            self._wake.notify_all()
        if child is not None:
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)

    # ------------------------------------------------------------------ the worker

    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._queue and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                run = self._runs[self._queue.popleft()]
                run.state, run.started_at = "running", _now()
                self._running = run.id
                self._save(run)
                self._wake.notify_all()
            try:
                self._execute(run)
            except Exception as exc:  # noqa: BLE001 - the run is an error, the server goes on
                run.state, run.reason = "error", f"the server could not run apply: {type(exc).__name__}"
                run.errors = [run.reason]
            with self._lock:
                run.finished_at = _now()
                self._running, self._child = None, None
                self._save(run)
                self._wake.notify_all()

    def _execute(self, run: Run) -> None:
        directory = self._dir(run.id)
        cmd = [sys.executable, "-m", "synthspec.cli.main", "apply", "--format", "json", "-q",
               "--project-dir", str(self.project_dir)]
        for table in run.select:
            cmd += ["-s", table]
        cmd += ["--force"] if run.force else []
        env = {**self.env, EVENTS_ENV: str(directory / "events.jsonl")}
        with open(directory / "stderr.txt", "wb") as err:
            child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env, cwd=self.project_dir,
                                     preexec_fn=_preexec if _PRCTL is not None else None)  # noqa: PLW1509
            with self._lock:
                self._child = child
                cancelled_early = run.cancel_requested
            if cancelled_early:
                child.send_signal(signal.SIGTERM)
            out, _ = child.communicate()
        run.exit_code = child.returncode
        try:
            doc = json.loads(out.decode() or "{}")
        except ValueError:
            doc = {}
        run.errors = [e if isinstance(e, str) else e.get("message", str(e)) for e in doc.get("errors", [])]
        run.tables = [_table_summary(t) for t in doc.get("tables", [])]
        state = _STATE_OF_EXIT.get(child.returncode, "error")
        if child.returncode < 0:  # killed by a signal before it could report
            state = "cancelled" if run.cancel_requested else "error"
            run.reason = f"apply was stopped by signal {-child.returncode}"
        if state == "cancelled":
            run.reason = "cancelled: nothing was published by this run" if not any(t.get("published") for t in run.tables) else \
                "cancelled after some tables were published (see tables)"
        elif run.cancel_requested:
            run.reason = "the cancel request came after the run had finished"
        if state == "error" and not run.errors:
            tail = (directory / "stderr.txt").read_text(errors="replace").strip().splitlines()[-3:]
            run.errors = tail or [f"apply exited with code {child.returncode}"]
        for name in REPORTS:
            source = self.target_dir / name
            if source.is_file() and _same_run(self.target_dir, doc.get("run_id")):
                shutil.copyfile(source, directory / name)
        run.state = state


class ServerBusy(Exception):
    """Another `synthspec serve` holds this project."""


def _hold_server_lock(path: Path) -> Any:
    """One server per project: two would each run `apply` into the same database and each
    record the other's runs as interrupted. An advisory lock, released when the process ends
    (however it ends)."""
    handle = open(path, "a+")  # noqa: SIM115 - held for the server's lifetime
    try:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:  # no flock (Windows): no guard
        return handle
    except OSError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        raise ServerBusy(f"another `synthspec serve` is running on this project{f' (pid {holder})' if holder else ''}") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def _same_run(target_dir: Path, run_id: str | None) -> bool:
    """target/ holds the reports of this run (and not of an earlier one)."""
    try:
        return run_id is not None and json.loads((target_dir / "run_results.json").read_text()).get("run_id") == run_id
    except (OSError, ValueError):
        return False


def _table_summary(table: dict[str, Any]) -> dict[str, Any]:
    keep = ("table", "status", "action", "model", "rows", "published", "metrics", "message")
    out = {k: table.get(k) for k in keep}
    out["checks"] = [{k: c.get(k) for k in ("metric", "outcome", "value", "min", "max", "min_relative", "severity", "message")
                      if k in c} for c in table.get("checks", [])]
    out["errors"] = [e.get("message") if isinstance(e, dict) else str(e) for e in table.get("errors", [])]
    return out
