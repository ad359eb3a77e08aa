"""Run events for a supervising process (`synthspec serve`): one JSON line per stage a table
enters and per progress step, appended to the file named by ``$SYNTHSPEC_EVENTS``.

Off, and free, when the variable is unset. Each event is one ``write`` of one short line on a
file opened for appending, so the ``--jobs`` worker processes of a run (which inherit the
variable) can share the file without interleaving. Events carry table names, stage names and
counts only: never a value."""

from __future__ import annotations

import json
import os
import time

ENV = "SYNTHSPEC_EVENTS"

#: The stages of a table, in order (the `<stage>_s` timings of run_results.json).
STAGES = ("read", "fit", "sample", "checks", "report", "publish")


def emit(table: str | None, stage: str, done: int | None = None, total: int | None = None) -> None:
    path = os.environ.get(ENV)
    if not path or table is None:
        return
    event = {"t": round(time.time(), 3), "table": table, "stage": stage}
    if total:
        event |= {"done": int(done or 0), "total": int(total)}
    line = (json.dumps(event) + "\n").encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
    except OSError:
        pass  # progress is informational: a supervisor that went away must not fail the run
