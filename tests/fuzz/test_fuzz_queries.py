"""Fuzz `source.query`: whatever a spec author writes, the source is not changed, no file appears
outside target/ and .synthspec/, the published view keeps its rows unless the run passed, and
the exit code is one of the documented ones."""

from __future__ import annotations

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.fuzz.helpers import FUZZ, PROJECT, execute, project_dir, snapshot
from tests.helpers import run_cli

pytestmark = pytest.mark.integration

#: Pieces of SQL, hostile and harmless, that the strategy strings together.
FRAGMENTS = [
    "select * from raw.t", "select x from raw.t", "select x, y from raw.t", ")", "(", ";", "x", ",", "'", '"',
    "delete from raw.t", "drop table raw.t", "update raw.t set x = 0", "insert into raw.t values (1, 'a')",
    "create table raw.z as select 1", "copy raw.t to 'stolen.csv'", "copy (select 1) to 'stolen.parquet'",
    "attach 'evil.duckdb' as evil", "create table evil.t as select * from raw.t", "detach evil",
    "set enable_external_access = true", "set lock_configuration = false", "pragma enable_profiling",
    "install httpfs", "load httpfs", "checkpoint", "call checkpoint()", "begin", "commit", "rollback",
    "select nextval('raw.s') as x, 'a' as y", "from read_csv('/etc/passwd')", "from read_text('/etc/hostname')",
    "from glob('*')", "from query('delete from raw.t')", "select * from (select * from raw.t) as q",
    "with c as (select * from raw.t) select * from c", "union all select * from raw.t", "where 1 = 1",
    "limit 5", "-- comment", "/* comment */", "/*", "*/", "describe", "explain", "export database 'dump'",
]


#: Single SELECT statements: they pass the statement rule, so the sandbox has to hold.
SOURCES = ["raw.t", "(select * from raw.t) q", "read_csv('/etc/passwd')", "read_text('/etc/hostname')",
           "read_parquet('stolen.parquet')", "glob('/etc/*')", "query('select * from raw.t')", "duckdb_settings()",
           "range(3)"]
TAILS = ["", " where 1 = 1", " limit 50", " -- trailing", " ;", " /* c */ ;", " union all select * from raw.t"]
selects = st.builds(lambda a, b, tail: f"select * from raw.t, (select count(*) from {a}) s1 where x >= 0 or {b} is null{tail}"
                    if a != "raw.t" else f"select * from raw.t{tail}",
                    st.sampled_from(SOURCES), st.sampled_from(["x", "y"]), st.sampled_from(TAILS))
#: The shape of a working injection into `... FROM ({query})`: close the parenthesis, run
#: statements, reopen one.
HOSTILE = [f for f in FRAGMENTS if f.split(" ")[0] in ("delete", "drop", "update", "insert", "create", "copy", "attach",
                                                        "set", "install", "load", "checkpoint", "call", "export")]
injections = st.builds(lambda stmts: f"select * from raw.t) q; {'; '.join(stmts)}; select * from (select * from raw.t",
                       st.lists(st.sampled_from(HOSTILE), min_size=1, max_size=3))
queries = st.one_of(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=8).map(" ".join), selects, injections)


def _project(root) -> None:
    (root / "synthspec.yml").write_text(PROJECT)
    execute(root / "wh.duckdb", "CREATE SCHEMA raw",
            "CREATE TABLE raw.t AS SELECT (i % 11)::DOUBLE AS x, chr(97 + (i % 5)::INT) AS y FROM range(120) r(i)",
            "CREATE SEQUENCE raw.s")
    (root / "specs").mkdir()
    _spec(root, "select * from raw.t")
    result = run_cli(root, "apply", "-q")
    assert result.exit_code == 0, result.output


def _spec(root, query: str) -> None:
    quoted = "'" + query.replace("'", "''") + "'"
    (root / "specs" / "t.yml").write_text(
        f"version: 1\ntable: t\nsource:\n  query: {quoted}\nmodel: {{type: cart}}\n"
        "columns:\n  x: {type: numerical}\n  y: {type: categorical}\n")


@settings(FUZZ, max_examples=40)
@given(query=queries, command=st.sampled_from(["plan", "scan", "apply"]))
def test_no_query_changes_the_source_or_the_file_system(query, command):
    with project_dir() as root:
        _project(root)
        before = snapshot(root)
        _spec(root, query)
        result = run_cli(root, command, "-q")
        assert result.exit_code in (0, 1, 2, 3), result.output
        event(f"{command} exit {result.exit_code}")
        after = snapshot(root)
        assert after.sources == before.sources  # no row of any source table changed
        assert after.files == before.files | {"specs/t.yml"} or after.files == before.files
        if not (command == "apply" and result.exit_code == 0):
            assert after.views == before.views
