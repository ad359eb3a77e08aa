"""`model: {max_training_rows: N}` end to end: above the cap the model is fitted on a seeded
subsample, deterministically; the checks still see the whole training split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers import ADULT_COLUMNS, make_warehouse, query_db, run_cli

pytestmark = pytest.mark.integration


def _project(root: Path, adult: pd.DataFrame, cap: int | None, extra: str = "") -> Path:
    root.mkdir()
    make_warehouse(root / "wh.duckdb", {"adult": adult.head(3000)})
    (root / "synthspec.yml").write_text(
        "name: test\nsource: {duckdb: wh.duckdb}\ntarget: {duckdb: wh.duckdb, schema: synthetic}\n"
        "defaults:\n  checks:\n    quality_score: {min: 0.5}\n    dcr_share: {max: 0.9}\n")
    (root / "specs").mkdir()
    model = "model:\n  type: cart\n  seed: 7\n" + (f"  max_training_rows: {cap}\n" if cap is not None else "") + extra
    (root / "specs" / "adult.yml").write_text("version: 1\ntable: adult\nsource:\n  table: raw.adult\n" + model
                                              + "columns:\n" + ADULT_COLUMNS)
    return root


def _fitted_rows(project: Path) -> int:
    """Rows the cached cart model was fitted on: the donors of its first column (a marginal)."""
    (model_json,) = list(project.rglob("model.json"))
    meta = json.loads(model_json.read_text())
    first = meta["columns"][meta["order"][0]]
    with np.load(model_json.parent / "trees.npz") as npz:
        donors = npz[f"{first['value_tree']}_donors"]
        nulls = npz[f"{first['null_tree']}_donors"] if first.get("null_tree") else donors
    return int(max(len(donors), len(nulls)))


def _train_rows(project: Path) -> int:
    table = json.loads((project / "target" / "run_results.json").read_text())["tables"][0]
    return int(next(c for c in table["checks"] if c["metric"] == "dcr_share")["details"]["n_train"])


def test_a_capped_table_is_fitted_on_a_seeded_subsample(tmp_path: Path, adult: pd.DataFrame) -> None:
    capped = _project(tmp_path / "capped", adult, 1000)
    assert run_cli(capped, "apply", "-q").exit_code == 0
    first = query_db(capped, "SELECT * FROM synthetic.adult")
    fitted = _fitted_rows(capped)
    # the cap, plus the rows that keep every categorical value represented (engine/subsample.py)
    assert 1000 <= fitted < 1000 + 10 * 150
    assert _train_rows(capped) == 2400  # the checks still compare against the whole split
    assert run_cli(capped, "apply", "--force", "-q").exit_code == 0
    assert query_db(capped, "SELECT * FROM synthetic.adult") == first

    every = _project(tmp_path / "every", adult, 0)  # 0: no cap
    assert run_cli(every, "apply", "-q").exit_code == 0
    assert _fitted_rows(every) == 2400
    assert query_db(every, "SELECT * FROM synthetic.adult") != first

    # cart's `donors: all`: trees grown on the subsample, every training row a donor
    donors = _project(tmp_path / "donors", adult, 1000, "  params: {donors: all}\n")
    assert run_cli(donors, "apply", "-q").exit_code == 0
    assert _fitted_rows(donors) == 2400
    assert query_db(donors, "SELECT * FROM synthetic.adult") not in (first, query_db(every, "SELECT * FROM synthetic.adult"))


def test_a_table_under_the_default_cap_is_unchanged_by_it(tmp_path: Path, adult: pd.DataFrame) -> None:
    """No key and a cap above the table: the same rows as fitting on every row (`0`)."""
    default = _project(tmp_path / "default", adult, None)
    every = _project(tmp_path / "every", adult, 0)
    high = _project(tmp_path / "high", adult, 2400)
    for project in (default, every, high):
        assert run_cli(project, "apply", "-q").exit_code == 0
    rows = query_db(default, "SELECT * FROM synthetic.adult")
    assert _fitted_rows(default) == 2400
    assert query_db(every, "SELECT * FROM synthetic.adult") == rows
    assert query_db(high, "SELECT * FROM synthetic.adult") == rows
