"""`init`'s type inference on real data: codes and small supports are categories, text that
holds dates or numbers is modelled as such (its format recorded), keys and references are found
and confirmed in DuckDB, unique-per-row text is an identifier, every column has a reason."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from synthspec.engine.init import draft_columns, draft_spec, primary_key, reference_name_matches
from synthspec.io.profile import profile_duckdb

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def drafts(tmp_path_factory):
    """Drafts of a small warehouse built from the real fixtures, stored as exports store them."""
    titanic = pd.read_csv(FIXTURES / "titanic.csv")
    kc = pd.read_csv(FIXTURES / "kc_house_sample.csv")
    db = tmp_path_factory.mktemp("infer") / "wh.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA raw")
    con.register("titanic_df", titanic)
    con.register("kc_df", kc)
    con.execute("CREATE TABLE raw.titanic AS SELECT * FROM titanic_df")
    con.execute("CREATE TABLE raw.houses AS SELECT * FROM kc_df")
    # A staff table: text dates, a self-reference, a BLOB, unique names.
    con.execute("""CREATE TABLE raw.staff AS SELECT PassengerId AS staff_id, Name AS full_name,
                   CASE WHEN PassengerId > 1 THEN (PassengerId - 1) // 2 + 1 END AS manager_id,
                   strftime(DATE '2001-01-01' + CAST(PassengerId * 37 AS INTEGER), '%Y-%m-%d 00:00:00') AS hired,
                   strftime(DATE '2001-01-01' + CAST(PassengerId * 11 AS INTEGER), '%-m/%-d/%Y') AS reviewed,
                   CAST(Fare AS VARCHAR) AS fare_text, lpad(CAST(PassengerId % 40 AS VARCHAR), 5, '0') AS post_code,
                   CASE WHEN Survived = 1 THEN 'Y' ELSE 'N' END AS active,
                   encode(Name) AS photo
                   FROM titanic_df WHERE PassengerId <= 60""")
    # A child: each passenger's tickets point at the passenger (name match + containment);
    # `staff_ref` is named like the staff key but holds values that are not there.
    con.execute("""CREATE TABLE raw.tickets AS SELECT row_number() OVER () AS ticket_id, PassengerId AS passenger_id,
                   PassengerId + 1000 AS staff_id, Ticket AS ticket FROM titanic_df""")
    con.execute("ALTER TABLE raw.titanic RENAME COLUMN PassengerId TO passenger_id")
    con.close()
    profiles = profile_duckdb(db, "raw", key_of=primary_key, matches=reference_name_matches)
    return {p.name: (p, dict(draft_columns(p))) for p in profiles}


def test_codes_small_supports_and_flags_are_categories(drafts):
    _, houses = drafts["houses"]
    assert houses["waterfront"].type == "boolean"
    for column in ("zipcode", "floors", "bathrooms", "bedrooms", "view", "condition", "grade"):
        assert houses[column].type == "categorical", (column, houses[column])
    assert "code" in houses["zipcode"].reason
    for column in ("price", "sqft_living", "lat", "long", "yr_built"):
        assert houses[column].type == "numerical", (column, houses[column])
    _, titanic = drafts["titanic"]
    assert titanic["Pclass"].type == "categorical"
    assert titanic["Survived"].type == "boolean" and "flag" in titanic["Survived"].reason
    assert titanic["Age"].type == titanic["Fare"].type == "numerical"


def test_keys_and_references_are_found_and_confirmed(drafts):
    _, titanic = drafts["titanic"]
    assert "primary_key: true" in titanic["passenger_id"].parts
    _, tickets = drafts["tickets"]
    assert "primary_key: true" in tickets["ticket_id"].parts
    assert "references: titanic.passenger_id" in tickets["passenger_id"].parts
    # named like staff.staff_id, but no value is there: not a reference
    assert not any(p.startswith("references") for p in tickets["staff_id"].parts)
    _, staff = drafts["staff"]
    assert "references: staff.staff_id" in staff["manager_id"].parts  # a self-reference


def test_text_that_holds_dates_numbers_booleans_and_codes(drafts):
    profile, staff = drafts["staff"]
    assert staff["hired"].type == "datetime" and 'format: "%Y-%m-%d %H:%M:%S"' in staff["hired"].parts
    assert staff["reviewed"].type == "datetime" and 'format: "%-m/%-d/%Y"' in staff["reviewed"].parts
    assert staff["fare_text"].type == "numerical" and "stored as text" in staff["fare_text"].reason
    assert staff["post_code"].type in ("categorical", "text") and "code" in staff["post_code"].reason
    assert staff["active"].type == "boolean" and 'format: "Y/N"' in staff["active"].parts
    assert staff["full_name"].type == "text"  # unique per row: never a category
    assert staff["photo"].parts == ("pii: drop",)  # BLOB: a policy, never a crash
    spec = draft_spec(profile)
    entries = spec.split("columns:\n")[1].splitlines()
    assert len(entries) == len(profile.columns) and all("}  # " in line for line in entries)  # a reason on every column


def test_drafts_never_copy_values(drafts):
    profile, _ = drafts["staff"]
    spec = draft_spec(profile)
    for value in profile.sample["full_name"].head(20):
        assert value not in spec
    # formats are directives, never a date of the data
    assert "2001-" not in spec


def test_init_skips_empty_tables_with_a_warning(tmp_path):
    from synthspec.engine.init import init_project

    db = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA raw")
    con.execute("CREATE TABLE raw.demographics (id INTEGER, description VARCHAR)")
    con.execute("CREATE TABLE raw.regions AS SELECT range AS region_id, 'r' || range AS name FROM range(4)")
    con.close()
    result = init_project(tmp_path / "project", from_duckdb=str(db), schema="raw", from_path=None)
    assert [p.name for p in result.written if p.name != ".gitignore"] == ["synthspec.yml", "regions.yml"]
    assert any("raw.demographics: no rows" in w for w in result.warnings)


def test_reference_names_of_prefixed_and_camel_case_tables():
    from synthspec.engine.init import reference_name_matches

    assert reference_name_matches("order_id", "raw_orders", "id", False)
    assert reference_name_matches("CustomerId", "dimCustomer", "Id", False)
    assert reference_name_matches("category_id", "stg_categories", "id", False)
    assert not reference_name_matches("user_id", "raw_customers", "id", False)
    assert reference_name_matches("ReportsTo", "employees", "EmployeeId", True)
    assert not reference_name_matches("Title", "employees", "EmployeeId", True)


def test_a_dense_sequence_named_for_time_is_a_time_axis_not_a_key(tmp_path):
    """A first column of consecutive integers is drafted as a serial key, unless its name is a
    time word: yearly rates, one row a year (R's melanoma: 1936 to 1972), keep their years as
    values the rates follow (drafted as a key, the years were generated and the trend lost)."""
    db = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA raw")
    con.execute("CREATE TABLE raw.rates AS SELECT 1935 + i AS year, round(0.8 + i * 0.1, 1) AS incidence FROM range(1, 38) t(i)")
    con.execute("CREATE TABLE raw.visits AS SELECT i AS dayOfStudy, i % 7 AS weekday FROM range(1, 40) t(i)")
    con.execute("CREATE TABLE raw.ages AS SELECT i AS Days, i % 7 AS weekday FROM range(1, 40) t(i)")
    con.execute("CREATE TABLE raw.items AS SELECT i AS n, i % 7 AS size FROM range(1, 40) t(i)")
    con.execute("CREATE TABLE raw.calls AS SELECT i AS times_called, i % 7 AS size FROM range(1, 40) t(i)")
    con.close()
    profiles = {p.name: p for p in profile_duckdb(db, "raw", key_of=primary_key, matches=reference_name_matches)}
    assert primary_key(profiles["rates"]) is None and primary_key(profiles["visits"]) is None
    assert primary_key(profiles["ages"]) is None
    assert primary_key(profiles["items"]) == "n" and primary_key(profiles["calls"]) == "times_called"
    rates = dict(draft_columns(profiles["rates"]))
    assert rates["year"].type == "numerical" and "primary_key: true" not in rates["year"].parts
