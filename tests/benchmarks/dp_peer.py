"""An established DP synthesizer (smartnoise-synth's MST or AIM) on the same training rows as
bench_dp.py, run by a Python that has smartnoise-synth (it cannot share synthspec's environment:
its pinned opacus conflicts with mostlyai-engine's). Reads a training Parquet and writes the
synthetic rows as Parquet; prints {"fit_s", "sample_s", "peak_mb"} as JSON.

    python dp_peer.py train.parquet out.parquet EPSILON mst|aim DOMAINS_JSON BINS

Numerical columns are binned on their *declared public* ranges (DOMAINS_JSON: column ->
[low, high]) before fitting: one bin for the low bound itself (a census "none": capital gain 0)
and BINS - 1 equal-width bins above it; values are drawn back uniformly within the bin
(integers rounded): MST and AIM model discrete domains, and binning on public bounds costs
no privacy budget. Category lists are treated as public, as synthspec's bench declares them."""

from __future__ import annotations

import json
import resource
import sys
import time
import warnings

import numpy as np
import pandas as pd

warnings.simplefilter("ignore")


def main() -> None:
    train_path, out_path, epsilon, name, domains_json, bins = sys.argv[1:7]
    epsilon, bins = float(epsilon), int(bins)
    domains = json.loads(domains_json)
    train = pd.read_parquet(train_path)
    frame = pd.DataFrame(index=train.index)
    for c in train.columns:
        if c in domains:
            lo, hi = domains[c]
            x = train[c].astype(float).clip(lo, hi)
            edges = np.linspace(lo, hi, bins)  # bin 0 is the low bound itself; bins 1.. split (lo, hi]
            frame[c] = np.where(x <= lo, 0, np.clip(np.searchsorted(edges, x, side="left"), 1, bins - 1)).astype(int)
        else:
            frame[c] = train[c].astype(object).where(train[c].notna(), "<null>").astype(str)
    from snsynth import Synthesizer

    synth = Synthesizer.create(name, epsilon=epsilon, verbose=False)
    start = time.perf_counter()
    synth.fit(frame, categorical_columns=list(frame.columns), preprocessor_eps=0.0)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    out = synth.sample(len(train))
    sample_s = time.perf_counter() - start
    rng = np.random.default_rng(0)  # only places values inside their drawn bin
    for c in train.columns:
        if c in domains:
            lo, hi = domains[c]
            width = (hi - lo) / (bins - 1)
            drawn = out[c].astype(int).to_numpy()
            values = np.where(drawn == 0, lo, lo + (drawn - 1 + rng.random(len(out))) * width)
            integer = bool((train[c].dropna() == train[c].dropna().round()).all())
            out[c] = values.round() if integer else values
        else:
            out[c] = out[c].astype(object).where(out[c] != "<null>", None)
    out.to_parquet(out_path)
    print(json.dumps({"fit_s": fit_s, "sample_s": sample_s, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
