"""PII policies as pure functions on pandas Series: hash, fake, mask and generalize.

The engine decides *which* policy applies to a column (``drop`` and ``keep`` need no function:
a dropped column is published as NULLs of its type, a kept one is passed through), reads the
secrets from the environment and passes them in as ``bytes``. Nothing here reads the
environment, writes anything or keeps state beyond a per-thread cache of Faker instances.

Two rules hold everywhere:

* **No value in any message.** :class:`PolicyError` messages name providers, locales, types and
  counts, never a cell value, so they are safe in CI logs and ``run_results.json``.
* **Secrets are mandatory.** A missing, empty or short key is an error, never a default: an
  unkeyed (or guessable-key) hash of a name or an email is reversed by hashing a dictionary.

Keyed derivations share one canonical form of a value (:func:`canonical_text`) so that the same
real value gives the same output in every table and every run, whatever pandas dtype it happened
to arrive in (``5``, ``5.0`` and ``"5"`` are the same key). Every HMAC input starts with a
purpose label (``synthspec:hash:v1`` / ``synthspec:fake:v1``) so one secret may safely serve both
policies: a hashed value never reveals the seed of a faked one.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import functools
import hashlib
import hmac
import math
import re
import threading
import unicodedata
import uuid
import warnings
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from synthspec.engine.columns import width_decimals
from synthspec.privacy.consistency import RowFake, composed

if TYPE_CHECKING:
    from faker.generator import Generator

#: Shortest accepted secret. HMAC with a short or guessable key is no better than a plain hash
#: against a dictionary attack, which is exactly what the keyed policies exist to prevent.
#: ``openssl rand -hex 32`` gives 64 bytes of key material.
MIN_KEY_BYTES = 16

#: Length of the hex digest published for string columns: 128 bits keeps accidental collisions
#: out of reach (~2^-64 for 2^32 distinct values) while staying a readable column width.
HEX_CHARS = 32

_HASH_LABEL = b"synthspec:hash:v1\x00"
_FAKE_LABEL = b"synthspec:fake:v1\x00"

#: Counters tried per value before ``fake_values`` gives up finding an unused (``unique``) or
#: non-avoided fake. A provider with a tiny output space (``boolean``) fails fast instead of
#: looping.
MAX_FAKE_ATTEMPTS = 200

DatetimeUnit = Literal["year", "quarter", "month", "week", "day", "hour"]


class PolicyError(ValueError):
    """A PII policy cannot be applied. The message names the policy input, never a value."""


# --- canonical forms --------------------------------------------------------------------------


def canonical_text(value: Any) -> str:
    """The text a keyed policy derives from: one form per real value, whatever its dtype.

    Rules (the input to every HMAC, so changing them changes every hashed and faked value):

    * ``str``: Unicode NFC, surrounding whitespace stripped; case kept (``"Ali"`` and ``"ali"``
      may be different identifiers);
    * ``bool``: ``"true"`` / ``"false"``;
    * integers, and floats or decimals with an integral value: the decimal integer (``5``,
      ``5.0``, ``Decimal("5.00")`` and ``"5"`` all give ``"5"``, so a key read as BIGINT in one
      table and as DOUBLE-with-nulls in another still joins);
    * other floats: ``repr`` (shortest round-trip form); other decimals: plain notation;
    * timestamps: ISO 8601; a naive timestamp at midnight gives the date alone, so a DATE read
      as ``datetime64`` matches the same DATE read as ``datetime.date``;
    * ``uuid.UUID``: lowercase canonical form; ``bytes``: lowercase hex;
    * anything else: NFC of ``str(value)``, stripped.

    Nulls have no canonical form: callers keep them null.
    """
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value).strip()
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isfinite(number) and number.is_integer():
            return str(int(number))
        return repr(number)
    if isinstance(value, decimal.Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return str(int(value))
        return format(value.normalize(), "f")
    if isinstance(value, (pd.Timestamp, _dt.datetime)):
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is None and stamp == stamp.normalize():
            try:
                return stamp.date().isoformat()
            except (NotImplementedError, ValueError, OverflowError):  # beyond Python's years 1-9999
                return str(np.datetime_as_string(stamp.asm8, unit="D"))
        return stamp.isoformat()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return canonical_text(pd.Timestamp(value))
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return unicodedata.normalize("NFC", str(value)).strip()


def normalise_for_matching(value: Any) -> str:
    """A loose, language-aware form for *detecting* a real value in output (``pii_leakage``).

    Much looser than :func:`canonical_text`, because a false match only costs a review while a
    missed leak publishes a real person's data: NFKC (full-width and compatibility forms fold),
    Turkish dotted/dotless i folded to ``i`` (``"İSTANBUL"``, ``"istanbul"`` and
    ``"ıstanbul"`` all match; plain ``casefold`` would turn ``İ`` into ``i`` + a combining dot
    and miss), then ``casefold``, then whitespace stripped and runs collapsed to one space.
    Non-strings go through :func:`canonical_text` first, so ``5321234567.0`` matches
    ``"5321234567"``.
    """
    text = value if isinstance(value, str) else canonical_text(value)
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("İ", "i").replace("ı", "i")
    text = unicodedata.normalize("NFKC", text.casefold()).replace("i\u0307", "i")
    return " ".join(text.split())


def _check_key(key: bytes, policy: str) -> bytes:
    """Reject a missing, empty or short secret (the message names the policy, not the key)."""
    if not isinstance(key, (bytes, bytearray)):
        raise PolicyError(f"{policy}: the secret key must be bytes")
    if len(key) < MIN_KEY_BYTES:
        raise PolicyError(
            f"{policy}: the secret key is missing or shorter than {MIN_KEY_BYTES} bytes "
            "(generate one with `openssl rand -hex 32`)"
        )
    return bytes(key)


def _distinct(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes per row (-1 for nulls) and the distinct canonical texts they point to.

    Distinct raw values are canonicalised once each, then merged by canonical text (``5`` and
    ``"5"`` become one entry). ``pd.factorize`` treats ``True`` and ``1`` as one value, so an
    object column mixing bools with other values is canonicalised per row instead.
    """
    null = values.isna().to_numpy()
    codes = np.full(len(values), -1, dtype=np.int64)
    present = values[~null]
    if len(present) == 0:
        return codes, []
    raw_codes, uniques = pd.factorize(present, use_na_sentinel=True)
    uniques_list = list(uniques)
    has_bool = any(isinstance(u, (bool, np.bool_)) for u in uniques_list)
    if has_bool and not all(isinstance(u, (bool, np.bool_)) for u in uniques_list):
        texts = [canonical_text(v) for v in present.to_numpy(dtype=object)]
    else:
        canon = np.array([canonical_text(u) for u in uniques_list], dtype=object)
        texts = list(canon[raw_codes])
    merged, distinct = pd.factorize(pd.Series(texts, dtype=object))
    codes[~null] = merged
    return codes, [str(t) for t in distinct]


def _rebuild(
    values: pd.Series, codes: np.ndarray, outputs: Sequence[Any], dtype: str | None
) -> pd.Series:
    """A Series shaped like ``values`` holding ``outputs[code]`` per row, null where code < 0."""
    out = np.empty(len(codes), dtype=object)
    out[:] = None
    if len(outputs):
        table = np.empty(len(outputs), dtype=object)
        table[:] = list(outputs)
        ok = codes >= 0
        out[ok] = table[codes[ok]]
    series = pd.Series(out, index=values.index, name=values.name, dtype=object)
    return series.astype(dtype) if dtype is not None else series


# --- hash ----------------------------------------------------------------------------------------

_STRING_TYPES = frozenset({"VARCHAR", "TEXT", "STRING", "CHAR", "BPCHAR", "NVARCHAR"})
#: DuckDB integer types (and aliases): (bits, signed, pandas dtype or None for object ints).
_INTEGER_TYPES: dict[str, tuple[int, bool, str | None]] = {
    "TINYINT": (8, True, "Int8"),
    "INT1": (8, True, "Int8"),
    "SMALLINT": (16, True, "Int16"),
    "INT2": (16, True, "Int16"),
    "SHORT": (16, True, "Int16"),
    "INTEGER": (32, True, "Int32"),
    "INT": (32, True, "Int32"),
    "INT4": (32, True, "Int32"),
    "SIGNED": (32, True, "Int32"),
    "BIGINT": (64, True, "Int64"),
    "INT8": (64, True, "Int64"),
    "LONG": (64, True, "Int64"),
    "HUGEINT": (128, True, None),
    "INT128": (128, True, None),
    "UTINYINT": (8, False, "UInt8"),
    "USMALLINT": (16, False, "UInt16"),
    "UINTEGER": (32, False, "UInt32"),
    "UBIGINT": (64, False, "UInt64"),
    "UHUGEINT": (128, False, None),
}


def integer_hash_range(duckdb_type: str) -> tuple[int, int]:
    """Inclusive ``(low, high)`` of hashed values for an integer type: non-negative, in range.

    Signed types use ``[0, 2^(bits-1) - 1]`` so the output never depends on two's-complement
    conventions and sorts like the digests. Small types collide a lot (TINYINT has 128 values):
    hashing into them keeps the type but not distinctness, which is the caller's trade-off.
    """
    bits, signed, _ = _INTEGER_TYPES[_base_type(duckdb_type)]
    return 0, (1 << (bits - 1 if signed else bits)) - 1


def _base_type(duckdb_type: str) -> str:
    """``"varchar(255)"`` -> ``"VARCHAR"``: parameters and case do not change the policy."""
    return re.sub(r"\(.*\)$", "", duckdb_type.strip()).strip().upper()


def _uuid_from_digest(digest: bytes) -> str:
    """A version-4, RFC 4122 variant UUID from the first 16 digest bytes (same as uuid4's bits)."""
    raw = bytearray(digest[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


def hash_values(values: pd.Series, key: bytes, duckdb_type: str) -> pd.Series:
    """Keyed, type-preserving pseudonyms: HMAC-SHA256(key, label + canonical text) per value.

    The same key and value give the same output in every call, table and process, so joins on
    a hashed key survive; without the key the mapping cannot be rebuilt from a dictionary of
    candidate values. The canonical text is :func:`canonical_text` (NFC, stripped, case kept).
    Output by DuckDB type (parameters such as ``VARCHAR(255)`` are ignored):

    * VARCHAR / TEXT / STRING / CHAR / BPCHAR: the first :data:`HEX_CHARS` (32) lowercase hex
      characters of the digest (128 bits), no prefix; object dtype;
    * integer types TINYINT..BIGINT, HUGEINT and UTINYINT..UHUGEINT: the digest as a big-endian
      integer modulo the size of :func:`integer_hash_range` (non-negative, within the type);
      pandas nullable ``Int8``..``UInt64`` dtypes, object dtype of Python ints for the 128-bit
      types;
    * UUID: a version-4 UUID string built from the digest.

    Other types are refused: hashing a DATE/TIMESTAMP/BOOLEAN/DOUBLE gives neither a useful
    pseudonym (a random date carries no meaning, a hashed boolean is still two values) nor
    privacy; use ``generalize``, ``fake`` or ``drop`` for them. Nulls stay null.
    """
    secret = _check_key(key, "hash")
    base = _base_type(duckdb_type)
    if base not in _STRING_TYPES and base not in _INTEGER_TYPES and base != "UUID":
        raise PolicyError(
            f"hash: cannot hash a {base} column; hash supports string, integer and UUID "
            "types (use generalize, fake or drop for others)"
        )
    codes, texts = _distinct(values)
    digests = [
        hmac.digest(secret, _HASH_LABEL + text.encode("utf-8"), hashlib.sha256) for text in texts
    ]
    if base in _STRING_TYPES:
        return _rebuild(values, codes, [d.hex()[:HEX_CHARS] for d in digests], None)
    if base == "UUID":
        return _rebuild(values, codes, [_uuid_from_digest(d) for d in digests], None)
    _, high = integer_hash_range(base)
    numbers = [int.from_bytes(d, "big") % (high + 1) for d in digests]
    return _rebuild(values, codes, numbers, _INTEGER_TYPES[base][2])


# --- fake ----------------------------------------------------------------------------------------

_generators = threading.local()


def _resolve_locale(locale: str | None) -> str:
    """Faker's locale name (``tr-TR`` -> ``tr_TR``; ``None`` -> Faker's default ``en_US``)."""
    from faker.config import AVAILABLE_LOCALES, DEFAULT_LOCALE

    name = DEFAULT_LOCALE if locale is None else locale.strip().replace("-", "_")
    if name not in AVAILABLE_LOCALES:
        raise PolicyError(f"fake: unknown Faker locale {name!r}")
    return name


def _generator(locale: str) -> Generator:
    """A cached Faker generator for ``locale``, one per thread.

    Creating a Faker instance loads every provider of the locale (~0.15 s), far more than the
    ~25 us a seeded draw costs, so instances are reused. They are per thread because every draw
    re-seeds the instance: two threads sharing one would interleave seeds and outputs.
    """
    cache: dict[str, Generator] | None = getattr(_generators, "cache", None)
    if cache is None:
        cache = {}
        _generators.cache = cache
    if locale not in cache:
        from faker import Faker

        # Unweighted: weighted locales (en_US) rebuild cumulative weights over thousands of
        # names on every draw, ~230 us per name against ~25 us unweighted (measured, Faker 40).
        # Fakes are generated after sampling and never modelled, so name frequencies matter
        # little, and a flat distribution also collides less often with common real names.
        cache[locale] = Faker(locale, use_weighting=False)._factories[0]
    return cache[locale]


def _provider_method(generator: Generator, provider: str) -> Any:
    """The bound Faker provider method named ``provider``, or :class:`PolicyError`.

    Only methods of Faker *providers* qualify, so a spec cannot name generator internals such
    as ``seed_instance``, ``add_provider`` or ``parse``.
    """
    from faker.providers import BaseProvider

    method = getattr(generator, provider, None) if provider.isidentifier() else None
    if (
        provider.startswith("_")
        or not callable(method)
        or not isinstance(getattr(method, "__self__", None), BaseProvider)
    ):
        raise PolicyError(f"fake: unknown Faker provider {provider!r}")
    return method


@functools.lru_cache(maxsize=1024)
def provider_available(locale: str | None, provider: str) -> bool:
    """Whether Faker's ``locale`` has ``provider`` (and can draw it without arguments); cached,
    as it is asked once per row of a column that follows a country."""
    try:
        generator = _generator(_resolve_locale(locale))
        method = _provider_method(generator, provider)
        generator.seed_instance(0)
        method()
    except Exception:  # a provider a locale lacks fails in Faker's own ways
        return False
    return True


def fake_values(
    values: pd.Series,
    key: bytes,
    provider: str,
    locale: str | None = None,
    *,
    unique: bool = False,
    avoid: Collection[str] | None = None,
    rows: Sequence[RowFake] | None = None,
) -> pd.Series:
    """Consistent fake values: the same real value gives the same fake in every table and run.

    For each distinct real value (canonical text, see :func:`canonical_text`) and attempt
    counter ``c`` (starting at 0)::

        digest = HMAC-SHA256(key, "synthspec:fake:v1\\0" + provider + "\\0" + locale + "\\0"
                                  + c + "\\0" + canonical value)
        seed   = first 8 bytes of digest, big-endian
        fake   = Faker(locale, use_weighting=False) seeded with seed, then getattr(fake, provider)()

    The fake is a function of the secret and the value only: no real-to-fake table exists
    anywhere, and without the key the mapping cannot be rebuilt from a dictionary. The output
    also depends on the installed Faker version (its word lists and algorithms), which callers
    should pin or fingerprint. Full names (``name``, ``name_female``...) are drawn from the
    locale's name patterns without honorifics or suffixes (:mod:`synthspec.privacy.consistency`).

    ``rows``: one :class:`~synthspec.privacy.consistency.RowFake` per value when the column
    follows its row (a sex column, a country column, the row's fake name). The row's provider
    and locale replace ``provider`` and ``locale`` above, and its name parts are appended to
    the message (``"\\0"`` + parts joined by ``"\\x1f"``), so the fake is a keyed function of
    the value *and* its row context: the same pair gives the same fake everywhere.

    ``avoid``: already-normalised (:func:`normalise_for_matching`) strings a fake must not equal
    -- typically every real value of every PII column, so that a fake never coincides with a
    real person's value and trips ``pii_leakage`` (common names collide often). A fake that
    does is re-derived with the next counter; this depends only on the value and ``avoid``.

    ``unique=True`` makes distinct real values map to distinct fakes. Values are visited in
    the order of their counter-0 digests (never the order of the real values): each keeps its
    natural fake unless a value earlier in that order already holds it; those losers then try
    counters 1, 2, ... in the same order until a fake is free. So every value that does not
    collide gets exactly the fake it gets with ``unique=False``; only colliding values can
    differ between tables with different value sets (fake a child table's key from the parent's
    values when that matters).

    Nulls stay null. Output is an object Series of whatever the provider returns (str for
    ``name``/``email``, ``datetime.date`` for ``date_of_birth``...). Raises :class:`PolicyError`
    for a short key, an unknown locale or provider, a provider that needs arguments, or one
    that cannot produce enough distinct values within :data:`MAX_FAKE_ATTEMPTS` counters.
    """
    secret = _check_key(key, "fake")
    _drawer(provider, locale)  # an unknown locale or provider is an error even with no values
    codes, texts = _distinct(values)
    if rows is None:
        units = [(text, RowFake(provider, locale)) for text in texts]
    else:
        if len(rows) != len(values):
            raise PolicyError(f"fake: {len(rows)} row contexts for {len(values)} values")
        codes, units = _units(codes, texts, rows)
    draws = {(unit.provider, unit.locale): _drawer(unit.provider, unit.locale) for _, unit in units}
    encoded = [_unit_message(text, unit) for text, unit in units]
    prefixes = [_FAKE_LABEL + f"{unit.provider}\x00{draws[(unit.provider, unit.locale)][0]}\x00".encode()
                for _, unit in units]

    def digest(index: int, counter: int) -> bytes:
        message = prefixes[index] + str(counter).encode() + b"\x00" + encoded[index]
        return hmac.digest(secret, message, hashlib.sha256)

    def draw(index: int, counter: int, raw: bytes) -> Any:
        unit = units[index][1]
        locale_name, generator, method = draws[(unit.provider, unit.locale)]
        generator.seed_instance(int.from_bytes(raw[:8], "big"))
        try:
            done, value = composed(generator, unit.provider, unit.parts, counter)
            return value if done else method()
        except TypeError as exc:  # a provider with required arguments
            raise PolicyError(f"fake: Faker provider {unit.provider!r} needs arguments") from exc
        except Exception as exc:  # Faker only ever sees seeds, so its messages hold no PII
            raise PolicyError(f"fake: Faker provider {unit.provider!r} failed ({locale_name})") from exc

    def acceptable(fake: Any) -> bool:
        return not avoid or normalise_for_matching(fake) not in avoid

    def too_few() -> PolicyError:
        return PolicyError(
            f"fake: Faker provider {provider!r} ({_resolve_locale(locale)}) could not produce "
            f"{len(units)} acceptable distinct values within {MAX_FAKE_ATTEMPTS} attempts each"
        )

    first = [digest(i, 0) for i in range(len(units))]
    natural: list[Any] = []
    next_counter: list[int] = []
    for i in range(len(units)):
        counter, candidate = 0, draw(i, 0, first[i])
        while not acceptable(candidate):
            counter += 1
            if counter >= MAX_FAKE_ATTEMPTS:
                raise too_few()
            candidate = draw(i, counter, digest(i, counter))
        natural.append(candidate)
        next_counter.append(counter + 1)
    if not unique:
        return _rebuild(values, codes, natural, None)

    try:
        set(natural)
    except TypeError:
        raise PolicyError(
            f"fake: Faker provider {provider!r} returns unhashable values; unique is unsupported"
        ) from None
    order = sorted(range(len(units)), key=first.__getitem__)
    fakes: list[Any] = list(natural)
    used: set[Any] = set()
    losers: list[int] = []
    for i in order:
        if natural[i] in used:
            losers.append(i)
        else:
            used.add(natural[i])
    for i in losers:
        counter = next_counter[i]
        while True:
            if counter >= MAX_FAKE_ATTEMPTS:
                raise too_few()
            candidate = draw(i, counter, digest(i, counter))
            counter += 1
            if candidate not in used and acceptable(candidate):
                break
        fakes[i] = candidate
        used.add(candidate)
    return _rebuild(values, codes, fakes, None)


def _drawer(provider: str, locale: str | None) -> tuple[str, Generator, Any]:
    """(Faker locale name, cached generator, provider method) for one provider and locale."""
    locale_name = _resolve_locale(locale)
    generator = _generator(locale_name)
    return locale_name, generator, _provider_method(generator, provider)


def _units(codes: np.ndarray, texts: list[str], rows: Sequence[RowFake]) -> tuple[np.ndarray, list[tuple[str, RowFake]]]:
    """Distinct (value, row context) pairs and each row's index into them (-1 for nulls)."""
    index: dict[tuple[int, RowFake], int] = {}
    units: list[tuple[str, RowFake]] = []
    out = np.full(len(codes), -1, dtype=np.int64)
    for i, code in enumerate(codes.tolist()):
        if code < 0:
            continue
        pair = (code, rows[i])
        if pair not in index:
            index[pair] = len(units)
            units.append((texts[code], rows[i]))
        out[i] = index[pair]
    return out, units


def _unit_message(text: str, unit: RowFake) -> bytes:
    """The canonical value, plus the row's fake name parts when the fake is built from them
    (without parts the message is the value alone, as for a column with no row context)."""
    if not unit.parts:
        return text.encode("utf-8")
    return text.encode("utf-8") + b"\x00" + "\x1f".join(unit.parts).encode("utf-8")


# --- mask ----------------------------------------------------------------------------------------

_EMAIL = re.compile(r"^([^@\s]+)@([^@\s]+\.[^@\s]+)$")


def _mask_text(text: str, keep_last: int, char: str) -> str:
    """Mask alphanumerics except the last ``keep_last`` (at most half of them); keep the rest."""
    total = sum(1 for c in text if c.isalnum())
    keep = min(keep_last, total // 2)
    out: list[str] = []
    seen = 0
    for c in text:
        if c.isalnum():
            seen += 1
            out.append(c if seen > total - keep else char)
        else:
            out.append(c)
    return "".join(out)


def _mask_email(local: str, domain: str, char: str) -> str:
    """``ali.veli@example.com`` -> ``a**.****@example.com`` (first character kept when the local
    part has at least two alphanumerics, so a one-letter local part is never shown)."""
    total = sum(1 for c in local if c.isalnum())
    out: list[str] = []
    kept = total < 2
    for c in local:
        if c.isalnum() and not kept:
            out.append(c)
            kept = True
        elif c.isalnum():
            out.append(char)
        else:
            out.append(c)
    return "".join(out) + "@" + domain


def mask_values(values: pd.Series, *, keep_last: int = 4, char: str = "*") -> pd.Series:
    """Partial masking that keeps a value's shape: lengths and separators survive.

    Rule, per value (as :func:`canonical_text`, so numbers mask like their digits):

    * an email (``local@domain.tld``, one ``@``): the first alphanumeric of the local part is
      kept, every other alphanumeric of the local part becomes ``char``, punctuation and the
      domain are kept -- ``ali.veli@example.com`` -> ``a**.****@example.com``;
    * anything else: the last ``keep_last`` alphanumerics are kept, all other alphanumerics
      become ``char``, everything else (spaces, ``+``, ``-``, ``/``...) is kept --
      ``+90 532 123 45 67`` -> ``+** *** *** 45 67``.

    At most half of a value's alphanumerics (rounded down) are ever kept, so a short value
    (a 4-digit PIN with ``keep_last=4``) is never shown whole. The output is deterministic and
    unkeyed: it is a display form, not a pseudonym (two values may mask alike; use ``hash`` for
    join keys). Nulls stay null; the result is an object Series of str.
    """
    if keep_last < 0:
        raise PolicyError("mask: keep_last must be at least 0")
    if len(char) != 1:
        raise PolicyError("mask: the mask character must be a single character")
    codes, texts = _distinct(values)
    masked = []
    for text in texts:
        email = _EMAIL.match(text)
        if email:
            masked.append(_mask_email(email.group(1), email.group(2), char))
        else:
            masked.append(_mask_text(text, keep_last, char))
    return _rebuild(values, codes, masked, None)


# --- generalize ----------------------------------------------------------------------------------


def _as_float(values: pd.Series, policy: str) -> np.ndarray:
    """float64 values (NaN for nulls); a non-numeric cell is an error counted, never shown."""
    if values.dtype == object or pd.api.types.is_bool_dtype(values):
        numbers = pd.to_numeric(values.astype(object).where(values.notna(), None), errors="coerce")
    else:
        numbers = pd.to_numeric(values, errors="coerce")
    array = np.asarray(numbers, dtype=np.float64)
    bad = int((np.isnan(array) & values.notna().to_numpy()).sum())
    if bad:
        raise PolicyError(f"{policy}: {bad} non-numeric value(s) in a numeric column")
    return array


def generalize_numeric(
    values: pd.Series, *, width: float | None = None, bins: Sequence[float] | None = None, published: bool = False,
    lowest: float | None = None,
) -> pd.Series:
    """Replace each number by the lower edge of its bin (float64; nulls stay NaN).

    ``published``: the values are edges already, as published: the CAST to the column's type
    may have moved one a little (36.6 as REAL is 36.5999985), so each goes back to its nearest
    edge rather than to the lower edge of the bin it now falls in.

    Exactly one of:

    * ``width``: equal bins anchored at 0, ``[k*width, (k+1)*width)``; ``37 -> 30`` with
      width 10, ``-3 -> -10``. A value within 1e-9 (relative) of an edge counts as on it, so
      ``0.3`` with width ``0.1`` lands in ``[0.3, 0.4)`` although ``0.3 / 0.1 < 3`` in floating
      point, and edges are rounded to the decimals of ``width`` (``0.6``, not ``0.6000000000000001``).
      ``lowest``: the least value the column's type holds; a bin starting below it is
      bottom-coded to the first edge at or above it (TINYINT's ``-128`` with width 10: ``-120``,
      not ``-130``, which the column could not hold);
    * ``bins``: strictly increasing finite edges; a value maps to the greatest edge ``<=`` it.
      Values below the first edge map to the first edge and values above the last edge to the
      last (bottom- and top-coding: outliers are the most identifying values, so the open-ended
      outer bins absorb them rather than exposing them or turning them into nulls).

    Infinite values stay infinite with ``width`` and are coded like outliers with ``bins``.
    """
    if (width is None) == (bins is None):
        raise PolicyError("generalize: give exactly one of width and bins")
    array = _as_float(values, "generalize")
    if width is not None:
        if not (math.isfinite(width) and width > 0):
            raise PolicyError("generalize: width must be a positive finite number")
        with np.errstate(invalid="ignore"):
            ratio = array / width
            nearest = np.round(ratio)
            on_edge = published | (np.abs(ratio - nearest) <= 1e-9 * np.maximum(1.0, np.abs(nearest)))
            out = np.round(np.where(on_edge, nearest, np.floor(ratio)) * width, width_decimals(width))
        if lowest is not None:
            first = round(math.ceil(lowest / width - 1e-9) * width, width_decimals(width))
            out = np.where(out < lowest, first, out)
        out = np.where(np.isinf(array), array, out)
    else:
        edges = np.asarray(list(bins or []), dtype=np.float64)
        if len(edges) == 0 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
            raise PolicyError("generalize: bins must be non-empty, finite and strictly increasing")
        position = np.searchsorted(edges, array, side="right") - 1
        if published:  # the nearer of the edges below and above
            above = np.clip(position + 1, 0, len(edges) - 1)
            below = np.clip(position, 0, len(edges) - 1)
            position = np.where(np.abs(edges[above] - array) < np.abs(array - edges[below]), above, position)
        out = edges[np.clip(position, 0, len(edges) - 1)]
        out = np.where(np.isnan(array), np.nan, out)
    return pd.Series(out, index=values.index, name=values.name, dtype="float64")


def _truncate_array(stamps: np.ndarray, unit: str) -> np.ndarray:
    """Truncate a numpy ``datetime64`` array (any unit) in its own unit; weeks start on Monday
    (ISO, like DuckDB), quarters on Jan/Apr/Jul/Oct 1. numpy's calendar units cover every year
    DuckDB stores (pandas periods end in 2262); casts to a coarser unit floor, also before 1970."""
    if unit == "quarter":
        months = stamps.astype("datetime64[M]").astype("int64")
        out = (months - months % 3).astype("datetime64[M]")
    elif unit == "week":
        days = stamps.astype("datetime64[D]").astype("int64")
        out = (days - (days + 3) % 7).astype("datetime64[D]")  # 1970-01-01 was a Thursday
    else:
        out = stamps.astype(f"datetime64[{_NUMPY_UNITS[unit]}]")
    out = out.astype(stamps.dtype)
    out[np.isnat(stamps)] = np.datetime64("NaT")
    return out


_NUMPY_UNITS: dict[str, str] = {"year": "Y", "month": "M", "day": "D", "hour": "h"}


def _truncate_naive(stamps: pd.Series, unit: str) -> pd.Series:
    """Truncate tz-naive datetime64 values (see :func:`_truncate_array`), keeping their unit."""
    return pd.Series(_truncate_array(stamps.to_numpy(), unit), index=stamps.index, name=stamps.name)


def generalize_datetime(values: pd.Series, unit: DatetimeUnit) -> pd.Series:
    """Truncate dates/timestamps to the start of their year/quarter/month/week/day/hour.

    Matches DuckDB's ``date_trunc``: weeks start on Monday; quarters on Jan/Apr/Jul/Oct 1.
    Accepts and returns the same representation:

    * ``datetime64`` (any unit) stays that dtype; a tz-aware series is truncated in its own
      wall-clock time (a Berlin timestamp truncates to Berlin midnight); a truncated day or
      larger that falls into a DST gap moves forward, and an ambiguous one takes standard time;
      ``hour`` subtracts the wall-clock minutes, so it never meets either;
    * numbers are epoch seconds (the model frame contract) and stay float64 seconds (UTC);
    * an object column of ``datetime.date``/``datetime`` values returns ``datetime.date``
      values when every value was a plain date, else ``datetime64[us]`` (tz-aware values:
      pandas' representation of them).

    Every year DuckDB stores is truncated exactly (numpy's calendar, not pandas' nanoseconds).

    Nulls stay null; an unparseable cell is an error counted, never shown.
    """
    if unit not in ("year", "quarter", "month", "week", "day", "hour"):
        raise PolicyError(f"generalize: unknown datetime unit {unit!r}")
    try:
        return _generalize_datetime(values, unit)
    except PolicyError:
        raise
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        # pandas messages quote the offending value (a birth date): never pass them on.
        raise PolicyError(
            f"generalize: cannot truncate column {values.name!r} to {unit}: values out of "
            "range or not dates/timestamps"
        ) from None


def _generalize_datetime(values: pd.Series, unit: str) -> pd.Series:
    """:func:`generalize_datetime` without the error translation (see there)."""
    notna = values.notna()
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        seconds = _as_float(values, "generalize")
        present = ~np.isnan(seconds)
        if np.any(np.abs(seconds[present]) > _MAX_SECONDS):
            raise OverflowError("beyond the years a timestamp holds")
        whole = np.floor(np.where(present, seconds, 0.0)).astype("int64")
        truncated = _truncate_array(whole.astype("datetime64[s]"), unit).astype("int64").astype("float64")
        out = np.where(present, truncated, np.nan)
        return pd.Series(out, index=values.index, name=values.name, dtype="float64")
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        tz = values.dtype.tz
        if str(tz) in _UTC_NAMES:
            # UTC (how synthspec reads every TIMESTAMPTZ): truncate the instants themselves, with
            # no wall-clock conversion, which pandas cannot do safely for far-away years.
            instants = np.asarray(values.array.asi8).view(f"datetime64[{values.dtype.unit}]")
            return pd.Series(_truncate_array(instants, unit), index=values.index, name=values.name).dt.tz_localize(tz)
        if unit == "hour":
            wall = values.dt.tz_localize(None)
            return values - (wall - wall.dt.floor("h"))
        wall = _truncate_naive(values.dt.tz_localize(None), unit)
        ambiguous = np.zeros(len(values), dtype=bool)
        return wall.dt.tz_localize(tz, ambiguous=ambiguous, nonexistent="shift_forward")
    if pd.api.types.is_datetime64_dtype(values):
        return _truncate_naive(values, unit)
    present = values[notna]
    plain_dates = len(present) > 0 and all(
        isinstance(v, _dt.date) and not isinstance(v, _dt.datetime) for v in present
    )
    stamps = naive_datetimes(values)
    if stamps is None:  # other formats, or with an offset: pandas' parser
        stamps = pd.to_datetime(values, errors="coerce", format="mixed")
    bad = int((stamps.isna() & notna).sum())
    if bad:
        raise PolicyError(f"generalize: {bad} value(s) that are not dates or timestamps")
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        return _generalize_datetime(stamps, unit)
    truncated = _truncate_naive(stamps, unit)
    if plain_dates:
        dates = np.empty(len(values), dtype=object)
        dates[:] = None
        ok = notna.to_numpy()
        dates[ok] = list(truncated.to_numpy()[ok].astype("datetime64[D]").astype(object))
        return pd.Series(dates, index=values.index, name=values.name, dtype=object)
    return truncated.rename(values.name)


def naive_datetimes(values: pd.Series) -> pd.Series | None:
    """Naive dates, datetimes and ISO text of any year as ``datetime64[us]`` (nulls NaT), or
    None when a value is something else or carries a time zone (numpy would silently move it
    to UTC; pandas' parser keeps it)."""
    present = values.notna().tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy only warns about a time zone it drops
        try:
            stamps = np.array([v if ok else None for v, ok in zip(values.tolist(), present, strict=True)], dtype="datetime64[us]")
        except (TypeError, ValueError, Warning):
            return None
    return pd.Series(stamps, index=values.index, name=values.name)


#: Epoch seconds beyond which no DuckDB timestamp exists (±292,000 years).
_MAX_SECONDS = 9.3e12
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu", "UTC+00:00"})


# --- shape ---------------------------------------------------------------------------------------


def shape_values(values: pd.Series, rng: np.random.Generator) -> pd.Series:
    """Format-preserving random text: every letter becomes a random letter of the same case,
    every digit a random digit; spaces and punctuation stay. ``PC 17599`` -> ``XK 40213``.

    Used for free-form ``text`` columns without a PII policy (ticket numbers, codes, notes):
    the output keeps their shape and length distribution but carries none of their content,
    so a near-unique string can neither be copied nor used to single out a real row.
    """
    lower = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    upper = np.char.upper(lower)
    digits = np.array(list("0123456789"))
    out: list[object] = []
    for value, missing in zip(values.tolist(), values.isna().tolist(), strict=True):
        if missing:
            out.append(None)
            continue
        chars = list(str(value))
        draws = rng.integers(0, 26, size=len(chars))
        for i, ch in enumerate(chars):
            if ch.isdigit():
                chars[i] = str(digits[draws[i] % 10])
            elif ch.isalpha():
                chars[i] = str(upper[draws[i]] if ch.isupper() else lower[draws[i]])
        out.append("".join(chars))
    return pd.Series(out, index=values.index, dtype=object)
