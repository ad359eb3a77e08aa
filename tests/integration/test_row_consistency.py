"""Fakes agree with their row, end to end on titanic: real DuckDB, real training, the real CLI."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from faker.decode import unidecode
from faker.providers.person.en_US import Provider as EnglishNames

from tests.helpers import query_db, run_cli

pytestmark = pytest.mark.integration

TITANIC = Path(__file__).resolve().parents[1] / "fixtures" / "titanic.csv"
SECRET = "a-test-secret-of-32-characters!!"
TITLES = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Rev)\.?\s|\s(?:MD|DDS|PhD|DVM|Jr\.?|Sr\.?|II|III|IV|V|I)$")

SPEC = """\
version: 1
table: passengers
source: {table: raw.titanic}
model: {type: cart, params: {min_samples_leaf: 20}}
columns:
  PassengerId: {type: id, primary_key: true}
  Survived: {type: categorical}
  Pclass: {type: categorical}
  Name: {type: text, pii: fake, faker: name, gender: Sex}
  Sex: {type: categorical}
  Age: {type: numerical}
  SibSp: {type: numerical}
  Parch: {type: numerical}
  Ticket: {type: text, pii: hash}
  Fare: {type: numerical}
  Cabin: {type: text, pii: drop}
  Embarked: {type: categorical}
  Email: {type: text, pii: fake, faker: email, name_from: Name}
checks:
  quality_score: {min: 0.5}
  dcr_share: {max: 0.9}
  pii_leakage: {max: 0}
"""


def make_project(root: Path) -> Path:
    """Titanic plus a real-looking e-mail per passenger (built from the real name, so a fake
    that copied it would show)."""
    root.mkdir()
    con = duckdb.connect(str(root / "wh.duckdb"))
    con.execute("CREATE SCHEMA raw")
    con.execute(f"""CREATE TABLE raw.titanic AS SELECT *, lower(regexp_replace(Name, '[^A-Za-z]+', '.', 'g'))
                    || '@mail.example.com' AS Email FROM read_csv('{TITANIC}')""")
    con.close()
    (root / "synthspec.yml").write_text("name: t\nsource: {duckdb: wh.duckdb}\ntarget: {duckdb: wh.duckdb}\n")
    (root / "specs").mkdir()
    (root / "specs" / "passengers.yml").write_text(SPEC)
    return root


def published(root: Path) -> pd.DataFrame:
    rows = query_db(root, "SELECT Name, Sex, Email FROM synthetic.passengers ORDER BY PassengerId")
    return pd.DataFrame(rows, columns=["Name", "Sex", "Email"])


def slug(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", unidecode(word).lower())


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYNTHSPEC_SECRET", SECRET)
        projects = []
        for name in ("first", "second"):
            project = make_project(tmp_path_factory.mktemp("consistency") / name)
            result = run_cli(project, "apply", "-q")
            assert result.exit_code == 0, result.output
            projects.append(project)
    return projects[0], projects[1]


def test_every_fake_first_name_agrees_with_the_rows_sex(runs):
    out = published(runs[0])
    assert len(out) == 891 and set(out["Sex"]) == {"male", "female"}
    males, females = set(EnglishNames.first_names_male), set(EnglishNames.first_names_female)
    first = out["Name"].str.split().str[0]
    wrong = [(f, s) for f, s in zip(first, out["Sex"], strict=True) if f not in (males if s == "male" else females)]
    assert wrong == []


def test_names_have_no_titles_and_no_real_name_is_published(runs):
    out = published(runs[0])
    assert out["Name"].str.fullmatch(r"\S+ \S+").all()
    assert not out["Name"].str.contains(TITLES).any()
    real = {n.strip().lower() for (n,) in query_db(runs[0], "SELECT Name FROM raw.titanic")}
    assert not set(out["Name"].str.lower()) & real


def test_emails_are_built_from_the_rows_fake_name(runs):
    out = published(runs[0])
    words = out["Name"].str.split()
    expected = [f"{slug(w[0])}.{slug(w[-1])}" for w in words]
    local = out["Email"].str.split("@").str[0]
    assert all(re.fullmatch(re.escape(e) + r"\d*", got) for e, got in zip(expected, local, strict=True))
    assert out["Email"].str.split("@").str[1].isin(["example.com", "example.org", "example.net"]).all()
    real = {e for (e,) in query_db(runs[0], "SELECT Email FROM raw.titanic")}
    assert not set(out["Email"]) & real


def test_the_same_spec_data_and_secret_publish_the_same_rows(runs):
    first, second = published(runs[0]), published(runs[1])
    pd.testing.assert_frame_equal(first, second)


def customers(n: int = 300) -> pd.DataFrame:
    """A customer table whose people live in Germany or the USA (the values are made up here,
    and treated as real: none may be published)."""
    firsts = {"F": ["Anna", "Maria", "Julia", "Emma"], "M": ["Jonas", "Paul", "Lukas", "Noah"]}
    rows = []
    for i in range(n):
        sex = "F" if i % 3 else "M"
        first, last = firsts[sex][i % 4], ["Keller", "Brandt", "Hughes", "Porter", "Vogel"][i % 5]
        country = "Germany" if i % 2 else "USA"
        rows.append({"customer_id": i + 1, "FirstName": first, "LastName": last, "Gender": sex,
                     "Email": f"{first}.{last}{i}@mail.example.com".lower(), "Country": country,
                     "City": ["Hamburg", "Leipzig"][i % 2] if country == "Germany" else ["Austin", "Denver"][i % 2],
                     "spend": float(20 + (i * 7) % 90)})
    return pd.DataFrame(rows)


def test_init_drafts_row_consistent_fakes_that_validate(tmp_path, monkeypatch):
    from tests.helpers import make_warehouse

    monkeypatch.setenv("SYNTHSPEC_SECRET", SECRET)
    make_warehouse(tmp_path / "wh.duckdb", {"customers": customers()})
    monkeypatch.chdir(tmp_path)
    assert run_cli(tmp_path, "init", "--from-duckdb", "wh.duckdb", "--schema", "raw").exit_code == 0
    spec = (tmp_path / "specs" / "customers.yml").read_text()
    assert "FirstName: {type: categorical, pii: fake, faker: first_name, gender: Gender}" in spec
    assert "LastName: {type: categorical, pii: fake, faker: last_name}" in spec
    assert "pii: fake, faker: email, name_from: [FirstName, LastName]}" in spec
    assert not any(value in spec for value in ("Keller", "Anna", "Hamburg", "mail.example.com"))
    validate = run_cli(tmp_path, "validate")
    assert validate.exit_code == 0, validate.output


LOCALE_SPEC = """\
version: 1
table: customers
source: {table: raw.customers}
model: {type: cart, params: {min_samples_leaf: 10}}
columns:
  customer_id: {type: id, primary_key: true}
  FirstName: {type: text, pii: fake, faker: first_name, gender: Gender, locale_from: Country}
  LastName: {type: text, pii: fake, faker: last_name, locale_from: Country}
  Gender: {type: categorical}
  Email: {type: text, pii: fake, faker: email, name_from: [FirstName, LastName]}
  Country: {type: categorical}
  City: {type: text, pii: fake, faker: city, locale_from: Country}
  spend: {type: numerical}
checks:
  quality_score: {min: 0.5}
  dcr_share: {max: 0.95}
  pii_leakage: {max: 0}
"""


def test_fakes_follow_the_rows_country_and_gender(tmp_path, monkeypatch):
    from faker.providers.address.de_DE import Provider as GermanAddresses
    from faker.providers.person.de_DE import Provider as GermanNames

    from tests.helpers import make_warehouse

    monkeypatch.setenv("SYNTHSPEC_SECRET", SECRET)
    make_warehouse(tmp_path / "wh.duckdb", {"customers": customers()})
    (tmp_path / "synthspec.yml").write_text("name: t\nsource: {duckdb: wh.duckdb}\ntarget: {duckdb: wh.duckdb}\n")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "customers.yml").write_text(LOCALE_SPEC)
    result = run_cli(tmp_path, "apply", "-q")
    assert result.exit_code == 0, result.output
    out = pd.DataFrame(query_db(tmp_path, "SELECT FirstName, LastName, Gender, Email, Country, City FROM synthetic.customers"),
                       columns=["FirstName", "LastName", "Gender", "Email", "Country", "City"])
    german = out[out["Country"] == "Germany"]
    american = out[out["Country"] == "USA"]
    assert len(german) > 50 and len(american) > 50
    assert german["City"].isin(GermanAddresses.cities).all()
    assert not american["City"].isin(GermanAddresses.cities).any()
    female_de = german[german["Gender"] == "F"]["FirstName"]
    assert female_de.isin(list(GermanNames.first_names_female)).all()
    male_us = american[american["Gender"] == "M"]["FirstName"]
    assert male_us.isin(list(EnglishNames.first_names_male)).all()
    expected = [f"{slug(f)}.{slug(ln.split()[-1])}" for f, ln in zip(out["FirstName"], out["LastName"], strict=True)]
    local = out["Email"].str.split("@").str[0]
    assert all(re.fullmatch(re.escape(e) + r"\d*", got) for e, got in zip(expected, local, strict=True))
