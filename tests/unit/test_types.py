"""Source types: what synthspec models, what it reads, and datetimes across DuckDB's whole range
(far outside pandas' nanosecond range, 1677-2262) through encode/decode, generalize, the
canonical text of keyed policies and the report's profile."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from synthspec.engine import codec
from synthspec.engine.columns import ColumnPlan
from synthspec.engine.inputs import read_columns
from synthspec.io.history import cast_columns
from synthspec.io.warehouse import text_like_type, unsupported_type
from synthspec.metrics.profile import numerical_profile
from synthspec.privacy.policies import canonical_text, generalize_datetime
from synthspec.spec.models import ColumnSpec

#: One value per DuckDB date/timestamp type at (or near) each end of its range.
EXTREMES = {
    "DATE": ("0001-01-01", "9999-12-31", "294247-01-10", "290309-12-22 (BC)"),
    "TIMESTAMP": ("0001-01-01 00:00:01", "9999-12-31 23:59:59", "294247-01-10 04:00:54", "290308-12-22 (BC) 00:00:00"),
    "TIMESTAMP_S": ("0001-01-01 00:00:00", "9999-12-31 23:59:59", "294247-01-10 04:00:54", "290308-12-22 (BC) 00:00:00"),
    "TIMESTAMP_MS": ("0001-01-01 00:00:00", "9999-12-31 23:59:59", "294247-01-10 04:00:54", "290308-12-22 (BC) 00:00:00"),
    "TIMESTAMP_NS": ("1677-09-21 00:12:44", "2262-04-11 23:47:16", "2000-02-29 12:00:00", "1970-01-01 00:00:00"),
    "TIMESTAMPTZ": ("0001-01-01 00:00:00+00", "9999-12-31 23:59:59+00", "294247-01-10 04:00:54+00", "1969-07-20 20:17:40+00"),
    "TIMESTAMPTZ_NS": ("1677-09-21 00:12:44+00", "2262-04-11 23:47:16+00", "2000-02-29 12:00:00+00", "1969-07-20 20:17:40+00"),
}


def plan(name: str, duckdb_type: str, **spec) -> ColumnPlan:
    return ColumnPlan(name, duckdb_type, ColumnSpec(**spec))


@pytest.mark.parametrize("duckdb_type", list(EXTREMES))
def test_datetimes_round_trip_exactly_across_the_whole_range(duckdb_type: str) -> None:
    con = duckdb.connect()
    values = ", ".join(f"('{v}'::{duckdb_type})" for v in EXTREMES[duckdb_type])
    utc = "timezone('UTC', x)" if duckdb_type.startswith("TIMESTAMPTZ") else "x"
    source = con.execute(f"SELECT {utc} AS x FROM (VALUES {values}, (NULL)) AS v(x)").df()
    if duckdb_type.startswith("TIMESTAMPTZ"):
        source["x"] = source["x"].dt.tz_localize("UTC")  # as warehouse.read_source reads them
    plans = [plan("x", duckdb_type, type="datetime")]
    encoded = codec.encode(source, plans)
    decoded = codec.decode(encoded, plans, source, len(source), np.random.default_rng(0))
    con.register("decoded", decoded)
    back = con.execute(f"SELECT CAST(x AS {duckdb_type})::VARCHAR FROM decoded").fetchall()
    assert [r[0] for r in back] == [*(con.execute(f"SELECT '{v}'::{duckdb_type}::VARCHAR").fetchone()[0]
                                      for v in EXTREMES[duckdb_type]), None]


def test_sampled_datetimes_beyond_the_type_are_clipped_into_it() -> None:
    plans = [plan("ns", "TIMESTAMP_NS", type="datetime"), plan("us", "TIMESTAMP", type="datetime")]
    sampled = pd.DataFrame({"ns": [1e12, -1e12], "us": [1e15, -1e15]})  # years ~33,000 and ~32 million
    out = codec.decode(sampled, plans, pd.DataFrame(), 2, np.random.default_rng(0))
    con = duckdb.connect()
    con.register("out", out)
    ns, us = con.execute("SELECT CAST(ns AS TIMESTAMP_NS)::VARCHAR, CAST(us AS TIMESTAMP)::VARCHAR FROM out").fetchall()[0]
    assert ns.startswith("2262-04-11") and us.startswith("294247-01-10")


@pytest.mark.parametrize(("unit", "expected"), [("year", "9999-01-01"), ("quarter", "9999-10-01"), ("month", "9999-12-01"),
                                                ("week", "9999-12-27"), ("day", "9999-12-31"), ("hour", "9999-12-31 23:00:00")])
def test_generalize_truncates_far_dates_in_every_representation(unit: str, expected: str) -> None:
    stamps = pd.Series(np.array(["9999-12-31T23:59:59", "NaT"], dtype="datetime64[us]"))
    out = generalize_datetime(stamps, unit)  # type: ignore[arg-type]
    assert out.dtype == stamps.dtype and out[0] == pd.Timestamp(expected) and pd.isna(out[1])
    aware = generalize_datetime(stamps.dt.tz_localize("UTC"), unit)  # type: ignore[arg-type]
    assert aware[0] == pd.Timestamp(expected, tz="UTC")
    seconds = codec._to_seconds(stamps)
    truncated = generalize_datetime(pd.Series(seconds), unit)  # type: ignore[arg-type]
    assert truncated[0] == codec._to_seconds(pd.Series([pd.Timestamp(expected)]).astype("datetime64[us]"))[0]


def test_generalize_before_the_common_era_floors() -> None:
    early = pd.Series(np.array(["-0044-03-15T12:00:00", "0001-01-01T00:00:00"], dtype="datetime64[us]"))
    out = generalize_datetime(early, "year")
    assert [str(v) for v in out.to_numpy()] == ["-044-01-01T00:00:00.000000", "0001-01-01T00:00:00.000000"]


def test_canonical_text_of_dates_beyond_python() -> None:
    assert canonical_text(pd.Timestamp(np.datetime64("294247-01-10", "us"))) == "294247-01-10"
    assert canonical_text(pd.Timestamp("9999-12-31")) == "9999-12-31"


def test_profile_of_far_datetimes_keeps_edges_showable() -> None:
    beyond = pd.Series(np.full(100, 9.2e12))  # the year 293,000: no date label exists
    assert numerical_profile("far", beyond, beyond, datetime=True) is None
    end = codec._to_seconds(pd.Series([pd.Timestamp("9999-12-31")]).astype("datetime64[us]"))[0]
    last = pd.Series(np.linspace(end - 5 * 365 * 86400, end, 100))  # up to the last day a date label exists for
    p = numerical_profile("last", last, last, datetime=True)
    assert p is not None and p.edges is not None and p.edges[-1] <= 253402300799.0


@pytest.mark.parametrize("expression", [
    "'x'::BLOB", "[1]", "['a']", "[1, 2, 3]::INTEGER[3]", "{'a': 1}", "MAP {'k': 1}", "union_value(n := 1)",
    "INTERVAL 1 DAY", "TIME '01:02:03'", "'01:02:03+02'::TIMETZ", "'{}'::JSON", "'0101'::BIT", "1::BIGNUM",
    "1::UHUGEINT", "'01:02:03'::TIME_NS", "1::VARIANT"])
def test_types_synthspec_does_not_model(expression: str) -> None:
    duckdb_type = duckdb.connect().execute(f"DESCRIBE SELECT {expression} AS x").fetchone()[1]
    assert unsupported_type(duckdb_type), duckdb_type


@pytest.mark.parametrize("expression", [
    "1::TINYINT", "1::UBIGINT", "1::HUGEINT", "1.5::DECIMAL(18, 3)", "1.5::FLOAT", "1.5::DOUBLE", "true", "'a'",
    "'a'::VARCHAR COLLATE nocase", "uuid()", "'a'::ENUM('a', 'b')", "DATE '2020-01-01'", "TIMESTAMP '2020-01-01'",
    "'2020-01-01'::TIMESTAMP_S", "'2020-01-01'::TIMESTAMP_MS", "'2020-01-01'::TIMESTAMP_NS",
    "'2020-01-01+00'::TIMESTAMPTZ", "'2020-01-01+00'::TIMESTAMPTZ_NS"])
def test_types_synthspec_models(expression: str) -> None:
    duckdb_type = duckdb.connect().execute(f"DESCRIBE SELECT {expression} AS x").fetchone()[1]
    assert not unsupported_type(duckdb_type), duckdb_type


def test_apply_reads_no_dropped_column_no_published_cell_could_equal() -> None:
    plans = [plan("id", "BIGINT", type="id", primary_key=True), plan("blob", "BLOB", type="text", pii="drop"),
             plan("tags", "VARCHAR[]", type="text", pii="drop"), plan("s", "STRUCT(a INTEGER)", type="text", pii="drop"),
             plan("doc", "JSON", type="text", pii="drop"), plan("ssn", "VARCHAR", type="text", pii="drop"),
             plan("salary", "DOUBLE", type="numerical", pii="drop"), plan("kind", "VARCHAR", type="categorical")]
    assert read_columns(plans) == [("id", "BIGINT"), ("doc", "JSON"), ("ssn", "VARCHAR"), ("salary", "DOUBLE"), ("kind", "VARCHAR")]
    assert text_like_type("JSON") and not text_like_type("BLOB")


def test_empty_columns_publish_as_typed_nulls() -> None:
    frame = pd.DataFrame({"kind": ["a", None], "payload": [None, None]})
    select = cast_columns(frame, [("kind", "VARCHAR"), ("payload", "STRUCT(a INTEGER, b BLOB)")])
    assert select == 'CAST("kind" AS VARCHAR) AS "kind", CAST(NULL AS STRUCT(a INTEGER, b BLOB)) AS "payload"'
    con = duckdb.connect()
    con.register("frame", frame)
    assert con.execute(f"DESCRIBE SELECT {select} FROM frame").fetchall()[1][1] == "STRUCT(a INTEGER, b BLOB)"
