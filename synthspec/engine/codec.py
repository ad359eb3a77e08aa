"""Between DuckDB's frames and a model's frame.

A model sees two kinds of column (see ``synthspec.models.base``). This module encodes source
rows for a model, and decodes a model's rows into values that CAST cleanly back to the source's
exact DuckDB type (column roles come from ``synthspec.engine.columns``).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from synthspec.engine.columns import ColumnPlan, is_integer_type, is_tz_type
from synthspec.models.base import ModelColumn
from synthspec.spec.models import InequalityConstraint

_EPOCH = pd.Timestamp("1970-01-01")


def model_columns(plans: list[ColumnPlan]) -> list[ModelColumn]:
    return [p.model_column() for p in plans if p.role == "model"]


def encode(frame: pd.DataFrame, plans: list[ColumnPlan]) -> pd.DataFrame:
    """Source rows -> the model's frame (only modelled columns)."""
    out: dict[str, object] = {}
    for plan in plans:
        if plan.role != "model":
            continue
        series = frame[plan.name]
        column = plan.model_column()
        if column.datetime:
            out[plan.name] = _to_seconds(series)
        elif column.kind == "numerical":
            out[plan.name] = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()
        else:
            values = series.astype(object)
            out[plan.name] = values.where(series.notna(), None).to_numpy(dtype=object)
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _to_seconds(series: pd.Series) -> np.ndarray:
    values = pd.to_datetime(series)
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return ((values - _EPOCH) / pd.Timedelta(seconds=1)).astype("float64").to_numpy()


def enforce(frame: pd.DataFrame, plans: list[ColumnPlan], constraints: list[InequalityConstraint]) -> pd.DataFrame:
    """Declared bounds, integer-ness and inequality constraints on a sampled model frame."""
    frame = frame.copy()
    by_name = {p.name: p for p in plans}
    for name in frame.columns:
        plan = by_name[name]
        column = plan.model_column()
        if column.kind != "numerical":
            continue
        values = frame[name].to_numpy(dtype="float64", copy=True)
        if column.low is not None or column.high is not None:
            values = np.clip(values, column.low, column.high)
        if column.integer:
            values = np.round(values)
        frame[name] = values
    for constraint in constraints:
        if constraint.low in frame.columns and constraint.high in frame.columns:
            low = frame[constraint.low].to_numpy(copy=True)
            high = frame[constraint.high].to_numpy(copy=True)
            swap = low > high  # NaN compares False: nulls are left alone
            low[swap], high[swap] = high[swap], low[swap]
            frame[constraint.low], frame[constraint.high] = low, high
    return frame


def decode(model_frame: pd.DataFrame, plans: list[ColumnPlan], source: pd.DataFrame, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """A model's frame (plus generated keys and dropped columns) -> values ready to CAST to
    the source types. ``source`` is used only for the format of generated keys."""
    out: dict[str, object] = {}
    for plan in plans:
        if plan.role == "drop":
            out[plan.name] = pd.Series([None] * n, dtype=object)
        elif plan.role == "key":
            out[plan.name] = generate_keys(source[plan.name], plan.duckdb_type, n, rng)
        else:
            column = plan.model_column()
            values = model_frame[plan.name]
            if column.datetime:
                seconds = values.to_numpy(dtype="float64")
                stamps = pd.to_datetime(np.round(seconds * 1e6), unit="us", errors="coerce")
                out[plan.name] = stamps.tz_localize("UTC") if is_tz_type(plan.duckdb_type) else stamps
            elif column.kind == "numerical":
                out[plan.name] = values.to_numpy(dtype="float64")
            elif plan.duckdb_type.upper() == "BOOLEAN":
                out[plan.name] = pd.array([None if v is None else bool(v) for v in values], dtype="boolean")
            else:
                out[plan.name] = pd.Series(values.to_numpy(dtype=object), dtype=object)
    return pd.DataFrame({k: (v.reset_index(drop=True) if isinstance(v, pd.Series) else v) for k, v in out.items()})


_PATTERN = re.compile(r"^(\D*?)(\d+)(\D*)$")


def generate_keys(real: pd.Series, duckdb_type: str, n: int, rng: np.random.Generator) -> object:
    """Unique keys in the source's format: integer sequences, UUIDs, ``PREFIX-000123`` strings.

    Keys are generated, never learnt: they carry no information about real rows."""
    upper = duckdb_type.upper()
    present = real.dropna()
    if is_integer_type(upper):
        start = int(present.min()) if len(present) else 1
        return np.arange(start, start + n, dtype="int64")
    if upper == "UUID":
        raw = rng.bytes(16 * n)
        out = []
        for i in range(n):
            b = bytearray(raw[16 * i : 16 * i + 16])
            b[6] = (b[6] & 0x0F) | 0x40  # version 4
            b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
            h = b.hex()
            out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
        return pd.Series(out, dtype=object)
    strings = present.astype(str)
    matches = strings.str.extract(_PATTERN.pattern)
    if len(strings) and matches.notna().all(axis=None):
        prefixes, suffixes = matches[0].unique(), matches[2].unique()
        if len(prefixes) == 1 and len(suffixes) == 1:
            width = int(matches[1].str.len().max())
            start = int(matches[1].astype("int64").min())
            return pd.Series([f"{prefixes[0]}{i:0{width}d}{suffixes[0]}" for i in range(start, start + n)], dtype=object)
    length = int(strings.str.len().median()) if len(strings) else 12
    alphabet = np.array(list("abcdefghijklmnopqrstuvwxyz0123456789"))
    keys = ["".join(row) for row in alphabet[rng.integers(0, len(alphabet), size=(n, max(length, 8)))]]
    if len(set(keys)) < n:
        keys = [f"{k}{i}" for i, k in enumerate(keys)]
    return pd.Series(keys, dtype=object)
