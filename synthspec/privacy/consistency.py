"""Fakes that agree within a row: names that follow the row's sex, a locale that follows its
country, an e-mail built from its fake name.

A faked column is drawn after sampling, from real values the model never sees, so on its own it
knows nothing about the rest of its row: a `Name` next to `Sex: female` could be "Robert Ford",
and an e-mail would be unrelated to the name beside it. A column declares the row context it
follows (spec keys ``gender``, ``locale_from``, ``name_from``) and this module turns each row's
context into a :class:`RowFake`: the provider and locale to draw with, and the fake name parts
to build from. :func:`synthspec.privacy.policies.fake_values` keys every draw by the real value
*and* that context, so the same real value in the same context gives the same fake in every
run and table.

Reading a context value is deliberately literal: a sex column's value counts only when it is an
unambiguous spelling of male or female (``1``/``2`` codes differ between datasets and are never
guessed), and a country only when it is a name or ISO code in :data:`_COUNTRIES`; anything
else gives the column's own provider and locale.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from synthspec.privacy.recognizers import fold

if TYPE_CHECKING:
    from faker.generator import Generator

    from synthspec.spec.models import ColumnSpec

Gender = Literal["male", "female"]


@dataclass(frozen=True)
class RowFake:
    """How one row's fake is drawn: the provider and locale after the row's context, and the
    fake name parts (values of the ``name_from`` columns) it is built from."""

    provider: str
    locale: str | None
    parts: tuple[str, ...] = ()


# --------------------------------------------------------------------------- gender


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Spellings of a sex or gender value, folded (accents and case dropped) and letters only.
_MALE = _words("m male males man men boy masculine masculin masculino maennlich mannlich herr homme hombre "
               "erkek bay")
_FEMALE = _words("f female females woman women girl feminine feminin femenino feminino w weiblich frau femme "
                 "mujer kadin bayan")

#: Providers whose output has a gender, and their gendered variants (``<provider>_male``...).
GENDERED_PROVIDERS = frozenset({"first_name", "last_name", "name", "prefix", "middle_name"})


def gender_of(value: Any) -> Gender | None:
    """``"male"``/``"female"`` for an unambiguous spelling (``M``, ``female``, ``Woman``...);
    None for anything else, numbers and booleans included (their coding varies by dataset)."""
    if not isinstance(value, str):
        return None
    word = re.sub(r"[^a-z]", "", fold(value))
    if word in _MALE:
        return "male"
    if word in _FEMALE:
        return "female"
    return None


def looks_like_gender(values: Sequence[Any]) -> bool:
    """True when every non-null value is a male/female spelling (what `init` needs before it
    drafts ``gender:``): one unknown value means the coding is not ours to guess."""
    present = [v for v in values if v is not None and not (isinstance(v, float) and v != v)]
    return bool(present) and all(gender_of(v) is not None for v in present)


def gendered(provider: str, gender: Gender | None) -> str:
    """The provider for a row of ``gender`` (``first_name`` -> ``first_name_female``)."""
    if gender is None or provider not in GENDERED_PROVIDERS:
        return provider
    return f"{provider}_{gender}"


# --------------------------------------------------------------------------- country -> locale

#: Faker locale, ISO 3166 alpha-2 and alpha-3 codes, then English (and common local) names.
_COUNTRY_TABLE = """\
am_ET ET ETH ethiopia
ar_AE AE ARE united arab emirates|uae
ar_BH BH BHR bahrain
ar_DZ DZ DZA algeria
ar_EG EG EGY egypt
ar_JO JO JOR jordan
ar_PS PS PSE palestine
ar_SA SA SAU saudi arabia
az_AZ AZ AZE azerbaijan
bg_BG BG BGR bulgaria
bn_BD BD BGD bangladesh
bs_BA BA BIH bosnia and herzegovina|bosnia
cs_CZ CZ CZE czech republic|czechia|cesko
da_DK DK DNK denmark|danmark
de_AT AT AUT austria|osterreich
de_CH CH CHE switzerland|schweiz|suisse
de_DE DE DEU germany|deutschland
de_LI LI LIE liechtenstein
lb_LU LU LUX luxembourg|luxemburg
el_CY CY CYP cyprus
el_GR GR GRC greece
en_AU AU AUS australia
en_CA CA CAN canada
en_GB GB GBR united kingdom|uk|great britain|britain|england|scotland|wales|northern ireland
en_IE IE IRL ireland|eire
en_IN IN IND india
en_KE KE KEN kenya
en_NG NG NGA nigeria
en_NZ NZ NZL new zealand
en_PH PH PHL philippines
en_PK PK PAK pakistan
en_US US USA united states|united states of america|usa|us|america
es_AR AR ARG argentina
es_CL CL CHL chile
es_CO CO COL colombia
es_ES ES ESP spain|espana
es_MX MX MEX mexico
es_VE VE VEN venezuela
et_EE EE EST estonia
fa_IR IR IRN iran
fi_FI FI FIN finland|suomi
fr_BE BE BEL belgium|belgique|belgie
fr_FR FR FRA france
he_IL IL ISR israel
hr_HR HR HRV croatia|hrvatska
hu_HU HU HUN hungary|magyarorszag
hy_AM AM ARM armenia
id_ID ID IDN indonesia
is_IS IS ISL iceland
it_IT IT ITA italy|italia
ja_JP JP JPN japan
ka_GE GE GEO georgia
ko_KR KR KOR south korea|korea|republic of korea
lt_LT LT LTU lithuania
lv_LV LV LVA latvia
mk_MK MK MKD north macedonia|macedonia
mt_MT MT MLT malta
ne_NP NP NPL nepal
nl_NL NL NLD netherlands|the netherlands|holland|nederland
no_NO NO NOR norway|norge
pl_PL PL POL poland|polska
pt_BR BR BRA brazil|brasil
pt_PT PT PRT portugal
ro_RO RO ROU romania
ru_RU RU RUS russia|russian federation
si_LK LK LKA sri lanka
sk_SK SK SVK slovakia
sl_SI SI SVN slovenia
sq_AL AL ALB albania
sv_SE SE SWE sweden|sverige
th_TH TH THA thailand
tr_TR TR TUR turkey|turkiye
tw_GH GH GHA ghana
uk_UA UA UKR ukraine
uz_UZ UZ UZB uzbekistan
vi_VN VN VNM vietnam|viet nam
zh_CN CN CHN china
zh_TW TW TWN taiwan
zu_ZA ZA ZAF south africa
"""


def _country_key(value: str) -> str:
    """Case, accents, spaces and punctuation dropped: ``"U.S.A."`` and ``"usa"`` are one key."""
    return re.sub(r"[^a-z0-9]", "", fold(value))


def _countries() -> dict[str, str]:
    table: dict[str, str] = {}
    for line in _COUNTRY_TABLE.splitlines():
        locale, alpha2, alpha3, names = line.split(" ", 3)
        for spelling in (alpha2, alpha3, *names.split("|")):
            table[_country_key(spelling)] = locale
    return table


_COUNTRIES: dict[str, str] = _countries()


def locale_for_country(value: Any) -> str | None:
    """The Faker locale of a country name or ISO 3166 code (``"Germany"``, ``"DE"``,
    ``"DEU"`` -> ``de_DE``), or None for a value that is not one we know."""
    if not isinstance(value, str):
        return None
    return _COUNTRIES.get(_country_key(value))


# --------------------------------------------------------------------------- rows


def context_columns(spec: ColumnSpec) -> list[str]:
    """The columns whose values a fake column's rows depend on (decoded before it)."""
    return [c for c in (spec.gender, spec.locale_from, *spec.name_from_columns) if c is not None]


def row_fakes(spec: ColumnSpec, n: int, decoded: Mapping[str, Any],
              supports: Callable[[str | None, str], bool]) -> list[RowFake] | None:
    """Each row's :class:`RowFake` from the already decoded context columns, or None when
    the column declares no row context (every row then draws alike, as without this module).

    ``supports(locale, provider)`` says whether a locale has the provider: a row whose
    country's locale lacks it (Faker has no `state` for Ireland) keeps the column's locale."""
    if not context_columns(spec):
        return None
    assert spec.faker is not None
    genders = _values(decoded, spec.gender, n)
    countries = _values(decoded, spec.locale_from, n)
    parts = [_values(decoded, c, n) for c in spec.name_from_columns]
    rows = []
    for i in range(n):
        provider = gendered(spec.faker, gender_of(genders[i]))
        locale = locale_for_country(countries[i]) or spec.locale
        if locale != spec.locale and not supports(locale, provider):
            locale = spec.locale
        names = tuple(str(p[i]) for p in parts if isinstance(p[i], str) and p[i].strip())
        rows.append(RowFake(provider, locale, names))
    return rows


def _values(decoded: Mapping[str, Any], column: str | None, n: int) -> list[Any]:
    """A decoded column as a list of Python values (None when the column is not named)."""
    if column is None:
        return [None] * n
    import pandas as pd

    series = pd.Series(decoded[column]).reset_index(drop=True)
    return [None if missing else value for value, missing in zip(series.tolist(), series.isna().tolist(), strict=True)]


def decode_order(names: Sequence[str], specs: Mapping[str, ColumnSpec]) -> list[str]:
    """Column names in decode order: each after the columns its fakes are built from, else in
    declared order. A cycle is a spec error found by :func:`context_cycle` before apply."""
    order: list[str] = []
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done or name in path:
            return
        for dependency in context_columns(specs[name]):
            if dependency in specs:
                visit(dependency, (*path, name))
        done.add(name)
        order.append(name)

    for name in names:
        visit(name, ())
    return order


def context_cycle(name: str, specs: Mapping[str, ColumnSpec]) -> list[str] | None:
    """The columns of a context cycle through ``name`` (``[a, b, a]``), or None."""
    def walk(current: str, path: list[str]) -> list[str] | None:
        for dependency in context_columns(specs[current]) if current in specs else []:
            if dependency == name:
                return [*path, dependency]
            if dependency not in path:
                found = walk(dependency, [*path, dependency])
                if found:
                    return found
        return None

    return walk(name, [name])


# --------------------------------------------------------------------------- composed providers

#: Providers drawn here instead of by Faker's method of the same name: full names without
#: honorifics or suffixes (Faker's `name` gives "Dr. Lee Fowler DVM" in a fifth of its draws).
NAME_PROVIDERS = frozenset({"name", "name_male", "name_female", "name_nonbinary"})
#: Providers that can be built from a row's fake name (``name_from``), and the Faker provider
#: of the domain they get: an e-mail gets a reserved example domain, so it is nobody's address.
FROM_NAME_DOMAINS: dict[str, str | None] = {
    "email": "safe_domain_name",
    "safe_email": "safe_domain_name",
    "ascii_email": "safe_domain_name",
    "ascii_safe_email": "safe_domain_name",
    "free_email": "free_email_domain",
    "ascii_free_email": "free_email_domain",
    "company_email": "domain_name",
    "ascii_company_email": "domain_name",
    "user_name": None,
}
#: Providers whose values are names or parts of names (what ``name_from`` may point at).
NAME_PART_PROVIDERS = frozenset({
    *(f"{p}{g}" for p in ("first_name", "last_name", "name", "middle_name") for g in ("", "_male", "_female", "_nonbinary")),
})

_OTHER_GENDERS: dict[str, tuple[str, ...]] = {
    "male": ("_female", "_nonbinary"), "female": ("_male", "_nonbinary"), "nonbinary": ("_male", "_female"),
}


def composed(generator: Generator, provider: str, parts: tuple[str, ...], counter: int) -> tuple[bool, Any]:
    """``(True, value)`` when this module draws ``provider`` for a row (the generator is
    already seeded with the row's keyed seed), else ``(False, None)`` for Faker to draw.

    ``counter`` is the retry number of :func:`~synthspec.privacy.policies.fake_values`: a value
    built from a name that is taken (or equals a real value) gets digits on retries."""
    if provider in NAME_PROVIDERS:
        return True, full_name(generator, provider)
    if parts and provider in FROM_NAME_DOMAINS:
        local = _local_part(generator, parts, counter)
        domain_provider = FROM_NAME_DOMAINS[provider]
        return True, local if domain_provider is None else f"{local}@{getattr(generator, domain_provider)()}"
    return False, None


def full_name(generator: Generator, provider: str) -> str:
    """A full name in the locale's own order (family name first in Hungarian, Japanese...)
    from the locale's name patterns without prefix or suffix; gendered for ``name_male``..."""
    person = generator.name.__self__
    gender = provider.removeprefix("name_") if provider != "name" else None
    formats = getattr(person, f"formats_{gender}", None) if gender else None
    patterns = [str(p) for p in (formats if formats is not None else person.formats)]
    patterns = [p for p in patterns if "prefix" not in p and "suffix" not in p]
    if gender is not None:
        patterns = [p for p in patterns if not any(other in p for other in _OTHER_GENDERS[gender])]
        patterns = [p.replace("{{first_name}}", f"{{{{first_name_{gender}}}}}")
                    .replace("{{last_name}}", f"{{{{last_name_{gender}}}}}") for p in patterns]
    if not patterns:
        suffix = f"_{gender}" if gender else ""
        patterns = [f"{{{{first_name{suffix}}}}} {{{{last_name{suffix}}}}}"]
    return str(generator.parse(generator.random_element(sorted(set(patterns)))))


def _local_part(generator: Generator, parts: tuple[str, ...], counter: int) -> str:
    """``jane.rivera`` from a row's fake name parts (first word of the first, last word of the
    last), transliterated to ASCII; with digits on retries."""
    from faker.decode import unidecode

    words = [w for part in parts for w in part.split()]
    slugs = [re.sub(r"[^a-z0-9]", "", unidecode(w).lower()) for w in (words[0], words[-1])] if words else []
    slugs = [s for s in dict.fromkeys(slugs) if s]
    local = ".".join(slugs) or str(generator.user_name())
    return local if counter == 0 else f"{local}{generator.random_int(1, 999)}"
