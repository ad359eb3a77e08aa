"""PII detection inside scan, init, plan and apply (real Presidio, offline)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from synthspec.cli.main import cli

pytestmark = pytest.mark.integration

TITANIC = Path(__file__).resolve().parents[1] / "fixtures" / "titanic.csv"


def run(project: Path, *args: str):
    result = CliRunner().invoke(cli, [*args, "--project-dir", str(project)], catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def titanic_db(tmp_path, monkeypatch):
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    con.execute("CREATE SCHEMA raw")
    con.execute(f"CREATE TABLE raw.titanic AS SELECT * FROM read_csv('{TITANIC}')")
    con.execute("CREATE TABLE raw.renamed AS SELECT Name AS c3, Ticket, Cabin FROM raw.titanic")
    con.close()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYNTHSPEC_SECRET", "a-test-secret-of-32-characters!!")
    return tmp_path


def test_init_drafts_policies_and_apply_publishes_no_real_name(titanic_db):
    assert run(titanic_db, "init", "--from-duckdb", "wh.duckdb", "--schema", "raw").exit_code == 0
    spec = (titanic_db / "specs" / "titanic.yml").read_text()
    # The fake name follows the row's Sex (values male/female: unambiguous); c3 has no sex column.
    line = next(line for line in spec.splitlines() if line.startswith("  Name:"))
    assert line.startswith("  Name: {type: text, pii: fake, faker: name, gender: Sex}  # ") and "detected PERSON" in line
    assert "c3: {type: text, pii: fake, faker: name}" in (titanic_db / "specs" / "renamed.yml").read_text()
    result = run(titanic_db, "apply", "-q")
    assert result.exit_code == 0, result.output
    con = duckdb.connect("wh.duckdb", read_only=True)
    real = {n.strip().lower() for (n,) in con.execute("SELECT Name FROM raw.titanic").fetchall()}
    published = con.execute("SELECT * FROM synthetic.titanic").df()
    con.close()
    cells = {str(v).strip().lower() for col in published.columns for v in published[col].dropna()}
    assert not cells & real  # checked independently of synthspec's own pii_leakage
    tables = json.loads((titanic_db / "target" / "run_results.json").read_text())["tables"]
    assert all(t["metrics"]["pii_leakage"] == 0 for t in tables)


def test_scan_reports_entities_without_values(titanic_db):
    run(titanic_db, "init", "--from-duckdb", "wh.duckdb", "--schema", "raw")
    result = run(titanic_db, "scan", "--format", "json")
    assert result.exit_code == 0
    findings = json.loads(result.output)["findings"]
    flagged = {(f["table"], f["column"]): f["entity"] for f in findings}
    assert flagged == {("renamed", "c3"): "PERSON", ("titanic", "Name"): "PERSON"}
    con = duckdb.connect("wh.duckdb", read_only=True)
    names = [n for (n,) in con.execute("SELECT Name FROM raw.titanic").fetchall()]
    con.close()
    assert not any(name in result.output for name in names)


def test_init_keeps_its_detection_as_the_scan_apply_would_make(titanic_db):
    """`init` detects PII on the sample `scan` reads, so it stores the findings under the
    fingerprint `apply` computes: the first apply does not scan again, and the stored findings
    are exactly what a scan of its own finds (here: computed again with the cache removed)."""
    run(titanic_db, "init", "--from-duckdb", "wh.duckdb", "--schema", "raw")
    cache = titanic_db / ".synthspec" / "scan"
    seeded = {p.name: json.loads(p.read_text()) for p in cache.glob("*.json")}
    assert sorted(name.split("-")[0] for name in seeded) == ["renamed", "titanic"]
    titanic = next(v for k, v in seeded.items() if k.startswith("titanic-"))
    assert [f["column"] for f in titanic["findings"]] == ["Name"]
    for path in cache.glob("*.json"):
        path.unlink()
    assert run(titanic_db, "scan", "--format", "json").exit_code == 0
    assert {p.name: json.loads(p.read_text()) for p in cache.glob("*.json")} == seeded
    # A changed source is a new fingerprint: scanned again, the seeded entry is not reused.
    con = duckdb.connect(str(titanic_db / "wh.duckdb"))
    con.execute("DELETE FROM raw.titanic WHERE PassengerId % 7 = 0")
    con.close()
    assert run(titanic_db, "scan", "--format", "json").exit_code == 0
    assert len(list(cache.glob("titanic-*.json"))) == 2


def test_detected_pii_without_policy_fails_plan(titanic_db):
    run(titanic_db, "init", "--from-duckdb", "wh.duckdb", "--schema", "raw")
    spec = titanic_db / "specs" / "titanic.yml"
    spec.write_text(spec.read_text().replace("Name: {type: text, pii: fake, faker: name, gender: Sex}", "Name: {type: text}"))
    result = run(titanic_db, "plan", "-s", "titanic")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines[0] == "titanic: error"  # the table is listed, then one line per problem
    line = next(x.strip() for x in lines if "column 'Name'" in x)
    assert line.startswith("specs/titanic.yml:") and "column 'Name': detected PERSON (confidence" in line
    assert "match person-name lists" in line and "has no `pii:` policy" in line
    assert run(titanic_db, "apply", "-s", "titanic").exit_code == 2


def test_keep_forbidden_by_guardrail(titanic_db):
    run(titanic_db, "init", "--from-duckdb", "wh.duckdb", "--schema", "raw")
    project = titanic_db / "synthspec.yml"
    project.write_text(project.read_text() + "guardrails:\n  forbid_keep: [PERSON]\n")
    spec = titanic_db / "specs" / "titanic.yml"
    spec.write_text(spec.read_text().replace("Name: {type: text, pii: fake, faker: name, gender: Sex}", "Name: {type: text, pii: keep, reason: public list}"))
    result = run(titanic_db, "plan", "-s", "titanic")
    assert result.exit_code == 2 and "`pii: keep` is forbidden for PERSON by the project guardrails" in result.output
