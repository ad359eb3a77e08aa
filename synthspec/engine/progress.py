"""Progress bars on stderr: shown only on a TTY and never with ``-q``."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(description: str, *, enabled: bool, total: int = 1) -> Iterator[Callable[[int, int], None]]:
    """Yield ``update(done, total)``; a no-op when disabled."""
    if not enabled or not sys.stderr.isatty():
        yield lambda done, total: None
        return
    from tqdm import tqdm

    bar = tqdm(total=total, desc=description, file=sys.stderr, leave=False, unit="step", dynamic_ncols=True)

    def update(done: int, new_total: int) -> None:
        if bar.total != new_total:
            bar.total = new_total
        bar.n = done
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()
