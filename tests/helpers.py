"""Helpers shared by tests (importable as `tests.helpers`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def make_warehouse(path: Path, tables: dict[str, pd.DataFrame], schema: str = "raw") -> Path:
    import duckdb

    con = duckdb.connect(str(path))
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for name, frame in tables.items():
        con.register("frame", frame)
        con.execute(f"CREATE OR REPLACE TABLE {schema}.{name} AS SELECT * FROM frame")
        con.unregister("frame")
    con.close()
    return path


ADULT_COLUMNS = """\
  age: {type: numerical}
  workclass: {type: categorical}
  fnlwgt: {type: numerical}
  education: {type: categorical}
  education_num: {type: numerical}
  marital_status: {type: categorical}
  occupation: {type: categorical}
  relationship: {type: categorical}
  race: {type: categorical}
  sex: {type: categorical}
  capital_gain: {type: numerical}
  capital_loss: {type: numerical}
  hours_per_week: {type: numerical}
  native_country: {type: categorical}
  income: {type: categorical}
"""


KINDS = {"x": "numerical", "y": "numerical", "c": "categorical", "b": "categorical"}


def make_frame(n: int, seed: int) -> pd.DataFrame:
    """Mixed-kind frame following the contract (float64 + object with str/bool/None)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = 2.0 * x + rng.normal(scale=0.3, size=n)
    c = rng.choice(["red", "green", "blue"], size=n, p=[0.5, 0.3, 0.2])
    b = [bool(v) for v in (x + rng.normal(scale=0.5, size=n)) > 0]
    frame = pd.DataFrame(
        {"x": x, "y": y, "c": pd.Series(c, dtype=object), "b": pd.Series(b, dtype=object)}
    )
    frame.loc[frame.index % 17 == 0, "y"] = np.nan
    frame.loc[frame.index % 13 == 0, "c"] = None
    return frame


def run_cli(project: Path, *args: str):  # noqa: ANN201 - click's Result
    """The real CLI in-process on ``project``; a traceback in the output fails the test."""
    from click.testing import CliRunner

    from synthspec.cli.main import cli

    result = CliRunner().invoke(cli, [*args, "--project-dir", str(project)], catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def query_db(project: Path, sql: str, database: str = "wh.duckdb") -> list[tuple]:
    """Rows of ``sql`` on the project's DuckDB file, opened read-only."""
    import duckdb

    con = duckdb.connect(str(project / database), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


#: Public domains of Adult's numerical columns, for differentially private specs.
ADULT_DOMAINS = {"age": (17, 90), "fnlwgt": (0, 1_500_000), "education_num": (1, 16),
                 "capital_gain": (0, 100_000), "capital_loss": (0, 5_000), "hours_per_week": (1, 99)}


def dp_adult_spec(adult: pd.DataFrame, source: dict, *, epsilon: float = 1.0, cap: float | None = 1.5) -> dict:
    """A dp_bayes spec over Adult's columns with every domain declared public."""
    columns: dict[str, dict] = {}
    for name in adult.columns:
        if name in ADULT_DOMAINS:
            low, high = ADULT_DOMAINS[name]
            columns[name] = {"type": "numerical", "min": low, "max": high, "domain": "public"}
        else:
            columns[name] = {"type": "categorical", "values": sorted(adult[name].dropna().unique().tolist()), "domain": "public"}
    privacy: dict = {"epsilon": epsilon, "delta": 1e-6}
    if cap is not None:
        privacy["max_total_epsilon"] = cap
    return {"version": 1, "table": "adult", "source": source, "model": {"type": "dp_bayes"}, "columns": columns,
            "privacy": privacy,
            "checks": {"quality_score": {"min": 0.0}, "dcr_share": {"max": 1.0}, "epsilon_spent": {"max": epsilon}}}


#: YAML whose aliases nest 9 lists of 9 nine levels deep: 9^9 values once expanded (a "billion laughs").
ALIAS_BOMB = "".join(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['x'] * 9)}]\n"
                     for prev, name in zip([None, *"abcdefgh"], "abcdefghi", strict=True))


def accounts_project(root: Path, adult: pd.DataFrame, write, *, name: str, payments_per: tuple[float, float]) -> Path:  # noqa: ANN001
    """Two groups of tables: an Adult sample alone, and accounts with their payments (a child
    that publishes with its parent). ``payments_per``: the mean payments of a free and of a
    pro account."""
    rng = np.random.default_rng(3)
    accounts = pd.DataFrame({"account_id": np.arange(1, 301), "tier": rng.choice(["free", "pro"], 300, p=[0.7, 0.3])})
    per = rng.poisson(np.where(accounts.tier == "pro", payments_per[1], payments_per[0]))
    payments = pd.DataFrame({
        "payment_id": np.arange(1, per.sum() + 1),
        "account_id": np.repeat(accounts.account_id, per).to_numpy(),
        "amount": np.round(rng.gamma(2.0, 20.0, per.sum()), 2),
    })
    make_warehouse(root / "wh.duckdb", {"adult": adult.head(1500), "accounts": accounts, "payments": payments})
    write("synthspec.yml", project_file(name))
    write("specs/adult.yml", "version: 1\ntable: adult\nsource: {table: raw.adult}\ncolumns:\n" + ADULT_COLUMNS)
    write("specs/accounts.yml", """
        version: 1
        table: accounts
        source: {table: raw.accounts}
        columns:
          account_id: {type: id, primary_key: true}
          tier: {type: categorical}
        """)
    write("specs/payments.yml", """
        version: 1
        table: payments
        source: {table: raw.payments}
        columns:
          payment_id: {type: id, primary_key: true}
          account_id: {type: id, references: accounts.account_id}
          amount: {type: numerical, min: 0}
        """)
    return root


def project_file(name: str) -> str:
    """A project over `wh.duckdb` (source and target), cart with seed 5, lenient thresholds."""
    return f"""
        name: {name}
        source: {{duckdb: wh.duckdb}}
        target: {{duckdb: wh.duckdb, schema: synthetic}}
        defaults:
          model: {{type: cart, seed: 5}}
          checks:
            quality_score: {{min: 0.5}}
            dcr_share: {{max: 0.95}}
        """
