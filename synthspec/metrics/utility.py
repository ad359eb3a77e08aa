"""``ml_efficacy``: can the synthetic table stand in for the real one when training a model?

Two gradient-boosted models (scikit-learn ``HistGradientBoosting*``, default hyper-parameters,
``random_state`` = the spec's seed, native categorical support) learn the spec's ``target`` from
every other modelled column: one on the real training split (TRTR), one on the synthetic table
(TSTR). Both are scored on the holdout, which neither has seen, and

    ml_efficacy = clip(score_TSTR / score_TRTR, 0, 1)

so 1 means the synthetic table is as useful as the real one for this task. The score depends on
the target's kind:

* categorical/boolean target with two classes: ROC AUC (the probability of the second class
  in first-seen order of the training split; AUC does not depend on which class that is);
* more classes: macro F1 over the classes present in the holdout;
* numerical target: R² clipped at 0 (a model worse than predicting the mean scores 0).

R² rather than Spearman's rho because a model trained on synthetic rows with the wrong level
or scale of the target must lose utility; a rank correlation would not notice.

Fairness and cost: both models train on the same number of rows, ``min(training rows,
synthetic rows, 20 000)``, drawn with the seed. Rows whose target is null, or (classification)
a class absent from the training split, are left out everywhere. Classes are the training
split's; categorical features keep their 254 most frequent training values, the rest share one
code, and values the training split never had (or nulls) are missing values.

Undefined (``None`` with a reason, never a silent pass) when the training split has fewer than
two classes or more than 50, the holdout has too few usable rows or a single class (binary), no
synthetic row has a usable target, or TRTR scores 0 (the other columns do not predict the
target, so there is no utility to preserve). Nothing here puts a value of any cell in a result:
class labels are handled as integer codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from synthspec.metrics._frames import check_kinds

__all__ = ["MlEfficacy", "ml_efficacy"]

Task = Literal["binary", "multiclass", "regression"]

#: Rows each model trains on, at most. HistGradientBoosting's cost grows linearly with rows;
#: 20 000 rows is enough for a stable score on tables like Adult.
_MAX_TRAIN_ROWS = 20_000
#: Categorical targets with more classes are not scored (one tree per class and iteration).
_MAX_CLASSES = 50
#: Most frequent categories kept per categorical feature; the rest share code 254, so every
#: code fits HistGradientBoosting's 255 bins.
_MAX_CATEGORIES = 254
#: Fewer usable holdout rows than this give no meaningful score.
_MIN_TEST_ROWS = 10


@dataclass(frozen=True)
class MlEfficacy:
    """Outcome of :func:`ml_efficacy`; ``value`` is ``None`` when undefined (see ``reason``)."""

    value: float | None
    task: Task | None = None
    score: Literal["roc_auc", "macro_f1", "r2"] | None = None
    tstr: float | None = None
    trtr: float | None = None
    n_train: int = 0
    n_test: int = 0
    reason: str | None = None

    def details(self) -> dict[str, Any]:
        """JSON-ready context for the check result (scores and sizes only)."""
        return {"task": self.task, "score": self.score, "tstr": self.tstr, "trtr": self.trtr,
                "n_train": self.n_train, "n_test": self.n_test}


def _codes(vocabulary: pd.Index, series: pd.Series) -> np.ndarray:
    """Positions in ``vocabulary`` (-1 for nulls and values outside it)."""
    values = series.astype(object).to_numpy()
    codes = vocabulary.get_indexer(values)
    codes[pd.isna(values)] = -1
    return codes


def _by_frequency(series: pd.Series) -> pd.Index:
    """Distinct non-null values, most frequent first (ties: first seen first)."""
    codes, uniques = pd.factorize(series.astype(object).to_numpy(), use_na_sentinel=True)
    counts = np.bincount(codes[codes >= 0], minlength=len(uniques))
    return pd.Index(uniques[np.argsort(-counts, kind="stable")], dtype=object)


class _Features:
    """The feature encoding, fitted on the real training split and applied to every frame."""

    def __init__(self, train: pd.DataFrame, kinds: Mapping[str, str], columns: list[str]) -> None:
        self.columns = columns
        self.kinds = kinds
        self.vocabularies = {name: _by_frequency(train[name]) for name in columns
                             if kinds[name] == "categorical"}
        self.categorical = np.array([kinds[name] == "categorical" for name in columns], dtype=bool)

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(frame), len(self.columns)), dtype=np.float64)
        for j, name in enumerate(self.columns):
            if self.kinds[name] == "numerical":
                out[:, j] = pd.to_numeric(frame[name], errors="coerce").to_numpy(
                    dtype=np.float64, na_value=np.nan)
                continue
            codes = _codes(self.vocabularies[name], frame[name])
            out[:, j] = np.where(codes >= 0, np.minimum(codes, _MAX_CATEGORIES), np.nan)
        return out


def _sample(n_rows: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return np.sort(rng.choice(n_rows, size=size, replace=False)) if size < n_rows else np.arange(n_rows)


def _score(task: Task, model: Any, x_test: np.ndarray, y_test: np.ndarray) -> float:
    from sklearn.metrics import f1_score, r2_score, roc_auc_score

    if task == "regression":
        return max(0.0, float(r2_score(y_test, model.predict(x_test))))
    if task == "binary":
        classes = list(model.classes_)
        positive = model.predict_proba(x_test)[:, classes.index(1)] if 1 in classes else np.zeros(len(y_test))
        return float(roc_auc_score(y_test == 1, positive))
    return float(f1_score(y_test, model.predict(x_test), labels=np.unique(y_test), average="macro",
                          zero_division=0))


class _Constant:
    """What a classifier learns from a single class: always that class, with certainty."""

    def __init__(self, label: int) -> None:
        self.classes_ = np.array([label])

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.full(len(x), self.classes_[0])

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return np.ones((len(x), 1))


def _single_threaded() -> AbstractContextManager[object]:
    """One OpenMP thread for HistGradientBoosting.

    Measured inside ``apply`` on 2 cores (640 Adult rows): 6.3 s with the default threads, 0.5 s
    with one; OpenMP workers spin-wait against the engine's other threads (and a second
    OpenMP runtime when torch is loaded made it minutes). The engine may also run several
    tables at once (``--jobs``), where more threads only oversubscribe.
    """
    from threadpoolctl import threadpool_limits  # scikit-learn's dependency

    return threadpool_limits(limits=1, user_api="openmp")


def _fit(task: Task, x: np.ndarray, y: np.ndarray, categorical: np.ndarray, seed: int) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if task != "regression" and np.unique(y).size < 2:
        return _Constant(int(y[0]))
    empty = ~categorical & np.isnan(x).all(axis=0)
    if empty.any():
        # scikit-learn's binning fails on an all-missing numerical feature; as a constant it
        # gets no split, which is all an all-missing feature can give.
        x = x.copy()
        x[:, empty] = 0.0
    cls = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    mask = categorical if categorical.any() else None
    return cls(categorical_features=mask, random_state=seed).fit(x, y)


def ml_efficacy(
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    kinds: Mapping[str, str],
    target: str,
    *,
    seed: int,
) -> MlEfficacy:
    """TSTR score over TRTR score on the holdout, capped to [0, 1] (see the module docstring)."""
    columns = check_kinds(kinds, ("training", train), ("holdout", holdout), ("synthetic", synthetic))
    if target not in kinds:
        raise ValueError(f"target '{target}' is not a compared column")
    features = [name for name in columns if name != target]
    if not features:
        return MlEfficacy(None, reason="ml_efficacy needs at least one column besides the target")

    if kinds[target] == "numerical":
        task: Task = "regression"

        def labels(frame: pd.DataFrame) -> np.ndarray:
            return pd.to_numeric(frame[target], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)

        def usable(y: np.ndarray) -> np.ndarray:
            return ~np.isnan(y)
    else:
        classes = pd.Index(pd.unique(train[target].dropna().astype(object).to_numpy()), dtype=object)
        if len(classes) < 2:
            return MlEfficacy(None, reason="ml_efficacy: the target has fewer than two classes in the training split")
        if len(classes) > _MAX_CLASSES:
            return MlEfficacy(None, reason=f"ml_efficacy: the target has more than {_MAX_CLASSES} classes")
        task = "binary" if len(classes) == 2 else "multiclass"

        def labels(frame: pd.DataFrame) -> np.ndarray:
            return _codes(classes, frame[target])

        def usable(y: np.ndarray) -> np.ndarray:
            return y >= 0
    score_name: Literal["roc_auc", "macro_f1", "r2"] = {
        "binary": "roc_auc", "multiclass": "macro_f1", "regression": "r2"}[task]  # type: ignore[assignment]

    encoding = _Features(train, kinds, features)
    data = {}
    for label, frame in (("train", train), ("synthetic", synthetic), ("test", holdout)):
        y = labels(frame)
        keep = usable(y)
        data[label] = (encoding.encode(frame)[keep], y[keep])
    x_test, y_test = data["test"]
    if len(y_test) < _MIN_TEST_ROWS or (task == "binary" and np.unique(y_test).size < 2):
        return MlEfficacy(None, task, score_name, n_test=len(y_test),
                          reason="ml_efficacy: too few usable holdout rows to score")
    if len(data["synthetic"][1]) == 0:
        return MlEfficacy(None, task, score_name, n_test=len(y_test),
                          reason="ml_efficacy: no synthetic row has a usable target value")

    size = min(len(data["train"][1]), len(data["synthetic"][1]), _MAX_TRAIN_ROWS)
    rng = np.random.default_rng(seed)
    scores = {}
    with _single_threaded():
        for label in ("train", "synthetic"):
            x, y = data[label]
            rows = _sample(len(y), size, rng)
            model = _fit(task, x[rows], y[rows], encoding.categorical, seed)
            scores[label] = _score(task, model, x_test, y_test)
    trtr, tstr = scores["train"], scores["synthetic"]
    if trtr <= 0:
        return MlEfficacy(None, task, score_name, tstr, trtr, size, len(y_test),
                          reason="ml_efficacy: a model trained on real rows scores 0; the other columns do not predict the target")
    value = float(np.clip(tstr / trtr, 0.0, 1.0))
    return MlEfficacy(value, task, score_name, tstr, trtr, size, len(y_test))
