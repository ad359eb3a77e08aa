"""Between DuckDB's frames and a model's frame.

A model sees two kinds of column (see ``synthspec.models.base``). This module encodes source
rows for a model, and decodes a model's rows into values that CAST cleanly back to the source's
exact DuckDB type (column roles come from ``synthspec.engine.columns``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from synthspec.engine.columns import ColumnPlan, is_integer_type, is_text_type, is_tz_type
from synthspec.io.compact import compact, held, narrow, objects, recode
from synthspec.models.base import ModelColumn, reflect_past
from synthspec.spec.models import InequalityConstraint

if TYPE_CHECKING:
    from synthspec.privacy.consistency import RowFake


def model_columns(plans: list[ColumnPlan]) -> list[ModelColumn]:
    return [p.model_column() for p in plans if p.role == "model"]


def encode(frame: pd.DataFrame, plans: list[ColumnPlan], *, published: bool = False,
           compact_numbers: bool = False) -> pd.DataFrame:
    """Source rows -> the model's frame (only modelled columns; categories as codes, see
    io/compact.py). ``published``: the rows are synthetic rows as published, already masked: a
    second mask would mask them further (it keeps at most half of a value's characters), so
    they are not masked again. Their numbers are generalized again, each to its nearest edge:
    that changes no edge, and puts back a value the source type's CAST moved off its edge
    (37.2 as REAL is 37.20000076...). ``compact_numbers``: numbers float32 holds exactly are held
    as float32 (the real table's encoding: io/compact.py; ``compact.widened`` gives float64)."""
    out: dict[str, object] = {}
    for plan in plans:
        if plan.role != "model":
            continue
        raw = frame[plan.name]
        column = plan.model_column()
        rewrite = plan.spec.pii == "generalize" or (plan.spec.pii == "mask" and not published)
        if column.kind == "categorical" and isinstance(raw.dtype, pd.CategoricalDtype) and not rewrite:
            # text read as codes: each distinct value is encoded once and the rows keep their codes
            codes, uniques = pd.factorize(_categories(pd.Series(raw.cat.categories, dtype=object), plan), use_na_sentinel=True)
            out[plan.name] = held(recode(raw.cat.codes.to_numpy(), codes), uniques)
            continue
        series = _pre_policy(objects(raw), plan, published=published) if rewrite else objects(raw)
        if column.kind == "categorical":
            out[plan.name] = compact(_categories(series, plan))
            continue
        if column.datetime and plan.spec.format is not None and is_text_type(plan.duckdb_type):
            numbers = _to_seconds(parse_formatted(series, plan.spec.format))
        elif column.datetime:
            numbers = _to_seconds(series)
        else:
            numbers = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()
        out[plan.name] = narrow(numbers) if compact_numbers else numbers
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))


def _categories(series: pd.Series, plan: ColumnPlan) -> np.ndarray:
    """A categorical column's cells in the model's contract, str or bool (None for null):
    integers, decimals or dates modelled as categories become their text (CAST back to the
    source type on publish), so that every model and metric compares like with like."""
    values = series.astype(object)
    if plan.spec.type == "boolean" and plan.duckdb_type.upper() != "BOOLEAN":
        values = _to_booleans(values, plan)
    elif plan.duckdb_type.upper() != "BOOLEAN":
        values = _as_text(series, values)
    return values.where(series.notna(), None).to_numpy(dtype=object)


def _text_of(value: object) -> object:
    """A category's model value: text stays text, a null stays null, anything else its ``str``."""
    return value if isinstance(value, str) or value is None or value is pd.NA else str(value)


def _as_text(series: pd.Series, values: pd.Series) -> pd.Series:
    """:func:`_text_of` of every cell of ``values`` (``series`` as object), without a Python call
    per cell on the frequent shapes: text only (nothing to do), or one non-object dtype (each
    distinct value converted once, then spread by its code). Objects of mixed types go cell by
    cell: equal-hashing values of different types (``1``, ``1.0``, ``True``) have different texts."""
    if series.dtype == object:
        if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            return values
        return values.map(_text_of)
    codes, uniques = pd.factorize(series)
    texts = np.array([_text_of(u) for u in pd.Series(uniques).astype(object)] + [None], dtype=object)
    return pd.Series(texts[codes], index=values.index, dtype=object)


def _to_booleans(values: pd.Series, plan: ColumnPlan) -> pd.Series:
    """A boolean stored as 0/1 integers or as two spellings of text (``format: Y/N``) as
    Python booleans (None for anything else: `apply` refuses such text before it gets here)."""
    from synthspec.spec.models import boolean_spellings

    if plan.spec.format is not None:
        true, false = boolean_spellings(plan.spec.format)
        mapping: dict[object, bool] = {true: True, false: False}
    else:
        mapping = {1: True, 0: False}
    return values.map(lambda v: mapping.get(v))


def _from_booleans(values: pd.Series, plan: ColumnPlan) -> object:
    """Sampled booleans in the source's form: BOOLEAN, 0/1 integers or the two spellings."""
    from synthspec.spec.models import boolean_spellings

    flags = [None if v is None or v is pd.NA else bool(v) for v in values]
    if plan.duckdb_type.upper() == "BOOLEAN":
        return pd.array(flags, dtype="boolean")
    if plan.spec.format is not None:
        true, false = boolean_spellings(plan.spec.format)
        return pd.Series([None if f is None else true if f else false for f in flags], dtype=object)
    return pd.array([None if f is None else int(f) for f in flags], dtype="Int64")


def _pre_policy(series: pd.Series, plan: ColumnPlan, *, published: bool = False) -> pd.Series:
    """mask and generalize rewrite real values before the model sees them (``published``: see
    ``encode`` and ``policies.generalize_numeric``)."""
    from synthspec.privacy import policies

    spec = plan.spec
    if spec.pii == "mask":
        return policies.mask_values(series, keep_last=4 if spec.keep_last is None else spec.keep_last)
    if spec.pii == "generalize" and spec.width is not None:
        # An integer or DECIMAL type's least value bounds the edges: publishing never overflows.
        limits = type_limits(plan.duckdb_type)
        return policies.generalize_numeric(series, width=spec.width, published=published,
                                           lowest=None if limits is None else limits[0])
    if spec.pii == "generalize" and spec.truncate is not None:
        return policies.generalize_datetime(series, spec.truncate)
    return series


def parse_formatted(series: pd.Series, fmt: str) -> pd.Series:
    """Dates stored as text, read with their strftime ``fmt``, as naive ``datetime64[us]`` of
    any year (UTC for a format with ``%z``); NaT for nulls and for text the format does not
    read (`apply` refuses a source with such text before it gets here)."""
    import datetime as dt

    parse_fmt = fmt.replace("%-", "%")  # strptime reads unpadded numbers with the padded directive
    parsed: dict[str, object] = {}
    for text in pd.unique(series.dropna()):
        try:
            moment = dt.datetime.strptime(str(text), parse_fmt)
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
        parsed[text] = moment
    values = [None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else parsed.get(v) for v in series.tolist()]
    return pd.Series(np.array(values, dtype="datetime64[us]"), index=series.index, name=series.name)


def format_moments(seconds: np.ndarray, fmt: str) -> pd.Series:
    """Epoch seconds as text in strftime ``fmt`` (None for NaN); years below 1000 zero-padded
    to four digits as DuckDB and ISO write them (glibc's ``%Y`` does not pad)."""
    import datetime as dt

    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) if "%z" in fmt else dt.datetime(1970, 1, 1)
    out: list[str | None] = []
    for value in seconds.tolist():
        if value is None or np.isnan(value):
            out.append(None)
            continue
        moment = epoch + dt.timedelta(microseconds=round(value * 1e6))
        out.append(moment.strftime(fmt.replace("%Y", f"{moment.year:04d}")) if "%%" not in fmt else moment.strftime(fmt))
    return pd.Series(out, dtype=object)


def _format_numbers(numbers: np.ndarray, real: pd.Series) -> pd.Series:
    """Numbers for a text column that holds numbers, written the way the real text writes them:
    whole numbers without a decimal point; a fixed number of decimals when the real text always
    has it (``3.50``), else the shortest form at the real precision."""
    real = objects(real)
    texts = real.dropna().astype(str).str.strip()
    decimals = real_decimals(real) or 0
    fixed = decimals > 0 and len(texts) > 0 and texts.str.fullmatch(rf"[-+]?\d*\.\d{{{decimals}}}").mean() >= 0.99
    out: list[str | None] = []
    for value in numbers.tolist():
        if np.isnan(value):
            out.append(None)
        elif decimals == 0:
            out.append(str(int(round(value))))
        elif fixed:
            out.append(f"{value:.{decimals}f}")
        else:
            out.append(np.format_float_positional(round(value, decimals), precision=decimals, trim="-"))
    return pd.Series(out, dtype=object)


def real_seconds(donors: pd.DataFrame, plan: ColumnPlan) -> np.ndarray:
    """The real training values of a datetime column in epoch seconds (NaN for nulls)."""
    series = objects(donors[plan.name])
    if plan.spec.format is not None and is_text_type(plan.duckdb_type):
        series = parse_formatted(series, plan.spec.format)
    return _to_seconds(series)


#: Units a datetime column may be recorded in (seconds): days, hours, minutes, seconds.
_TIME_UNITS = (86_400.0, 3_600.0, 60.0, 1.0)


def time_unit(real: np.ndarray) -> float:
    """The coarsest unit every real value is a whole multiple of (dates stored as midnight
    timestamps: a day), so sampled moments are recorded at the same granularity; 1e-6 (a
    microsecond) when none is."""
    present = real[~np.isnan(real)]
    for unit in _TIME_UNITS:
        if present.size and np.all(np.mod(present, unit) == 0):
            return unit
    return 1e-6


#: A numerical column of whole numbers with at most this many distinct real values, each held by
#: at least ``DISCRETE_MIN_ROWS`` rows on average, is discrete (counts, ratings, temperatures in
#: whole degrees): sampled values are moved to the nearest real value, so no value between two
#: real ones is published.
DISCRETE_MAX = 50
DISCRETE_MIN_ROWS = 2
#: Share of the rows the frequent values must hold for the support to be those values only.
FREQUENT_MASS = 0.9


def discrete_support(real: pd.Series) -> np.ndarray | None:
    """The sorted real values of a discrete numerical column, or None when it is not discrete.
    Values held by fewer rows than the rare-value threshold are left out of the support (a
    sample near one moves to a frequent neighbour) when the others hold 90% of the rows. Rare
    values beyond the frequent ones (a tail of long hospital stays, each held by a patient or
    two) are pooled instead, each run of at least that many rows standing as its rounded mean
    (:func:`_tail_points`): snapped onto the last frequent value, a tail of 41 to 83 days was
    published as a heap at 40 and nothing above it."""
    from synthspec.spec.models import DEFAULT_RARE_MIN_COUNT

    values = pd.to_numeric(objects(real), errors="coerce").dropna().to_numpy(dtype="float64")
    support, counts = np.unique(values, return_counts=True)
    if support.size == 0 or support.size > DISCRETE_MAX or support.size * DISCRETE_MIN_ROWS > values.size:
        return None
    if not np.all(support == np.round(support)):
        # measurements at a fixed precision (5.1 cm) are continuous: rounding to the real
        # precision keeps their look, and snapping onto training values would only copy them
        return None
    # Moving a sample to the nearest *frequent* value keeps rare values out when the frequent
    # ones carry the distribution (ratings, counts); when they do not (prices in whole units,
    # a few rows each), snapping onto them would collapse it: every real value is the support.
    frequent = counts >= DEFAULT_RARE_MIN_COUNT
    if counts[frequent].sum() < FREQUENT_MASS * values.size:
        return support
    body = support[frequent]
    below, above = support < body[0], support > body[-1]
    tails = [_tail_points(support[below][::-1], counts[below][::-1], DEFAULT_RARE_MIN_COUNT),
             _tail_points(support[above], counts[above], DEFAULT_RARE_MIN_COUNT)]
    return np.unique(np.concatenate([body, *tails]))


def _tail_points(values: np.ndarray, counts: np.ndarray, rows: int) -> np.ndarray:
    """Rare whole ``values`` beyond a column's frequent ones (nearest first, held by ``counts``
    rows) pooled into runs of at least ``rows`` rows, each standing for its rows as their mean
    rounded to a whole number (micro-aggregation: a tail's shape is kept, and no published value
    is one chosen from fewer than ``rows`` real rows). A remainder too small for a run of its
    own joins the last run; a tail too small for any run is left out (its samples move to the
    nearest frequent value)."""
    runs: list[tuple[int, int]] = []
    start, held = 0, 0
    for i, count in enumerate(counts):
        held += int(count)
        if held >= rows:
            runs.append((start, i + 1))
            start, held = i + 1, 0
    if held and runs:
        runs[-1] = (runs[-1][0], len(values))
    points = [np.round(np.average(values[a:b], weights=counts[a:b])) for a, b in runs]
    return np.asarray(points, dtype="float64")


def snap(values: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Each value moved to the nearest value of ``support`` (sorted); NaN stays NaN."""
    out = values.copy()
    present = ~np.isnan(values)
    index = np.clip(np.searchsorted(support, values[present]), 1, max(support.size - 1, 1))
    if support.size == 1:
        out[present] = support[0]
        return out
    low, high = support[index - 1], support[index]
    out[present] = np.where(values[present] - low <= high - values[present], low, high)
    return out


def _to_seconds(series: pd.Series) -> np.ndarray:
    """Epoch seconds (UTC; NaN for nulls) of dates or timestamps of any unit and any year DuckDB
    hands to pandas. The arithmetic is on integer microseconds, never through nanoseconds:
    pandas' nanosecond range ends in 1677 and 2262, and converting through it wraps
    ``9999-12-31`` around to ``1816-03-29``."""
    micros = _micros(series)
    null = micros == _NAT
    whole = np.floor_divide(micros, 1_000_000)
    seconds = whole.astype("float64") + (micros - whole * 1_000_000).astype("float64") / 1e6
    seconds[null] = np.nan
    return seconds


_NAT = np.iinfo(np.int64).min


def _micros(series: pd.Series) -> np.ndarray:
    """Integer microseconds since the epoch (UTC); ``_NAT`` for nulls."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        # The underlying integers are UTC already; no wall-clock conversion (which is unsafe in
        # pandas for far-away years) is needed.
        stamps = np.asarray(series.array.asi8).view(f"datetime64[{series.dtype.unit}]")
    elif pd.api.types.is_datetime64_dtype(series.dtype):
        stamps = series.to_numpy()
    else:  # objects (datetime.date from generalize, ISO text): naive ones of any year, else pandas
        from synthspec.privacy.policies import naive_datetimes

        naive = naive_datetimes(series)
        if naive is None:
            return _micros(pd.to_datetime(series, utc=True))
        stamps = naive.to_numpy()
    return stamps.astype("datetime64[us]").view("int64")


#: The seconds a sampled datetime is clipped to, so that it fits the source type (a model may
#: extrapolate): nanosecond types end in 1677/2262, the others at the limits of a microsecond
#: TIMESTAMP (also what pandas can hold for a DATE).
_NS_RANGE = (-9_223_372_036.0, 9_223_372_036.0)
_US_RANGE = (-9_223_372_022_400.0, 9_223_372_036_854.0)


def _from_seconds(seconds: np.ndarray, duckdb_type: str) -> pd.Series:
    """Epoch seconds -> ``datetime64[us]`` (UTC-aware for a type with a time zone), exact for
    every year the type holds: whole seconds and the microseconds are converted separately."""
    low, high = _NS_RANGE if duckdb_type.strip().upper().endswith("_NS") else _US_RANGE
    null = np.isnan(seconds)
    values = np.clip(np.where(null, 0.0, seconds), low, high)
    whole = np.floor(values)
    micros = whole.astype("int64") * 1_000_000 + np.round((values - whole) * 1e6).astype("int64")
    micros[null] = _NAT
    stamps = pd.Series(micros.view("datetime64[us]"))
    return stamps.dt.tz_localize("UTC") if is_tz_type(duckdb_type) else stamps


def enforce(frame: pd.DataFrame, plans: list[ColumnPlan], constraints: list[InequalityConstraint],
            context: pd.DataFrame | None = None) -> pd.DataFrame:
    """Declared bounds, integer-ness and inequality constraints on a sampled model frame.

    ``context`` holds the parents' attributes of every row (columns ``<fk>.<column>``): a
    constraint with one side there moves only this table's side (see :func:`_reflect`)."""
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
        elif context is not None and constraint.low in context.columns and constraint.high in frame.columns:
            frame[constraint.high] = _reflect(frame[constraint.high].to_numpy(dtype="float64"),
                                              context[constraint.low].to_numpy(dtype="float64"), above=True)
        elif context is not None and constraint.high in context.columns and constraint.low in frame.columns:
            frame[constraint.low] = _reflect(frame[constraint.low].to_numpy(dtype="float64"),
                                             context[constraint.high].to_numpy(dtype="float64"), above=False)
    return frame


def _reflect(values: np.ndarray, bound: np.ndarray, *, above: bool) -> np.ndarray:
    """Values on the wrong side of a per-row bound (a parent's value) mirrored across it
    (:func:`~synthspec.models.base.reflect_past`), never beyond the column's sampled range."""
    if np.isnan(values).all():  # nothing to move (and no range)
        return values.copy()
    return reflect_past(values, bound, above=above, limit=np.nanmax(values) if above else np.nanmin(values))


def conform_rules(plans: list[ColumnPlan], real: pd.DataFrame) -> dict[str, tuple[str, Any]]:
    """What :func:`conform` does to each column, learnt once from the ``real`` training rows
    (source values): every shard of a big output is conformed by the same rules, without
    scanning the training rows again. ``("range", (low, high, unit))`` for a datetime column,
    ``("support", values)`` for a discrete numerical one."""
    rules: dict[str, tuple[str, Any]] = {}
    for plan in plans:
        if plan.role != "model" or plan.name not in real.columns:
            continue
        column = plan.model_column()
        if column.kind != "numerical":
            continue
        if column.datetime:
            seconds = real_seconds(real, plan)
            if not np.isnan(seconds).all():
                rules[plan.name] = ("range", (np.nanmin(seconds), np.nanmax(seconds), time_unit(seconds)))
        elif (support := discrete_support(real[plan.name])) is not None:
            rules[plan.name] = ("support", support)
    return rules


def conform(frame: pd.DataFrame, rules: dict[str, tuple[str, Any]]) -> pd.DataFrame:
    """A sampled model frame made to look like the real training rows the ``rules`` were learnt
    from (:func:`conform_rules`): datetimes within the real range at the real granularity
    (midnight stays midnight), and discrete numerical columns on real values only (see
    :func:`discrete_support`). Applied before the checks, so they measure exactly what is
    published. Not for differentially private models, whose output may only depend on
    declared, public domains."""
    frame = frame.copy()
    for name, (kind, rule) in rules.items():
        if name not in frame.columns:
            continue
        values = frame[name].to_numpy(dtype="float64", copy=True)
        if kind == "range":
            low, high, unit = rule
            frame[name] = np.round(np.clip(values, low, high) / unit) * unit
        else:
            frame[name] = snap(values, rule)
    return frame


def decode(
    model_frame: pd.DataFrame,
    plans: list[ColumnPlan],
    donors: pd.DataFrame,
    n: int,
    rng: np.random.Generator,
    secrets: Mapping[str, bytes] | None = None,
    avoid: Collection[str] | None = None,
    key_formats: pd.DataFrame | None = None,
    foreign_keys: Mapping[str, pd.Series] | None = None,
    offset: int = 0,
    total: int | None = None,
) -> pd.DataFrame:
    """A model's frame (plus generated keys, policy columns and dropped columns) -> values
    ready to CAST to the source types. ``donors`` are the real training rows whose values
    hash/fake columns pseudonymise; ``key_formats`` (default: ``donors``) are the rows whose
    keys give the format of generated keys; ``foreign_keys`` the values of reference columns
    (copied from the synthetic parents). ``offset``: the position of the first row in the
    whole output when it is drawn in shards (generated key sequences continue from there), and
    ``total`` the rows of the whole output (random keys are as long as all of them need)."""
    from synthspec.privacy import policies

    out: dict[str, object] = {}
    # A composite primary key with foreign-key parts numbers its other parts within each
    # parent (order line 1, 2, ... of every order); otherwise keys are sequences.
    key_groups = [p.name for p in plans if p.spec.primary_key and p.role == "ref"]
    refs = {p.name: (foreign_keys or {})[p.name].reset_index(drop=True) for p in plans if p.role == "ref"}
    for plan in _decode_order(plans):
        if plan.role == "drop":
            out[plan.name] = pd.Series([None] * n, dtype=object)
        elif plan.role == "ref":
            out[plan.name] = refs[plan.name]
        elif plan.role == "key":
            real = objects((donors if key_formats is None else key_formats)[plan.name])
            if key_groups:
                groups = pd.DataFrame({g: refs[g] for g in key_groups}).astype(str)
                rank = groups.groupby(key_groups, sort=False).cumcount().to_numpy()
                keys = generate_keys(real, plan.duckdb_type, int(rank.max()) + 1 if n else 0, rng)
                keys = np.asarray(keys, dtype=object)[rank]
                out[plan.name] = keys.astype(np.int64) if is_integer_type(plan.duckdb_type) else pd.Series(keys, dtype=object)
            else:
                out[plan.name] = generate_keys(real, plan.duckdb_type, n, rng, offset=offset, total=total)
            if plan.spec.pii == "hash":
                out[plan.name] = policies.hash_values(pd.Series(out[plan.name]), (secrets or {})[plan.name], plan.duckdb_type)
            elif plan.spec.pii == "fake":
                assert plan.spec.faker is not None
                out[plan.name] = policies.fake_values(pd.Series(out[plan.name]), (secrets or {})[plan.name], plan.spec.faker,
                                                      plan.spec.locale, unique=True, avoid=avoid, rows=_row_fakes(plan, n, out))
        elif plan.role == "post":
            # Each synthetic row gets the pseudonym of a real value drawn at random from the
            # training rows: the column keeps its real frequency profile, never a real value.
            real = objects(donors[plan.name]).reset_index(drop=True)
            drawn = real.iloc[rng.integers(0, len(real), size=n)] if len(real) else pd.Series([None] * n, dtype=object)
            drawn = drawn.reset_index(drop=True)
            if plan.spec.pii is None:
                out[plan.name] = policies.shape_values(drawn, rng)
            elif plan.spec.pii == "hash":
                out[plan.name] = policies.hash_values(drawn, (secrets or {})[plan.name], plan.duckdb_type)
            else:
                assert plan.spec.faker is not None
                out[plan.name] = policies.fake_values(drawn, (secrets or {})[plan.name], plan.spec.faker, plan.spec.locale,
                                                      avoid=avoid, rows=_row_fakes(plan, n, out))
        else:
            column = plan.model_column()
            values = objects(model_frame[plan.name])
            if column.datetime:
                seconds = values.to_numpy(dtype="float64")
                if plan.spec.format is not None and is_text_type(plan.duckdb_type):
                    out[plan.name] = format_moments(seconds, plan.spec.format)
                else:
                    out[plan.name] = _from_seconds(seconds, plan.duckdb_type)
            elif column.kind == "numerical":
                numbers = values.to_numpy(dtype="float64")
                decimals = real_decimals(donors[plan.name]) if plan.name in donors else None
                numbers = numbers if decimals is None else np.round(numbers, decimals)
                limits = type_limits(plan.duckdb_type)
                numbers = numbers if limits is None else np.clip(numbers, *limits)
                out[plan.name] = _format_numbers(numbers, donors[plan.name]) if is_text_type(plan.duckdb_type) and plan.name in donors else numbers
            elif plan.spec.type == "boolean" or plan.duckdb_type.upper() == "BOOLEAN":
                out[plan.name] = _from_booleans(values, plan)
            else:
                out[plan.name] = pd.Series(values.to_numpy(dtype=object), dtype=object)
        if plan.spec.pii == "generalize":
            # The model learnt generalized values, but sampling (smoothing, bin interiors)
            # can land between them: generalize again so no finer value is ever published.
            out[plan.name] = _pre_policy(pd.Series(out[plan.name]), plan)
    return pd.DataFrame({p.name: (v.reset_index(drop=True) if isinstance(v := out[p.name], pd.Series) else v) for p in plans})


def _decode_order(plans: list[ColumnPlan]) -> list[ColumnPlan]:
    """Plans in declared order, except that a fake following its row (``gender``,
    ``locale_from``, ``name_from``) comes after the columns it reads."""
    from synthspec.privacy.consistency import decode_order

    by_name = {p.name: p for p in plans}
    return [by_name[name] for name in decode_order(list(by_name), {p.name: p.spec for p in plans})]


def _row_fakes(plan: ColumnPlan, n: int, decoded: Mapping[str, Any]) -> list[RowFake] | None:
    """Each row's provider, locale and name parts for a fake that follows its row, or None."""
    from synthspec.privacy.consistency import row_fakes
    from synthspec.privacy.policies import provider_available

    return row_fakes(plan.spec, n, decoded, provider_available)


_INTEGER_BITS = {"TINYINT": (8, True), "SMALLINT": (16, True), "INTEGER": (32, True), "INT": (32, True),
                 "BIGINT": (64, True), "HUGEINT": (128, True), "UTINYINT": (8, False), "USMALLINT": (16, False),
                 "UINTEGER": (32, False), "UBIGINT": (64, False), "UHUGEINT": (128, False)}
_DECIMAL = re.compile(r"^(?:DECIMAL|NUMERIC)\((\d+),\s*(\d+)\)$", re.I)


def type_limits(duckdb_type: str) -> tuple[float, float] | None:
    """The widest float64 range that CASTs into ``duckdb_type`` (integers and decimals): a
    model computes in float64, where a type's extreme (BIGINT's 2^63-1, a DECIMAL(38,10)'s
    largest value) rounds to a value just outside the type and the publication would overflow."""
    from decimal import Decimal, localcontext

    upper = duckdb_type.strip().upper()
    if upper in _INTEGER_BITS:
        bits, signed = _INTEGER_BITS[upper]
        high = Decimal(2 ** (bits - 1) - 1 if signed else 2**bits - 1)
        low = float(-(2 ** (bits - 1))) if signed else 0.0  # a power of two: exact in float64
        fits = lambda f: Decimal(f) <= high  # noqa: E731
    elif match := _DECIMAL.match(upper):
        width, scale = int(match.group(1)), int(match.group(2))
        unit = Decimal(10) ** -scale
        high = Decimal(10) ** (width - scale) - unit
        # DuckDB rounds to the scale, and checks the range in double arithmetic too.
        fits = lambda f: Decimal(f).quantize(unit) <= high and abs(f) * 10.0**scale < 10.0**width  # noqa: E731
        low = None
    else:
        return None
    inside = float(high)
    with localcontext(prec=100):  # 38-digit decimals exceed the default 28-digit context
        while not fits(inside):
            inside = float(np.nextafter(inside, -np.inf))
    return (-inside if low is None else low), inside


def real_decimals(real: pd.Series, most: int = 6) -> int | None:
    """The precision the real values are recorded at (2 for prices like 7.25), so synthetic
    values carry no spurious digits; None when they use more than ``most`` decimals."""
    values = pd.to_numeric(objects(real), errors="coerce").dropna().to_numpy(dtype="float64")
    if values.size == 0:
        return None
    values = values[: 5000]
    for d in range(most + 1):
        scaled = values * 10.0**d
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 * np.maximum(1.0, np.abs(scaled))):
            return d
    return None


_PATTERN = re.compile(r"^(\D*?)(\d+)(\D*)$")


def _key_alphabet(keys: pd.Series) -> str:
    """The characters generated keys are made of: the classes (upper case, lower case, digits)
    the real keys use (``ALFKI`` -> upper-case letters), lower case and digits by default."""
    text = "".join(keys.head(1000))
    classes = [("ABCDEFGHIJKLMNOPQRSTUVWXYZ", str.isupper), ("abcdefghijklmnopqrstuvwxyz", str.islower), ("0123456789", str.isdigit)]
    used = "".join(chars for chars, test in classes if any(test(ch) and ch.isascii() for ch in text))
    return used if len(used) >= 10 else "abcdefghijklmnopqrstuvwxyz0123456789"


def generate_keys(real: pd.Series, duckdb_type: str, n: int, rng: np.random.Generator, *, offset: int = 0,
                  total: int | None = None) -> object:
    """Unique keys in the source's format: integer sequences, UUIDs, ``PREFIX-000123`` strings.
    ``offset`` continues the sequences of earlier shards (``engine.shards``) of an output of
    ``total`` rows (default ``n``).

    Keys are generated, never learnt: they carry no information about real rows."""
    upper = duckdb_type.upper()
    present = real.dropna()
    if is_integer_type(upper):
        start = (int(present.min()) if len(present) else 1) + offset
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
            start = int(matches[1].astype("int64").min()) + offset
            return pd.Series([f"{prefixes[0]}{i:0{width}d}{suffixes[0]}" for i in range(start, start + n)], dtype=object)
    length = int(strings.str.len().median()) if len(strings) else 12
    alphabet = np.array(list(_key_alphabet(strings)))
    # the real keys' length, or longer when needed to keep collisions rare (1 in 1000 per key)
    length = max(length, int(np.ceil(np.log(max(n if total is None else total, 1) * 1000) / np.log(len(alphabet)))))
    keys = ["".join(row) for row in alphabet[rng.integers(0, len(alphabet), size=(n, length))]]
    if len(set(keys)) < n:
        keys = [f"{k}{i + offset}" for i, k in enumerate(keys)]
    return pd.Series(keys, dtype=object)
