"""Which Faker provider fits a column: from its name and the entity detection found in it.

Presidio says *what kind* of PII a column holds (PERSON, LOCATION...), not *which part*: a
`FirstName` column flagged PERSON faked with Faker's `name` publishes "Miss Roberta Rios" in a
first-name column, and a `City` column flagged LOCATION would get street addresses. The column
name says which part, in any common spelling (`FirstName`, `first_name`, `fname`,
`given_name`, `ShipPostalCode`, `E-Mail`), so the choice reads the name's words and takes the
longest phrase it ends with; the detected entity only has to agree with it.

A few names are clear enough on their own (first/last/full name, company, e-mail, phone, fax,
street address, user name): `init` drafts a fake for them even when detection found nothing in
the sampled values (a short table, unusual values), with a comment a reviewer sees. Cities,
postal codes, countries and states need a detected entity: they are often the features an
analysis needs, and a name such as `region` is too weak to fake a column on.

Pure: names and entity labels in, a provider name out; no values are read here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from synthspec.privacy.consistency import looks_like_gender
from synthspec.privacy.recognizers import name_tokens

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Phrase:
    """Column-name words that mean one Faker provider."""

    provider: str
    words: tuple[str, ...]
    #: Whether the name alone is enough to fake the column (no entity detected in its values).
    name_alone: bool


@dataclass(frozen=True)
class ProviderChoice:
    """The provider for a column and why (a comment for the reviewer; never a value)."""

    provider: str
    reason: str
    from_name_alone: bool


def _phrases(provider: str, spellings: str, *, name_alone: bool) -> list[Phrase]:
    """Phrases from ``"first name|fname|given name"`` (space-separated words per spelling)."""
    return [Phrase(provider, tuple(s.split()), name_alone) for s in spellings.split("|")]


#: Longest match wins, so `ip address` beats `address` and `company name` beats `name`.
PHRASES: tuple[Phrase, ...] = (
    *_phrases("first_name", "first name|firstname|fname|given name|givenname|forename|first|"
              "middle name|middlename|vorname|prenom|christian name", name_alone=True),
    *_phrases("last_name", "last name|lastname|lname|surname|family name|familyname|nachname|"
              "apellido|apellidos|maiden name", name_alone=True),
    *_phrases("name", "full name|fullname|contact name|contactname|person name|contact person|"
              "display name", name_alone=True),
    # `name` alone, `customer name`, `employee name`...: a person's name only when detection
    # found person names in the values (product, city and file names are names too).
    *_phrases("name", "name|names|customer name|employee name|passenger name|patient name|"
              "owner name|client name|member name|user full name|contact|person|ship name|"
              "recipient|recipient name|holder name|account holder", name_alone=False),
    *_phrases("company", "company|company name|companyname|employer|organization|organisation|"
              "organization name|organisation name|business name|firm|firma", name_alone=True),
    *_phrases("user_name", "username|user name|screen name|screenname|nickname|user login",
              name_alone=True),
    *_phrases("user_name", "login|handle", name_alone=False),
    *_phrases("email", "email|e mail|mail|email address|emailaddress|mail address|eposta|"
              "courriel|correo", name_alone=True),
    *_phrases("phone_number", "phone|phone number|phonenumber|telephone|telephone number|tel|"
              "telefon|telefono|fax|fax number|gsm|home phone|work phone", name_alone=True),
    *_phrases("phone_number", "mobile|mobile phone|mobile number|cell|cell phone|cellphone|handy",
              name_alone=False),
    *_phrases("street_address", "address|street address|streetaddress|address line|addr|"
              "street|adres|anschrift|strasse|direccion", name_alone=True),
    *_phrases("city", "city|town|city name|cityname|municipality|sehir|ville|ciudad|stadt",
              name_alone=False),
    *_phrases("postcode", "postal code|postalcode|postcode|post code|zip|zip code|zipcode|plz|"
              "postleitzahl|posta kodu|code postal", name_alone=False),
    *_phrases("country", "country|country name|nation|land|ulke|pais", name_alone=False),
    *_phrases("country_code", "country code|countrycode|country iso", name_alone=False),
    *_phrases("administrative_unit", "state|province|county|state name", name_alone=False),
    *_phrases("ipv4", "ip|ip address|ipaddress|ipv4|host address", name_alone=False),
    *_phrases("ipv6", "ipv6", name_alone=False),
    *_phrases("mac_address", "mac|mac address", name_alone=False),
    *_phrases("url", "url|website|web site|homepage|home page|web address|uri|link", name_alone=False),
    *_phrases("credit_card_number", "credit card|creditcard|card number|cc number|pan|credit card number",
              name_alone=False),
    *_phrases("iban", "iban|account iban", name_alone=False),
    *_phrases("ssn", "ssn|social security number|social security", name_alone=False),
)

#: The provider an entity gets when the column name names no part of it.
ENTITY_DEFAULT: dict[str, str] = {
    "PERSON": "name",
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone_number",
    "CREDIT_CARD": "credit_card_number",
    "IBAN_CODE": "iban",
    "IP_ADDRESS": "ipv4",
    "URL": "url",
    "US_SSN": "ssn",
    "LOCATION": "street_address",
}

#: Which providers may stand for a detected entity. A name that disagrees with what the values
#: are (a `contact` column full of e-mail addresses) loses to the values.
_COMPATIBLE: dict[str, frozenset[str]] = {
    "PERSON": frozenset({"first_name", "last_name", "name", "company", "user_name"}),
    "EMAIL_ADDRESS": frozenset({"email"}),
    "PHONE_NUMBER": frozenset({"phone_number"}),
    "LOCATION": frozenset({"street_address", "city", "postcode", "country", "country_code",
                           "administrative_unit"}),
    "IP_ADDRESS": frozenset({"ipv4", "ipv6"}),
    "URL": frozenset({"url"}),
    "CREDIT_CARD": frozenset({"credit_card_number"}),
    "IBAN_CODE": frozenset({"iban"}),
    "US_SSN": frozenset({"ssn"}),
}

#: Phrases of six letters or more also match glued to a prefix in one word (`shippostalcode`,
#: `customeremail` is five: no); shorter ones only as whole words, so `ethnicity` is no city.
_MIN_GLUED = 6
_NUMBERED = re.compile(r"^(.*?)\d+$")


def column_words(column: str) -> list[str]:
    """The folded words of a column name, trailing numbers dropped (`address_line_2`,
    `Address1` -> address, line / address)."""
    words = []
    for token in name_tokens(column):
        match = _NUMBERED.match(token)
        stem = match.group(1) if match else token
        if stem:
            words.append(stem)
    return words


def _match_length(words: list[str], phrase: Phrase) -> int:
    """How many of the name's trailing words ``phrase`` covers (0: it does not end with it)."""
    size = len(phrase.words)
    if size <= len(words) and tuple(words[-size:]) == phrase.words:
        return size
    glued = "".join(phrase.words)
    if words and len(glued) >= _MIN_GLUED and words[-1].endswith(glued):
        return size
    return 0


def named_phrase(column: str) -> Phrase | None:
    """The longest phrase the column name ends with (in words), or None."""
    words = column_words(column)
    best: tuple[int, int, Phrase] | None = None
    for order, phrase in enumerate(PHRASES):
        length = _match_length(words, phrase)
        if length and (best is None or (length, -order) > (best[0], -best[1])):
            best = (length, order, phrase)
    return None if best is None else best[2]


def choose_provider(column: str, entity: str | None) -> ProviderChoice | None:
    """The Faker provider for ``column`` given the entity detected in it (or None if none).

    The name picks the part (`FirstName` + PERSON -> first_name, `City` + LOCATION -> city);
    an entity whose part the name does not say gets :data:`ENTITY_DEFAULT`; without an entity
    only names in the `name_alone` phrases are faked. None: nothing to fake (or an entity
    that has no Faker provider, such as a national id, which `init` hashes).
    """
    phrase = named_phrase(column)
    if entity is None:
        if phrase is None or not phrase.name_alone:
            return None
        words = " ".join(phrase.words)
        return ProviderChoice(phrase.provider, f"the column name says {words}", from_name_alone=True)
    if phrase is not None and phrase.provider in _COMPATIBLE.get(entity, frozenset()):
        return ProviderChoice(phrase.provider, f"the column name says {' '.join(phrase.words)}",
                              from_name_alone=False)
    if entity in ENTITY_DEFAULT:
        return ProviderChoice(ENTITY_DEFAULT[entity], f"{entity} values", from_name_alone=False)
    return None


# --------------------------------------------------------------------------- drafting for `init`

#: Words a column name ends with when it holds each row's sex or gender.
_GENDER_WORDS = frozenset({"sex", "gender", "geschlecht", "cinsiyet", "sexe", "sexo", "genre", "genero"})
#: Providers `init` drafts `gender:` for (a last name has a gender in few locales).
_DRAFT_GENDERED = frozenset({"first_name", "name"})
_STRING_TYPES = ("VARCHAR", "TEXT", "STRING", "CHAR", "BPCHAR", "NVARCHAR")


@dataclass(frozen=True)
class DraftedFake:
    """A `pii: fake` draft for one column: the provider, the row context it follows, and the
    reviewer's comment (names and entities only, never a value)."""

    provider: str
    comment: str
    gender: str | None = None
    name_from: tuple[str, ...] = ()

    def policy(self, scalar: Callable[[str], str]) -> str:
        """The spec keys, with column names written by ``scalar`` (YAML quoting)."""
        text = f"pii: fake, faker: {self.provider}"
        if self.gender is not None:
            text += f", gender: {scalar(self.gender)}"
        if self.name_from:
            text += f", name_from: [{', '.join(scalar(c) for c in self.name_from)}]"
        return text


def gender_column(columns: Sequence[str], sample: pd.DataFrame) -> str | None:
    """The column named like sex/gender whose sampled values are all male/female spellings
    (``M``/``F``, ``male``/``female``...), or None: a coding we would have to guess
    (``1``/``2``, ``0``/``1``) is left to the reviewer."""
    for column in columns:
        words = column_words(column)
        named = bool(words) and words[-1] in _GENDER_WORDS and column in sample.columns
        if named and looks_like_gender(sample[column].dropna().astype(object).tolist()):
            return column
    return None


def draft_fakes(columns: Sequence[tuple[str, str]], findings: Mapping[str, Mapping[str, Any]],
                sample: pd.DataFrame) -> dict[str, DraftedFake]:
    """`pii: fake` drafts for a table's ``(name, DuckDB type)`` columns: a provider for every
    column detection flagged with an entity Faker covers, or (string columns only) whose name
    says first/last/full name, company, e-mail, phone, address or user name; names follow a
    sex column whose values are unambiguous, and an e-mail its row's fake name when the table
    has exactly one full-name column or one first/last-name pair."""
    drafts: dict[str, DraftedFake] = {}
    gender = gender_column([name for name, _ in columns], sample)
    for name, duckdb_type in columns:
        finding = findings.get(name)
        entity = finding["entity"] if finding is not None else None
        if entity is None and not duckdb_type.upper().startswith(_STRING_TYPES):
            continue
        choice = choose_provider(name, entity)
        if choice is None:
            continue
        if finding is not None:
            comment = f"detected {entity} (confidence {finding['confidence']:.2f}): {finding['evidence']}"
            if choice.provider != ENTITY_DEFAULT.get(entity or ""):
                comment += f"; faker {choice.provider}: {choice.reason}"
        else:
            comment = f"no PII detected in the sampled values, but {choice.reason}: faked; review"
        follows = gender if choice.provider in _DRAFT_GENDERED and gender != name else None
        drafts[name] = DraftedFake(choice.provider, comment, gender=follows)
    return _with_names(drafts)


def _with_names(drafts: dict[str, DraftedFake]) -> dict[str, DraftedFake]:
    """E-mails and user names built from the row's fake name, when which name is unambiguous."""
    by_provider: dict[str, list[str]] = {}
    for name, draft in drafts.items():
        by_provider.setdefault(draft.provider, []).append(name)
    firsts, lasts, fulls = (by_provider.get(p, []) for p in ("first_name", "last_name", "name"))
    if len(firsts) == 1 and len(lasts) == 1:
        source: tuple[str, ...] = (firsts[0], lasts[0])
    elif len(fulls) == 1 and not firsts and not lasts:
        source = (fulls[0],)
    else:
        return drafts
    for name, draft in drafts.items():
        if draft.provider in ("email", "user_name"):
            drafts[name] = DraftedFake(draft.provider, draft.comment + "; built from the row's fake name",
                                       gender=None, name_from=source)
    return drafts
