"""Exact row counts through references: with no `rows:` set, every table of a reference chain
gets its source's row count, and the children per parent still follow the real distribution
(`cardinality`). Real DuckDB files, real `synthspec apply` runs (cart), two chains:

* a music store shaped like Chinook (the sample database): 8 employees of whom 3 support reps
  serve 18-21 customers each (59), 7 invoices per customer (412), 1-14 lines per invoice
  (2,240). Before: 59 -> 79, 412 -> 551, 2,240 -> 2,998, the drift of the 8-row parent
  compounding down the chain.
* three levels built from real data, the kc_house sample: zipcodes <- blocks (a zipcode's
  houses of one building decade) <- houses, with real, skewed children counts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers import query_db, run_cli
from tests.integration.test_relational_apply import make_project

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# Fidelity and privacy gates on tables of 8 and 59 rows are another part's subject (gates that
# know their sample size): loosened here so the runs publish and the counts can be read.
PROJECT = """
    name: counts
    source: {duckdb: wh.duckdb}
    target: {duckdb: wh.duckdb, schema: synthetic}
    defaults:
      model: {type: cart, seed: 7, params: {min_samples_leaf: 10}}
      checks:
        quality_score: {min: 0.3}
        dcr_share: {max: 1.0, not_evaluated: allow}
        exact_match_rate: {max: 1.0, not_evaluated: allow}
    gate: {not_evaluated: allow}
    """


def spec(table: str, columns: str, checks: str = "") -> str:
    return f"version: 1\ntable: {table}\nsource: {{table: raw.{table}}}\ncolumns:\n{columns}{checks}"


def music_store() -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """Chinook's shape: who reports to whom, 3 reps, 7 invoices a customer (one has 6), and
    each customer's invoices of 1, 2, 2, 4, 6, 9 and 14 lines (one 2 fewer for the one)."""
    rng = np.random.default_rng(0)
    employees = pd.DataFrame({
        "employee_id": np.arange(1, 9, dtype=np.int32),
        "title": ["General Manager", "Sales Manager", "Sales Agent", "Sales Agent", "Sales Agent", "IT Manager", "IT Staff", "IT Staff"],
        "reports_to": pd.array([None, 1, 2, 2, 2, 1, 6, 6], dtype="Int32"),
        # Chinook's hire dates: a tiny table publishes no real row, so these move off real dates
        "hired": pd.to_datetime(["2002-08-14", "2002-05-01", "2002-04-01", "2003-05-03", "2003-10-17", "2003-10-17",
                                 "2004-01-02", "2004-03-04"]),
    })
    reps = np.repeat([3, 4, 5], [21, 20, 18])
    customers = pd.DataFrame({
        "customer_id": np.arange(1, 60, dtype=np.int32),
        "country": rng.choice(["USA", "Canada", "France", "Brazil", "Germany", "UK"], 59, p=[0.22, 0.14, 0.1, 0.1, 0.08, 0.36]),
        "support_rep_id": rng.permutation(reps).astype(np.int32),
    })
    invoices_of = np.full(59, 7)
    invoices_of[rng.integers(59)] = 6
    owner = np.repeat(customers["customer_id"].to_numpy(), invoices_of)
    invoices = pd.DataFrame({"invoice_id": np.arange(1, len(owner) + 1, dtype=np.int32), "customer_id": owner})
    lines_of = np.concatenate([[1, 2, 2, 4, 6, 9, 14] if k == 7 else [1, 2, 4, 6, 9, 14] for k in invoices_of])
    invoices["total"] = np.round(lines_of * rng.choice([0.99, 1.99], len(owner), p=[0.9, 0.1]), 2)
    lines = pd.DataFrame({
        "invoice_line_id": np.arange(1, lines_of.sum() + 1, dtype=np.int32),
        "invoice_id": np.repeat(invoices["invoice_id"].to_numpy(), lines_of),
        "unit_price": rng.choice([0.99, 1.99], lines_of.sum(), p=[0.9, 0.1]),
    })
    specs = {
        "employees": spec("employees", """\
  employee_id: {type: id, primary_key: true}
  title:       {type: categorical}
  reports_to:  {type: id, references: employees.employee_id}
  hired:       {type: datetime}
""", "checks:\n  cardinality: {min: 0.5}  # 8 parents: one step of the KS statistic is 0.125\n"),
        "customers": spec("customers", """\
  customer_id:    {type: id, primary_key: true}
  country:        {type: categorical}
  support_rep_id: {type: id, references: employees.employee_id}
""", "checks:\n  cardinality: {min: 0.75}  # 8 parents\n"),
        "invoices": spec("invoices", """\
  invoice_id:  {type: id, primary_key: true}
  customer_id: {type: id, references: customers.customer_id}
  total:       {type: numerical}
"""),
        "invoice_lines": spec("invoice_lines", """\
  invoice_line_id: {type: id, primary_key: true}
  invoice_id:      {type: id, references: invoices.invoice_id}
  unit_price:      {type: numerical}
"""),
    }
    frames = {"employees": employees, "customers": customers, "invoices": invoices, "invoice_lines": lines}
    return frames, specs


def houses() -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """zipcodes (70) <- blocks (500: a zipcode's houses of one building decade, 2-11 per
    zipcode) <- houses (2,000: 1-24 per block), from the 2,000-row kc_house sample."""
    data = pd.read_csv(FIXTURES / "kc_house_sample.csv")
    data["decade"] = data["yr_built"] // 10 * 10
    zipcodes = data.groupby("zipcode", as_index=False).agg(lat=("lat", "mean"), long=("long", "mean"))
    blocks = data.groupby(["zipcode", "decade"], as_index=False).agg(grade=("grade", "median"))
    blocks.insert(0, "block_id", np.arange(1, len(blocks) + 1, dtype=np.int32))
    data = data.merge(blocks[["block_id", "zipcode", "decade"]], on=["zipcode", "decade"])
    homes = data[["block_id", "price", "sqft_living", "bedrooms"]].copy()
    homes.insert(0, "house_id", np.arange(1, len(homes) + 1, dtype=np.int32))
    frames = {"zipcodes": zipcodes.astype({"zipcode": np.int32}), "blocks": blocks.astype({"zipcode": np.int32}), "houses": homes}
    specs = {
        "zipcodes": spec("zipcodes", """\
  zipcode: {type: id, primary_key: true}
  lat:     {type: numerical}
  long:    {type: numerical}
"""),
        "blocks": spec("blocks", """\
  block_id: {type: id, primary_key: true}
  zipcode:  {type: id, references: zipcodes.zipcode}
  decade:   {type: numerical}
  grade:    {type: numerical}
"""),
        "houses": spec("houses", """\
  house_id:    {type: id, primary_key: true}
  block_id:    {type: id, references: blocks.block_id}
  price:       {type: numerical}
  sqft_living: {type: numerical}
  bedrooms:    {type: numerical}
"""),
    }
    return frames, specs


def applied(root: Path, frames: dict[str, pd.DataFrame], specs: dict[str, str]) -> dict[str, dict]:
    make_project(root, specs, frames, project=PROJECT)
    result = run_cli(root, "apply", "-q")
    assert result.exit_code == 0, result.output
    return {t["table"]: t for t in json.loads((root / "target" / "run_results.json").read_text())["tables"]}


def counts(root: Path, tables: list[str]) -> dict[str, tuple[int, int]]:
    """Table -> (source rows, published synthetic rows), counted in SQL."""
    return {t: query_db(root, f"SELECT (SELECT count(*) FROM raw.{t}), (SELECT count(*) FROM synthetic.{t})")[0] for t in tables}


def test_music_store_chain_keeps_every_row_count(tmp_path: Path) -> None:
    frames, specs = music_store()
    tables = applied(tmp_path, frames, specs)
    got = counts(tmp_path, list(frames))
    assert got == {"employees": (8, 8), "customers": (59, 59), "invoices": (412, 412), "invoice_lines": (2240, 2240)}
    # the 3 reps of 8 employees stay 3 with their 59 customers between them
    reps = query_db(tmp_path, "SELECT count(DISTINCT support_rep_id) FROM synthetic.customers")[0][0]
    assert reps == 3
    assert tables["invoices"]["metrics"]["cardinality"] >= 0.9
    assert tables["invoice_lines"]["metrics"]["cardinality"] >= 0.9
    assert tables["customers"]["metrics"]["cardinality"] >= 0.75  # 8 parents: steps of 0.125


def test_three_levels_of_real_skewed_counts_keep_every_row_count(tmp_path: Path) -> None:
    frames, specs = houses()
    tables = applied(tmp_path, frames, specs)
    got = counts(tmp_path, list(frames))
    assert got == {"zipcodes": (70, 70), "blocks": (500, 500), "houses": (2000, 2000)}
    for child in ("blocks", "houses"):
        assert tables[child]["metrics"]["cardinality"] >= 0.9, (child, tables[child]["metrics"])
    # every published key resolves one level up
    assert query_db(tmp_path, "SELECT count(*) FROM synthetic.houses h LEFT JOIN synthetic.blocks b USING (block_id) "
                              "LEFT JOIN synthetic.zipcodes z ON z.zipcode = b.zipcode WHERE z.zipcode IS NULL")[0][0] == 0


def test_a_scaled_parent_scales_its_children(tmp_path: Path) -> None:
    """`scale:` on the top table only: each level below keeps its children per parent, so
    its row count scales with it."""
    frames, specs = houses()
    specs["zipcodes"] = specs["zipcodes"].replace("columns:", "scale: 2\ncolumns:")
    applied(tmp_path, frames, specs)
    got = counts(tmp_path, list(frames))
    assert got == {"zipcodes": (70, 140), "blocks": (500, 1000), "houses": (2000, 4000)}
