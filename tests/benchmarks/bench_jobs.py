"""`synthspec apply --jobs 2` vs `--jobs 1` on two independent tables, in one run.

Two independent tables of UCI Adult's schema, 60,000 rows each: `raw.adult_2023` and
`raw.adult_2024`, two bootstrap resamples of Adult standing in for two yearly extracts. Both use
SDV's GaussianCopula (a fit of well over 10 s each here), drafted by `synthspec init` into one
DuckDB file. Each setting runs `apply --force` in a fresh CLI process, twice (median reported); the
published rows of both settings are compared for identity.

    python tests/benchmarks/bench_jobs.py --out BENCHMARKS.md   # replaces its section there
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = ("adult_2023", "adult_2024")
ROWS = 60_000
SOURCE = REPO / "data" / "adult.parquet"
MARKER = "<!-- bench_jobs -->"


def setup(root: Path) -> None:
    import duckdb
    import pandas as pd

    adult = pd.read_parquet(SOURCE)
    frames = {t: adult.sample(n=ROWS, replace=True, random_state=int(t[-4:])).reset_index(drop=True) for t in DATA}
    with duckdb.connect(str(root / "wh.duckdb")) as con:
        con.execute("CREATE SCHEMA raw")
        for table, frame in frames.items():
            con.register("frame", frame)
            con.execute(f"CREATE TABLE raw.{table} AS SELECT * FROM frame")
            con.unregister("frame")
    subprocess.run(["synthspec", "init", "--from-duckdb", "wh.duckdb", "--schema", "raw", "-q"], cwd=root, check=True,
                   stdout=subprocess.DEVNULL)
    project = root / "synthspec.yml"
    text = project.read_text().replace("model: {type: auto, seed: 42}", "model: {type: gaussian_copula, seed: 42}")
    # GaussianCopula scores about 0.81 on Adult: the gate here is not the point.
    project.write_text(text.replace("quality_score: {min: 0.85}", "quality_score: {min: 0.5}"))


def snapshot(root: Path) -> dict[str, str]:
    import duckdb

    with duckdb.connect(str(root / "wh.duckdb"), read_only=True) as con:
        return {t: hashlib.sha256(con.sql(f"SELECT * FROM synthetic.{t} ORDER BY ALL").df().to_csv().encode()).hexdigest()
                for t in DATA}


def run(root: Path, jobs: int) -> tuple[float, dict]:
    start = time.perf_counter()
    subprocess.run(["synthspec", "apply", "--force", "-q", "--jobs", str(jobs)], cwd=root, check=True,
                   env={**os.environ, "DO_NOT_TRACK": "1"})
    wall = time.perf_counter() - start
    results = json.loads((root / "target" / "run_results.json").read_text())
    return wall, {t["table"]: t["timings"] for t in results["tables"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, help="Markdown file whose bench_jobs section is replaced")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    try:
        setup(root)
        walls: dict[int, list[float]] = {1: [], 2: []}
        timings: dict[int, dict] = {}
        hashes: dict[int, dict[str, str]] = {}
        for _ in range(args.repeat):
            for jobs in (1, 2):
                wall, timings[jobs] = run(root, jobs)
                walls[jobs].append(wall)
                hashes[jobs] = snapshot(root)
        one, two = statistics.median(walls[1]), statistics.median(walls[2])
        fits = {jobs: {t: round(v.get("fit_s", 0.0), 1) for t, v in timings[jobs].items()} for jobs in (1, 2)}
        lines = [
            MARKER,
            "## `apply --jobs`: two independent tables",
            "",
            f"| setting | wall time (median of {args.repeat}) | runs |",
            "|---|---|---|",
            f"| `apply --force --jobs 1` | {one:.1f} s | {', '.join(f'{w:.1f}' for w in walls[1])} |",
            f"| `apply --force --jobs 2` | **{two:.1f} s** | {', '.join(f'{w:.1f}' for w in walls[2])} |",
            "",
            f"- Speed-up: **{one / two:.2f}×** (gate ≥ 1.3×: {'PASS' if one / two >= 1.3 else 'FAIL'}).",
            f"- Tables: raw.adult_2023 and raw.adult_2024 ({ROWS:,} rows × 15 columns each, bootstrap resamples of UCI Adult), model gaussian_copula (SDV);"
            f" fit time of each (s) with `--jobs 1`: {json.dumps(fits[1])}, with `--jobs 2`: {json.dumps(fits[2])}"
            " (the first fit in a process includes importing SDV).",
            f"- Identical published rows with 1 and 2 jobs: {hashes[1] == hashes[2]}.",
            f"- Machine: {os.cpu_count()} cores; with `--jobs 2` each worker process gets {max(1, (os.cpu_count() or 1) // 2)} thread(s).",
            "- Reproduce: `python tests/benchmarks/bench_jobs.py --out BENCHMARKS.md`.",
            MARKER,
        ]
        section = "\n".join(lines)
        print(section)
        if args.out:
            from bench_scale import replace_section  # this script's folder is on sys.path

            replace_section(args.out, MARKER, section)
        if hashes[1] != hashes[2]:
            sys.exit("outputs differ between --jobs 1 and --jobs 2")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
