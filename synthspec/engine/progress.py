"""Progress bars on stderr: shown only on a TTY and never with ``-q``. A bar given its table
and stage also reports each step as a run event (``synthspec.engine.events``), TTY or not."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from synthspec.engine.events import emit


@contextmanager
def progress_bar(description: str, *, enabled: bool, total: int = 1, table: str | None = None,
                 stage: str | None = None) -> Iterator[Callable[[int, int], None]]:
    """Yield ``update(done, total)``; it draws nothing when disabled."""
    def report(done: int, new_total: int) -> None:
        if stage is not None:
            emit(table, stage, done, new_total)

    if not enabled or not sys.stderr.isatty():
        yield report
        return
    from tqdm import tqdm

    bar = tqdm(total=total, desc=description, file=sys.stderr, leave=False, unit="step", dynamic_ncols=True)

    def update(done: int, new_total: int) -> None:
        report(done, new_total)
        if bar.total != new_total:
            bar.total = new_total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()
