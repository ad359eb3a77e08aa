"""The synthesizer interface every model implements, and the frame contract it receives.

The engine hands a model a pandas DataFrame whose columns are already reduced to two kinds:

* ``numerical``: float64, NaN for nulls (float32 where float32 holds the values exactly, for
  a model that sets ``compact_numbers``). Datetimes arrive as seconds since the epoch,
  integers as floats (``ModelColumn.integer`` says to round them back).
* ``categorical``: str/bool values, held either as an object column (``None`` for nulls) or,
  for a column of few distinct values, as a pandas ``Categorical`` (codes; object categories,
  sorted; NaN for nulls when converted). ``synthspec.io.compact.object_frame(frame)`` gives
  the object form. The categories of a column of the training split may include values only
  holdout rows hold: learn from the values rows hold (``pd.factorize``, ``value_counts`` with
  the zero counts dropped), never from ``.cat.categories``.

Identifiers, dropped PII columns and anything else that must not be learnt never reach a model.
A model returns the same columns, same kinds, from ``sample``. It does not need to clip or round:
the engine enforces declared bounds, integer-ness and source types afterwards.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import pandas as pd

Kind = Literal["numerical", "categorical"]


@dataclass(frozen=True)
class ModelColumn:
    """What a model may know about one column (all of it comes from the spec, never the data).

    ``low``/``high`` (numerical, in model units: datetimes as epoch seconds) and ``values``
    (categorical) are the spec's declared domain; ``public_domain`` is True only when the spec
    says ``domain: public``, the only domains a differentially private model may use for free.
    """

    name: str
    kind: Kind
    integer: bool = False
    datetime: bool = False
    low: float | None = None
    high: float | None = None
    values: tuple[Any, ...] | None = None
    public_domain: bool = False


@dataclass(frozen=True)
class Budget:
    """The differential-privacy budget of one training run (``privacy.epsilon``/``delta``)."""

    epsilon: float
    delta: float = 0.0


class ModelParams(BaseModel):
    """Base of every model's ``params`` schema; unknown keys are spec errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # a NaN parameter is a spec error, never a model input


class Synthesizer(ABC):
    """A trainable generator of synthetic rows.

    Subclasses are registered by name with ``@register("name")`` and declare capability flags.
    ``save`` writes plain files into a directory; ``load`` reads them back. Artifacts are hashed
    by the engine, so a model need not verify its own files.
    """

    name: ClassVar[str]
    Params: ClassVar[type[ModelParams]] = ModelParams
    differentially_private: ClassVar[bool] = False
    #: Rough relative cost used by ``auto`` (lower is cheaper).
    cost: ClassVar[int] = 10
    #: Short human description shown by ``synthspec`` docs and ``auto``.
    description: ClassVar[str] = ""
    #: True when ``sample`` accepts ``given=``: a frame of values for some columns (the first
    #: ones of the model's visit order) that the other columns are then drawn conditionally on.
    #: The engine uses it to synthesise a child table's rows given their parent's attributes.
    supports_given: ClassVar[bool] = False
    #: True when ``given=`` is served by matching to a pool of the model's joint draws
    #: (``models.matching``) rather than by the model itself: good for a child's dependence on
    #: its parent, too coarse for a sequence's event-by-event draws, which need a model that
    #: conditions natively.
    matches_given: ClassVar[bool] = False
    #: True when ``fit`` accepts ``grow_rows=``: the positions of the training subsample (big
    #: tables, ``model.max_training_rows``) within the whole training split it is handed, so the
    #: model may use the other rows cheaply (cart: as donors). Otherwise the engine hands the
    #: subsample alone.
    subsample_in_fit: ClassVar[bool] = False
    #: True when ``fit`` reads numerical columns held as float32 (the values float32 holds
    #: exactly: io/compact.py) as well as float64, e.g. through ``to_numpy(np.float64)``: the
    #: engine then hands a big training split without widening a float64 copy of it first.
    #: Otherwise every numerical column arrives as float64.
    compact_numbers: ClassVar[bool] = False

    def __init__(self, columns: list[ModelColumn], params: ModelParams, seed: int, budget: Budget | None = None) -> None:
        self.columns = columns
        self.params = params
        self.seed = seed
        # Set for differentially private models only; their ``fit`` receives a
        # ``synthspec.privacy.dp.PrivateTable`` (an accessor that charges the budget) instead
        # of a DataFrame, and reports what it spent in ``epsilon_spent``/``delta_spent``.
        self.budget = budget
        self.epsilon_spent: float | None = None
        self.delta_spent: float | None = None

    @abstractmethod
    def fit(self, data: pd.DataFrame, progress: Any = None) -> None:
        """Learn from ``data`` (columns as in ``self.columns``). ``progress`` is an optional
        callable ``progress(done: int, total: int)`` for progress bars."""

    @abstractmethod
    def sample(self, n: int, seed: int) -> pd.DataFrame:
        """Draw ``n`` rows. The same fitted model and seed must give identical rows."""

    @abstractmethod
    def save(self, directory: Path) -> None:
        """Write the fitted model as files under ``directory`` (which exists and is empty)."""

    @classmethod
    @abstractmethod
    def load(cls, directory: Path, columns: list[ModelColumn], params: ModelParams, seed: int) -> Synthesizer:
        """Read a model written by ``save``."""


def reflect_past(values: Any, bound: Any, *, above: bool, limit: float) -> Any:
    """``values`` on the wrong side of a per-row ``bound`` (``above``: they must be at least it)
    mirrored across it, so they keep their distance from it rather than pile up on it (a first
    order drawn a day before the signup is a day after it); never past ``limit`` (the column's
    range; then the bound itself). NaN values and bounds are left alone."""
    import numpy as np

    out = values.copy()
    with np.errstate(invalid="ignore"):
        wrong = values < bound if above else values > bound
    if wrong.any():
        b, mirrored = bound[wrong], 2 * bound[wrong] - values[wrong]
        out[wrong] = np.maximum(b, np.minimum(mirrored, limit)) if above else np.minimum(b, np.maximum(mirrored, limit))
    return out
