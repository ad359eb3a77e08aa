"""Unit tests for synthspec.privacy.policies: tiny Series, no I/O, no timing assertions."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import threading

import numpy as np
import pandas as pd
import pytest

from synthspec.privacy.policies import (
    HEX_CHARS,
    MIN_KEY_BYTES,
    PolicyError,
    canonical_text,
    fake_values,
    generalize_datetime,
    generalize_numeric,
    hash_values,
    integer_hash_range,
    mask_values,
    normalise_for_matching,
)

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
SECRET_VALUES = ["Ayşe Yılmaz", "ali@example.com", "12345678901"]


def assert_no_values(message: str) -> None:
    """A policy error message names policies, providers and types, never a cell value."""
    for value in SECRET_VALUES:
        assert value not in message


# --- canonical forms -----------------------------------------------------------------------------


def test_canonical_text_merges_dtypes_of_one_value() -> None:
    assert canonical_text(5) == canonical_text(5.0) == canonical_text("5") == canonical_text(
        np.int64(5)
    ) == "5"
    assert canonical_text(" Ali ") == "Ali"  # stripped, case kept
    assert canonical_text("Ali") != canonical_text("ali")
    assert canonical_text("e\u0301") == canonical_text("\u00e9")  # NFC
    assert canonical_text(True) == "true"
    assert canonical_text(pd.Timestamp("2024-01-02")) == canonical_text(dt.date(2024, 1, 2))
    assert canonical_text(2.5) == "2.5"


def test_normalise_for_matching_folds_case_space_and_turkish_i() -> None:
    assert normalise_for_matching("  İSTANBUL   Üniversitesi ") == "istanbul üniversitesi"
    assert normalise_for_matching("IŞIK") == normalise_for_matching("ışık")
    assert normalise_for_matching("I\u0307brahim") == normalise_for_matching("ibrahim")
    assert normalise_for_matching("ＡＢＣ") == "abc"  # NFKC full-width
    assert normalise_for_matching(5321234567.0) == "5321234567"


# --- hash ----------------------------------------------------------------------------------------


def test_hash_is_deterministic_keyed_and_pinned() -> None:
    values = pd.Series(["ali", "veli", "ali", None], name="who")
    first = hash_values(values, KEY, "VARCHAR")
    assert first.equals(hash_values(values.copy(), KEY, "VARCHAR"))
    assert first.name == "who"
    assert first[0] == first[2] != first[1]
    assert first[3] is None
    assert re.fullmatch(r"[0-9a-f]{32}", first[0]) and len(first[0]) == HEX_CHARS
    # Pinned to the documented construction, so other processes and versions agree.
    expected = hmac.new(KEY, b"synthspec:hash:v1\x00ali", hashlib.sha256).hexdigest()[:32]
    assert first[0] == expected
    assert hash_values(values, OTHER_KEY, "VARCHAR")[0] != first[0]


def test_hash_uses_canonical_text() -> None:
    out = hash_values(pd.Series(["5", 5, 5.0, " 5 ", "Ali", "ali"], dtype=object), KEY, "text")
    assert out[0] == out[1] == out[2] == out[3]
    assert out[4] != out[5]  # case kept


@pytest.mark.parametrize(
    ("duckdb_type", "dtype", "high"),
    [
        ("INTEGER", "Int32", 2**31 - 1),
        ("BIGINT", "Int64", 2**63 - 1),
        ("UTINYINT", "UInt8", 255),
        ("smallint", "Int16", 2**15 - 1),
        ("UBIGINT", "UInt64", 2**64 - 1),
    ],
)
def test_hash_integers_stay_in_type_range(duckdb_type: str, dtype: str, high: int) -> None:
    values = pd.Series([*range(200), None], dtype=object)
    out = hash_values(values, KEY, duckdb_type)
    assert str(out.dtype) == dtype
    assert integer_hash_range(duckdb_type) == (0, high)
    assert out.isna().tolist() == [False] * 200 + [True]
    numbers = [int(v) for v in out[:200]]
    assert all(0 <= v <= high for v in numbers)
    if high > 2**20:
        assert len(set(numbers)) == 200


def test_hash_hugeint_is_python_ints() -> None:
    out = hash_values(pd.Series([1, None]), KEY, "HUGEINT")
    assert isinstance(out[0], int) and 0 <= out[0] < 2**127
    assert out[1] is None


def test_hash_uuid_format() -> None:
    out = hash_values(pd.Series(["a", "b", None]), KEY, "UUID")
    pattern = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    assert re.fullmatch(pattern, out[0]) and re.fullmatch(pattern, out[1])
    assert out[0] != out[1] and out[2] is None


@pytest.mark.parametrize("duckdb_type", ["DATE", "TIMESTAMP", "BOOLEAN", "DOUBLE"])
def test_hash_refuses_types_without_a_meaningful_pseudonym(duckdb_type: str) -> None:
    with pytest.raises(PolicyError, match=duckdb_type) as info:
        hash_values(pd.Series(SECRET_VALUES), KEY, duckdb_type)
    assert_no_values(str(info.value))


@pytest.mark.parametrize("key", [b"", b"short", "not-bytes-but-long-enough-string"])
def test_missing_or_weak_key_is_an_error(key: bytes) -> None:
    values = pd.Series(SECRET_VALUES)
    with pytest.raises(PolicyError) as info:
        hash_values(values, key, "VARCHAR")
    assert_no_values(str(info.value))
    with pytest.raises(PolicyError):
        fake_values(values, key, "name")
    assert len(KEY) >= MIN_KEY_BYTES


# --- fake ----------------------------------------------------------------------------------------


def test_fake_is_consistent_and_keyed() -> None:
    values = pd.Series(["Ayşe Yılmaz", "Mehmet Kaya", "Ayşe Yılmaz", None], index=[7, 8, 9, 10])
    first = fake_values(values, KEY, "name", "tr_TR", unique=False)
    assert first.index.tolist() == [7, 8, 9, 10]
    assert first[7] == first[9] != first[8]
    assert first[10] is None
    assert first.equals(fake_values(values, KEY, "name", "tr_TR", unique=False))
    assert first[7] not in SECRET_VALUES
    # Another table holding only one of the values still maps it the same way.
    assert fake_values(pd.Series(["Mehmet Kaya"]), KEY, "name", "tr_TR")[0] == first[8]
    other = fake_values(values, OTHER_KEY, "name", "tr_TR", unique=False)
    assert other[7] != first[7] or other[8] != first[8]


def test_fake_matches_a_fresh_faker_instance_in_another_thread() -> None:
    """Consistency must not depend on the cached instance: a new thread builds its own."""
    values = pd.Series([f"person {i}" for i in range(20)])
    here = fake_values(values, KEY, "email", "tr_TR")
    there: list[pd.Series] = []
    thread = threading.Thread(target=lambda: there.append(fake_values(values, KEY, "email", "tr_TR")))
    thread.start()
    thread.join()
    assert here.equals(there[0])

    from faker import Faker

    fresh = Faker("tr_TR", use_weighting=False)
    message = b"synthspec:fake:v1\x00email\x00tr_TR\x000\x00person 3"
    fresh.seed_instance(int.from_bytes(hmac.digest(KEY, message, hashlib.sha256)[:8], "big"))
    assert fresh.email() == here[3]


def test_fake_turkish_locale_and_default_locale() -> None:
    values = pd.Series([f"kişi {i}" for i in range(300)])
    turkish = fake_values(values, KEY, "last_name", "tr_TR")
    assert turkish.map(lambda v: isinstance(v, str) and len(v) > 0).all()
    assert turkish.str.contains("[çğıöşüÇĞİÖŞÜ]").any()
    assert fake_values(values, KEY, "name", None).equals(fake_values(values, KEY, "name", "en_US"))


def test_fake_unique_gives_distinct_values_independent_of_order() -> None:
    values = pd.Series([f"value {i}" for i in range(5000)])
    plain = fake_values(values, KEY, "name", "tr_TR", unique=False)
    assert plain.nunique() < 4990  # Turkish names collide often: the unique path is exercised
    unique = fake_values(values, KEY, "name", "tr_TR", unique=True)
    assert unique.nunique() == 5000
    kept = (plain == unique).sum()
    assert kept >= plain.nunique()  # every value's natural fake is kept by one real value
    shuffled = values.sample(frac=1.0, random_state=3)
    again = fake_values(shuffled, KEY, "name", "tr_TR", unique=True)
    assert again.sort_index().equals(unique)


def test_fake_avoid_never_emits_an_avoided_value() -> None:
    values = pd.Series([f"v{i}" for i in range(50)])
    natural = fake_values(values, KEY, "first_name", "en_US")
    avoid = {normalise_for_matching(v) for v in natural[:10]}
    out = fake_values(values, KEY, "first_name", "en_US", avoid=avoid)
    assert not any(normalise_for_matching(v) in avoid for v in out)


@pytest.mark.parametrize("provider", ["no_such_provider", "seed_instance", "_private", "a b"])
def test_fake_unknown_provider_names_the_provider_only(provider: str) -> None:
    with pytest.raises(PolicyError) as info:
        fake_values(pd.Series(SECRET_VALUES), KEY, provider, "tr_TR")
    assert repr(provider) in str(info.value)
    assert_no_values(str(info.value))


def test_fake_unknown_locale_and_too_small_output_space() -> None:
    with pytest.raises(PolicyError, match="xx_YY") as info:
        fake_values(pd.Series(SECRET_VALUES), KEY, "name", "xx_YY")
    assert_no_values(str(info.value))
    with pytest.raises(PolicyError, match="boolean") as info:
        fake_values(pd.Series(SECRET_VALUES), KEY, "boolean", None, unique=True)
    assert_no_values(str(info.value))


# --- mask ----------------------------------------------------------------------------------------


def test_mask_examples() -> None:
    values = pd.Series(
        ["+90 532 123 45 67", "ali.veli@example.com", "1234", "a@b.co", None, 5321234567]
    )
    assert mask_values(values).tolist() == [
        "+** *** *** 45 67",
        "a**.****@example.com",
        "**34",  # never more than half of a value is shown
        "*@b.co",
        None,
        "******4567",
    ]
    assert mask_values(pd.Series(["TR12-3456"]), keep_last=2, char="#").tolist() == ["####-##56"]
    assert mask_values(pd.Series(["Çağrı"]), keep_last=0).tolist() == ["*****"]


def test_mask_rejects_bad_arguments() -> None:
    with pytest.raises(PolicyError):
        mask_values(pd.Series(["x"]), keep_last=-1)
    with pytest.raises(PolicyError):
        mask_values(pd.Series(["x"]), char="**")


# --- generalize ----------------------------------------------------------------------------------


def test_generalize_numeric_width_and_bins() -> None:
    values = pd.Series([37, -3, 0, None, 59.9], name="age")
    out = generalize_numeric(values, width=10)
    assert out.dtype == np.float64 and out.name == "age"
    assert out.tolist()[:3] == [30.0, -10.0, 0.0] and np.isnan(out[3]) and out[4] == 50.0
    assert generalize_numeric(pd.Series([0.3, 0.7, 0.29]), width=0.1).tolist() == [0.3, 0.7, 0.2]
    binned = generalize_numeric(pd.Series([1, 18, 29.5, 30, 99, None]), bins=[18, 30, 65])
    assert binned.tolist()[:5] == [18.0, 18.0, 18.0, 30.0, 65.0]  # bottom- and top-coded
    assert np.isnan(binned[5])


def test_generalize_numeric_errors() -> None:
    with pytest.raises(PolicyError):
        generalize_numeric(pd.Series([1.0]))
    with pytest.raises(PolicyError):
        generalize_numeric(pd.Series([1.0]), width=0)
    with pytest.raises(PolicyError):
        generalize_numeric(pd.Series([1.0]), bins=[3, 2])
    with pytest.raises(PolicyError) as info:
        generalize_numeric(pd.Series(["Ayşe Yılmaz", 3], dtype=object), width=1)
    assert_no_values(str(info.value))


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("year", "2024-01-01 00:00:00"),
        ("quarter", "2024-04-01 00:00:00"),
        ("month", "2024-05-01 00:00:00"),
        ("week", "2024-05-13 00:00:00"),  # Monday
        ("day", "2024-05-17 00:00:00"),
        ("hour", "2024-05-17 13:00:00"),
    ],
)
def test_generalize_datetime_units(unit: str, expected: str) -> None:
    values = pd.Series(pd.to_datetime(["2024-05-17 13:45:12", None])).astype("datetime64[us]")
    out = generalize_datetime(values, unit)  # type: ignore[arg-type]
    assert out.dtype == values.dtype
    assert out[0] == pd.Timestamp(expected) and pd.isna(out[1])


def test_generalize_datetime_representations() -> None:
    aware = pd.Series(pd.to_datetime(["2024-05-17 01:30:00"])).dt.tz_localize("Europe/Berlin")
    assert generalize_datetime(aware, "day")[0] == pd.Timestamp("2024-05-17", tz="Europe/Berlin")
    dates = pd.Series([dt.date(2024, 5, 17), None])
    assert generalize_datetime(dates, "month").tolist() == [dt.date(2024, 5, 1), None]
    seconds = pd.Series([pd.Timestamp("2024-05-17 13:45").timestamp(), np.nan])
    out = generalize_datetime(seconds, "day")
    assert out[0] == pd.Timestamp("2024-05-17").timestamp() and np.isnan(out[1])
    with pytest.raises(PolicyError):
        generalize_datetime(dates, "decade")  # type: ignore[arg-type]


def test_generalize_datetime_errors_never_quote_values() -> None:
    with pytest.raises(PolicyError) as info:
        generalize_datetime(pd.Series([1e20], name="born"), "day")
    assert "born" in str(info.value) and "1e+20" not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    with pytest.raises(PolicyError, match="1 value") as info:
        generalize_datetime(pd.Series(["Ayşe Yılmaz", dt.date(2024, 1, 1)]), "day")
    assert_no_values(str(info.value))


@pytest.mark.parametrize(("column", "message"), [
    ({"type": "datetime", "pii": "generalize", "truncate": "day", "width": 5}, "a datetime column takes 'truncate'"),
    ({"type": "numerical", "pii": "generalize", "width": 5, "truncate": "day"}, "a numerical column takes 'width'"),
])
def test_generalize_takes_the_key_of_its_column_type(column, message):
    """A datetime's `width` would bin its epoch seconds and skip the truncation it asks for."""
    from pydantic import ValidationError

    from synthspec.spec.models import ColumnSpec

    with pytest.raises(ValidationError, match=message):
        ColumnSpec(**column)


def test_published_values_go_to_their_nearest_edge():
    """Published edges a CAST moved (36.6 as REAL) come back to their own edge, with width or
    with bins (the lower edge of the bin they now fall in would be the edge below)."""
    from synthspec.privacy.policies import generalize_numeric

    moved = pd.Series([36.5999985, 40.0000002, -0.1000001, np.nan, 9.9999999])
    assert generalize_numeric(moved, width=0.1).tolist()[:3] == [36.5, 40.0, -0.2]
    again = generalize_numeric(moved, width=0.1, published=True).tolist()
    assert again[:3] == [36.6, 40.0, -0.1] and np.isnan(again[3]) and again[4] == 10.0
    bins = [0.0, 10.0, 36.6, 40.0]
    assert generalize_numeric(moved, bins=bins, published=True).tolist()[:3] == [36.6, 40.0, 0.0]
    assert generalize_numeric(moved, bins=bins).tolist()[:3] == [10.0, 40.0, 0.0]
