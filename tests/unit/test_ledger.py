from __future__ import annotations

import json

import duckdb
import pytest

from synthspec.errors import EnvironmentError_
from synthspec.io import ledger


def _spend(run_id: str = "r1", source: str = "duckdb:raw.adult", epsilon: float = 1.0, location: str = "/db") -> ledger.Spend:
    return ledger.Spend(run_id, source, "adult", epsilon, 1e-6, "2026-01-01T00:00:00Z", location)


def test_union_of_the_stores(tmp_path):
    con = duckdb.connect(str(tmp_path / "t.duckdb"))
    machine = tmp_path / "machine.jsonl"
    spend = _spend()
    ledger.reserve(tmp_path / "state", con, spend, machine)
    relation = ledger.Relation("duckdb:raw.adult", "/db")
    assert ledger.balance(tmp_path / "state", con, relation, machine).epsilon == 1.0
    assert ledger.balance(tmp_path / "other", con, relation).epsilon == 1.0  # state lost
    assert ledger.balance(tmp_path / "state", duckdb.connect(), relation).epsilon == 1.0  # database lost
    assert ledger.balance(tmp_path / "other", duckdb.connect(), relation, machine).epsilon == 1.0  # both lost
    assert ledger.balance(tmp_path / "state", con, ledger.Relation("duckdb:raw.other", "/db"), machine).runs == 0


def test_the_machine_ledger_matches_the_location_of_the_data(tmp_path):
    machine = tmp_path / "machine.jsonl"
    ledger.reserve(tmp_path / "state", duckdb.connect(), _spend(location="/a/wh.duckdb"), machine)
    same = ledger.balance(tmp_path / "fresh", None, ledger.Relation("duckdb:raw.adult", "/a/wh.duckdb"), machine)
    other = ledger.balance(tmp_path / "fresh", None, ledger.Relation("duckdb:raw.adult", "/b/wh.duckdb"), machine)
    assert (same.epsilon, other.epsilon) == (1.0, 0.0)


def test_a_run_over_two_relations_counts_once_per_relation(tmp_path):
    con = duckdb.connect()
    ledger.reserve(tmp_path / "state", con, [_spend(source="duckdb:raw.a"), _spend(source="duckdb:raw.b")])
    assert ledger.balance(tmp_path / "state", con, "duckdb:raw.a").runs == 1
    assert ledger.balance(tmp_path / "state", con, "duckdb:raw.b").epsilon == 1.0


def test_keys_of_earlier_versions_keep_their_budget(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    old = [{"run_id": "r0", "source": "duckdb:wh.duckdb#RAW.Adult", "table": "adult", "epsilon": 1.0, "delta": 0.0, "at": "x"},
           {"run_id": "r1", "source": "path:./data//adult.csv", "table": "adult", "epsilon": 0.5, "delta": 0.0, "at": "y"}]
    (state / "budget_ledger.json").write_text(json.dumps(old))
    assert ledger.balance(state, None, "duckdb:raw.adult").epsilon == 1.0
    assert ledger.balance(state, None, "file:data/adult.csv").epsilon == 0.5


@pytest.mark.parametrize("entry", [
    {"epsilon": -100.0}, {"epsilon": float("nan")}, {"delta": float("inf")}, {"epsilon": "1"}, {"run_id": None},
])
def test_entries_that_are_not_finite_non_negative_spends_are_refused(tmp_path, entry):
    state = tmp_path / "state"
    state.mkdir()
    good = {"run_id": "r0", "source": "duckdb:raw.adult", "table": "adult", "epsilon": 1.0, "delta": 0.0, "at": "x"}
    (state / "budget_ledger.json").write_text(json.dumps([good, {**good, "run_id": "r1", **entry}]))
    with pytest.raises(EnvironmentError_, match="corrupt"):
        ledger.balance(state, None, "duckdb:raw.adult")


def test_a_corrupt_machine_ledger_is_refused(tmp_path):
    machine = tmp_path / "machine.jsonl"
    machine.write_text('{"run_id": "r0"\n')
    with pytest.raises(EnvironmentError_, match="corrupt"):
        ledger.balance(tmp_path / "state", None, ledger.Relation("duckdb:raw.adult", "/db"), machine)


def test_an_unwritable_machine_ledger_is_an_environment_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(EnvironmentError_, match="machine budget ledger"):
        ledger.reserve(tmp_path / "state", duckdb.connect(), _spend(), blocker / "sub" / "ledger.jsonl")


def test_the_check_and_reservation_hold_an_exclusive_lock(tmp_path):
    """While one process is between its balance check and its reservation, another cannot
    take the machine ledger's lock (it waits)."""
    import fcntl
    import subprocess
    import sys

    machine = tmp_path / "machine.jsonl"
    code = ("import sys, time; from pathlib import Path; from synthspec.io import ledger\n"
            "with ledger.exclusive(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(30)\n")
    holder = subprocess.Popen([sys.executable, "-c", code, str(machine)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with open(machine.with_name(machine.name + ".lock"), "a") as handle, pytest.raises(BlockingIOError):
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        holder.kill()
        holder.wait()
    with ledger.exclusive(machine):  # released when the holder is gone
        pass
