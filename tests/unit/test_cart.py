from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from synthspec.models.base import ModelColumn
from synthspec.models.cart import CartSynthesizer
from synthspec.models.params import CartParams as Params
from synthspec.models.registry import get_model

COLUMNS = [
    ModelColumn("age", "numerical", integer=True),
    ModelColumn("income", "numerical"),
    ModelColumn("gain", "numerical", integer=True),
    ModelColumn("band", "categorical"),
    ModelColumn("city", "categorical"),
    ModelColumn("member", "categorical"),
]


def make_frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 90, n).astype(np.float64)
    income = age * 1000 + rng.normal(0, 2000, n)
    income[rng.random(n) < 0.1] = np.nan
    gain = np.where(rng.random(n) < 0.85, 0.0, rng.integers(100, 5000, n).astype(np.float64))
    band = np.where(age >= 50, "old", "young").astype(object)
    city = rng.choice(np.array(["Oslo", "Lima", "Pune"], dtype=object), n)
    city[rng.random(n) < 0.1] = None
    member = (rng.random(n) < 0.3).astype(object)  # Python bools, as the engine passes them
    return pd.DataFrame(
        {"age": age, "income": income, "gain": gain, "band": band, "city": city, "member": member}
    )


def fitted(seed: int = 1, **params: object) -> CartSynthesizer:
    model = CartSynthesizer(COLUMNS, Params(**{"min_samples_leaf": 10, **params}), seed)
    model.fit(make_frame())
    return model


def test_registered_with_capabilities() -> None:
    assert get_model("cart") is CartSynthesizer
    assert CartSynthesizer.name == "cart"
    assert CartSynthesizer.cost == 1
    assert CartSynthesizer.differentially_private is False
    assert CartSynthesizer.description


def test_params_schema_is_strict_and_documented() -> None:
    with pytest.raises(ValidationError):
        Params(min_leaf=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        Params(min_samples_leaf=0)
    assert all(f.description for f in Params.model_fields.values())


def test_sample_follows_frame_contract() -> None:
    data = make_frame()
    out = fitted().sample(500, seed=3)
    assert list(out.columns) == [c.name for c in COLUMNS]
    assert len(out) == 500
    for c in COLUMNS:
        assert out[c.name].dtype == (np.float64 if c.kind == "numerical" else object)
    assert set(out["city"]) <= set(data["city"])
    assert out["city"].isna().any() and None in set(out["city"])
    assert {type(v) for v in out["member"]} == {bool}
    assert out["income"].isna().any() and not out["age"].isna().any()
    assert out["age"].between(18, 89).all()


def test_learns_dependencies_and_keeps_point_masses() -> None:
    data = make_frame()
    out = fitted().sample(2000, seed=4)
    agree = ((out["age"].round() >= 50) == (out["band"] == "old")).mean()
    assert agree > 0.9
    # 85% of gains are exactly 0: smoothing must not blur that spike away.
    assert abs((out["gain"] == 0).mean() - (data["gain"] == 0).mean()) < 0.05
    assert abs(out["income"].isna().mean() - data["income"].isna().mean()) < 0.05


def test_deterministic_fit_and_sample() -> None:
    a, b = fitted(seed=7), fitted(seed=7)
    pd.testing.assert_frame_equal(a.sample(300, seed=5), b.sample(300, seed=5))
    pd.testing.assert_frame_equal(a.sample(300, seed=5), a.sample(300, seed=5))
    assert not a.sample(300, seed=5).equals(a.sample(300, seed=6))


def test_save_load_is_byte_identical_without_pickle(tmp_path: Path) -> None:
    model = fitted()
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    model.save(first)
    model.save(second)
    assert sorted(p.name for p in first.iterdir()) == ["model.json", "trees.npz"]
    # Stable bytes, so artifact hashes do not change between identical saves.
    for p in first.iterdir():
        assert p.read_bytes() == (second / p.name).read_bytes()
    with np.load(first / "trees.npz", allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)

    loaded = CartSynthesizer.load(first, COLUMNS, model.params, model.seed)
    before, after = model.sample(400, seed=9), loaded.sample(400, seed=9)
    pd.testing.assert_frame_equal(before, after)
    for c in COLUMNS:
        if c.kind == "numerical":
            assert before[c.name].to_numpy().tobytes() == after[c.name].to_numpy().tobytes()
        else:
            assert [type(v) for v in before[c.name]] == [type(v) for v in after[c.name]]


def test_numpy_and_compiled_traversals_find_the_same_leaves(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small batches are routed in numpy, big ones by scikit-learn's compiled traversal of the
    same tree: a batch gets the same leaves either way, NaN and unseen codes included."""
    import synthspec.models.cart as cart

    model = fitted()
    rng = np.random.default_rng(3)
    probe = np.empty((400, len(model._order)), np.float32)  # columns in visit order
    for j, name in enumerate(model._order):
        m = model._models[name]
        probe[:, j] = rng.integers(0, len(m.vocab), 400) if m.kind == "categorical" else rng.uniform(m.lo, m.hi, 400)
    probe[rng.random(probe.shape) < 0.1] = np.nan
    for m in model._models.values():
        for tree in (m.null_tree, m.value_tree):
            if tree is None or tree.left[0] == -1:
                continue
            x = probe[:, : int(tree.feature.max()) + 1]
            monkeypatch.setattr(cart, "_COMPILED_ROUTE_ROWS", 10**9)
            by_numpy = tree.route(x)
            monkeypatch.setattr(cart, "_COMPILED_ROUTE_ROWS", 1)
            np.testing.assert_array_equal(tree.route(x), by_numpy)
            assert tree._compiled() is not None


def test_leaves_respect_min_samples_leaf() -> None:
    model = fitted(min_samples_leaf=40)
    for m in model._models.values():
        for tree in (m.null_tree, m.value_tree):
            if tree is not None and tree.left[0] != -1:
                sizes = np.diff(tree.offsets)[tree.left == -1]
                assert sizes.min() >= 40


def test_smoothing_off_donates_exact_values() -> None:
    data = make_frame()
    out = fitted(smoothing=0.0, linear=False).sample(300, seed=2)
    assert set(out["income"].dropna()) <= set(data["income"].dropna())
    smoothed = fitted(smoothing=1.0, linear=False).sample(300, seed=2)
    assert not set(smoothed["income"].dropna()) <= set(data["income"].dropna())


def test_visit_sequence_and_progress() -> None:
    calls: list[tuple[int, int]] = []
    model = CartSynthesizer(COLUMNS, Params(visit_sequence=["income", "city"]), 0)
    model.fit(make_frame(), progress=lambda done, total: calls.append((done, total)))
    assert model._order[:2] == ["income", "city"]
    assert sorted(model._order) == sorted(c.name for c in COLUMNS)
    assert calls == [(i, len(COLUMNS)) for i in range(1, len(COLUMNS) + 1)]
    with pytest.raises(ValueError, match="visit_sequence"):
        CartSynthesizer(COLUMNS, Params(visit_sequence=["nope"]), 0).fit(make_frame())


def test_degenerate_columns_and_empty_sample(tmp_path: Path) -> None:
    columns = [
        ModelColumn("empty", "numerical"),
        ModelColumn("const", "numerical"),
        ModelColumn("nothing", "categorical"),
        ModelColumn("x", "numerical"),
    ]
    data = pd.DataFrame(
        {
            "empty": np.full(50, np.nan),
            "const": np.full(50, 3.0),
            "nothing": pd.Series([None] * 50, dtype=object),
            "x": np.arange(50, dtype=np.float64),
        }
    )
    model = CartSynthesizer(columns, Params(min_samples_leaf=5), 0)
    model.fit(data)
    out = model.sample(20, seed=0)
    assert out["empty"].isna().all() and (out["const"] == 3.0).all()
    assert out["nothing"].isna().all()
    empty = model.sample(0, seed=0)
    assert list(empty.columns) == [c.name for c in columns] and len(empty) == 0
    model.save(tmp_path)
    pd.testing.assert_frame_equal(
        CartSynthesizer.load(tmp_path, columns, model.params, 0).sample(20, 0), out
    )


def test_ordinal_integer_columns_are_not_blurred() -> None:
    rng = np.random.default_rng(0)
    columns = [ModelColumn("rating", "numerical", integer=True), ModelColumn("score", "numerical")]
    rating = rng.integers(1, 6, 400).astype(np.float64)
    data = pd.DataFrame({"rating": rating, "score": rating * 10 + rng.normal(0, 3, 400)})
    model = CartSynthesizer(columns, Params(min_samples_leaf=20, visit_sequence=["score"]), 0)
    model.fit(data)
    assert set(model.sample(500, seed=1)["rating"]) <= {1.0, 2.0, 3.0, 4.0, 5.0}


def test_builtin_capabilities_match_the_classes():
    from synthspec.models.params import BUILTIN_MODELS
    from synthspec.models.registry import get_model

    for name, info in BUILTIN_MODELS.items():
        cls = get_model(name)
        assert (cls.Params, cls.cost, cls.differentially_private) == (info.params, info.cost, info.differentially_private), name


def _tricky_frame(n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({
        "a": rng.integers(0, 50, n).astype(float),
        "s": rng.choice(np.array(["x", "y", "Z", "", "10", "9", "é"], dtype=object), n),
        "b": rng.choice(np.array([True, False, None], dtype=object), n),
        "t": rng.choice(np.array(["p", None, "q", np.nan], dtype=object), n),
        "u": rng.choice(np.array(["only"], dtype=object), n),
    })
    frame.loc[frame.index % 7 == 0, "a"] = np.nan
    return frame


_TRICKY_COLUMNS = [ModelColumn("a", "numerical"), ModelColumn("s", "categorical"), ModelColumn("b", "categorical"),
                   ModelColumn("t", "categorical"), ModelColumn("u", "categorical")]


def test_vectorised_category_codes_save_byte_identical_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The factorised encoding of categories (fast path) gives the very files the per-cell
    encoding gives: same vocabulary order, same codes, same trees (text with nulls and NaN,
    booleans with nulls, numbers as text, a single value)."""
    from synthspec.models import cart

    def save(directory: Path) -> dict[str, bytes]:
        model = CartSynthesizer(_TRICKY_COLUMNS, Params(min_samples_leaf=5), 7)
        model.fit(_tricky_frame())
        directory.mkdir()
        model.save(directory)
        return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}

    fast = save(tmp_path / "fast")
    monkeypatch.setattr(cart, "_category_codes", cart._category_codes_per_cell)
    assert save(tmp_path / "per_cell") == fast


def test_category_codes_keep_types_apart_in_mixed_columns() -> None:
    """Objects of mixed types (``1`` and ``True`` hash equal) take the per-cell path: every
    distinct (type, text) is its own category, as before."""
    from synthspec.models.cart import _category_codes, _category_codes_per_cell

    mixed = pd.Series([True, "True", 1, None, "1", False, 1.0], dtype=object)
    vocab, codes = _category_codes(mixed)
    expected_vocab, expected_codes = _category_codes_per_cell(mixed)
    assert vocab == expected_vocab and codes.tolist() == expected_codes.tolist()
    assert vocab == [False, True, "1", "1.0", "True", None]


def test_trees_grown_on_a_subsample_take_every_row_as_donor(tmp_path: Path) -> None:
    """``grow_rows`` with ``donors: all``: the trees see those rows only, the leaves hold every
    row as a donor; with every row it is the plain fit, file for file. With ``donors: fitted``
    (the default) it is the plain fit on the subsample, file for file."""
    data = make_frame(2000)
    quarter = np.arange(0, len(data), 4)

    def files(name: str, frame: pd.DataFrame, grow_rows: np.ndarray | None = None, **params: object) -> dict[str, bytes]:
        model = CartSynthesizer(COLUMNS, Params(min_samples_leaf=10, **params), 1)
        model.fit(frame, grow_rows=grow_rows)
        (tmp_path / name).mkdir()
        model.save(tmp_path / name)
        return {p.name: p.read_bytes() for p in sorted((tmp_path / name).iterdir())}

    plain = files("plain", data)
    assert files("every", data, np.arange(len(data)), donors="all") == plain
    assert files("fitted", data, quarter) == files("sliced", data.iloc[quarter].reset_index(drop=True))

    sub = CartSynthesizer(COLUMNS, Params(min_samples_leaf=10, donors="all"), 1)
    sub.fit(data, grow_rows=quarter)
    for name, m in sub._models.items():
        tree = m.value_tree
        assert tree is not None
        expected = len(data) if m.kind == "categorical" else int(data[name].notna().sum())
        assert len(tree.donors) == expected
    out = sub.sample(500, seed=3)
    assert list(out.columns) == [c.name for c in COLUMNS] and len(out) == 500


def zip_frame(n: int = 6000, seed: int = 0) -> pd.DataFrame:
    """A zip-code-like category whose spelling says nothing about its latitude."""
    rng = np.random.default_rng(seed)
    zips = np.array([f"z{v:03d}" for v in rng.permutation(60)], dtype=object)
    lat_of = dict(zip(zips, rng.uniform(47.0, 48.0, len(zips)), strict=True))
    zip_ = rng.choice(zips, n)
    return pd.DataFrame({"zip": zip_, "lat": [lat_of[z] for z in zip_] + rng.normal(0, 0.01, n)})


def test_a_many_valued_category_predicts_a_number_through_its_target_order() -> None:
    """Each tree orders a categorical predictor's codes by its target's mean, so one cut
    separates the zips by latitude: the synthetic latitude of every zip stays close to its
    real one although the codes (sorted by spelling) are unrelated to latitude."""
    real = zip_frame()
    columns = [ModelColumn("zip", "categorical"), ModelColumn("lat", "numerical")]
    model = CartSynthesizer(columns, Params(min_samples_leaf=50, visit_sequence=["zip", "lat"]), 3)
    model.fit(real)
    synth = model.sample(len(real), 3)
    real_mean, synth_mean = real.groupby("zip")["lat"].mean(), synth.groupby("zip")["lat"].mean()
    error = (synth_mean - real_mean.reindex(synth_mean.index)).abs()
    assert error.median() < 0.05, error.describe()  # zips span a whole degree of latitude
    tree = model._models["lat"].value_tree
    assert tree is not None and list(tree.recode_columns) == [0]


def test_category_orders_survive_save_and_load(tmp_path: Path) -> None:
    real = zip_frame(2000)
    columns = [ModelColumn("zip", "categorical"), ModelColumn("lat", "numerical")]
    model = CartSynthesizer(columns, Params(min_samples_leaf=20, visit_sequence=["zip", "lat"]), 5)
    model.fit(real)
    model.save(tmp_path)
    loaded = CartSynthesizer.load(tmp_path, columns, Params(min_samples_leaf=20, visit_sequence=["zip", "lat"]), 5)
    pd.testing.assert_frame_equal(model.sample(500, 9), loaded.sample(500, 9))


def test_a_number_with_few_levels_is_donated_exactly() -> None:
    """Floors of 1, 1.5, 2, 2.5 and 3 are levels, not a continuum: never blurred off the grid."""
    rng = np.random.default_rng(0)
    floors = rng.choice([1.0, 1.5, 2.0, 2.5, 3.0], 3000, p=[0.5, 0.1, 0.3, 0.05, 0.05])
    real = pd.DataFrame({"floors": floors, "area": floors * 800 + rng.normal(0, 50, 3000)})
    columns = [ModelColumn("floors", "numerical"), ModelColumn("area", "numerical")]
    model = CartSynthesizer(columns, Params(min_samples_leaf=20, visit_sequence=["area", "floors"]), 1)
    model.fit(real)
    synth = model.sample(3000, 1)
    assert set(synth["floors"].unique()) <= {1.0, 1.5, 2.0, 2.5, 3.0}


@pytest.mark.parametrize(("rows", "exact"), [(600, False), (2500, True)])
def test_a_number_is_levels_when_each_value_is_common(rows: int, exact: bool) -> None:
    """40 weekly hours values: a continuum to blur over 600 rows (15 rows a value), levels to
    donate exactly over 2,500 (62 a value, more than sqrt(2500) = 50)."""
    rng = np.random.default_rng(0)
    hours = rng.choice(np.arange(20, 60, dtype=np.float64), rows)
    real = pd.DataFrame({"hours": hours, "pay": hours * 30 + rng.normal(0, 400, rows)})  # r ~0.65: no line
    columns = [ModelColumn("hours", "numerical"), ModelColumn("pay", "numerical")]
    model = CartSynthesizer(columns, Params(min_samples_leaf=20, visit_sequence=["pay", "hours"]), 1)
    model.fit(real)
    synth = model.sample(rows, 1)["hours"]
    assert synth.isin(hours).all() == exact


def test_rare_values_among_levels_are_still_blurred() -> None:
    """Among common levels, a value two rows hold (a 99-hour week) singles them out: it is
    blurred as in any other column, while the common levels are donated exactly."""
    rng = np.random.default_rng(0)
    hours = rng.choice(np.arange(20, 60, dtype=np.float64), 2500)
    hours[:2] = 99.0
    real = pd.DataFrame({"hours": hours, "pay": hours * 30 + rng.normal(0, 400, 2500)})
    columns = [ModelColumn("hours", "numerical"), ModelColumn("pay", "numerical")]
    model = CartSynthesizer(columns, Params(min_samples_leaf=20, visit_sequence=["pay", "hours"]), 1)
    model.fit(real)
    synth = model.sample(25_000, 1)["hours"]
    common = synth.isin(np.arange(20, 60, dtype=np.float64))
    assert common.mean() > 0.99
    # The rare value is drawn, blurred: rounding to its grid (a whole hour, but no finer than a
    # quarter of its kernel) seldom brings it back exactly.
    assert (~common).sum() >= 10 and (synth == 99.0).sum() <= 0.25 * (~common).sum()


def price_frame(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """A line price that is its list price, or 10-25% off on promotion."""
    rng = np.random.default_rng(seed)
    list_price = np.round(rng.lognormal(3.5, 1.0, n), 2)
    promo = rng.random(n) < 0.12
    return pd.DataFrame({"list_price": list_price,
                         "price": np.where(promo, list_price * (1 - rng.choice([0.1, 0.25], n)), list_price)})


def test_a_nearly_linear_column_keeps_its_correlation_through_residuals(tmp_path: Path) -> None:
    """Leaves alone are piecewise constant (r 0.997 became 0.77 in the shop example); the
    price is modelled as its residual from the line on the list price, and keeps r."""
    real = price_frame()
    columns = [ModelColumn("list_price", "numerical"), ModelColumn("price", "numerical")]
    params = Params(min_samples_leaf=60, visit_sequence=["list_price", "price"])
    model = CartSynthesizer(columns, params, 2)
    model.fit(real)
    synth = model.sample(len(real), 2)
    assert model._models["price"].linear is not None
    assert synth["price"].corr(synth["list_price"]) > 0.98
    assert synth["price"].between(real["price"].min(), real["price"].max()).all()
    model.save(tmp_path)
    pd.testing.assert_frame_equal(CartSynthesizer.load(tmp_path, columns, params, 2).sample(300, 4), model.sample(300, 4))


def test_weakly_related_columns_are_not_modelled_as_lines() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, 2000)
    real = pd.DataFrame({"a": a, "b": 0.5 * a + rng.normal(0, 1, 2000)})  # r ~ 0.45
    columns = [ModelColumn("a", "numerical"), ModelColumn("b", "numerical")]
    model = CartSynthesizer(columns, Params(min_samples_leaf=40, visit_sequence=["a", "b"]), 1)
    model.fit(real)
    assert model._models["b"].linear is None
    off = CartSynthesizer(columns, Params(min_samples_leaf=40, visit_sequence=["a", "b"], linear=False), 1)
    off.fit(price_frame().rename(columns={"list_price": "a", "price": "b"}))
    assert off._models["b"].linear is None  # r ~ 0.99, but lines are off

def _leaf_tree(sizes: list[int]) -> object:
    """A tree of single leaves with ``sizes[k]`` donors in leaf ``k`` (donor value = position)."""
    from synthspec.models.cart import _Tree

    tree = _Tree.single_leaf()
    tree.left = np.full(len(sizes), -1, np.int64)
    tree.offsets = np.r_[0, np.cumsum(sizes)].astype(np.int64)
    tree.donors = np.arange(tree.offsets[-1], dtype=np.float64)
    return tree


def test_donors_are_a_systematic_sample_of_each_leaf() -> None:
    tree = _leaf_tree([7, 40, 1, 25])
    rng = np.random.default_rng(3)
    leaf = rng.choice(4, 1000, p=[0.5, 0.1, 0.2, 0.2])
    idx = tree.donor_positions(leaf, np.random.default_rng(11))
    assert ((idx >= tree.offsets[leaf]) & (idx < tree.offsets[leaf + 1])).all()  # a donor of its own leaf
    uses = np.bincount(idx, minlength=int(tree.offsets[-1]))
    for k in range(4):
        rows, donors = int((leaf == k).sum()), int(tree.offsets[k + 1] - tree.offsets[k])
        used = uses[tree.offsets[k]:tree.offsets[k + 1]]
        # k rows over m donors: each donor k/m times, rounded either way (never a multinomial's spread)
        assert used.sum() == rows
        assert used.min() >= rows // donors and used.max() <= -(-rows // donors), (k, used)
    # Same leaves and seed, same donors.
    assert np.array_equal(idx, tree.donor_positions(leaf, np.random.default_rng(11)))


def test_donor_choice_is_uniform_per_row_and_unrelated_to_row_order() -> None:
    tree = _leaf_tree([10])
    leaf = np.zeros(4, np.int64)  # 4 rows, 10 donors: which donors and which row gets which is random
    picks = np.array([tree.donor_positions(leaf, np.random.default_rng(s)) for s in range(4000)])
    # Each row is equally likely to get each donor (1/10 each), whatever its position.
    for row in range(4):
        share = np.bincount(picks[:, row], minlength=10) / len(picks)
        assert np.abs(share - 0.1).max() < 0.025, share
    # The first row does not get the smaller values more often than the last one (donors are
    # sorted by value within a leaf: a systematic sample must still be handed out at random).
    assert abs(picks[:, 0].mean() - picks[:, 3].mean()) < 0.3


def test_a_total_of_its_parts_stays_their_sum() -> None:
    """Living area = above ground + basement in every real row, though neither part alone is
    a line of it (|r| < 0.9): one line in both keeps the identity in every synthetic row."""
    rng = np.random.default_rng(0)
    n = 3000
    above = np.round(rng.lognormal(7.3, 0.35, n))
    basement = np.where(rng.random(n) < 0.6, 0.0, np.round(rng.uniform(200, 1500, n)))
    real = pd.DataFrame({"above": above, "basement": basement, "living": above + basement})
    assert abs(np.corrcoef(real["above"], real["living"])[0, 1]) < 0.9
    columns = [ModelColumn(c, "numerical", integer=True) for c in real.columns]
    model = CartSynthesizer(columns, Params(visit_sequence=["above", "basement", "living"]), 1)
    model.fit(real)
    assert model._models["living"].linear is not None and len(model._models["living"].linear.columns) == 2
    synth = model.sample(n, 2)
    assert (synth["living"] == synth["above"] + synth["basement"]).all()
    # Whole-number columns come out whole, as they are published.
    assert all((synth[c] == np.round(synth[c])).all() for c in synth.columns)


def test_a_line_saved_in_format_two_still_loads() -> None:
    from synthspec.models.cart import _Linear

    line = _Linear.from_saved({"column": 2, "intercept": 1.5, "slope": 2.0, "fill": 3.0})
    assert line == _Linear((2,), 1.5, (2.0,), (3.0,))
    x = np.array([[0.0, 0.0, 1.0], [0.0, 0.0, np.nan]])
    assert np.array_equal(line.line(x), [3.5, 7.5])


def test_a_uniform_draw_next_to_one_still_picks_a_donor_of_the_leaf() -> None:
    class Edge:  # the largest double below 1 for every leaf: (u + rank) * m / k rounds up to m
        def permutation(self, n: int) -> np.ndarray:
            return np.arange(n)

        def random(self, n: int) -> np.ndarray:
            return np.full(n, np.nextafter(1.0, 0.0))

    tree = _leaf_tree([3, 2])
    idx = tree.donor_positions(np.array([0, 0, 1]), Edge())
    assert ((idx >= tree.offsets[[0, 0, 1]]) & (idx < tree.offsets[[1, 1, 2]])).all(), idx


def _curve(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    """y follows x closely (a curve plus noise), with a point mass at 0 the curve knows nothing of."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, n)
    y = np.round(np.sin(x) * 40 + 5 * x + rng.normal(0, 4, n), 1)
    y[rng.random(n) < 0.15] = 0.0
    return pd.DataFrame({"x": x, "y": y})


CURVE = [ModelColumn("x", "numerical"), ModelColumn("y", "numerical")]


def test_a_centre_keeps_the_leaf_values_and_follows_the_predictors() -> None:
    """One leaf (min_samples_leaf above half the rows): without a centre, y is drawn at random
    whatever x; with one, each row takes the donor at the rank its x calls for. Either way the
    synthetic y values are the real ones, each once (a systematic sample of the single leaf)."""
    real = _curve()
    corr_real = np.corrcoef(real["x"], real["y"])[0, 1]
    out = {}
    for centre in (False, True):
        model = CartSynthesizer(CURVE, Params(min_samples_leaf=3000, smoothing=0.0, linear=False, centre=centre,
                                                visit_sequence=["x", "y"]), 1)
        model.fit(real)
        assert (model._models["y"].centre is not None) == centre
        out[centre] = model.sample(len(real), seed=2)
        assert np.array_equal(np.sort(out[centre]["y"]), np.sort(real["y"]))
    assert abs(np.corrcoef(out[False]["x"], out[False]["y"])[0, 1]) < 0.1
    assert abs(np.corrcoef(out[True]["x"], out[True]["y"])[0, 1] - corr_real) < 0.05
    # The curve itself, not just its trend: y's mean in each tenth of x as in the real rows.
    def curve(frame: pd.DataFrame) -> np.ndarray:
        return frame.groupby(np.floor(frame["x"]).clip(0, 9))["y"].mean().to_numpy()
    # (The 15% of zeros are drawn at the ranks of whatever values the curve gives: a bin is off
    # by up to ~5, where a random donor is off by up to ~35.)
    assert np.abs(curve(out[True]) - curve(real)).max() < 7, (curve(out[True]), curve(real))
    assert np.abs(curve(out[False]) - curve(real)).max() > 25
    # The zeros are a point mass the curve knows nothing of: they stay with the rows that drew
    # them at random, not with the rows the curve puts lowest.
    zero_by_x = out[True].groupby(np.floor(out[True]["x"]).clip(0, 9))["y"].apply(lambda y: (y == 0).mean())
    assert zero_by_x.between(0.09, 0.21).all(), zero_by_x


def test_no_centre_where_the_predictors_explain_little() -> None:
    from synthspec.models.cart import _boost

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (2000, 3)).astype(np.float32)
    assert _boost(x, rng.normal(0, 1, 2000), {}, 0) is None  # noise
    assert _boost(x, 3 * x[:, 0].astype(np.float64) + rng.normal(0, 0.1, 2000), {}, 0) is not None
    assert _boost(x[:100], rng.normal(0, 1, 100), {}, 0) is None  # too few rows to hold any out
    model = CartSynthesizer(CURVE, Params(centre=False, visit_sequence=["x", "y"]), 1)
    model.fit(_curve(500))
    assert model._models["y"].centre is None


def test_a_centred_model_saves_loads_and_refits_identically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import synthspec.models.cart as cart

    real = _curve(3000)
    model = CartSynthesizer(CURVE, Params(visit_sequence=["x", "y"]), 4)
    model.fit(real)
    assert model._models["y"].centre is not None
    model.save(tmp_path)
    loaded = CartSynthesizer.load(tmp_path, CURVE, model.params, model.seed)
    a, b = model.sample(2000, seed=3), loaded.sample(2000, seed=3)
    assert a["y"].to_numpy().tobytes() == b["y"].to_numpy().tobytes()
    # One thread or several: the same trees, centre included (it is grown by the same code).
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    single = CartSynthesizer(CURVE, Params(visit_sequence=["x", "y"]), 4)
    single.fit(real)
    assert cart._fit_threads() == 1
    assert single.sample(2000, seed=3)["y"].to_numpy().tobytes() == a["y"].to_numpy().tobytes()
    # The centre's trees route big batches through the compiled traversal, to the same leaves.
    x = np.random.default_rng(5).uniform(-1, 11, (600, 1)).astype(np.float32)
    centre = model._models["y"].centre
    monkeypatch.setattr(cart, "_COMPILED_ROUTE_ROWS", 10**9)
    by_numpy = centre.predict(x)
    monkeypatch.setattr(cart, "_COMPILED_ROUTE_ROWS", 1)
    assert np.array_equal(centre.predict(x), by_numpy)


def test_a_model_saved_before_centres_still_loads(tmp_path: Path) -> None:
    """Format 3 (no centres, no per-node residual spread) loads and samples as it did."""
    import json

    model = CartSynthesizer(CURVE, Params(centre=False, visit_sequence=["x", "y"]), 4)
    model.fit(_curve(1000))
    model.save(tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    meta["format"] = 3
    for entry in meta["columns"].values():
        del entry["centre"]
    (tmp_path / "model.json").write_text(json.dumps(meta))
    with np.load(tmp_path / "trees.npz") as npz:
        arrays = {k: npz[k] for k in npz.files if not k.endswith("_residual_sd")}
    np.savez(tmp_path / "trees.npz", **arrays)
    loaded = CartSynthesizer.load(tmp_path, CURVE, model.params, 4)
    pd.testing.assert_frame_equal(loaded.sample(500, seed=1), model.sample(500, seed=1))


LEVELS = [ModelColumn("x", "numerical"), ModelColumn("rooms", "categorical")]


def _rooms(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    """A room count (0 to 10, held as text with 5% nulls, as the engine passes numbers declared
    categorical) that follows x with noise."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 20, n)
    rooms = np.clip(np.round(x / 2 + rng.normal(0, 1.0, n)), 0, 10).astype(int).astype(str).astype(object)
    rooms[rng.random(n) < 0.05] = None
    return pd.DataFrame({"x": x, "rooms": rooms})


def _as_numbers(frame: pd.DataFrame) -> pd.Series:
    return pd.to_numeric(frame["rooms"], errors="coerce")


def test_categories_that_spell_numbers_are_ordered_by_value() -> None:
    from synthspec.models.cart import _category_codes, _ordered_codes

    vocab, codes = _category_codes(pd.Series(["10", "9", None, "2.5", "-1", "9"], dtype=object))
    assert vocab == ["-1", "2.5", "9", "10", None] and codes.tolist() == [3, 2, 4, 1, 0, 2]
    assert _ordered_codes(vocab) == 4
    assert _ordered_codes(["1", "2"]) is None  # two categories: nothing to order
    assert _ordered_codes(["1", "2", "x"]) is None and _ordered_codes(["1", "2", "nan"]) is None
    assert _category_codes(pd.Series(["b", "10", "a", "9"], dtype=object))[0] == ["9", "10", "a", "b"]
    # Numbers as ASCII text only: not what else float() reads.
    for text in (" 5", "1_000", "nan", "inf", "\u0663", "5.", "-.5", "1e3"):
        assert (_ordered_codes(["1", "2", text]) is not None) == (text in ("5.", "-.5", "1e3")), text


def test_a_centre_orders_a_numbered_category_by_its_predictors() -> None:
    """One leaf (min_samples_leaf above half the rows): without a centre a room count is drawn
    at random whatever x; with one, each row takes the count its x calls for, nearly as closely
    as in the real rows and never more closely. Either way the counts are the real ones, each
    row's once, and nulls stay with rows drawn at random."""
    real = _rooms()
    corr_real = _as_numbers(real).corr(real["x"])
    out = {}
    for centre in (False, True):
        model = CartSynthesizer(LEVELS, Params(min_samples_leaf=3000, centre=centre, visit_sequence=["x", "rooms"]), 1)
        model.fit(real)
        assert (model._models["rooms"].centre is not None) == centre
        out[centre] = model.sample(len(real), seed=2)
        assert out[centre]["rooms"].value_counts(dropna=False).equals(real["rooms"].value_counts(dropna=False))
    assert abs(_as_numbers(out[False]).corr(out[False]["x"])) < 0.1
    corr = _as_numbers(out[True]).corr(out[True]["x"])
    assert 0.94 * corr_real < corr < corr_real + 0.01, (corr, corr_real)  # measured 0.911 for 0.942
    nulls = out[True]["rooms"].isna().groupby(np.floor(out[True]["x"] / 2)).mean()
    assert nulls.between(0.01, 0.11).all(), nulls


def test_text_categories_take_no_centre() -> None:
    real = _rooms()
    real["rooms"] = real["rooms"].map({str(k): f"r{k}" for k in range(11)})  # follows x, but not numbers
    model = CartSynthesizer(LEVELS, Params(min_samples_leaf=3000, visit_sequence=["x", "rooms"]), 1)
    model.fit(real)
    assert model._models["rooms"].centre is None


def test_a_numbered_category_with_a_centre_saves_and_loads(tmp_path: Path) -> None:
    import json

    real = _rooms(2000)
    model = CartSynthesizer(LEVELS, Params(visit_sequence=["x", "rooms"]), 4)
    model.fit(real)
    assert model._models["rooms"].centre is not None
    model.save(tmp_path)
    assert json.loads((tmp_path / "model.json").read_text())["format"] == 8
    loaded = CartSynthesizer.load(tmp_path, LEVELS, model.params, 4)
    pd.testing.assert_frame_equal(loaded.sample(1500, seed=3), model.sample(1500, seed=3))



def test_a_given_numbered_category_maps_to_its_own_code() -> None:
    """Given values find their codes by identity, whatever the vocabulary's order: "10" is not "1"."""
    model = CartSynthesizer(LEVELS, Params(visit_sequence=["rooms", "x"]), 1)
    model.fit(_rooms(600))
    vocab = model._models["rooms"].vocab
    assert vocab[:3] == ["0", "1", "2"] and vocab.index("10") == 10
    given = pd.DataFrame({"rooms": ["10", "1", None, "99"]}, dtype=object)
    _, codes = CartSynthesizer._given_column(model._models["rooms"], given["rooms"])
    assert codes[:2].tolist() == [10, 1] and np.isnan(codes[2:]).all()
    out = model.sample(4, seed=1, given=given)
    assert out["rooms"].tolist()[:2] == ["10", "1"]


def test_ordered_codes_are_saved_and_checked_on_load(tmp_path: Path) -> None:
    """A format-5 model names the codes a centre ranks; a categorical centre without them is a
    damaged model, refused. A format-4 model (no categorical centres) still loads and samples."""
    import json

    model = CartSynthesizer(LEVELS, Params(visit_sequence=["x", "rooms"]), 4)
    model.fit(_rooms(2000))
    model.save(tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["columns"]["rooms"]["ordered"] == 11  # "0".."10"; the null code is not ranked
    del meta["columns"]["rooms"]["ordered"]
    (tmp_path / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="ordered codes"):
        CartSynthesizer.load(tmp_path, LEVELS, model.params, 4)
    plain = CartSynthesizer(CURVE, Params(visit_sequence=["x", "y"]), 4)
    plain.fit(_curve(3000))
    assert plain._models["y"].centre is not None
    plain.save(tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    meta["format"] = 4
    (tmp_path / "model.json").write_text(json.dumps(meta))
    loaded = CartSynthesizer.load(tmp_path, CURVE, plain.params, 4)
    pd.testing.assert_frame_equal(loaded.sample(500, seed=1), plain.sample(500, seed=1))


def test_no_ordered_codes_without_a_centre() -> None:
    """First in the visit order (no predictors) or unexplained: no centre, nothing ranked."""
    model = CartSynthesizer(LEVELS, Params(visit_sequence=["rooms", "x"]), 1)
    model.fit(_rooms(600))
    rooms = model._models["rooms"]
    assert rooms.centre is None and rooms.value_tree.ordered_codes is None


def test_each_value_is_on_the_coarsest_unit_it_is_a_multiple_of() -> None:
    from synthspec.models.cart import _NO_GRID, _UNITS, _grid_codes

    def units(values: list[float], datetime: bool = False) -> list[tuple[int, int] | None]:
        return [_UNITS[c][:2] if c != _NO_GRID else None for c in _grid_codes(np.array(values), datetime)]

    assert units([451_500, 450_000, 1_440, 1_441, 7_245, 47.6801, -122.363, 0.3, 1e-13]) == [
        (500, 1), (50_000, 1), (20, 1), (1, 1), (5, 1), (1, 10_000), (1, 1_000), (1, 10), None]
    # Read from single precision (a REAL column): 37.2 is 37.20000076..., still on 0.2.
    single = np.array([37.2, 47.68, -122.363], np.float32).astype(np.float64)
    assert units(list(single)) == [(2, 10), (2, 100), (1, 1_000)]
    assert units([0])[0] == _UNITS[-5][:2]  # zero: the coarsest number (rounded no wider than a kernel)
    day = 86_400.0  # datetimes in epoch seconds: days, hours, minutes, seconds, then decimals
    assert units([3 * day, 3 * day + 7_200, 3 * day + 14 * 3_600 + 1_800, 3 * day + 61, 3 * day + 0.5], True) == [
        (86_400, 1), (3_600, 1), (60, 1), (1, 1), (5, 10)]


def test_a_value_drawn_on_a_unit_is_exactly_on_it() -> None:
    """Exactly on a unit: a multiple of it and of no coarser unit of its kind, as the donor was;
    computed as the decimal spelling rounds (47.6801 is the float written so)."""
    from synthspec.models.cart import _EXACT, _UNITS, _on_grid

    def code(num: int, den: int = 1, time: bool = False) -> int:
        found = [i for i, u in enumerate(_UNITS) if u[:2] == (num, den)]
        return found[-1] if time else found[0]

    values = np.array([47.68014, 451_234.0, 7_310.0, 7_305.0, 7_300.0, 7_300.0, 7_300.0, -7_310.0, -0.7])
    codes = np.array([code(1, 10_000) + _EXACT, code(500) + _EXACT, code(5) + _EXACT, code(1) + _EXACT,
                      code(2) + _EXACT, code(60, time=True) + _EXACT, code(60, time=True), code(5) + _EXACT,
                      code(1, 10) + _EXACT])
    out = _on_grid(values, codes)
    assert out[7] in (-7_305, -7_315) and out[8] == -0.7  # negative numbers alike
    assert out[0] == 47.6801
    assert out[1] == 451_500  # an odd number of 500s (450,000 is on 50,000)
    assert out[2] == 7_305  # 7,310 is on 10
    assert out[3] in (7_303, 7_307)  # neither even nor a multiple of 5
    assert out[4] in (7_298, 7_302)  # even, not a multiple of 10
    assert out[5] == 7_320 and out[6] == 7_320  # 122 minutes, not a whole hour (7,200)
    assert np.array_equal(_on_grid(values, np.full(len(values), -1)), values)  # no grid: untouched


ROUND = [ModelColumn("area", "numerical"), ModelColumn("price", "numerical"),
         ModelColumn("listed", "numerical", datetime=True)]


def _rounded_prices(n: int, seed: int = 0) -> pd.DataFrame:
    """Prices as people write them: to the ten thousand (30%), the thousand (50%) or the ten
    (20%), a few round sums shared by many rows; listing moments to the minute, a third on the hour."""
    rng = np.random.default_rng(seed)
    area = rng.uniform(50, 300, n)
    exact = area * 3_000 * rng.lognormal(0, 0.25, n)
    unit = rng.choice([10_000.0, 1_000.0, 10.0], n, p=[0.3, 0.5, 0.2])
    price = np.round(exact / unit) * unit
    price[rng.random(n) < 0.05] = 500_000.0
    minute = rng.integers(0, 365 * 24 * 60, n)
    on_the_hour = rng.random(n) < 1 / 3
    minute[on_the_hour] = minute[on_the_hour] // 60 * 60
    listed = 1.6e9 // 86_400 * 86_400 + minute * 60.0
    return pd.DataFrame({"area": area, "price": price, "listed": listed})


def _round_shares(values: pd.Series, units: list[float]) -> np.ndarray:
    v = values.to_numpy(np.float64)
    return np.array([np.mean(np.mod(v, u) == 0) for u in units])


def test_blurred_values_are_as_round_as_the_real_ones() -> None:
    """Blurred prices land on their donors' units: as many multiples of 10, 100, 1,000 and
    10,000 as the real column has (not 451,237 where people write 451,000), heaps at round sums
    kept exactly; moments stay on the minute and as many on the hour."""
    real = _rounded_prices(4000)
    model = CartSynthesizer(ROUND, Params(visit_sequence=["area", "price", "listed"]), 2)
    model.fit(real)
    synth = model.sample(4000, seed=3)
    units = [10.0, 100.0, 1_000.0, 10_000.0]
    assert np.abs(_round_shares(synth["price"], units) - _round_shares(real["price"], units)).max() < 0.03
    assert abs((synth["price"] == 500_000).mean() - (real["price"] == 500_000).mean()) < 0.01
    assert synth["price"].nunique() > 1000  # blurred, not a copy of the real prices
    minutes = _round_shares(synth["listed"], [60.0, 3_600.0])
    assert minutes[0] > 0.99 and abs(minutes[1] - _round_shares(real["listed"], [3_600.0])[0]) < 0.03


def test_a_model_saved_before_grids_still_loads(tmp_path: Path) -> None:
    """Format 5 (no grids) loads and samples, its blurred values as drawn (not rounded)."""
    import json

    model = CartSynthesizer(ROUND, Params(visit_sequence=["area", "price", "listed"]), 2)
    model.fit(_rounded_prices(2000))
    model.save(tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    meta["format"] = 5
    (tmp_path / "model.json").write_text(json.dumps(meta))
    with np.load(tmp_path / "trees.npz") as npz:
        arrays = {k: npz[k] for k in npz.files if not k.endswith("_grid")}
    np.savez(tmp_path / "trees.npz", **arrays)
    loaded = CartSynthesizer.load(tmp_path, ROUND, model.params, 2)
    old, new = loaded.sample(2000, seed=1), model.sample(2000, seed=1)
    assert _round_shares(old["price"], [10.0])[0] < 0.5 < _round_shares(new["price"], [10.0])[0]


DATES = [ModelColumn("signup", "numerical", integer=True, datetime=True),
         ModelColumn("first", "numerical", integer=True, datetime=True),
         ModelColumn("last", "numerical", integer=True, datetime=True),
         ModelColumn("segment", "categorical")]
DAY = 86_400.0


def _customers(n: int, seed: int = 0) -> pd.DataFrame:
    """Signups over ten years; a first order days later; a last order months after the first,
    or on the same day for 30% of customers (one order)."""
    rng = np.random.default_rng(seed)
    signup = 1.5e9 + rng.uniform(0, 3.15e8, n)
    first = signup + rng.exponential(20 * DAY, n)
    last = first + rng.exponential(200 * DAY, n) * (rng.random(n) < 0.7)
    days = {k: np.floor(v / DAY) * DAY for k, v in (("signup", signup), ("first", first), ("last", last))}
    return pd.DataFrame({**days, "segment": rng.choice(np.array(["a", "b", "c"], dtype=object), n)})


def test_dates_in_order_stay_in_order_with_their_gaps() -> None:
    """No first order before its signup, no last before the first (17% were, drawn as residuals
    from a line); the gaps follow the real ones, same-day orders included."""
    real = _customers(5000)
    model = CartSynthesizer(DATES, Params(), 1)
    model.fit(real)
    assert model._models["first"].lower == model._order.index("signup")
    assert model._models["last"].lower == model._order.index("first")
    synth = model.sample(5000, seed=2)
    assert (synth["first"] >= synth["signup"]).all() and (synth["last"] >= synth["first"]).all()
    same_day = lambda f: float((f["last"] == f["first"]).mean())  # noqa: E731
    assert abs(same_day(synth) - same_day(real)) < 0.02
    for a, b in (("signup", "first"), ("first", "last")):
        gaps = [np.quantile((f[b] - f[a]) / DAY, [0.5, 0.9]) for f in (real, synth)]
        assert np.allclose(gaps[0], gaps[1], rtol=0.15), (a, b, gaps)


def test_a_bound_on_another_line_still_holds() -> None:
    """A sale price never above its list price, on a line in it (the line is the better model
    of the two): prices drawn above the list price are mirrored below it."""
    rng = np.random.default_rng(0)
    listed = rng.lognormal(4, 1, 4000)
    sale = listed * np.where(rng.random(4000) < 0.4, 1.0, rng.uniform(0.7, 0.95, 4000))
    real = pd.DataFrame({"listed": listed, "sale": sale})
    columns = [ModelColumn("listed", "numerical"), ModelColumn("sale", "numerical")]
    model = CartSynthesizer(columns, Params(visit_sequence=["listed", "sale"]), 1)
    model.fit(real)
    assert model._models["sale"].upper == 0
    synth = model.sample(4000, seed=1)
    assert (synth["sale"] <= synth["listed"]).all()
    assert np.corrcoef(synth["sale"], synth["listed"])[0, 1] > 0.95


def test_an_order_that_holds_by_accident_is_no_bound() -> None:
    """A price is always above a floor area (in other units): the gaps vary as much as the
    prices, so it is no bound."""
    real = _rounded_prices(2000)
    model = CartSynthesizer(ROUND, Params(visit_sequence=["area", "price", "listed"]), 2)
    model.fit(real)
    assert (model._models["price"].lower, model._models["price"].upper) == (-1, -1)


def test_a_number_is_never_a_bound_of_a_datetime() -> None:
    """Epoch seconds held as a plain number a minute before each moment: a tight order, but
    between a number and a datetime, so no bound (the moment keeps its own bound, the signup)."""
    real = _customers(2000)
    real.insert(0, "stamp", real["first"] - 60.0)
    columns = [ModelColumn("stamp", "numerical"), *DATES]
    model = CartSynthesizer(columns, Params(visit_sequence=["stamp", "signup", "first", "last"]), 1)
    model.fit(real)
    first = model._models["first"]
    assert first.lower == model._order.index("signup") and first.upper == -1


def test_a_null_bound_bounds_nothing() -> None:
    """Rows whose bound is null (a customer never ordered) are drawn as without it; a column
    null where the later one holds a value is no bound of it."""
    real = _customers(3000)
    never = np.random.default_rng(5).random(3000) < 0.2
    real.loc[never, ["first", "last"]] = np.nan
    model = CartSynthesizer(DATES, Params(), 1)
    model.fit(real)
    assert model._models["last"].lower == model._order.index("first")
    synth = model.sample(3000, seed=4)
    held = synth["first"].notna() & synth["last"].notna()
    assert (synth.loc[held, "last"] >= synth.loc[held, "first"]).all()
    assert synth["last"].notna().sum() > 2000 and synth["first"].isna().any()


def test_a_given_column_bounds_the_drawn_ones() -> None:
    """Given columns (a parent's attributes, first in the visit order) bound the columns drawn
    after them as any earlier column does."""
    real = _customers(3000)
    model = CartSynthesizer(DATES, Params(visit_sequence=["signup"]), 1)
    model.fit(real)
    given = pd.DataFrame({"signup": np.sort(real["signup"].to_numpy())[::-1].copy()})  # any order
    synth = model.sample(3000, seed=2, given=given)
    assert (synth["signup"].to_numpy() == given["signup"].to_numpy()).all()
    assert (synth["first"] >= synth["signup"]).all() and (synth["last"] >= synth["first"]).all()


def test_a_rare_value_blurred_seldom_comes_back_exactly() -> None:
    """300 distinct whole numbers a million apart, blurred by kernels of 0.3 to 120 units: the
    grid never brings a draw back to its donor's value more than about one time in ten (drawn
    exactly on the donor's unit only within a tenth of the kernel: a quarter gave up to 29%)."""
    from synthspec.models.cart import _grid_codes, _Tree

    values = np.sort(np.random.default_rng(0).choice(10**6, 300, replace=False)).astype(np.float64)
    for width in (0.3, 1.0, 2.5, 4.2, 8.0, 15.0, 40.0, 120.0):
        tree = _Tree.single_leaf()
        tree.set_donors(np.zeros(300, np.int64), values, 1.0)
        scale = width / tree.bandwidth.max()
        tree.set_donors(np.zeros(300, np.int64), values, scale, grid=_grid_codes(values))
        drawn = tree.draw(np.zeros((30_000, 0), np.float32), np.random.default_rng(1))
        assert np.isin(drawn, values).mean() < 0.12, width
        assert (drawn != np.round(drawn)).any() or width >= 4  # rounded finer than the kernel


def test_a_number_bound_holds_but_is_not_drawn_as_a_gap() -> None:
    """Numbers keep their order, but only datetimes are drawn as gaps (a duration): a share of
    graduates is no fixed gap below a share of school leavers."""
    rng = np.random.default_rng(1)
    school = rng.uniform(20, 95, 3000)
    # 30% all the way (15% of synthetic rows were above school drawn off the line, without bounds)
    college = np.where(rng.random(3000) < 0.3, school, school * rng.uniform(0.6, 0.95, 3000))
    real = pd.DataFrame({"school": school, "college": college})
    columns = [ModelColumn("school", "numerical"), ModelColumn("college", "numerical")]
    model = CartSynthesizer(columns, Params(visit_sequence=["school", "college"]), 1)
    model.fit(real)
    assert model._models["college"].upper == 0 and model._models["college"].gap is None
    synth = model.sample(3000, seed=2)
    assert (synth["college"] <= synth["school"]).all()
    assert abs(np.corrcoef(synth["college"], synth["school"])[0, 1] - np.corrcoef(college, school)[0, 1]) < 0.01


def test_bounds_save_load_and_older_models_load(tmp_path: Path) -> None:
    import json

    model = CartSynthesizer(DATES, Params(), 1)
    model.fit(_customers(1500))
    (tmp_path / "new").mkdir()
    (tmp_path / "old").mkdir()
    model.save(tmp_path / "new")
    loaded = CartSynthesizer.load(tmp_path / "new", DATES, model.params, 1)
    pd.testing.assert_frame_equal(loaded.sample(800, seed=3), model.sample(800, seed=3))
    # Format 6 had no bounds: a column's line is what it was saved with, its order not enforced.
    model.save(tmp_path / "old")
    meta = json.loads((tmp_path / "old" / "model.json").read_text())
    meta["format"] = 6
    for entry in meta["columns"].values():
        for key in ("lower", "upper", "gap"):
            entry.pop(key, None)
    (tmp_path / "old" / "model.json").write_text(json.dumps(meta))
    old = CartSynthesizer.load(tmp_path / "old", DATES, model.params, 1)
    assert old._models["last"].lower == -1 and old._models["last"].gap is None
    assert len(old.sample(800, seed=3)) == 800


HOUSES = [ModelColumn("renovated", "numerical", integer=True), ModelColumn("built", "numerical", integer=True),
          ModelColumn("area", "numerical")]


def _houses(n: int, seed: int = 0) -> pd.DataFrame:
    """Houses built 1900-2010 (a tenth in 1900, the earliest year recorded), a fifth of them
    renovated some years later, the rest with a renovation year of 0: the sentinel for never."""
    rng = np.random.default_rng(seed)
    built = np.where(rng.random(n) < 0.1, 1900, rng.integers(1900, 2011, n)).astype(float)
    later = np.minimum(built + rng.integers(5, 80, n), 2015)
    renovated = np.where(rng.random(n) < 0.2, later, 0.0)
    return pd.DataFrame({"renovated": renovated, "built": built, "area": rng.lognormal(7, 0.4, n)})


@pytest.mark.parametrize("order", [["renovated", "built", "area"], ["built", "renovated", "area"]])
def test_a_sentinel_is_exempt_from_a_bound(order: list[str]) -> None:
    """A house is never renovated before it is built, a renovation year of 0 (never) aside: the
    order holds with the sentinel's rows exempt, whichever column comes first (3.5% of kc_house's
    synthetic renovated houses were renovated before they were built); the sentinel's share and
    the renovations' spread are kept."""
    from synthspec.models.cart import _sentinel

    real = _houses(4000)
    assert _sentinel(real["renovated"].to_numpy()) == 0.0 and _sentinel(real["built"].to_numpy()) == 1900.0
    model = CartSynthesizer(HOUSES, Params(visit_sequence=order), 1)
    model.fit(real)
    from synthspec.models.cart import _OWN, _THEIRS

    later = model._models[order[1]]
    # renovated >= built but for its own 0; built <= renovated but for the bound's 0
    assert (later.lower, later.upper) == ((0, -1) if order[1] == "renovated" else (-1, 0))
    assert later.exempt == ((_OWN, 0) if order[1] == "renovated" else (0, _THEIRS))
    synth = model.sample(4000, seed=2)
    done = synth["renovated"] > 0
    assert (synth.loc[done, "renovated"] >= synth.loc[done, "built"]).all()
    assert abs(float(done.mean()) - float((real["renovated"] > 0).mean())) < 0.03
    assert abs(synth.loc[done, "renovated"].median() - real.loc[real["renovated"] > 0, "renovated"].median()) < 5


def test_only_the_sentinel_an_order_needs_is_exempt() -> None:
    """A sale price at least the list price, or 0 for unsold; list prices have a floor of 100
    that 15% of rows hold (a heap at the bound's minimum, a sentinel by shape): only sales of 0
    are exempt, so no sale of a listing at the floor comes in under it (24 did when rows
    holding either column's sentinel were exempt)."""
    from synthspec.models.cart import _OWN

    rng = np.random.default_rng(0)
    n = 4000
    listed = np.where(rng.random(n) < 0.15, 100.0, rng.uniform(100, 1000, n))
    sale = np.where(rng.random(n) < 0.3, 0.0, listed * rng.uniform(1.0, 1.3, n))
    real = pd.DataFrame({"listed": listed, "sale": sale})
    columns = [ModelColumn("listed", "numerical"), ModelColumn("sale", "numerical")]
    model = CartSynthesizer(columns, Params(visit_sequence=["listed", "sale"]), 1)
    model.fit(real)
    assert model._models["sale"].lower == 0 and model._models["sale"].exempt == (_OWN, 0)
    synth = model.sample(n, seed=2)
    sold = synth["sale"] > 0
    assert sold.mean() > 0.6 and (synth.loc[sold, "sale"] >= synth.loc[sold, "listed"]).all()


def test_a_column_drawn_off_a_line_has_no_bound_its_sentinel_escapes() -> None:
    """Off a line, a sentinel comes out near itself, not on it: rows meant to hold it must not
    be mirrored far past the bound (2% of rows were more than 500 above, none in the real rows)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10_000, 4000)
    y = np.where(rng.random(4000) < 0.05, 0.0, x + rng.uniform(0, 50, 4000))
    real = pd.DataFrame({"x": x, "y": y})
    columns = [ModelColumn("x", "numerical"), ModelColumn("y", "numerical")]
    model = CartSynthesizer(columns, Params(visit_sequence=["x", "y"]), 1)
    model.fit(real)
    assert model._models["y"].linear is not None and model._models["y"].lower == -1
    synth = model.sample(4000, seed=2)
    assert (synth["y"] > synth["x"] + 500).mean() < 0.002


def test_sentinels_and_exemptions_save_and_load(tmp_path: Path) -> None:
    import json

    model = CartSynthesizer(HOUSES, Params(visit_sequence=["renovated", "built", "area"]), 1)
    model.fit(_houses(2000))
    model.save(tmp_path)
    saved = json.loads((tmp_path / "model.json").read_text())["columns"]
    assert saved["built"]["exempt"] == [0, 2] and saved["renovated"]["sentinel"] == 0.0
    loaded = CartSynthesizer.load(tmp_path, HOUSES, model.params, 1)
    pd.testing.assert_frame_equal(loaded.sample(900, seed=3), model.sample(900, seed=3))


def test_sentinels_are_extreme_heaps_only() -> None:
    from synthspec.models.cart import _sentinel

    rng = np.random.default_rng(0)
    values = rng.uniform(10, 20, 500)
    assert np.isnan(_sentinel(values))  # no heap
    assert _sentinel(np.r_[values, [9999.0] * 20]) == 9999.0  # an end date of 9999: the largest
    assert np.isnan(_sentinel(np.r_[values, [15.0] * 50]))  # a heap inside the range stands for nothing
    assert np.isnan(_sentinel(np.r_[[0.0] * 500, [1.0] * 5]))  # all but a few: the column, not a sentinel


def test_an_order_is_a_bound_only_beyond_chance() -> None:
    """Two unrelated columns whose ranges overlap a little may be in order in a dozen rows by
    chance, never in a thousand; ranges that do not overlap make an order every pair keeps,
    and no bound."""
    from synthspec.models.cart import _by_chance

    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 10, 2000), rng.uniform(8, 18, 2000)
    held = y >= x
    few, many = np.flatnonzero(held)[:12], np.flatnonzero(held)[:1000]
    assert _by_chance(y[few], x[few], True, len(few))
    assert not _by_chance(y[many], x[many], True, len(many))
    assert _by_chance(x[many] + 100, x[many], True, len(many))  # q = 0: a thousand rows prove nothing


def test_a_small_table_of_measurements_keeps_its_lines() -> None:
    """25 states' output, capital and labour (R's TranspEq): under 30 distinct values, but one
    row each, so measurements, not levels: drawn off their lines, not copied (donated exactly
    as levels, r 0.95 came out 0.23 and every value was a real one)."""
    rng = np.random.default_rng(4)
    size = rng.lognormal(4, 1.2, 25)
    real = pd.DataFrame({"va": size * rng.lognormal(0, 0.1, 25), "capital": 0.1 * size * rng.lognormal(0, 0.25, 25),
                         "labor": 0.15 * size * rng.lognormal(0, 0.1, 25)})
    columns = [ModelColumn(c, "numerical") for c in real.columns]
    model = CartSynthesizer(columns, Params(), 1)
    model.fit(real)
    assert model._models["labor"].linear is not None
    synth = model.sample(25, seed=2)
    for a, b in (("va", "labor"), ("va", "capital")):
        assert np.corrcoef(synth[a], synth[b])[0, 1] > np.corrcoef(real[a], real[b])[0, 1] - 0.1, (a, b)
    assert not synth["labor"].isin(real["labor"]).any()


def test_few_values_held_by_many_rows_are_still_levels() -> None:
    real = pd.DataFrame({"x": np.random.default_rng(0).normal(size=200),
                         "stars": np.random.default_rng(1).integers(1, 6, 200).astype(float)})
    columns = [ModelColumn("x", "numerical"), ModelColumn("stars", "numerical", integer=True)]
    model = CartSynthesizer(columns, Params(visit_sequence=["x", "stars"]), 1)
    model.fit(real)
    assert model.sample(200, seed=2)["stars"].isin([1.0, 2.0, 3.0, 4.0, 5.0]).all()


def test_a_bound_drawn_off_a_line_exempts_nothing() -> None:
    """The bound's own sentinel comes out near itself when the bound is drawn off a line, so no
    row would be exempt where it should: no bound (2.4% of rows were mirrored across a near-zero
    bound, more than 500 from their line; none in the real rows)."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 10_000, 4000)
    k = np.where(rng.random(4000) < 0.05, 0.0, x + rng.uniform(50, 100, 4000))
    real = pd.DataFrame({"x": x, "k": k, "z": x + rng.uniform(-50, 50, 4000)})
    columns = [ModelColumn(c, "numerical") for c in real.columns]
    model = CartSynthesizer(columns, Params(visit_sequence=["x", "k", "z"]), 1)
    model.fit(real)
    assert model._models["k"].linear is not None and model._models["z"].upper == -1
    synth = model.sample(4000, seed=2)
    assert ((synth["z"] - synth["x"]).abs() > 500).mean() < 0.002


def test_an_exemption_saved_as_one_flag_loads_as_both_sentinels(tmp_path: Path) -> None:
    """Format 8 first saved one flag for both sentinels (``true``): it loads as both bits."""
    import json

    from synthspec.models.cart import _OWN, _THEIRS

    model = CartSynthesizer(HOUSES, Params(visit_sequence=["renovated", "built", "area"]), 1)
    model.fit(_houses(2000))
    model.save(tmp_path)
    meta = json.loads((tmp_path / "model.json").read_text())
    meta["columns"]["built"]["exempt"] = [False, True]
    (tmp_path / "model.json").write_text(json.dumps(meta))
    loaded = CartSynthesizer.load(tmp_path, HOUSES, model.params, 1)
    assert loaded._models["built"].exempt == (0, _OWN | _THEIRS)
