"""The published views as dbt and other DuckDB connections see them: attached under another
alias, copied without the source, and read by a real `dbt build` through the sources file
that `synthspec dbt-sources` generates."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from click.testing import CliRunner

from synthspec.cli.main import cli
from tests.helpers import make_warehouse

pytestmark = pytest.mark.integration

ROWS = 300

PEOPLE_SPEC = """
    version: 1
    table: people
    description: A sample of the Adult census, one row per person.
    source: {table: raw.people}
    model: {type: cart, seed: 7}
    columns:
      person_id: {type: id, primary_key: true, description: Primary key.}
      age:       {type: numerical, description: Age in years.}
      workclass: {type: categorical}
      sex:       {type: categorical, values: [Female, Male]}
      income:    {type: categorical, values: ["<=50K", ">50K"]}
    """


def people_frame(adult: pd.DataFrame) -> pd.DataFrame:
    frame = adult.head(ROWS)[["age", "workclass", "sex", "income"]].copy()
    frame.insert(0, "person_id", range(1, ROWS + 1))
    return frame


def project_file(source: str, target: str) -> str:
    return f"""
        name: people
        source: {{duckdb: {source}}}
        target: {{duckdb: {target}, schema: synthetic}}
        defaults:
          checks:
            quality_score: {{min: 0.5}}
            dcr_share: {{max: 0.9}}
        """


@pytest.fixture
def same_file(tmp_path: Path, adult: pd.DataFrame, write: Callable[[str, str], Path]) -> Path:
    """Source and target in `wh.duckdb`."""
    make_warehouse(tmp_path / "wh.duckdb", {"people": people_frame(adult)})
    write("synthspec.yml", project_file("wh.duckdb", "wh.duckdb"))
    write("specs/people.yml", PEOPLE_SPEC)
    return tmp_path


@pytest.fixture
def two_files(tmp_path: Path, adult: pd.DataFrame, write: Callable[[str, str], Path]) -> Path:
    """Real rows in `real.duckdb`, synthetic views in their own `synth.duckdb`."""
    make_warehouse(tmp_path / "real.duckdb", {"people": people_frame(adult)})
    write("synthspec.yml", project_file("real.duckdb", "synth.duckdb"))
    write("specs/people.yml", PEOPLE_SPEC)
    return tmp_path


def synthspec(project: Path, *args: str):
    result = CliRunner().invoke(cli, [*args, "--project-dir", str(project)], catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def apply(project: Path) -> None:
    result = synthspec(project, "apply", "-q")
    assert result.exit_code == 0, result.output


def fetch(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


# --------------------------------------------------------------------------- plain DuckDB


def test_view_resolves_when_the_file_is_attached_under_another_alias(same_file):
    apply(same_file)
    con = duckdb.connect()
    try:
        # A `_synthspec` schema in the attaching database must not capture the view's lookup.
        con.execute("CREATE SCHEMA _synthspec; CREATE TABLE _synthspec.people__v1 AS SELECT 1 AS person_id")
        con.execute(f"ATTACH '{same_file / 'wh.duckdb'}' AS other (READ_ONLY)")
        assert fetch(con, "SELECT count(*) FROM other.synthetic.people") == [(ROWS,)]
        assert fetch(con, "SELECT count(DISTINCT person_id) FROM other.synthetic.people") == [(ROWS,)]
        described = fetch(con, "SELECT column_name, column_type FROM (DESCRIBE other.synthetic.people)")
        assert described == fetch(con, "SELECT column_name, column_type FROM (DESCRIBE other.raw.people)")
    finally:
        con.close()


def test_separate_target_file_works_without_the_source(two_files, tmp_path_factory):
    apply(two_files)
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "copy.duckdb"
    shutil.copy(two_files / "synth.duckdb", elsewhere)
    con = duckdb.connect(str(elsewhere), read_only=True)
    try:
        schemas = {r[0] for r in fetch(con, "SELECT DISTINCT schema_name FROM duckdb_tables()")}
        assert "raw" not in schemas
        assert fetch(con, "SELECT count(*) FROM synthetic.people") == [(ROWS,)]
    finally:
        con.close()
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{elsewhere}' AS synth (READ_ONLY)")
        assert fetch(con, "SELECT count(*) FROM synth.synthetic.people") == [(ROWS,)]
    finally:
        con.close()


# --------------------------------------------------------------------------- real dbt

DBT_PROJECT = """
    name: people_dbt
    version: "1.0.0"
    config-version: 2
    profile: people_dbt
    model-paths: ["models"]
    models:
      +materialized: table  # readable without the profile's attachments
    flags:
      send_anonymous_usage_stats: false
    """

MODEL = """
    select sex, count(*) as n, count(distinct person_id) as people
    from {{ source('people', 'people') }}
    group by sex
    """


def dbt_project(root: Path, profiles: str, sources: Path) -> Path:
    """A tiny dbt project: one model over the source, the generated sources file, a profile."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "models").mkdir(exist_ok=True)
    (root / "dbt_project.yml").write_text(textwrap.dedent(DBT_PROJECT).lstrip())
    (root / "profiles.yml").write_text(textwrap.dedent(profiles).lstrip())
    (root / "models" / "by_sex.sql").write_text(textwrap.dedent(MODEL).lstrip())
    assert sources.parent == root / "models"
    return root


def dbt(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("dbt.adapters.duckdb")
    exe = shutil.which("dbt", path=str(Path(sys.executable).parent)) or shutil.which("dbt")
    if exe is None:
        pytest.skip("the dbt executable is not installed")
    env = {**os.environ, "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run([exe, *args, "--profiles-dir", str(root), "--project-dir", str(root), "--no-use-colors"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=600)


def built(result: subprocess.CompletedProcess[str], tests: int) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert f"PASS={tests + 1} WARN=0 ERROR=0" in output, output[-4000:]
    assert "deprecat" not in output.lower(), output[-4000:]


def test_dbt_build_reads_the_synthetic_view_through_generated_sources(same_file, tmp_path):
    apply(same_file)
    root = tmp_path / "dbt"
    sources = root / "models" / "sources.yml"
    sources.parent.mkdir(parents=True)
    result = synthspec(same_file, "dbt-sources", "--published-only", "--out", str(sources))
    assert result.exit_code == 0, result.output
    assert sources.read_text().startswith("# Generated by `synthspec dbt-sources`")
    dbt_project(root, f"""
        people_dbt:
          target: dev
          outputs:
            dev: {{type: duckdb, path: "{same_file / 'wh.duckdb'}", schema: dev_analytics, threads: 1}}
        """, sources)
    # unique + not_null on the key, accepted_values on sex and income; then the model.
    built(dbt(root, "build"), tests=4)
    con = duckdb.connect(str(same_file / "wh.duckdb"), read_only=True)
    try:
        assert fetch(con, "SELECT sum(n), sum(people) FROM dev_analytics.by_sex") == [(ROWS, ROWS)]
        assert {r[0] for r in fetch(con, "SELECT sex FROM dev_analytics.by_sex")} <= {"Female", "Male"}
    finally:
        con.close()


def test_dbt_attaches_the_target_file_under_an_alias_and_prod_reads_the_real_file(two_files, tmp_path):
    apply(two_files)
    root = tmp_path / "dbt"
    sources = root / "models" / "sources.yml"
    sources.parent.mkdir(parents=True)
    result = synthspec(two_files, "dbt-sources", "--database", "synth", "--real-target", "prod", "--out", str(sources))
    assert result.exit_code == 0, result.output
    assert "database: \"{{ target.database if target.name == 'prod' else 'synth' }}\"" in sources.read_text()
    dbt_project(root, f"""
        people_dbt:
          target: dev
          outputs:
            dev:
              type: duckdb
              path: "{tmp_path / 'dev.duckdb'}"
              schema: analytics
              threads: 1
              attach:
                - {{path: "{two_files / 'synth.duckdb'}", alias: synth, read_only: true}}
            prod:
              type: duckdb
              path: "{two_files / 'real.duckdb'}"
              schema: analytics
              threads: 1
        """, sources)
    built(dbt(root, "build", "--target", "dev"), tests=4)
    built(dbt(root, "build", "--target", "prod"), tests=4)
    # dev's rows are the synthetic view's (the target file stayed read-only), prod's the real ones.
    dev = duckdb.connect(str(tmp_path / "dev.duckdb"), read_only=True)
    real = duckdb.connect(str(two_files / "real.duckdb"), read_only=True)
    try:
        assert fetch(dev, "SELECT sum(n) FROM analytics.by_sex") == [(ROWS,)]
        assert fetch(real, "SELECT sum(n) FROM analytics.by_sex") == [(ROWS,)]
        assert fetch(real, "SELECT sex, n FROM analytics.by_sex ORDER BY 1") == fetch(
            real, "SELECT sex, count(*) FROM raw.people GROUP BY 1 ORDER BY 1")
    finally:
        dev.close()
        real.close()


def test_generated_relationships_run_in_dbt_and_catch_an_orphan(tmp_path, write):
    """`references` become dbt relationships tests; on the real tables (prod) they pass, and a
    broken foreign key fails the build. The real orders table has another name: the switch
    moves to the table's `identifier`."""
    make_warehouse(tmp_path / "real.duckdb", {
        "customers": pd.DataFrame({"customer_id": [1, 2, 3], "segment": ["a", "b", "a"]}),
        "order_header": pd.DataFrame({"order_id": [10, 11, 12, 13], "customer_id": [1, 1, 3, None]}),
    })
    write("synthspec.yml", project_file("real.duckdb", "synth.duckdb").replace("name: people", "name: shop"))
    write("specs/customers.yml", """
        version: 1
        table: customers
        source: {table: raw.customers}
        columns:
          customer_id: {type: id, primary_key: true}
          segment:     {type: categorical, values: [a, b]}
        """)
    write("specs/orders.yml", """
        version: 1
        table: orders
        source: {table: raw.order_header}
        columns:
          order_id:    {type: id, primary_key: true}
          customer_id: {type: id, references: customers.customer_id}
        """)
    root = tmp_path / "dbt"
    sources = root / "models" / "sources.yml"
    sources.parent.mkdir(parents=True)
    assert synthspec(tmp_path, "dbt-sources", "--real-target", "prod", "--out", str(sources)).exit_code == 0
    assert "identifier: \"{{ 'order_header' if target.name == 'prod' else 'orders' }}\"" in sources.read_text()
    dbt_project(root, f"""
        people_dbt:
          target: prod
          outputs:
            prod: {{type: duckdb, path: "{tmp_path / 'real.duckdb'}", schema: analytics, threads: 1}}
        """, sources)
    (root / "models" / "by_sex.sql").unlink()
    # customers: unique, not_null, accepted_values; orders: unique, not_null, relationships.
    result = dbt(root, "test")
    assert result.returncode == 0 and "PASS=6 WARN=0 ERROR=0" in result.stdout, result.stdout[-4000:]
    con = duckdb.connect(str(tmp_path / "real.duckdb"))
    con.execute("INSERT INTO raw.order_header VALUES (14, 99)")
    con.close()
    result = dbt(root, "test")
    assert result.returncode == 1 and "FAIL 1 source_relationships_shop_orders_customer_id__customer_id__source_shop_customers_" in result.stdout, result.stdout[-4000:]


def test_jinja_in_a_spec_is_text_to_dbt_never_evaluated(same_file, tmp_path, monkeypatch):
    """dbt renders Jinja in descriptions and test arguments: a spec's description must not make
    dbt read the environment (the secret would land in dbt's manifest and docs)."""
    secret = "dbt-should-never-see-this-0123"
    monkeypatch.setenv("SYNTHSPEC_SECRET", secret)
    spec = same_file / "specs" / "people.yml"
    jinja = "{{ env_var('SYNTHSPEC_SECRET') }} {% if true %}x{% endif %} {# c #}"
    spec.write_text(spec.read_text().replace("description: A sample of the Adult census, one row per person.",
                                             f"description: \"{jinja}\"", 1))
    root = tmp_path / "dbt"
    sources = root / "models" / "sources.yml"
    sources.parent.mkdir(parents=True)
    assert synthspec(same_file, "dbt-sources", "--out", str(sources)).exit_code == 0
    dbt_project(root, f"""
        people_dbt:
          target: dev
          outputs:
            dev: {{type: duckdb, path: "{same_file / 'wh.duckdb'}", schema: dev_analytics, threads: 1}}
        """, sources)
    result = dbt(root, "parse")
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    manifest = (root / "target" / "manifest.json").read_text()
    assert secret not in manifest
    described = [s["description"] for s in json.loads(manifest)["sources"].values() if s["name"] == "people"]
    assert described == [jinja]
