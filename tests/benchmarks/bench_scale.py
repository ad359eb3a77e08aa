"""How synthspec scales: 100k / 1M / 10M-row Adult-shaped tables, side by side with SDV, in one run.

Sources are bootstraps of the bundled UCI Adult (data/adult.parquet) with jittered `age` (±2 years)
and `fnlwgt` (±5%), generated inside DuckDB in batches of at most 1M rows (each batch its own
seed), so the generator stays small at any size. Every measured command runs in a fresh process
under a small wrapper that reports that command's own peak RSS (RUSAGE_CHILDREN of a wrapper that
runs nothing else: the largest single process of the command's tree). Sections:

1. Scaling: `synthspec init` + `synthspec apply` per size (wall, peak RSS, per-stage times and,
   where the run records them, per-stage peak RSS from target/run_results.json, quality_score,
   dcr_share) and SDV GaussianCopula (defaults) fit + sample on the same training rows (sizes up
   to --sdv-max-rows).
2. Training on big tables: at --training-size rows, the default `apply` vs the same spec training
   on every row; quality_score, an independent accuracy (1 - total variation distance over every
   column and column pair, numbers in 10 quantile bins) and TSTR AUC of `income`, both against a
   separate real sample drawn by the same generator with another seed.
3. Sample: `synthspec sample adult --rows N --out big.parquet` twice (same seed: the row hash must
   match) and, when `sample` accepts it, `--out big.duckdb`: wall, peak RSS, exact row counts.
4. Ray (only when `apply --help` lists `--executor`): a 2-node local cluster (1 CPU each, its own
   process groups, stopped by killing them, so other clusters on the machine are left alone);
   `apply --executor ray` vs `--jobs 1` on the demo project and on the --training-size project;
   the published rows must be identical.

    python tests/benchmarks/bench_scale.py --out BENCHMARKS.md      # full run (make bench-scale), ~35 min on 2 cores
    python tests/benchmarks/bench_scale.py --quick                  # 20k/50k rows: checks the script
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scoring import accuracy, tstr  # noqa: E402 - shared with bench_fidelity.py

REPO = Path(__file__).resolve().parents[2]
BUNDLED = REPO / "data" / "adult.parquet"
MARKER = "<!-- bench_scale -->"
BATCH = 1_000_000  # rows generated per DuckDB insert: bounds the generator's memory
SHARD_ROWS = 250_000  # synthspec.engine.shards.SHARD_ROWS (not imported: the script measures a CLI)
SOURCE_SEED, HOLDOUT_SEED, REFERENCE_SEED = 0, 1, 2  # accuracy/TSTR compare against draws the models never saw
STAGES = ("read", "fit", "sample", "checks", "report", "publish")

# Runs one command and reports its own wall time and peak RSS. A fresh wrapper per command, so
# RUSAGE_CHILDREN (a max over every child waited for) covers that command alone.
_MEASURE = """
import json, os, resource, signal, subprocess, sys, time
timeout = float(sys.argv[1]) or None
start = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
try:
    _, err = proc.communicate(timeout=timeout)
    code = proc.returncode
except subprocess.TimeoutExpired:
    os.killpg(proc.pid, signal.SIGKILL)
    _, err = proc.communicate()
    code = "timeout"
print(json.dumps({"code": code, "wall_s": time.perf_counter() - start, "stderr": err.decode(errors="replace")[-2000:],
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""

# SDV GaussianCopula with its defaults, in its own process (its peak RSS is the process's own).
_SDV = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
import pandas as pd
from sdv.metadata import Metadata
from sdv.single_table import GaussianCopulaSynthesizer
train = pd.read_parquet(sys.argv[1])
metadata = Metadata.detect_from_dataframes({"adult": train})
synth = GaussianCopulaSynthesizer(metadata)
start = time.perf_counter()
synth.fit({"adult": train})  # this SDV takes the table by name, as bench_adult.py does
fit_s = time.perf_counter() - start
start = time.perf_counter()
out = synth.sample(num_rows=len(train))
out = out["adult"] if isinstance(out, dict) else out
sample_s = time.perf_counter() - start
print(json.dumps({"fit_s": fit_s, "sample_s": sample_s, "rows": len(train),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

# The training split `apply` uses (synthspec's own reader and split), first N rows of it, to
# Parquet: SDV trains on the same rows as synthspec's model (before any training-row cap).
_EXPORT_TRAIN = """
import sys
from pathlib import Path
from synthspec.engine.apply import split_indices
from synthspec.engine.prepare import verify_columns
from synthspec.io import warehouse
from synthspec.io.compact import object_frame
from synthspec.spec.project import load_project
proj = load_project(Path(sys.argv[1]))
loaded = proj.specs[0]
with warehouse.open_project(proj, write=False) as cons:
    columns = warehouse.describe(cons, loaded, proj)
    source = object_frame(warehouse.read_source(cons, loaded, proj, columns))  # SDV gets objects, as before
train_idx, _ = split_indices(len(source), loaded.spec.holdout, loaded.spec.model.seed)
source.iloc[train_idx[: int(sys.argv[3])]].reset_index(drop=True).to_parquet(sys.argv[2])
"""


def log(message: str) -> None:
    """Progress on stderr, with the clock, so a 35-minute run can be followed."""
    print(f"[bench_scale {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def synthspec_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "synthspec.cli.main", *args]


def measure(cmd: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Wall time, peak RSS (MB) and exit code of ``cmd`` in a fresh wrapper process."""
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(timeout), *cmd], cwd=cwd, capture_output=True, text=True,
                         check=True, env={**os.environ, "DO_NOT_TRACK": "1", **(env or {})})
    result = json.loads(out.stdout)
    if result["code"] != 0:
        log(f"  exit {result['code']}: {' '.join(cmd[3:])}: {result['stderr'].strip().splitlines()[-1:] or ''}")
    return result


# ---------------------------------------------------------------- data

def insert_adult_shaped(con: Any, table: str, rows: int, seed: int) -> None:
    """Append ``rows`` bootstrap rows of Adult to ``table`` (created if missing), 1M per batch.
    Each batch draws (row, age shift, fnlwgt factor) with its own seed, [seed, batch], so a
    batch's rows do not depend on how many batches follow."""
    import numpy as np
    import pandas as pd

    adult = pd.read_parquet(BUNDLED)
    con.execute("SET enable_progress_bar = false")
    con.register("adult_base", adult.assign(_pos=np.arange(len(adult))))
    exprs = []
    for name in adult.columns:
        if name == "age":
            exprs.append("least(greatest(b.age + d._age, 17), 90)::BIGINT AS age")
        elif name == "fnlwgt":
            exprs.append("round(b.fnlwgt * d._factor)::BIGINT AS fnlwgt")
        else:
            exprs.append(f'b."{name}"')
    select = f"SELECT {', '.join(exprs)} FROM draw d JOIN adult_base b USING (_pos) ORDER BY d._i"
    for batch, start in enumerate(range(0, rows, BATCH)):
        n = min(BATCH, rows - start)
        rng = np.random.default_rng([seed, batch])
        draw = pd.DataFrame({"_pos": rng.integers(0, len(adult), n), "_age": rng.integers(-2, 3, n),
                             "_factor": rng.uniform(0.95, 1.05, n), "_i": np.arange(n)})
        con.register("draw", draw)
        if batch == 0:
            con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS {select} LIMIT 0")
        con.execute(f"INSERT INTO {table} {select}")
        con.unregister("draw")
    con.unregister("adult_base")


def make_project(root: Path, rows: int) -> Path:
    """A project over a DuckDB file holding ``rows`` Adult-shaped rows in raw.adult, drafted by init."""
    import duckdb

    root.mkdir(parents=True)
    start = time.perf_counter()
    with duckdb.connect(str(root / "wh.duckdb")) as con:
        con.execute("CREATE SCHEMA raw")
        insert_adult_shaped(con, "raw.adult", rows, SOURCE_SEED)
    subprocess.run(synthspec_cmd("init", "--from-duckdb", "wh.duckdb", "--schema", "raw", "-q"), cwd=root, check=True,
                   stdout=subprocess.DEVNULL)
    log(f"  generated {rows:,} rows + init in {time.perf_counter() - start:.1f} s")
    return root


def real_sample(rows: int, seed: int) -> Any:
    """A separate real draw (its own seed) of the same population: the accuracy and TSTR reference."""
    import duckdb

    with duckdb.connect() as con:
        insert_adult_shaped(con, "real", rows, seed)
        return con.execute("SELECT * FROM real").df()


def published_hash(db: Path | None, relation: str) -> dict[str, Any]:
    """Row count and an order-independent content hash of ``relation`` (sum of row hashes, so
    duplicates count), read from the DuckDB file ``db`` (None: an in-memory database)."""
    import duckdb

    with (duckdb.connect(str(db), read_only=True) if db else duckdb.connect()) as con:
        count, total = con.execute(f"SELECT count(*), sum(hash(t)::HUGEINT) FROM {relation} t").fetchone()
    return {"rows": int(count), "hash": f"{int(total or 0) % 2**64:016x}"}


def synthetic_hashes(db: Path) -> dict[str, dict[str, Any]]:
    """Hash of every published view of the target schema `synthetic`."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        views = [v for (v,) in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'synthetic' "
                                           "ORDER BY 1").fetchall()]
    return {v: published_hash(db, f'synthetic."{v}"') for v in views}


# ---------------------------------------------------------------- independent quality

def evaluate_published(project: Path, real: Any, max_rows: int) -> dict[str, float]:
    """Accuracy and TSTR of the published synthetic.adult (a seeded sample of at most ``max_rows``)."""
    import duckdb

    with duckdb.connect(str(project / "wh.duckdb"), read_only=True) as con:
        con.execute("SET threads = 1")  # a REPEATABLE sample is only reproducible on one thread
        synth = con.execute(f"SELECT * FROM synthetic.adult USING SAMPLE reservoir({max_rows} ROWS) REPEATABLE (0)").df()
    synth = synth[list(real.columns)]
    return {**accuracy(real, synth), "tstr_auc": tstr(synth, real, "income")}


# ---------------------------------------------------------------- runs

@dataclass
class ApplyRun:
    """One measured `apply` and what its run_results.json says about the table."""

    label: str
    rows: int
    run: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    status: str = "?"


def run_apply(project: Path, label: str, rows: int, timeout: float, *extra: str, env: dict[str, str] | None = None) -> ApplyRun:
    log(f"  {label}: apply {' '.join(extra)} on {rows:,} rows")
    run = measure(synthspec_cmd("apply", "-q", *extra), project, timeout, env)
    out = ApplyRun(label, rows, run)
    results = project / "target" / "run_results.json"
    if results.exists() and run["code"] != "timeout":
        table = json.loads(results.read_text())["tables"][0]
        out.timings, out.metrics, out.status = table.get("timings") or {}, table.get("metrics") or {}, table.get("status", "?")
    log(f"  -> {run['wall_s']:.1f} s, {run['peak_mb']:.0f} MB, exit {run['code']}, {out.status}")
    return out


def run_sdv(project: Path, work: Path, rows: int, timeout: float) -> dict[str, Any]:
    """SDV GaussianCopula fit + sample on the first ``rows`` training rows of ``project``."""
    train = work / f"sdv-train-{rows}.parquet"
    subprocess.run([sys.executable, "-c", _EXPORT_TRAIN, str(project), str(train), str(rows)], check=True,
                   env={**os.environ, "DO_NOT_TRACK": "1"})
    log(f"  SDV GaussianCopula on {rows:,} training rows")
    try:
        out = subprocess.run([sys.executable, "-c", _SDV, str(train)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    finally:
        train.unlink(missing_ok=True)
    if out.returncode != 0:
        error = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"
        log(f"  -> SDV failed: {error}")
        return {"error": error}
    result = json.loads(out.stdout.strip().splitlines()[-1])
    log(f"  -> fit {result['fit_s']:.1f} s, sample {result['sample_s']:.1f} s, {result['peak_mb']:.0f} MB")
    return result


def variant_project(source: Path, root: Path, model: dict[str, Any] | None = None, rows: int | None = None) -> Path:
    """A copy of ``source`` whose spec merges ``model`` into its model (e.g. train on every row)
    and, with ``rows``, draws that many synthetic rows."""
    import yaml

    root.mkdir(parents=True)
    shutil.copy(source / "wh.duckdb", root / "wh.duckdb")
    shutil.copy(source / "synthspec.yml", root / "synthspec.yml")
    shutil.copytree(source / "specs", root / "specs")
    project = yaml.safe_load((root / "synthspec.yml").read_text())
    spec_path = root / "specs" / "adult.yml"
    spec = yaml.safe_load(spec_path.read_text())
    if model:
        spec["model"] = {**(project.get("defaults") or {}).get("model", {}), **(spec.get("model") or {}), **model}
    if rows:
        spec["rows"] = rows
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return root


def training_cap_label() -> str | None:
    """How the default caps training rows, when this synthspec has the key (None: no cap)."""
    from synthspec.spec import models

    if "max_training_rows" not in models.ModelSpec.model_fields:
        return None
    default = getattr(models, "DEFAULT_MAX_TRAINING_ROWS", None)
    return "`max_training_rows` default" + (f": at most {default:,} training rows" if default else "")


def cli_help(*command: str) -> str:
    return subprocess.run(synthspec_cmd(*command, "--help"), capture_output=True, text=True).stdout


def run_sample(project: Path, rows: int, out: Path, timeout: float) -> dict[str, Any]:
    """`synthspec sample adult --rows N --out FILE`: wall, peak RSS, exact row count and hash."""
    log(f"  sample {rows:,} rows -> {out.name}")
    result = measure(synthspec_cmd("sample", "adult", "--rows", str(rows), "--out", str(out), "-q"), project, timeout)
    if result["code"] == 0 and out.suffix == ".parquet":
        result.update(published_hash(None, f"read_parquet('{out}')"))
    elif result["code"] == 0:
        import duckdb

        with duckdb.connect(str(out), read_only=True) as con:  # whatever relation `sample` wrote there
            names = con.execute("SELECT table_schema, table_name FROM information_schema.tables ORDER BY ALL").fetchall()
        result.update(published_hash(out, ".".join(f'"{n}"' for n in names[0])) if len(names) == 1 else
                      {"error": f"expected one relation in {out.name}, found {len(names)}"})
    shutil.rmtree(out, ignore_errors=True) if out.is_dir() else out.unlink(missing_ok=True)
    log(f"  -> {result['wall_s']:.1f} s, {result['peak_mb']:.0f} MB, exit {result['code']}, rows {result.get('rows')}")
    return result


class RayCluster:
    """A local 2-node Ray cluster (head + one worker, 1 CPU each). Each node runs `ray start
    --block` in its own process group, and stopping kills those groups: `ray stop --force` would
    also stop every other Ray cluster of this user on a shared machine. Ray >= 2.59 requires a
    token on local clusters: a fresh one for this benchmark, given to the nodes and the clients
    (``env``) alike."""

    def __init__(self, work: Path) -> None:
        ray = str(Path(sys.executable).with_name("ray"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.env = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32), "RAY_ADDRESS": self.address}
        node_env = {**os.environ, **self.env}
        node_env.pop("RAY_ADDRESS")  # `ray start --head` would read it as a cluster to join
        common = ["--num-cpus", "1", "--block", "--disable-usage-stats"]
        self.nodes = [subprocess.Popen([ray, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(self.port),
                                        "--include-dashboard=false", *common], cwd=work, start_new_session=True, env=node_env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        self.nodes.append(subprocess.Popen([ray, "start", "--address", self.address, "--node-ip-address", "127.0.0.1", *common],
                                           cwd=work, start_new_session=True, env=node_env,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.cpus = self._wait_for_nodes(2)

    def _wait_for_nodes(self, count: int, timeout: float = 180) -> float:
        """Wait (a node takes 10-20 s to start on a busy machine) until ``count`` nodes are alive;
        the cluster's CPUs."""
        probe = ("import ray, sys, time\nray.init(logging_level='ERROR')\nend = time.time() + float(sys.argv[1])\n"
                 "while len([n for n in ray.nodes() if n['Alive']]) < int(sys.argv[2]) and time.time() < end:\n    time.sleep(1)\n"
                 "print(len([n for n in ray.nodes() if n['Alive']]), ray.cluster_resources().get('CPU', 0))")
        end = time.time() + timeout
        while time.time() < end:  # the head itself may not answer yet
            out = subprocess.run([sys.executable, "-c", probe, str(end - time.time()), str(count)], capture_output=True,
                                 text=True, env={**os.environ, **self.env})
            if out.returncode == 0:
                nodes, cpus = out.stdout.split()
                if int(nodes) >= count:
                    return float(cpus)
            time.sleep(2)
        self.stop()
        raise RuntimeError(f"the local Ray cluster did not reach {count} nodes in {timeout:.0f} s")

    def stop(self) -> None:
        """SIGTERM each node's process group (Ray drains), then SIGKILL whatever is left of it."""
        for sig, grace in ((signal.SIGTERM, 30.0), (signal.SIGKILL, 5.0)):
            for node in reversed(self.nodes):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(node.pid, sig)
            for node in self.nodes:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    node.wait(grace)


def run_ray(work: Path, big: Path | None, big_rows: int, sharded_rows: int, timeout: float) -> list[dict[str, Any]]:
    """`apply --force --executor ray` vs `--jobs 1` on the demo project, on ``big`` and on a copy
    of ``big`` that draws ``sharded_rows`` rows (its shards fan out as Ray tasks): time, identity."""
    demo = work / "demo"
    demo.mkdir()
    for name in ("synthspec.yml", "specs", "data"):
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(REPO / name, demo / name)
    cases = [("demo (UCI Adult)", demo, demo / "demo.duckdb", 32_561, 32_561)]
    if big:
        cases.append(("Adult-shaped", big, big / "wh.duckdb", big_rows, big_rows))
        if sharded_rows:
            sharded = variant_project(big, work / "sharded", rows=sharded_rows)
            cases.append((f"Adult-shaped, {sharded_rows // SHARD_ROWS} shards drawn", sharded, sharded / "wh.duckdb", big_rows, sharded_rows))
    cluster = RayCluster(work)
    extra = ["--ray-address", cluster.address] if "--ray-address" in cli_help("apply") else []
    out = []
    try:
        for label, project, db, rows, drawn in cases:
            one = run_apply(project, f"ray {label} --jobs 1", drawn, timeout, "--force", "--jobs", "1")
            one_hash = synthetic_hashes(db)
            ray = run_apply(project, f"ray {label} --executor ray", drawn, timeout, "--force", "--executor", "ray", *extra, env=cluster.env)
            out.append({"label": label, "rows": rows, "drawn": drawn, "jobs1": one, "ray": ray,
                        "identical": one_hash == synthetic_hashes(db)})
    finally:
        cluster.stop()
    return out


# ---------------------------------------------------------------- rendering

def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} MB"


def _num(value: Any, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _stage(run: ApplyRun, key: str) -> str:
    value = run.timings.get(key)
    return "—" if value is None else f"{value:.1f} s"


def _wall(run: dict[str, Any]) -> str:
    text = f"{run['wall_s']:.1f} s"
    return text if run["code"] == 0 else f"{text} (exit {run['code']})"


def scaling_table(applies: list[ApplyRun], sdv: dict[int, dict[str, Any]]) -> list[str]:
    stage_cols = [f"{s} s" for s in STAGES]
    lines = ["| rows | synthspec `apply` wall | peak RSS | " + " | ".join(stage_cols) + " | quality_score | dcr_share | status "
             "| SDV GC fit | SDV GC sample | SDV peak RSS | apply / SDV fit |",
             "|" + "---|" * (10 + len(stage_cols))]
    for a in applies:
        s = sdv.get(a.rows, {})
        fit = s.get("fit_s")
        stages = [_num(a.timings.get(f"{st}_s"), 1) + (f" ({a.timings[f'{st}_peak_mb']:,.0f} MB)" if f"{st}_peak_mb" in a.timings else "")
                  for st in STAGES]
        sdv_cells = ([f"{fit:.1f} s ({s['rows']:,} rows)", f"{s['sample_s']:.1f} s", _mb(s["peak_mb"])] if fit is not None
                     else [s.get("error", "not run (> --sdv-max-rows)")] + ["—", "—"])
        ratio = f"{a.run['wall_s'] / fit:.2f}×" if fit else "—"
        lines.append(f"| {a.rows:,} | **{_wall(a.run)}** | {_mb(a.run['peak_mb'])} | " + " | ".join(stages) +
                     f" | {_num(a.metrics.get('quality_score'))} | {_num(a.metrics.get('dcr_share'))} | {a.status} | " +
                     " | ".join(sdv_cells) + f" | {ratio} |")
    return lines


def training_table(runs: list[tuple[ApplyRun, dict[str, float]]], trtr: dict[str, float]) -> list[str]:
    lines = ["| setting | apply wall | peak RSS | fit s | quality_score | accuracy (uni / bi) | TSTR AUC income |",
             "|---|---|---|---|---|---|---|"]
    for a, ev in runs:
        lines.append(f"| {a.label} | {_wall(a.run)} | {_mb(a.run['peak_mb'])} | {_num(a.timings.get('fit_s'), 1)} | "
                     f"{_num(a.metrics.get('quality_score'))} | {_num(ev.get('accuracy'))} ({_num(ev.get('univariate'))} / "
                     f"{_num(ev.get('bivariate'))}) | {_num(ev.get('tstr_auc'))} |")
    lines.append(f"| real rows instead of synthetic (same generator, third seed) | — | — | — | — | {_num(trtr['accuracy'])} "
                 f"({_num(trtr['univariate'])} / {_num(trtr['bivariate'])}) | {_num(trtr['tstr_auc'])} |")
    return lines


def sample_table(samples: list[tuple[str, dict[str, Any]]], rows: int) -> list[str]:
    lines = ["| output | wall | peak RSS | rows | exact | content hash |", "|---|---|---|---|---|---|"]
    for label, s in samples:
        count = "—" if s.get("rows") is None else f"{s['rows']:,}"
        lines.append(f"| {label} | {_wall(s)} | {_mb(s['peak_mb'])} | {count} | "
                     f"{s.get('rows') == rows} | `{s.get('hash', s.get('error', '—'))}` |")
    return lines


def ray_table(runs: list[dict[str, Any]]) -> list[str]:
    lines = ["| project | source rows | rows drawn | `--jobs 1` | sample stage | `--executor ray` (2 nodes × 1 CPU) | sample stage | speed-up | identical rows |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        one, ray = r["jobs1"], r["ray"]
        lines.append(f"| {r['label']} | {r['rows']:,} | {r['drawn']:,} | {_wall(one.run)} | {_stage(one, 'sample_s')} | "
                     f"{_wall(ray.run)} | {_stage(ray, 'sample_s')} | {one.run['wall_s'] / ray.run['wall_s']:.2f}× | {r['identical']} |")
    return lines


def write_section(path: Path, section: str) -> None:
    """Replace this benchmark's marked section of ``path`` (append it when there is none)."""
    replace_section(path, MARKER, section)


def replace_section(path: Path, marker: str, section: str) -> None:
    """Replace the section between two ``marker`` lines of ``path`` (``section`` starts and ends
    with the marker), or append it when there is none."""
    text = path.read_text() if path.exists() else ""
    if marker in text:
        before, _, rest = text.partition(marker)
        _, _, after = rest.partition(marker)
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)



def emit(lines: list[str], marker: str, out: Path | None) -> None:
    """Print a benchmark's section (``lines``, between two ``marker`` lines) and, with
    ``out``, replace its section of that Markdown file."""
    section = "\n".join(lines)
    print(section)
    if out:
        replace_section(out, marker, section)


# ---------------------------------------------------------------- main

def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help="source sizes, comma separated (default 100000,1000000,10000000; --quick: 20000,50000)")
    parser.add_argument("--quick", action="store_true", help="20k/50k rows, 300k sampled, SDV on 20k: checks the script in ~3 min")
    parser.add_argument("--sdv-max-rows", type=int, default=1_000_000, help="SDV runs on sizes up to this many rows")
    parser.add_argument("--training-size", type=int, help="size of the default-vs-all-rows comparison (default: 1M, or the largest size below)")
    parser.add_argument("--all-rows-model", help="JSON merged into the spec's model to train on every row "
                        "(default: {\"max_training_rows\": 0} when the build has that key; given: always run)")
    parser.add_argument("--sample-rows", type=int, default=10_000_000)
    parser.add_argument("--eval-rows", type=int, default=200_000, help="synthetic rows (seeded sample) for accuracy and TSTR")
    parser.add_argument("--real-rows", type=int, default=100_000, help="rows of the separate real sample")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds before one measured command is killed")
    parser.add_argument("--no-sdv", action="store_true")
    parser.add_argument("--no-ray", action="store_true")
    parser.add_argument("--ray-sample-rows", type=int, default=10_000_000,
                        help="rows drawn by the sharded Ray case (0: skip it; --quick: 600,000)")
    parser.add_argument("--out", type=Path, help="Markdown file whose bench_scale section is replaced")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.sample_rows, args.sdv_max_rows = args.sizes or "20000,50000", 300_000, min(args.sdv_max_rows, 20_000)
        args.eval_rows, args.real_rows = min(args.eval_rows, 20_000), min(args.real_rows, 20_000)
        args.ray_sample_rows = min(args.ray_sample_rows, 600_000)
    args.sizes = args.sizes or "100000,1000000,10000000"
    args.size_list = sorted(int(s) for s in args.sizes.split(","))
    if args.training_size is None:
        args.training_size = max([s for s in args.size_list if s <= 1_000_000] or args.size_list[:1])
    if args.training_size not in args.size_list:
        parser.error(f"--training-size {args.training_size} is not one of --sizes {args.sizes}")
    return args


def main() -> None:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="synthspec-bench-scale-"))
    started = time.perf_counter()
    try:
        applies, sdv, projects = [], {}, {}
        log(f"1/4 scaling: sizes {args.size_list}")
        for rows in args.size_list:
            projects[rows] = make_project(work / f"n{rows}", rows)
            applies.append(run_apply(projects[rows], f"{rows:,} rows", rows, args.timeout))
            if not args.no_sdv and rows <= args.sdv_max_rows:
                sdv[rows] = run_sdv(projects[rows], work, rows, args.timeout)
            if rows not in (args.training_size, *[r for r in args.size_list if r <= 1_000_000][-1:]):
                shutil.rmtree(projects.pop(rows), ignore_errors=True)  # keep the disk small (10M: GBs)

        log(f"2/4 training on big tables: {args.training_size:,} rows")
        size = args.training_size
        real = real_sample(args.real_rows, HOLDOUT_SEED)
        reference = real_sample(args.eval_rows, REFERENCE_SEED)  # real rows in place of synthetic: the ceiling
        trtr = {**accuracy(real, reference), "tstr_auc": tstr(reference, real, "income")}
        del reference
        train_rows: list[tuple[ApplyRun, dict[str, float]]] = []
        default = next(a for a in applies if a.rows == size)
        cap = training_cap_label()
        train_rows.append((ApplyRun(f"default ({cap})" if cap else "default (no training-row cap in this build)",
                                    size, default.run, default.timings, default.metrics, default.status),
                           evaluate_published(projects[size], real, args.eval_rows) if default.run["code"] == 0 else {}))
        setting = json.loads(args.all_rows_model or '{"max_training_rows": 0}')
        if cap or args.all_rows_model:
            full = variant_project(projects[size], work / "all-rows", model=setting)
            run = run_apply(full, f"all rows (`model: {json.dumps(setting)}`)", size, args.timeout, "--force")
            train_rows.append((run, evaluate_published(full, real, args.eval_rows) if run.run["code"] == 0 else {}))
            shutil.rmtree(full, ignore_errors=True)

        log(f"3/4 sample {args.sample_rows:,} rows")
        sample_project = projects[[r for r in args.size_list if r <= 1_000_000][-1]]
        samples = [(f"Parquet, run {i}", run_sample(sample_project, args.sample_rows, work / f"big{i}.parquet", args.timeout))
                   for i in (1, 2)]
        duckdb_out = ".duckdb" in cli_help("sample")
        if duckdb_out:
            samples.append(("DuckDB file", run_sample(sample_project, args.sample_rows, work / "big.duckdb", args.timeout)))

        ray_runs: list[dict[str, Any]] = []
        ray_available = "--executor" in cli_help("apply")
        if args.no_ray or not ray_available:
            log("4/4 ray: skipped (" + ("--no-ray" if args.no_ray else "`apply --help` lists no --executor") + ")")
        else:
            log("4/4 ray: 2-node local cluster")
            ray_runs = run_ray(work, projects[size], size, args.ray_sample_rows, args.timeout)

        section = render(args, applies, sdv, train_rows, trtr, cap, setting, samples, duckdb_out, ray_runs, ray_available,
                          time.perf_counter() - started)
        print(section)
        if args.out:
            write_section(args.out, section)
        log(f"done in {time.perf_counter() - started:.0f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def render(args: argparse.Namespace, applies: list[ApplyRun], sdv: dict[int, dict[str, Any]],
           train_rows: list[tuple[ApplyRun, dict[str, float]]], trtr: dict[str, float], cap: str | None,
           setting: dict[str, Any], samples: list[tuple[str, dict[str, Any]]], duckdb_out: bool,
           ray_runs: list[dict[str, Any]], ray_available: bool, total_s: float) -> str:
    """The Markdown section, gates spelled out (PASS/FAIL), between this benchmark's markers."""
    command = " ".join(["python tests/benchmarks/bench_scale.py", *sys.argv[1:]])  # exactly what ran
    lines = [MARKER, f"## Scale: Adult-shaped tables of {' / '.join(f'{n:,}' for n in args.size_list)} rows", "",
             f"Generated by `{command}` on {time.strftime('%Y-%m-%d')} in {total_s / 60:.1f} min "
             f"({platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; one run, timings noisy on a shared machine).", "",
             "### `apply` and SDV GaussianCopula by size", "", *scaling_table(applies, sdv), ""]
    gates = []
    for a in applies:
        fit = sdv.get(a.rows, {}).get("fit_s")
        if a.rows == 1_000_000 and fit:
            gates.append(f"- **Gate 1M rows: apply {a.run['wall_s']:.1f} s ≤ 0.2 × SDV fit ({0.2 * fit:.1f} s): "
                         f"{'PASS' if a.run['wall_s'] <= 0.2 * fit else 'FAIL'}; peak RSS {a.run['peak_mb']:,.0f} MB ≤ 2,048 MB: "
                         f"{'PASS' if a.run['peak_mb'] <= 2048 else 'FAIL'}.**")
        if a.rows >= 10_000_000:
            gates.append(f"- **Gate {a.rows:,} rows: apply completes: {'PASS' if a.run['code'] == 0 else 'FAIL'}.**")
    lines += gates + [
        "- Source: bootstrap of data/adult.parquet with age ± 2 years and fnlwgt ± 5%, generated in DuckDB in batches of "
        f"{BATCH:,} rows; project drafted by `synthspec init --from-duckdb`, `apply` with those defaults in a fresh CLI process.",
        "- Peak RSS: the largest single process of the measured command (getrusage RUSAGE_CHILDREN of a wrapper running "
        "only that command). Stage times (and per-stage peak RSS so far, when the run records `<stage>_peak_mb`) come "
        "from target/run_results.json.",
        f"- SDV: GaussianCopulaSynthesizer with defaults, fit on the same training rows as synthspec's model (the training "
        f"split, sizes up to {args.sdv_max_rows:,}), sampling as many rows, in its own process.", "",
        f"### Training on big tables ({args.training_size:,} rows)", ""]
    if len(train_rows) > 1 and train_rows[0][0].metrics.get("quality_score") is not None and train_rows[1][0].metrics.get("quality_score") is not None:
        delta = train_rows[0][0].metrics["quality_score"] - train_rows[1][0].metrics["quality_score"]
        lines.append(f"- **Gate: the default's quality_score at most 0.005 below the all-rows fit's: Δ = {delta:+.4f}: "
                     f"{'PASS' if delta >= -0.005 else 'FAIL'}.**")
    elif len(train_rows) == 1:
        lines.append("- This build has no `model.max_training_rows`: every `apply` trains on all rows, so there is nothing to compare.")
    lines += ["", *training_table(train_rows, trtr), "",
              f"- Accuracy: 1 − total variation distance of each column and each column pair (numbers in 10 quantile bins of the "
              f"real column), averaged; overall = mean of the two. Synthetic: a seeded {args.eval_rows:,}-row sample of the published view; "
              f"real: a separate {args.real_rows:,}-row draw of the same generator (another seed). The last row puts a third real draw "
              "of the same size in place of the synthetic sample: the ceiling at this sample size.",
              "- TSTR AUC: HistGradientBoostingClassifier(random_state=0) trained on the synthetic sample, ROC AUC of `income` on the real draw.",
              "", f"### `synthspec sample adult --rows {args.sample_rows:,}`", "", *sample_table(samples, args.sample_rows), ""]
    parquet = [s for label, s in samples if label.startswith("Parquet")]
    same = len(parquet) == 2 and parquet[0].get("hash") is not None and parquet[0].get("hash") == parquet[1].get("hash")
    lines += [f"- Same seed, same rows (two Parquet runs, content hash = sum of DuckDB `hash(row)`): {same}.",
              f"- **Gate: peak RSS ≤ 1,536 MB: {'PASS' if all(s['peak_mb'] <= 1536 and s['code'] == 0 for _, s in samples) else 'FAIL'}.**",
              "- Drawn from the cached model of the largest project up to 1M rows." +
              ("" if duckdb_out else " `sample --out x.duckdb` is not available in this build: DuckDB output not measured."), "",
              "### `apply --executor ray`", ""]
    if ray_runs:
        lines += [*ray_table(ray_runs), "",
                  "- Cluster: `ray start --head --num-cpus 1` + `ray start --address … --num-cpus 1` on this machine (2 nodes); "
                  "`apply --force` each time; identical = the same content hash of every published view.",
                  f"- The sharded case is the Adult-shaped project with `rows: {args.ray_sample_rows:,}` in its spec: "
                  f"{args.ray_sample_rows // SHARD_ROWS} shards of {SHARD_ROWS:,} rows, each a Ray task writing a Parquet part, "
                  "loaded into DuckDB by the parent; `--jobs 1` draws the shards one after another. Both nodes share this "
                  "machine's 2 cores: a cluster of separate machines adds cores, this one only spreads the same two."]
    else:
        lines.append("- Not measured: " + ("--no-ray." if ray_available else "`apply --help` lists no `--executor` in this build."))
    lines += ["", f"- Reproduce: `{command}`.", MARKER]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
