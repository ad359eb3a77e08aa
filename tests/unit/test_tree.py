"""The cart model's trees (synthspec.models.tree): CART on binned predictors, checked against
scikit-learn's exact CART as the reference implementation."""

from __future__ import annotations

import numpy as np
import pytest

from synthspec.models.cart import _Tree
from synthspec.models.tree import MAX_BINS, bin_edges, binned, grow


def _leaves(tree, x: np.ndarray) -> np.ndarray:
    return _Tree.from_grown(tree)._route_numpy(x)


def _impurity(leaves: np.ndarray, y: np.ndarray, classify: bool) -> float:
    """Mean Gini impurity (or squared error) of the leaves, weighted by rows."""
    _, leaf = np.unique(leaves, return_inverse=True)
    if classify:
        counts = np.zeros((leaf.max() + 1, y.max() + 1))
        np.add.at(counts, (leaf, y), 1)
        n = counts.sum(axis=1)
        return float((n - (counts**2).sum(axis=1) / n).sum() / len(y))
    n, s, s2 = np.bincount(leaf), np.bincount(leaf, y), np.bincount(leaf, y**2)
    return float((s2 - s**2 / n).sum() / len(y))


def _data(n: int = 4000, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack([
        rng.normal(40, 12, n).round(),  # integer-valued, ~80 levels
        rng.lognormal(10, 1, n),  # continuous: more distinct values than bins
        rng.integers(0, 7, n),  # category codes
        np.where(rng.random(n) < 0.8, 0.0, rng.integers(1, 900, n)),  # a point mass at 0
    ]).astype(np.float32)
    x[rng.random(n) < 0.15, 1] = np.nan
    number = x[:, 0] * 3 + np.nan_to_num(np.log(x[:, 1]), nan=8) * 5 + (x[:, 2] == 3) * 20 + rng.normal(0, 5, n)
    label = ((x[:, 0] > 45).astype(int) + (x[:, 2] % 3 == 0) + (np.isnan(x[:, 1])) * 2).astype(np.int64)
    return x, number.astype(np.float64), label


@pytest.mark.parametrize("classify", [True, False])
def test_trees_are_as_good_as_scikit_learns_exact_cart(classify: bool) -> None:
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    x, number, label = _data()
    y = label if classify else number
    ours = _leaves(grow(x, y, classify=classify, min_samples_leaf=50), x)
    reference = (DecisionTreeClassifier if classify else DecisionTreeRegressor)(min_samples_leaf=50, random_state=0)
    theirs = reference.fit(x, y).apply(x)
    assert np.bincount(ours).max() > 0 and np.unique(ours).size > 5
    assert _impurity(ours, y, classify) <= _impurity(theirs, y, classify) * 1.02


def test_leaves_hold_min_samples_leaf_and_missing_values_follow_the_learnt_side() -> None:
    x, number, label = _data()
    tree = grow(x, label, classify=True, min_samples_leaf=120)
    leaves = _leaves(tree, x)
    sizes = np.bincount(leaves, minlength=len(tree.left))[tree.left == -1]
    assert sizes.min() >= 120
    # Missing income is most of what decides label 2 and 3: some cut sends it apart.
    cuts = (tree.feature == 1) & (tree.left != -1)
    assert cuts.any()
    assert (tree.threshold[tree.left != -1] != -2).all() and (tree.feature[tree.left == -1] == -2).all()


def test_growing_is_deterministic_and_needs_no_seed() -> None:
    x, number, _ = _data()
    a = grow(x, number, classify=False, min_samples_leaf=30)
    b = grow(x.copy(), number.copy(), classify=False, min_samples_leaf=30)
    for field in ("left", "right", "feature", "threshold", "missing_left"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_pure_or_small_nodes_are_not_split_and_max_depth_holds() -> None:
    x, number, label = _data(n=300)
    assert len(grow(x, np.zeros(300, np.int64), classify=True, min_samples_leaf=5).left) == 1
    assert len(grow(x, np.full(300, 7.0), classify=False, min_samples_leaf=5).left) == 1
    assert len(grow(x, label, classify=True, min_samples_leaf=151).left) == 1
    shallow = grow(x, number, classify=False, min_samples_leaf=2, max_depth=2)
    assert len(shallow.left) <= 7
    assert len(grow(x[:0], number[:0], classify=False, min_samples_leaf=2).left) == 1
    with pytest.raises(ValueError, match="non-negative"):
        grow(x, label - 1, classify=True, min_samples_leaf=5)


def test_many_classes_are_scored_in_passes_within_the_cell_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A target with many classes (a many-valued category) is split over several histogram
    passes; the tree is the one a single pass finds."""
    import synthspec.models.tree as tree_module

    rng = np.random.default_rng(1)
    x = rng.normal(size=(3000, 3)).astype(np.float32)
    y = (np.digitize(x[:, 0], np.linspace(-2, 2, 60)) + rng.integers(0, 3, 3000)).astype(np.int64)
    whole = grow(x, y, classify=True, min_samples_leaf=20)
    monkeypatch.setattr(tree_module, "_CELL_BUDGET", 5000)
    parts = grow(x, y, classify=True, min_samples_leaf=20)
    for field in ("left", "feature", "threshold", "missing_left"):
        np.testing.assert_array_equal(getattr(whole, field), getattr(parts, field))


def test_bins_put_each_value_on_one_side_of_every_edge() -> None:
    rng = np.random.default_rng(2)
    few = np.array([3, 1, 2, 2, np.nan, 5], np.float32)
    edges = bin_edges(few)
    np.testing.assert_allclose(edges, [1.5, 2.5, 4.0])
    np.testing.assert_array_equal(binned(few, edges), [3, 1, 2, 2, 0, 4])
    many = rng.lognormal(size=50_000).astype(np.float32)
    many[:20_000] = 0.0  # a heavy value keeps a bin of its own
    edges = bin_edges(many)
    assert len(edges) <= MAX_BINS - 1 and np.all(np.diff(edges) > 0)
    b = binned(many, edges)
    assert (b[:20_000] == 1).all()
    # Binning agrees with routing by threshold: x <= edges[k - 1] exactly for bins <= k.
    for k in (1, 17, len(edges)):
        np.testing.assert_array_equal(b <= k, many <= edges[k - 1])
    assert bin_edges(np.array([np.nan], np.float32)).size == 0
