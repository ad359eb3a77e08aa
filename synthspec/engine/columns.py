"""Column roles and DuckDB type predicates: what the spec and the source type say about each
column. Kept free of numpy/pandas so `plan` and an up-to-date `apply` start fast."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from synthspec.models.base import ModelColumn
from synthspec.spec.models import ColumnSpec

#: model: learnt; key: generated (primary keys); ref: a foreign key, copied from the synthetic
#: parent's keys; drop: published as NULLs; post: hash, fake or (free-form text without a policy)
#: format-preserving random text, generated after sampling from real values the model never
#: sees as features.
Role = Literal["model", "key", "ref", "drop", "post"]

_INTEGER = re.compile(r"^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|INT\d|LONG|SHORT|UHUGEINT)$", re.I)
_NUMERIC = re.compile(r"^(DECIMAL|NUMERIC|FLOAT|DOUBLE|REAL)", re.I)
_DATETIME = re.compile(r"^(DATE|TIMESTAMP)", re.I)


def is_integer_type(duckdb_type: str) -> bool:
    return bool(_INTEGER.match(duckdb_type))


def is_numeric_type(duckdb_type: str) -> bool:
    return is_integer_type(duckdb_type) or bool(_NUMERIC.match(duckdb_type))


def is_datetime_type(duckdb_type: str) -> bool:
    return bool(_DATETIME.match(duckdb_type))


def is_tz_type(duckdb_type: str) -> bool:
    return "TIME ZONE" in duckdb_type.upper() or duckdb_type.upper() in ("TIMESTAMPTZ", "TIMESTAMPTZ_NS")


def is_text_type(duckdb_type: str) -> bool:
    return duckdb_type.strip().upper().startswith(("VARCHAR", "TEXT", "STRING"))


_DECIMAL_SCALE = re.compile(r"^(?:DECIMAL|NUMERIC)\(\d+,\s*(\d+)\)$", re.I)


def width_decimals(width: float) -> int:
    """Decimal places of ``width`` as written (``0.1`` -> 1, ``10`` -> 0), used to round bin
    edges so ``6 * 0.1`` is published as ``0.6`` rather than ``0.6000000000000001``."""
    exponent = Decimal(repr(float(width))).normalize().as_tuple().exponent  # 5.0 -> 0
    return max(0, -int(exponent)) if isinstance(exponent, int) else 0


def decimal_places(duckdb_type: str) -> int | None:
    """The decimal places a numeric type holds exactly: 0 for integers, ``s`` for
    DECIMAL(p, s); None for floating point and every other type."""
    text = duckdb_type.strip()
    if is_integer_type(text):
        return 0
    match = _DECIMAL_SCALE.match(text)
    return int(match.group(1)) if match else None


def type_mismatch(spec: ColumnSpec, duckdb_type: str) -> str | None:
    """Why a declared semantic type cannot hold the source type, or None. Text may hold
    numbers (modelled as numbers, published as text) and, with a `format`, datetimes."""
    upper = duckdb_type.upper()
    if spec.type == "numerical" and not (is_numeric_type(upper) or is_text_type(upper)):
        return f"declared numerical but the source type is {duckdb_type}"
    if spec.type == "datetime" and is_text_type(upper) and spec.format is None:
        return (f"declared datetime but the source type is {duckdb_type}: give the text's `format` "
                "(e.g. format: \"%Y-%m-%d\"), or declare it categorical or text")
    if spec.format is not None and not is_text_type(upper):
        return f"'format' describes values stored as text, but the source type is {duckdb_type}"
    if spec.type == "datetime" and not is_datetime_type(upper) and not is_text_type(upper):
        return f"declared datetime but the source type is {duckdb_type}"
    if spec.type == "boolean" and is_text_type(upper) and spec.format is None:
        return (f"declared boolean but the source type is {duckdb_type}: give the two spellings as `format` "
                "(e.g. format: \"Y/N\"), or declare it categorical")
    if spec.type == "boolean" and upper != "BOOLEAN" and not is_integer_type(upper) and not is_text_type(upper):
        return f"declared boolean but the source type is {duckdb_type}"
    return None


@dataclass(frozen=True)
class ColumnPlan:
    name: str
    duckdb_type: str
    spec: ColumnSpec

    @property
    def role(self) -> Role:
        if self.spec.pii == "drop":
            return "drop"
        if self.spec.references is not None:
            return "ref"
        if self.spec.primary_key:
            return "key"
        if self.spec.pii in ("hash", "fake") or (self.spec.type == "text" and self.spec.pii is None):
            return "post"
        return "model"

    def model_column(self) -> ModelColumn:
        spec = self.spec
        numerical = spec.type in ("numerical", "datetime")
        datetime_ = spec.type == "datetime"
        values = (False, True) if spec.type == "boolean" else (tuple(spec.values) if spec.values is not None else None)
        return ModelColumn(
            name=self.name,
            kind="numerical" if numerical else "categorical",
            integer=numerical and (is_integer_type(self.duckdb_type) or datetime_),
            datetime=datetime_,
            low=bound(spec.min, datetime_),
            high=bound(spec.max, datetime_),
            values=values,
            # A boolean's domain is public by nature; anything else only when a reviewer says so.
            public_domain=spec.type == "boolean" or spec.domain == "public",
        )


def bound(value: float | int | str | None, datetime_: bool) -> float | None:
    """A declared min/max in model units (datetimes: seconds since the epoch, UTC)."""
    if value is None:
        return None
    if datetime_ or isinstance(value, str):
        moment = dt.datetime.fromisoformat(str(value))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.timezone.utc)
        return moment.timestamp()
    return float(value)
