from __future__ import annotations

import re

import duckdb
import numpy as np
import pandas as pd

from synthspec.engine import codec
from synthspec.engine.apply import split_indices
from synthspec.engine.columns import ColumnPlan, type_mismatch
from synthspec.io.compact import object_frame
from synthspec.io.warehouse import _first_line, unsupported_type
from synthspec.spec.models import ColumnSpec, InequalityConstraint


def plan(name: str, duckdb_type: str, **spec) -> ColumnPlan:
    return ColumnPlan(name, duckdb_type, ColumnSpec(**spec))


def objects(series: pd.Series) -> list:
    return series.to_numpy(dtype=object, na_value=None).tolist()


def test_encode_decode_round_trip_keeps_values_and_nulls():
    source = pd.DataFrame({
        "n": pd.array([1, None, 3], dtype="Int64"),
        "d": pd.to_datetime(["2020-01-01", None, "2021-06-30"]),
        "b": pd.array([True, None, False], dtype="boolean"),
        "c": ["x", None, "y"],
    })
    plans = [plan("n", "BIGINT", type="numerical"), plan("d", "DATE", type="datetime"),
             plan("b", "BOOLEAN", type="boolean"), plan("c", "VARCHAR", type="categorical")]
    model = codec.encode(source, plans)
    assert model["n"].dtype == "float64" and np.isnan(model["n"][1])
    assert objects(model["c"]) == ["x", None, "y"] and objects(model["b"]) == [True, None, False]
    back = codec.decode(model, plans, source, 3, np.random.default_rng(0))
    assert back["d"].tolist()[0] == pd.Timestamp("2020-01-01") and pd.isna(back["d"][1])
    assert back["b"].tolist()[1] is pd.NA and back["c"].tolist() == ["x", None, "y"]


def test_enforce_bounds_integers_and_inequality():
    plans = [plan("lo", "INTEGER", type="numerical", min=0, max=10), plan("hi", "INTEGER", type="numerical")]
    frame = pd.DataFrame({"lo": [-3.0, 4.4, 12.0, np.nan], "hi": [5.0, 2.0, 20.0, 1.0]})
    out = codec.enforce(frame, plans, [InequalityConstraint(type="inequality", low="lo", high="hi")])
    assert out["lo"].tolist()[:3] == [0.0, 2.0, 10.0] and out["hi"].tolist()[:3] == [5.0, 4.0, 20.0]
    assert np.isnan(out["lo"][3])


def test_generated_keys():
    rng = np.random.default_rng(1)
    ints = codec.generate_keys(pd.Series([7, 9, 8]), "INTEGER", 4, rng)
    assert list(ints) == [7, 8, 9, 10]
    uuids = codec.generate_keys(pd.Series(["a"]), "UUID", 50, rng)
    assert len(set(uuids)) == 50
    assert all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", u) for u in uuids)
    pattern = codec.generate_keys(pd.Series(["INV-000123", "INV-000200"]), "VARCHAR", 3, rng)
    assert list(pattern) == ["INV-000123", "INV-000124", "INV-000125"]
    free = codec.generate_keys(pd.Series(["ab-cd-x", "zz-yy-q"]), "VARCHAR", 100, rng)
    assert len(set(free)) == 100
    # text keys keep the real keys' alphabet and length (Northwind-style customer codes)
    codes = codec.generate_keys(pd.Series(["ALFKI", "ANATR", "BONAP"]), "VARCHAR", 90, rng)
    assert len(set(codes)) == 90 and all(len(k) == 5 and k.isalpha() and k.isupper() for k in codes)


def test_type_checks():
    assert type_mismatch(ColumnSpec(type="numerical"), "BOOLEAN")
    assert type_mismatch(ColumnSpec(type="numerical"), "VARCHAR") is None  # numbers stored as text
    assert "format" in type_mismatch(ColumnSpec(type="datetime"), "VARCHAR")
    assert type_mismatch(ColumnSpec(type="datetime", format="%Y-%m-%d"), "VARCHAR") is None
    assert type_mismatch(ColumnSpec(type="datetime", format="%Y-%m-%d"), "DATE")
    assert type_mismatch(ColumnSpec(type="datetime"), "TIMESTAMP WITH TIME ZONE") is None
    assert type_mismatch(ColumnSpec(type="categorical"), "INTEGER") is None
    assert all(unsupported_type(t) for t in ("INTEGER[]", "STRUCT(a INTEGER)", "MAP(VARCHAR, INTEGER)", "BLOB", "INTEGER[3]"))
    assert not any(unsupported_type(t) for t in ("DECIMAL(10,2)", "TIMESTAMP", "ENUM('a', 'b')", "UUID", "VARCHAR"))


def test_split_is_deterministic_disjoint_and_complete():
    train, holdout = split_indices(100, 0.2, 42)
    assert len(holdout) == 20 and len(train) == 80
    assert sorted([*train, *holdout]) == list(range(100))
    again = split_indices(100, 0.2, 42)
    assert (train == again[0]).all() and (holdout == again[1]).all()
    assert split_indices(2, 0.2, 1)[1].size == 1


def test_duckdb_messages_lose_quoted_values():
    try:
        duckdb.connect().execute("SELECT 'john.smith@example.com'::INTEGER")
    except duckdb.Error as exc:
        message = _first_line(exc)
    assert "john.smith" not in message and "Conversion Error" in message


def test_generalized_columns_are_generalized_again_after_sampling():
    plans = [plan("born", "DATE", type="datetime", pii="generalize", truncate="year"),
             plan("income", "DOUBLE", type="numerical", pii="generalize", width=1000)]
    donors = pd.DataFrame({"born": pd.to_datetime(["1980-01-01", "1990-01-01"]), "income": [1000.0, 2000.0]})
    sampled = pd.DataFrame({"born": [pd.Timestamp("1985-06-30").timestamp()], "income": [1534.2]})
    out = codec.decode(sampled, plans, donors, 1, np.random.default_rng(0))
    assert out["born"][0] == pd.Timestamp("1985-01-01") and out["income"][0] == 1000.0


def test_discrete_support_and_snap():
    # ratings: the frequent values carry the distribution, a one-row 9 is left out
    ratings = pd.Series([1] * 30 + [2] * 40 + [3] * 25 + [9])
    assert list(codec.discrete_support(ratings)) == [1, 2, 3]
    # prices in whole units, a few rows each: every real value is the support (no collapse)
    prices = pd.Series([200, 300, 1100, 1400, 1700, 2300, 2600, 2900, 3000] * 3 + [2600] * 6)
    assert list(codec.discrete_support(prices)) == [200, 300, 1100, 1400, 1700, 2300, 2600, 2900, 3000]
    # measurements at a fixed precision, and many distinct values: not discrete
    assert codec.discrete_support(pd.Series([5.1, 4.9, 4.7] * 10)) is None
    assert codec.discrete_support(pd.Series(range(200))) is None
    snapped = codec.snap(np.array([0.2, 1.6, 2.4, 7.0, np.nan]), np.array([1.0, 2.0, 3.0]))
    assert snapped[:4].tolist() == [1.0, 2.0, 2.0, 3.0] and np.isnan(snapped[4])


def _per_cell_text(series: pd.Series) -> list[object]:
    """The categorical encoding one cell at a time: what ``codec.encode`` must reproduce."""
    values = series.astype(object).map(lambda v: v if isinstance(v, str) or v is None or v is pd.NA else str(v))
    return values.where(series.notna(), None).tolist()


def test_vectorised_categorical_encoding_matches_per_cell_on_tricky_values():
    """Numbers, decimals, dates, timestamps (naive and UTC), nullable integers, booleans as
    categories, text with nulls and NaN, numbers as text, mixed objects: the same text, type
    and null for every cell as the per-cell encoding."""
    import datetime as dt
    from decimal import Decimal

    rng = np.random.default_rng(5)
    n = 400
    cases = {
        "BIGINT": pd.Series(rng.integers(-5, 5, n)),
        "DOUBLE": pd.Series(np.where(rng.random(n) < 0.2, np.nan, rng.integers(0, 4, n) / 2)),
        "INTEGER": pd.array(np.where(rng.random(n) < 0.2, None, rng.integers(0, 9, n)).tolist(), dtype="Int64"),
        "DECIMAL(5,2)": pd.Series(rng.choice(np.array([Decimal("1.50"), Decimal("2.00"), None], dtype=object), n)),
        "DATE": pd.Series(rng.choice(np.array([dt.date(2020, 1, 1), dt.date(1, 1, 1), None], dtype=object), n)),
        "TIMESTAMP": pd.Series(pd.to_datetime(rng.choice(["2020-01-01 00:00", "2021-06-30 12:00", None], n))),
        "TIMESTAMPTZ": pd.Series(pd.to_datetime(rng.choice(["2020-01-01", None], n))).dt.tz_localize("UTC"),
        "VARCHAR": pd.Series(rng.choice(np.array(["a", "10", "", None, np.nan, "1.0"], dtype=object), n)),
        "JSON": pd.Series(rng.choice(np.array([1, 1.0, True, "1", None, False], dtype=object), n)),
        "UTINYINT": pd.Series(rng.choice(np.array([True, False], dtype=object), n)).astype(bool),
    }
    for duckdb_type, values in cases.items():
        source = pd.DataFrame({"c": values})
        encoded = objects(codec.encode(source, [plan("c", duckdb_type, type="categorical")])["c"])
        expected = _per_cell_text(source["c"])
        assert [(type(v), v) for v in encoded] == [(type(v), v) for v in expected], duckdb_type


def test_arrow_read_gives_the_same_frame_as_duckdb_df(monkeypatch):
    """Text and plain numbers read through Arrow (big sources) equal `.df()`'s frame: values,
    nulls and dtypes (nullable integers and booleans), with and without nulls; streamed in
    batches whose text dictionaries differ (a value first seen in a later batch), in the
    relation's order or in a given one."""
    from synthspec.io import warehouse
    from synthspec.io.warehouse import _ARROW_SAFE, _arrow_columns, _frame, _pandas_columns

    monkeypatch.setattr(warehouse, "READ_BATCH_ROWS", 64)

    con = duckdb.connect()
    rng = np.random.default_rng(1)
    n = 300
    frame = pd.DataFrame({"s": rng.choice(np.array(["a", "é", "", "10", None], dtype=object), n),
                          "s_full": rng.choice(np.array(["x", "y"], dtype=object), n),
                          "k": rng.integers(-3, 3, n)})
    con.register("f", frame)
    select = ", ".join(["s", "s_full"] + [
        f"CAST(CASE WHEN k = 0 AND '{t}' <> 'BOOLEAN' THEN NULL ELSE abs(k) END AS {t}) AS c_{t}" for t in sorted(_ARROW_SAFE)
    ] + [f"CAST(abs(k) AS {t}) AS full_{t}" for t in sorted(_ARROW_SAFE)])
    select += ", CAST(CASE WHEN k = 0 THEN NULL ELSE k > 0 END AS BOOLEAN) AS b_null"
    query = f"SELECT {select} FROM f ORDER BY k, s"
    expected, actual = _frame(con.execute(query)), _pandas_columns(_arrow_columns(con.sql(query)))
    # text is held as categories (io/compact.py): sorted, objects, the same cells as objects
    assert all(isinstance(actual[c].dtype, pd.CategoricalDtype) for c in ("s", "s_full"))
    assert list(actual["s"].cat.categories) == sorted(frame["s"].dropna().unique())
    pd.testing.assert_frame_equal(object_frame(actual), expected, check_exact=True)
    assert [type(v) for v in object_frame(actual)["s"]] == [type(v) for v in expected["s"]]
    order = rng.permutation(n)
    reordered = _pandas_columns(_arrow_columns(con.sql(query)), order)
    pd.testing.assert_frame_equal(object_frame(reordered), expected.take(order).reset_index(drop=True), check_exact=True)
    empty = _pandas_columns(_arrow_columns(con.sql(f"{query} LIMIT 0")))
    pd.testing.assert_frame_equal(object_frame(empty), _frame(con.execute(f"{query} LIMIT 0")), check_exact=True)


def test_hash_ordered_read_equals_duckdbs_order_by_with_duplicates_and_collisions(tmp_path, monkeypatch):
    """The canonical order sorted on the row hashes here equals DuckDB's ORDER BY (hash, values),
    duplicate rows included; when different rows share a hash it falls back to DuckDB's sort."""
    from synthspec.io import warehouse

    rng = np.random.default_rng(2)
    n = 500
    frame = pd.DataFrame({"s": rng.choice(np.array(["a", "b", None], dtype=object), n),
                          "i": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(0, 3, n)).tolist(), dtype="Int64")})
    con = duckdb.connect()
    con.register("f", frame)
    expected = con.execute("SELECT s, i FROM f ORDER BY hash(s, i), s, i").df()

    def read(project, loaded, cons) -> pd.DataFrame:
        return warehouse._hash_ordered(cons, loaded, project, "s, i", ["s", "i"])

    def on_source(cons, loaded, project, template, fetch, stream=False):  # the frame stands for the source relation
        sql = template.format(rel="f")
        return fetch(con.sql(sql) if stream else con.execute(sql))

    monkeypatch.setattr(warehouse, "_on_source", on_source)
    monkeypatch.setattr(warehouse, "READ_BATCH_ROWS", 64)  # several batches
    got = read(None, None, None)
    pd.testing.assert_frame_equal(object_frame(got), expected, check_exact=True)
    # every row hashes alike: different rows tie, so DuckDB must order them
    monkeypatch.setattr(warehouse, "row_hash", lambda names: "0::UBIGINT")
    assert read(None, None, None) is None
    duplicates = pd.DataFrame({"s": ["x"] * 5 + [None] * 3, "i": pd.array([1] * 5 + [None] * 3, dtype="Int64")})
    con.register("f", duplicates)
    assert read(None, None, None) is None  # "x" and null rows differ
    con.register("f", duplicates.head(5))  # identical rows tie: any order is the order
    pd.testing.assert_frame_equal(object_frame(read(None, None, None)), con.execute("SELECT s, i FROM f").df(), check_exact=True)


def test_compact_categories_are_sorted_objects_that_hash_and_read_back_like_the_values():
    """io/compact.py: codes with the values' own objects as sorted categories, so content hashes
    and orders are those of the object column; objects() gives None back for nulls."""
    from synthspec.io.compact import ROWS_PER_VALUE, compact, distinct, object_frame, objects

    values = np.array(["b", None, "a", "b", np.nan, "é"] * 16, dtype=object)
    held = compact(values)
    assert list(held.categories) == ["a", "b", "é"] and held.codes.dtype == np.int8
    assert objects(pd.Series(held)).tolist() == ["b", None, "a", "b", None, "é"] * 16
    assert sorted(distinct(pd.Series(held[:4])).tolist()) == ["a", "b"]  # values rows hold, not every category
    flags = np.array([True, None, False, True] * 16, dtype=object)
    as_objects = pd.DataFrame({"f": flags, "t": values[:64]})
    as_codes = pd.DataFrame({"f": compact(flags), "t": compact(values[:64])})
    assert isinstance(as_codes["f"].dtype, pd.CategoricalDtype)
    assert (pd.util.hash_pandas_object(as_codes, index=False) == pd.util.hash_pandas_object(as_objects, index=False)).all()
    mixed = compact(np.array(["x", True, "x"] * 16, dtype=object))  # not comparable: first appearance
    assert list(mixed.categories) == ["x", True] and objects(pd.Series(mixed)).tolist() == ["x", True, "x"] * 16
    odd = pd.DataFrame({"self": compact(values), "frame": np.arange(len(values))})  # names like parameters
    back = object_frame(odd)
    assert back["self"].dtype == object and back["self"].tolist() == ["b", None, "a", "b", None, "é"] * 16
    assert odd["self"].dtype == "category"  # the input is not changed
    # nearly one value a row (identifiers, names): objects, None for null, as before
    names = np.array([f"n{i}" for i in range(100)] + [None], dtype=object)
    kept = compact(names)
    assert isinstance(kept, np.ndarray) and kept.dtype == object and kept.tolist() == names.tolist()
    few = np.array(["a", "b"] * ROWS_PER_VALUE, dtype=object)
    assert isinstance(compact(few), pd.Categorical) and isinstance(compact(few[:-1]), np.ndarray)


def test_published_rows_are_not_masked_again():
    """A masked column's published values were masked once (the model learnt masked values);
    the checks and a child's view of its synthetic parent encode them as they are: a second
    mask keeps at most half of what is left (``***-***-4567`` -> ``***-***-**67``)."""
    plans = [plan("phone", "VARCHAR", type="categorical", pii="mask"), plan("n", "DOUBLE", type="numerical")]
    real = pd.DataFrame({"phone": ["555-123-4567", "555-987-6543", None] * 20, "n": np.arange(60.0)})
    model = codec.encode(real, plans)
    assert objects(model["phone"])[:3] == ["***-***-4567", "***-***-6543", None]
    published = codec.decode(model, plans, real, len(real), np.random.default_rng(0))
    again = codec.encode(published, plans, published=True)
    assert objects(again["phone"]) == objects(model["phone"])
    assert objects(codec.encode(published, plans)["phone"])[0] == "***-***-**67"  # what the checks compared before


def test_published_generalized_numbers_go_back_to_their_edges():
    """Published edges come back through the column's type: a REAL holds 36.6 as 36.5999985 and
    a DECIMAL(10,3) 0.1 * 3 exactly. Encoded as published rows, each is its own edge again (the
    lower edge of the bin it now falls in would be 36.5); real rows are binned as before."""
    real = pd.DataFrame({"x": [36.6, 36.64, 0.3, -0.05, None] * 12})
    for duckdb_type in ("REAL", "DECIMAL(10,3)", "DOUBLE"):
        plans = [plan("x", duckdb_type, type="numerical", pii="generalize", width=0.1)]
        model = codec.encode(real, plans)
        assert model["x"].iloc[:5].tolist()[:4] == [36.6, 36.6, 0.3, -0.1]
        cast = duckdb.sql(f"SELECT CAST(x AS {duckdb_type}) AS x FROM model").df()
        again = codec.encode(cast, plans, published=True)
        assert np.array_equal(again["x"].to_numpy(), model["x"].to_numpy(), equal_nan=True), duckdb_type
    assert codec.encode(pd.DataFrame({"x": [36.5999985]}), plans)["x"].iloc[0] == 36.5  # not published: its bin


def test_generalized_edges_below_the_type_are_bottom_coded_to_the_first_edge_it_holds():
    """TINYINT holds -128..127: width 10 puts -128 in the bin [-130, -120), whose edge -130 the
    column cannot hold. Such values take the first edge inside the type (-120), before the model
    sees them and again after sampling, and the published values CAST without overflow."""
    real = pd.DataFrame({"t": pd.array([-128, -121, -120, -3, 0, 127, None] * 5, dtype="Int8")})
    plans = [plan("t", "TINYINT", type="numerical", pii="generalize", width=10)]
    model = codec.encode(real, plans)
    assert model["t"].iloc[:6].tolist() == [-120, -120, -120, -10, 0, 120] and np.isnan(model["t"].iloc[6])
    sampled = pd.DataFrame({"t": [-131.0, -128.0, -119.5, 126.9]})
    out = codec.decode(sampled, plans, real, 4, np.random.default_rng(0))
    assert objects(out["t"]) == [-120, -120, -120, 120]
    assert duckdb.sql("SELECT CAST(t AS TINYINT) AS t FROM out").df()["t"].tolist() == [-120, -120, -120, 120]
    # A DECIMAL's range too: DECIMAL(3,1) holds -99.9, whose bin of width 10 starts at -100.
    decimal = [plan("d", "DECIMAL(3,1)", type="numerical", pii="generalize", width=10)]
    assert codec.encode(pd.DataFrame({"d": [-99.9, -90.0, 99.9]}), decimal)["d"].tolist() == [-90, -90, 90]
    # Types that hold the bin's edge keep it.
    for duckdb_type in ("SMALLINT", "INTEGER", "DOUBLE"):
        wide = codec.encode(pd.DataFrame({"t": [-128.0, 7.0, -3.0]}),
                            [plan("t", duckdb_type, type="numerical", pii="generalize", width=10)])
        assert wide["t"].tolist() == [-130, 0, -10], duckdb_type


def test_numbers_float32_holds_exactly_are_held_as_float32():
    from synthspec.io.compact import narrow, widened

    assert narrow(np.array([1.0, -3.0, np.nan, 2.0**24, 0.5, -0.0, np.inf])).dtype == np.float32
    for kept in ([0.1, 2.0], [2.0**24 + 1], [1e39], [1_600_000_001.0]):  # cents, beyond 2^24, beyond float32
        assert narrow(np.array(kept)).dtype == np.float64, kept
    plans = [plan("age", "BIGINT", type="numerical"), plan("price", "DOUBLE", type="numerical"),
             plan("born", "TIMESTAMP", type="datetime"), plan("city", "VARCHAR", type="categorical")]
    real = pd.DataFrame({"age": pd.array([37, None, 51] * 10, dtype="Int64"), "price": [9.99, 12.5, None] * 10,
                         "born": pd.to_datetime(["1990-01-02 00:00:00", None, "1985-06-07 10:11:13"] * 10),
                         "city": ["Oslo", "Lima", None] * 10})
    compact = codec.encode(real, plans, compact_numbers=True)
    assert [str(compact[c].dtype) for c in ("age", "price", "born")] == ["float32", "float64", "float64"]
    full = codec.encode(real, plans)
    assert (full.dtypes == np.float64).sum() == 3
    back = widened(compact)
    assert (back.dtypes == full.dtypes).all() and back.equals(full)  # the same numbers, NaN where null
    assert np.shares_memory(back["city"].to_numpy(), compact["city"].to_numpy())  # other columns shared, not copied
    assert widened(full) is full


def test_a_rare_tail_of_a_discrete_column_is_pooled_not_cut():
    """Hospital stays of 1 to 20 days held by many patients, then a tail of 21 to 83 days held by
    one to three each (azpro: snapped onto the frequent values, every stay above 40 days was
    published as 40). The tail is pooled into runs of at least 5 rows, each published as its
    rounded mean, so it keeps its shape and no published value is one of fewer than 5 patients."""
    rng = np.random.default_rng(0)
    body = rng.integers(1, 21, 2000)
    tail = np.array([21, 21, 22, 23, 23, 25, 26, 28, 28, 29, 31, 35, 36, 40, 44, 47, 52, 64, 65, 83])
    stays = pd.Series(np.r_[body, tail])
    support = codec.discrete_support(stays)
    assert support is not None and set(range(1, 21)) <= set(support.tolist())
    points = support[support > 20]
    # 20 rows: four runs of five, each its rounded mean
    assert points.tolist() == [22.0, 27.0, 37.0, 62.0]
    snapped = codec.snap(np.array([60.0, 83.0, 30.0, 21.0]), support)
    assert snapped.tolist() == [62.0, 62.0, 27.0, 20.0]  # a tie goes to the lower value
    # a one-row 9 after ratings of 1 to 3: too few rows for a run, left out as before
    assert list(codec.discrete_support(pd.Series([1] * 30 + [2] * 40 + [3] * 25 + [9]))) == [1, 2, 3]
