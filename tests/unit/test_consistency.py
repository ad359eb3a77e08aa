"""Fakes that agree within a row: gender, country locale, e-mails from the row's fake name."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from faker.providers.address.de_DE import Provider as GermanAddresses
from faker.providers.person.en_US import Provider as EnglishNames

from synthspec.privacy import policies
from synthspec.privacy.consistency import (
    RowFake,
    context_cycle,
    decode_order,
    gender_of,
    locale_for_country,
    row_fakes,
)
from synthspec.spec.models import ColumnSpec

KEY = b"k" * 32
MALE_NAMES, FEMALE_NAMES = set(EnglishNames.first_names_male), set(EnglishNames.first_names_female)
TITLES = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?\s|\s(?:MD|DDS|PhD|DVM|Jr\.?|Sr\.?|II|III|IV|V|I)$")


@pytest.mark.parametrize(("value", "gender"), [
    ("male", "male"), ("M", "male"), ("Male ", "male"), ("MAN", "male"), ("männlich", "male"),
    ("female", "female"), ("F", "female"), ("Woman", "female"), ("w", "female"), ("Kadın", "female"),
    ("1", None), (1, None), (True, None), ("x", None), ("unknown", None), (None, None),
])
def test_gender_spellings_are_read_literally(value, gender):
    assert gender_of(value) == gender


@pytest.mark.parametrize(("value", "locale"), [
    ("Germany", "de_DE"), ("DE", "de_DE"), ("deu", "de_DE"), ("USA", "en_US"), ("U.S.A.", "en_US"),
    ("United Kingdom", "en_GB"), ("UK", "en_GB"), ("Brazil", "pt_BR"), ("Türkiye", "tr_TR"),
    ("Czech Republic", "cs_CZ"), ("Atlantis", None), ("", None), (None, None), (49, None),
])
def test_countries_map_to_faker_locales(value, locale):
    assert locale_for_country(value) == locale


def test_full_names_never_carry_titles_or_suffixes():
    names = policies.fake_values(pd.Series([f"person {i}" for i in range(400)]), KEY, "name")
    assert names.str.fullmatch(r"\S+ \S+").all(), names[~names.str.fullmatch(r"\S+ \S+")].tolist()[:5]
    assert not names.str.contains(TITLES).any()


def test_names_follow_the_rows_gender_and_the_pair_is_keyed():
    spec = ColumnSpec(type="text", pii="fake", faker="name", gender="Sex")
    sex = ["female", "male", "F", "M", "other", None] * 40
    real = pd.Series([f"real {i % 7}" for i in range(len(sex))])
    rows = row_fakes(spec, len(sex), {"Sex": sex}, policies.provider_available)
    assert rows is not None
    fakes = policies.fake_values(real, KEY, "name", rows=rows)
    males, females = MALE_NAMES, FEMALE_NAMES
    for first, gender in zip(fakes.str.split().str[0], sex, strict=True):
        if gender_of(gender) == "male":
            assert first in males
        elif gender_of(gender) == "female":
            assert first in females
    # The same real value in the same context: the same fake, in this call and the next.
    again = policies.fake_values(real, KEY, "name", rows=rows)
    assert fakes.tolist() == again.tolist()
    pairs = pd.DataFrame({"real": real, "ctx": [gender_of(s) for s in sex], "fake": fakes})
    assert (pairs.groupby(["real", "ctx"], dropna=False)["fake"].nunique() == 1).all()


def test_a_first_name_column_gets_gendered_first_names():
    spec = ColumnSpec(type="text", pii="fake", faker="first_name", gender="g")
    rows = row_fakes(spec, 200, {"g": ["f"] * 200}, policies.provider_available)
    fakes = policies.fake_values(pd.Series(range(200)), KEY, "first_name", rows=rows)
    assert set(fakes) <= FEMALE_NAMES


def test_locale_follows_the_country_and_unknown_countries_keep_the_column_locale():
    spec = ColumnSpec(type="text", pii="fake", faker="city", locale_from="Country")
    countries = ["Germany", "Atlantis", None, "FR"]
    rows = row_fakes(spec, 4, {"Country": countries}, policies.provider_available)
    assert [r.locale for r in rows] == ["de_DE", None, None, "fr_FR"]
    cities = policies.fake_values(pd.Series(["a", "b", "c", "d"]), KEY, "city", rows=rows)
    assert cities[0] in GermanAddresses.cities
    assert all(isinstance(c, str) and c for c in cities)


def test_a_locale_without_the_provider_keeps_the_column_locale():
    spec = ColumnSpec(type="text", pii="fake", faker="state", locale_from="c")
    rows = row_fakes(spec, 2, {"c": ["Ireland", "USA"]}, policies.provider_available)
    assert [r.locale for r in rows] == [None, "en_US"]  # Faker's en_IE has no state


def test_emails_are_built_from_the_rows_fake_name_on_a_reserved_domain():
    names = ["Jane Rivera", "Émile Zola", "Kovács János", "Jane Rivera"]
    rows = [RowFake("email", None, (n,)) for n in names]
    emails = policies.fake_values(pd.Series(["a@x.org", "b@x.org", "c@x.org", "a@x.org"]), KEY, "email", rows=rows)
    assert emails[0] == emails[3]  # same real e-mail, same name: same fake
    locals_ = emails.str.split("@").str[0].tolist()
    assert locals_[:3] == ["jane.rivera", "emile.zola", "kovacs.janos"]
    assert emails.str.split("@").str[1].isin(["example.com", "example.org", "example.net"]).all()
    first_last = [RowFake("email", None, ("Jane", "Rivera"))]
    assert policies.fake_values(pd.Series(["z"]), KEY, "email", rows=first_last)[0].startswith("jane.rivera@")


def test_a_built_email_equal_to_a_real_one_gets_digits_and_unique_keys_stay_unique():
    rows = [RowFake("email", None, ("Jane Rivera",))] * 3
    real = pd.Series(["a", "b", "c"])
    avoid = {policies.normalise_for_matching(f"jane.rivera@{d}") for d in ("example.com", "example.org", "example.net")}
    fakes = policies.fake_values(real, KEY, "email", rows=rows, avoid=avoid, unique=True)
    assert fakes.nunique() == 3
    assert fakes.str.fullmatch(r"jane\.rivera\d+@example\.(com|org|net)").all()


def test_rows_must_match_the_values():
    with pytest.raises(policies.PolicyError, match="row contexts"):
        policies.fake_values(pd.Series(["a"]), KEY, "name", rows=[])


def test_columns_are_decoded_after_the_columns_they_follow():
    specs = {
        "Email": ColumnSpec(type="text", pii="fake", faker="email", name_from=["First", "Last"]),
        "First": ColumnSpec(type="text", pii="fake", faker="first_name", gender="Sex"),
        "Last": ColumnSpec(type="text", pii="fake", faker="last_name"),
        "Sex": ColumnSpec(type="categorical"),
    }
    order = decode_order(list(specs), specs)
    assert order.index("Sex") < order.index("First") < order.index("Email") and order.index("Last") < order.index("Email")
    assert context_cycle("Email", specs) is None
    cyclic = {"a": ColumnSpec(type="text", pii="fake", faker="name", locale_from="b"),
              "b": ColumnSpec(type="text", pii="fake", faker="country", locale_from="a")}
    assert context_cycle("a", cyclic) == ["a", "b", "a"]
    assert sorted(decode_order(["a", "b"], cyclic)) == ["a", "b"]
