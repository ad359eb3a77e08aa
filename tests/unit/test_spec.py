from __future__ import annotations

from pathlib import Path

import pytest

from synthspec.errors import SpecError
from synthspec.spec.loader import interpolate
from synthspec.spec.project import load_project
from synthspec.spec.schema import render, table_spec_schema

REPO = Path(__file__).resolve().parents[2]

PROJECT = """
name: t
source: {duckdb: wh.duckdb}
target: {duckdb: wh.duckdb, schema: synthetic}
defaults:
  model: {type: cart, seed: 3}
  checks:
    quality_score: {min: 0.8}
"""

SPEC = """
version: 1
table: people
source:
  table: raw.people
columns:
  id: {type: id, primary_key: true}
  age: {type: numerical}
  city: {type: categorical}
"""


@pytest.fixture
def project(write):
    write("synthspec.yml", PROJECT)
    write("specs/people.yml", SPEC)
    return write


def problems(root: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_project(root, environ or {})
    return info.value.lines()


def test_valid_project_merges_defaults(project, tmp_path):
    loaded = load_project(tmp_path, {})
    spec = loaded.specs[0].spec
    assert spec.model.type == "cart" and spec.model.seed == 3
    assert spec.checks.quality_score is not None and spec.checks.quality_score.min == 0.8
    assert spec.holdout == 0.2


def test_spec_overrides_defaults_key_by_key(project, tmp_path):
    project("specs/people.yml", SPEC + "model: {seed: 9}\nchecks:\n  dcr_share: {max: 0.55}\n")
    spec = load_project(tmp_path, {}).specs[0].spec
    assert spec.model.type == "cart" and spec.model.seed == 9
    assert spec.checks.quality_score.min == 0.8 and spec.checks.dcr_share.max == 0.55


def test_a_spec_naming_another_model_drops_the_default_params(project, tmp_path):
    """Parameters differ per model: the project's cart leaf size must not reach a copula."""
    project("synthspec.yml", PROJECT.replace("model: {type: cart, seed: 3}", "model: {type: cart, seed: 3, params: {min_samples_leaf: 25}}"))
    assert load_project(tmp_path, {}).specs[0].spec.model.params == {"min_samples_leaf": 25}
    project("specs/people.yml", SPEC + "model: {type: gaussian_copula}\n")
    model = load_project(tmp_path, {}).specs[0].spec.model
    assert model.type == "gaussian_copula" and model.seed == 3 and not model.params
    project("specs/people.yml", SPEC + "model: {type: cart, params: {max_depth: 4}}\n")  # same type: merged
    assert load_project(tmp_path, {}).specs[0].spec.model.params == {"min_samples_leaf": 25, "max_depth": 4}
    # Default params without a default type are meant for the type each spec names: kept.
    project("synthspec.yml", PROJECT.replace("model: {type: cart, seed: 3}", "model: {seed: 3, params: {min_samples_leaf: 25}}"))
    project("specs/people.yml", SPEC + "model: {type: cart}\n")
    assert load_project(tmp_path, {}).specs[0].spec.model.params == {"min_samples_leaf": 25}


def test_unknown_key_suggests_the_right_one(project, tmp_path):
    project("specs/people.yml", SPEC.replace("  age: {type: numerical}", "  age: {type: numerical, mni: 0}"))
    (line,) = problems(tmp_path)
    assert line.startswith("specs/people.yml:7:")
    assert "unknown key 'columns.age.mni'" in line and "did you mean 'min'?" in line


def test_unknown_top_level_key(project, tmp_path):
    project("specs/people.yml", SPEC + "chekcs: {}\n")
    (line,) = problems(tmp_path)
    assert line.startswith("specs/people.yml:9:1:") and "did you mean 'checks'?" in line


def test_wrong_type_points_at_the_value(project, tmp_path):
    project("specs/people.yml", SPEC + "rows: many\n")
    (line,) = problems(tmp_path)
    assert line.startswith("specs/people.yml:9:7:") and "rows" in line and "integer" in line


def test_bad_enum_value(project, tmp_path):
    project("specs/people.yml", SPEC.replace("type: categorical", "type: categorcal"))
    (line,) = problems(tmp_path)
    assert "specs/people.yml:8:" in line and "columns.city.type" in line


def test_malformed_yaml_reports_line_and_column(project, tmp_path):
    project("specs/people.yml", "version: 1\ntable: [oops\n")
    (line,) = problems(tmp_path)
    assert line.startswith("specs/people.yml:") and "invalid YAML" in line


def test_duplicate_key_is_an_error(project, tmp_path):
    project("specs/people.yml", SPEC + "table: other\n")
    (line,) = problems(tmp_path)
    assert line == "specs/people.yml:9:1: duplicate key 'table'"


def test_missing_required_key(project, tmp_path):
    project("specs/people.yml", SPEC.replace("table: people\n", ""))
    (line,) = problems(tmp_path)
    assert "missing required key 'table'" in line


def test_every_problem_of_every_spec_at_once(project, tmp_path):
    project("specs/a.yml", SPEC.replace("people", "a") + "rows: -1\nbogus: 1\n")
    project("specs/b.yml", "version: 2\n")
    lines = problems(tmp_path)
    assert any(line.startswith("specs/a.yml:9:") for line in lines)
    assert any(line.startswith("specs/a.yml:10:") and "bogus" in line for line in lines)
    assert any(line.startswith("specs/b.yml:1:") for line in lines)
    assert len(lines) >= 4


def test_source_needs_exactly_one_kind(project, tmp_path):
    project("specs/people.yml", SPEC.replace("  table: raw.people", "  table: raw.people\n  path: x.parquet"))
    (line,) = problems(tmp_path)
    assert "exactly one of 'table', 'query' or 'path'" in line


def test_env_interpolation_and_defaults():
    text, missing = interpolate("${A}/${B:-b}/${C:-}", {"A": "a"})
    assert text == "a/b/" and missing == []
    text, missing = interpolate("${NOPE}", {})
    assert missing == ["NOPE"]


def test_env_values_are_resolved_but_never_echoed(project, tmp_path):
    project("synthspec.yml", PROJECT.replace("schema: synthetic", 'schema: "${SCHEMA}"'))
    loaded = load_project(tmp_path, {"SCHEMA": "synth_dev"})
    assert loaded.config.target.schema_ == "synth_dev"
    # A resolved value that fails validation is reported without the value itself.
    lines = problems(tmp_path, {"SCHEMA": "not valid!secret"})
    assert lines and all("secret" not in line for line in lines)


def test_missing_env_var_is_located(project, tmp_path):
    project("synthspec.yml", PROJECT.replace("schema: synthetic", 'schema: "${SCHEMA}"'))
    (line,) = problems(tmp_path)
    assert line.startswith("synthspec.yml:3:") and "environment variable 'SCHEMA' is not set" in line


def test_unknown_model_and_param(project, tmp_path):
    project("specs/people.yml", SPEC + "model: {type: crat}\n")
    (line,) = problems(tmp_path)
    assert "unknown model 'crat'" in line and "did you mean 'cart'" in line
    project("specs/people.yml", SPEC + "model:\n  params: {min_leaf: 3}\n")
    (line,) = problems(tmp_path)
    assert line.startswith("specs/people.yml:10:") and "unknown parameter 'min_leaf' for model 'cart'" in line


def test_epsilon_with_a_model_that_is_not_private_fails_clearly(project, tmp_path):
    project("specs/people.yml", SPEC + "model: {type: cart}\nprivacy: {epsilon: 1.0}\nchecks:\n  ml_efficacy: {min: 0.5, target: city}\n")
    lines = problems(tmp_path)
    assert any("privacy.epsilon needs a differentially private model" in line for line in lines)
    assert not any("ml_efficacy" in line for line in lines)


def test_keep_needs_a_reason(project, tmp_path):
    project("specs/people.yml", SPEC.replace("{type: categorical}", "{type: categorical, pii: keep}"))
    (line,) = problems(tmp_path)
    assert "'pii: keep' requires a 'reason'" in line


def test_spec_cannot_loosen_a_guardrail(project, tmp_path):
    project("synthspec.yml", PROJECT + "guardrails:\n  checks: {dcr_share: {max: 0.55}}\n")
    project("specs/people.yml", SPEC + "checks:\n  dcr_share: {max: 0.7}\n")
    (line,) = problems(tmp_path)
    assert line.startswith("specs/people.yml:10:") and "loosens the project guardrail" in line
    project("specs/people.yml", SPEC + "checks:\n  dcr_share: {max: 0.5}\n")
    load_project(tmp_path, {})  # tightening is fine


def test_constraint_columns_must_be_declared(project, tmp_path):
    project("specs/people.yml", SPEC + "constraints:\n  - {type: inequality, low: age, high: agee}\n")
    (line,) = problems(tmp_path)
    assert "constraint column 'agee'" in line


def test_duplicate_table_names(project, tmp_path):
    project("specs/people2.yml", SPEC)
    (line,) = problems(tmp_path)
    assert "also defined in" in line


def test_missing_project_file(tmp_path):
    (line,) = problems(tmp_path)
    assert "no synthspec.yml" in line


def test_committed_json_schema_is_in_sync():
    committed = (REPO / "specs" / "table_spec.schema.json").read_text()
    assert committed == render(table_spec_schema()), "run `synthspec schema > specs/table_spec.schema.json`"


def test_demo_project_is_valid():
    project = load_project(REPO, {})
    assert [s.table for s in project.specs] == ["adult"]


@pytest.mark.parametrize("entry, message", [
    ('{type: datetime, format: "Y-m-d"}', "'format' of a datetime column is a strftime format"),
    ('{type: boolean, format: "yes"}', "'format' of a boolean column is its two spellings, true first"),
    ('{type: boolean, format: "Y/Y"}', "'format' of a boolean column is its two spellings, true first"),
    ('{type: categorical, format: "%Y"}', "'format' is only valid for datetime and boolean columns stored as text"),
])
def test_format_errors_are_located(project, tmp_path, entry, message):
    project("specs/people.yml", SPEC.replace("city: {type: categorical}", f"city: {entry}"))
    (line,) = problems(tmp_path)
    assert line.startswith("specs/people.yml:8:") and message in line
