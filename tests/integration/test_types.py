"""Source types and inputs end to end: types synthspec does not model (published as typed NULLs
under `pii: drop`), dates and timestamps across DuckDB's whole range, and sources a model
cannot learn from (too few rows, NaN, ±infinity)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import duckdb
import pytest

from tests.helpers import query_db, run_cli

pytestmark = pytest.mark.integration

#: One column of every type synthspec does not model, and how to make it from row number i.
UNSUPPORTED = {
    "blob_col": "('x' || i)::BLOB",
    "int_list": "[i, i + 1]::INTEGER[]",
    "text_list": "['s' || i]::VARCHAR[]",
    "int_array": "[i, i, i]::INTEGER[3]",
    "struct_col": "{'a': i, 'b': 'z' || i}",
    "map_col": "MAP {'k': i}",
    "union_col": "union_value(num := i::INTEGER)::UNION(num INTEGER, str VARCHAR)",
    "interval_col": "INTERVAL (i) DAY",
    "time_col": "make_time(i % 24, 0, 0)",
    "timetz_col": "'01:02:03+02'::TIMETZ",
    "json_col": "('{\"a\": ' || i || '}')::JSON",
    "bit_col": "'0101'::BIT",
    "bignum_col": "(i * 1000)::BIGNUM",
    "uhugeint_col": "i::UHUGEINT",
    "time_ns_col": "'01:02:03'::TIME_NS",
    "variant_col": "i::VARIANT",
}


def warehouse(path: Path, sql: str) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        con.execute(sql)
    finally:
        con.close()


def project_file(root: Path, checks: str = "quality_score: {min: 0.0}, dcr_share: {max: 1.0}") -> None:
    (root / "synthspec.yml").write_text(
        "name: t\nsource: {duckdb: wh.duckdb}\ntarget: {duckdb: wh.duckdb, schema: synthetic}\n"
        f"defaults:\n  model: {{type: cart, seed: 42}}\n  checks: {{{checks}}}\n")
    (root / "specs").mkdir(exist_ok=True)


def test_unsupported_types_publish_as_typed_nulls_from_an_init_draft(tmp_path: Path) -> None:
    columns = ", ".join(f"{sql} AS {name}" for name, sql in UNSUPPORTED.items())
    warehouse(tmp_path / "wh.duckdb", f"""
        CREATE TABLE raw.things AS SELECT i AS id, (i % 50)::DOUBLE + 0.5 AS amount, ['a', 'b', 'c'][1 + i % 3] AS kind,
               {columns} FROM range(300) r(i)""")
    init = run_cli(tmp_path, "init", "--from-duckdb", str(tmp_path / "wh.duckdb"), "--schema", "raw")
    assert init.exit_code == 0, init.output
    spec = (tmp_path / "specs" / "things.yml").read_text()
    for name in UNSUPPORTED:
        assert re.search(rf"^  {name}: {{type: text, pii: drop}}", spec, re.M), name
    # The drafted privacy thresholds stay; only the quality floor is lowered for a 300-row table.
    text = (tmp_path / "synthspec.yml").read_text().replace("quality_score: {min_relative: 0.9}", "quality_score: {min: 0.5}")
    (tmp_path / "synthspec.yml").write_text(text.replace("dcr_share: {max: 0.55}", "dcr_share: {max: 0.6}"))
    assert run_cli(tmp_path, "validate").exit_code == 0

    result = run_cli(tmp_path, "apply", "-q")
    assert result.exit_code == 0, result.output
    assert query_db(tmp_path, "DESCRIBE synthetic.things") == query_db(tmp_path, "DESCRIBE raw.things")
    counts = query_db(tmp_path, f"SELECT count(*), count(amount), count(kind), {', '.join(f'count({c})' for c in UNSUPPORTED)} "
                                "FROM synthetic.things")[0]
    assert counts == (300, 300, 300) + (0,) * len(UNSUPPORTED)

    # A threshold change re-checks the published rows, which must be readable whatever the types.
    (tmp_path / "synthspec.yml").write_text((tmp_path / "synthspec.yml").read_text().replace("{min: 0.5}", "{min: 0.4}"))
    recheck = run_cli(tmp_path, "apply")
    assert recheck.exit_code == 0 and "recheck" in recheck.output, recheck.output

    stdout = run_cli(tmp_path, "sample", "things", "--rows", "5")
    assert stdout.exit_code == 0, stdout.output
    header, *rows = stdout.output.strip().splitlines()
    assert header.split(",") == ["id", "amount", "kind", *UNSUPPORTED] and len(rows) == 5
    assert all(row.endswith("," * len(UNSUPPORTED)) for row in rows)
    for suffix in ("parquet", "csv"):
        out = tmp_path / f"more.{suffix}"
        assert run_cli(tmp_path, "sample", "things", "--rows", "7", "--out", str(out)).exit_code == 0
        reader = "read_parquet" if suffix == "parquet" else "read_csv"
        assert duckdb.sql(f"SELECT count(*), count(blob_col) FROM {reader}('{out}')").fetchall() == [(7, 0)]


def test_an_unsupported_type_without_a_policy_asks_for_pii_drop(tmp_path: Path) -> None:
    warehouse(tmp_path / "wh.duckdb", "CREATE TABLE raw.t AS SELECT i AS id, ('x' || i)::BLOB AS payload FROM range(10) r(i)")
    project_file(tmp_path)
    (tmp_path / "specs" / "t.yml").write_text(
        "version: 1\ntable: t\nsource: {table: raw.t}\ncolumns:\n  id: {type: id, primary_key: true}\n  payload: {type: text}\n")
    result = run_cli(tmp_path, "apply")
    assert result.exit_code == 2
    assert ("specs/t.yml:6:3: column 'payload': source type BLOB is not supported yet (declare it `pii: drop` "
            "to publish it as NULLs)") in result.output


DATETIMES = {  # column: (DuckDB expression of row i, declared as)
    "d_max": ("DATE '9999-12-31'", "{type: datetime}"),
    "d_min": ("DATE '0001-01-01'", "{type: datetime}"),
    "d_spread": ("DATE '0001-01-01' + (i * 12000)::INTEGER", "{type: datetime}"),
    "ts_start": ("TIMESTAMP '0001-01-01 00:00:00' + INTERVAL (i * 11000) DAY", "{type: datetime}"),
    "ts_end": ("TIMESTAMP '0001-01-01 06:00:00' + INTERVAL (i * 11000 + i % 40) DAY", "{type: datetime}"),
    "ts_s": ("TIMESTAMP_S '9999-12-31 23:59:59'", "{type: datetime}"),
    "ts_ms": ("(TIMESTAMP_MS '0001-01-01 00:00:00' + INTERVAL (i) DAY)::TIMESTAMP_MS", "{type: datetime}"),
    "ts_ns": ("TIMESTAMP_NS '2262-04-11 23:47:16' - INTERVAL (i) DAY", "{type: datetime}"),
    "tstz": ("TIMESTAMPTZ '9999-12-31 00:00:00+00' - INTERVAL (i) HOUR", "{type: datetime}"),
    "tstz_ns": ("(TIMESTAMP '2020-01-01 00:00:00' + INTERVAL (i) HOUR)::TIMESTAMPTZ_NS", "{type: datetime}"),
    "ts_far": ("TIMESTAMP '294247-01-10 04:00:54' - INTERVAL (i) DAY", "{type: datetime}"),
    "ts_early": ("TIMESTAMP '290308-12-22 (BC) 00:00:00' + INTERVAL (i) DAY", "{type: datetime}"),
    "born": ("TIMESTAMP '0001-03-17 10:11:12' + INTERVAL (i * 12000) DAY", "{type: datetime, pii: generalize, truncate: month}"),
}


def test_dates_and_timestamps_across_duckdb_range_are_modelled_exactly(tmp_path: Path) -> None:
    exprs = ", ".join(f"{sql} AS {name}" for name, (sql, _) in DATETIMES.items())
    warehouse(tmp_path / "wh.duckdb", f"CREATE TABLE raw.dates AS SELECT i AS id, (i % 7)::DOUBLE AS x, {exprs} FROM range(300) r(i)")
    project_file(tmp_path)
    declared = "".join(f"  {name}: {spec}\n" for name, (_, spec) in DATETIMES.items())
    (tmp_path / "specs" / "dates.yml").write_text(
        "version: 1\ntable: dates\nsource: {table: raw.dates}\ncolumns:\n  id: {type: id, primary_key: true}\n"
        f"  x: {{type: numerical}}\n{declared}constraints:\n  - {{type: inequality, low: ts_start, high: ts_end}}\n")
    result = run_cli(tmp_path, "apply", "-q")
    assert result.exit_code == 0, result.output
    assert query_db(tmp_path, "DESCRIBE synthetic.dates") == query_db(tmp_path, "DESCRIBE raw.dates")

    def within_real_range(relation: str) -> None:
        for name in DATETIMES:
            inside = query_db(tmp_path, f"""
                SELECT count(*) FILTER (WHERE s.{name} BETWEEN r.lo AND r.hi), count(s.{name}), count(*)
                FROM {relation} AS s, (SELECT date_trunc('month', min({name})) AS lo, max({name}) AS hi FROM raw.dates) AS r""")[0]
            assert inside[0] == inside[1] == inside[2], (name, inside)  # no nulls introduced, none outside

    within_real_range("synthetic.dates")
    assert query_db(tmp_path, "SELECT DISTINCT d_max::VARCHAR, d_min::VARCHAR, ts_s::VARCHAR FROM synthetic.dates") == [
        ("9999-12-31", "0001-01-01", "9999-12-31 23:59:59")]
    spread = query_db(tmp_path, "SELECT count(DISTINCT year(d_spread)), count(*) FILTER (WHERE year(d_spread) > 5000) FROM synthetic.dates")[0]
    assert spread[0] > 100 and spread[1] > 50  # spread over the years, not piled up at one date
    assert query_db(tmp_path, "SELECT count(*) FROM synthetic.dates WHERE ts_start > ts_end") == [(0,)]
    assert query_db(tmp_path, "SELECT count(*) FROM synthetic.dates WHERE born <> date_trunc('month', born)") == [(0,)]

    # The report profiles only what it can show as dates; it renders without error.
    assert run_cli(tmp_path, "report").exit_code == 0 and (tmp_path / "target" / "report.html").exists()

    out = tmp_path / "more.parquet"
    assert run_cli(tmp_path, "sample", "dates", "--rows", "200", "--out", str(out)).exit_code == 0
    within_real_range(f"read_parquet('{out}')")
    csv = run_cli(tmp_path, "sample", "dates", "--rows", "50")
    assert csv.exit_code == 0
    rows = list(io.StringIO(csv.output).read().strip().splitlines())[1:]
    assert len(rows) == 50 and all(",9999-12-31,0001-01-01," in row for row in rows)


def rows_table(path: Path, name: str, n: int) -> None:
    warehouse(path, f"CREATE TABLE raw.{name} AS SELECT i::BIGINT AS id, 41.5 + i AS x, 'alpha' || i AS c FROM range({n}) r(i)")


@pytest.mark.parametrize(("rows", "said"), [(0, "the source has 0 row(s); nothing to learn from"),
                                            (1, "the source has 1 row(s); synthspec needs at least 2")])
def test_too_few_rows_is_a_located_error_before_any_model(tmp_path: Path, rows: int, said: str) -> None:
    rows_table(tmp_path / "wh.duckdb", "small", rows)
    project_file(tmp_path)
    (tmp_path / "specs" / "small.yml").write_text(
        "version: 1\ntable: small\nsource: {table: raw.small}\ncolumns:\n"
        "  id: {type: id, primary_key: true}\n  x: {type: numerical}\n  c: {type: categorical}\n")
    result = run_cli(tmp_path, "apply")
    assert result.exit_code == 3
    assert f"specs/small.yml:3:1: table 'small': {said}" in result.output and "--exclude small" in result.output
    assert "failed during training" not in result.output and "41.5" not in result.output
    assert query_db(tmp_path, "SELECT count(*) FROM duckdb_views() WHERE schema_name = 'synthetic'") == [(0,)]


def test_two_rows_never_publish_a_real_row(tmp_path: Path) -> None:
    rows_table(tmp_path / "wh.duckdb", "pair", 2)
    project_file(tmp_path, checks="quality_score: {min: 0.0}")
    (tmp_path / "specs" / "pair.yml").write_text(
        "version: 1\ntable: pair\nsource: {table: raw.pair}\ncolumns:\n"
        "  id: {type: id, primary_key: true}\n  x: {type: numerical}\n  c: {type: categorical}\n")
    result = run_cli(tmp_path, "apply")
    # A tiny table (issue 9) publishes only when no synthetic row equals a real row on the
    # modelled columns (real_row_matches at 0; rows that do are redrawn), else nothing.
    if result.exit_code == 0:
        assert "real_row_matches         0.0000  max 0.0          passed" in result.output, result.output
        published = query_db(tmp_path, "SELECT x, c FROM synthetic.pair")
        assert len(published) == 2 and not set(published) & {(41.5, "alpha0"), (42.5, "alpha1")}
    else:
        assert result.exit_code in (1, 2, 3) and "pair" in result.output, result.output
        assert query_db(tmp_path, "SELECT count(*) FROM duckdb_views() WHERE schema_name = 'synthetic'") == [(0,)]


def test_nan_and_infinity_are_located_errors_with_counts_and_an_action(tmp_path: Path) -> None:
    warehouse(tmp_path / "wh.duckdb", """
        CREATE TABLE raw.m AS SELECT i AS id,
          CASE WHEN i % 50 = 0 THEN 'nan'::DOUBLE WHEN i % 70 = 1 THEN 'inf'::DOUBLE WHEN i = 2 THEN '-inf'::DOUBLE
               ELSE i * 1.25 END AS reading,
          (i % 9)::FLOAT AS fine,
          CASE WHEN i = 5 THEN 'infinity'::DATE ELSE DATE '2020-01-01' + i::INTEGER END AS seen,
          CASE WHEN i = 7 THEN '-infinity'::TIMESTAMPTZ ELSE TIMESTAMPTZ '2020-01-01 00:00:00+00' END AS stamp,
          CASE WHEN i = 3 THEN 'nan'::DOUBLE ELSE 1.0 END AS ignored
        FROM range(300) r(i)""")
    project_file(tmp_path)
    (tmp_path / "specs" / "m.yml").write_text(
        "version: 1\ntable: m\nsource: {table: raw.m}\ncolumns:\n  id: {type: id, primary_key: true}\n"
        "  reading: {type: numerical}\n  fine: {type: numerical}\n  seen: {type: datetime}\n  stamp: {type: datetime}\n"
        "  ignored: {type: numerical, pii: drop}\n")
    result = run_cli(tmp_path, "apply")
    assert result.exit_code == 3
    out = result.output
    assert "specs/m.yml:6:3: table 'm', column 'reading': the source holds 6 NaN and 6 ±infinity value(s)" in out
    assert "specs/m.yml:8:3: table 'm', column 'seen': the source holds 1 ±infinity or out-of-range value(s)" in out
    assert "specs/m.yml:9:3: table 'm', column 'stamp': the source holds 1 ±infinity value(s)" in out
    assert "CASE WHEN isfinite(reading) THEN reading END AS reading" in out and "pii: drop" in out
    assert "'fine'" not in out and "'ignored'" not in out  # clean columns and dropped ones are not blamed
    assert "failed during training" not in out and "inf'" not in out.lower()
    # The action works: mapping them to NULL in a query lets the table through.
    (tmp_path / "specs" / "m.yml").write_text((tmp_path / "specs" / "m.yml").read_text().replace(
        "source: {table: raw.m}",
        "source: {query: \"SELECT * REPLACE (CASE WHEN isfinite(reading) THEN reading END AS reading, "
        "CASE WHEN isfinite(seen) THEN seen END AS seen, CASE WHEN isfinite(stamp) THEN stamp END AS stamp) FROM raw.m\"}"))
    fixed = run_cli(tmp_path, "apply", "-q")
    assert fixed.exit_code == 0, fixed.output


def test_pii_leakage_still_sees_dropped_text_columns(tmp_path: Path) -> None:
    # `code` (modelled) repeats the values of two dropped columns: plain text, and JSON read as its text.
    warehouse(tmp_path / "wh.duckdb", """
        CREATE TABLE raw.l AS SELECT i AS id, 'zeta-omega-' || (i % 5) AS secret, ('"kappa-' || (i % 5) || '"')::JSON AS doc,
          CASE WHEN i % 2 = 0 THEN 'zeta-omega-' || (i % 5) ELSE '"kappa-' || (i % 5) || '"' END AS code,
          ('x' || i)::BLOB AS payload
        FROM range(300) r(i)""")
    project_file(tmp_path, checks="quality_score: {min: 0.0}, dcr_share: {max: 1.0}, pii_leakage: {max: 0}")
    (tmp_path / "specs" / "l.yml").write_text(
        "version: 1\ntable: l\nsource: {table: raw.l}\ncolumns:\n  id: {type: id, primary_key: true}\n"
        "  secret: {type: text, pii: drop}\n  doc: {type: text, pii: drop}\n  code: {type: categorical}\n"
        "  payload: {type: text, pii: drop}\n")
    result = run_cli(tmp_path, "apply", "--format", "json")
    assert result.exit_code == 1, result.output
    table = json.loads(result.output)["tables"][0]
    assert table["metrics"]["pii_leakage"] == 10 and not table["published"]


def test_numbers_at_the_limits_of_their_type_publish(tmp_path: Path) -> None:
    """Sentinel values at a type's extreme (BIGINT's 2^63-1, a DECIMAL(38,10)'s largest value)
    pass through float64 in the model: they must still CAST back, not fail the publication."""
    warehouse(tmp_path / "wh.duckdb", """
        CREATE TABLE raw.limits AS SELECT
            CASE WHEN i % 10 = 0 THEN 9223372036854775807 ELSE i END::BIGINT AS big,
            CASE WHEN i % 10 = 1 THEN -9223372036854775808 ELSE i END::BIGINT AS small,
            CASE WHEN i % 10 = 2 THEN 18446744073709551615 ELSE i END::UBIGINT AS ubig,
            CASE WHEN i % 10 = 3 THEN 9999999999999999999999999999.9999999999 ELSE i END::DECIMAL(38, 10) AS dec,
            CASE WHEN i % 10 = 4 THEN 127 ELSE i % 100 END::TINYINT AS tiny
        FROM range(200) r(i)""")
    project_file(tmp_path)
    (tmp_path / "specs" / "limits.yml").write_text(
        "version: 1\ntable: limits\nsource: {table: raw.limits}\ncolumns:\n"
        + "".join(f"  {c}: {{type: numerical}}\n" for c in ("big", "small", "ubig", "dec", "tiny")))
    result = run_cli(tmp_path, "apply", "-q")
    assert result.exit_code == 0, result.output
    assert query_db(tmp_path, "DESCRIBE synthetic.limits") == query_db(tmp_path, "DESCRIBE raw.limits")
    assert query_db(tmp_path, "SELECT min(small) FROM synthetic.limits") == [(-9223372036854775808,)]
    assert query_db(tmp_path, "SELECT max(tiny) FROM synthetic.limits") == [(127,)]
