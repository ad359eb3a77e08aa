"""The only door between a differentially private model and the training data.

A DP model's ``fit`` receives a :class:`PrivateTable` instead of a DataFrame. Every answer it
gives is noised by a diffprivlib mechanism and charged, *before* it is computed, to a
``diffprivlib.accountant.BudgetAccountant(epsilon, delta)`` created for this run only (never
diffprivlib's global default accountant). A query that would overspend is refused with
:class:`BudgetExceededError` and nothing is computed. There is no ``len``, no row access and no
unnoised statistic.

Neighbouring relation
    Two tables are neighbours when one is the other plus one row (add/remove one row,
    "unbounded" DP). Guarantees are per row of the table handed to the model; a person owning
    several rows is protected at ``k * epsilon`` for ``k`` rows.

Queries and sensitivities (under that relation)
    * :meth:`PrivateTable.noisy_count`: the row count, sensitivity 1, discrete Laplace noise
      (diffprivlib ``Geometric``). The row count is never released exactly.
    * :meth:`PrivateTable.noisy_marginal`: a contingency table over a public partition of one
      or more columns. A row falls in exactly one cell, so one row changes one cell by 1: L1
      sensitivity 1, and every cell gets independent ``Geometric`` noise of scale 1/epsilon.
      The table's total is therefore itself a noisy count.
    * :meth:`PrivateTable.exponential_choice`: diffprivlib's ``Exponential`` mechanism over
      candidate column sets; the score of a candidate is a function of its exact contingency
      table, evaluated inside the accessor, and the caller states its sensitivity (e.g. 1 for an
      L1 distance between the exact table and a fixed reference).

    All mechanisms are pure epsilon-DP (delta = 0); the spent budget is the plain sum of the
    epsilons (sequential composition, as the accountant computes it with zero slack), so
    ``spent()`` never exceeds the budget. How a model splits its budget across queries is the
    model's business and is documented there (``dp_bayes``: see its module docstring).

Domains
    A partition (:class:`Bins`) is supplied by the caller and must not be derived from the
    data: it is built from the column's declared domain (``min``/``max``/``values``) or from
    earlier noisy answers (post-processing). The accessor refuses any column whose domain the
    spec does not declare public (``domain: public``); domains ``init`` drafted from the data are
    ``domain: data`` and would leak through the partition itself. There is no paid path for
    undeclared domains: a categorical vocabulary cannot be learnt privately without a public
    candidate list, and a numerical range is a one-line review. The error names the column.
    Values outside a declared numerical range are clipped into its end cells; categorical values
    outside the declared list, and nulls, fall into the last (null) cell. Both are per-row
    maps, so they do not change the sensitivity.

Randomness
    Noise never comes from the spec's seed. diffprivlib 0.6.6 mechanisms built with
    ``random_state=None`` draw from ``secrets.SystemRandom`` (``utils.check_random_state(None,
    secure=True)``); the accessor never passes a seed and checks the generator's type.
    diffprivlib's ``PrivacyLeakWarning`` is turned into an error inside every query.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import secrets
import sys
import types
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from synthspec.models.base import Budget, ModelColumn


def _diffprivlib() -> types.SimpleNamespace:
    """diffprivlib, or only its pure submodules when the package cannot be imported whole.

    diffprivlib 0.6.6's ``__init__`` imports ``diffprivlib.models``, which needs scikit-learn
    internals removed in 1.9 (``sklearn.tree._tree.DOUBLE``). The mechanisms, the accountant and
    the utilities depend on numpy only, so the package is then registered without running its
    ``__init__`` and those submodules are imported directly.
    """
    if "diffprivlib" not in sys.modules:
        try:
            importlib.import_module("diffprivlib")
        except ImportError:
            spec = importlib.util.find_spec("diffprivlib")
            if spec is None or not spec.submodule_search_locations:
                raise
            package = types.ModuleType("diffprivlib")
            package.__path__ = list(spec.submodule_search_locations)
            package.__spec__ = spec
            package.__file__ = spec.origin
            sys.modules["diffprivlib"] = package
    # Submodules left in sys.modules by a failed package import are not attributes of the
    # re-registered package, so they are returned from import_module, not read as attributes.
    return types.SimpleNamespace(
        **{
            name: importlib.import_module(f"diffprivlib.{name}")
            for name in ("utils", "accountant", "mechanisms")
        }
    )


_dpl = _diffprivlib()
BudgetAccountant = _dpl.accountant.BudgetAccountant
PrivacyLeakWarning = _dpl.utils.PrivacyLeakWarning
_BudgetError = _dpl.utils.BudgetError
_Geometric = _dpl.mechanisms.Geometric
_Exponential = _dpl.mechanisms.Exponential


class BudgetExceededError(_BudgetError):  # type: ignore[misc, valid-type]
    """A query would spend more than the run's remaining budget; nothing was computed."""


class DomainNotPublicError(ValueError):
    """A column's domain is not declared public, so no DP query may touch it."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        names = ", ".join(f"'{c}'" for c in self.columns)
        super().__init__(
            f"column(s) {names}: a differentially private model needs a declared public domain "
            "(min and max, or values) marked `domain: public`; domains drafted from the data "
            "(`domain: data`) must be reviewed first"
        )


@dataclass(frozen=True)
class Bins:
    """A public partition of one column into cells; the last cell holds nulls and unknowns.

    Numerical: ``edges`` (strictly increasing) give cells ``[e0, e1), ..., [e_{k-1}, e_k]``.
    Categorical: ``values`` give one cell each. ``merge`` optionally maps every one of those
    cells (null cell included) to a coarser cell, so a model can group rare categories or
    neighbouring ranges chosen from earlier noisy answers.
    """

    edges: tuple[float, ...] = ()
    values: tuple[Any, ...] = ()
    merge: tuple[int, ...] | None = None

    @property
    def base_size(self) -> int:
        return (len(self.edges) - 1 if self.edges else len(self.values)) + 1

    @property
    def size(self) -> int:
        return self.base_size if self.merge is None else max(self.merge) + 1

    def codes(self, column: np.ndarray) -> np.ndarray:
        """Cell of every value (a per-row map, so it adds no sensitivity)."""
        if self.edges:
            edges = np.asarray(self.edges, np.float64)
            if np.any(np.diff(edges) <= 0):
                raise ValueError("bin edges must be strictly increasing")
            v = column.astype(np.float64)
            inner = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2)
            base = np.where(np.isnan(v), len(edges) - 1, inner)
        else:
            index = {category_key(v): i for i, v in enumerate(self.values)}
            null = len(self.values)
            base = np.fromiter(
                (null if v is None else index.get(category_key(v), null) for v in column),
                np.int64, len(column),
            )  # fmt: skip
        if self.merge is None:
            return base.astype(np.int64)
        merge = np.asarray(self.merge, np.int64)
        if len(merge) != self.base_size or merge.min() < 0:
            raise ValueError("merge must map every cell (null included) to a non-negative code")
        return merge[base]


def category_key(value: Any) -> tuple[str, str]:
    """Declared and observed categories match by kind and text (YAML ``1`` matches ``"1"``)."""
    if isinstance(value, (bool, np.bool_)):
        return ("bool", str(bool(value)))
    if isinstance(value, float) and math.isnan(value):
        return ("null", "")
    return ("value", str(value))


class PrivateTable:
    """Differentially private access to a training frame, charged to a per-run accountant.

    Constructed by the engine as ``PrivateTable(frame, columns, budget)``. The frame is kept
    private; a model reads it only through the noisy queries below, each of which takes an
    explicit epsilon.
    """

    def __init__(self, frame: pd.DataFrame, columns: list[ModelColumn], budget: Budget) -> None:
        if not budget.epsilon > 0 or not math.isfinite(budget.epsilon):
            raise ValueError("a differentially private run needs a finite epsilon > 0")
        self.columns: tuple[ModelColumn, ...] = tuple(columns)
        self.budget = budget
        self._accountant = BudgetAccountant(epsilon=budget.epsilon, delta=budget.delta)
        self._by_name = {c.name: c for c in columns}
        # categories as objects with None for null (a frame's compact categories give NaN)
        self._data = {c.name: frame[c.name].to_numpy(dtype=object, na_value=None) if c.kind == "categorical"
                      else frame[c.name].to_numpy() for c in columns}
        self._rows = len(frame)
        self._codes: dict[tuple[str, Bins], np.ndarray] = {}
        self._tables: dict[tuple[tuple[str, Bins], ...], np.ndarray] = {}

    def __repr__(self) -> str:
        spent, _ = self.spent()
        return f"PrivateTable(columns={len(self.columns)}, epsilon={self.budget.epsilon:g}, spent={spent:g})"

    # -- budget --------------------------------------------------------------------------
    def spent(self) -> tuple[float, float]:
        """(epsilon, delta) spent so far, as the accountant composes them."""
        eps, delta = self._accountant.total()
        return float(eps), float(delta)

    def remaining(self) -> float:
        """Epsilon left for further queries."""
        return max(self.budget.epsilon - self.spent()[0], 0.0)

    def check_public(self, names: Sequence[str]) -> None:
        """Raise :class:`DomainNotPublicError` naming every column without a public domain."""
        bad = []
        for name in names:
            c = self._by_name[name]
            declared = (
                c.low is not None and c.high is not None
                if c.kind == "numerical"
                else c.values is not None and len(c.values) > 0
            )
            if not (c.public_domain and declared):
                bad.append(name)
        if bad:
            raise DomainNotPublicError(bad)

    @contextmanager
    def _charge(self, epsilon: float) -> Iterator[None]:
        """Spend ``epsilon`` first, then run the query with leak warnings as errors."""
        if not (epsilon > 0 and math.isfinite(epsilon)):
            raise ValueError(f"epsilon must be finite and > 0, got {epsilon!r}")
        try:
            self._accountant.spend(epsilon, 0.0)
        except _BudgetError as exc:
            raise BudgetExceededError(
                f"query needs epsilon={epsilon:.6g}; only {self.remaining():.6g} of "
                f"{self.budget.epsilon:g} remains"
            ) from exc
        with warnings.catch_warnings():
            warnings.simplefilter("error", PrivacyLeakWarning)
            yield

    # -- queries -------------------------------------------------------------------------
    def noisy_count(self, epsilon: float) -> float:
        """The row count plus discrete Laplace noise (sensitivity 1)."""
        with self._charge(epsilon):
            return float(_noisy_cells(np.array([self._rows]), epsilon)[0])

    def noisy_marginal(
        self, names: Sequence[str], bins: Sequence[Bins], epsilon: float
    ) -> np.ndarray:
        """Contingency table of ``names`` over ``bins`` with discrete Laplace noise per cell.

        L1 sensitivity 1 (a row is in one cell). Values can be negative: clip or project them
        yourself (post-processing).
        """
        if len(names) != len(bins) or not names:
            raise ValueError("one Bins per column, at least one column")
        self.check_public(names)
        with self._charge(epsilon):
            exact = self._exact(tuple(names), tuple(bins))
            return _noisy_cells(exact, epsilon).astype(np.float64)

    def exponential_choice(
        self,
        candidates: Sequence[Sequence[str]],
        bins: Mapping[str, Bins],
        score: Callable[[int, np.ndarray], float],
        sensitivity: float,
        epsilon: float,
    ) -> int:
        """Index of one candidate column set, chosen by the exponential mechanism.

        ``score(i, table)`` gets a read-only exact contingency table of candidate ``i`` and must
        change by at most ``sensitivity`` when one row is added or removed; it must depend on the
        data only through that table. Only the chosen index leaves the accessor.
        """
        if not candidates:
            raise ValueError("no candidates to choose from")
        if not sensitivity > 0:
            raise ValueError("sensitivity must be > 0")
        names = sorted({n for cand in candidates for n in cand})
        self.check_public(names)
        with self._charge(epsilon):
            utility = []
            for i, cand in enumerate(candidates):
                table = self._exact(tuple(cand), tuple(bins[n] for n in cand))
                utility.append(float(score(i, table)))
            mech = _Exponential(epsilon=epsilon, sensitivity=float(sensitivity), utility=utility)
            _require_secure(mech)
            return int(mech.randomise())

    # -- internals -----------------------------------------------------------------------
    def _exact(self, names: tuple[str, ...], bins: tuple[Bins, ...]) -> np.ndarray:
        """Exact counts (never returned to a caller except as a read-only score input)."""
        key = tuple(zip(names, bins, strict=True))
        table = self._tables.get(key)
        if table is None:
            codes = [self._column_codes(n, b) for n, b in key]
            shape = tuple(b.size for b in bins)
            flat = np.ravel_multi_index(tuple(codes), shape) if codes else np.zeros(0, np.int64)
            table = np.bincount(flat, minlength=math.prod(shape)).reshape(shape)
            table.flags.writeable = False
            self._tables[key] = table
        return table

    def _column_codes(self, name: str, bins: Bins) -> np.ndarray:
        key = (name, bins)
        if key not in self._codes:
            if self._by_name[name].kind == "numerical" and not bins.edges:
                raise ValueError(f"column '{name}' is numerical: its Bins need edges")
            if self._by_name[name].kind == "categorical" and bins.edges:
                raise ValueError(f"column '{name}' is categorical: its Bins need values")
            self._codes[key] = bins.codes(self._data[name])
        return self._codes[key]


def _require_secure(mechanism: Any) -> None:
    """Refuse a mechanism whose generator is not the OS's secure source (never a seed)."""
    if mechanism.random_state is not None or not isinstance(mechanism._rng, secrets.SystemRandom):
        raise RuntimeError("DP noise must come from secrets.SystemRandom, not a seeded generator")


def _noisy_cells(exact: np.ndarray, epsilon: float) -> np.ndarray:
    """Discrete Laplace noise of scale 1/epsilon on every cell (diffprivlib ``Geometric``)."""
    mech = _Geometric(epsilon=epsilon, sensitivity=1)
    _require_secure(mech)
    flat = np.asarray(exact, np.int64).ravel()
    noisy = np.fromiter((mech.randomise(int(v)) for v in flat), np.int64, flat.size)
    return noisy.reshape(np.shape(exact))
