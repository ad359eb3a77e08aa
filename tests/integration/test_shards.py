"""Sharded output (engine/shards.py) on real DuckDB files with real training.

The shard size is lowered in-process (``shards.SHARD_ROWS``) so that a few hundred rows make
several shards; the CLI runs in-process (``run_cli``), so the lowered size applies to it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from synthspec.engine import shards
from tests.helpers import make_warehouse, query_db, run_cli

pytestmark = pytest.mark.integration

ROWS = 1000


@pytest.fixture
def keyed_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A table with an integer key, near-unique codes, a fake e-mail and modelled columns,
    asked for 1000 synthetic rows: four shards of 300, 300, 300 and 100 rows."""
    monkeypatch.setenv("SYNTHSPEC_SECRET", "a-test-secret-of-enough-length")
    rng = np.random.default_rng(0)
    n = 900
    frame = pd.DataFrame({
        "id": np.arange(1, n + 1), "code": [f"K-{i:05d}" for i in range(n)],
        "email": [f"user{i}@example.com" for i in range(n)], "x": rng.normal(size=n).round(3),
        "c": rng.choice(["a", "b", "c"], n), "amount": rng.integers(0, 10**6, n).astype("int64"),
    })
    make_warehouse(tmp_path / "wh.duckdb", {"t": frame})
    with duckdb.connect(str(tmp_path / "wh.duckdb")) as con:  # a type Parquet cannot hold exactly
        con.execute("ALTER TABLE raw.t ALTER amount TYPE HUGEINT")
    (tmp_path / "synthspec.yml").write_text(
        "name: s\nsource: {duckdb: wh.duckdb}\ntarget: {duckdb: wh.duckdb, schema: synthetic}\n"
        "defaults:\n  checks:\n    quality_score: {min: 0.5}\n    dcr_share: {max: 0.95}\n")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "t.yml").write_text(
        "version: 1\ntable: t\nrows: 1000\nsource: {table: raw.t}\nmodel: {type: cart, seed: 3}\ncolumns:\n"
        "  id: {type: id, primary_key: true}\n  code: {type: text}\n  email: {type: text, pii: fake, faker: email}\n"
        "  x: {type: numerical}\n  c: {type: categorical}\n  amount: {type: numerical}\n")
    monkeypatch.setattr(shards, "SHARD_ROWS", 300)
    return tmp_path


def published(project: Path) -> str:
    rows = query_db(project, "SELECT * FROM synthetic.t ORDER BY id")
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_layout_and_seeds() -> None:
    assert shards.layout(10, shard_rows=4) == [shards.Shard(0, 0, 4), shards.Shard(1, 4, 4), shards.Shard(2, 8, 2)]
    assert shards.layout(4, shard_rows=4) == [shards.Shard(0, 0, 4)]
    assert shards.layout(10, shardable=False, shard_rows=4) == [shards.Shard(0, 0, 10)]
    assert shards.seed_of(42, 0) == 42  # tables of one shard draw exactly as before sharding
    seeds = {shards.seed_of(42, i) for i in range(1, 50)}
    assert len(seeds) == 49 and 42 not in seeds


def test_a_sharded_table_publishes_every_row_once_with_unique_keys(keyed_project: Path) -> None:
    result = run_cli(keyed_project, "apply", "-q")
    assert result.exit_code == 0, result.output
    count, ids, low, high, codes = query_db(
        keyed_project, "SELECT count(*), count(DISTINCT id), min(id), max(id), count(DISTINCT code) FROM synthetic.t")[0]
    assert (count, ids, low, high) == (ROWS, ROWS, 1, ROWS)  # key sequences continue across shards
    assert codes > ROWS * 0.9  # near-unique text: shaped per row in every shard
    # The source's exact types, HUGEINT included (it travels through Parquet as text).
    types = dict((r[0], r[1]) for r in query_db(keyed_project, "DESCRIBE synthetic.t"))
    assert types["amount"] == "HUGEINT" and types["id"] == "BIGINT"
    # Every shard holds rows: the last shard's 100 rows are not a copy of the first's.
    last = query_db(keyed_project, "SELECT x, c FROM synthetic.t WHERE id > 900 ORDER BY id")
    first = query_db(keyed_project, "SELECT x, c FROM synthetic.t WHERE id <= 100 ORDER BY id")
    assert last != first
    # No part is left behind, and the report counts every row.
    assert not (keyed_project / ".synthspec" / "parts").exists()
    import json

    table = json.loads((keyed_project / "target" / "run_results.json").read_text())["tables"][0]
    assert table["rows"] == ROWS and table["metrics"]["key_uniqueness"] == 1.0
    assert table["metrics"]["pii_leakage"] == 0.0


def test_sharded_rows_are_deterministic_and_sample_draws_the_same_rows(keyed_project: Path) -> None:
    assert run_cli(keyed_project, "apply", "-q").exit_code == 0
    first = published(keyed_project)
    assert run_cli(keyed_project, "apply", "-q", "--force").exit_code == 0
    assert published(keyed_project) == first

    # `sample` with the spec's seed and row count draws the same shards: the same rows.
    for name in ("same.parquet", "same.duckdb", "same.csv"):
        out = keyed_project / name
        result = run_cli(keyed_project, "sample", "t", "--rows", str(ROWS), "--out", str(out), "-q")
        assert result.exit_code == 0, result.output
        source = f"read_csv('{out}')" if name.endswith(".csv") else f"'{out}'"
        if name.endswith(".duckdb"):
            query_db(keyed_project, "SELECT 1")  # the project's file is untouched by this
            with duckdb.connect(str(out), read_only=True) as con:
                assert con.execute("SELECT count(*) FROM t").fetchone() == (ROWS,)
            source = "t"
            with duckdb.connect(str(out)) as con:
                con.execute(f"ATTACH '{keyed_project / 'wh.duckdb'}' AS wh (READ_ONLY)")
                diff = con.execute("SELECT count(*) FROM (SELECT * FROM wh.synthetic.t EXCEPT ALL SELECT * FROM t)").fetchone()
            assert diff == (0,)
            continue
        diff = query_db(keyed_project, f"SELECT count(*) FROM (SELECT * EXCLUDE (amount) FROM synthetic.t "
                                       f"EXCEPT ALL SELECT * EXCLUDE (amount) FROM {source})")
        assert diff == [(0,)], name


def test_sample_refuses_to_write_into_the_projects_database(keyed_project: Path) -> None:
    assert run_cli(keyed_project, "apply", "-q").exit_code == 0
    before = published(keyed_project)
    result = run_cli(keyed_project, "sample", "t", "--rows", "10", "--out", str(keyed_project / "wh.duckdb"))
    assert result.exit_code == 2 and "is one of the project's databases" in result.output
    assert published(keyed_project) == before


def test_parts_a_killed_run_left_behind_are_removed_by_the_next_run(keyed_project: Path) -> None:
    stale = keyed_project / ".synthspec" / "parts" / "t-deadbeef0000"
    stale.mkdir(parents=True)
    (stale / "part-00000.parquet").write_bytes(b"not a parquet file")
    assert run_cli(keyed_project, "apply", "-q").exit_code == 0
    assert not (keyed_project / ".synthspec" / "parts").exists()


def test_a_failed_gate_publishes_nothing_and_leaves_no_part(keyed_project: Path) -> None:
    assert run_cli(keyed_project, "apply", "-q").exit_code == 0
    before = published(keyed_project)
    spec = keyed_project / "specs" / "t.yml"
    # A DCR share of at most 0.05 cannot be met (its 90% interval lies around 0.5), so the gate fails.
    spec.write_text(spec.read_text().replace("rows: 1000", "rows: 1000\nchecks:\n  dcr_share: {max: 0.05}"))
    result = run_cli(keyed_project, "apply", "-q")
    assert result.exit_code == 1, result.output
    assert published(keyed_project) == before
    assert not (keyed_project / ".synthspec" / "parts").exists()


def test_part_round_trip_keeps_exact_types(tmp_path: Path) -> None:
    """A part holds the CAST values; reading it back gives the source's exact types and values."""
    types = [("h", "HUGEINT"), ("d", "DECIMAL(18,4)"), ("u", "UUID"), ("ts", "TIMESTAMP_NS"), ("dt", "DATE"),
             ("b", "BOOLEAN"), ("blob", "BLOB"), ("v", "VARCHAR")]
    frame = pd.DataFrame({
        "h": [170141183460469231731687303715884105727, -5], "d": [1.23456, -2.5],
        "u": ["9b2d6f5e-8a3c-4f1e-9d7b-2c4a6e8f0a1b", None], "ts": pd.to_datetime(["2020-01-01 10:00:00.123456789", None]),
        "dt": pd.to_datetime(["2020-01-01", "1999-12-31"]), "b": [True, None], "blob": [None, None], "v": ["x", "y"],
    })
    frame["h"] = frame["h"].astype(object)
    part = shards.write_part(frame, types, tmp_path / "part-00000.parquet")
    con = duckdb.connect()
    con.execute("BEGIN TRANSACTION")
    shards.insert_parts(con, "t", [part, part], types, create=True)
    con.execute("COMMIT")
    described = [(r[0], r[1]) for r in con.execute("DESCRIBE t").fetchall()]
    assert described == types
    rows = con.execute("SELECT h, d, CAST(u AS VARCHAR), dt, b, blob, v FROM t LIMIT 2").fetchall()
    assert rows[0][0] == 170141183460469231731687303715884105727 and str(rows[0][1]) == "1.2346"
    assert rows[1][0] == -5 and rows[1][2] is None and rows[0][5] is None
    assert con.execute("SELECT count(*) FROM t").fetchone() == (4,)
    assert shards.key_duplicates([part, part], ["v"]) == (4, 4)
    assert shards.key_duplicates([part], ["v"]) == (2, 0)


def test_sample_to_duckdb_replaces_the_table_and_leaves_no_parts(keyed_project: Path) -> None:
    """The shards travel as Parquet parts beside the output and are loaded in one transaction:
    a second sample replaces the first table whole, and no part outlives the command."""
    assert run_cli(keyed_project, "apply", "-q").exit_code == 0
    out = keyed_project / "out" / "sampled.duckdb"
    out.parent.mkdir()
    for rows in (ROWS, 7):
        result = run_cli(keyed_project, "sample", "t", "--rows", str(rows), "--out", str(out), "-q")
        assert result.exit_code == 0, result.output
        with duckdb.connect(str(out), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM t").fetchone() == (rows,)
            assert con.execute("SELECT count(*) FROM information_schema.tables").fetchone() == (1,)
    assert sorted(p.name for p in out.parent.iterdir()) == ["sampled.duckdb"]


def test_sample_to_duckdb_failing_midway_keeps_the_previous_table(keyed_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A load that fails after some parts are already in the new table (here: a corrupt last
    part) rolls the whole replacement back: the previous table is there, row for row, and no
    part outlives the command."""
    assert run_cli(keyed_project, "apply", "-q").exit_code == 0
    out = keyed_project / "out" / "sampled.duckdb"
    out.parent.mkdir()
    assert run_cli(keyed_project, "sample", "t", "--rows", "7", "--out", str(out), "-q").exit_code == 0
    with duckdb.connect(str(out), read_only=True) as con:
        before = con.execute("SELECT * FROM t ORDER BY id").fetchall()
    real_insert = shards.insert_parts

    def insert_then_corrupt(con, table, parts, column_types, *, create):  # noqa: ANN001, ANN202
        parts[-1].write_bytes(b"not a parquet file")
        real_insert(con, table, parts, column_types, create=create)

    monkeypatch.setattr(shards, "insert_parts", insert_then_corrupt)
    result = run_cli(keyed_project, "sample", "t", "--rows", str(ROWS), "--out", str(out), "-q")
    assert result.exit_code != 0 and "cannot write the sampled rows" in result.output
    with duckdb.connect(str(out), read_only=True) as con:
        assert con.execute("SELECT * FROM t ORDER BY id").fetchall() == before
        assert con.execute("SELECT count(*) FROM information_schema.tables").fetchone() == (1,)
    assert sorted(p.name for p in out.parent.iterdir()) == ["sampled.duckdb"]
