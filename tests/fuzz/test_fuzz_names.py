"""Fuzz column names: whatever a warehouse calls its columns, `init` drafts specs that pass
`validate`, and `apply` on them ends with a documented exit code and the source unchanged."""

from __future__ import annotations

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.fuzz.helpers import FUZZ, SECRET, execute, project_dir, snapshot
from tests.helpers import run_cli

pytestmark = pytest.mark.integration

names = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=12),
    st.sampled_from(["on", "off", "yes", "No", "null", "NULL", "~", "true", "y", "n", "t", "select", "order", "1", "1.5",
                     "-", "#x", "a: b", "a\nb", " lead", "trail ", "'q'", '"dq"', "[x]", "{x}", "&anchor", "*alias",
                     "!tag", "%pct", "@at", "`tick`", "x,y", "ä", "İ", "数据", "😀", "a" * 60]),
)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@settings(FUZZ, max_examples=25)
@given(columns=st.lists(names, min_size=1, max_size=4, unique_by=str.lower), apply=st.booleans())
def test_init_drafts_specs_that_validate_whatever_the_column_names(columns, apply, monkeypatch_secret):
    with project_dir() as root:
        select = ", ".join(f"{expr} AS {_quote(name)}" for name, expr in
                           zip(columns, ["(i % 9)::DOUBLE", "chr(97 + (i % 4)::INT)", "i % 2 = 0", "(i % 5)::INTEGER"], strict=False))
        execute(root / "src.duckdb", "CREATE SCHEMA raw", f"CREATE TABLE raw.t AS SELECT {select} FROM range(150) r(i)")
        result = run_cli(root, "init", "--from-duckdb", str(root / "src.duckdb"), "--schema", "raw")
        assert result.exit_code == 0, result.output
        result = run_cli(root, "validate")
        assert result.exit_code == 0, (columns, result.output, (root / "specs" / "t.yml").read_text())
        if apply:
            before = snapshot(root, "src.duckdb")
            result = run_cli(root, "apply", "-q")
            event(f"apply exit {result.exit_code}")
            assert result.exit_code in (0, 1, 3), result.output
            assert snapshot(root, "src.duckdb").sources == before.sources


@pytest.fixture
def monkeypatch_secret(monkeypatch):
    monkeypatch.setenv("SYNTHSPEC_SECRET", SECRET)
