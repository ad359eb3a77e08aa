"""Foreign keys in the engine (`synthspec.engine.relational`): children counts, calibration,
totals, layout of a child's rows, self-references; and the relational metrics, with SDMetrics'
CardinalityShapeSimilarity as the reference for `cardinality_similarity`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import ks_2samp

from synthspec.engine import codec
from synthspec.engine.columns import ColumnPlan
from synthspec.engine.relational import (
    CHILDREN,
    Relations,
    RelationStats,
    SyntheticParent,
    assign_self_references,
    calibrate,
    child_rows,
    children_counts,
    context_columns,
    count_model_columns,
    derived_seed,
    fit_count_model,
    fit_total,
    layout,
    lookup,
    sample_counts,
    tilted_quantiles,
)
from synthspec.metrics.relational import (
    cardinality_similarity,
    key_uniqueness,
    referential_integrity,
)
from synthspec.models.base import ModelColumn
from synthspec.spec.models import ColumnSpec
from synthspec.spec.relations import Reference

PARENT_COLUMNS = [ModelColumn("segment", "categorical"), ModelColumn("age", "numerical")]
ORDERS = Reference("orders", "customer_id", "customers", "customer_id")
PRODUCTS = Reference("orders", "product_id", "products", "product_id")
REFERRER = Reference("customers", "referred_by", "customers", "customer_id")


def customers(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Parent attributes and a children count that depends on the segment (vip: many)."""
    rng = np.random.default_rng(seed)
    vip = rng.random(n) < 0.3
    frame = pd.DataFrame({"segment": np.where(vip, "vip", "regular").astype(object),
                          "age": rng.integers(18, 80, n).astype(np.float64)})
    counts = np.where(vip, rng.poisson(6, n), rng.poisson(0.5, n)).astype(np.int64)
    return frame, counts


# --- small functions -------------------------------------------------------------------------


def test_derived_seed_is_stable_independent_and_32_bit() -> None:
    assert derived_seed(7, "counts", "customer_id") == derived_seed(7, "counts", "customer_id")
    seeds = {derived_seed(7, "counts", "a"), derived_seed(7, "counts", "b"), derived_seed(8, "counts", "a"),
             derived_seed(7, "rows", "a"), derived_seed(7)}
    assert len(seeds) == 5
    assert all(0 <= s < 2**32 for s in seeds)


def test_children_counts_include_childless_parents_and_ignore_nulls_and_dangling_keys() -> None:
    parents = pd.Series([10, 20, 30, 40])
    fk = pd.Series([10, 10, None, 30, 99, 10, None], dtype="Int64")
    assert children_counts(parents, fk).tolist() == [3, 0, 1, 0]
    assert children_counts(parents, pd.Series([], dtype="Int64")).tolist() == [0, 0, 0, 0]
    strings = children_counts(pd.Series(["INV-1", "INV-2"]), pd.Series(["INV-2", "INV-2", None], dtype=object))
    assert strings.tolist() == [0, 2]


def test_lookup_returns_each_childs_parent_row_and_nulls_for_missing_parents() -> None:
    frame = pd.DataFrame({"segment": ["vip", "regular", "vip"], "age": [30.0, 40.0, 50.0]})
    keys = pd.Series([7, 8, 9])
    out = lookup(frame, keys, pd.Series([9, None, 7, 123, 9], dtype="Int64"))
    assert len(out) == 5
    assert out["segment"].tolist() == ["vip", None, "vip", None, "vip"]
    assert out["age"].tolist()[0] == 50.0 and np.isnan(out["age"][1]) and out["age"][2] == 30.0 and np.isnan(out["age"][3])


def test_lookup_against_an_empty_parent_is_all_null() -> None:
    frame = pd.DataFrame({"segment": pd.Series([], dtype=object), "age": pd.Series([], dtype=float)})
    out = lookup(frame, pd.Series([], dtype="Int64"), pd.Series([1, None], dtype="Int64"))
    assert len(out) == 2 and out.isna().all(axis=None)


def test_context_and_count_model_columns() -> None:
    renamed = context_columns(ORDERS, PARENT_COLUMNS)
    assert [c.name for c in renamed] == ["customer_id.segment", "customer_id.age"]
    assert [c.kind for c in renamed] == ["categorical", "numerical"]
    counts = count_model_columns(PARENT_COLUMNS)
    assert counts[-1] == ModelColumn(CHILDREN, "numerical", integer=True, low=0.0)


def test_relation_stats_histogram() -> None:
    stats = RelationStats.of(0.25, np.array([0, 2, 0, 1, 2, 2]))
    assert stats.null_share == 0.25
    assert stats.histogram == [(0, 2), (1, 1), (2, 3)]


# --- calibrate and fit_total ------------------------------------------------------------------


def test_calibrate_restores_the_real_distribution_and_keeps_the_ranking() -> None:
    rng = np.random.default_rng(0)
    histogram = [(0, 50), (1, 30), (3, 15), (10, 5)]
    drawn = rng.integers(0, 40, 100).astype(np.float64)  # the wrong shape entirely
    out = calibrate(drawn, histogram, np.random.default_rng(1))
    assert sorted(out.tolist()) == sorted(np.repeat([0, 1, 3, 10], [50, 30, 15, 5]).tolist())
    # rank preserving: a parent drawn more children never gets fewer than one drawn less
    order = np.argsort(drawn, kind="stable")
    for a, b in zip(order[:-1], order[1:], strict=True):
        if drawn[a] < drawn[b]:
            assert out[a] <= out[b]
    # another number of synthetic parents: the real quantiles, scaled
    out = calibrate(np.zeros(10), histogram, np.random.default_rng(1))
    assert sorted(out.tolist()) == [0, 0, 0, 0, 0, 1, 1, 1, 3, 10]


def test_calibrate_without_a_histogram_or_rows() -> None:
    assert calibrate(np.array([2.0, 0.0]), [], np.random.default_rng(0)).tolist() == [2, 0]
    assert calibrate(np.zeros(0), [(1, 3)], np.random.default_rng(0)).tolist() == []


@pytest.mark.parametrize("total", [0, 5, 37, 60, 200])
def test_fit_total_hits_the_total_without_negatives(total: int) -> None:
    counts = np.array([0, 5, 10, 1, 0, 20, 3, 1])  # sums to 40
    out = fit_total(counts, total, np.random.default_rng(3))
    assert out.sum() == total and (out >= 0).all()
    if total <= counts.sum():
        assert (out <= counts).all()  # only removals
    else:
        assert (out >= counts).all()  # only additions
        assert out[0] == 0 and out[4] == 0  # in proportion: childless parents stay childless
    assert counts.tolist() == [0, 5, 10, 1, 0, 20, 3, 1]  # not modified in place


def test_fit_total_removes_spare_children_first_so_parents_keep_having_children() -> None:
    counts = np.array([1, 1, 1, 4, 0, 3])  # 5 children beyond each parent's first
    out = fit_total(counts, 7, np.random.default_rng(0))
    assert out.sum() == 7 and out[[0, 1, 2]].tolist() == [1, 1, 1] and out[4] == 0  # only 4 and 3 gave
    assert ((out > 0) == (counts > 0)).all()
    # fewer than one child each: only then does a parent lose its last one
    assert fit_total(counts, 3, np.random.default_rng(0)).tolist().count(0) == 3


def test_fit_total_from_all_zero_counts_spreads_uniformly() -> None:
    out = fit_total(np.zeros(1000, np.int64), 3000, np.random.default_rng(0))
    assert out.sum() == 3000 and (out > 0).mean() > 0.9
    assert fit_total(np.zeros(0, np.int64), 0, np.random.default_rng(0)).tolist() == []


# --- exact totals: the tilted quantiles ----------------------------------------------------------


def test_tilted_quantiles_without_a_total_are_the_real_quantiles() -> None:
    values, weights = np.array([0, 1, 3, 10]), np.array([50.0, 30.0, 15.0, 5.0])
    assert tilted_quantiles(values, weights, 10, None).tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 3, 10]
    assert tilted_quantiles(values, weights, 100, None).tolist() == np.repeat(values, [50, 30, 15, 5]).tolist()


@pytest.mark.parametrize("total", [80, 100, 108, 150, 300])
def test_tilted_quantiles_reach_the_total_on_the_real_counts_only(total: int) -> None:
    values, weights = np.array([0, 1, 3, 10]), np.array([50.0, 30.0, 15.0, 5.0])  # mean 1.25
    out = tilted_quantiles(values, weights, 100, total)
    assert set(out.tolist()) <= set(values.tolist())
    assert np.all(np.diff(out) >= 0)
    assert abs(int(out.sum()) - total) <= 10  # within one gap between neighbouring counts
    untilted = (tilted_quantiles(values, weights, 100, None) == 0).sum()
    zeros = (out == 0).sum()
    assert zeros <= untilted if total >= 125 else zeros >= untilted  # more children, fewer childless


def test_tilted_quantiles_beyond_the_support_and_degenerate() -> None:
    values, weights = np.array([1, 2]), np.array([3.0, 1.0])
    assert tilted_quantiles(values, weights, 4, 100).tolist() == [2, 2, 2, 2]  # fit_total does the rest
    assert tilted_quantiles(values, weights, 4, 0).tolist() == [1, 1, 1, 1]
    assert tilted_quantiles(np.array([7]), np.array([40.0]), 3, 20).tolist() == [7, 7, 7]


def test_calibrate_to_a_total_on_a_tiny_parent() -> None:
    """8 employees, 3 of them support reps with 18-21 customers each (59 in all); the model
    saw 6 of them (the holdout took 2 without customers), whose mean would give 8 parents 79."""
    histogram = RelationStats.of(0.0, np.array([0, 0, 0, 18, 20, 21])).histogram
    drawn = np.array([0.0, 0.0, 0.0, 0.0, 5.0, 5.0, 5.0, 5.0])
    assert calibrate(drawn, histogram, np.random.default_rng(0)).sum() == 79  # the old drift
    for seed in range(5):
        out = calibrate(drawn, histogram, np.random.default_rng(seed), total=59)
        assert sorted(out.tolist()) == [0, 0, 0, 0, 0, 18, 20, 21]
        assert (out[:4] == 0).all()  # the ranking holds: parents drawn 0 stay childless


@pytest.mark.parametrize(("n", "factor"), [(5000, 1.0), (5000, 1.05), (5000, 0.95), (700, 1.0), (60, 1.0)])
def test_calibrate_to_a_total_keeps_a_skewed_distribution(n: int, factor: float) -> None:
    rng = np.random.default_rng(n)
    real = rng.negative_binomial(1.2, 0.25, n)  # many childless parents, a long tail
    train = real[: int(n * 0.8)]
    total = round(real.sum() * factor)
    drawn = rng.random(n)
    out = calibrate(drawn, RelationStats.of(0.0, train).histogram, np.random.default_rng(0), total=total)
    assert out.sum() == total and (out >= 0).all()
    assert cardinality_similarity(real, out) >= 0.9
    order = np.argsort(drawn)
    assert np.corrcoef(np.arange(n), out[order])[0, 1] > 0.8  # still ranked by the draws
    again = calibrate(drawn, RelationStats.of(0.0, train).histogram, np.random.default_rng(0), total=total)
    assert np.array_equal(out, again)


def test_child_rows_follow_the_driving_parents_scale() -> None:
    assert child_rows(412, explicit=False, real_parents=59, synthetic_parents=59) == 412
    assert child_rows(412, explicit=False, real_parents=59, synthetic_parents=118) == 824
    assert child_rows(500, explicit=True, real_parents=59, synthetic_parents=118) == 500
    assert child_rows(412, explicit=False, real_parents=0, synthetic_parents=0) == 412


# --- count models and layout -----------------------------------------------------------------


def fitted_relations(refs: list[Reference], frame: pd.DataFrame, counts: np.ndarray, null_share: float,
                     given: list[str] | None = None) -> Relations:
    relations = Relations(refs, given or [])
    for ref in refs:
        relations.counts[ref.column] = fit_count_model(frame, PARENT_COLUMNS, counts, seed=1)
        relations.stats[ref.column] = RelationStats.of(null_share, counts)
    return relations


def test_count_model_samples_more_children_for_the_parents_that_have_more() -> None:
    frame, counts = customers()
    model = fit_count_model(frame, PARENT_COLUMNS, counts, seed=1)
    synthetic, _ = customers(n=600, seed=9)
    drawn = sample_counts(model, RelationStats.of(0.0, counts), synthetic, seed=4)
    vip = synthetic["segment"].eq("vip").to_numpy()
    assert drawn[vip].mean() > 3 * drawn[~vip].mean()
    assert cardinality_similarity(counts, drawn) > 0.9
    assert sample_counts(model, RelationStats.of(0.0, counts), synthetic.iloc[:0], seed=4).tolist() == []
    again = sample_counts(model, RelationStats.of(0.0, counts), synthetic, seed=4)
    assert np.array_equal(drawn, again)


def test_layout_of_a_child_follows_its_driving_parent() -> None:
    frame, counts = customers()
    relations = fitted_relations([ORDERS], frame, counts, null_share=0.2, given=["customer_id.segment", "customer_id.age"])
    synthetic, _ = customers(n=300, seed=5)
    keys = pd.Series(np.arange(1000, 1300))
    out = layout(relations, {"customers": SyntheticParent(synthetic, keys)}, rows=900, seed=3)
    fk = out.foreign_keys["customer_id"]
    assert len(fk) == out.n == len(out.given) == 900
    linked = fk.notna()
    assert (~linked).sum() == 180  # orphans at the real null share
    assert fk[linked].isin(keys).all()
    # each row's context is its parent's attributes; orphans get no context
    position = fk[linked].astype(np.int64).to_numpy() - 1000
    assert out.given.loc[linked.to_numpy(), "customer_id.segment"].tolist() == synthetic["segment"].to_numpy()[position].tolist()
    assert out.given.loc[~linked.to_numpy()].isna().all(axis=None)
    again = layout(relations, {"customers": SyntheticParent(synthetic, keys)}, rows=900, seed=3)
    assert again.foreign_keys["customer_id"].equals(fk)


def test_layout_with_an_explicit_row_count() -> None:
    frame, counts = customers()
    relations = fitted_relations([ORDERS], frame, counts, null_share=0.1)
    synthetic, _ = customers(n=200, seed=5)
    out = layout(relations, {"customers": SyntheticParent(synthetic, pd.Series(np.arange(200)))}, rows=500, seed=3)
    fk = out.foreign_keys["customer_id"]
    assert out.n == 500 and len(fk) == 500 and out.given is None
    assert fk.isna().sum() == 50


def test_layout_assigns_a_second_reference_by_its_own_count_model() -> None:
    frame, counts = customers()
    relations = fitted_relations([ORDERS, PRODUCTS], frame, counts, null_share=0.0)
    relations.stats["product_id"] = RelationStats.of(0.25, counts)
    people, _ = customers(n=200, seed=5)
    products, _ = customers(n=50, seed=6)
    parents = {"customers": SyntheticParent(people, pd.Series(np.arange(200))),
               "products": SyntheticParent(products, pd.Series([f"P-{i:03d}" for i in range(50)], dtype=object))}
    out = layout(relations, parents, rows=700, seed=2)
    product = out.foreign_keys["product_id"]
    assert len(product) == out.n == 700
    assert abs(product.isna().mean() - 0.25) < 0.01
    assert product.dropna().isin(parents["products"].keys).all()
    per_product = product.dropna().value_counts()
    vip = products["segment"].eq("vip").to_numpy()
    got = per_product.reindex(parents["products"].keys).fillna(0).to_numpy()
    assert got[vip].mean() > got[~vip].mean()


def test_layout_of_a_link_table_keeps_every_row_and_no_repeated_pair() -> None:
    """order_tags(order_id, tag_id): 8 tags, up to 4 per order. Pairs the swaps cannot
    separate move to a free tag instead of being dropped."""
    frame, counts = customers()
    tags, _ = customers(n=8, seed=6)
    relations = fitted_relations([ORDERS, PRODUCTS], frame, np.minimum(counts, 4), null_share=0.0)
    relations.stats["product_id"] = RelationStats.of(0.0, np.array([400, 300, 200, 100, 100, 60, 30, 10]))
    people, _ = customers(n=300, seed=5)
    parents = {"customers": SyntheticParent(people, pd.Series(np.arange(300))),
               "products": SyntheticParent(tags, pd.Series(np.arange(8)))}
    rows = int(np.minimum(counts, 4).sum() * 0.75)
    out = layout(relations, parents, rows=rows, seed=2, unique=["customer_id", "product_id"])
    pairs = pd.DataFrame(out.foreign_keys)
    assert out.n == rows and not pairs.duplicated().any()


def test_self_references_never_point_at_their_own_row() -> None:
    frame, counts = customers()
    relations = fitted_relations([REFERRER], frame, np.minimum(counts, 3), null_share=0.6)
    synthetic, _ = customers(n=300, seed=8)
    keys = pd.Series([f"C-{i:04d}" for i in range(300)], dtype=object)
    (values,) = assign_self_references(relations, synthetic, keys, seed=4).values()
    assert len(values) == 300
    assert abs(values.isna().mean() - 0.6) < 0.01
    assert values.dropna().isin(keys).all()
    assert not (values == keys).any()


def test_relations_save_and_load(tmp_path: Path) -> None:
    frame, counts = customers()
    relations = fitted_relations([ORDERS], frame, counts, null_share=0.2, given=["customer_id.segment"])
    relations.save(tmp_path)
    loaded = Relations.load(tmp_path, [ORDERS], {"customer_id": count_model_columns(PARENT_COLUMNS)})
    assert loaded.given == ["customer_id.segment"] and loaded.driving == ORDERS
    assert loaded.stats["customer_id"].histogram == relations.stats["customer_id"].histogram
    synthetic, _ = customers(n=100, seed=5)
    a = sample_counts(relations.counts["customer_id"], relations.stats["customer_id"], synthetic, seed=1)
    b = sample_counts(loaded.counts["customer_id"], loaded.stats["customer_id"], synthetic, seed=1)
    assert np.array_equal(a, b)


def test_driving_reference_is_the_first_to_another_table() -> None:
    assert Relations([REFERRER]).driving is None
    assert Relations([Reference("orders", "parent", "orders", "order_id"), ORDERS, PRODUCTS]).driving == ORDERS


# --- composite keys in the codec -------------------------------------------------------------


def composite_plans(line_first: bool) -> list[ColumnPlan]:
    order = ColumnPlan("order_id", "VARCHAR", ColumnSpec(type="id", primary_key=True, references="orders.order_id"))
    line = ColumnPlan("line_no", "INTEGER", ColumnSpec(type="id", primary_key=True))
    qty = ColumnPlan("quantity", "DOUBLE", ColumnSpec(type="numerical"))
    return [line, order, qty] if line_first else [order, line, qty]


def decode_lines(line_first: bool) -> pd.DataFrame:
    donors = pd.DataFrame({"order_id": ["a", "a", "b"], "line_no": [1, 2, 1], "quantity": [1.0, 2.0, 3.0]})
    fk = pd.Series(["x", "x", "y", "x", "z"], dtype=object)
    return codec.decode(pd.DataFrame({"quantity": [1.0, 2.0, 3.0, 4.0, 5.0]}), composite_plans(line_first), donors, 5,
                        np.random.default_rng(0), foreign_keys={"order_id": fk})


def test_composite_key_is_numbered_within_each_parent() -> None:
    out = decode_lines(line_first=False)
    assert out["order_id"].tolist() == ["x", "x", "y", "x", "z"]
    assert out["line_no"].tolist() == [1, 2, 1, 3, 1]
    assert key_uniqueness(out, ["order_id", "line_no"]) == 1.0


def test_composite_key_with_the_generated_part_first() -> None:
    out = decode_lines(line_first=True)
    assert out["line_no"].tolist() == [1, 2, 1, 3, 1]


# --- metrics ---------------------------------------------------------------------------------


def test_referential_integrity() -> None:
    parents = pd.Series([1, 2, 3])
    assert referential_integrity(pd.Series([1, 2, None, 3], dtype="Int64"), parents) == 1.0
    assert referential_integrity(pd.Series([1, 4, 4, 2]), parents) == 0.5
    assert referential_integrity(pd.Series([None, None], dtype=object), parents) == 1.0
    assert referential_integrity(pd.Series([], dtype=object), parents) == 1.0
    # compared as text: an int64 key matches the same key read back as another integer type
    assert referential_integrity(pd.Series([1, 2], dtype="Int32"), pd.Series([1, 2], dtype="int64")) == 1.0


def test_key_uniqueness() -> None:
    assert key_uniqueness(pd.DataFrame({"id": [1, 2, 3]}), ["id"]) == 1.0
    assert key_uniqueness(pd.DataFrame({"id": [1, 1, 2, 3]}), ["id"]) == 0.5
    assert key_uniqueness(pd.DataFrame({"id": [1, None, 2]}), ["id"]) == pytest.approx(2 / 3)
    frame = pd.DataFrame({"order_id": ["a", "a", "b", "b"], "line_no": [1, 2, 1, 1]})
    assert key_uniqueness(frame, ["order_id", "line_no"]) == 0.5
    assert key_uniqueness(frame.iloc[:0], ["order_id", "line_no"]) == 1.0


def sdmetrics_cardinality(real_counts: np.ndarray, synthetic_counts: np.ndarray) -> float:
    """SDMetrics' CardinalityShapeSimilarity over a parent/child pair built from the counts."""
    from sdmetrics.multi_table.statistical import CardinalityShapeSimilarity

    def tables(counts: np.ndarray) -> dict[str, pd.DataFrame]:
        parent = pd.DataFrame({"pid": np.arange(len(counts))})
        child = pd.DataFrame({"cid": np.arange(int(counts.sum())), "pid": np.repeat(np.arange(len(counts)), counts)})
        return {"parent": parent, "child": child}

    metadata = {
        "tables": {"parent": {"primary_key": "pid", "columns": {"pid": {"sdtype": "id"}}},
                   "child": {"primary_key": "cid", "columns": {"cid": {"sdtype": "id"}, "pid": {"sdtype": "id"}}}},
        "relationships": [{"parent_table_name": "parent", "parent_primary_key": "pid",
                           "child_table_name": "child", "child_foreign_key": "pid"}],
    }
    return float(CardinalityShapeSimilarity.compute(tables(real_counts), tables(synthetic_counts), metadata))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cardinality_similarity_matches_sdmetrics_and_ks_2samp(seed: int) -> None:
    rng = np.random.default_rng(seed)
    real = rng.poisson(2.0, 300)
    synthetic = rng.poisson(2.0 + seed * 0.7, 250 + 40 * seed)
    ours = cardinality_similarity(real, synthetic)
    assert ours == pytest.approx(1 - ks_2samp(real, synthetic).statistic, abs=1e-12)
    assert ours == pytest.approx(sdmetrics_cardinality(real, synthetic), abs=1e-12)


def test_cardinality_similarity_edge_cases() -> None:
    counts = np.array([0, 1, 1, 4])
    assert cardinality_similarity(counts, counts[::-1]) == 1.0
    assert cardinality_similarity(np.zeros(5), np.full(5, 3)) == 0.0
    assert cardinality_similarity(np.array([]), np.array([])) == 1.0
    assert cardinality_similarity(np.array([1]), np.array([])) == 0.0
    assert 0.0 <= cardinality_similarity(np.array([0, 0, 1]), np.array([0, 1, 1, 2])) <= 1.0
