"""The shop example (examples/shop) end to end, as `make example` runs it: generate the
warehouse, `synthspec apply` the four related tables, then a real `dbt build` of the dev target
(every model and test) on the synthetic views. Also keeps the committed dbt sources file equal
to what `synthspec dbt-sources` generates from the specs, so the two cannot drift."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "shop"
SOURCES = Path("dbt") / "models" / "sources.yml"
SECRET = "synthspec-example-demo-secret"


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("SHOP_DUCKDB", "SYNTHSPEC_PROJECT_DIR")}
    environ.update({"DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **env})
    return subprocess.run(args, cwd=cwd, env=environ, capture_output=True, text=True, timeout=300)


def synthspec(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI, in its own process (as `make example` runs it)."""
    return run([sys.executable, "-m", "synthspec.cli.main", *args], project, SYNTHSPEC_SECRET=SECRET)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stdout + result.stderr)[-6000:]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the example without anything a run writes, its warehouse generated and the
    synthetic views published."""
    project = tmp_path_factory.mktemp("example") / "shop"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(
        "warehouse.duckdb*", ".synthspec", "target", "logs", ".user.yml", "__pycache__"))
    made = run([sys.executable, "make_warehouse.py"], project)
    assert made.returncode == 0, output(made)
    applied = synthspec(project, "apply", "-q", "--project-dir", str(project))
    assert applied.returncode == 0, output(applied)
    assert "Traceback" not in output(applied)
    return project


def child_tables(project: Path) -> dict[str, list[str]]:
    """Table -> its columns with `references:`, from the specs."""
    children: dict[str, list[str]] = {}
    for path in sorted((project / "specs").glob("*.yml")):
        spec = yaml.safe_load(path.read_text())
        refs = [name for name, column in spec["columns"].items() if isinstance(column, dict) and column.get("references")]
        if refs:
            children[spec["table"]] = refs
    return children


def column_types(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple]:
    return con.execute(f"select column_name, column_type from (describe {relation})").fetchall()


def test_apply_publishes_related_tables_with_intact_keys(shop: Path):
    results = json.loads((shop / "target" / "run_results.json").read_text())
    assert results["status"] == "passed"
    tables = {t["table"]: t for t in results["tables"]}
    assert set(tables) == {"customers", "products", "orders", "order_items"}
    assert all(t["status"] == "passed" and t["published"] for t in tables.values()), tables

    children = child_tables(shop)
    assert children == {"customers": ["referred_by"], "orders": ["customer_id"],
                        "order_items": ["order_id", "product_id"]}
    for table, fks in children.items():
        metrics = tables[table]["metrics"]
        assert metrics["referential_integrity"] == 1.0, (table, metrics)
        assert metrics["cardinality"] >= 0.9, (table, metrics)
        for column in fks:
            assert metrics[f"referential_integrity:{column}"] == 1.0, (table, column, metrics)
            assert metrics[f"cardinality:{column}"] >= 0.9, (table, column, metrics)

    con = duckdb.connect(str(shop / "warehouse.duckdb"), read_only=True)
    try:
        for table in tables:
            synthetic = con.execute(f"select count(*) from synthetic.{table}").fetchone()[0]
            assert synthetic == tables[table]["rows"] > 0
            # no `rows:` in the specs: every level of the reference chain keeps its source's count
            assert synthetic == con.execute(f"select count(*) from raw.{table}").fetchone()[0], table
            assert column_types(con, f"synthetic.{table}") == column_types(con, f"raw.{table}")
    finally:
        con.close()


#: Child-parent relations whose real correlation the synthetic tables must keep (within 0.05):
#: a line's price against its product's list price, a customer's order count against its
#: segment, first order against signup date, total spent against the number of orders.
PARENT_CORRELATIONS = {
    "line price vs list price": """select corr(i.unit_price, p.unit_price)
        from {s}.order_items i join {s}.products p using (product_id)""",
    "orders vs segment": """select corr(n, case segment when 'consumer' then 0 when 'small_business' then 1 else 2 end)
        from (select c.segment, count(o.order_id) n from {s}.customers c left join {s}.orders o using (customer_id) group by all)""",
    "first order vs signup": """select corr(epoch(first), epoch(signup_date))
        from (select c.signup_date, min(o.ordered_at) first from {s}.customers c join {s}.orders o using (customer_id) group by all)""",
    "total vs orders": """select corr(total, n) from (select o.customer_id, sum(i.quantity * i.unit_price) total,
        count(distinct o.order_id) n from {s}.orders o join {s}.order_items i using (order_id) group by all)""",
}


def test_children_keep_their_parents_correlations(shop: Path):
    con = duckdb.connect(str(shop / "warehouse.duckdb"), read_only=True)
    try:
        for name, query in PARENT_CORRELATIONS.items():
            real = con.execute(query.format(s="raw")).fetchone()[0]
            synthetic = con.execute(query.format(s="synthetic")).fetchone()[0]
            assert abs(real - synthetic) <= 0.05, (name, real, synthetic)
    finally:
        con.close()


def test_committed_dbt_sources_match_the_specs(shop: Path):
    committed = (EXAMPLE / SOURCES).read_text()
    # The header names the command that generated the file: run exactly that one.
    command = re.search(r"regenerate .*? with `(synthspec dbt-sources[^`]*)`", committed)
    assert command, committed.splitlines()[:3]
    args = shlex.split(command.group(1))
    assert "--real-target" in args and f"--out {SOURCES.as_posix()}" in command.group(1)
    (shop / SOURCES).unlink()
    result = synthspec(shop, *args[1:])  # from the project directory, as the header says
    assert result.returncode == 0, output(result)
    assert (shop / SOURCES).read_text() == committed


def test_dbt_build_dev_passes_on_the_synthetic_views(shop: Path):
    pytest.importorskip("dbt.adapters.duckdb")
    exe = shutil.which("dbt", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("the dbt executable is not installed next to this Python")
    result = run([exe, "build", "--profiles-dir", ".", "--target", "dev", "--no-use-colors"], shop / "dbt")
    text = result.stdout + result.stderr
    assert result.returncode == 0, text[-6000:]
    assert re.search(r"Done\. PASS=\d+ WARN=0 ERROR=0 SKIP=0", text), text[-6000:]
    assert not re.search(r"\b(FAIL|ERROR)\b(?!=)", text), text[-6000:]
    assert "deprecat" not in text.lower(), text[-6000:]

    results = json.loads((shop / "dbt" / "target" / "run_results.json").read_text())["results"]
    statuses = {r["unique_id"]: r["status"] for r in results}
    assert sum(uid.startswith("model.") for uid in statuses) == 7
    assert sum(uid.startswith("test.") for uid in statuses) >= 60
    # Every test passes, the cross-table ones included (orders after signup, item price at
    # most the list price: declared as constraints in the specs).
    not_passed = {uid: s for uid, s in statuses.items() if s not in ("success", "pass")}
    assert not not_passed, not_passed

    con = duckdb.connect(str(shop / "warehouse.duckdb"), read_only=True)
    try:
        customers = con.execute("select count(*) from synthetic.customers").fetchone()[0]
        assert con.execute("select count(*) from dev_analytics.customer_orders").fetchone()[0] == customers
    finally:
        con.close()
