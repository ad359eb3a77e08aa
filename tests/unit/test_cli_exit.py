"""The console script ends without the interpreter's teardown (``cli.main._exit``), and loses
nothing for it: the exit status, both streams' buffered output and the atexit functions are
those of an ordinary exit; with another thread still running, the ordinary exit waits for it."""

from __future__ import annotations

import subprocess
import sys

import pytest

_ATEXIT = "import atexit; atexit.register(lambda: print('atexit ran', file=sys.stderr))\n"


def _run(body: str) -> subprocess.CompletedProcess[str]:
    code = f"import sys, threading, time\nfrom synthspec.cli.main import _exit\n{_ATEXIT}{body}\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("given", "status"), [("None", 0), ("0", 0), ("2", 2), ("3", 3)])
def test_status_streams_and_atexit_survive_the_fast_exit(given: str, status: int) -> None:
    # Buffered, not yet flushed output on both streams must come out.
    done = _run(f"sys.stdout.write('out'); sys.stderr.write('err\\n'); _exit({given})")
    assert done.returncode == status
    assert done.stdout == "out"
    assert done.stderr.splitlines() == ["err", "atexit ran"]


def test_a_message_is_printed_with_status_one() -> None:
    done = _run("_exit('error: stopped')")
    assert done.returncode == 1
    assert done.stderr.splitlines() == ["error: stopped", "atexit ran"]


def test_a_running_thread_is_waited_for() -> None:
    body = ("def late():\n    time.sleep(0.3)\n    print('thread done', flush=True)\n"
            "threading.Thread(target=late).start()\n_exit(4)")
    done = _run(body)
    assert done.returncode == 4
    assert done.stdout == "thread done\n"


def test_the_console_script_keeps_its_exit_codes(tmp_path) -> None:  # noqa: ANN001
    # No project here: a usage error (exit 2, one line, no traceback) through the real entry point.
    done = subprocess.run([sys.executable, "-m", "synthspec.cli.main", "validate", "--project-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.strip(), "the error must reach stderr before the process ends"
    ok = subprocess.run([sys.executable, "-m", "synthspec.cli.main", "--version"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and ok.stdout.strip()
