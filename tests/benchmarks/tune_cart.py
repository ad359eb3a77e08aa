"""Tune the cart model's defaults on UCI Adult: SDMetrics quality, DCR share and timings.

Usage::

    python tests/benchmarks/tune_cart.py [--leaf 50,100,200] [--smoothing 0,1] [--seeds 0,1,2]
        [--order default|spec] [--data /work/shared/datasets/adult.csv]

Quality is SDMetrics' QualityReport against the training split (target >= 0.95, ideally 0.97);
the DCR share is the fraction of synthetic rows closer to a training row than to a holdout row
(0.5 = no memorisation, target <= 0.52).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

# Runnable from a plain checkout, without installing the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from synthspec.models.base import ModelColumn  # noqa: E402
from synthspec.models.cart import CartSynthesizer, Params  # noqa: E402

INTEGER_COLUMNS = [
    "age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hours_per_week",
]  # fmt: skip
DEFAULT_DATA = Path("/work/shared/datasets/adult.csv")


def load_adult(path: Path) -> tuple[pd.DataFrame, list[ModelColumn]]:
    raw = pd.read_csv(path)
    frame: dict[str, object] = {}
    columns: list[ModelColumn] = []
    for name in raw.columns:
        if name in INTEGER_COLUMNS:
            frame[name] = raw[name].astype(np.float64)
            columns.append(ModelColumn(name, "numerical", integer=True))
        else:
            frame[name] = raw[name].astype(object).where(raw[name].notna(), None)
            columns.append(ModelColumn(name, "categorical"))
    return pd.DataFrame(frame), columns


def quality(train: pd.DataFrame, synth: pd.DataFrame, columns: list[ModelColumn]) -> float:
    from sdmetrics.reports.single_table import QualityReport

    synth = synth.copy()
    for c in columns:
        if c.integer:
            synth[c.name] = synth[c.name].round()
    metadata = {"columns": {c.name: {"sdtype": c.kind} for c in columns}}
    report = QualityReport()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report.generate(train, synth, metadata, verbose=False)
    return float(report.get_score())


def _encode_for_distance(
    frames: list[pd.DataFrame], train: pd.DataFrame, columns: list[ModelColumn]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per frame: scaled numerical matrix (NaN nulls) and categorical code matrix (-1 nulls)."""
    num = [c.name for c in columns if c.kind == "numerical"]
    cat = [c.name for c in columns if c.kind == "categorical"]
    span = (train[num].max() - train[num].min()).replace(0, 1).to_numpy()
    vocab = {
        n: {v: i for i, v in enumerate(pd.unique(pd.concat([f[n] for f in frames])))} for n in cat
    }
    out = []
    for f in frames:
        xn = f[num].to_numpy(np.float64) / span
        xc = np.column_stack(
            [[-1 if v is None else vocab[n][v] for v in f[n]] for n in cat]
        ).astype(np.int64)
        out.append((xn, xc))
    return out


def _min_distance(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    (an, ac), (bn, bc) = a, b
    n_cols = an.shape[1] + ac.shape[1]
    best = np.empty(len(an))
    for s in range(0, len(an), 250):
        dn = np.abs(an[s : s + 250, None, :] - bn[None, :, :])
        a_nan, b_nan = np.isnan(an[s : s + 250, None, :]), np.isnan(bn[None, :, :])
        dn = np.where(a_nan & b_nan, 0.0, np.where(a_nan | b_nan, 1.0, dn))
        dc = (ac[s : s + 250, None, :] != bc[None, :, :]).sum(axis=2)
        best[s : s + 250] = ((dn.sum(axis=2) + dc) / n_cols).min(axis=1)
    return best


def dcr_share(
    synth: pd.DataFrame,
    train: pd.DataFrame,
    holdout: pd.DataFrame,
    columns: list[ModelColumn],
    seed: int,
) -> float:
    rng = np.random.default_rng(seed)
    size = min(len(holdout), len(train), 5000)
    s = synth.iloc[rng.choice(len(synth), min(len(synth), 5000), replace=False)]
    t = train.iloc[rng.choice(len(train), size, replace=False)]
    h = holdout.iloc[rng.choice(len(holdout), size, replace=False)]
    es, et, eh = _encode_for_distance([s, t, h], train, columns)
    d_train, d_hold = _min_distance(es, et), _min_distance(es, eh)
    return float(((d_train < d_hold).sum() + 0.5 * (d_train == d_hold).sum()) / len(d_train))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--leaf", default="20,50,100,200")
    ap.add_argument("--smoothing", default="0,1")
    ap.add_argument("--seeds", default="0,1,2,3,4,5")
    ap.add_argument("--order", choices=["default", "spec"], default="default")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--train-rows", type=int, default=None, help="subsample the train split")
    args = ap.parse_args()

    data, columns = load_adult(args.data)
    shuffled = data.sample(frac=1.0, random_state=0).reset_index(drop=True)
    cut = int(0.8 * len(shuffled))
    train, holdout = (
        shuffled.iloc[:cut].reset_index(drop=True),
        shuffled.iloc[cut:].reset_index(drop=True),
    )
    if args.train_rows:
        train = train.iloc[: args.train_rows].reset_index(drop=True)
    order = [c.name for c in columns] if args.order == "spec" else None
    seeds = [int(s) for s in args.seeds.split(",")]

    print(f"train={len(train)} holdout={len(holdout)} order={args.order}")
    print("DCR: each seed changes the model, the sample and the DCR subsamples; the subsamples")
    print("alone move a single DCR estimate by about +-0.012, so read the mean.")
    print(
        f"{'leaf':>5} {'smooth':>6} {'quality':>8} {'DCR (per seed)':>24} {'DCR mean':>8} {'DCR max':>7} {'fit s':>6} {'sample s':>8} {'full fit+sample s':>17}"
    )
    for leaf in [int(v) for v in args.leaf.split(",")]:
        for smoothing in [float(v) for v in args.smoothing.split(",")]:
            params = Params(min_samples_leaf=leaf, smoothing=smoothing, visit_sequence=order)
            qualities, dcrs, fit_s, sample_s = [], [], [], []
            for seed in seeds:
                model = CartSynthesizer(columns, params, seed)
                t0 = time.perf_counter()
                model.fit(train)
                t1 = time.perf_counter()
                synth = model.sample(len(train), seed)
                t2 = time.perf_counter()
                fit_s.append(t1 - t0)
                sample_s.append(t2 - t1)
                if seed == seeds[0]:
                    qualities.append(quality(train, synth, columns))
                dcrs.append(dcr_share(synth, train, holdout, columns, seed))
            # The product case: fit on everything, sample the full table size.
            t0 = time.perf_counter()
            full = CartSynthesizer(columns, params, 0)
            full.fit(data)
            full.sample(len(data), 0)
            full_s = time.perf_counter() - t0
            per_seed = " ".join(f"{d:.3f}" for d in dcrs)
            print(
                f"{leaf:>5} {smoothing:>6.2f} {qualities[0]:>8.4f} {per_seed:>24} {np.mean(dcrs):>8.3f} {np.max(dcrs):>7.3f} "
                f"{np.median(fit_s):>6.2f} {np.median(sample_s):>8.2f} {full_s:>17.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
