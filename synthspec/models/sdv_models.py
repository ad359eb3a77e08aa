"""SDV 2.0 synthesizers as plugins (SDV, ctgan, copulas and rdt are BUSL-1.1 licensed: they
stay behind this module, imported only when one of these models is used).

SDV persists models with cloudpickle; the engine verifies an artifact's hash against the one
recorded at training before ``load`` is ever called.
"""

from __future__ import annotations

import contextlib
import random
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthspec.models.base import ModelColumn, ModelParams, Synthesizer
from synthspec.models.params import GaussianCopulaParams, NeuralParams
from synthspec.models.registry import register

_TABLE = "table"
_FILE = "sdv_model.pkl"


@contextlib.contextmanager
def _seeded(seed: int) -> Iterator[None]:
    """SDV draws from the global numpy/torch/random generators: seed them, then restore."""
    np_state, py_state = np.random.get_state(), random.getstate()
    np.random.seed(seed % 2**32)
    random.seed(seed)
    torch_state = None
    try:
        import torch

        torch_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover - torch is a dependency, but stay usable without it
        pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
        if torch_state is not None:
            import torch

            torch.random.set_rng_state(torch_state)


def _metadata(columns: list[ModelColumn]) -> Any:
    from sdv.metadata import Metadata

    spec = {c.name: {"sdtype": "numerical"} if c.kind == "numerical" else {"sdtype": "categorical"} for c in columns}
    return Metadata.load_from_dict({"tables": {_TABLE: {"columns": spec}}})


def _to_sdv(data: pd.DataFrame, columns: list[ModelColumn]) -> pd.DataFrame:
    # SDV's categorical transformers want hashable, comparable values: bools and strings are
    # both fine, but mixed None must be NaN.
    out = data.copy()
    for c in columns:
        if c.kind == "categorical":
            out[c.name] = out[c.name].astype(object).where(out[c.name].notna(), np.nan)
    return out


def _from_sdv(data: pd.DataFrame, columns: list[ModelColumn]) -> pd.DataFrame:
    out = {}
    for c in columns:
        series = data[c.name]
        if c.kind == "numerical":
            out[c.name] = pd.to_numeric(series, errors="coerce").astype("float64")
        else:
            out[c.name] = series.astype(object).where(series.notna(), None)
    return pd.DataFrame(out)


class _SDVModel(Synthesizer):
    cost: ClassVar[int] = 50
    _class_name: ClassVar[str]
    #: SDV conditions by rejection or per distinct condition, hopeless for one parent per row:
    #: rows given their parent are drawn by matching to a pool of the joint (models/matching.py).
    supports_given: ClassVar[bool] = True
    matches_given: ClassVar[bool] = True

    def _build(self) -> Any:
        import sdv.single_table as single

        cls = getattr(single, self._class_name)
        return cls(_metadata(self.columns), **self.params.model_dump(exclude_none=True))

    def fit(self, data: pd.DataFrame, progress: Any = None) -> None:
        with _seeded(self.seed):
            self._model = self._build()
            self._model.fit({_TABLE: _to_sdv(data, self.columns)})
        if progress:
            progress(1, 1)

    def sample(self, n: int, seed: int, given: pd.DataFrame | None = None) -> pd.DataFrame:
        """``given`` fixes the first columns of ``self.columns`` (one row per synthetic row):
        the rows are matched from a pool of joint draws (see ``models.matching``)."""
        if given is None or not len(given.columns):
            return self._draw(n, seed)
        from synthspec.models import matching

        fixed = list(given.columns)
        if fixed != [c.name for c in self.columns[: len(fixed)]]:
            raise ValueError(f"given columns {fixed} are not the model's first columns")
        if len(given) != n:
            raise ValueError(f"given has {len(given)} rows, asked for {n}")
        return matching.draw_given(given, self._draw, {c.name: c.kind for c in self.columns}, seed)

    def _draw(self, n: int, seed: int) -> pd.DataFrame:
        if n == 0:  # SDV returns a frame without columns
            return pd.DataFrame({c.name: pd.Series(dtype="float64" if c.kind == "numerical" else object) for c in self.columns})
        with _seeded(seed):
            self._model.reset_sampling()
            out = self._model.sample(num_rows=n)
        frame = out[_TABLE] if isinstance(out, dict) else out
        return _from_sdv(frame.reset_index(drop=True), self.columns)

    def save(self, directory: Path) -> None:
        self._model.save(str(directory / _FILE))

    @classmethod
    def load(cls, directory: Path, columns: list[ModelColumn], params: ModelParams, seed: int) -> Synthesizer:
        import sdv.single_table as single

        model = cls(columns, params, seed)
        model._model = getattr(single, cls._class_name).load(str(directory / _FILE))
        return model


@register("gaussian_copula")
class GaussianCopula(_SDVModel):
    """SDV GaussianCopulaSynthesizer."""

    Params = GaussianCopulaParams
    description = "SDV Gaussian copula: fast, captures pairwise correlations only."
    cost = 20
    _class_name = "GaussianCopulaSynthesizer"


@register("ctgan")
class CTGAN(_SDVModel):
    """SDV CTGANSynthesizer."""

    Params = NeuralParams
    description = "SDV CTGAN: conditional GAN; slow on CPU."
    cost = 100
    _class_name = "CTGANSynthesizer"


@register("tvae")
class TVAE(_SDVModel):
    """SDV TVAESynthesizer."""

    Params = NeuralParams
    description = "SDV TVAE: variational autoencoder; slow on CPU."
    cost = 90
    _class_name = "TVAESynthesizer"


@register("copulagan")
class CopulaGAN(_SDVModel):
    """SDV CopulaGANSynthesizer."""

    Params = NeuralParams
    description = "SDV CopulaGAN: CTGAN over Gaussian-copula transformed columns."
    cost = 110
    _class_name = "CopulaGANSynthesizer"
