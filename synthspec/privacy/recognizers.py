"""Recognizers of ours used by `synthspec.privacy.detection` (pure Python, no Presidio import).

Presidio's pattern recognizers cover e-mail, phone, card, IBAN, IP, URL and US SSN. What it
cannot do offline (no spaCy model may be downloaded) is find person names, and its generic
recognizers know nothing about Turkish phone formats or street addresses. This module holds
those pieces as plain functions and regular expressions so they are cheap to import and easy to
test; `detection._build_engine` wraps the regexes into Presidio `PatternRecognizer`s, and the
name/date logic runs in plain Python because it needs column-level context.

Nothing here ever returns or logs a raw value: callers get booleans, counts and locale codes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

# --------------------------------------------------------------------------- text folding


def _words(text: str) -> tuple[str, ...]:
    """Whitespace-separated word list (keeps long vocabularies readable in the source)."""
    return tuple(text.split())


_FOLD_EXTRA = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d"})


def fold(text: str) -> str:
    """Casefold with Turkish dotted/dotless i handled, then strip accents to ASCII.

    Python's `casefold` maps "İ" to "i̇" (i + combining dot) and leaves "ı" alone, so
    "İSMAİL", "Ismail" and "ismail" would not compare equal, nor "YILDIZ" and "Yıldız".
    Mapping both Turkish i's to "i" first and then dropping combining marks makes every
    spelling (ALL-CAPS, ASCII-only "Ozturk", proper "Öztürk") land on one key. Lists and
    values are folded the same way, so the extra collisions this causes are symmetric.
    """
    text = text.replace("İ", "i").replace("ı", "i").casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.translate(_FOLD_EXTRA)


def name_tokens(text: str) -> list[str]:
    """Split a column name such as `dogumTarihi`, `ad_soyad` or `E-Mail` into folded words."""
    spaced = re.sub(r"(?<=[a-zçğıöşü])(?=[A-ZÇĞİÖŞÜ])", " ", text)
    return [fold(tok) for tok in re.split(r"[^0-9A-Za-zÀ-ÖØ-öø-ɏ]+", spaced) if tok]


# --------------------------------------------------------------------------- person names

NAME_LOCALES: tuple[str, ...] = ("en_US", "tr_TR", "de_DE", "fr_FR", "es_ES")

# Honorifics are skipped: they say "a person" but are not in Faker's name lists, and counting
# them as non-name tokens would dilute the share of name tokens in e.g. "Braund, Mr. Owen".
TITLES: frozenset[str] = frozenset(
    _words(
        "mr mrs miss master ms mx dr rev col major capt sir lady don dona mme mlle countess "
        "jonkheer prof jr sr sra srta ii iii iv bay bayan sayin herr frau madame monsieur senor "
        "senora dipl ing univ mba phd md hanim bey the de del la le du van von der y"
    )
)

# Words that are in some Faker name list but in tabular data are far more often categories.
# Adult's race/occupation/country values are the motivating examples.
NOT_NAMES: frozenset[str] = frozenset(
    _words(
        "white black brown green gray grey sales private husband wife male female other never "
        "married single divorced state city street road north south east west new united states "
        "bank young king rich long little price march may june april august"
    )
)

# Column-name words that support (never establish) a PERSON finding.
PERSON_COLUMN_WORDS: frozenset[str] = frozenset(
    _words(
        "name names fullname firstname lastname surname forename givenname familyname ad adi "
        "soyad soyadi adsoyad isim nombre apellido apellidos prenom nom vorname nachname person"
    )
)


# Faker's tr_TR lists miss many of today's most common names (Merve, Emre, Burak; 61 surnames
# only, no Kaya or Çelik). This supplement of frequent Turkish first names and surnames makes
# real Turkish customer tables recognisable; it is evidence of the same kind as Faker's lists.
TR_EXTRA_FIRST: tuple[str, ...] = _words(
    "Ömer Şerife Sultan Merve Havva Zeliha Esra Hacer Ebru Burak Emre Can Cem Kerem Eren Ege "
    "Berk Onur Serkan Volkan Gökhan Tolga Selin Gizem Derya Tuğba Pınar Aslı Duygu Ceren İrem "
    "Buse Ece Erdem Mert Oğuz Kübra Melike Sevgi Dilek Nur Tuba Sinan Caner Batuhan Furkan "
    "Enes Yunus Emir Arda Alper Ozan Utku Sena Beyza Rabia Şeyma Cansu Damla Gamze Hilal"
)
TR_EXTRA_LAST: tuple[str, ...] = _words(
    "Kaya Çelik Aydın Özdemir Kılıç Koç Özkan Şimşek Polat Özcan Korkmaz Çakır Şen Aktaş "
    "Yalçın Güneş Bozkurt Bulut Keskin Turan Özer Işık Kaplan Avcı Sarı Tekin Köse Ateş Uçar "
    "Tunç Erdem Altun Durmaz Karaca Kurt Doğan Arslan Güler Aksoy Yüksel Bayram Coşkun Çiftçi "
    "Özgür Yiğit Kocabaş Erdoğdu Akın Sezer Ekinci Taşkın Uysal Kalkan Duman"
)

_TOKEN_SPLIT = re.compile(r"[\s,.;:()\[\]{}\"/\\|]+")
_ALPHA_TOKEN = re.compile(r"^[^\W\d_]+(?:['’-][^\W\d_]+)*$")


@dataclass(frozen=True)
class NameLists:
    """Folded first/last-name sets from Faker plus which locale each name came from."""

    first: frozenset[str]
    last: frozenset[str]
    every: frozenset[str]
    locales: dict[str, frozenset[str]]


def _names_of(attribute: object) -> Iterable[str]:
    """Faker stores names as tuples, lists or OrderedDict(name -> weight); yield the names."""
    if isinstance(attribute, dict):
        return attribute.keys()
    if isinstance(attribute, (list, tuple, set, frozenset)):
        return attribute
    return ()


@lru_cache(maxsize=1)
def name_lists() -> NameLists:
    """Faker's first/last-name lists for the supported locales, folded, once per process.

    Building them imports Faker (which lists every locale it ships) and folds ~14,000 names:
    about a second. The result is kept in the user's cache directory (``$XDG_CACHE_HOME`` or
    ``~/.cache``, ``synthspec/names-<key>.json``) under a key of the installed Faker's version
    and this module's source, so later processes read it in milliseconds; a cache that cannot
    be read or written only costs that second.
    """
    path = _names_cache()
    if path is not None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return NameLists(first=frozenset(data["first"]), last=frozenset(data["last"]),
                             every=frozenset(data["first"]) | frozenset(data["last"]),
                             locales={k: frozenset(v) for k, v in data["locales"].items()})
        except (OSError, ValueError, KeyError, TypeError):
            pass
    lists = _build_name_lists()
    if path is not None:
        _write_names_cache(path, lists)
    return lists


def _names_cache() -> Path | None:
    """Where the name lists of the installed Faker and of this module are cached (None: no
    cache here). The key hashes this module's source and the size and modification time of
    each locale's Faker name file, found without importing Faker."""
    from importlib.util import find_spec

    try:
        spec = find_spec("faker")
        if spec is None or spec.origin is None:
            return None
        person = Path(spec.origin).parent / "providers" / "person"
        stamps = [f"{loc}:{(st := (person / loc / '__init__.py').stat()).st_size}:{st.st_mtime_ns}" for loc in NAME_LOCALES]
        source = Path(__file__).read_bytes()
    except (OSError, ValueError, ImportError):
        return None
    key = hashlib.sha256("|".join(stamps).encode() + b"\0" + source).hexdigest()[:20]
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "synthspec" / f"names-{key}.json"


def _write_names_cache(path: Path, lists: NameLists) -> None:
    data = {"first": sorted(lists.first), "last": sorted(lists.last),
            "locales": {k: sorted(v) for k, v in sorted(lists.locales.items())}}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def _build_name_lists() -> NameLists:
    """Fold Faker's name lists (Faker is imported here, not at module import, so commands that
    never scan stay fast)."""
    import importlib

    first: set[str] = set()
    last: set[str] = set()
    locales: dict[str, set[str]] = {}
    for locale in NAME_LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        short = locale.split("_")[0]
        for attr in ("first_names", "first_names_male", "first_names_female"):
            for raw in _names_of(getattr(provider, attr, ())):
                key = fold(str(raw))
                if len(key) > 1 and key not in NOT_NAMES:
                    first.add(key)
                    locales.setdefault(key, set()).add(short)
        for raw in _names_of(getattr(provider, "last_names", ())):
            for part in re.split(r"[\s-]+", str(raw)):
                key = fold(part)
                if len(key) > 1 and key not in NOT_NAMES and key not in TITLES:
                    last.add(key)
                    locales.setdefault(key, set()).add(short)
    for raw in TR_EXTRA_FIRST:
        first.add(fold(raw))
        locales.setdefault(fold(raw), set()).add("tr")
    for raw in TR_EXTRA_LAST:
        last.add(fold(raw))
        locales.setdefault(fold(raw), set()).add("tr")
    return NameLists(
        first=frozenset(first),
        last=frozenset(last),
        every=frozenset(first | last),
        locales={key: frozenset(value) for key, value in locales.items()},
    )


@dataclass(frozen=True)
class NameMatch:
    """How one value looks as a person name (no text kept, only the verdict and locales)."""

    strong: bool  # >= 2 listed name tokens, at least one a first name, half the tokens names
    weak: bool  # 2-5 alphabetic tokens with one listed first name (unlisted surname)
    single: str | None  # "first" / "last" when the value is one listed name token
    locales: frozenset[str]


_NO_MATCH = NameMatch(False, False, None, frozenset())


def match_person_name(value: str) -> NameMatch:
    """Classify a value as a full name, a plausible name, a single name or nothing.

    Rule calibrated on Titanic (Western names in "Last, Title First (Maiden)" form), Faker's
    tr_TR/en_US/de_DE/fr_FR/es_ES names and Adult's categories: a value is a *strong* name
    match when it has at least two listed tokens, one of them a first name, and listed tokens
    are at least half of its tokens. *Weak* accepts an unlisted surname next to a listed first
    name (real Turkish surnames are far more varied than Faker's 61). Any digit disqualifies.
    """
    if not value or any(ch.isdigit() for ch in value) or len(value) > 120 or "@" in value:
        return _NO_MATCH
    lists = name_lists()
    raw_tokens = [tok for tok in _TOKEN_SPLIT.split(value) if tok]
    tokens: list[str] = []
    for raw in raw_tokens:
        if not _ALPHA_TOKEN.match(raw):
            return _NO_MATCH
        key = fold(raw)
        if key in TITLES or len(key) < 2:
            continue
        tokens.append(key)
    if not tokens or len(tokens) > 8:
        return _NO_MATCH

    every = lists.every

    def listed(token: str, pool: frozenset[str]) -> bool:
        """A hyphenated token ("Beer-Naser") counts if every part is a name, one from pool."""
        if token in pool:
            return True
        parts = [p for p in re.split(r"['’-]", token) if p]
        return len(parts) > 1 and all(p in every for p in parts) and any(p in pool for p in parts)

    firsts = [tok for tok in tokens if listed(tok, lists.first)]
    names = [tok for tok in tokens if listed(tok, every)]
    locales = frozenset().union(*(lists.locales.get(tok, frozenset()) for tok in names))
    if len(tokens) == 1:
        if firsts:
            return NameMatch(False, False, "first", locales)
        if names:
            return NameMatch(False, False, "last", locales)
        return _NO_MATCH
    strong = len(names) >= 2 and bool(firsts) and len(names) * 2 >= len(tokens)
    weak = not strong and bool(firsts) and 2 <= len(tokens) <= 5 and _looks_capitalised(raw_tokens)
    if strong or weak:
        return NameMatch(strong, weak, None, locales)
    return _NO_MATCH


def _looks_capitalised(raw_tokens: list[str]) -> bool:
    """Names are Capitalised, ALL-CAPS or all lower-case; products mix cases ("iPhone 14")."""
    words = [tok for tok in raw_tokens if fold(tok) not in TITLES]
    return all(tok[0].isupper() for tok in words) or all(tok.islower() for tok in words)


# --------------------------------------------------------------------------- Turkish national ID

_TCKN = re.compile(r"^[1-9][0-9]{10}$")


def is_valid_tckn(value: str) -> bool:
    """TC Kimlik No: 11 digits, first not 0, two check digits (NVİ algorithm).

    d10 = ((d1+d3+d5+d7+d9)*7 - (d2+d4+d6+d8)) mod 10 and d11 = sum(d1..d10) mod 10. Only
    one random 11-digit number in 100 passes, so a column of IDs is recognisable by share.
    """
    if not _TCKN.match(value):
        return False
    d = [int(ch) for ch in value]
    tenth = ((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10
    return tenth == d[9] and sum(d[:10]) % 10 == d[10]


# --------------------------------------------------------------------------- Turkish phones

# +90 / 0 / 0090 prefix, then a 3-digit area or mobile code (2xx-4xx landlines, 5xx mobiles,
# 8xx service numbers), then 7 digits grouped 3-2-2 or 3-4, with spaces, dashes, dots or
# parentheses. Presidio's PhoneRecognizer (libphonenumber, region TR) covers most of these too;
# this pattern adds the formats it misses ("0 (532) 123-45-67", "+90-532-123-4567").
TR_PHONE_REGEX = (
    r"(?<![\w+])(?:(?:\+|00)\s?90[\s.-]?|0[\s.-]?)?\(?[2-58]\d{2}\)?[\s.-]?"
    r"\d{3}[\s.-]?\d{2}[\s.-]?\d{2}(?!\d)"
)
_TR_PHONE_FULL = re.compile(rf"^{TR_PHONE_REGEX}$")
_BARE_TR_MOBILE = re.compile(r"^(?:90|0)5\d{9}$")


def plausible_phone(span: str, *, column_supports: bool) -> bool:
    """Decide whether a phone-number match is a phone number and not an integer ID.

    libphonenumber accepts any 7-10 digit run that fits a numbering plan, which in tabular
    data is mostly IDs, tickets and zip codes. We keep a match only if it has at least 9
    digits and looks written like a phone number (international prefix, trunk 0, grouping
    separators or parentheses). Bare digit strings (e.g. a BIGINT column) count only when
    they are a Turkish mobile with its 90/0 prefix, or when the column name says "phone".
    """
    digits = sum(ch.isdigit() for ch in span)
    if digits < 9 or digits > 15:
        return False
    stripped = span.strip()
    if stripped.isdigit():
        return column_supports or bool(_BARE_TR_MOBILE.match(stripped))
    return stripped.startswith(("+", "0", "(")) or bool(re.search(r"\d[\s.\-/)]+\d", stripped))


def is_bare_tr_mobile(value: str) -> bool:
    """A Turkish mobile number stored as bare digits with its 90/0 prefix (e.g. a BIGINT)."""
    return bool(_BARE_TR_MOBILE.match(value))


def luhn_valid(digits: str) -> bool:
    """Luhn checksum (card numbers); lets pure-digit values skip Presidio when it fails."""
    total = 0
    for index, ch in enumerate(reversed(digits)):
        d = int(ch)
        if index % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def is_tr_phone(value: str) -> bool:
    """Whole-value check for Turkish phone formats (used by tests and value-level matching)."""
    return bool(_TR_PHONE_FULL.match(value.strip()))


# --------------------------------------------------------------------------- street addresses

# Common abbreviations plus the USPS street-suffix words ("Elm Creek", "Oak Hill"), which is
# also what Faker's en_US addresses use. The pattern needs a house number and 1-4 words first.
_EN_SUFFIX = "|".join(
    _words(
        "st ave av rd ln blvd dr ct pl ter cir pkwy hwy sq trl cres expy fwy "
        "street avenue road lane boulevard drive court way place terrace circle parkway highway "
        "square trail crescent close grove gardens heights plaza alley mews row walk parkways "
        "expressway freeway branch bridge brook brooks burg burgs bypass camp canyon cape "
        "causeway center centers circles cliff cliffs club common corner corners course courts "
        "cove coves creek crest crossing crossroad curve dale dam divide drives estate estates "
        "extension extensions fall falls ferry field fields flat flats ford fords forest forge "
        "forges fork forks fort garden gateway glen glens green greens groves harbor harbors "
        "haven hill hills hollow inlet island islands isle junction junctions key keys knoll "
        "knolls lake lakes land landing light lights loaf lock locks lodge loop mall manor "
        "manors meadow meadows mill mills mission motorway mount mountain mountains neck "
        "orchard oval overpass park parks pass passage path pike pine pines plain plains point "
        "points port ports prairie radial ramp ranch rapid rapids rest ridge ridges river roads "
        "route run shoal shoals shore shores skyway spring springs spur spurs squares station "
        "stravenue stream streets summit throughway trace track trafficway tunnel turnpike "
        "underpass union unions valley valleys viaduct view views village villages ville vista "
        "walks wall ways well wells"
    )
)
# Each entry: (pattern name, regex, score). Compiled by Presidio with IGNORECASE.
ADDRESS_PATTERNS: tuple[tuple[str, str, float], ...] = (
    # "123 Main Street", "17066 Heather Grove Apt. 915", "8 Margaret Spur"
    (
        "en street address",
        rf"\b\d{{1,6}}[a-z]?\s+(?:[^\W\d_][\w'.-]*\s+){{1,4}}(?:{_EN_SUFFIX})\b\.?",
        0.6,
    ),
    (
        "en unit",
        r"\b\d{1,6}\s+(?:[^\W\d_][\w'.-]*\s+){1,4}(?:apt|suite|ste|unit|flat)\.?\s*#?\d+",
        0.6,
    ),
    # UK style "Flat 2, Bradley Hill", "Studio 47a, Samuel Fall"
    (
        "uk flat address",
        rf"\b(?:flat|studio|apartment|unit)\s+\d{{1,5}}[a-z]?,?\s+(?:[^\W\d_][\w'.-]*\s+){{1,4}}(?:{_EN_SUFFIX})\b",
        0.6,
    ),
    # "Jens-Drubin-Straße 47", "Röhrichtweg 52", "Hauptstr. 5a"
    (
        "de street address",
        r"\b[^\W\d_][\w.-]*(?:straße|strasse|str\.|weg|platz|allee|gasse|ring|damm|ufer)\s+\d{1,4}\s?[a-z]?\b",
        0.6,
    ),
    # "8, rue Jeanne Henry", "214 avenue Charlotte"
    (
        "fr street address",
        r"\b\d{1,4}(?:\s?(?:bis|ter))?,?\s+(?:rue|avenue|av\.|boulevard|bd|chemin|place|allée|allee|impasse|quai|route|cours)\s+[^\W\d_]",
        0.6,
    ),
    # "Calle Mayor 5", "Ronda Lucila Andres 837", "C/ Gran Vía, 12", "C. de Albano Barba 28"
    (
        "es street address",
        r"(?<!\w)(?:calle|c/|c\.|avenida|avda\.?|plaza|paseo|camino|carretera|ronda|callejón|callejon|cuesta|urbanización|urbanizacion|vía|via|vial|travesía|travesia|glorieta|pasaje|rambla|alameda|acceso|cañada|canada|carrer|passeig|rúa|rua)\s+(?:[^\W\d_][\w'.-]*,?\s+){1,4}(?:\d{1,4}|s/n)\b",
        0.6,
    ),
    # "Atatürk Mah. Cumhuriyet Cd. No:12 D:3", "Gül Sokak No 5", "İnönü Bulvarı No: 7/2"
    (
        "tr street address",
        r"\b(?:mahallesi|mah\.|mh\.|caddesi|cadde|cad\.|cd\.|sokak|sokağı|sokagi|sok\.|sk\.|bulvarı|bulvari|bulvar|blv\.|blvd\.)\s*(?:[^\n]{0,40}?)\bno\s*[:.]?\s*\d{1,5}",
        0.65,
    ),
)

ADDRESS_COLUMN_WORDS: frozenset[str] = frozenset(
    _words(
        "address addr street adres adresi sokak cadde strasse anschrift rue calle direccion "
        "domicilio location line1 address1 address2"
    )
)


# --------------------------------------------------------------------------- dates of birth

DOB_COLUMN_WORDS: frozenset[str] = frozenset(
    _words(
        "dob birth birthdate birthday dateofbirth bday dogum dogumtarihi geburtsdatum "
        "geburtstag naissance nacimiento fechanacimiento born"
    )
)

_DATE_SHAPES = (
    re.compile(
        r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?$"
    ),
    # D.M.Y, D/M/Y, D-M-Y; US M/D/Y lands here too and is retried with day and month swapped.
    re.compile(r"^(?P<d>\d{1,2})[./-](?P<m>\d{1,2})[./-](?P<y>\d{4})$"),
)


def parse_date(value: str) -> date | None:
    """Parse the common written date shapes (ISO, D.M.Y, D/M/Y, M/D/Y) without pandas.

    Deliberately narrow: bare years or integers such as `yr_built` are never dates, and
    timestamps with a time of day other than midnight are events rather than birthdays.
    """
    text = value.strip()
    for shape in _DATE_SHAPES:
        found = shape.match(text)
        if not found:
            continue
        y, m, d = (int(found.group(k)) for k in ("y", "m", "d"))
        for month, day in ((m, d), (d, m)):
            try:
                return date(y, month, day)
            except ValueError:
                continue
    return None


def is_plausible_birth(day: date, today: date) -> bool:
    """A birth date lies between 1900 and today."""
    return day.year >= 1900 and day <= today


# --------------------------------------------------------------------------- column-name hints

ENTITY_COLUMN_WORDS: dict[str, frozenset[str]] = {
    "EMAIL_ADDRESS": frozenset({"email", "mail", "eposta", "emailaddress", "courriel", "correo"}),
    "PHONE_NUMBER": frozenset(
        _words("phone tel telefon telephone telefono mobile cell gsm cep phonenumber fax handy")
    ),
    "CREDIT_CARD": frozenset({"card", "cc", "kart", "creditcard", "pan", "kredikarti"}),
    "IBAN_CODE": frozenset({"iban", "account", "hesap", "bank"}),
    "IP_ADDRESS": frozenset({"ip", "ipaddress", "ipv4", "ipv6", "host"}),
    "URL": frozenset({"url", "website", "web", "site", "link", "homepage", "uri"}),
    "US_SSN": frozenset({"ssn", "social", "socialsecurity"}),
    "TR_NATIONAL_ID": frozenset(
        {"tckn", "tc", "kimlik", "tckimlik", "kimlikno", "nationalid", "national", "vatandaslik"}
    ),
    "PERSON": PERSON_COLUMN_WORDS,
    "LOCATION": ADDRESS_COLUMN_WORDS,
    "DATE_OF_BIRTH": DOB_COLUMN_WORDS,
}


_SINGLE_NAME_WORDS = frozenset(
    _words(
        "surname forename soyad soyadi ad adi isim vorname nachname prenom nombre apellido "
        "apellidos firstname lastname givenname familyname middlename"
    )
)
_NOT_PERSON_QUALIFIERS = frozenset(
    _words(
        "city town country state product item company brand store shop street file host domain "
        "model category team event project bank place region district sehir il ilce urun firma "
        "sirket"
    )
)
_NAME_QUALIFIERS = frozenset({"first", "last", "given", "family", "middle", "maiden", "nick"})


def column_holds_single_names(column: str) -> bool:
    """True when a column's name says it holds *parts* of names (first_name, soyad, name).

    Single listed tokens are weak evidence ("Jackson", "Lincoln" are cities too), so they
    count only under a name like `first_name`, `LastName`, `soyad`, `isim` or just `name`,
    never under a compound such as `city_name` or `product_name`.
    """
    tokens = name_tokens(column)
    if _NOT_PERSON_QUALIFIERS.intersection(tokens):
        return False
    if tokens == ["name"] or "".join(tokens) in _SINGLE_NAME_WORDS:
        return True
    if _SINGLE_NAME_WORDS.intersection(tokens):
        return True
    return "name" in tokens and bool(_NAME_QUALIFIERS.intersection(tokens))


def column_supports(column: str, entity: str) -> bool:
    """True when a column's name hints at `entity` (supporting evidence only).

    Matches whole words ("ad_soyad" -> ad, soyad) and the joined name ("dateOfBirth" ->
    "dateofbirth"), so "address" does not support "ad" (PERSON) by substring accident.
    """
    words = ENTITY_COLUMN_WORDS.get(entity, frozenset())
    tokens = name_tokens(column)
    if entity == "PERSON" and _NOT_PERSON_QUALIFIERS.intersection(tokens):
        return False  # city_name, product_name, file_name: a name, not a person's
    joined = "".join(tokens)
    return bool(words.intersection(tokens)) or joined in words
