"""Fuzz the spec language: any YAML a spec author writes gets exit 0 or 2 from `validate`, with
located messages, no traceback, and never the value of a secret it interpolates."""

from __future__ import annotations

import math

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.helpers import FUZZ, PROJECT, SECRET, SECRET_VAR_VALUE, project_dir
from tests.helpers import run_cli

BASE = {
    "version": 1, "table": "t", "source": {"table": "raw.t"}, "model": {"type": "cart", "seed": 1},
    "columns": {"x": {"type": "numerical", "min": 0, "max": 10}, "y": {"type": "categorical"},
                "d": {"type": "datetime"}, "s": {"type": "text", "pii": "fake", "faker": "name"}},
    "privacy": {"quasi_identifiers": ["x"]},
    "checks": {"quality_score": {"min": 0.5}, "dcr_share": {"max": 0.9}},
}

#: Paths into the spec where a fuzzed value goes.
PATHS = [("table",), ("source", "table"), ("source", "query"), ("source", "path"), ("rows",), ("scale",), ("holdout",),
         ("model", "type"), ("model", "seed"), ("model", "params"), ("columns", "x", "min"), ("columns", "x", "max"),
         ("columns", "d", "min"), ("columns", "y", "values"), ("columns", "x", "type"), ("columns", "s", "faker"),
         ("columns", "s", "pii"), ("checks", "quality_score"), ("checks", "quality_score", "min"),
         ("checks", "dcr_share", "max"), ("checks", "dcr_share", "severity"), ("checks", "k_anonymity"),
         ("privacy", "epsilon"), ("privacy", "quasi_identifiers"), ("constraints",), ("description",), ("columns",),
         ("columns", "x"), ("checks",), ("version",)]

nasty = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([math.nan, math.inf, -math.inf, 0, -1, 1e308]),
    st.text(max_size=30), st.sampled_from(["${FUZZ_SECRET}", "raw.${FUZZ_SECRET}", "${FUZZ_SECRET:-x}", "${UNSET_VAR}",
                                           "nan", "inf", "-inf", "2020-01-01", "1e999", "null", "~", "on", "'", '"']),
    st.lists(st.text(max_size=5), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _set(spec: dict, path: tuple, value: object) -> dict:
    node = spec
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[path[-1]] = value
    return spec


def _project(root) -> None:
    (root / "synthspec.yml").write_text(PROJECT)
    (root / "specs").mkdir()


@settings(FUZZ, max_examples=150)
@given(edits=st.lists(st.tuples(st.sampled_from(PATHS), nasty), min_size=1, max_size=4))
def test_any_spec_validates_or_fails_with_located_messages(edits, monkeypatch_env):
    import copy

    spec = copy.deepcopy(BASE)
    for path, value in edits:
        _set(spec, path, value)
    with project_dir() as root:
        _project(root)
        (root / "specs" / "t.yml").write_text(yaml.safe_dump(spec, allow_unicode=True))
        result = run_cli(root, "validate")
        assert result.exit_code in (0, 2), result.output
        assert SECRET_VAR_VALUE not in result.output and SECRET not in result.output
        if result.exit_code == 2:
            assert all(line.startswith(("specs/t.yml:", "synthspec.yml:", "error:")) or line.startswith(" ")
                       for line in result.output.splitlines() if line.strip()), result.output


ALIASES = st.sampled_from([
    "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
    "a: &a [*a]\n", "a: &a {b: *a}\n", "version: 1\ntable: &t t\nsource: {table: *t}\n", "<<: {a: 1}\n", "? [a]\n: 1\n",
])


@settings(FUZZ, max_examples=60)
@given(text=st.one_of(ALIASES, st.text(max_size=200)), prefix=st.sampled_from(["", "version: 1\n", "columns:\n  "]))
def test_any_text_gets_a_clean_answer(text, prefix, monkeypatch_env):
    with project_dir() as root:
        _project(root)
        (root / "specs" / "t.yml").write_text(prefix + text)
        result = run_cli(root, "validate")
        assert result.exit_code in (0, 2), result.output


@pytest.fixture
def monkeypatch_env(monkeypatch):
    monkeypatch.setenv("FUZZ_SECRET", SECRET_VAR_VALUE)
    monkeypatch.setenv("SYNTHSPEC_SECRET", SECRET)
    monkeypatch.delenv("UNSET_VAR", raising=False)
