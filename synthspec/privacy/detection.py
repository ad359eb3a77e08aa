"""Column-level PII detection from values (used by `scan`, `init`, `plan` and `apply`).

Why values and not names: a column called `c3` can hold passenger names, and a column called
`name` can hold product names. We sample distinct non-null values per column, run Presidio's
pattern recognizers (offline: a blank spaCy pipeline, no model download, and e-mail domains
checked against tldextract's bundled public-suffix snapshot, never fetched) plus recognizers of
ours (person names from Faker's name lists, TC Kimlik with checksum, +90 phones, street
addresses, dates of birth), and report per column the strongest entity with a confidence and
the share of sampled values that matched. Column names only ever raise confidence.

Outputs never contain a raw value: evidence is counts, percentages and recognizer names.

Importing this module is cheap: Presidio, spaCy and Faker are imported on first detection,
and the Presidio engine is built once per process (`warm_up`, `clear_engine_cache`).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from synthspec.privacy import recognizers as rec

__all__ = [
    "DEFAULT_MIN_SHARE",
    "MIN_CONFIDENCE",
    "SUPPORTED_ENTITIES",
    "ColumnFinding",
    "clear_engine_cache",
    "detect_pii",
    "detect_value_entities",
    "warm_up",
]

# A column is flagged when at least this share of its sampled distinct values match one
# entity. 0.3 keeps free-text columns where a third of the values embed an e-mail, IBAN or
# TC Kimlik (checksum entities count when embedded; phones, URLs, IPs and SSNs must cover
# 60% of the value), and stays far above the chance rates of checksum entities on random IDs (Luhn 10%,
# TC Kimlik 1%, IBAN ~1%). Calibrated on Titanic, Adult, kc_house and the Turkish fixture.
DEFAULT_MIN_SHARE = 0.3
# ...and its column-level confidence reaches this (see `_confidence`).
MIN_CONFIDENCE = 0.5

SUPPORTED_ENTITIES: tuple[str, ...] = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "URL",
    "US_SSN",
    "TR_NATIONAL_ID",
    "LOCATION",
    "DATE_OF_BIRTH",
)
_PRESIDIO_ENTITIES: list[str] = [
    "EMAIL_ADDRESS",
    "URL",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "US_SSN",
    "TR_NATIONAL_ID",
    "LOCATION",
]
# libphonenumber regions tried for numbers written without an international prefix.
# One libphonenumber pass per region per value: the locales we know names for, no more.
_PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "ES", "TR")

# How much a full-share match of each entity is worth; checksum-validated entities rank
# highest because chance matches are rare, pattern-only entities lower.
_BASE_CONFIDENCE: dict[str, float] = {
    "EMAIL_ADDRESS": 0.95,
    "IBAN_CODE": 0.95,
    "TR_NATIONAL_ID": 0.95,
    "CREDIT_CARD": 0.9,
    "IP_ADDRESS": 0.85,
    "PERSON": 0.85,
    "PHONE_NUMBER": 0.8,
    "US_SSN": 0.8,
    "URL": 0.8,
    "LOCATION": 0.8,
    "DATE_OF_BIRTH": 0.8,
}
_NAME_BONUS = 0.1
_WEAK_DOB_BASE = 0.65  # dates of birth recognised without column-name support

# Weak patterns must cover most of the value: a 7-digit ticket number inside "STON/O2. 3101282"
# is not a phone column. Checksum-validated entities and addresses count when embedded.
_COVERAGE_REQUIRED = {"PHONE_NUMBER", "IP_ADDRESS", "US_SSN", "URL"}
_MIN_COVERAGE = 0.6
_MAX_VALUE_CHARS = 1000

_EVIDENCE_HOW: dict[str, str] = {
    "EMAIL_ADDRESS": "e-mail addresses (pattern + domain check against a bundled suffix list)",
    "IBAN_CODE": "IBANs (mod-97 checksum verified)",
    "CREDIT_CARD": "card numbers (Luhn checksum verified)",
    "TR_NATIONAL_ID": "TC Kimlik numbers (checksum verified)",
    "PHONE_NUMBER": "phone numbers (libphonenumber and +90 formats)",
    "IP_ADDRESS": "IPv4/IPv6 addresses",
    "URL": "URLs",
    "US_SSN": "US social security numbers (formatted)",
    "LOCATION": "street-address patterns (en, de, fr, es, tr)",
}


@dataclass(frozen=True)
class ColumnFinding:
    """One column's strongest PII finding; `evidence` is human text and never a raw value."""

    column: str
    entity: str
    confidence: float
    share: float
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (for `scan` output, spec comments and run results)."""
        return asdict(self)


# --------------------------------------------------------------------------- engine cache

_ENGINE: Any | None = None
_WARM_UP_TEXT = (
    "+90 532 000 00 00 (202) 555-0100 +44 20 7946 0000 030 000000 01 00 00 00 00 "
    "911 000 000 user@example.com https://example.org 192.0.2.1 10 Main Street"
)
_ENGINE_LOCK = threading.Lock()


def _offline_suffixes() -> Any:
    """tldextract on its bundled public-suffix snapshot (no fetch, no disk cache), built once."""
    global _SUFFIXES
    if _SUFFIXES is None:
        import tldextract

        _SUFFIXES = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)
    return _SUFFIXES


_SUFFIXES: Any | None = None


def _domain_cut_in_a_word(value: str, start: int, end: int) -> bool:
    """Whether a URL match ends inside a word whose whole is no domain: Presidio reads
    "auto.CV" (Cape Verde) in the transmission code "auto.CVT", but also "shop.st" in
    "https://shop.store", a real one. The whole word is a domain when its public suffix is
    one, and it is written with a scheme, ``www.`` or in lower case: the suffix list holds
    words (``type.Auto``, ``grade.Gold`` are codes)."""
    if not value[end : end + 1].isalnum():
        return False
    stop = end
    while stop < len(value) and (value[stop].isalnum() or value[stop] in "-."):
        stop += 1
    word = value[start:stop]
    marked = word.lower().startswith(("http://", "https://", "www.")) or word == word.lower()
    return not marked or _offline_suffixes()(word).fqdn == ""


def _build_engine() -> Any:
    """Build a Presidio AnalyzerEngine that never touches the network.

    `AnalyzerEngine()` with defaults downloads `en_core_web_lg`; instead a `SpacyNlpEngine`
    whose `load()` returns `spacy.blank("en")` gives tokenisation only, which is all the
    pattern recognizers need. The registry is explicit (not Presidio's defaults) so that
    noisy recognizers (US bank/driver licence/passport numbers match any 8-12 digit ID) stay
    out. Presidio's EmailRecognizer validates domains with `tldextract.extract`, whose default
    extractor fetches the public-suffix list over HTTP on first use; we replace that instance's
    `validate_result` with an extractor built on the package's bundled snapshot
    (`suffix_list_urls=()`, `cache_dir=None`: no fetch, no disk cache).
    """
    import spacy
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UrlRecognizer,
        UsSsnRecognizer,
    )
    from presidio_analyzer.predefined_recognizers.country_specific.turkey.tr_national_id_recognizer import (
        TrNationalIdRecognizer,
    )

    class BlankSpacyNlpEngine(SpacyNlpEngine):  # type: ignore[misc]
        """spaCy tokenizer only: no model package, no download, no GPU probing."""

        def load(self) -> None:
            self.nlp = {"en": spacy.blank("en")}

    extractor = _offline_suffixes()

    def validate_email_offline(pattern_text: str) -> bool:
        return extractor(pattern_text).fqdn != ""

    email = EmailRecognizer()
    email.validate_result = validate_email_offline  # type: ignore[method-assign]

    tr_phone = PatternRecognizer(
        supported_entity="PHONE_NUMBER",
        patterns=[Pattern("tr phone (+90 / 0 prefix)", rec.TR_PHONE_REGEX, 0.6)],
        name="TrPhoneRecognizer",
    )
    address = PatternRecognizer(
        supported_entity="LOCATION",
        patterns=[Pattern(name, regex, score) for name, regex, score in rec.ADDRESS_PATTERNS],
        name="StreetAddressRecognizer",
    )
    registry = RecognizerRegistry(
        recognizers=[
            email,
            UrlRecognizer(),
            PhoneRecognizer(supported_regions=_PHONE_REGIONS),
            tr_phone,
            CreditCardRecognizer(),
            IbanRecognizer(),
            IpRecognizer(),
            UsSsnRecognizer(),
            TrNationalIdRecognizer(supported_language="en"),
            address,
        ],
        supported_languages=["en"],
    )
    nlp_engine = BlankSpacyNlpEngine(models=[{"lang_code": "en", "model_name": "blank_en"}])
    nlp_engine.load()
    engine = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=["en"])
    # First use compiles the big URL regex and loads libphonenumber's per-region metadata;
    # pay that here so it is counted as build time, not as the first table's scan time.
    engine.analyze(text=_WARM_UP_TEXT, language="en", entities=_PRESIDIO_ENTITIES)
    return engine


def _engine() -> Any:
    """The process-wide engine, built on first use (thread-safe)."""
    global _ENGINE
    if _ENGINE is None:
        with _ENGINE_LOCK:
            if _ENGINE is None:
                _ENGINE = _build_engine()
    return _ENGINE


def warm_up() -> float:
    """Build the engine and load the name lists now; return the seconds it took.

    Lets a CLI pay the one-off cost (mostly importing Presidio, which imports torch) up
    front or report it; a no-op when already built.
    """
    start = time.perf_counter()
    _engine()
    rec.name_lists()
    return time.perf_counter() - start


def clear_engine_cache() -> None:
    """Forget the cached engine so the next detection rebuilds it (tests, config changes)."""
    global _ENGINE
    with _ENGINE_LOCK:
        _ENGINE = None


# --------------------------------------------------------------------------- sampling


def _to_text(value: object) -> str | None:
    """String form used for matching; integral floats lose their ".0" (IDs stored as FLOAT)."""
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return str(int(value))
        return str(value)
    if isinstance(value, (pd.Timestamp, datetime)):
        if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    text = str(value).strip()
    return text[:_MAX_VALUE_CHARS] if text else None


def _sample_values(series: pd.Series, sample_size: int, seed: int) -> list[str]:
    """Seeded sample of distinct non-null values as strings ([] when not worth scanning).

    Distinct values, not rows: a placeholder repeated in half the rows ("n/a") should not
    dilute the share, and a few frequent names should not dominate it. Booleans and floats
    with fractional parts cannot hold the entities we look for and are skipped for speed.
    """
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return []
    non_null = series.dropna()
    if pd.api.types.is_float_dtype(dtype):
        numbers = non_null.to_numpy(dtype=float)
        if numbers.size == 0 or not np.all(np.isfinite(numbers)) or np.any(numbers % 1 != 0):
            return []
    try:
        distinct = pd.unique(non_null)
    except TypeError:  # unhashable cells (lists, dicts): compare their text
        distinct = pd.unique(non_null.astype(str))
    if len(distinct) > sample_size:
        rng = np.random.default_rng(seed)
        picks = np.sort(rng.choice(len(distinct), size=sample_size, replace=False))
        distinct = distinct[picks]
    texts = (_to_text(v) for v in distinct)
    return list(dict.fromkeys(t for t in texts if t))


# --------------------------------------------------------------------------- value analysis

_URL_SHAPE = re.compile(r"[A-Za-z0-9-]\.[A-Za-z]{2,}")
_IPV4_SHAPE = re.compile(r"\d\.\d{1,3}\.\d{1,3}\.\d")
_IPV6_SHAPE = re.compile(r"[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:")
_IBAN_SHAPE = re.compile(r"(?<![A-Za-z])[A-Za-z]{2}\s?\d{2}")


def _candidate_entities(value: str, digits_supported: bool) -> list[str]:
    """Presidio entities a value could possibly hold, from cheap shape checks.

    Presidio runs every recognizer registered for the requested entities, and the phone
    recognizer (libphonenumber, once per region) dominates the cost. Asking only for what
    the value's shape allows keeps a 15-column table well under a second and changes no
    verdict: each gate is implied by the entity's own pattern or by our filters (a phone
    must have 9+ digits and cover most of the value; an IBAN starts with country + check
    digits; e-mails need '@'). Bare digit strings (integer IDs, BIGINT columns) can only be
    a TC Kimlik (checksum), a card number (Luhn), a prefixed Turkish mobile, or, in a column
    named like a phone/SSN column, those. Dates are never pattern entities.
    """
    if value.isascii() and value.isdigit():
        n = len(value)
        bare: list[str] = []
        if n == 11 and rec.is_valid_tckn(value):
            bare.append("TR_NATIONAL_ID")
        if 13 <= n <= 19 and rec.luhn_valid(value):
            bare.append("CREDIT_CARD")
        if rec.is_bare_tr_mobile(value) or (digits_supported and 9 <= n <= 15):
            bare.append("PHONE_NUMBER")
        if digits_supported and n == 9:
            bare.append("US_SSN")
        return bare
    digits = sum(ch.isdigit() for ch in value)
    letters = sum(ch.isalpha() for ch in value)
    wanted: list[str] = []
    if "@" in value:
        wanted.append("EMAIL_ADDRESS")
    if _URL_SHAPE.search(value):
        wanted.append("URL")
    if _IPV4_SHAPE.search(value) or (":" in value and _IPV6_SHAPE.search(value)):
        wanted.append("IP_ADDRESS")
    if digits and letters and len(value) >= 6 and any(ch.isspace() for ch in value):
        wanted.append("LOCATION")  # every address pattern has a space between number and words
    if digits < 7 or (digits >= 8 and rec.parse_date(value) is not None):
        return wanted
    iban_shaped = bool(_IBAN_SHAPE.search(value))
    if iban_shaped:
        wanted.append("IBAN_CODE")
    if digits >= 11:
        wanted.append("TR_NATIONAL_ID")
    if digits >= 12:
        wanted.append("CREDIT_CARD")
    if digits >= 9:
        wanted.append("US_SSN")
    # Phones: 9-20 digits (extensions included) making up most of the value.
    if 9 <= digits <= 20 and not iban_shaped and letters <= 3:
        wanted.append("PHONE_NUMBER")
    return wanted


@dataclass
class _Tally:
    """Per-column counters; holds no values."""

    n: int = 0
    hits: Counter[str] = field(default_factory=Counter)
    person_strong: int = 0
    person_weak: int = 0
    single_first: int = 0
    single_last: int = 0
    locales: Counter[str] = field(default_factory=Counter)
    birth_dates: list[date] = field(default_factory=list)


def _presidio_entity(
    value: str, engine: Any, entities: list[str], phone_column: bool, ssn_column: bool
) -> str | None:
    """Best Presidio entity for one value after our plausibility filters, or None."""
    results = engine.analyze(text=value, language="en", entities=entities)
    length = max(len(value.strip()), 1)
    best: tuple[float, int, str] | None = None
    for result in results:
        entity = result.entity_type
        span = value[result.start : result.end]
        coverage = len(span.strip()) / length
        schemed_url = entity == "URL" and span.lower().startswith(("http://", "https://"))
        if entity in _COVERAGE_REQUIRED and coverage < _MIN_COVERAGE and not schemed_url:
            continue
        if entity == "URL" and _domain_cut_in_a_word(value, result.start, result.end):
            continue
        if entity == "PHONE_NUMBER" and not rec.plausible_phone(span, column_supports=phone_column):
            continue
        if entity == "US_SSN" and result.score < 0.5 and not ssn_column:
            continue
        candidate = (result.score, result.end - result.start, entity)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return best[2] if best else None


def _analyze(values: Sequence[str], column: str) -> tuple[_Tally, list[str | None]]:
    """Classify each value and tally the column; returns per-value entities too. Presidio
    (whose import costs seconds) is built only when some value has a candidate entity."""
    engine = None
    tally = _Tally(n=len(values))
    per_value: list[str | None] = []
    dob_supported = rec.column_supports(column, "DATE_OF_BIRTH")
    phone_column = rec.column_supports(column, "PHONE_NUMBER")
    ssn_column = rec.column_supports(column, "US_SSN")
    singles_count = rec.column_holds_single_names(column)
    today = date.today()
    for value in values:
        candidates = _candidate_entities(value, phone_column or ssn_column)
        entity = None
        if candidates:
            engine = engine or _engine()
            entity = _presidio_entity(value, engine, candidates, phone_column, ssn_column)
        if entity is None:
            name = rec.match_person_name(value)
            if name.strong or name.weak or name.single:
                tally.locales.update(name.locales)
            if name.strong:
                tally.person_strong += 1
                entity = "PERSON"
            elif name.weak:
                tally.person_weak += 1
                entity = "PERSON"
            elif name.single == "first":
                tally.single_first += 1
                entity = "PERSON" if singles_count else None
            elif name.single == "last":
                tally.single_last += 1
                entity = "PERSON" if singles_count else None
        if entity is None:
            day = rec.parse_date(value)
            if day is not None and rec.is_plausible_birth(day, today):
                tally.birth_dates.append(day)
                entity = "DATE_OF_BIRTH" if dob_supported else None
        if entity is not None and entity not in ("PERSON", "DATE_OF_BIRTH"):
            tally.hits[entity] += 1
        per_value.append(entity)
    return tally, per_value


def detect_value_entities(values: Iterable[object], *, column: str = "") -> list[str | None]:
    """Entity recognised in each individual value (None when nothing), for value-level use.

    Same recognizers and filters as `detect_pii`, without column-level thresholds: useful for
    measuring precision/recall and for checking synthetic output for real-looking PII. Single
    name tokens and dates count only when `column`'s name supports PERSON / DATE_OF_BIRTH.
    """
    texts = [_to_text(v) for v in values]
    present = [t for t in texts if t]
    _, entities = _analyze(present, column)
    found = iter(entities)
    return [next(found) if t else None for t in texts]


# --------------------------------------------------------------------------- column verdicts


def _confidence(entity: str, share: float, supported: bool, base: float | None = None) -> float:
    """Column-level confidence: entity strength scaled by share, plus a column-name bonus.

    A column where 80%+ of sampled values match gets the full base; at the 30% share floor
    about 70% of it. The column name adds 0.1 but cannot create a finding by itself.
    """
    strength = _BASE_CONFIDENCE[entity] if base is None else base
    value = strength * (0.5 + 0.5 * min(1.0, share / 0.8)) + (_NAME_BONUS if supported else 0.0)
    return round(min(value, 0.99), 3)


def _pct(count: float, n: int) -> str:
    return f"{round(100 * count / n)}% of {n} sampled distinct value{'s' if n != 1 else ''}"


def _candidates(column: str, tally: _Tally, min_share: float) -> list[ColumnFinding]:
    """All findings a column qualifies for; the caller keeps the strongest."""
    n = tally.n
    out: list[ColumnFinding] = []

    def add(entity: str, share: float, evidence: str, base: float | None = None) -> None:
        supported = rec.column_supports(column, entity)
        confidence = _confidence(entity, share, supported, base)
        if share >= min_share and confidence >= MIN_CONFIDENCE:
            suffix = "; column name supports" if supported else ""
            out.append(
                ColumnFinding(column, entity, confidence, round(share, 3), evidence + suffix)
            )

    for entity, count in tally.hits.items():
        add(entity, count / n, f"{_pct(count, n)} match {_EVIDENCE_HOW[entity]}")

    locales = ", ".join(loc for loc, _ in tally.locales.most_common(3))
    full = tally.person_strong + tally.person_weak
    # Full names: strong matches (two listed name tokens) must reach a third of `min_share`
    # on their own, so "Firstname + any capitalised word" (product lines, street names
    # after people) cannot flag a column by weak matches alone.
    if full and tally.person_strong / n >= min_share / 3:
        add("PERSON", full / n, f"{_pct(full, n)} match person-name lists ({locales})")
    # Single-token columns (first_name, soyad): when the column name says it holds first or
    # last names, any listed name counts; otherwise demand 70% first names over 10+ distinct
    # values (colours such as "Rose"/"Ruby" rarely reach that, and surname-like city names
    # such as "Jackson" or "Lincoln" never count without the column name).
    singles = tally.single_first + tally.single_last
    if singles and rec.column_holds_single_names(column):
        add(
            "PERSON",
            (singles + full) / n,
            f"{_pct(singles + full, n)} are listed names ({locales})",
        )
    elif n >= 10 and tally.single_first / n >= 0.7:
        add(
            "PERSON",
            tally.single_first / n,
            f"{_pct(tally.single_first, n)} are listed first names ({locales})",
        )

    if tally.birth_dates:
        share = len(tally.birth_dates) / n
        how = f"{_pct(len(tally.birth_dates), n)} are dates between 1900 and today"
        if rec.column_supports(column, "DATE_OF_BIRTH"):
            add("DATE_OF_BIRTH", share, how)
        elif _looks_like_births(tally.birth_dates, n):
            years = [d.year for d in tally.birth_dates]
            add(
                "DATE_OF_BIRTH",
                share,
                f"{how}, spanning {max(years) - min(years)} years",
                _WEAK_DOB_BASE,
            )
    return out


def _looks_like_births(days: list[date], n: int) -> bool:
    """Without a column-name hint, only a clear birth-date profile counts.

    Nearly all values dates, 20+ of them, spread over 30+ years, starting before 1986 and
    none in the last ten years (data subjects are rarely children). Event columns such as
    sale or signup dates cluster within a few years and fail the spread test.
    """
    if n < 20 or len(days) / n < 0.9:
        return False
    years = [d.year for d in days]
    return (
        max(years) - min(years) >= 30
        and min(years) <= 1985
        and max(years) <= date.today().year - 10
    )


def _scan_column(
    column: str, series: pd.Series, sample_size: int, seed: int, min_share: float
) -> ColumnFinding | None:
    values = _sample_values(series, sample_size, seed)
    if not values:
        return None
    tally, _ = _analyze(values, column)
    candidates = _candidates(column, tally, min_share)
    if not candidates:
        return None
    return max(candidates, key=lambda f: (f.confidence, f.share))


def detect_pii(
    frame: pd.DataFrame,
    *,
    sample_size: int = 200,
    seed: int = 0,
    min_share: float = DEFAULT_MIN_SHARE,
) -> list[ColumnFinding]:
    """Flag the columns of `frame` whose values look like PII, strongest entity per column.

    Pure: reads only the frame and Faker's bundled name lists (folded once, then cached: see
    ``recognizers.name_lists``), no network.
    Deterministic for a given frame, `sample_size` and `seed`. Findings come back in column
    order; columns below `min_share` / `MIN_CONFIDENCE` are omitted.
    """
    findings: list[ColumnFinding] = []
    for position in range(frame.shape[1]):
        column = str(frame.columns[position])
        finding = _scan_column(column, frame.iloc[:, position], sample_size, seed, min_share)
        if finding is not None:
            findings.append(finding)
    return findings
