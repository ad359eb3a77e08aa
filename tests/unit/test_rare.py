"""Rare-value protection (synthspec.engine.rare): pooling, rule resolution, guardrails, reports."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from synthspec.engine import rare
from synthspec.engine.columns import ColumnPlan
from synthspec.engine.rare import RareRule
from synthspec.engine.results import RunResult, TableResult, report_html, summary_markdown
from synthspec.engine.weakening import weakenings
from synthspec.errors import SpecError
from synthspec.io.compact import objects
from synthspec.spec.models import ColumnSpec, TableSpec
from synthspec.spec.project import load_project


def plan(name: str, duckdb_type: str, **spec) -> ColumnPlan:
    return ColumnPlan(name, duckdb_type, ColumnSpec(**spec))


def table_spec(columns: dict, **extra) -> TableSpec:
    return TableSpec.model_validate({"version": 1, "table": "t", "source": {"table": "raw.t"}, "columns": columns, **extra})


def token_rule(k: int = 3) -> RareRule:
    return RareRule("c", k, "token", "_RARE_")


def test_values_held_by_fewer_than_k_rows_become_the_token_and_k_rows_stay():
    series = pd.Series(["a"] * 3 + ["b"] * 2 + ["c"])
    out, report = rare.protect_column(series, token_rule(3), seed=1)
    assert out.tolist() == ["a"] * 3 + ["_RARE_"] * 3
    assert (report.values, report.rows, report.replace) == (2, 3, "token")


def test_nulls_are_never_rare_and_never_counted():
    series = pd.Series(["a", "a", "a", None, None, "b"], dtype=object)
    out, report = rare.protect_column(series, token_rule(3), seed=1)
    assert objects(out).tolist() == ["a", "a", "a", None, None, "_RARE_"]
    assert (report.values, report.rows) == (1, 1)


def test_nothing_rare_leaves_the_column_untouched():
    series = pd.Series(["a", "a", "b", "b"])
    out, report = rare.protect_column(series, token_rule(2), seed=1)
    assert out is series and (report.values, report.rows) == (0, 0)


def test_min_count_one_turns_protection_off():
    series = pd.Series(["a", "b", "c"])
    out, report = rare.protect_column(series, token_rule(1), seed=1)
    assert out.tolist() == ["a", "b", "c"] and report.values == 0


def test_all_rare_text_column_becomes_all_token():
    series = pd.Series(["x", "y", "z", None], dtype=object)
    out, report = rare.protect_column(series, token_rule(2), seed=1)
    assert objects(out).tolist() == ["_RARE_"] * 3 + [None] and report.replace == "token"


def test_all_rare_typed_column_becomes_null():
    series = pd.Series(["1", "2", "3"], dtype=object)
    out, report = rare.protect_column(series, RareRule("c", 2, "sample", "_RARE_"), seed=1)
    assert objects(out).tolist() == [None, None, None] and (report.replace, report.values, report.rows) == ("null", 3, 3)


def test_sample_draws_only_frequent_values_in_proportion_and_deterministically():
    series = pd.Series(["10"] * 60 + ["20"] * 30 + [str(v) for v in range(100, 400)], dtype=object)
    rule = RareRule("c", 5, "sample", "_RARE_")
    out, report = rare.protect_column(series, rule, seed=7)
    assert set(out) == {"10", "20"} and (report.values, report.rows, report.replace) == (300, 300, "sample")
    drawn = out.iloc[90:]
    assert 0.55 < (drawn == "10").mean() < 0.78  # 2:1 odds, 300 draws
    again, _ = rare.protect_column(series, rule, seed=7)
    assert again.tolist() == out.tolist()
    other, _ = rare.protect_column(series, rule, seed=8)
    assert other.tolist() != out.tolist()


def test_sample_draw_does_not_depend_on_row_order_of_tied_counts():
    # Two frequent values with the same count, seen in either order first: the same draws.
    first = pd.Series(["a"] * 5 + ["b"] * 5 + ["r1", "r2", "r3"], dtype=object)
    second = pd.Series(["b"] * 5 + ["a"] * 5 + ["r1", "r2", "r3"], dtype=object)
    rule = RareRule("c", 5, "sample", "_RARE_")
    assert rare.protect_column(first, rule, 3)[0].iloc[10:].tolist() == rare.protect_column(second, rule, 3)[0].iloc[10:].tolist()


def test_protect_reports_counts_only_per_rule_column():
    frame = pd.DataFrame({"c": ["a", "a", "b"], "n": [1.0, 2.0, 3.0]})
    out, report = rare.protect(frame, {"c": token_rule(2)}, seed=0)
    assert out["c"].tolist() == ["a", "a", "_RARE_"] and out["n"].tolist() == [1.0, 2.0, 3.0]
    assert [r.to_dict() for r in report] == [{"column": "c", "min_count": 2, "replace": "token", "values": 1, "rows": 1}]
    assert frame["c"].tolist() == ["a", "a", "b"]  # the caller's frame is left alone


def test_rules_resolve_column_over_table_over_defaults_and_never_below_the_guardrail():
    spec = table_spec({"city": {"type": "categorical", "rare": {"min_count": 20}}, "zip": {"type": "categorical"},
                       "n": {"type": "numerical"}, "b": {"type": "boolean"}, "free": {"type": "text"},
                       "code": {"type": "categorical", "values": ["a", "b"]}, "level": {"type": "categorical"}},
                      rare={"min_count": 8, "token": "(other)"})
    plans = [plan("city", "VARCHAR", **spec.columns["city"].model_dump(exclude_none=True)),
             plan("zip", "VARCHAR", type="categorical"), plan("n", "DOUBLE", type="numerical"),
             plan("b", "BOOLEAN", type="boolean"), plan("free", "VARCHAR", type="text"),
             plan("code", "VARCHAR", type="categorical", values=["a", "b"]), plan("level", "INTEGER", type="categorical")]
    found = rare.rules(spec, plans, guardrail=10)
    assert set(found) == {"city", "zip", "code", "level"}  # numerical, boolean, free text are not categories
    assert found["city"] == RareRule("city", 20, "token", "(other)")
    assert found["zip"].min_count == 10  # the table's 8 is under the project floor
    assert found["code"].replace == "sample" and found["level"].replace == "sample"


def test_defaults_and_dp_tables():
    plans = [plan("c", "VARCHAR", type="categorical")]
    assert rare.rules(table_spec({"c": {"type": "categorical"}}), plans, None)["c"] == RareRule("c", 5, "token", "_RARE_")
    dp = table_spec({"c": {"type": "categorical", "values": ["a"], "domain": "public"}}, privacy={"epsilon": 1.0})
    assert rare.rules(dp, plans, 10) == {}


PROJECT = """
name: t
source: {duckdb: wh.duckdb}
target: {duckdb: wh.duckdb, schema: synthetic}
defaults:
  model: {type: cart}
guardrails:
  rare_min_count: 5
"""


def _problems(root: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_project(root, {})
    return info.value.lines()


def test_a_spec_below_the_guardrail_fails_at_the_key(write, tmp_path):
    write("synthspec.yml", PROJECT)
    write("specs/t.yml", "version: 1\ntable: t\nsource: {table: raw.t}\nrare: {min_count: 2}\ncolumns:\n"
                         "  c: {type: categorical, rare: {min_count: 1}}\n")
    lines = _problems(tmp_path)
    assert "specs/t.yml:4:8: rare.min_count 2 loosens the project guardrail (rare_min_count 5)" in lines
    assert any(line.startswith("specs/t.yml:6:") and "column 'c': rare.min_count 1 loosens" in line for line in lines)


def test_rare_on_a_column_that_is_not_a_category_fails(write, tmp_path):
    write("synthspec.yml", PROJECT)
    write("specs/t.yml", "version: 1\ntable: t\nsource: {table: raw.t}\ncolumns:\n  n: {type: numerical, rare: {min_count: 9}}\n")
    assert any("column 'n': 'rare' applies to modelled categorical columns" in line for line in _problems(tmp_path))


def test_project_defaults_give_every_table_its_rare_block(write, tmp_path):
    write("synthspec.yml", PROJECT.replace("defaults:\n", "defaults:\n  rare: {min_count: 12, replace: sample}\n"))
    write("specs/t.yml", "version: 1\ntable: t\nsource: {table: raw.t}\ncolumns:\n  c: {type: categorical}\n")
    spec = load_project(tmp_path, {}).specs[0].spec
    assert spec.rare.min_count == 12 and spec.rare.replace == "sample"


def test_token_on_a_typed_column_is_a_located_error(write, tmp_path):
    write("synthspec.yml", PROJECT)
    write("specs/t.yml", "version: 1\ntable: t\nsource: {table: raw.t}\ncolumns:\n"
                         "  level: {type: categorical, rare: {replace: token}}\n")
    loaded = load_project(tmp_path, {}).specs[0]
    plans = [ColumnPlan("level", "INTEGER", loaded.spec.columns["level"])]
    (problem,) = rare.rule_problems(loaded, plans, rare.rules(loaded.spec, plans, None))
    assert str(problem).startswith("specs/t.yml:5:") and "rare.replace 'token' needs a VARCHAR column" in str(problem)
    assert "source type INTEGER" in str(problem)


def test_weakening_lists_a_lowered_threshold_and_removed_protection():
    old = {"checks": {}, "pii": {"a": None, "b": None, "c": None}, "rare_min_count": {"a": 10, "b": 5, "c": 5}}
    new = {"checks": {}, "pii": {"a": None, "b": None, "c": None}, "rare_min_count": {"a": 5, "c": 5},
           "epsilon": None, "delta": None, "max_total_epsilon": None, "quasi_identifiers": []}
    assert weakenings(old, new) == ["column a: rare.min_count lowered from 10 to 5",
                                    "column b: rare-value protection removed (was min_count 5)"]
    assert weakenings(old, {**new, "rare_min_count": {}, "epsilon": 1.0}) == []  # a DP model protects instead


def test_reports_carry_the_counts_and_survive_a_round_trip():
    rows = [{"column": "city", "min_count": 5, "replace": "token", "values": 41, "rows": 57},
            {"column": "level", "min_count": 5, "replace": "sample", "values": 0, "rows": 0}]
    result = RunResult(tables=[TableResult("people", rare=rows)])
    data = result.to_dict()
    assert data["tables"][0]["rare_values"] == rows
    assert RunResult.from_dict(data).tables[0].rare == rows
    assert "| people | city | 5 | 41 | 57 | token |" in summary_markdown(result)
    assert "level" not in summary_markdown(result)  # nothing protected there
    assert "Rare values protected" in report_html(result) and ">57<" in report_html(result)
