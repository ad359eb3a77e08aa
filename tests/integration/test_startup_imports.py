"""Start-up pays only for what a command uses: `validate` loads no numeric library at all, and
on an up-to-date project `plan` and a no-op `apply` load DuckDB but neither numpy, pandas,
pyarrow nor any model library (a table with work pending is scanned, which does need pandas);
applying the default model to a small table loads neither scikit-learn nor SciPy.
Each command runs in a fresh interpreter, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.helpers import run_cli

HEAVY = ("numpy", "pandas", "pyarrow", "sklearn", "scipy", "torch", "sdv", "duckdb", "threadpoolctl", "faker")
#: What each command may load of HEAVY.
ALLOWED = {"validate": set(), "plan": {"duckdb"}, "apply": {"duckdb"}}

_PROBE = (
    "import sys\n"
    "from synthspec.cli.main import cli\n"  # not main(): its exit skips the interpreter's teardown
    "try:\n"
    "    cli(sys.argv[1:], prog_name='synthspec')\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "else:\n"
    "    code = 0\n"
    f"print('LOADED', sorted(m for m in {HEAVY!r} if m in sys.modules), 'EXIT', code)\n"
)


def _loaded(project: Path, *args: str) -> tuple[set[str], str]:
    out = subprocess.run([sys.executable, "-c", _PROBE, *args, "--project-dir", str(project)], cwd=REPO,
                         capture_output=True, text=True, check=True, timeout=300)
    line = next(line for line in out.stdout.splitlines() if line.startswith("LOADED"))
    loaded, code = line.removeprefix("LOADED ").rsplit(" EXIT ", 1)
    return set(eval(loaded)), code  # noqa: S307 - our own probe's repr of a list of str


def test_validate_loads_no_numeric_or_model_library(adult_project: Path) -> None:
    loaded, code = _loaded(adult_project, "validate")
    assert code in ("0", "None"), code
    assert loaded <= ALLOWED["validate"], sorted(loaded - ALLOWED["validate"])


def test_plan_and_a_no_op_apply_load_no_numeric_or_model_library(adult_project: Path) -> None:
    spec = adult_project / "specs" / "adult.yml"  # a generalize width is checked against its column type, cheaply
    spec.write_text(spec.read_text().replace("  age: {type: numerical}", "  age: {type: numerical, pii: generalize, width: 5}"))
    assert "width: 5" in spec.read_text()
    assert run_cli(adult_project, "apply").exit_code == 0
    for command in ("plan", "apply"):
        loaded, code = _loaded(adult_project, command)
        assert code in ("0", "None"), (command, code)
        assert loaded <= ALLOWED[command], (command, sorted(loaded - ALLOWED[command]))
    # The same command with work to do does load them: the probe sees imports.
    loaded, _ = _loaded(adult_project, "apply", "--force")
    assert {"numpy", "pandas"} <= loaded
    # Training, sampling and checking the default cart model on a small table need neither
    # scikit-learn nor SciPy (importing them costs more than a second).
    assert not loaded & {"sklearn", "scipy", "torch", "sdv"}, sorted(loaded)
