"""Helpers shared by tests (importable as `tests.helpers`)."""

from __future__ import annotations

from pathlib import Path

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
