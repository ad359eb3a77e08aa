"""The Faker provider `init` drafts for a column: from its name in any spelling, and the entity
detection found in its values."""

from __future__ import annotations

import pandas as pd
import pytest

from synthspec.privacy.providers import choose_provider, draft_fakes, gender_column


@pytest.mark.parametrize(("column", "provider"), [
    ("FirstName", "first_name"), ("first_name", "first_name"), ("fname", "first_name"),
    ("given_name", "first_name"), ("GivenName", "first_name"), ("forename", "first_name"),
    ("FIRST_NAME", "first_name"), ("customer_first_name", "first_name"), ("middle_name", "first_name"),
    ("LastName", "last_name"), ("last_name", "last_name"), ("lname", "last_name"), ("surname", "last_name"),
    ("Surname", "last_name"), ("family_name", "last_name"), ("customerlastname", "last_name"),
    ("full_name", "name"), ("FullName", "name"), ("ContactName", "name"), ("contact_person", "name"),
    ("CompanyName", "company"), ("company", "company"), ("company_name", "company"), ("Employer", "company"),
    ("Email", "email"), ("EMAIL", "email"), ("e-mail", "email"), ("email_address", "email"),
    ("EmailAddress", "email"), ("customer_email", "email"),
    ("Phone", "phone_number"), ("phone_number", "phone_number"), ("Fax", "phone_number"),
    ("HomePhone", "phone_number"), ("telephone", "phone_number"),
    ("Address", "street_address"), ("BillingAddress", "street_address"), ("address_line_1", "street_address"),
    ("Address2", "street_address"), ("street_address", "street_address"),
    ("username", "user_name"), ("user_name", "user_name"), ("UserName", "user_name"),
])
def test_a_clear_column_name_alone_picks_the_provider(column, provider):
    choice = choose_provider(column, None)
    assert choice is not None and choice.provider == provider and choice.from_name_alone


@pytest.mark.parametrize("column", [
    "Name", "name", "product_name", "City", "PostalCode", "zip", "Country", "State", "ethnicity", "capacity",
    "email_verified", "phone_type", "first_seen", "last_login", "mobile", "Fare", "Ticket", "ip_address",
])
def test_weak_or_other_names_are_not_faked_without_a_detected_entity(column):
    assert choose_provider(column, None) is None


@pytest.mark.parametrize(("column", "entity", "provider"), [
    ("Name", "PERSON", "name"), ("FirstName", "PERSON", "first_name"), ("LastName", "PERSON", "last_name"),
    ("CompanyName", "PERSON", "company"), ("ShipName", "PERSON", "name"), ("c3", "PERSON", "name"),
    ("City", "LOCATION", "city"), ("ShipCity", "LOCATION", "city"), ("BillingPostalCode", "LOCATION", "postcode"),
    ("zip", "LOCATION", "postcode"), ("zipcode", "LOCATION", "postcode"), ("PostalCode", "LOCATION", "postcode"),
    ("Country", "LOCATION", "country"), ("Address", "LOCATION", "street_address"),
    ("location", "LOCATION", "street_address"), ("ip_address", "IP_ADDRESS", "ipv4"),
    ("contact", "EMAIL_ADDRESS", "email"), ("FirstName", "EMAIL_ADDRESS", "email"),
    ("mobile", "PHONE_NUMBER", "phone_number"), ("notes", "URL", "url"),
])
def test_the_name_picks_the_part_and_the_entity_must_agree(column, entity, provider):
    choice = choose_provider(column, entity)
    assert choice is not None and choice.provider == provider and not choice.from_name_alone


def test_entities_without_a_faker_provider_are_left_to_other_policies():
    assert choose_provider("tckn", "TR_NATIONAL_ID") is None
    assert choose_provider("birth_date", "DATE_OF_BIRTH") is None


def test_gender_column_needs_a_sex_name_and_unambiguous_values():
    sample = pd.DataFrame({"Sex": ["male", "female", None], "gender": [1, 2, 1], "kind": ["M", "F", "M"]})
    assert gender_column(["kind", "gender", "Sex"], sample) == "Sex"
    assert gender_column(["gender"], sample) is None  # 1/2 codes are never guessed
    assert gender_column(["kind"], sample) is None  # not named like a sex column
    other = pd.DataFrame({"Gender": ["M", "F", "X"]})
    assert gender_column(["Gender"], other) is None  # one unknown spelling: not ours to guess


def test_drafts_follow_the_sex_column_and_build_emails_from_the_name():
    sample = pd.DataFrame({"FirstName": ["a"], "LastName": ["b"], "Email": ["c"], "Gender": ["F"], "Score": [1]})
    columns = [("FirstName", "VARCHAR"), ("LastName", "VARCHAR"), ("Email", "VARCHAR"), ("Gender", "VARCHAR"),
               ("Score", "INTEGER")]
    drafts = draft_fakes(columns, {}, sample)
    assert set(drafts) == {"FirstName", "LastName", "Email"}
    assert drafts["FirstName"].policy(str) == "pii: fake, faker: first_name, gender: Gender"
    assert drafts["LastName"].policy(str) == "pii: fake, faker: last_name"
    assert drafts["Email"].policy(str) == "pii: fake, faker: email, name_from: [FirstName, LastName]"
    assert "review" in drafts["LastName"].comment and "a" not in drafts["LastName"].comment.split()


def test_name_only_drafts_need_a_string_column_and_ambiguous_names_are_not_linked():
    sample = pd.DataFrame({"phone": [5551234], "customer_name": ["x"], "employee_name": ["y"], "email": ["z"]})
    findings = {n: {"entity": "PERSON", "confidence": 0.9, "evidence": "names"} for n in ("customer_name", "employee_name")}
    drafts = draft_fakes([("phone", "BIGINT"), ("customer_name", "VARCHAR"), ("employee_name", "VARCHAR"),
                          ("email", "VARCHAR")], findings, sample)
    assert "phone" not in drafts  # a number named phone is left to detection
    assert drafts["customer_name"].provider == "name" and drafts["customer_name"].comment.startswith("detected PERSON")
    assert drafts["email"].name_from == ()  # two full-name columns: which one is not guessed
