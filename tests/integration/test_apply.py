"""apply end to end on real DuckDB files with real models."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from synthspec.cli.main import cli

pytestmark = pytest.mark.integration


def run(project: Path, *args: str):
    result = CliRunner().invoke(cli, [*args, "--project-dir", str(project)], catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def query(project: Path, sql: str, db: str = "wh.duckdb") -> list[tuple]:
    con = duckdb.connect(str(project / db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def results(project: Path) -> dict:
    return json.loads((project / "target" / "run_results.json").read_text())


def test_apply_publishes_a_view_with_the_source_columns(adult_project):
    result = run(adult_project, "apply", "-q")
    assert result.exit_code == 0, result.output
    assert query(adult_project, "SELECT count(*) FROM synthetic.adult") == [(800,)]
    assert query(adult_project, "DESCRIBE synthetic.adult") == query(adult_project, "DESCRIBE raw.adult")
    views = query(adult_project, "SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal")
    assert views == [("synthetic", "adult")]
    # Only `_synthspec` and the target schema were written next to the source.
    schemas = {r[0] for r in query(adult_project, "SELECT DISTINCT schema_name FROM duckdb_tables()")}
    assert schemas == {"raw", "_synthspec"}


def test_run_results_junit_and_summary(adult_project):
    run(adult_project, "apply", "-q")
    data = results(adult_project)
    assert data["status"] == "passed" and data["synthspec_version"]
    table = data["tables"][0]
    assert table["table"] == "adult" and table["model"] == "cart" and table["rows"] == 800 and table["published"]
    assert table["fingerprint"].startswith("sha256:")
    assert set(table["timings"]) >= {"read_s", "fit_s", "sample_s", "checks_s", "publish_s"}
    peaks = [table["timings"][f"{stage}_peak_mb"] for stage in ("read", "fit", "sample", "checks", "report", "publish")]
    assert peaks == sorted(peaks) and peaks[0] > 50  # peak RSS so far (MB): one process, never decreasing
    assert {c["metric"] for c in table["checks"]} == {"quality_score", "dcr_share"}
    check = table["checks"][0]
    assert set(check) >= {"metric", "outcome", "value", "min", "max", "severity"}
    junit = (adult_project / "target" / "junit.xml").read_text()
    assert junit.count("<testcase") == 2 and 'name="quality_score"' in junit
    summary = (adult_project / "target" / "summary.md").read_text()
    assert "| adult |" in summary and "quality_score" in summary


def test_second_apply_does_nothing_and_force_is_deterministic(adult_project):
    run(adult_project, "apply", "-q")
    first = query(adult_project, "SELECT * FROM synthetic.adult")
    result = run(adult_project, "apply")
    assert result.exit_code == 0 and "adult: up_to_date" in result.output
    assert results(adult_project)["tables"][0]["status"] == "up_to_date"
    run(adult_project, "apply", "--force", "-q")
    assert query(adult_project, "SELECT * FROM synthetic.adult") == first
    run(adult_project, "apply", "--force", "-q")
    assert query(adult_project, "SELECT * FROM synthetic.adult") == first


def test_row_count_edit_resamples_and_threshold_edit_rechecks(adult_project):
    run(adult_project, "apply", "-q")
    spec = adult_project / "specs" / "adult.yml"
    spec.write_text(spec.read_text() + "rows: 300\n")
    plan = run(adult_project, "plan")
    assert "will resample" in plan.output
    run(adult_project, "apply", "-q")
    table = results(adult_project)["tables"][0]
    assert table["action"] == "resample" and "fit_s" not in table["timings"]
    assert query(adult_project, "SELECT count(*) FROM synthetic.adult") == [(300,)]
    spec.write_text(spec.read_text() + "checks:\n  quality_score: {min: 0.55}\n")
    assert "will re-check" in run(adult_project, "plan").output
    run(adult_project, "apply", "-q")
    table = results(adult_project)["tables"][0]
    assert table["action"] == "recheck" and table["status"] == "passed"
    assert "fit_s" not in table["timings"]


def test_plan_sees_a_changed_source_row(adult_project):
    run(adult_project, "apply", "-q")
    assert run(adult_project, "plan", "--detailed-exitcode").exit_code == 0
    con = duckdb.connect(str(adult_project / "wh.duckdb"))
    con.execute("UPDATE raw.adult SET age = age + 1 WHERE rowid = (SELECT min(rowid) FROM raw.adult)")
    con.close()
    result = run(adult_project, "plan", "--detailed-exitcode")
    assert result.exit_code == 4
    assert "adult: will train (source data changed)" in result.output


def test_row_order_does_not_change_the_fingerprint_or_rows(adult_project, adult):
    run(adult_project, "apply", "-q")
    first = query(adult_project, "SELECT * FROM synthetic.adult")
    con = duckdb.connect(str(adult_project / "wh.duckdb"))
    con.register("frame", adult.head(800).iloc[::-1].reset_index(drop=True))
    con.execute("CREATE OR REPLACE TABLE raw.adult AS SELECT * FROM frame")
    con.close()
    assert "up to date" in run(adult_project, "plan").output
    run(adult_project, "apply", "--force", "-q")
    assert query(adult_project, "SELECT * FROM synthetic.adult") == first


def test_model_artifacts_are_private_and_verified(adult_project):
    run(adult_project, "apply", "-q")
    files = [p for p in (adult_project / ".synthspec" / "models").rglob("*") if p.is_file()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files)
    spec = adult_project / "specs" / "adult.yml"
    spec.write_text(spec.read_text() + "rows: 100\n")
    with open(files[0], "ab") as handle:  # tamper with the cached model
        handle.write(b"\0")
    result = run(adult_project, "apply")
    assert result.exit_code == 3 and "does not match the hash recorded at training" in result.output


def test_previous_version_kept_and_older_pruned(adult_project):
    for seed in (1, 2, 3):
        spec = adult_project / "specs" / "adult.yml"
        text = spec.read_text()
        spec.write_text(text.replace(text[text.index("  seed:"):].split("\n")[0], f"  seed: {seed}"))
        assert run(adult_project, "apply", "-q").exit_code == 0
    tables = [r[0] for r in query(adult_project, "SELECT table_name FROM duckdb_tables() WHERE schema_name = '_synthspec' ORDER BY 1")]
    assert tables == ["adult__v2", "adult__v3", "models", "runs"]
    assert query(adult_project, "SELECT count(*) FROM _synthspec.runs WHERE table_name = 'adult'") == [(3,)]


def test_exact_types_and_null_rates(tmp_path, write):
    rng = np.random.default_rng(0)
    n = 600
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    con.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
    con.execute("CREATE SCHEMA raw")
    frame = pd.DataFrame({
        "k": np.arange(100, 100 + n),
        "i": rng.integers(0, 50, n),
        "amount": rng.normal(100, 20, n).round(2),
        "score": rng.normal(0, 1, n),
        "day": pd.to_datetime("2021-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D"),
        "flag": rng.random(n) < 0.3,
        "m": rng.choice(["sad", "ok", "happy"], n),
        "city": np.where(rng.random(n) < 0.25, None, rng.choice(["ankara", "izmir", "bursa"], n)),
    })
    con.register("frame", frame)
    con.execute("""
        CREATE TABLE raw.t AS SELECT k::INTEGER AS k, i::SMALLINT AS i, amount::DECIMAL(10, 2) AS amount,
            score AS score, day::DATE AS day, (day + INTERVAL 3 HOUR)::TIMESTAMP AS ts,
            (day + INTERVAL 5 HOUR)::TIMESTAMPTZ AS tstz, flag::BOOLEAN AS flag, m::mood AS m,
            uuid() AS u, city AS city, 'INV-' || lpad(k::VARCHAR, 6, '0') AS invoice
        FROM frame""")
    con.close()
    write("synthspec.yml", "name: t\nsource: {duckdb: wh.duckdb}\ntarget: {duckdb: wh.duckdb}\n")
    write("specs/t.yml", """
        version: 1
        table: t
        source: {table: raw.t}
        model: {type: cart}
        columns:
          k: {type: id, primary_key: true}
          i: {type: numerical}
          amount: {type: numerical}
          score: {type: numerical}
          day: {type: datetime}
          ts: {type: datetime}
          tstz: {type: datetime}
          flag: {type: boolean}
          m: {type: categorical}
          u: {type: id, pii: drop}
          city: {type: categorical}
          invoice: {type: text, pii: drop}
        checks:
          quality_score: {min: 0.5}
          dcr_share: {max: 0.9}
        """)
    result = run(tmp_path, "apply", "-q")
    assert result.exit_code == 0, result.output
    assert query(tmp_path, "DESCRIBE synthetic.t") == query(tmp_path, "DESCRIBE raw.t")
    nulls = query(tmp_path, "SELECT avg((city IS NULL)::INT), count(DISTINCT k), min(k), bool_and(u IS NULL) FROM synthetic.t")[0]
    assert 0.17 < nulls[0] < 0.33 and nulls[1] == n and nulls[2] == 100 and nulls[3]


def test_generated_keys_follow_the_source_format(tmp_path, write):
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    con.execute("CREATE TABLE inv AS SELECT 'INV-' || lpad(i::VARCHAR, 6, '0') AS id, uuid() AS ref, i % 7 AS x FROM range(1, 301) r(i)")
    con.close()
    write("synthspec.yml", "name: t\nsource: {duckdb: wh.duckdb}\ntarget: {duckdb: wh.duckdb}\n")
    write("specs/inv.yml", """
        version: 1
        table: inv
        source: {table: main.inv}
        model: {type: cart}
        columns:
          id: {type: id, primary_key: true}
          ref: {type: id, pii: drop}
          x: {type: numerical}
        checks: {quality_score: {min: 0.3}, dcr_share: {max: 1.0}}
        """)
    assert run(tmp_path, "apply", "-q").exit_code == 0
    ids = [r[0] for r in query(tmp_path, "SELECT id FROM synthetic.inv ORDER BY id")]
    assert len(set(ids)) == 300 and ids[0] == "INV-000001" and all(i.startswith("INV-") and len(i) == 10 for i in ids)


def test_gaussian_copula_through_sdv(adult_project):
    spec = adult_project / "specs" / "adult.yml"
    spec.write_text(spec.read_text().replace("type: cart", "type: gaussian_copula"))
    result = run(adult_project, "apply", "-q")
    assert result.exit_code == 0, result.output
    first = query(adult_project, "SELECT * FROM synthetic.adult")
    assert len(first) == 800 and results(adult_project)["tables"][0]["model"] == "gaussian_copula"
    run(adult_project, "apply", "--force", "-q")
    assert query(adult_project, "SELECT * FROM synthetic.adult") == first


def test_separate_source_file_is_opened_read_only(tmp_path, adult, write):
    from tests.helpers import ADULT_COLUMNS, make_warehouse

    make_warehouse(tmp_path / "src.duckdb", {"adult": adult.head(500)})
    before = (tmp_path / "src.duckdb").read_bytes()
    write("synthspec.yml", "name: t\nsource: {duckdb: src.duckdb}\ntarget: {duckdb: out.duckdb, schema: syn}\ndefaults: {checks: {quality_score: {min: 0.5}, dcr_share: {max: 0.9}}}\n")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "adult.yml").write_text("version: 1\ntable: adult\nsource: {table: raw.adult}\ncolumns:\n" + ADULT_COLUMNS)
    assert run(tmp_path, "apply", "-q").exit_code == 0
    assert (tmp_path / "src.duckdb").read_bytes() == before
    assert query(tmp_path, "SELECT count(*) FROM syn.adult", db="out.duckdb") == [(500,)]


def test_query_and_parquet_sources(tmp_path, adult, write):
    from tests.helpers import ADULT_COLUMNS

    (tmp_path / "data").mkdir()
    adult.head(400).to_parquet(tmp_path / "data" / "part1.parquet")
    adult.iloc[400:700].to_parquet(tmp_path / "data" / "part2.parquet")
    write("synthspec.yml", "name: t\ntarget: {duckdb: out.duckdb}\ndefaults: {checks: {quality_score: {min: 0.5}, dcr_share: {max: 0.9}}}\n")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "adult.yml").write_text("version: 1\ntable: adult\nsource: {path: 'data/*.parquet'}\ncolumns:\n" + ADULT_COLUMNS)
    assert run(tmp_path, "apply", "-q").exit_code == 0
    assert query(tmp_path, "SELECT count(*) FROM synthetic.adult", db="out.duckdb") == [(700,)]


def test_holdout_never_reaches_the_model(adult_project):
    from synthspec.models.cart import CartSynthesizer  # noqa: F401 - registers cart
    from synthspec.models.registry import _REGISTRY

    seen: list[pd.DataFrame] = []
    original = _REGISTRY["cart"].fit

    def spy(self, data, progress=None):
        seen.append(data.copy())
        return original(self, data, progress)

    _REGISTRY["cart"].fit = spy
    try:
        assert run(adult_project, "apply", "-q").exit_code == 0
    finally:
        _REGISTRY["cart"].fit = original
    (fitted,) = seen
    assert len(fitted) == 640  # 800 rows, holdout 0.2
    assert os.path.exists(adult_project / "target" / "run_results.json")


def test_init_from_duckdb_then_apply(tmp_path, adult):
    from tests.helpers import make_warehouse

    make_warehouse(tmp_path / "wh.duckdb", {"adult": adult.head(700)})
    result = run(tmp_path, "init", "--from-duckdb", str(tmp_path / "wh.duckdb"), "--schema", "raw")
    assert result.exit_code == 0, result.output
    spec = (tmp_path / "specs" / "adult.yml").read_text()
    assert "age: {type: numerical}" in spec and "income: {type: categorical}" in spec
    assert run(tmp_path, "validate").exit_code == 0
    assert run(tmp_path, "apply", "-q").exit_code == 0
    assert query(tmp_path, "SELECT count(*) FROM synthetic.adult") == [(700,)]
    again = run(tmp_path, "init", "--from-duckdb", str(tmp_path / "wh.duckdb"), "--schema", "raw")
    assert again.exit_code == 2 and "already exists" in again.output


def test_init_from_path(tmp_path, adult):
    (tmp_path / "lake").mkdir()
    adult.head(300).to_parquet(tmp_path / "lake" / "people.parquet")
    result = run(tmp_path, "init", "--from-path", "lake/*.parquet")
    assert result.exit_code == 0, result.output
    assert "path: lake/people.parquet" in (tmp_path / "specs" / "people.yml").read_text()
    assert run(tmp_path, "validate").exit_code == 0


def test_no_raw_values_in_outputs(tmp_path, write):
    secret = "zz-secret-cell-value-41"
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    con.execute(f"CREATE TABLE t AS SELECT i AS id, i % 5 AS g, CASE WHEN i = 3 THEN '{secret}' ELSE 'x' || (i % 3) END AS s FROM range(200) r(i)")
    con.close()
    write("synthspec.yml", "name: t\nsource: {duckdb: wh.duckdb}\ntarget: {duckdb: wh.duckdb}\n")
    write("specs/t.yml", """
        version: 1
        table: t
        source: {table: main.t}
        columns:
          id: {type: id, primary_key: true}
          g: {type: numerical}
          s: {type: text, pii: drop}
        checks: {quality_score: {min: 0.9999, decide: value}}
        """)
    # decide: value: the published integers score near 1, and their interval reaches 1.
    result = run(tmp_path, "apply")
    assert result.exit_code == 1
    texts = [result.output] + [p.read_text() for p in (tmp_path / "target").iterdir()]
    assert all(secret not in text for text in texts)


def test_plan_lists_privacy_weakening_changes(adult_project):
    run(adult_project, "apply", "-q")
    project_file = adult_project / "synthspec.yml"
    project_file.write_text(project_file.read_text().replace("dcr_share: {max: 0.9}", "dcr_share: {max: 0.95, severity: warn}"))
    result = run(adult_project, "plan", "--format", "json")
    plan = json.loads(result.output)["tables"][0]
    assert plan["action"] == "recheck"
    assert plan["privacy_weakenings"] == ["check dcr_share: max raised from 0.9 to 0.95", "check dcr_share: severity lowered from error to warn"]
    assert "privacy weakened: check dcr_share: max raised" in run(adult_project, "plan").output


def test_disclosure_checks(adult_project):
    spec = adult_project / "specs" / "adult.yml"
    spec.write_text(spec.read_text() + "privacy: {quasi_identifiers: [age, sex, race]}\nchecks:\n"
                    "  nndr: {max: 0.5}\n  membership_inference_auc: {max: 0.8}\n  k_anonymity: {min: 1}\n"
                    "  reidentification_risk: {max: 0.5}\n")
    result = run(adult_project, "apply", "-q")
    assert result.exit_code == 0, result.output
    metrics = results(adult_project)["tables"][0]["metrics"]
    assert 0 <= metrics["nndr"] <= 1 and 0 <= metrics["membership_inference_auc"] <= 1
    assert metrics["k_anonymity"] >= 1 and 0 <= metrics["reidentification_risk"] <= 1
