"""Inequality constraints with a side in a parent table (`<fk>.<column>`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synthspec.engine.codec import _reflect
from synthspec.errors import SpecError
from synthspec.spec.project import load_project

PROJECT = "name: t\nsource: {duckdb: wh.duckdb}\ntarget: {duckdb: wh.duckdb, schema: synthetic}\n"
CUSTOMERS = """version: 1
table: customers
source: {table: raw.customers}
columns:
  customer_id: {type: id, primary_key: true}
  signup: {type: datetime}
  segment: {type: categorical}
  referred_by: {type: id, references: customers.customer_id}
"""
ORDERS = """version: 1
table: orders
source: {table: raw.orders}
columns:
  order_id: {type: id, primary_key: true}
  customer_id: {type: id, references: customers.customer_id}
  ordered_at: {type: datetime}
constraints:
  - {type: inequality, low: %s, high: %s}
"""


def problems(tmp_path: Path, low: str, high: str) -> list[str]:
    (tmp_path / "specs").mkdir(exist_ok=True)
    (tmp_path / "synthspec.yml").write_text(PROJECT)
    (tmp_path / "specs" / "customers.yml").write_text(CUSTOMERS)
    (tmp_path / "specs" / "orders.yml").write_text(ORDERS % (low, high))
    try:
        load_project(tmp_path, {})
    except SpecError as exc:
        return exc.lines()
    return []


def test_a_parent_column_through_a_foreign_key_is_valid(tmp_path: Path) -> None:
    assert problems(tmp_path, "customer_id.signup", "ordered_at") == []


@pytest.mark.parametrize(("low", "high", "message"), [
    ("order_id.signup", "ordered_at", "'order_id' is not a column with `references`"),
    ("customer_id.signupp", "ordered_at", "'customers' has no numerical or datetime column 'signupp'; did you mean 'signup'?"),
    ("customer_id.segment", "ordered_at", "no numerical or datetime column 'segment'"),
    ("customer_id.signup", "customer_id.signup", "needs a column of this table on one side"),
    ("customer_id.signup", "ordred_at", "constraint column 'ordred_at' is not a declared column"),
])
def test_bad_cross_table_sides_are_located_errors(tmp_path: Path, low: str, high: str, message: str) -> None:
    lines = problems(tmp_path, low, high)
    assert any(line.startswith("specs/orders.yml:9:") and message in line for line in lines), lines


def test_reflect_mirrors_rows_on_the_wrong_side_of_their_parent_value() -> None:
    child = np.array([5.0, 1.0, np.nan, 9.0, 2.0])
    parent = np.array([3.0, 4.0, 1.0, 8.0, np.nan])
    out = _reflect(child, parent, above=True)
    # 1 < 4 -> 7; nulls on either side untouched; rows already above stay.
    np.testing.assert_array_equal(out, [5.0, 7.0, np.nan, 9.0, 2.0])
    assert np.all((out >= parent) | np.isnan(out) | np.isnan(parent))


def test_reflect_never_leaves_the_sampled_range() -> None:
    child = np.array([0.0, 10.0])
    parent = np.array([9.0, 1.0])  # mirrored 0 -> 18, beyond the column's max 10: the bound
    np.testing.assert_array_equal(_reflect(child, parent, above=True), [10.0, 10.0])
    below = _reflect(np.array([10.0, 0.0]), np.array([1.0, 5.0]), above=False)  # 10 -> -8: min 0
    np.testing.assert_array_equal(below, [0.0, 0.0])
