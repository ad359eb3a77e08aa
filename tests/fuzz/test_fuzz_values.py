"""Fuzz cell values: whatever the source holds in its PII and free-text columns, and whichever way
a run ends (published, failed, or a DuckDB error quoting a cell), no such value reaches the
output, a report, the run history or the published view, and no interpolated secret does."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.fuzz.helpers import (
    FUZZ,
    PROJECT,
    SECRET,
    SECRET_VAR_VALUE,
    channels,
    project_dir,
    snapshot,
)
from tests.helpers import make_warehouse, run_cli

pytestmark = pytest.mark.integration

ROWS = 40

#: Distinctive values: a marker no report wording contains, then any characters (quotes,
#: separators, unicode), at least eight letters or digits in all, so no random draw spells one.
values = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=5, max_size=24).map(
    lambda v: "Zqx" + v).filter(lambda v: sum(ch.isalnum() for ch in v) >= 8 and v.strip() == v)

SPEC = """\
version: 1
table: t
description: "owned by ${FUZZ_SECRET}"
source: {SOURCE}
model: {type: cart, seed: 3}
columns:
  id: {type: id, primary_key: true}
  name: {type: text, pii: fake, faker: name}
  secret: {type: text, pii: drop}
  note: {type: text}
  x: {type: numerical}
  y: {type: categorical}
"""

#: How the run is made to end: normally, at a failed gate, or at a DuckDB error quoting a cell.
ENDINGS = {
    "publish": "{table: raw.t}",
    "gate": "{table: raw.t}",
    "conversion": "{query: 'select id, name, secret, note, cast(name as integer) as x, y from raw.t'}",
    "decimal": "{query: 'select id, name, secret, note, cast(secret as decimal(10, 2)) as x, y from raw.t'}",
    "date": "{query: 'select id, name, secret, note, epoch(cast(note as date)) as x, y from raw.t'}",
    "error": "{query: 'select id, name, secret, note, x, y from raw.t where error(upper(note)) is null'}",
    "wrapped": "{query: 'select id, name, secret, note, cast(''x  || note ||  y'' as int) as x, y from raw.t'}",
    "regexp": "{query: 'select id, name, secret, note, x, y from raw.t where regexp_matches(note, ''('' || name)'}",
}


def _frame(cells: list[str]) -> pd.DataFrame:
    n = len(cells)
    return pd.DataFrame({"id": range(1, ROWS + 1), "name": [cells[i % n] for i in range(ROWS)],
                         "secret": [cells[(i + 1) % n] for i in range(ROWS)], "note": [cells[(i + 2) % n] for i in range(ROWS)],
                         "x": [float(i % 7) for i in range(ROWS)], "y": [("a", "b", "c")[i % 3] for i in range(ROWS)]})


@settings(FUZZ, max_examples=24)
@given(cells=st.lists(values, min_size=3, max_size=6, unique=True), ending=st.sampled_from(sorted(ENDINGS)))
def test_no_cell_value_or_secret_leaves_through_any_channel(cells, ending, monkeypatch_secrets):
    with project_dir() as root:
        make_warehouse(root / "wh.duckdb", {"t": _frame(cells)})
        project = PROJECT if ending != "gate" else PROJECT.replace("quality_score: {min: 0.0}", "quality_score: {min: 1.0}")
        (root / "synthspec.yml").write_text(project)
        (root / "specs").mkdir()
        (root / "specs" / "t.yml").write_text(SPEC.replace("{SOURCE}", ENDINGS[ending]))
        before = snapshot(root)
        result = run_cli(root, "apply")
        event(f"{ending} exit {result.exit_code}")
        assert result.exit_code in (0, 1, 3), result.output
        seen = channels(root, result.output) + repr(snapshot(root).views) + _published(root)
        for value in (*cells, SECRET, SECRET_VAR_VALUE):
            assert value not in seen, (ending, result.output)
        assert snapshot(root).sources == before.sources


def _published(root) -> str:
    import duckdb

    con = duckdb.connect(str(root / "wh.duckdb"), read_only=True)
    try:
        if not con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 't' AND schema_name = 'synthetic'").fetchone()[0]:
            return ""
        return repr(con.execute("SELECT * FROM synthetic.t").fetchall())
    finally:
        con.close()


@pytest.fixture
def monkeypatch_secrets(monkeypatch):
    monkeypatch.setenv("FUZZ_SECRET", SECRET_VAR_VALUE)
    monkeypatch.setenv("SYNTHSPEC_SECRET", SECRET)
