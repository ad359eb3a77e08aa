"""Empirical privacy audit of the DP accessor and of ``dp_bayes`` (black box, many runs).

What is audited: for neighbouring tables D and D' = D plus one row (the add/remove relation of
``synthspec.privacy.dp``), epsilon-DP promises P[M(D') in E] <= e^epsilon * P[M(D) in E] for every
output event E, and the same with D and D' swapped. We run the mechanism many times on each
table, count how often an event happens, and turn the counts into a lower bound on the epsilon
the mechanism really has: ln(p_lower(D') / p_upper(D)), with one-sided Clopper-Pearson bounds,
over the event and its complement in both directions. A bound above the budget proves a leak
(wrong sensitivity, noise too small, an unnoised or uncharged statistic); a bound below it is
what a correct mechanism gives. Three mechanisms:

* ``noisy_marginal`` (one noisy contingency table, the building block of the model): the event
  "the noisy count of the changed cell is at least its count in D'" is the worst case of the
  discrete Laplace mechanism, so the bound comes close to epsilon (about 0.9 of it here).
* ``exponential_choice`` with an L1 score of sensitivity 1.
* a whole ``dp_bayes`` fit (1-way histograms, private selection, 2-way marginal, mirror
  descent): the event is on the fitted model's estimate of the changed cell. Composition makes
  this bound loose; it guards the end-to-end path (no exact count may reach the model).
"""

from __future__ import annotations

import math
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta

from synthspec.models.base import Budget, ModelColumn
from synthspec.models.dp_bayes import DPBayesSynthesizer
from synthspec.models.params import DPBayesParams
from synthspec.privacy.dp import Bins, PrivateTable

pytestmark = pytest.mark.integration

COLUMNS = [ModelColumn(n, "categorical", values=(False, True), public_domain=True) for n in ("a", "b")]
BINS = [Bins(values=(False, True)), Bins(values=(False, True))]
D = pd.DataFrame({"a": [False, False, True, True, True], "b": [False, True, False, True, False]}, dtype=object)
D_PRIME = pd.concat([D, pd.DataFrame({"a": [True], "b": [True]}, dtype=object)], ignore_index=True)
EXACT_CELL = 1  # rows (True, True) in D; D' has 2
# 99.9999% one-sided confidence per bound: a correct, tight mechanism fails about once in 10^6.
ALPHA = 1e-6


def epsilon_lower_bound(hits: int, runs: int, hits_prime: int, runs_prime: int, alpha: float = ALPHA) -> float:
    """Largest ln(p_lower / p_upper) over the event, its complement and both directions."""

    def lower(k: int, n: int) -> float:
        return 0.0 if k == 0 else float(beta.ppf(alpha, k, n - k + 1))

    def upper(k: int, n: int) -> float:
        return 1.0 if k == n else float(beta.ppf(1 - alpha, k + 1, n - k))

    bounds = []
    for k1, n1, k2, n2 in ((hits_prime, runs_prime, hits, runs), (hits, runs, hits_prime, runs_prime)):
        for a, b in ((k1, k2), (n1 - k1, n2 - k2)):  # the event and its complement
            lo, hi = lower(a, n1), upper(b, n2)
            bounds.append(math.log(lo / hi) if lo > 0 else -math.inf)
    return max(bounds)


def _marginal_events(frame: pd.DataFrame, runs: int, epsilon: float) -> int:
    hits = 0
    for _ in range(runs):  # one run = one training run's accessor and budget
        table = PrivateTable(frame, COLUMNS, Budget(epsilon))
        hits += int(table.noisy_marginal(["a", "b"], BINS, epsilon)[1, 1] >= EXACT_CELL + 1)
    return hits


def _choice_events(frame: pd.DataFrame, runs: int, epsilon: float) -> int:
    bins = {"a": BINS[0], "b": BINS[1]}

    def score(i: int, counts: np.ndarray) -> float:
        # Candidate 0 scores the (True, True) count, candidate 1 a constant: sensitivity 1.
        return float(counts[1, 1]) if i == 0 else 1.5

    hits = 0
    for _ in range(runs):
        table = PrivateTable(frame, COLUMNS, Budget(epsilon))
        hits += int(table.exponential_choice([["a", "b"], ["a"]], bins, score, 1.0, epsilon) == 0)
    return hits


def _model_events(frame: pd.DataFrame, runs: int, epsilon: float) -> int:
    params = DPBayesParams(rounds=1, iterations=3, final_iterations=15)
    hits = 0
    for _ in range(runs):
        model = DPBayesSynthesizer(COLUMNS, params, seed=0, budget=Budget(epsilon))
        model.fit(PrivateTable(frame, COLUMNS, Budget(epsilon)))
        assert model.epsilon_spent is not None and model.epsilon_spent <= epsilon
        assert model.rows_estimate is not None
        # The model's estimate of the (True, True) count, read off a seeded sample (so a
        # deterministic function of the fitted model, like every table it publishes).
        rows = model.sample(1000, seed=0)
        share = float(((rows["a"] == True) & (rows["b"] == True)).mean())  # noqa: E712
        hits += int(share * model.rows_estimate >= EXACT_CELL + 0.5)
    return hits


def _audit(job: str, runs: int, epsilon: float) -> tuple[int, int]:
    fn = {"marginal": _marginal_events, "choice": _choice_events, "model": _model_events}[job]
    return fn(D, runs, epsilon), fn(D_PRIME, runs, epsilon)


def test_no_epsilon_lower_bound_above_the_budget() -> None:
    epsilon = 1.0
    plan = {"marginal": 20_000, "choice": 20_000, "model": 2_000}
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = {job: pool.submit(_audit, job, runs, epsilon) for job, runs in plan.items()}
        results = {job: f.result() for job, f in futures.items()}
    report = {}
    for job, (hits, hits_prime) in results.items():
        report[job] = epsilon_lower_bound(hits, plan[job], hits_prime, plan[job])
        print(f"{job}: P[E|D]={hits / plan[job]:.4f} P[E|D']={hits_prime / plan[job]:.4f} "
              f"epsilon lower bound {report[job]:.3f} (budget {epsilon})")  # fmt: skip
    assert all(lb <= epsilon for lb in report.values()), report
    # The audit has power: the tight mechanism's bound is near its epsilon, so a leak would show.
    assert report["marginal"] > 0.8 * epsilon


def test_the_audit_catches_a_mechanism_with_too_little_noise() -> None:
    """Sanity check of the statistics: the same event on a mechanism at 2 * epsilon fails."""
    runs, epsilon = 20_000, 1.0
    hits, hits_prime = _marginal_events(D, runs, 2 * epsilon), _marginal_events(D_PRIME, runs, 2 * epsilon)
    assert epsilon_lower_bound(hits, runs, hits_prime, runs) > epsilon
