"""One privacy-budget identity per relation, however a spec spells it (issue: budget reset by
respelling the source, moving the target or deleting the state directory)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.helpers import dp_adult_spec, make_warehouse, run_cli

pytestmark = pytest.mark.integration

ROWS = 600


def _project(root: Path, adult, source: dict, *, project_source: str | None = "wh.duckdb", target: str = "wh.duckdb") -> Path:
    (root / "specs").mkdir(parents=True, exist_ok=True)
    spec = dp_adult_spec(adult, source)
    (root / "specs" / "adult.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    lines = ["name: dp"]
    if project_source is not None:
        lines.append(f"source: {{duckdb: '{project_source}'}}")
    lines.append(f"target: {{duckdb: '{target}'}}")
    (root / "synthspec.yml").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def spent(tmp_path, adult):
    """A project that has spent ε=1 of its cap 1.5 on raw.adult."""
    make_warehouse(tmp_path / "wh.duckdb", {"adult": adult.head(ROWS)})
    _project(tmp_path, adult, {"table": "raw.adult"})
    result = run_cli(tmp_path, "apply", "-q")
    assert result.exit_code == 0, result.output
    return tmp_path


def _respelled(project: Path, adult, **kwargs) -> None:
    _project(project, adult, **kwargs)


def _refused(project: Path) -> None:
    result = run_cli(project, "apply", "-q")
    assert result.exit_code == 1, result.output
    assert "privacy budget exhausted for duckdb:raw.adult: ε=1 already spent in 1 run(s)" in result.output


@pytest.mark.parametrize("source", [
    {"table": "RAW.ADULT"},
    {"table": "wh.raw.adult"},  # the catalog a DuckDB file is attached under is named after it
    {"query": "with x as (select * from raw.adult) select * from x"},
    {"query": "select * from RAW.adult where age > 0 -- only adults"},
], ids=["case", "catalog", "cte", "filter"])
def test_respelled_sources_share_the_budget(spent, adult, source):
    _respelled(spent, adult, source=source)
    _refused(spent)


def test_a_view_over_the_table_shares_the_budget(spent, adult):
    con = duckdb.connect(str(spent / "wh.duckdb"))
    con.execute("CREATE VIEW raw.adult_view AS SELECT * FROM raw.adult")
    con.close()
    _respelled(spent, adult, source={"table": "raw.adult_view"})
    _refused(spent)


def test_respelled_database_path_shares_the_budget(spent, adult):
    _project(spent, adult, {"table": "raw.adult"}, project_source="./wh.duckdb", target="./wh.duckdb")
    (spent / "specs" / "adult.yml").write_text((spent / "specs" / "adult.yml").read_text() + "rows: 300\n")
    result = run_cli(spent, "apply", "-q", "--force")
    assert result.exit_code == 1 and "privacy budget exhausted" in result.output


def test_a_new_target_file_and_no_state_directory_keep_the_budget(spent, adult):
    shutil.rmtree(spent / ".synthspec")
    _project(spent, adult, {"table": "raw.adult"}, target="other.duckdb")
    _refused(spent)


def test_a_dropped_ledger_table_keeps_the_budget(spent):
    con = duckdb.connect(str(spent / "wh.duckdb"))
    con.execute("DROP TABLE _synthspec.budget_ledger")
    con.close()
    result = run_cli(spent, "apply", "-q", "--force")
    assert result.exit_code == 1 and "privacy budget exhausted" in result.output


@pytest.mark.parametrize("epsilon", [-100, "NaN"])
def test_negative_or_nan_entries_are_refused(spent, epsilon):
    path = spent / ".synthspec" / "budget_ledger.json"
    entries = json.loads(path.read_text())
    entries.append({**entries[0], "run_id": "forged", "epsilon": float(epsilon)})
    path.write_text(json.dumps(entries))
    result = run_cli(spent, "apply", "-q", "--force")
    assert result.exit_code == 3 and "budget ledger" in result.output and "corrupt" in result.output


def test_a_negative_entry_in_the_database_is_refused(spent):
    con = duckdb.connect(str(spent / "wh.duckdb"))
    con.execute("INSERT INTO _synthspec.budget_ledger SELECT 'forged', source, table_name, -100, 0, spent_at, location "
                "FROM _synthspec.budget_ledger")
    con.close()
    result = run_cli(spent, "plan")
    assert result.exit_code == 3 and "corrupt" in result.output


def test_respelled_file_paths_share_the_budget(tmp_path, adult, machine_ledger):
    (tmp_path / "data").mkdir()
    adult.head(ROWS).to_csv(tmp_path / "data" / "adult.csv", index=False)
    _project(tmp_path, adult, {"path": "./data/adult.csv"}, project_source=None, target="out.duckdb")
    assert run_cli(tmp_path, "apply", "-q").exit_code == 0
    for spelling in ("data//adult.csv", str(tmp_path / "data" / "adult.csv"), "data/../data/adult.csv"):
        _project(tmp_path, adult, {"path": spelling}, project_source=None, target="out.duckdb")
        result = run_cli(tmp_path, "apply", "-q")
        assert result.exit_code == 1 and "privacy budget exhausted for file:data/adult.csv" in result.output, spelling
    assert machine_ledger.exists() and "file:data/adult.csv" in machine_ledger.read_text()


def test_a_query_over_two_tables_spends_on_both(tmp_path, adult):
    make_warehouse(tmp_path / "wh.duckdb", {"adult": adult.head(ROWS), "other": adult.head(10)})
    _project(tmp_path, adult, {"query": "select * from raw.adult union all select * from raw.other"})
    assert run_cli(tmp_path, "apply", "-q").exit_code == 0
    plan = json.loads(run_cli(tmp_path, "plan", "--format", "json").output)["tables"][0]
    assert plan["budget"]["sources"] == ["duckdb:raw.adult", "duckdb:raw.other"]
    _project(tmp_path, adult, {"table": "raw.other"})
    result = run_cli(tmp_path, "apply", "-q")
    assert result.exit_code == 1 and "privacy budget exhausted for duckdb:raw.other" in result.output


def test_a_dp_source_whose_tables_duckdb_cannot_name_is_refused(spent, adult):
    """A function that runs serialised SQL hides the table it reads; keyed by its text, every
    edit of such a query would get a fresh budget."""
    query = "select * from json_execute_serialized_sql(json_serialize_sql('select * from raw.adult'))"
    _respelled(spent, adult, source={"query": query})
    result = run_cli(spent, "apply", "-q")
    assert result.exit_code == 2, result.output
    assert "a differentially private table must read tables DuckDB can name" in result.output
    assert json.loads(run_cli(spent, "plan", "--format", "json").output)["tables"][0]["action"] == "error"


def test_a_new_spec_cannot_raise_the_cap_past_the_project_guardrail(spent, adult):
    """A second spec over the same source with a higher cap would get the budget back."""
    text = (spent / "synthspec.yml").read_text()
    (spent / "synthspec.yml").write_text(text + "guardrails: {max_total_epsilon: 1.5}\n")
    spec = dp_adult_spec(adult, {"table": "raw.adult"}, cap=100.0)
    spec["table"] = "adult2"
    (spent / "specs" / "adult2.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    result = run_cli(spent, "validate")
    assert result.exit_code == 2 and "privacy.max_total_epsilon exceeds the project guardrail max_total_epsilon 1.5" in result.output
    spec["privacy"].pop("max_total_epsilon")  # no cap of its own: the guardrail caps it
    (spent / "specs" / "adult2.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    result = run_cli(spent, "apply", "-q", "-s", "adult2")
    assert result.exit_code == 1 and "privacy budget exhausted for duckdb:raw.adult" in result.output


def test_two_projects_at_once_cannot_both_spend_the_last_budget(tmp_path, adult, machine_ledger):
    """Two projects over one source database, started together: the balance check and the
    reservation hold the machine ledger's lock, so exactly one may spend ε=1 under the cap 1.5."""
    import os
    import subprocess
    import sys

    make_warehouse(tmp_path / "src.duckdb", {"adult": adult.head(ROWS)})
    roots = []
    for name in ("a", "b"):
        root = tmp_path / name
        root.mkdir()
        _project(root, adult, {"table": "raw.adult"}, project_source="../src.duckdb", target="out.duckdb")
        roots.append(root)
    env = {**os.environ, "SYNTHSPEC_LEDGER": str(machine_ledger)}
    runs = [subprocess.Popen([sys.executable, "-m", "synthspec.cli.main", "apply", "-q"], cwd=root, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for root in roots]
    outcomes = sorted((run.wait(timeout=600), run.stdout.read()) for run in runs)
    assert [code for code, _ in outcomes] == [0, 1], outcomes
    assert "privacy budget exhausted for duckdb:raw.adult" in outcomes[1][1]
