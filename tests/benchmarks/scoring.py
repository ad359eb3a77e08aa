"""Independent scores shared by the benchmarks: written here, not taken from synthspec, so the
metrics synthspec gates on are checked by something else.

Accuracy is the measure of MOSTLY AI's open-source QA (``mostlyai-qa``): 1 - total variation
distance between the real and the synthetic distribution of every column and of every pair of
columns, numbers in 10 quantile bins of the real column, averaged. TSTR (train on synthetic, test
on real) is the usefulness of the rows for a downstream model. Roundness is a reviewer's tell that
neither sees: how many values end in zeros, or in how many decimals (real prices are written
450,000 or 451,500, not 451,237).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any


def _codes(real: Any, synth: Any, column: str) -> tuple[Any, Any]:
    """Integer codes of one column for both frames: numbers in 10 quantile bins of the real
    column, anything else by value; missing values are a code of their own."""
    import numpy as np
    import pandas as pd

    r, s = real[column], synth[column]
    if pd.api.types.is_numeric_dtype(r) and pd.api.types.is_numeric_dtype(s):
        edges = np.unique(np.nanquantile(r.astype(float), np.linspace(0, 1, 11)[1:-1]))

        def binned(x: Any) -> Any:
            x = x.astype(float).to_numpy()
            return np.where(np.isnan(x), -1, np.searchsorted(edges, x, side="right"))
        return binned(r), binned(s)
    codes, _ = pd.factorize(pd.concat([r, s], ignore_index=True).astype(str), use_na_sentinel=False)
    return codes[: len(r)], codes[len(r):]


def _similarity(a: Any, b: Any) -> float:
    """1 - total variation distance between the distributions of two code arrays."""
    import pandas as pd

    p = pd.Series(a).value_counts(normalize=True)
    q = pd.Series(b).value_counts(normalize=True)
    both = pd.concat([p, q], axis=1).fillna(0.0)
    return float(1.0 - 0.5 * (both.iloc[:, 0] - both.iloc[:, 1]).abs().sum())


def accuracy(real: Any, synth: Any) -> dict[str, float]:
    """Univariate and bivariate accuracy (1 - TVD), and their mean, over every column and pair.
    Written here, not taken from synthspec, so the gate metric is checked by something else."""
    import numpy as np

    codes = {c: _codes(real, synth, c) for c in real.columns}
    uni = [_similarity(r, s) for r, s in codes.values()]
    bi = []
    for a, b in combinations(real.columns, 2):
        (ra, sa), (rb, sb) = codes[a], codes[b]
        width = int(max(ra.max(), sa.max(), rb.max(), sb.max())) + 2  # codes >= -1: shift by one
        bi.append(_similarity((ra + 1) * width + rb + 1, (sa + 1) * width + sb + 1))
    univariate, bivariate = float(np.mean(uni)), float(np.mean(bi))
    return {"univariate": univariate, "bivariate": bivariate, "accuracy": (univariate + bivariate) / 2}


def _categoricals(fit_on: Any, test: Any) -> tuple[Any, Any]:
    """Feature frames with every non-numeric column as a pandas Categorical over the union of
    both frames' values, so the booster sees the same codes on both sides."""
    import pandas as pd

    fit_on, test = fit_on.copy(), test.copy()
    for c in test.columns:
        if not pd.api.types.is_numeric_dtype(test[c]):
            union = sorted(set(fit_on[c].dropna().astype(str)) | set(test[c].dropna().astype(str)))
            fit_on[c] = pd.Categorical(fit_on[c].astype(str).where(fit_on[c].notna()), categories=union)
            test[c] = pd.Categorical(test[c].astype(str).where(test[c].notna()), categories=union)
    return fit_on, test


def tstr(fit_on: Any, test: Any, target: str, task: str = "classification") -> float:
    """HistGradientBoosting (random_state=0) fitted on ``fit_on`` and scored on ``test``.

    ``classification``: ROC AUC of ``target`` containing ">" (Adult's ``>50K``);
    ``regression``: R² of log(``target``) (prices are skewed: the log keeps a few mansions from
    deciding the score; values below 1 are clipped to 1)."""
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import r2_score, roc_auc_score
    from threadpoolctl import threadpool_limits

    x_fit, x_test = _categoricals(fit_on.drop(columns=[target]), test.drop(columns=[target]))
    # One OpenMP thread: on a shared, busy machine its spinning threads ran 6x slower (36 s vs 6 s).
    with threadpool_limits(1):
        if task == "classification":
            def label(frame: Any) -> Any:
                return frame[target].astype(str).str.contains(">").astype(int)
            model = HistGradientBoostingClassifier(random_state=0, categorical_features="from_dtype")
            model.fit(x_fit, label(fit_on))
            return float(roc_auc_score(label(test), model.predict_proba(x_test)[:, 1]))

        def log_target(frame: Any) -> Any:
            return np.log(frame[target].astype(float).clip(lower=1))
        model = HistGradientBoostingRegressor(random_state=0, categorical_features="from_dtype")
        model.fit(x_fit, log_target(fit_on))
        return float(r2_score(log_target(test), model.predict(x_test)))


#: Numerical columns with at least this many distinct real values are scored for roundness (fewer
#: are levels, drawn as they are by any generator that keeps its values).
ROUND_MIN_DISTINCT = 30


def _round_class(value: float) -> int:
    """How round a number is as written: its integer part's trailing zeros (450000: 4, at most 9),
    or minus its decimals (47.6801: -4; -7 for seven or more: no rounding to speak of)."""
    import numpy as np

    text = np.format_float_positional(abs(value), trim="-")
    if "." in text:
        return -min(len(text.split(".")[1]), 7)
    return min(len(text) - len(text.rstrip("0")), 9) if text != "0" else 9


def roundness(real: Any, synth: Any) -> float | None:
    """1 - total variation distance between the real and the synthetic distribution of
    :func:`_round_class`, averaged over the numerical columns of many values; None if none."""
    import numpy as np
    import pandas as pd

    scores = []
    for c in real.columns:
        if not (pd.api.types.is_numeric_dtype(real[c]) and pd.api.types.is_numeric_dtype(synth[c])):
            continue
        r, s = real[c].dropna().astype(float), synth[c].dropna().astype(float)
        if r.nunique() < ROUND_MIN_DISTINCT or not len(s):
            continue
        scores.append(_similarity(np.array([_round_class(v) for v in r]), np.array([_round_class(v) for v in s])))
    return float(np.mean(scores)) if scores else None
