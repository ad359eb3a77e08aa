"""Deterministic checks: the same published rows, spec and seed give bit-identical metric values
at publish time, on a re-check of the rows read back from the target, in another process (with
another hash salt) and with `--jobs 2`.

The project is built to hit what used to make them differ: DECIMAL(10,2) columns (the model
draws unrounded values, the publication rounds them), a birth date generalised to its year
(the model draws any instant, the publication truncates it) used as a quasi-identifier, a
timestamp, and a parent/child pair drawn together.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.helpers import make_warehouse

SYNTHSPEC = [sys.executable, "-m", "synthspec.cli.main"]

CHECKS = """\
checks:
  quality_score: {min: 0.3}
  column_shapes: {min: 0.3, min_relative: 0.1}
  dcr_share: {max: 0.99}
  exact_match_rate: {max: 1.0, severity: warn}
  nndr: {max: 1.0, severity: warn}
  membership_inference_auc: {max: 1.0, severity: warn}
"""


@pytest.fixture
def project(tmp_path: Path, write: Callable[[str, str], Path]) -> Path:
    rng = np.random.default_rng(11)
    n = 400
    customers = pd.DataFrame({
        "customer_id": np.arange(1, n + 1),
        "segment": rng.choice(["consumer", "small_business", "enterprise"], n, p=[0.6, 0.3, 0.1]),
        "birth_date": pd.to_datetime("1950-01-01") + pd.to_timedelta(rng.integers(0, 18_000, n), unit="D"),
        "balance": np.round(rng.gamma(2.0, 150.0, n), 2),
        "signup_at": pd.to_datetime("2020-01-01") + pd.to_timedelta(rng.integers(0, 10**8, n), unit="s"),
    })
    per = rng.poisson(2.5, n)
    orders = pd.DataFrame({
        "order_id": np.arange(1, per.sum() + 1),
        "customer_id": np.repeat(customers.customer_id.to_numpy(), per),
        "amount": np.round(rng.lognormal(3.0, 0.8, per.sum()), 2),
        "channel": rng.choice(["web", "app", "store"], per.sum()),
    })
    path = make_warehouse(tmp_path / "wh.duckdb", {"customers": customers, "orders": orders})
    with duckdb.connect(str(path)) as con:  # the exact types a warehouse has
        con.execute("ALTER TABLE raw.customers ALTER balance TYPE DECIMAL(10,2)")
        con.execute("ALTER TABLE raw.customers ALTER birth_date TYPE DATE")
        con.execute("ALTER TABLE raw.orders ALTER amount TYPE DECIMAL(10,2)")
    write("synthspec.yml", """
        name: determinism
        source: {duckdb: wh.duckdb}
        target: {duckdb: wh.duckdb, schema: synthetic}
        defaults:
          model: {type: cart, seed: 3}
        """)
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "customers.yml").write_text(
        "version: 1\ntable: customers\nsource: {table: raw.customers}\ncolumns:\n"
        "  customer_id: {type: id, primary_key: true}\n"
        "  segment: {type: categorical}\n"
        "  birth_date: {type: datetime, pii: generalize, truncate: year}\n"
        "  balance: {type: numerical, min: 0}\n"
        "  signup_at: {type: datetime}\n"
        "privacy: {quasi_identifiers: [segment, birth_date]}\n" + CHECKS +
        "  reidentification_risk: {max: 1.0, severity: warn}\n"
        "  k_anonymity: {min: 1, severity: warn}\n"
        "  ml_efficacy: {min: 0.0, target: segment, severity: warn}\n")
    (tmp_path / "specs" / "orders.yml").write_text(
        "version: 1\ntable: orders\nsource: {table: raw.orders}\ncolumns:\n"
        "  order_id: {type: id, primary_key: true}\n"
        "  customer_id: {type: id, references: customers.customer_id}\n"
        "  amount: {type: numerical, min: 0}\n"
        "  channel: {type: categorical}\n" + CHECKS)
    return tmp_path


def apply(root: Path, *args: str, hash_seed: str = "1") -> dict:
    """`synthspec apply` in a new process with the given hash salt; its run_results.json."""
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    result = subprocess.run([*SYNTHSPEC, "apply", "-q", *args], cwd=root, capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads((root / "target" / "run_results.json").read_text())


def values(report: dict) -> dict[str, dict[str, object]]:
    """Per table and check: the unrounded value, its interval, its numeric details."""
    out: dict[str, dict[str, object]] = {}
    for table in report["tables"]:
        for check in table["checks"]:
            out.setdefault(table["table"], {})[check["metric"]] = (
                check["value"], check["interval"], check["details"], check["outcome"])
    return out


def published(root: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(root / "wh.duckdb"), read_only=True) as con:
        return {t: con.sql(f"SELECT * FROM synthetic.{t} ORDER BY ALL").df() for t in ("customers", "orders")}


def loosen(root: Path) -> None:
    """Change only a threshold in every spec: `plan` must call for a re-check."""
    for spec in (root / "specs").glob("*.yml"):
        spec.write_text(spec.read_text().replace("quality_score: {min: 0.3}", "quality_score: {min: 0.25}"))


def assert_same_values(before: dict, after: dict) -> None:
    """Every check's unrounded value, interval and details, and the stored metrics, are ==."""
    a, b = values(before), values(after)
    assert set(a) == set(b) == {"customers", "orders"}
    for table in a:
        for metric in a[table]:
            assert b[table][metric] == a[table][metric], (table, metric)
    assert [t["metrics"] for t in before["tables"]] == [t["metrics"] for t in after["tables"]]


def test_publish_recheck_other_process_and_two_jobs_give_identical_values(project: Path) -> None:
    # Publish (hash salt 1), then a threshold edit: a re-check of the rows read back from the
    # target, in another process with another hash salt.
    first = apply(project, "--jobs", "1", hash_seed="1")
    assert {t["table"]: t["action"] for t in first["tables"]} == {"customers": "train", "orders": "train"}
    assert set(values(first)["customers"]) >= {"dcr_share", "reidentification_risk", "ml_efficacy", "quality_score"}
    assert "relative" in values(first)["orders"]["column_shapes"][2]  # min_relative's subsampled comparison
    rows = published(project)
    loosen(project)
    recheck = apply(project, hash_seed="2")
    assert {t["table"]: t["action"] for t in recheck["tables"]} == {"customers": "recheck", "orders": "recheck"}
    assert_same_values(first, recheck)
    # Trained again in two worker processes (one thread each): the same rows, the same values.
    two = apply(project, "--force", "--jobs", "2", hash_seed="3")
    assert {t["table"]: t["action"] for t in two["tables"]} == {"customers": "train", "orders": "train"}
    for table, frame in published(project).items():
        pd.testing.assert_frame_equal(frame, rows[table])
    assert_same_values(first, two)
