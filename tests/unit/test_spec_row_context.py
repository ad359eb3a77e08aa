"""Spec errors of `gender`, `locale_from` and `name_from`: located, naming columns only."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthspec.errors import SpecError
from synthspec.spec.project import load_project

PROJECT = "name: t\nsource: {duckdb: wh.duckdb}\ntarget: {duckdb: wh.duckdb, schema: synthetic}\n"

HEAD = """\
version: 1
table: people
source: {table: raw.people}
columns:
  id: {type: id, primary_key: true}
  Sex: {type: categorical}
  Country: {type: categorical}
"""


@pytest.fixture
def project(write, monkeypatch):
    monkeypatch.setenv("SYNTHSPEC_SECRET", "a-test-secret-of-32-characters!!")
    write("synthspec.yml", PROJECT)

    def spec(columns: str) -> None:
        write("specs/people.yml", HEAD + columns)

    return spec


def problems(root: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_project(root, {})
    return info.value.lines()


def test_row_context_keys_load(project, tmp_path):
    project("  First: {type: text, pii: fake, faker: first_name, gender: Sex, locale_from: Country}\n"
            "  Last: {type: text, pii: fake, faker: last_name, locale_from: Country}\n"
            "  Email: {type: text, pii: fake, faker: email, name_from: [First, Last]}\n"
            "  Login: {type: text, pii: fake, faker: user_name, name_from: First}\n")
    columns = load_project(tmp_path, {}).specs[0].spec.columns
    assert columns["First"].gender == "Sex" and columns["First"].locale_from == "Country"
    assert columns["Email"].name_from_columns == ["First", "Last"]
    assert columns["Login"].name_from_columns == ["First"]


def test_an_unknown_column_is_located_with_a_hint(project, tmp_path):
    project("  Name: {type: text, pii: fake, faker: name, gender: sex}\n")
    assert problems(tmp_path) == [
        "specs/people.yml:8:46: column 'Name': gender column 'sex' is not a declared column; "
        "did you mean 'Sex'?"]


def test_name_from_must_point_at_a_faked_name(project, tmp_path):
    project("  Name: {type: text, pii: fake, faker: company}\n"
            "  Email: {type: text, pii: fake, faker: email, name_from: [Name, Sex]}\n")
    lines = problems(tmp_path)
    assert len(lines) == 2 and all("must be faked with a name provider" in line for line in lines)
    assert lines[0].startswith("specs/people.yml:9:60: ") and lines[1].startswith("specs/people.yml:9:66: ")


def test_context_columns_must_carry_meaning(project, tmp_path):
    project("  Sx: {type: categorical, pii: drop}\n"
            "  Name: {type: text, pii: fake, faker: name, gender: Sx, locale_from: Name}\n")
    lines = problems(tmp_path)
    assert any("gender column 'Sx' is published with 'pii: drop'" in line for line in lines)
    assert any("locale_from names the column itself" in line for line in lines)


def test_a_cycle_is_an_error(project, tmp_path):
    project("  A: {type: text, pii: fake, faker: name, locale_from: B}\n"
            "  B: {type: text, pii: fake, faker: country, locale_from: A}\n")
    lines = problems(tmp_path)
    assert any("form a cycle (A -> B -> A)" in line for line in lines)


@pytest.mark.parametrize(("column", "message"), [
    ("{type: text, pii: fake, faker: email, gender: Sex}", "'gender' applies to the name providers"),
    ("{type: text, pii: fake, faker: name, name_from: Sex}", "'name_from' applies to the providers"),
    ("{type: categorical, gender: Sex}", "'gender' is only valid with 'pii: fake'"),
    ("{type: categorical, locale_from: Country}", "'locale_from' is only valid with 'pii: fake'"),
    ("{type: text, pii: fake, faker: email, name_from: []}", "'name_from' needs at least one column"),
])
def test_keys_only_where_they_change_the_draw(project, tmp_path, column, message):
    project(f"  X: {column}\n")
    lines = problems(tmp_path)
    assert len(lines) == 1 and message in lines[0] and ":8:" in lines[0]
