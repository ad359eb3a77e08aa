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


_LINES_FILE = "lines.json"
#: Columns with fewer distinct values than this are never drawn off a line (cart's rule: levels).
_LINE_MIN_DISTINCT = 30


class _Lines:
    """Numerical columns nearly linear in earlier numerical ones, modelled as their residuals
    from that line (cart's rule and code: a least-squares line in at most three earlier columns
    explaining at least 81% of the variance, :func:`synthspec.models.cart._linear_part`). A joint
    model such as SDV's Gaussian copula cannot hold r = 0.997 between a line's price and its
    product's list price (its own draws correlate 0.90 on the shop's lines); the residual it can
    draw, and adding the line back at the drawn (or, for a child, the given parent's) predictors
    restores the relation."""

    def __init__(self, numeric: list[str], lines: dict[str, Any]) -> None:
        self.numeric = numeric  # predictor positions of the lines
        self.lines = lines  # column -> cart._Linear, in column order
        self.ranges: dict[str, tuple[float, float]] = {}

    @classmethod
    def fit(cls, data: pd.DataFrame, columns: list[ModelColumn]) -> _Lines:
        from synthspec.models.cart import _linear_part

        numeric = [c.name for c in columns if c.kind == "numerical"]
        x = np.column_stack([data[n].to_numpy(np.float64) for n in numeric]) if numeric else np.zeros((len(data), 0))
        out = cls(numeric, {})
        for j, name in enumerate(numeric):
            v = x[:, j]
            known = ~np.isnan(v)
            if j == 0 or np.unique(v[known]).size < _LINE_MIN_DISTINCT:
                continue
            line = _linear_part(x[known], v[known], list(range(j)))
            if line is not None:
                out.lines[name] = line
                out.ranges[name] = (float(v[known].min()), float(v[known].max()))
        return out

    def residuals(self, data: pd.DataFrame) -> pd.DataFrame:
        """``data`` with every line column replaced by its residual from its line."""
        if not self.lines:
            return data
        out = data.copy()
        for name, line in self.lines.items():
            out[name] = data[name].to_numpy(np.float64) - line.line_of([data[self.numeric[k]].to_numpy(np.float64) for k in line.columns])
        return out

    def restore(self, frame: pd.DataFrame, names: list[str] | None = None) -> pd.DataFrame:
        """``frame`` (residuals in the line columns ``names``, default all) with each line added
        back at the frame's own predictors, in column order (a line may use an earlier line's
        column). Like cart, not reflected at the observed range (that would break a total's sum),
        only cut a range's width beyond it, and at 0 for a column never negative."""
        todo = [n for n in self.lines if names is None or n in names]
        if not todo:
            return frame
        from synthspec.models.cart import _line_range

        frame = frame.copy()
        for name in todo:
            line = self.lines[name]
            v = frame[name].to_numpy(np.float64) + line.line_of([frame[self.numeric[k]].to_numpy(np.float64) for k in line.columns])
            frame[name] = _line_range(v, *self.ranges[name])
        return frame

    def to_json(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {"numeric": self.numeric, "lines": {n: asdict(line) for n, line in self.lines.items()},
                "ranges": {n: list(r) for n, r in self.ranges.items()}}

    @classmethod
    def from_json(cls, entry: dict[str, Any]) -> _Lines:
        from synthspec.models.cart import _Linear

        out = cls(list(entry["numeric"]), {n: _Linear.from_saved(e) for n, e in entry["lines"].items()})
        out.ranges = {n: (float(r[0]), float(r[1])) for n, r in entry["ranges"].items()}
        return out


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
        return cls(_metadata(self.columns), **self.params.model_dump(exclude_none=True, exclude={"linear"}))

    def fit(self, data: pd.DataFrame, progress: Any = None) -> None:
        linear = getattr(self.params, "linear", False)
        self._lines = _Lines.fit(data, self.columns) if linear else _Lines([], {})
        with _seeded(self.seed):
            self._model = self._build()
            self._model.fit({_TABLE: _to_sdv(self._lines.residuals(data), self.columns)})
        if progress:
            progress(1, 1)

    def sample(self, n: int, seed: int, given: pd.DataFrame | None = None) -> pd.DataFrame:
        """``given`` fixes the first columns of ``self.columns`` (one row per synthetic row):
        the rows are matched from a pool of joint draws (see ``models.matching``)."""
        lines = getattr(self, "_lines", None) or _Lines([], {})
        if given is None or not len(given.columns):
            return lines.restore(self._draw(n, seed))
        from synthspec.models import matching

        fixed = list(given.columns)
        if fixed != [c.name for c in self.columns[: len(fixed)]]:
            raise ValueError(f"given columns {fixed} are not the model's first columns")
        if len(given) != n:
            raise ValueError(f"given has {len(given)} rows, asked for {n}")
        # The pool's given columns are matched as values; its own line columns stay residuals
        # until the given values are in place, then take their line at those (a line's price
        # at its real parent product's list price).
        own = [c.name for c in self.columns if c.name not in fixed]
        matched = matching.draw_given(given, lambda rows, s: lines.restore(self._draw(rows, s), fixed),
                                      {c.name: c.kind for c in self.columns}, seed)
        return lines.restore(matched, own)

    def _draw(self, n: int, seed: int) -> pd.DataFrame:
        if n == 0:  # SDV returns a frame without columns
            return pd.DataFrame({c.name: pd.Series(dtype="float64" if c.kind == "numerical" else object) for c in self.columns})
        with _seeded(seed):
            self._model.reset_sampling()
            out = self._model.sample(num_rows=n)
        frame = out[_TABLE] if isinstance(out, dict) else out
        return _from_sdv(frame.reset_index(drop=True), self.columns)

    def save(self, directory: Path) -> None:
        import json

        self._model.save(str(directory / _FILE))
        lines = getattr(self, "_lines", None)
        if lines is not None and lines.lines:
            (directory / _LINES_FILE).write_text(json.dumps(lines.to_json(), indent=1, sort_keys=True))

    @classmethod
    def load(cls, directory: Path, columns: list[ModelColumn], params: ModelParams, seed: int) -> Synthesizer:
        import json

        model = cls(columns, params, seed)
        try:  # SDV 2 loads through a function (its synthesizers no longer have a `load`)
            from sdv.utils import load_synthesizer
        except ImportError:  # pragma: no cover - SDV 1
            import sdv.single_table as single

            load_synthesizer = getattr(single, cls._class_name).load
        model._model = load_synthesizer(str(directory / _FILE))
        path = directory / _LINES_FILE
        model._lines = _Lines.from_json(json.loads(path.read_text())) if path.exists() else _Lines([], {})
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
