from __future__ import annotations

import io

from synthspec.engine.progress import progress_bar


class FakeTTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_on_a_tty(monkeypatch):
    stream = FakeTTY()
    monkeypatch.setattr("sys.stderr", stream)
    with progress_bar("adult: training cart", enabled=True) as update:
        update(1, 3)
        update(3, 3)
    assert "adult: training cart" in stream.getvalue()


def test_quiet_or_not_a_tty_prints_nothing(monkeypatch):
    for stream, enabled in ((FakeTTY(), False), (io.StringIO(), True)):
        monkeypatch.setattr("sys.stderr", stream)
        with progress_bar("x", enabled=enabled) as update:
            update(1, 1)
        assert stream.getvalue() == ""
