from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from tests.helpers import ADULT_COLUMNS, make_warehouse

REPO = Path(__file__).resolve().parents[1]
ADULT = REPO / "data" / "adult.parquet"

os.environ.setdefault("DO_NOT_TRACK", "1")


@pytest.fixture(autouse=True)
def machine_ledger(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own machine budget ledger (never the user's)."""
    path = tmp_path_factory.mktemp("ledger") / "budget_ledger.jsonl"
    monkeypatch.setenv("SYNTHSPEC_LEDGER", str(path))
    return path


@pytest.fixture(autouse=True)
def fresh_redaction() -> None:
    """The redaction registry is per process (one CLI command): tests that run many commands in
    one process start each from an empty one, as a command does."""
    from synthspec import redact

    redact.reset()


@pytest.fixture(scope="session")
def adult() -> pd.DataFrame:
    return pd.read_parquet(ADULT)


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write a dedented text file under the test's project directory."""

    def _write(relative: str, text: str) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    return _write


@pytest.fixture
def adult_project(tmp_path: Path, adult: pd.DataFrame, write: Callable[[str, str], Path]) -> Path:
    """A project over a small Adult sample in `wh.duckdb` (source and target in one file)."""
    make_warehouse(tmp_path / "wh.duckdb", {"adult": adult.head(800)})
    write("synthspec.yml", """
        name: test
        source: {duckdb: wh.duckdb}
        target: {duckdb: wh.duckdb, schema: synthetic}
        defaults:
          checks:
            quality_score: {min: 0.5}
            dcr_share: {max: 0.9}
        """)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "adult.yml").write_text(
        "version: 1\ntable: adult\nsource:\n  table: raw.adult\nmodel:\n  type: cart\n  seed: 7\ncolumns:\n" + ADULT_COLUMNS
    )
    return tmp_path
