"""Rare-value protection: a category held by fewer than k real rows is never published verbatim.

A value that only a handful of real rows hold (the one customer from Liechtenstein, a postal
code of three houses) singles those rows out: a model that learns it can publish it, and
with it the fact that such a row exists. So the *training frame* is protected before any
model sees it, whichever model it is: every value of a modelled categorical column held by
fewer than ``min_count`` real rows is replaced

* by a token (default ``_RARE_``) in VARCHAR columns without declared ``values``: the model
  learns the token like any category, with its relationships to the other columns (a frequent
  city keeps its country; the token keeps the share of "some rare country" per country);
* else by a value drawn from the column's frequent values in proportion to their counts
  (integers, dates, decimals, ENUMs modelled as categories cannot hold a token, and declared
  ``values`` are the column's reviewed domain). The draw is seeded: same data and seed, same
  rows. When *every* value is rare there is nothing frequent to draw: the column becomes NULL
  (safe, and still of its type; the report says so).

Rarity is counted over the whole source (training and holdout rows): it is a fact about the
real table, and the holdout is protected the same way, so every metric compares the output
with the protected real data and the gate does not punish the protection itself.

Nulls are not values: never rare, never counted. Booleans are never protected (their domain is
public). Tables trained by a differentially private model are not protected here: the DP
synthesizer learns only noisy counts over a reviewed public domain, which already bounds what
any one row can change in the output (see README, "Rare values").
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from synthspec.errors import Problem
from synthspec.spec.models import DEFAULT_RARE_MIN_COUNT, DEFAULT_RARE_TOKEN

if TYPE_CHECKING:
    import pandas as pd

    from synthspec.engine.columns import ColumnPlan
    from synthspec.spec.models import TableSpec
    from synthspec.spec.project import LoadedSpec

Replace = Literal["token", "sample"]


@dataclass(frozen=True)
class RareRule:
    """The effective protection of one column (spec, table, project defaults and guardrail merged)."""

    column: str
    min_count: int
    replace: Replace
    token: str


@dataclass(frozen=True)
class Protection:
    """What protection did to one column: counts only, never a value (it goes into reports).

    ``replace`` says what the protected rows became: ``token``, ``sample`` or ``null`` (every
    value was rare and the column cannot hold a token)."""

    column: str
    min_count: int
    replace: str
    values: int  # distinct real values protected
    rows: int  # real rows whose value was protected

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def protectable(plan: ColumnPlan) -> bool:
    """A modelled categorical column other than a boolean (a boolean's domain is public)."""
    if plan.role != "model" or plan.spec.type == "boolean" or plan.duckdb_type.strip().upper() == "BOOLEAN":
        return False
    return plan.model_column().kind == "categorical"


def holds_token(plan: ColumnPlan) -> bool:
    """Whether the column can publish the token: free text, no declared domain to stay within."""
    return plan.duckdb_type.strip().upper().startswith("VARCHAR") and plan.spec.values is None


def rules(spec: TableSpec, plans: list[ColumnPlan], guardrail: int | None) -> dict[str, RareRule]:
    """Every protectable column's effective rule: its own `rare:` key by key over the table's,
    over the defaults; never below the project guardrail. None for DP tables (see the module)."""
    if spec.privacy.epsilon is not None:
        return {}
    out: dict[str, RareRule] = {}
    for plan in plans:
        if not protectable(plan):
            continue
        own = plan.spec.rare
        min_count = _first(own.min_count if own else None, spec.rare.min_count, DEFAULT_RARE_MIN_COUNT)
        replace = _first(own.replace if own else None, spec.rare.replace, "token" if holds_token(plan) else "sample")
        token = _first(own.token if own else None, spec.rare.token, DEFAULT_RARE_TOKEN)
        out[plan.name] = RareRule(plan.name, max(min_count, guardrail or 1), replace, token)
    return out


def _first(*options: Any) -> Any:
    return next(o for o in options if o is not None)


def rule_problems(loaded: LoadedSpec, plans: list[ColumnPlan], found: dict[str, RareRule]) -> list[Problem]:
    """`replace: token` on a column that cannot hold the token (its type is known only once the
    source is read): located at the key that asked for it."""
    problems = []
    for plan in plans:
        rule = found.get(plan.name)
        if rule is None or rule.replace != "token" or holds_token(plan):
            continue
        own = plan.spec.rare is not None and plan.spec.rare.replace == "token"
        path = ("columns", plan.name, "rare", "replace") if own else ("rare", "replace")
        loc = loaded.doc.locate(path, prefer_key=True)
        why = "declares `values`" if plan.spec.values is not None else f"has source type {plan.duckdb_type}"
        problems.append(Problem(loc.file, loc.line, loc.col, (
            f"column '{plan.name}': rare.replace 'token' needs a VARCHAR column without declared `values`, and it {why}; "
            f"use `replace: sample` (a draw from the column's frequent values)")))
    return problems


def fingerprint_part(found: dict[str, RareRule]) -> dict[str, Any]:
    """The rules as they enter the training fingerprint (a changed k or token retrains)."""
    return {name: asdict(rule) for name, rule in sorted(found.items())}


def protect(encoded: pd.DataFrame, found: dict[str, RareRule], seed: int) -> tuple[pd.DataFrame, list[Protection]]:
    """The model's frame with every rare value replaced, and what was protected per column."""
    frame = encoded.copy()
    report = []
    for name, rule in found.items():
        if name not in frame.columns:
            continue
        frame[name], protection = protect_column(frame[name], rule, seed)
        report.append(protection)
    return frame, report


def protect_column(series: pd.Series, rule: RareRule, seed: int) -> tuple[pd.Series, Protection]:
    """One column: values held by fewer than ``rule.min_count`` rows replaced (see the module)."""
    import numpy as np

    counts = series.value_counts(dropna=True)
    counts = counts[counts > 0]  # a compact column's categories may include values no row holds
    rare = counts[counts < rule.min_count]
    if rare.empty:
        return series, Protection(rule.column, rule.min_count, rule.replace, 0, 0)
    mask = series.isin(rare.index).to_numpy()
    values = series.to_numpy(dtype=object, na_value=None, copy=True)
    frequent = counts[counts >= rule.min_count]
    if rule.replace == "token":
        values[mask], how = rule.token, "token"
    elif frequent.empty:
        values[mask], how = None, "null"
    else:
        # Sorted, so the draw does not depend on how value_counts breaks ties between equal counts.
        frequent = frequent.sort_index(key=lambda index: index.map(str))
        rng = np.random.default_rng(_column_seed(seed, rule.column))
        shares = frequent.to_numpy(dtype="float64") / float(frequent.sum())
        drawn = rng.choice(len(frequent), size=int(mask.sum()), p=shares)
        values[mask], how = frequent.index.to_numpy(dtype=object)[drawn], "sample"
    import pandas as pd

    from synthspec.io.compact import compact

    out = pd.Series(compact(values), index=series.index, name=series.name)
    return out, Protection(rule.column, rule.min_count, how, int(len(rare)), int(rare.sum()))


def _column_seed(seed: int, column: str) -> int:
    """A stream per column: two columns' draws must not be correlated through the RNG."""
    digest = hashlib.sha256(json.dumps([seed, "rare", column]).encode()).digest()
    return int.from_bytes(digest[:4], "big")


__all__ = ["Protection", "RareRule", "fingerprint_part", "holds_token", "protect", "protect_column", "protectable",
           "rule_problems", "rules"]
