"""The DP accessor (``synthspec.privacy.dp``) and the ``dp_bayes`` model: fast checks."""

from __future__ import annotations

import secrets
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from synthspec.models.base import Budget, ModelColumn
from synthspec.models.dp_bayes import DPBayesSynthesizer
from synthspec.models.params import DPBayesParams
from synthspec.models.registry import get_model, is_differentially_private
from synthspec.privacy import dp
from synthspec.privacy.dp import Bins, BudgetExceededError, DomainNotPublicError, PrivateTable

COLUMNS = [
    ModelColumn("age", "numerical", integer=True, low=18, high=90, public_domain=True),
    ModelColumn("income", "numerical", low=0, high=200_000, public_domain=True),
    ModelColumn("band", "categorical", values=("old", "young"), public_domain=True),
    ModelColumn("city", "categorical", values=("Oslo", "Lima", "Pune"), public_domain=True),
    ModelColumn("member", "categorical", values=(False, True), public_domain=True),
]
# Small and quick: the tests check the contract, not utility.
FAST = DPBayesParams(rounds=3, iterations=10, final_iterations=30)


def make_frame(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, n).astype(np.float64)
    income = np.clip(age * 1000 + rng.normal(0, 5000, n), 0, None)
    income[rng.random(n) < 0.1] = np.nan
    band = np.where(age >= 50, "old", "young").astype(object)
    city = rng.choice(np.array(["Oslo", "Lima", "Pune"], dtype=object), n)
    city[rng.random(n) < 0.1] = None
    member = (rng.random(n) < 0.3).astype(object)
    return pd.DataFrame({"age": age, "income": income, "band": band, "city": city, "member": member})


def fitted(epsilon: float = 2.0, params: DPBayesParams = FAST) -> tuple[DPBayesSynthesizer, PrivateTable]:
    table = PrivateTable(make_frame(), COLUMNS, Budget(epsilon))
    model = DPBayesSynthesizer(COLUMNS, params, seed=7, budget=Budget(epsilon))
    model.fit(table)
    return model, table


@pytest.fixture(scope="module")
def model() -> DPBayesSynthesizer:
    return fitted()[0]


# -- the accessor -----------------------------------------------------------------------------
def test_accessor_charges_before_computing_and_refuses_overspending() -> None:
    table = PrivateTable(make_frame(), COLUMNS, Budget(1.0))
    table.noisy_count(0.6)
    with pytest.raises(BudgetExceededError, match="remains"):
        table.noisy_marginal(["band"], [Bins(values=("old", "young"))], 0.5)
    assert table.spent() == pytest.approx((0.6, 0.0))
    table.noisy_marginal(["band"], [Bins(values=("old", "young"))], 0.4)
    assert table.spent()[0] == pytest.approx(1.0)
    with pytest.raises(BudgetExceededError):
        table.noisy_count(0.01)
    with pytest.raises(ValueError):
        table.noisy_count(0.0)


def test_accessor_exposes_no_rows_length_or_exact_statistic() -> None:
    frame = make_frame()
    table = PrivateTable(frame, COLUMNS, Budget(1000.0))
    with pytest.raises(TypeError):
        len(table)  # type: ignore[arg-type]
    public = {a for a in dir(table) if not a.startswith("_")}
    assert public == {"budget", "columns", "spent", "remaining", "check_public", "noisy_count",
                      "noisy_marginal", "exponential_choice"}  # fmt: skip
    assert "1500" not in repr(table)
    counts = [table.noisy_count(1.0) for _ in range(30)]
    assert len(set(counts)) > 3 and any(c != len(frame) for c in counts)
    exact = np.bincount((frame["band"] == "young").to_numpy(np.int64), minlength=2)
    noisy = [table.noisy_marginal(["band"], [Bins(values=("old", "young"))], 1.0) for _ in range(10)]
    assert any(not np.array_equal(m[:2], exact) for m in noisy)


def test_score_tables_are_read_only_and_only_the_choice_leaves() -> None:
    table = PrivateTable(make_frame(), COLUMNS, Budget(100.0))
    bins = {"band": Bins(values=("old", "young")), "member": Bins(values=(False, True))}

    def score(i: int, counts: np.ndarray) -> float:
        with pytest.raises(ValueError):
            counts[0] = 0  # exact tables cannot be altered by a score function
        return 1000.0 if i == 1 else 0.0

    chosen = table.exponential_choice([["band"], ["member"]], bins, score, 1.0, 50.0)
    assert chosen == 1 and table.spent()[0] == pytest.approx(50.0)


def test_mechanisms_use_the_secure_generator_and_a_private_accountant() -> None:
    mech = dp._Geometric(epsilon=1.0, sensitivity=1)
    assert isinstance(mech._rng, secrets.SystemRandom)
    dp._require_secure(mech)
    with pytest.raises(RuntimeError):
        dp._require_secure(dp._Geometric(epsilon=1.0, sensitivity=1, random_state=0))
    table = PrivateTable(make_frame(), COLUMNS, Budget(1.0))
    table.noisy_count(0.5)
    assert dp.BudgetAccountant._default is None  # diffprivlib's global default is never set or used
    assert table._accountant.spent_budget == [(0.5, 0.0)]


def test_privacy_leak_warning_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    table = PrivateTable(make_frame(), COLUMNS, Budget(10.0))

    def leaky(self: object, value: int) -> int:
        warnings.warn("bounds derived from the data", dp.PrivacyLeakWarning, stacklevel=1)
        return value

    monkeypatch.setattr(dp._Geometric, "randomise", leaky)
    with pytest.raises(dp.PrivacyLeakWarning):
        table.noisy_count(1.0)


def test_domains_must_be_declared_public() -> None:
    drafted = [*COLUMNS[:3], ModelColumn("city", "categorical", values=("Oslo", "Lima", "Pune")),
               ModelColumn("member", "categorical", values=(False, True), public_domain=True)]  # fmt: skip
    table = PrivateTable(make_frame(), drafted, Budget(1.0))
    model = DPBayesSynthesizer(drafted, FAST, seed=0, budget=Budget(1.0))
    with pytest.raises(DomainNotPublicError, match="'city'"):
        model.fit(table)
    assert table.spent()[0] == 0.0  # refused before any query
    missing = [ModelColumn("age", "numerical", low=18, public_domain=True), *COLUMNS[1:]]
    with pytest.raises(DomainNotPublicError, match="'age'"):
        DPBayesSynthesizer(missing, FAST, 0, Budget(1.0)).fit(PrivateTable(make_frame(), missing, Budget(1.0)))
    with pytest.raises(DomainNotPublicError, match="'age'"):
        PrivateTable(make_frame(), missing, Budget(1.0)).noisy_marginal(["age"], [Bins(edges=(18.0, 90.0))], 0.1)
    with pytest.raises(TypeError):
        DPBayesSynthesizer(COLUMNS, FAST, 0, Budget(1.0)).fit(make_frame())  # type: ignore[arg-type]


def test_bins_clip_ranges_and_send_unknown_categories_to_the_null_cell() -> None:
    num = Bins(edges=(0.0, 1.0, 2.0))
    assert num.codes(np.array([-5.0, 0.5, 1.0, 2.0, 9.0, np.nan])).tolist() == [0, 0, 1, 1, 1, 2]
    cat = Bins(values=("a", True))
    assert cat.codes(np.array(["a", "b", None, True], dtype=object)).tolist() == [0, 2, 2, 1]
    assert Bins(values=("a", "b", "c"), merge=(0, 1, 1, 1)).size == 2


# -- the model ----------------------------------------------------------------------------------
def test_registered_with_capabilities_and_strict_params() -> None:
    assert get_model("dp_bayes") is DPBayesSynthesizer
    assert DPBayesSynthesizer.differentially_private and is_differentially_private("dp_bayes")
    assert DPBayesSynthesizer.description
    with pytest.raises(ValidationError):
        DPBayesParams(k=2)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        DPBayesParams(degree=5)
    assert all(f.description for f in DPBayesParams.model_fields.values())


def test_fit_spends_at_most_the_budget() -> None:
    model, table = fitted(epsilon=0.5)
    assert model.epsilon_spent == pytest.approx(table.spent()[0])
    assert 0.5 * 0.99 < model.epsilon_spent <= 0.5  # type: ignore[operator]
    assert model.delta_spent == 0.0
    assert model.rows_estimate is not None and abs(model.rows_estimate - 1500) < 300


def test_sample_follows_the_frame_contract(model: DPBayesSynthesizer) -> None:
    out = model.sample(800, seed=1)
    assert list(out.columns) == [c.name for c in COLUMNS] and len(out) == 800
    for c in COLUMNS:
        assert out[c.name].dtype == (np.float64 if c.kind == "numerical" else object)
    assert out["age"].dropna().between(18, 90).all()
    assert (out["age"].dropna() == out["age"].dropna().round()).all()
    assert out["income"].dropna().between(0, 200_000).all()
    assert set(out["city"]) <= {"Oslo", "Lima", "Pune", None}
    assert {type(v) for v in out["member"].dropna()} <= {bool}


def test_learns_the_strongest_dependency() -> None:
    model, _ = fitted(epsilon=20.0, params=DPBayesParams(rounds=4, iterations=20, final_iterations=100))
    out = model.sample(3000, seed=2).dropna(subset=["age", "band"])
    agree = ((out["age"] >= 50) == (out["band"] == "old")).mean()
    assert agree > 0.8


def test_same_seed_same_rows_and_save_load_round_trip(model: DPBayesSynthesizer, tmp_path: Path) -> None:
    a = model.sample(500, seed=3)
    pd.testing.assert_frame_equal(a, model.sample(500, seed=3))
    assert not a.equals(model.sample(500, seed=4))
    model.save(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"model.json", "model.npz"}
    loaded = DPBayesSynthesizer.load(tmp_path, COLUMNS, FAST, seed=3)
    pd.testing.assert_frame_equal(a, loaded.sample(500, seed=3))
    assert loaded.epsilon_spent == model.epsilon_spent and loaded.delta_spent == model.delta_spent
    again = tmp_path / "again"
    again.mkdir()
    loaded.save(again)
    assert (again / "model.npz").read_bytes() == (tmp_path / "model.npz").read_bytes()


def test_two_fits_on_the_same_data_differ_because_noise_is_not_seeded(tmp_path: Path) -> None:
    first, second = fitted()[0], fitted()[0]  # same data, same spec seed
    assert not first.sample(300, seed=5).equals(second.sample(300, seed=5))
    first.save(tmp_path)
    (tmp_path / "b").mkdir()
    second.save(tmp_path / "b")
    assert (tmp_path / "model.npz").read_bytes() != (tmp_path / "b" / "model.npz").read_bytes()


@pytest.mark.parametrize("rounds", [0, 3, None])
def test_a_declared_target_has_every_pair_measured_within_the_budget(rounds: int | None) -> None:
    """Its pairs are measured first, whatever the rounds (never past the budget), and the
    rounds chosen privately still come after them."""
    params = FAST.model_copy(update={"target": "band", "rounds": rounds})
    model, table = fitted(epsilon=1.0, params=params)
    assert model.epsilon_spent is not None and model.epsilon_spent <= 1.0
    pairs = model.measured[: len(COLUMNS) - 1]
    assert sorted(tuple(sorted(p)) for p in pairs) == sorted(tuple(sorted((c.name, "band"))) for c in COLUMNS if c.name != "band")
    if rounds != 0:
        assert len(model.measured) > len(pairs)  # selected rounds too
    assert len(model.sample(200, seed=1)) == 200


def test_an_unknown_target_is_refused_before_anything_is_spent() -> None:
    table = PrivateTable(make_frame(), COLUMNS, Budget(1.0))
    with pytest.raises(ValueError, match="target 'bnad'"):
        DPBayesSynthesizer(COLUMNS, FAST.model_copy(update={"target": "bnad"}), 0, Budget(1.0)).fit(table)
    assert table.remaining() == 1.0
