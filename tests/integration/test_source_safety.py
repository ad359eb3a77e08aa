"""Sources are read-only by construction: a spec cannot write the source, touch the file system or
read outside the project through `source.query` or `source.path` (issue: data loss and
exfiltration through `source.query`)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.helpers import make_warehouse, query_db, run_cli

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

INJECTIONS = {
    "delete": "select * from raw.titanic) x; delete from raw.adult; DESCRIBE SELECT * FROM (select * from raw.titanic",
    "copy": "select * from raw.titanic) x; COPY raw.titanic TO 'out.csv'; DESCRIBE SELECT * FROM (select * from raw.titanic",
    "attach": ("select * from raw.titanic) x; ATTACH 'evil.duckdb' AS evil; CREATE TABLE evil.stolen AS "
               "SELECT * FROM raw.titanic; DESCRIBE SELECT * FROM (select * from raw.titanic"),
    "statements": "select * from raw.titanic; delete from raw.adult",
    "not_a_select": "delete from raw.adult",
}


@pytest.fixture
def project(tmp_path, adult, write):
    titanic = pd.read_csv(FIXTURES / "titanic.csv")
    make_warehouse(tmp_path / "wh.duckdb", {"adult": adult.head(300), "titanic": titanic})
    write("synthspec.yml", """
        name: safety
        source: {duckdb: wh.duckdb}
        target: {duckdb: wh.duckdb, schema: synthetic}
        defaults:
          checks: {quality_score: {min: 0.0}, dcr_share: {max: 1.0}}
        """)
    return tmp_path


def _spec(project: Path, source: str, columns: str = "  x: {type: numerical}\n") -> Path:
    path = project / "specs" / "t.yml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"version: 1\ntable: t\nsource:\n{source}\nmodel: {{type: cart}}\ncolumns:\n{columns}")
    return path


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if ".synthspec" not in p.parts and "target" not in p.parts}


@pytest.mark.parametrize("name", sorted(INJECTIONS))
@pytest.mark.parametrize("command", ["validate", "scan", "plan", "apply"])
def test_query_injections_are_refused_and_change_nothing(project, name, command):
    _spec(project, f"  query: {_quoted(INJECTIONS[name])}")
    before = _files(project)
    result = run_cli(project, command)
    assert result.exit_code == 2, result.output
    assert "specs/t.yml:4:3: source.query" in result.output
    assert query_db(project, "select count(*) from raw.adult") == [(300,)]
    assert _files(project) - before <= {"wh.duckdb.wal"}  # no out.csv, no evil.duckdb
    assert not (project / "out.csv").exists() and not (project / "evil.duckdb").exists()


@pytest.mark.parametrize("query", [
    "select * from read_csv('/etc/passwd')",
    "select * from (select 1 as x) a, read_text('/etc/hostname')",
    "select * from raw.titanic where 1 = (select count(*) from glob('/etc/*'))",
])
def test_a_select_cannot_reach_the_file_system(project, query):
    _spec(project, f"  query: {_quoted(query)}")
    assert run_cli(project, "validate").exit_code == 0  # one SELECT: the rule holds, the sandbox refuses
    result = run_cli(project, "apply")
    assert result.exit_code == 3, result.output
    assert "cannot read source query" in result.output and "disabled" in result.output
    assert query_db(project, "select count(*) from information_schema.tables where table_schema = 'synthetic'") == [(0,)]


def test_a_read_leaves_no_trace_in_the_source(project):
    """With source and target in one file, reads run in a read-only transaction."""
    con = duckdb.connect(str(project / "wh.duckdb"))
    con.execute("CREATE SEQUENCE raw.s START 1")
    con.close()
    _spec(project, "  query: 'select nextval(''raw.s'') as x from raw.adult'")
    result = run_cli(project, "apply", "-q")
    assert result.exit_code == 3 and "read-only" in result.output, result.output
    con = duckdb.connect(str(project / "wh.duckdb"))
    try:
        assert con.execute("select nextval('raw.s')").fetchone() == (1,)
    finally:
        con.close()


def test_a_query_ending_in_a_comment_reads(project):
    _spec(project, "  query: |\n    select age as x from raw.adult -- the adults\n    ;  -- done")
    result = run_cli(project, "apply", "-q")
    assert result.exit_code == 0, result.output


def test_paths_outside_the_project_are_refused(project):
    _spec(project, "  path: ../../../../etc/*")
    result = run_cli(project, "validate")
    assert result.exit_code == 2
    assert "specs/t.yml:4:3: source.path '../../../../etc/*' is outside the project directory" in result.output
    assert "source_roots" in result.output


def test_a_symbolic_link_out_of_the_project_is_refused(project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    pd.DataFrame({"x": [1.0, 2.0, 3.0] * 20}).to_csv(outside / "x.csv", index=False)
    (project / "data").mkdir()
    os.symlink(outside / "x.csv", project / "data" / "x.csv")
    _spec(project, "  path: data/x.csv")
    for command in ("validate", "apply"):
        result = run_cli(project, command)
        assert result.exit_code == 2 and "'data/x.csv' is outside the project directory" in result.output
    _spec(project, "  path: data/*.csv")  # a glob is judged per matched file, once they are read
    result = run_cli(project, "apply")
    assert result.exit_code == 2 and "outside the project directory (through a symbolic link)" in result.output


def test_source_roots_allow_a_directory_outside_the_project(project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("lake")
    pd.DataFrame({"x": [float(i % 17) for i in range(200)]}).to_parquet(outside / "x.parquet")
    text = (project / "synthspec.yml").read_text()
    (project / "synthspec.yml").write_text(text + f"source_roots: ['{outside}']\n")
    _spec(project, f"  path: '{outside}/*.parquet'")
    result = run_cli(project, "apply", "-q")
    assert result.exit_code == 0, result.output
    assert query_db(project, "select count(*) from synthetic.t") == [(200,)]
