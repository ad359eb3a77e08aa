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
