"""Hostile or careless spec input (issue 8): numbers that are not numbers (null, NaN, ±inf,
true, an interpolated non-number), YAML that expands without bound, and unquoted dates."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthspec.errors import SpecError
from synthspec.spec.loader import MAX_FILE_BYTES, MAX_NODES, load_yaml
from synthspec.spec.project import load_project
from tests.helpers import ALIAS_BOMB

PROJECT = """
name: t
source: {duckdb: wh.duckdb}
target: {duckdb: wh.duckdb, schema: synthetic}
"""

SPEC = """
version: 1
table: people
source: {table: raw.people}
columns:
  id: {type: id, primary_key: true}
  age: {type: numerical}
  city: {type: categorical}
"""


def problems(write, root: Path, spec: str, project: str = PROJECT, environ: dict[str, str] | None = None) -> list[str]:
    write("synthspec.yml", project)
    write("specs/people.yml", spec)
    with pytest.raises(SpecError) as info:
        load_project(root, environ or {})
    return info.value.lines()


# --- thresholds and other numbers -------------------------------------------------------------------


def test_a_null_check_is_an_error_not_a_removal(write, tmp_path) -> None:
    # issue 8, B: `dcr_share: null` fell back to the built-in 0.6 under a 0.55 guardrail.
    guarded = PROJECT + "guardrails:\n  checks: {dcr_share: {max: 0.55}}\n"
    (line,) = problems(write, tmp_path, SPEC + "checks:\n  dcr_share: null\n", guarded)
    assert line.startswith("specs/people.yml:9:3: checks.dcr_share: null is not a check; to remove a check, delete it")


@pytest.mark.parametrize(("check", "column", "message"), [
    ("{max: .nan}", 20, "checks.dcr_share.max: Input should be a finite number"),
    ("{max: .inf}", 20, "checks.dcr_share.max: Input should be a finite number"),
    ("{min: -.inf}", 20, "checks.dcr_share.min: Input should be a finite number"),
    ("{max: null}", 15, "checks.dcr_share.max: null is not allowed here; delete the key to leave it unset"),
    ("{min: 0.1, max: null}", 25, "checks.dcr_share.max: null is not allowed here; delete the key to leave it unset"),
    ("{severity: warn}", 3, "checks.dcr_share: a check needs 'min', 'max' or 'min_relative'"),
    ("{}", 3, "checks.dcr_share: a check needs 'min', 'max' or 'min_relative'"),
    ("{max: true}", 15, "checks.dcr_share.max: must be a number, not true/false"),
])
def test_thresholds_must_be_finite_numbers(write, tmp_path, check: str, column: int, message: str) -> None:
    (line,) = problems(write, tmp_path, SPEC + f"checks:\n  dcr_share: {check}\n")
    assert line == f"specs/people.yml:9:{column}: {message}"


@pytest.mark.parametrize("value", ["NaN", "inf", "-Infinity", "lots"])
def test_an_interpolated_threshold_must_be_a_finite_number_and_is_not_echoed(write, tmp_path, value: str) -> None:
    # issue 8, B: `${DCR_MAX:-0.5}` with DCR_MAX=nan printed "0.5320 max nan passed".
    spec = SPEC + 'checks:\n  dcr_share: {max: "${DCR_MAX:-0.5}"}\n'
    (line,) = problems(write, tmp_path, spec, PROJECT + "spec_variables: [DCR_MAX]\n", environ={"DCR_MAX": value})
    assert line.startswith("specs/people.yml:9:20: checks.dcr_share.max: Input should be a")
    assert value not in line


@pytest.mark.parametrize(("extra", "where"), [
    ("rows: null\n", "rows: null is not allowed here"),
    ("rows: true\n", "rows: must be a number, not true/false"),
    ("holdout: .nan\n", "holdout: Input should be a finite number"),
    ("scale: .inf\n", "scale: Input should be a finite number"),
    ("privacy: {epsilon: .inf}\n", "privacy.epsilon: Input should be a finite number"),
    ("privacy: {delta: null}\n", "privacy.delta: null is not allowed here"),
    ("model: {seed: null}\n", "model.seed: null is not allowed here"),
    ("model: {type: cart, params: {smoothing: .nan}}\n", "model.params.smoothing: Input should be a finite number"),
])
def test_other_numeric_fields_refuse_null_nan_inf_and_booleans(write, tmp_path, extra: str, where: str) -> None:
    (line,) = problems(write, tmp_path, SPEC + extra)
    assert line.startswith("specs/people.yml:8:") and where in line


@pytest.mark.parametrize(("guardrails", "message"), [
    ("guardrails: {max_epsilon: .nan}\n", "synthspec.yml:4:27: guardrails.max_epsilon: Input should be a finite number"),
    ("guardrails: {max_epsilon: null}\n", "synthspec.yml:4:14: guardrails.max_epsilon: null is not allowed here"),
    ("guardrails: {checks: {dcr_share: null}}\n", "synthspec.yml:4:23: guardrails.checks.dcr_share: null is not a check"),
    ("guardrails: {checks: {dcr_share: {max: .nan}}}\n", "synthspec.yml:4:40: guardrails.checks.dcr_share.max: Input should be a finite number"),
    ("guardrails: {checks: {dcr_shar: {max: 0.5}}}\n", "synthspec.yml:4:23: unknown key 'guardrails.checks.dcr_shar'; did you mean 'dcr_share'?"),
    ("keep_versions: .nan\n", "synthspec.yml:4:16: keep_versions: Input should be a finite number"),
])
def test_project_numbers_and_guardrails(write, tmp_path, guardrails: str, message: str) -> None:
    (line,) = problems(write, tmp_path, SPEC, PROJECT + guardrails)
    assert line.startswith(message)


# --- column domains: dates and numbers --------------------------------------------------------------

DATED = SPEC + "  signup: {type: datetime, min: 2020-01-01, max: 2024-12-31 23:59:59}\n"


def test_unquoted_dates_are_iso_strings(write, tmp_path) -> None:
    write("synthspec.yml", PROJECT)
    write("specs/people.yml", DATED)
    column = load_project(tmp_path, {}).specs[0].spec.columns["signup"]
    assert (column.min, column.max) == ("2020-01-01", "2024-12-31 23:59:59")


@pytest.mark.parametrize(("column", "message"), [
    ("{type: datetime, min: 2020-13-01}",
     "columns.signup.min: must be a number, or an ISO date or datetime such as 2020-01-01 (datetime columns)"),
    ("{type: datetime, min: 5}", "columns.signup: 'min' of a datetime column must be an ISO date or datetime such as 2020-01-01"),
    ("{type: numerical, max: 2020-01-01}", "columns.signup: 'max' of a numerical column must be a number"),
    ("{type: numerical, max: .nan}", "columns.signup.max: must be a finite number"),
    ("{type: numerical, max: null}", "columns.signup.max: null is not allowed here; delete the key to leave it unset"),
])
def test_a_wrong_domain_bound_is_one_clear_error(write, tmp_path, column: str, message: str) -> None:
    (line,) = problems(write, tmp_path, SPEC + f"  signup: {column}\n")
    assert line.startswith("specs/people.yml:8:") and line.endswith(message)


def test_an_interpolated_numeric_bound_is_a_number(write, tmp_path) -> None:
    write("synthspec.yml", PROJECT + "spec_variables: [AGE_MIN]\n")
    write("specs/people.yml", SPEC.replace("age: {type: numerical}", 'age: {type: numerical, min: "${AGE_MIN}"}'))
    assert load_project(tmp_path, {"AGE_MIN": "17"}).specs[0].spec.columns["age"].min == 17.0
    with pytest.raises(SpecError) as info:
        load_project(tmp_path, {"AGE_MIN": "nan"})
    (line,) = info.value.lines()
    assert line.startswith("specs/people.yml:6:") and "must be a finite number" in line


# --- YAML bombs and other unbounded input -----------------------------------------------------------

def test_an_alias_bomb_is_refused_before_it_is_built(tmp_path) -> None:
    # issue 8, C: aliases nested 9x9 (9^9 values) ate memory until killed.
    (tmp_path / "bomb.yml").write_text(ALIAS_BOMB)
    doc, found = load_yaml(tmp_path / "bomb.yml", "bomb.yml")
    assert [str(p) for p in found] == [
        f"bomb.yml:6:4: this value expands to more than {MAX_NODES:,} nodes once its aliases are expanded (an alias bomb?)"]
    assert doc.data is None and doc.nodes < 100  # each distinct node visited once: no expansion happened


def test_recursive_alias_and_deep_nesting_are_refused(tmp_path) -> None:
    (tmp_path / "rec.yml").write_text("version: 1\ncolumns: &c {a: *c}\n")
    _, found = load_yaml(tmp_path / "rec.yml", "rec.yml")
    assert [str(p) for p in found] == ["rec.yml:2:10: a recursive alias (an anchor used inside itself) is not supported"]
    (tmp_path / "deep.yml").write_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n")
    _, found = load_yaml(tmp_path / "deep.yml", "deep.yml")
    assert [str(p) for p in found] == ["deep.yml:1:68: nested more than 64 levels deep"]


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path) -> None:
    (tmp_path / "big.yml").write_text("a: " + "x" * MAX_FILE_BYTES + "\n")
    doc, found = load_yaml(tmp_path / "big.yml", "big.yml")
    assert [str(p) for p in found] == [f"big.yml:1:1: file is {MAX_FILE_BYTES + 4:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit of a spec file"]
    assert doc.nodes == 0


def test_bad_tagged_values_are_located(tmp_path) -> None:
    (tmp_path / "tags.yml").write_text("a: !!int many\n")
    _, found = load_yaml(tmp_path / "tags.yml", "tags.yml")
    assert [str(p) for p in found] == ["tags.yml:1:4: invalid YAML: the value does not match its tag 'tag:yaml.org,2002:int'"]


def test_a_target_file_named_like_its_schema_is_refused(tmp_path: Path) -> None:
    # DuckDB names a file's catalog after it: `synthetic.duckdb` with schema `synthetic` makes
    # every `synthetic.t` ambiguous (publishing failed with a Binder error, and so would dbt).
    (tmp_path / "specs").mkdir()
    (tmp_path / "synthspec.yml").write_text("name: p\ntarget: {duckdb: out/Synthetic.duckdb, schema: synthetic}\n")
    with pytest.raises(SpecError) as info:
        load_project(tmp_path)
    assert "the target file and the schema are both named 'synthetic'" in str(info.value)


# --- what a spec may read from the environment -------------------------------------------------------


def test_a_spec_reads_only_the_variables_the_project_file_lists(write, tmp_path) -> None:
    # A spec author could otherwise copy any variable of the CI environment into a published
    # column (`query: "select '${AWS_SECRET_ACCESS_KEY}' as x ..."`).
    spec = SPEC.replace("raw.people", '"raw.${TABLE_SUFFIX}"') + "description: ${CI_TOKEN:-none}\n"
    lines = problems(write, tmp_path, spec, environ={"TABLE_SUFFIX": "people", "CI_TOKEN": "t0ps3cr3t-value"})
    assert lines == [
        "specs/people.yml:3:17: environment variable 'TABLE_SUFFIX' may not be interpolated in a spec: "
        "list it under `spec_variables:` in synthspec.yml to allow it",
        "specs/people.yml:8:14: environment variable 'CI_TOKEN' may not be interpolated in a spec: "
        "list it under `spec_variables:` in synthspec.yml to allow it"]
    write("synthspec.yml", PROJECT + "spec_variables: [TABLE_SUFFIX, CI_TOKEN]\n")
    (loaded,) = load_project(tmp_path, {"TABLE_SUFFIX": "people", "CI_TOKEN": "t0ps3cr3t-value"}).specs
    assert loaded.spec.source.table == "raw.people"


@pytest.mark.parametrize("listed", ["SYNTHSPEC_SECRET", "COLUMN_KEY"])
def test_the_policy_secret_can_never_be_a_spec_variable(write, tmp_path, listed: str) -> None:
    spec = SPEC.replace("city: {type: categorical}", "city: {type: text, pii: hash, secret_env: COLUMN_KEY}")
    lines = problems(write, tmp_path, spec, PROJECT + f"spec_variables: [{listed}]\n",
                     environ={"SYNTHSPEC_SECRET": "s" * 20, "COLUMN_KEY": "k" * 20})
    assert any(f"spec_variables: '{listed}' holds the secret key of pii: hash/fake" in line for line in lines), lines


def test_an_unknown_key_is_named_as_written(write, tmp_path) -> None:
    # An upper-case key was taken for one of pydantic's labels: "unknown key 'checks'; did you mean 'checks'?"
    spec = SPEC.replace("city: {type: categorical}", "city: {type: categorical, MIN: 1}") + "checks: {DCR_SHARE: {max: 1.0}}\n"
    lines = problems(write, tmp_path, spec)
    assert lines == ["specs/people.yml:7:29: unknown key 'columns.city.MIN'; did you mean 'min'?",
                     "specs/people.yml:8:10: unknown key 'checks.DCR_SHARE'; did you mean 'dcr_share'?"]


def test_a_spec_chooses_its_hash_key_only_among_the_projects_secrets(write, tmp_path, monkeypatch) -> None:
    # `secret_env: PATH` (public, long enough) keyed the hash with a known value: every published
    # pseudonym could be reversed from a dictionary; and the messages probed the environment.
    spec = SPEC.replace("city: {type: categorical}", "city: {type: text, pii: hash, secret_env: PATH}")
    lines = problems(write, tmp_path, spec, environ={"PATH": "/usr/local/bin:/usr/bin:/bin/and/more"})
    assert lines == ["specs/people.yml:7:33: column 'city': secret_env 'PATH' is not one of the project's secrets "
                     "(privacy.secret_env, privacy.secret_envs in synthspec.yml)"]
    write("synthspec.yml", PROJECT + "privacy: {secret_envs: [CITY_KEY]}\n")
    write("specs/people.yml", spec.replace("PATH", "CITY_KEY"))
    monkeypatch.setenv("CITY_KEY", "k" * 20)
    assert load_project(tmp_path, {}).specs[0].spec.columns["city"].secret_env == "CITY_KEY"
