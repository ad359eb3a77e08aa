from __future__ import annotations

import duckdb

from synthspec.io import ledger


def test_tables_read_by_a_query_come_from_duckdbs_parser():
    con = duckdb.connect()
    tables = ledger._tables_read(con, "select a.x from raw.adult a join (select * from t2 where y in (select y from s.t3)) b using (k)")
    assert tables == ["main.t2", "raw.adult", "s.t3"]


def test_union_of_both_stores(tmp_path):
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    spend = ledger.Spend("r1", "duckdb:wh.duckdb#raw.adult", "adult", 1.0, 1e-6, "2026-01-01T00:00:00Z")
    ledger.reserve(tmp_path / "state", con, spend)
    assert ledger.balance(tmp_path / "state", con, spend.source).epsilon == 1.0
    assert ledger.balance(tmp_path / "other", con, spend.source).epsilon == 1.0  # state lost
    fresh = duckdb.connect()
    assert ledger.balance(tmp_path / "state", fresh, spend.source).epsilon == 1.0  # database lost
    assert ledger.balance(tmp_path / "state", con, "duckdb:wh.duckdb#raw.other").runs == 0
