"""Column-level PII detection: acceptance datasets, the Turkish fixture, offline and speed.

Run with `pytest -s tests/unit/test_detection.py` to see the measured precision/recall and
timings. Fixtures: tests/fixtures/titanic.csv, data/adult.parquet, a 2,000-row kc_house sample
(tests/fixtures/kc_house_sample.csv, `sample(n=2000, random_state=0)` of the shared copy) and
tests/fixtures/turkish_pii.csv (written by tests/fixtures/make_turkish_pii.py).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from synthspec.privacy import detection
from synthspec.privacy.detection import ColumnFinding, detect_pii, detect_value_entities
from synthspec.privacy.recognizers import fold, is_valid_tckn, match_person_name

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"


@pytest.fixture(scope="module")
def engine_build_seconds() -> float:
    """Build the engine once for the module and remember how long it took."""
    detection.clear_engine_cache()
    seconds = detection.warm_up()
    print(
        f"\n[detection] engine build (in-process, incl. Presidio import if first): {seconds:.2f}s"
    )
    return seconds


@pytest.fixture(scope="module")
def titanic(engine_build_seconds: float) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "titanic.csv")


@pytest.fixture(scope="module")
def kc_house(engine_build_seconds: float) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / "kc_house_sample.csv")


@pytest.fixture(scope="module")
def turkish(engine_build_seconds: float) -> pd.DataFrame:
    # Default dtypes on purpose: tckn and musteri_no arrive as int64, like BIGINT columns.
    return pd.read_csv(FIXTURES / "turkish_pii.csv")


@pytest.fixture(scope="module")
def turkish_findings(turkish: pd.DataFrame) -> list[ColumnFinding]:
    return detect_pii(turkish)


def by_column(findings: list[ColumnFinding]) -> dict[str, ColumnFinding]:
    return {f.column: f for f in findings}


# --------------------------------------------------------------------------- import cost


def test_import_does_not_load_presidio_spacy_or_faker() -> None:
    code = (
        "import sys, synthspec.privacy.detection\n"
        "print(sorted(m for m in ('presidio_analyzer', 'spacy', 'faker', 'phonenumbers')"
        " if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- acceptance datasets


def test_titanic_flags_name_as_person_and_nothing_else(titanic: pd.DataFrame) -> None:
    findings = detect_pii(titanic)
    found = by_column(findings)
    assert list(found) == ["Name"]
    name = found["Name"]
    assert name.entity == "PERSON"
    assert name.share >= 0.6
    assert name.confidence >= 0.8
    assert "column name supports" in name.evidence
    for column in ("Ticket", "Cabin", "Embarked", "Sex"):
        assert column not in found


def test_titanic_name_renamed_c3_is_still_a_person(titanic: pd.DataFrame) -> None:
    named = by_column(detect_pii(titanic))["Name"]
    renamed = by_column(detect_pii(titanic.rename(columns={"Name": "c3"})))
    assert list(renamed) == ["c3"]
    c3 = renamed["c3"]
    assert c3.entity == "PERSON"
    assert c3.share == named.share  # values decide; the name only adds confidence
    assert c3.confidence < named.confidence
    assert "column name" not in c3.evidence


def test_adult_has_no_findings(adult: pd.DataFrame, engine_build_seconds: float) -> None:
    assert detect_pii(adult) == []


def test_kc_house_has_no_findings_even_with_event_dates(kc_house: pd.DataFrame) -> None:
    assert detect_pii(kc_house) == []
    n = len(kc_house)
    days = pd.date_range("2014-05-02", "2015-05-27", periods=n)
    with_dates = kc_house.assign(
        date=days.strftime("%Y%m%dT000000"),  # the original kc_house format
        sale_date=days.strftime("%Y-%m-%d"),
        sold_at=days,
    )
    assert detect_pii(with_dates) == []


# --------------------------------------------------------------------------- Turkish fixture

EXPECTED_TURKISH = {
    "ad_soyad": "PERSON",
    "tckn": "TR_NATIONAL_ID",
    "telefon": "PHONE_NUMBER",
    "iban": "IBAN_CODE",
    "eposta": "EMAIL_ADDRESS",
    "adres": "LOCATION",
    "dogum_tarihi": "DATE_OF_BIRTH",
}


def test_turkish_fixture_column_level(
    turkish: pd.DataFrame, turkish_findings: list[ColumnFinding]
) -> None:
    found = by_column(turkish_findings)
    assert {column: f.entity for column, f in found.items()} == EXPECTED_TURKISH
    for negative in ("sehir", "urun", "musteri_no", "tckn_valid", "iban_valid"):
        assert negative not in found
    # Columns come back in frame order.
    assert list(found) == [c for c in turkish.columns if c in EXPECTED_TURKISH]


@pytest.fixture(scope="module")
def turkish_value_entities(turkish: pd.DataFrame) -> dict[str, list[str | None]]:
    return {c: detect_value_entities(turkish[c], column=c) for c in turkish.columns}


def precision_recall(pairs: list[tuple[bool, bool]]) -> tuple[float, float]:
    """(predicted, truth) pairs -> (precision, recall)."""
    tp = sum(p and t for p, t in pairs)
    fp = sum(p and not t for p, t in pairs)
    fn = sum(t and not p for p, t in pairs)
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1)


@pytest.mark.parametrize(
    ("entity", "positive", "truth", "negatives"),
    [
        # valid TC Kimlik -> match; invalid checksums, customer numbers, phones, IBANs -> not
        ("TR_NATIONAL_ID", "tckn", "tckn_valid", ("musteri_no", "telefon", "iban")),
        ("PHONE_NUMBER", "telefon", None, ("tckn", "musteri_no", "iban", "dogum_tarihi")),
        ("IBAN_CODE", "iban", "iban_valid", ("tckn", "telefon", "musteri_no")),
        ("PERSON", "ad_soyad", None, ("sehir", "urun", "adres")),
    ],
)
def test_turkish_fixture_value_level_precision_recall(
    turkish: pd.DataFrame,
    turkish_value_entities: dict[str, list[str | None]],
    entity: str,
    positive: str,
    truth: str | None,
    negatives: tuple[str, ...],
) -> None:
    pairs: list[tuple[bool, bool]] = []
    truths = turkish[truth].tolist() if truth else [True] * len(turkish)
    for predicted, is_true in zip(turkish_value_entities[positive], truths, strict=True):
        pairs.append((predicted == entity, bool(is_true)))
    for column in negatives:
        pairs.extend((predicted == entity, False) for predicted in turkish_value_entities[column])
    precision, recall = precision_recall(pairs)
    print(
        f"\n[detection] {entity:<15} precision={precision:.3f} recall={recall:.3f}"
        f" (positives from {positive}, {len(pairs)} values)"
    )
    assert precision >= 0.95
    assert recall >= 0.9


def test_turkish_casing_and_ascii_folding() -> None:
    assert fold("İSMAİL") == fold("İsmail") == fold("ismail") == fold("Ismail") == "ismail"
    assert fold("YILDIZ") == fold("Yıldız") == "yildiz"
    assert fold("Öztürk") == fold("ÖZTÜRK") == fold("Ozturk") == "ozturk"
    for value in ("İSMAİL YILDIZ", "ismail yıldız", "Ismail Yildiz", "Mehmet Ozturk"):
        assert match_person_name(value).strong, value
    assert not match_person_name("Kahve Makinesi").strong
    assert match_person_name("White").single != "first"


def test_tc_kimlik_checksum() -> None:
    assert is_valid_tckn("10000000146")
    assert not is_valid_tckn("10000000147")  # wrong 11th digit
    assert not is_valid_tckn("10000000156")  # wrong 10th digit
    assert not is_valid_tckn("01000000146")  # leading zero
    assert not is_valid_tckn("1000000014")  # 10 digits


def with_check_digits(first_nine: str) -> str:
    """Complete nine digits into a valid TC Kimlik number."""
    d = [int(ch) for ch in first_nine]
    d10 = ((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10
    return first_nine + str(d10) + str((sum(d) + d10) % 10)


def test_bigint_ids_and_phones() -> None:
    ids = [int(with_check_digits(str(123456789 + 104729 * i))) for i in range(15)]
    assert all(is_valid_tckn(str(v)) for v in ids)
    frame = pd.DataFrame(
        {
            "c1": pd.Series(ids, dtype="int64"),
            "gsm": pd.Series([905321234567 + 1111 * i for i in range(15)], dtype="int64"),
            "account_no": pd.Series([5321234567 + 7919 * i for i in range(15)], dtype="int64"),
        }
    )
    found = by_column(detect_pii(frame))
    assert found["c1"].entity == "TR_NATIONAL_ID"
    assert found["gsm"].entity == "PHONE_NUMBER"
    assert "account_no" not in found  # bare 10-digit integers are IDs, not phones


def test_a_code_with_a_dot_is_no_domain() -> None:
    """Transmission codes (R's car90: "auto.4", "auto.3", "auto.CVT"): Presidio reads a URL
    "auto.CV" (Cape Verde) inside "auto.CVT"; a domain cut inside a word is none. Real domains
    still count, schemed or not."""
    codes = pd.DataFrame({"Trans2": ["auto.4"] * 10 + ["auto.3"] * 5 + ["auto.CVT"]})
    assert detect_pii(codes) == []
    # the suffix list holds words ("bank"): a capitalised code cut there ("data.Ba") is no domain
    levels = pd.DataFrame({"source": ["data.Bank"] * 10 + ["data.File"] * 10})
    assert detect_pii(levels) == []
    sites = pd.DataFrame({"site": [f"shop{i}.example.com" for i in range(20)]})
    assert by_column(detect_pii(sites))["site"].entity == "URL"
    # Presidio cuts these inside the word too ("shop.st"), but the whole is a domain
    for ending in ("store", "travel", "company", "online"):
        pages = pd.DataFrame({"homepage": [f"https://www.shop{i}.{ending}/about" for i in range(20)],
                              "site": [f"shop{i}.{ending}" for i in range(20)]})
        found = by_column(detect_pii(pages))
        assert found["homepage"].entity == found["site"].entity == "URL", ending


# --------------------------------------------------------------------------- other entities


def test_single_names_dates_of_birth_and_addresses() -> None:
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(7)
    births = [fake.date_of_birth(minimum_age=18, maximum_age=90) for _ in range(60)]
    frame = pd.DataFrame(
        {
            "first_name": [fake.first_name() for _ in range(60)],
            "colour": ["Rose", "Ruby", "Amber", "Olive", "Violet"] * 12,
            "birth_date": [d.isoformat() for d in births],
            "c7": [d.strftime("%d.%m.%Y") for d in births],
            "street": [f"{10 + i} {fake.last_name()} Street" for i in range(60)],
        }
    )
    found = by_column(detect_pii(frame))
    assert found["first_name"].entity == "PERSON"
    assert "colour" not in found
    assert found["birth_date"].entity == "DATE_OF_BIRTH"
    assert found["c7"].entity == "DATE_OF_BIRTH"
    assert found["c7"].confidence < found["birth_date"].confidence
    assert found["street"].entity == "LOCATION"


def test_skipped_dtypes_and_empty_frames() -> None:
    frame = pd.DataFrame(
        {
            "flag": [True, False] * 5,
            "ratio": [0.5, 1.25] * 5,
            "empty": [None] * 10,
        }
    )
    assert detect_pii(frame) == []
    assert detect_pii(pd.DataFrame()) == []


# --------------------------------------------------------------------------- offline proof


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Make every connection or DNS lookup fail loudly and record it.

    Creating a socket stays allowed (urllib3 probes IPv6 support by binding "::1" at import
    time, which is not network traffic); connecting and resolving names are refused.
    """
    attempts: list[str] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(repr(args)[:80])
        raise OSError("network disabled in this test")

    class NoSocket(socket.socket):
        """A class, not a function, so modules that subclass socket.socket still import."""

        def connect(self, *args: object, **kwargs: object) -> None:
            refuse(*args)

        def connect_ex(self, *args: object, **kwargs: object) -> int:
            refuse(*args)
            return 1

    monkeypatch.setattr(socket, "socket", NoSocket)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    detection.clear_engine_cache()
    yield attempts
    detection.clear_engine_cache()


def contact_frame() -> pd.DataFrame:
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(11)
    return pd.DataFrame(
        {
            "contact": [fake.email() for _ in range(80)],
            "homepage": [fake.url() for _ in range(80)],
            "ip": [fake.ipv4() for _ in range(80)],
            "note": [fake.sentence() for _ in range(80)],
        }
    )


def test_detection_works_offline(no_network: list[str]) -> None:
    frame = contact_frame()
    found = by_column(detect_pii(frame))
    assert found["contact"].entity == "EMAIL_ADDRESS"
    assert found["contact"].share == 1.0
    assert found["homepage"].entity == "URL"
    assert found["ip"].entity == "IP_ADDRESS"
    assert "note" not in found
    assert no_network == []  # nothing even tried to connect


# --------------------------------------------------------------------------- output hygiene


def test_no_raw_value_in_any_finding(
    titanic: pd.DataFrame, turkish: pd.DataFrame, turkish_findings: list[ColumnFinding]
) -> None:
    for frame, findings in (
        (titanic, detect_pii(titanic)),
        (turkish, turkish_findings),
        (contact_frame(), detect_pii(contact_frame())),
    ):
        assert findings
        values = {
            str(v)
            for column in frame.columns
            for v in frame[column].dropna().unique()
            if len(str(v)) >= 5
        }
        for finding in findings:
            payload = finding.to_dict()
            assert set(payload) == {"column", "entity", "confidence", "share", "evidence"}
            text = json.dumps(
                {k: v for k, v in payload.items() if k != "column"}, ensure_ascii=False
            )
            leaked = [v for v in values if v in text]
            assert leaked == [], f"{finding.column}: raw value in output"


def test_deterministic_and_one_finding_per_column(
    turkish: pd.DataFrame, turkish_findings: list[ColumnFinding]
) -> None:
    first = turkish_findings
    assert detect_pii(turkish, seed=0) == first
    assert len({f.column for f in first}) == len(first)
    other = detect_pii(turkish, seed=1, sample_size=100)
    assert [(f.column, f.entity) for f in other] == [(f.column, f.entity) for f in first]
    for f in first:
        assert 0.0 <= f.confidence <= 1.0 and 0.0 <= f.share <= 1.0


# --------------------------------------------------------------------------- speed


def test_speed_after_engine_build(
    titanic: pd.DataFrame, adult: pd.DataFrame, turkish: pd.DataFrame, engine_build_seconds: float
) -> None:
    timings = {}
    for name, frame in (("adult", adult), ("titanic", titanic), ("turkish_pii", turkish)):
        start = time.perf_counter()
        detect_pii(frame)
        timings[name] = time.perf_counter() - start
    print(
        "\n[detection] detect_pii: "
        + ", ".join(
            f"{k} {v:.3f}s ({len(f.columns)} cols)"
            for (k, v), f in zip(timings.items(), (adult, titanic, turkish), strict=True)
        )
    )
    assert timings["adult"] < 2.0
    assert timings["titanic"] < 2.0


def test_name_lists_are_cached_per_faker_and_module(tmp_path, monkeypatch) -> None:
    """The folded lists are written once to the user cache and read back equal; a damaged
    cache file is rebuilt, never trusted."""
    from synthspec.privacy import recognizers

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    built = recognizers._build_name_lists()
    recognizers.name_lists.cache_clear()
    try:
        assert recognizers.name_lists() == built
        cached = recognizers._names_cache()
        assert cached is not None and cached.parent == tmp_path / "synthspec" and cached.exists()
        recognizers.name_lists.cache_clear()
        assert recognizers.name_lists() == built  # read back from the file
        cached.write_text("{not json")
        recognizers.name_lists.cache_clear()
        assert recognizers.name_lists() == built and cached.read_text().startswith("{\"first\"")
    finally:
        recognizers.name_lists.cache_clear()
