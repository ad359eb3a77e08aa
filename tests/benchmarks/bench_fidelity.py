"""Fidelity side by side: synthspec, SDV GaussianCopula and MOSTLY AI's open engine, one run.

Each dataset (UCI Adult, King County house sales) is split 50/50 with a fixed seed: the models
see the training half only; the other half is an unseen holdout. Every system draws as many rows
as the training half, in its own process (time and peak RSS of that process tree), with its
defaults:

* synthspec: `synthspec init --from-duckdb` drafts the spec of the training half in a DuckDB file
  and `synthspec apply` publishes it (the CLI, in a fresh process; the published view is read
  back);
* SDV GaussianCopulaSynthesizer, metadata detected, fit + sample;
* MOSTLY AI engine (``mostlyai-engine``, Apache-2.0) TabularARGN, fit + sample on the CPU.

Then one implementation scores them all (tests/benchmarks/scoring.py, not synthspec's code):

* accuracy against the **holdout** (1 - total variation distance over every column and every
  column pair, numbers in 10 quantile bins of the holdout's column; MOSTLY AI QA's measure); the
  ceiling is the training half itself scored the same way: real rows the model never saw cannot
  be told from each other better than that;
* SDMetrics' QualityReport (the ``sdmetrics`` package) of the synthetic rows against the holdout;
* DCR share: 5,000 synthetic rows, each closer to a training row than to a holdout row (Gower
  distance, equal-size samples; synthspec.metrics.privacy.dcr_share): 0.5 is ideal;
* TSTR: HistGradientBoosting trained on the synthetic rows, scored on the holdout (Adult: ROC AUC
  of ``income``; kc_house: R² of log ``price``), next to TRTR (trained on the training half).

    python tests/benchmarks/bench_fidelity.py --out BENCHMARKS.md     # make bench-fidelity, ~10 min
    python tests/benchmarks/bench_fidelity.py --quick                 # 3,000 rows a side: checks the script
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import math
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_adult import measure  # noqa: E402
from bench_scale import replace_section  # noqa: E402
from scoring import accuracy  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
MARKER = "<!-- bench_fidelity -->"
SPLIT_SEED = 0
DCR_ROWS = 5000
#: MOSTLY AI engine's training-time cap in minutes (its default is 10 days; it stops earlier when
#: its validation loss stops improving, which is what its defaults rely on)
MOSTLY_MINUTES = 10.0

_PEER = """
import os, sys, warnings
os.environ.setdefault("HF_HUB_OFFLINE", "1")
warnings.simplefilter("ignore")
import pandas as pd
train = pd.read_parquet(sys.argv[2])
rows = int(sys.argv[4])
if sys.argv[1] == "sdv":
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer
    synth = GaussianCopulaSynthesizer(Metadata.detect_from_dataframes({"t": train}))
    synth.fit({"t": train})
    out = synth.sample(num_rows=rows)
    out = out["t"] if isinstance(out, dict) else out
else:
    from mostlyai.engine import TabularARGN
    model = TabularARGN(random_state=0, verbose=0, max_training_time=float(sys.argv[5]))
    model.fit(train)
    out = model.sample(n_samples=rows)
out.to_parquet(sys.argv[3])
"""


def log(message: str) -> None:
    print(f"[bench_fidelity {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load(name: str) -> Any:
    import pandas as pd

    if name == "adult":
        return pd.read_parquet(REPO / "data" / "adult.parquet")
    with gzip.open(REPO / "tests" / "corpus" / "data" / "kc_house.csv.gz", "rt") as handle:
        return pd.read_csv(io.StringIO(handle.read()))


DATASETS = {  # name -> (TSTR target, task)
    "adult": ("income", "classification"),
    "kc_house": ("price", "regression"),
}


def split(frame: Any, rows: int | None) -> tuple[Any, Any]:
    """A seeded 50/50 split (at most ``rows`` a side)."""
    import numpy as np

    order = np.random.default_rng(SPLIT_SEED).permutation(len(frame))
    half = len(frame) // 2 if rows is None else min(rows, len(frame) // 2)
    return (frame.iloc[order[:half]].reset_index(drop=True), frame.iloc[order[half:2 * half]].reset_index(drop=True))


def run_synthspec(name: str, train: Any, work: Path) -> tuple[dict[str, Any], Any]:
    import duckdb

    root = work / f"synthspec-{name}"
    root.mkdir()
    with duckdb.connect(str(root / "wh.duckdb")) as con:
        con.execute("CREATE SCHEMA raw")
        con.register("train", train)
        con.execute(f"CREATE TABLE raw.{name} AS SELECT * FROM train")
    cli = [sys.executable, "-m", "synthspec.cli.main"]
    subprocess.run([*cli, "init", "--from-duckdb", "wh.duckdb", "--schema", "raw", "-q"], cwd=root, check=True)
    run = measure([*cli, "apply", "-q"], root)
    results = json.loads((root / "target" / "run_results.json").read_text())
    run["status"] = results["tables"][0]["status"]
    with duckdb.connect(str(root / "wh.duckdb"), read_only=True) as con:
        synthetic = con.execute(f"SELECT * FROM synthetic.{name}").df()
    return run, synthetic


def run_peer(peer: str, name: str, train: Any, work: Path) -> tuple[dict[str, Any], Any]:
    import pandas as pd

    source, out = work / f"{peer}-{name}-train.parquet", work / f"{peer}-{name}-out.parquet"
    train.to_parquet(source)
    run = measure([sys.executable, "-c", _PEER, peer, str(source), str(out), str(len(train)), str(MOSTLY_MINUTES)], work)
    return run, (pd.read_parquet(out) if run["code"] == 0 else None)


def kinds_of(frame: Any) -> dict[str, str]:
    import pandas as pd

    return {c: "numerical" if pd.api.types.is_numeric_dtype(frame[c]) else "categorical" for c in frame.columns}


def aligned(synthetic: Any, real: Any) -> Any:
    """The synthetic rows with the real columns' dtypes (numbers as floats, the rest as text)."""
    import pandas as pd

    out = synthetic[list(real.columns)].copy()
    for column, kind in kinds_of(real).items():
        if kind == "numerical":
            out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
        else:
            out[column] = out[column].astype(object).where(out[column].notna(), None).map(
                lambda v: v if v is None else str(v))
    return out


def quality(real: Any, synthetic: Any) -> float:
    from sdmetrics.reports import QualityReport

    metadata = {"tables": {"t": {"columns": {c: {"sdtype": k} for c, k in kinds_of(real).items()}}}}
    report = QualityReport()
    report.generate({"t": real}, {"t": synthetic}, metadata, verbose=False)
    return float(report.get_score())


def dcr(train: Any, holdout: Any, synthetic: Any) -> float:
    from synthspec.metrics.privacy import dcr_share

    return float(dcr_share(train, holdout, synthetic, kinds_of(train), seed=0, max_rows=DCR_ROWS).share)


def tstr(fit_on: Any, holdout: Any, target: str, task: str) -> float:
    """HistGradientBoosting fitted on ``fit_on``, scored on the holdout (AUC or R² of log)."""
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import r2_score, roc_auc_score
    from threadpoolctl import threadpool_limits

    x_fit, x_test = fit_on.drop(columns=[target]).copy(), holdout.drop(columns=[target]).copy()
    for column in x_test.columns:
        if not pd.api.types.is_numeric_dtype(x_test[column]):
            union = sorted(set(x_fit[column].dropna().astype(str)) | set(x_test[column].dropna().astype(str)))
            x_fit[column] = pd.Categorical(x_fit[column].astype(str).where(x_fit[column].notna()), categories=union)
            x_test[column] = pd.Categorical(x_test[column].astype(str).where(x_test[column].notna()), categories=union)
    with threadpool_limits(1):  # spinning OpenMP threads are slow on a busy 2-core box
        if task == "classification":
            y_fit = fit_on[target].astype(str).str.contains(">").astype(int)
            y_test = holdout[target].astype(str).str.contains(">").astype(int)
            model = HistGradientBoostingClassifier(random_state=0, categorical_features="from_dtype").fit(x_fit, y_fit)
            return float(roc_auc_score(y_test, model.predict_proba(x_test)[:, 1]))
        y_fit = np.log(fit_on[target].clip(lower=1))
        model = HistGradientBoostingRegressor(random_state=0, categorical_features="from_dtype").fit(x_fit, y_fit)
        return float(r2_score(np.log(holdout[target].clip(lower=1)), model.predict(x_test)))


def score(train: Any, holdout: Any, synthetic: Any, target: str, task: str) -> dict[str, float]:
    acc = accuracy(holdout, synthetic)
    return {**acc, "quality": quality(holdout, synthetic), "dcr_share": dcr(train, holdout, synthetic),
            "tstr": tstr(synthetic, holdout, target, task)}


def run_dataset(name: str, rows: int | None, peers: list[str], work: Path) -> list[dict[str, Any]]:
    target, task = DATASETS[name]
    real = load(name)
    train, holdout = split(real, rows)
    log(f"{name}: {len(train):,} training rows, {len(holdout):,} holdout rows")
    ceiling = {**accuracy(holdout, train), "quality": quality(holdout, aligned(train, train)), "dcr_share": 0.5,
               "tstr": tstr(train, holdout, target, task)}
    out = [{"system": "a real holdout (the ceiling: the training half scored against the holdout)", **ceiling, "run": None}]
    systems = [("synthspec `apply`, defaults (cart)", lambda: run_synthspec(name, train, work))]
    if "sdv" in peers:
        systems.append(("SDV GaussianCopula, defaults", lambda: run_peer("sdv", name, train, work)))
    if "mostly" in peers:
        systems.append(("MOSTLY AI engine 2.7 TabularARGN, defaults (CPU)", lambda: run_peer("mostly", name, train, work)))
    for label, runner in systems:
        log(f"{name}: {label}")
        run, synthetic = runner()
        row: dict[str, Any] = {"system": label, "run": run}
        if synthetic is not None and run["code"] == 0:
            row.update(score(train, holdout, aligned(synthetic, real), target, task))
        out.append(row)
    return out


def _fmt(value: Any, digits: int = 4) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def table(name: str, rows: list[dict[str, Any]]) -> list[str]:
    target, task = DATASETS[name]
    measure_name = "AUC" if task == "classification" else "R² of log"
    lines = [f"| system | accuracy vs holdout (uni / bi) | SDMetrics quality | DCR share | TSTR {measure_name} `{target}` | time | peak RSS |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        run = r["run"]
        time_s = "—" if run is None else (f"{run['wall_s']:.1f} s" if run["code"] == 0 else f"failed (exit {run['code']})")
        peak = "—" if run is None else f"{run['peak_mb']:,.0f} MB"
        acc = "—" if "accuracy" not in r else f"{r['accuracy']:.4f} ({r['univariate']:.4f} / {r['bivariate']:.4f})"
        lines.append(f"| {r['system']} | {acc} | {_fmt(r.get('quality'))} | {_fmt(r.get('dcr_share'))} | "
                     f"{_fmt(r.get('tstr'))} | {time_s} | {peak} |")
    return lines


def gates(name: str, rows: list[dict[str, Any]]) -> list[str]:
    ceiling, ours, peers = rows[0], rows[1], rows[2:]
    if "accuracy" not in ours:
        return [f"- **{name}: synthspec did not publish: FAIL.**"]
    gap = ceiling["accuracy"] - ours["accuracy"]
    lines = [f"- **{name}: accuracy {ours['accuracy']:.4f} is {gap:.4f} below the holdout's {ceiling['accuracy']:.4f} "
             f"(target ≤ 0.005): {'PASS' if gap <= 0.005 else 'FAIL'}; DCR share {ours['dcr_share']:.4f} (target ≤ 0.51): "
             f"{'PASS' if ours['dcr_share'] <= 0.51 else 'FAIL'}; TSTR {ours['tstr']:.4f} vs TRTR {ceiling['tstr']:.4f} "
             f"(target within 0.01): {'PASS' if ceiling['tstr'] - ours['tstr'] <= 0.01 else 'FAIL'}.**"]
    for peer in peers:
        if "accuracy" in peer:
            ahead = ours["accuracy"] > peer["accuracy"] and ours["dcr_share"] <= peer["dcr_share"]
            lines.append(f"- {name}: vs {peer['system']}: accuracy {ours['accuracy']:.4f} vs {peer['accuracy']:.4f}, "
                         f"DCR share {ours['dcr_share']:.4f} vs {peer['dcr_share']:.4f}: "
                         f"{'ahead on both' if ahead else 'not ahead on both'}.")
    return lines


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="adult,kc_house")
    parser.add_argument("--peers", default="sdv,mostly", help="comma separated: sdv, mostly (empty: synthspec only)")
    parser.add_argument("--rows", type=int, help="at most this many rows a side (default: half of each dataset)")
    parser.add_argument("--mostly-minutes", type=float, default=MOSTLY_MINUTES,
                        help="cap on MOSTLY AI engine's training time (its early stopping usually ends it sooner)")
    parser.add_argument("--quick", action="store_true", help="3,000 rows a side: checks the script in a few minutes")
    parser.add_argument("--out", type=Path, help="Markdown file whose bench_fidelity section is replaced")
    args = parser.parse_args()
    if args.quick:
        args.rows = args.rows or 3000
    return args


def main() -> None:
    global MOSTLY_MINUTES
    args = parse_args()
    MOSTLY_MINUTES = args.mostly_minutes
    started = time.perf_counter()
    peers = [p for p in args.peers.split(",") if p]
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="synthspec-bench-fidelity-") as tmp:
        for name in args.datasets.split(","):
            work = Path(tmp) / name
            work.mkdir()
            results[name] = run_dataset(name, args.rows, peers, work)
    command = " ".join(["python tests/benchmarks/bench_fidelity.py", *sys.argv[1:]])
    lines = [MARKER, "## Fidelity: synthspec vs SDV GaussianCopula vs MOSTLY AI engine", "",
             f"Generated by `{command}` on {time.strftime('%Y-%m-%d')} in {(time.perf_counter() - started) / 60:.1f} min "
             f"({platform.machine()}, Python {platform.python_version()}, one run). Each dataset is split 50/50 (seed "
             f"{SPLIT_SEED}); every system trains on the training half and draws as many rows; every number is scored "
             "against the unseen holdout by tests/benchmarks/scoring.py (accuracy: 1 − total variation distance over every "
             "column and column pair, numbers in 10 quantile bins, MOSTLY AI QA's measure). DCR share: 5,000 synthetic rows "
             "vs equal training and holdout samples (Gower; synthspec.metrics.privacy.dcr_share). Time: the whole command "
             "in a fresh process (synthspec: `apply` end to end with checks and publishing; peers: fit + sample), peak RSS of "
             "its process tree. synthspec, as by default, trains on 80% of the training half (its own 20% holdout serves its "
             f"checks); the peers train on all of it. MOSTLY AI engine: training capped at {MOSTLY_MINUTES:g} min (early "
             "stopping usually ends it sooner).", ""]
    for name, rows in results.items():
        lines += [f"### {name}", "", *table(name, rows), "", *gates(name, rows), ""]
    lines += [f"- Reproduce: `{command}`.", MARKER]
    section = "\n".join(lines)
    print(section)
    if args.out:
        replace_section(args.out, MARKER, section)
    log(f"done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
