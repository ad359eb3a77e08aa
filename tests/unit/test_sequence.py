"""Per-parent sequences (synthspec.engine.sequence): positions, histories, the event-by-event
draw with a real cart model, and re-sorting after constraints."""

from __future__ import annotations

import numpy as np
import pandas as pd

from synthspec.engine import sequence as sq
from synthspec.models.base import ModelColumn
from synthspec.models.cart import CartSynthesizer
from synthspec.models.params import CartParams


def test_positions_lengths_and_histories_follow_each_parent_in_time_order() -> None:
    groups = np.array([1, 0, 1, -1, 1, 0, -1])
    times = np.array([30.0, 5.0, 10.0, 7.0, np.nan, 1.0, 2.0])
    position, length, order = sq.layout(groups, times)
    np.testing.assert_array_equal(position, [1, 1, 0, 0, 2, 0, 0])
    np.testing.assert_array_equal(length, [3, 2, 3, 1, 3, 2, 1])  # a null key: a sequence of one
    assert list(order) == [5, 1, 2, 0, 4, 3, 6]
    modelled, context = sq.training(pd.DataFrame({"t": times}), groups, "t")
    # First events keep their value, later ones become the gap since the previous event; an
    # event without a time keeps the last known one as its previous.
    np.testing.assert_array_equal(modelled["t"], [20.0, 4.0, 10.0, 7.0, np.nan, 1.0, 2.0])
    np.testing.assert_array_equal(context[sq.PREVIOUS], [10.0, 1.0, np.nan, np.nan, 30.0, np.nan, np.nan])
    np.testing.assert_array_equal(context[sq.PREVIOUS_GAP], [np.nan, np.nan, np.nan, np.nan, 20.0, np.nan, np.nan])
    np.testing.assert_array_equal(sorted(sq.gaps(groups, times)), [4.0, 20.0])


def test_reorder_sorts_each_sequence_back_into_event_order() -> None:
    groups = np.array([0, 0, 0, 1, 1])
    frame = pd.DataFrame({"t": [1.0, 9.0, 5.0, 3.0, 4.0], "x": list("abcde")})
    fixed = sq.reorder(frame, groups, "t")
    assert fixed["t"].tolist() == [1.0, 5.0, 9.0, 3.0, 4.0] and fixed["x"].tolist() == list("abcde")
    assert sq.reorder(fixed, groups, "t") is fixed  # already in order: untouched


def test_event_by_event_draw_keeps_order_and_a_regular_schedule() -> None:
    """Parents whose events come every 7 units from a start that depends on the parent: drawn
    event by event, every sequence is ordered and the gaps stay 7."""
    rng = np.random.default_rng(0)
    parents = 200
    kind = rng.choice(["early", "late"], parents)
    counts = rng.integers(1, 6, parents)
    rows = []
    for p in range(parents):
        start = (0.0 if kind[p] == "early" else 100.0) + rng.integers(0, 3)
        rows += [{"p": p, "parent.kind": str(kind[p]), "t": start + 7.0 * k, "v": float(k + rng.normal())}
                 for k in range(counts[p])]
    real = pd.DataFrame(rows)
    groups = real["p"].to_numpy()
    given = [ModelColumn("parent.kind", "categorical"), *sq.CONTEXT]
    columns = [*given, ModelColumn("t", "numerical"), ModelColumn("v", "numerical")]
    modelled, context = sq.training(real[["t", "v"]], groups, "t")
    params = CartParams(min_samples_leaf=5, visit_sequence=[c.name for c in given])
    model = CartSynthesizer(columns, params, seed=3)
    model.fit(pd.concat([real[["parent.kind"]].astype(object), context, modelled], axis=1))

    layout_groups = np.repeat(np.arange(parents), counts)
    parent_given = pd.DataFrame({"parent.kind": np.repeat(kind, counts).astype(object)})
    drawn = sq.sample(model, parent_given, layout_groups, "t", seed=9)
    assert list(drawn.columns) == ["t", "v"] and len(drawn) == len(real)
    again = sq.sample(model, parent_given, layout_groups, "t", seed=9)
    pd.testing.assert_frame_equal(drawn, again)
    t = drawn["t"].to_numpy()
    same_parent = layout_groups[1:] == layout_groups[:-1]
    steps = np.diff(t)[same_parent]
    assert (steps >= 0).all()
    assert np.mean(np.isclose(steps, 7.0)) > 0.9
    late = np.repeat(kind == "late", counts)
    first = np.r_[True, ~same_parent]
    assert (t[first & late] >= 100).all() and (t[first & ~late] < 100).all()
    empty = sq.sample(model, parent_given.iloc[:0], layout_groups[:0], "t", seed=9)
    assert len(empty) == 0 and list(empty.columns) == ["t", "v"]


def test_sorted_draw_puts_each_parent_in_order() -> None:
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(150), 3)
    real = pd.DataFrame({"parent.size": rng.normal(size=150).repeat(3), "t": rng.uniform(0, 100, 450)})
    modelled, context = sq.training(real[["t"]], groups, "t", events=False)
    pd.testing.assert_frame_equal(modelled, real[["t"]])  # order_by as it is, no history
    assert context[sq.PREVIOUS].isna().all() and context[sq.POSITION].max() == 2
    given = [ModelColumn("parent.size", "numerical"), *sq.CONTEXT]
    model = CartSynthesizer([*given, ModelColumn("t", "numerical")],
                            CartParams(min_samples_leaf=10, visit_sequence=[c.name for c in given]), seed=2)
    model.fit(pd.concat([real[["parent.size"]], context, modelled], axis=1))
    drawn = sq.sample_sorted(model, real[["parent.size"]], groups, "t", seed=4)
    t = drawn["t"].to_numpy().reshape(150, 3)
    assert (np.diff(t, axis=1) >= 0).all() and t.std() > 10
