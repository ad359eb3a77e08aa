"""`init` appends `.synthspec/` and `target/` to the project's `.gitignore` (issue 10): state
and reports must never be committed, and a user should not have to remember it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from synthspec.engine.init import GITIGNORE_ENTRIES, ignore_generated
from tests.helpers import run_cli

pytestmark = pytest.mark.integration


def _lake(root: Path) -> None:
    (root / "lake").mkdir(parents=True)
    frame = pd.DataFrame({"id": range(1, 41), "size": [i % 7 for i in range(40)], "kind": ["a", "b"] * 20})
    frame.to_parquet(root / "lake" / "things.parquet")


def test_init_creates_gitignore_and_says_so(tmp_path):
    _lake(tmp_path)
    result = run_cli(tmp_path, "init", "--from-path", "lake/*.parquet")
    assert result.exit_code == 0, result.output
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert ".synthspec/" in lines and "target/" in lines
    assert f"added .synthspec/, target/ to {tmp_path / '.gitignore'}" in result.stdout
    assert f"wrote {tmp_path / '.gitignore'}" in result.stdout


def test_init_keeps_existing_rules_and_never_duplicates(tmp_path):
    _lake(tmp_path)
    (tmp_path / ".gitignore").write_text("*.pyc\n/target")  # no final newline; target spelt differently
    result = run_cli(tmp_path, "init", "--from-path", "lake/*.parquet", "--format", "json")
    assert result.exit_code == 0, result.output
    assert str(tmp_path / ".gitignore") in json.loads(result.stdout)["written"]
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert lines[:2] == ["*.pyc", "/target"]
    assert lines.count(".synthspec/") == 1 and "target/" not in lines


def test_ignore_generated_is_idempotent(tmp_path):
    assert ignore_generated(tmp_path) == list(GITIGNORE_ENTRIES)
    before = (tmp_path / ".gitignore").read_text()
    assert ignore_generated(tmp_path) == []
    assert (tmp_path / ".gitignore").read_text() == before


def test_complete_gitignore_is_left_untouched_and_not_reported(tmp_path):
    _lake(tmp_path)
    (tmp_path / ".gitignore").write_text("# mine\n.synthspec\ntarget/\n")
    result = run_cli(tmp_path, "init", "--from-path", "lake/*.parquet")
    assert result.exit_code == 0, result.output
    assert (tmp_path / ".gitignore").read_text() == "# mine\n.synthspec\ntarget/\n"
    assert ".gitignore" not in result.stdout
