"""Fidelity side by side: synthspec, SDV GaussianCopula and MOSTLY AI's open engine, one run.

Each dataset (UCI Adult; King County house sales, the repo's tests/corpus copy) is split 50/50
with a fixed seed: the models see the training half only; the other half is an unseen holdout.
Every system draws as many rows as the training half, in a process of its own (wall time and peak
RSS of that process tree), with its defaults:

* synthspec: the training half is the source table of a DuckDB file project, `synthspec init
  --from-duckdb` drafts its spec (used as drafted) and `synthspec apply` publishes it (the CLI in
  a fresh process: fit, sample, checks, report, view); the published view is read back;
* SDV GaussianCopulaSynthesizer, metadata detected, fit + sample;
* MOSTLY AI engine (``mostlyai-engine``, Apache-2.0) TabularARGN, fit + sample on the CPU, its
  defaults (training ends by early stopping), offline (HF_HUB_OFFLINE=1).

One implementation scores them all (tests/benchmarks/scoring.py and the libraries named, not
synthspec's gate code, except the DCR share, which is synthspec's and cross-checked):

* accuracy (1 - total variation distance over every column and every column pair, numbers in 10
  quantile bins of the reference column; MOSTLY AI QA's measure), against the **holdout** (the
  headline) and against the training half the model saw. Its ceiling is real data the model never
  saw: the training half scored against the holdout (and vice versa), equal sizes;
* SDMetrics' QualityReport (the ``sdmetrics`` package) against the holdout;
* DCR share: 5,000 synthetic rows, each closer to a training row than to a holdout row (Gower
  distance, equal-size samples; synthspec.metrics.privacy.dcr_share), and MOSTLY AI QA's DCR
  share (L2 on its embeddings, the worst of its column groups) as a cross-check: 0.5 is ideal;
* TSTR: HistGradientBoosting trained on the synthetic rows, scored on the holdout (Adult: ROC AUC
  of ``income``; kc_house: R² of log ``price``), next to TRTR (trained on the training half).

    python tests/benchmarks/bench_fidelity.py --out BENCHMARKS.md     # make bench-fidelity
    python tests/benchmarks/bench_fidelity.py --quick                 # 2,000 rows a side: checks the script
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import replace_section  # noqa: E402
from scoring import ROUND_MIN_DISTINCT, accuracy, roundness, tstr  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
MARKER = "<!-- bench_fidelity -->"
SPLIT_SEED = 0
DCR_ROWS = 5000
RESAMPLE = "a resample of the training rows (a bootstrap; not a generator)"
QUICK_ROWS = 2000
QUICK_MOSTLY_MINUTES = 0.5

#: Runs a command and reports its exit code, wall time and the peak RSS of its largest process.
_MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
print(json.dumps({"code": done.returncode, "wall_s": time.perf_counter() - start, "stderr": done.stderr[-2000:],
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""

#: One peer's fit + sample with its defaults: argv = peer, training parquet, output parquet, rows,
#: MOSTLY AI's training-time cap in minutes ("" keeps its default). MOSTLY AI's training progress
#: (epochs, training seconds: its own log) goes to the output path + ".json".
_PEER = """
import json, sys, warnings
from pathlib import Path
warnings.simplefilter("ignore")
import pandas as pd
peer, source, target, rows, minutes = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
train = pd.read_parquet(source)
if peer == "sdv":
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer
    synth = GaussianCopulaSynthesizer(Metadata.detect_from_dataframes({"data": train}))
    synth.fit({"data": train})
    out = synth.sample(num_rows=rows)
    out = out["data"] if isinstance(out, dict) else out
else:
    from mostlyai.engine import TabularARGN
    cap = {"max_training_time": float(minutes)} if minutes else {}
    model = TabularARGN(random_state=0, device="cpu", **cap)
    model.fit(train)
    last = pd.read_csv(Path(model.workspace_dir) / "ModelStore" / "model-data" / "progress-messages.csv").iloc[-1]
    Path(target + ".json").write_text(json.dumps({"epochs": float(last["epoch"]), "training_s": float(last["total_time"])}))
    out = model.sample(n_samples=rows)
out.to_parquet(target)
"""


@dataclass(frozen=True)
class Dataset:
    """A benchmark dataset: how to load it and what TSTR predicts."""

    load: Callable[[], Any]
    target: str
    task: str  # "classification" (ROC AUC) or "regression" (R² of log target)


def _adult() -> Any:
    import pandas as pd

    return pd.read_parquet(REPO / "data" / "adult.parquet")


def _kc_house() -> Any:
    """King County house sales as the repo's corpus ships them (tests/corpus/data, 0.5 MB; the
    project needs nothing outside the repo): 21,613 sales, 19 columns, without the original file's
    listing ``id`` (a key, not a property of a sale: a user would not ask for its distribution)
    and sale ``date``."""
    import pandas as pd

    with gzip.open(REPO / "tests" / "corpus" / "data" / "kc_house.csv.gz", "rt") as handle:
        return pd.read_csv(io.StringIO(handle.read()))


DATASETS = {
    "adult": Dataset(_adult, "income", "classification"),
    "kc_house": Dataset(_kc_house, "price", "regression"),
}


def log(message: str) -> None:
    print(f"[bench_fidelity {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data

def kinds_of(frame: Any) -> dict[str, str]:
    """Column kinds by dtype, the scorers' single view of the table."""
    import pandas as pd

    return {c: "numerical" if pd.api.types.is_numeric_dtype(frame[c]) else "categorical" for c in frame.columns}


def normalized(frame: Any, kinds: dict[str, str]) -> Any:
    """``frame`` with the real table's columns and one dtype per kind (numbers as floats, the rest
    as text or None), so every scorer compares like with like whatever a system returned."""
    import pandas as pd

    out = frame[list(kinds)].copy()
    for column, kind in kinds.items():
        if kind == "numerical":
            out[column] = pd.to_numeric(out[column], errors="coerce").astype(float)
        else:
            out[column] = [None if pd.isna(v) else str(v) for v in out[column]]
    return out.reset_index(drop=True)


def split(frame: Any, rows: int | None) -> tuple[Any, Any]:
    """A seeded 50/50 split (at most ``rows`` a side)."""
    import numpy as np

    order = np.random.default_rng(SPLIT_SEED).permutation(len(frame))
    half = len(frame) // 2 if rows is None else min(rows, len(frame) // 2)
    return frame.iloc[order[:half]].reset_index(drop=True), frame.iloc[order[half:2 * half]].reset_index(drop=True)


# ---------------------------------------------------------------- systems

def measure(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], cwd=cwd, capture_output=True, text=True,
                          check=True, env=env)
    run = json.loads(done.stdout)
    if run["code"] != 0:
        log(f"exit {run['code']}: {run['stderr']}")
    return run


def run_synthspec(name: str, train: Any, work: Path) -> tuple[dict[str, Any], Any]:
    """`init` then a timed `apply` on a DuckDB file whose source table is the training half."""
    import duckdb

    root = work / "synthspec"
    root.mkdir()
    with duckdb.connect(str(root / "wh.duckdb")) as con:
        con.execute("CREATE SCHEMA raw")
        con.register("train", train)
        con.execute(f"CREATE TABLE raw.{name} AS SELECT * FROM train")
    cli = [sys.executable, "-m", "synthspec.cli.main"]
    subprocess.run([*cli, "init", "--from-duckdb", "wh.duckdb", "--schema", "raw", "-q"], cwd=root, check=True)
    run = measure([*cli, "apply", "-q"], root)
    if run["code"] != 0:
        return run, None
    with duckdb.connect(str(root / "wh.duckdb"), read_only=True) as con:
        return run, con.execute(f"SELECT * FROM synthetic.{name}").df()


def run_peer(peer: str, train: Any, work: Path, mostly_minutes: float | None) -> tuple[dict[str, Any], Any]:
    """A peer's fit + sample of ``len(train)`` rows in a fresh process, nothing downloaded."""
    import pandas as pd

    source, out = work / f"{peer}-train.parquet", work / f"{peer}-out.parquet"
    train.to_parquet(source)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    cap = "" if mostly_minutes is None else str(mostly_minutes)
    run = measure([sys.executable, "-c", _PEER, peer, str(source), str(out), str(len(train)), cap], work, env)
    progress = Path(f"{out}.json")
    if progress.exists():
        run["progress"] = json.loads(progress.read_text())
    return run, (pd.read_parquet(out) if run["code"] == 0 else None)


SYSTEMS = {  # key -> (label, runner(name, train, work, mostly_minutes))
    "synthspec": ("synthspec `apply`, default cart", lambda name, train, work, _: run_synthspec(name, train, work)),
    "sdv": ("SDV GaussianCopula, defaults", lambda name, train, work, _: run_peer("sdv", train, work, None)),
    "mostly": ("MOSTLY AI engine 2.7.3 TabularARGN, defaults (CPU)",
               lambda name, train, work, minutes: run_peer("mostly", train, work, minutes)),
}


# ---------------------------------------------------------------- scores

def quality(real: Any, synthetic: Any, kinds: dict[str, str]) -> float:
    """SDMetrics' QualityReport score of one table, computed by the sdmetrics package."""
    from sdmetrics.reports import QualityReport

    metadata = {"tables": {"data": {"columns": {c: {"sdtype": k} for c, k in kinds.items()}}}}
    report = QualityReport()
    report.generate({"data": real}, {"data": synthetic}, metadata, verbose=False)
    return float(report.get_score())


def dcr(train: Any, holdout: Any, synthetic: Any, kinds: dict[str, str]) -> float:
    """synthspec's DCR share (Gower): 5,000 synthetic rows against equal training/holdout samples."""
    from synthspec.metrics.privacy import dcr_share

    return float(dcr_share(train, holdout, synthetic, kinds, seed=0, max_rows=DCR_ROWS).share)


def dcr_mostly_qa(train: Any, holdout: Any, synthetic: Any) -> float:
    """MOSTLY AI QA's DCR share on the same frames, its own way: equal samples of 5,000 rows,
    L2 distance between its embeddings, the highest share over its column groups (its private
    functions: mostlyai-qa 1.10)."""
    import numpy as np
    from mostlyai.qa._distances import calculate_dcr_share, calculate_distances
    from mostlyai.qa._sampling import prepare_data_for_embeddings

    np.random.seed(0)  # its samples and column groups draw from numpy's global generator
    syn, trn, hol = prepare_data_for_embeddings(syn_tgt_data=synthetic, trn_tgt_data=train, hol_tgt_data=holdout,
                                                max_sample_size=DCR_ROWS)
    distances = calculate_distances(syn_embeds=syn, trn_embeds=trn, hol_embeds=hol)
    return float(calculate_dcr_share(distances["dcr_syn_trn"], distances["dcr_syn_hol"]))


def score_synthetic(data: Dataset, train: Any, holdout: Any, synthetic: Any, kinds: dict[str, str]) -> dict[str, Any]:
    return {"vs_holdout": accuracy(holdout, synthetic), "vs_train": accuracy(train, synthetic),
            "quality": quality(holdout, synthetic, kinds), "dcr": dcr(train, holdout, synthetic, kinds),
            "dcr_qa": dcr_mostly_qa(train, holdout, synthetic), "tstr": tstr(synthetic, holdout, data.target, data.task),
            "roundness": roundness(holdout, synthetic)}


def score_ceiling(data: Dataset, train: Any, holdout: Any, kinds: dict[str, str]) -> dict[str, Any]:
    """Real rows no model saw, scored like synthetic ones: the training half against the holdout
    (and the holdout against the training half); DCR share is 0.5 by construction."""
    return {"vs_holdout": accuracy(holdout, train), "vs_train": accuracy(train, holdout),
            "quality": quality(holdout, train, kinds),
            "tstr": tstr(train, holdout, data.target, data.task), "roundness": roundness(holdout, train)}


def run_dataset(name: str, rows: int | None, systems: list[str], work: Path,
                mostly_minutes: float | None) -> list[dict[str, Any]]:
    data = DATASETS[name]
    real = data.load()
    kinds = kinds_of(real)
    train, holdout = split(real, rows)
    train_n, holdout_n = normalized(train, kinds), normalized(holdout, kinds)
    log(f"{name}: {len(train):,} training rows, {len(holdout):,} holdout rows, {len(kinds)} columns")
    out = [{"system": "a real holdout (the ceiling: real rows no model saw)", "run": None, "rows": len(train),
            **score_ceiling(data, train_n, holdout_n, kinds)}]
    # Not a generator: the training rows themselves, as many drawn with replacement as a system
    # draws. What copying them costs in accuracy (resampling noise alone) and in DCR share.
    resample = train_n.sample(len(train_n), replace=True, random_state=SPLIT_SEED).reset_index(drop=True)
    out.append({"system": RESAMPLE, "run": None, "rows": len(resample),
                **score_synthetic(data, train_n, holdout_n, resample, kinds)})
    for key in systems:
        label, runner = SYSTEMS[key]
        log(f"{name}: {label}")
        (work / key).mkdir()
        run, synthetic = runner(name, train, work / key, mostly_minutes)
        row: dict[str, Any] = {"system": label, "run": run}
        if synthetic is not None:
            row["rows"] = len(synthetic)
            row.update(score_synthetic(data, train_n, holdout_n, normalized(synthetic, kinds), kinds))
            log(f"{name}: {label}: {run['wall_s']:.1f} s, accuracy vs holdout {row['vs_holdout']['accuracy']:.4f}")
        out.append(row)
    return out


# ---------------------------------------------------------------- report

def _num(value: Any, digits: int = 4) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def _acc(acc: dict[str, float] | None) -> str:
    return "—" if acc is None else f"{acc['accuracy']:.4f} ({acc['univariate']:.4f} / {acc['bivariate']:.4f})"


def _time(run: dict[str, Any] | None) -> tuple[str, str]:
    if run is None:
        return "–", "–"
    wall = f"{run['wall_s']:.1f} s" if run["code"] == 0 else f"failed (exit {run['code']})"
    if "progress" in run:
        wall += f" ({run['progress']['epochs']:g} epochs in {run['progress']['training_s'] / 60:.1f} min of training)"
    return wall, f"{run['peak_mb']:,.0f} MB"


def table(name: str, rows: list[dict[str, Any]]) -> list[str]:
    data = DATASETS[name]
    tstr_name = f"TSTR AUC `{data.target}`" if data.task == "classification" else f"TSTR R² log `{data.target}`"
    lines = [f"| system | accuracy vs holdout (uni / bi) | accuracy vs training (uni / bi) | SDMetrics quality vs holdout "
             f"| DCR share (MOSTLY AI QA's) | {tstr_name} (ceiling: TRTR) | roundness | time | peak RSS |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        wall, peak = _time(r["run"])
        dcr_cell = (f"{r['dcr']:.3f} ({r['dcr_qa']:.3f})" if "dcr" in r
                    else "0.500 (by definition)" if r["run"] is None else "—")
        lines.append(f"| {r['system']} | **{_acc(r.get('vs_holdout'))}** | {_acc(r.get('vs_train'))} | {_num(r.get('quality'))} "
                     f"| {dcr_cell} | {_num(r.get('tstr'))} | {_num(r.get('roundness'), 3)} | {wall} | {peak} |")
    return lines


def verdicts(name: str, rows: list[dict[str, Any]]) -> list[str]:
    """Where synthspec stands: its gap to the ceiling, and against each peer."""
    ceiling, ours = rows[0], next((r for r in rows[1:] if r["system"] == SYSTEMS["synthspec"][0]), None)
    resample = next((r for r in rows if r["system"] == RESAMPLE), None)
    if ours is None:
        return []
    if "vs_holdout" not in ours:
        return [f"- **{name}: synthspec did not publish (exit {ours['run']['code']}).**"]
    gap = ceiling["vs_holdout"]["accuracy"] - ours["vs_holdout"]["accuracy"]
    lines = [f"- **{name}: synthspec's accuracy vs the holdout is {gap:.4f} below the ceiling's "
             f"({ours['vs_holdout']['accuracy']:.4f} vs {ceiling['vs_holdout']['accuracy']:.4f}); TSTR {ours['tstr']:.4f} "
             f"vs TRTR {ceiling['tstr']:.4f}; DCR share {ours['dcr']:.3f}.**"]
    if resample is not None:
        lines.append(f"- {name}: a resample of the training rows themselves is "
                     f"{ceiling['vs_holdout']['accuracy'] - resample['vs_holdout']['accuracy']:.4f} below the ceiling "
                     f"({resample['vs_holdout']['accuracy']:.4f}) at a DCR share of {resample['dcr']:.3f}: the accuracy "
                     "that drawing as many rows as the training half from its own distribution costs, with nothing "
                     "learnt and every row a copy.")
    for peer in rows[1:]:
        if peer is ours or peer["run"] is None or "vs_holdout" not in peer:
            continue
        pairs = (("accuracy vs holdout", ours["vs_holdout"]["accuracy"], peer["vs_holdout"]["accuracy"]),
                 ("SDMetrics quality", ours["quality"], peer["quality"]), ("TSTR", ours["tstr"], peer["tstr"]))
        cells = [f"{m} {a:.4f} vs {b:.4f} ({'ahead' if a > b else 'behind' if a < b else 'level'})" for m, a, b in pairs]
        lines.append(f"- {name}, synthspec vs {peer['system']}: {'; '.join(cells)}; DCR share {ours['dcr']:.3f} vs "
                     f"{peer['dcr']:.3f}; time {ours['run']['wall_s']:.1f} s vs {peer['run']['wall_s']:.1f} s.")
    return lines


def section(results: dict[str, list[dict[str, Any]]], command: str, minutes: float, mostly_minutes: float | None) -> str:
    mostly = (f"its training capped at {mostly_minutes:g} min (`--mostly-minutes`: its own limit is 10 days, ended by "
              "early stopping after 4 epochs without a better validation loss, whichever comes first; the epochs it "
              "reached and the minutes they took are in the time column: on a busy machine the cap can end it before "
              "its early stopping does)" if mostly_minutes is not None
              else "ending by its early stopping")
    sizes = ", ".join(f"{name} {2 * rows_[0]['rows']:,} rows" for name, rows_ in results.items())
    lines = [MARKER, "## Fidelity: synthspec vs SDV GaussianCopula vs MOSTLY AI engine", "",
             f"Generated by `{command}` on {time.strftime('%Y-%m-%d')} in {minutes:.1f} min ({platform.machine()}, "
             f"{os.cpu_count()} cores shared with other work, Python {platform.python_version()}, one run; `make "
             f"bench-fidelity`). Data: {sizes}, each split 50/50 (seed {SPLIT_SEED}): every system trains on the "
             "training half only and draws as many rows as it has; the holdout half is never shown to a model.", "",
             "- **Accuracy vs holdout** (the headline) and **vs training**: 1 − total variation distance, the mean of the "
             "univariate (every column) and bivariate (every column pair) scores, numbers in 10 quantile bins of the "
             "reference column: MOSTLY AI QA's measure, implemented independently in tests/benchmarks/scoring.py. The "
             "ceiling row is real data no model saw: the training half scored against the holdout (and the holdout against "
             "the training half), equal sizes; a generator can match it, not beat it. Synthetic accuracy vs training above "
             "the ceiling means the rows are closer to the training rows than fresh real rows are. The resample row is "
             "no generator: the training rows themselves, as many drawn with replacement (seed 0); its gap to the ceiling "
             "is what the noise of drawing that many rows costs a perfect copy, and its DCR share what copying costs.",
             "- **SDMetrics quality**: `sdmetrics` 0.32 QualityReport of the rows against the holdout, column "
             "kinds by dtype.",
             f"- **DCR share**: the share of {DCR_ROWS:,} synthetic rows closer to a training row than to a holdout row, "
             "against equal-size samples (Gower distance, ties count half; 0.5 is ideal, higher leans on the training rows): "
             "synthspec's own `synthspec.metrics.privacy.dcr_share`; in brackets MOSTLY AI QA's DCR share on the same "
             "frames (L2 on its embeddings, the highest over its column groups) as an independent cross-check.",
             "- **TSTR**: HistGradientBoosting (random_state 0) trained on the synthetic rows, tested on the holdout: "
             "Adult ROC AUC of `income`, kc_house R² of log `price`; the ceiling row is TRTR (trained on the training half).",
             "- **Roundness**: how round the numbers are as written, a tell a reviewer sees at a glance and the scores above "
             "do not (real prices are 450,000 or 451,500, not 451,237): per value, its trailing zeros or its number of "
             f"decimals; 1 − total variation distance between their distributions in the holdout and in the rows, averaged "
             f"over the numerical columns of at least {ROUND_MIN_DISTINCT} distinct values (1 is ideal; scoring.roundness).",
             "- **Time**: the wall time of one fresh process per system (synthspec: `synthspec apply` on a DuckDB file "
             "project drafted by `synthspec init`, end to end: it fits on 80% of the training half, keeps 20% for its own "
             "checks, samples, gates, writes its report and publishes the view; the peers: fit + sample in Python), and "
             "the peak RSS of its largest process. Peers with their defaults: SDV metadata detected; MOSTLY AI "
             f"TabularARGN on the CPU, {mostly}, offline (HF_HUB_OFFLINE=1).", ""]
    for name, rows_ in results.items():
        lines += [f"### {name}", "", *table(name, rows_), "", *verdicts(name, rows_), ""]
    lines += [f"- Reproduce: `make bench-fidelity` (installs the `bench` extra), or `{command}`; `--quick` "
              f"({QUICK_ROWS:,} rows a side) checks the script.", MARKER]
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="adult,kc_house", help=f"comma separated: {', '.join(DATASETS)}")
    parser.add_argument("--systems", default="synthspec,sdv,mostly", help=f"comma separated: {', '.join(SYSTEMS)}")
    parser.add_argument("--rows", type=int, help="at most this many rows a side (default: half of each dataset)")
    parser.add_argument("--mostly-minutes", type=float,
                        help="cap MOSTLY AI's training time (default: its own, 10 days, ended by early stopping)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_ROWS:,} rows a side, MOSTLY AI capped at {QUICK_MOSTLY_MINUTES:g} min: checks the script")
    parser.add_argument("--out", type=Path, help="Markdown file whose bench_fidelity section is replaced")
    args = parser.parse_args()
    if args.quick:
        args.rows = args.rows or QUICK_ROWS
        args.mostly_minutes = args.mostly_minutes or QUICK_MOSTLY_MINUTES
    return args


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    results: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory(prefix="synthspec-bench-fidelity-") as tmp:
        for name in args.datasets.split(","):
            work = Path(tmp) / name
            work.mkdir()
            results[name] = run_dataset(name, args.rows, [s for s in args.systems.split(",") if s], work,
                                        args.mostly_minutes)
    command = " ".join(["python tests/benchmarks/bench_fidelity.py", *sys.argv[1:]])
    text = section(results, command, (time.perf_counter() - started) / 60, args.mostly_minutes)
    print(text)
    if args.out:
        replace_section(args.out, MARKER, text)
    log(f"done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
