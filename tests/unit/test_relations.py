"""The reference graph between specs (`synthspec.spec.relations`): dependency order, publishing
groups, ancestors/descendants, and every lint a user can meet through `validate` and `apply`
(offline: the lint runs before any database is opened)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from synthspec.cli.main import cli
from synthspec.spec.project import load_project
from synthspec.spec.relations import Graph, Reference, primary_key, references_of

SECRET = "a-test-secret-of-32-characters!!"

PROJECT = """
    name: rel
    source: {duckdb: wh.duckdb}
    target: {duckdb: wh.duckdb, schema: synthetic}
    defaults:
      model: {type: cart, seed: 3}
    """


def spec(table: str, columns: str, extra: str = "") -> str:
    body = textwrap.indent(textwrap.dedent(columns).strip("\n"), "  ")
    return f"version: 1\ntable: {table}\nsource: {{table: raw.{table}}}\ncolumns:\n{body}\n{textwrap.dedent(extra)}"


@pytest.fixture
def project(tmp_path: Path, write: Callable[[str, str], Path]) -> Callable[..., Path]:
    """Write the project file and one spec per keyword (table name -> spec text)."""

    def _project(**specs: str) -> Path:
        write("synthspec.yml", PROJECT)
        (tmp_path / "specs").mkdir(exist_ok=True)
        for table, text in specs.items():
            (tmp_path / "specs" / f"{table}.yml").write_text(text)
        return tmp_path

    return _project


def run(root: Path, *args: str):
    result = CliRunner().invoke(cli, [*args, "--project-dir", str(root)], catch_exceptions=False)
    assert "Traceback" not in result.output
    return result


def located(root: Path, table: str, column: str, key: str = "references") -> str:
    """`specs/<table>.yml:line:col:` of ``key`` on the (flow-style) line of ``column``."""
    lines = (root / "specs" / f"{table}.yml").read_text().splitlines()
    for number, line in enumerate(lines, start=1):
        if line.lstrip().startswith(f"{column}:") and f"{key}:" in line:
            return f"specs/{table}.yml:{number}:{line.index(f'{key}:') + 1}:"
    raise AssertionError(f"no line for {column}.{key} in {table}")


CUSTOMERS = spec("customers", """
    customer_id: {type: id, primary_key: true}
    segment:     {type: categorical}
    referred_by: {type: id, references: customers.customer_id}
    """)
PRODUCTS = spec("products", """
    product_id: {type: id, primary_key: true}
    price:      {type: numerical}
    """)
ORDERS = spec("orders", """
    order_id:    {type: id, primary_key: true}
    customer_id: {type: id, references: customers.customer_id}
    amount:      {type: numerical}
    """)
ORDER_ITEMS = spec("order_items", """
    order_id:   {type: id, primary_key: true, references: orders.order_id}
    line_no:    {type: id, primary_key: true}
    product_id: {type: id, references: products.product_id}
    quantity:   {type: numerical}
    """)
STORES = spec("stores", """
    store_id: {type: id, primary_key: true}
    city:     {type: categorical}
    """)
SHIPMENTS = spec("shipments", """
    shipment_id: {type: id, primary_key: true}
    store_id:    {type: id, references: stores.store_id}
    """)


@pytest.fixture
def shop(project: Callable[..., Path]) -> Graph:
    # File names sort as: customers, order_items, orders, products, shipments, stores.
    root = project(customers=CUSTOMERS, products=PRODUCTS, orders=ORDERS, order_items=ORDER_ITEMS,
                   stores=STORES, shipments=SHIPMENTS)
    return Graph(load_project(root).specs)


# --- the graph -----------------------------------------------------------------------------


def test_references_and_primary_keys_in_column_order(shop: Graph) -> None:
    items = shop.specs["order_items"]
    assert references_of(items) == [Reference("order_items", "order_id", "orders", "order_id"),
                                    Reference("order_items", "product_id", "products", "product_id")]
    assert primary_key(items) == ["order_id", "line_no"]
    (self_ref,) = references_of(shop.specs["customers"])
    assert self_ref.self_reference and str(self_ref) == "customers.referred_by -> customers.customer_id"


def test_parents_and_children_ignore_self_references(shop: Graph) -> None:
    assert shop.parents("customers") == []
    assert shop.children("customers") == ["orders"]
    assert shop.parents("order_items") == ["orders", "products"]
    assert shop.children("orders") == ["order_items"]
    assert shop.children("order_items") == []


def test_order_puts_every_parent_before_its_children(shop: Graph) -> None:
    order = shop.order(shop.specs)
    assert sorted(order) == sorted(shop.specs)
    for table in order:
        for parent in shop.parents(table):
            assert order.index(parent) < order.index(table), (parent, table, order)
    # Ties keep spec (file) order; a child of a table outside the selection is not delayed.
    assert order == ["customers", "products", "stores", "orders", "shipments", "order_items"]
    assert shop.order(["order_items", "products"]) == ["products", "order_items"]
    assert shop.order(["shipments"]) == ["shipments"]


def test_groups_are_connected_components_in_dependency_order(shop: Graph) -> None:
    assert shop.groups(shop.specs) == [["customers", "products", "orders", "order_items"], ["stores", "shipments"]]
    # Only references among the given tables link them.
    assert shop.groups(["customers", "products", "stores"]) == [["customers"], ["products"], ["stores"]]
    assert shop.groups(["order_items", "customers", "orders"]) == [["customers", "orders", "order_items"]]


def test_descendants_and_ancestors(shop: Graph) -> None:
    assert shop.descendants(["customers"]) == {"orders", "order_items"}
    assert shop.descendants(["products", "stores"]) == {"order_items", "shipments"}
    assert shop.descendants(["order_items"]) == set()
    assert shop.ancestors("order_items") == {"orders", "customers", "products"}
    assert shop.ancestors("customers") == set()  # a self-reference is no ancestor
    assert shop.ancestors("shipments") == {"stores"}


def test_no_cycles_in_a_tree_with_a_self_reference(shop: Graph) -> None:
    assert shop.cycles() == []


# --- lint through the CLI --------------------------------------------------------------------


def test_a_valid_multi_table_project_validates(project: Callable[..., Path]) -> None:
    root = project(customers=CUSTOMERS, products=PRODUCTS, orders=ORDERS, order_items=ORDER_ITEMS)
    result = run(root, "validate")
    assert result.exit_code == 0, result.output
    assert "4 spec(s) valid" in result.output


def test_self_reference_is_fine(project: Callable[..., Path]) -> None:
    root = project(customers=CUSTOMERS)
    assert run(root, "validate").exit_code == 0


@pytest.mark.parametrize("command", ["validate", "apply"])
def test_reference_to_a_missing_table(project: Callable[..., Path], command: str) -> None:
    root = project(customers=CUSTOMERS, orders=ORDERS.replace("customers.customer_id", "customer.customer_id"))
    result = run(root, command)
    assert result.exit_code == 2
    assert (f"{located(root, 'orders', 'customer_id')} column 'customer_id' references table 'customer', "
            "which has no spec; did you mean 'customers'?") in result.output
    assert not (root / "wh.duckdb").exists()  # refused before any database was opened


def test_reference_to_a_missing_table_without_a_close_match_lists_the_tables(project: Callable[..., Path]) -> None:
    root = project(customers=CUSTOMERS, orders=ORDERS.replace("customers.customer_id", "zzz.customer_id"))
    result = run(root, "validate")
    assert result.exit_code == 2
    assert "references table 'zzz', which has no spec (tables: customers, orders)" in result.output


@pytest.mark.parametrize("command", ["validate", "apply"])
def test_reference_to_a_missing_column(project: Callable[..., Path], command: str) -> None:
    root = project(customers=CUSTOMERS, orders=ORDERS.replace("customers.customer_id", "customers.customer_ids"))
    result = run(root, command)
    assert result.exit_code == 2
    line = next(x for x in result.output.splitlines() if "customer_ids" in x)
    assert line.startswith(located(root, "orders", "customer_id"))
    assert "table 'customers' has no column 'customer_ids'; did you mean 'customer_id'?" in line


@pytest.mark.parametrize("command", ["validate", "apply"])
def test_reference_to_a_column_that_is_not_the_primary_key(project: Callable[..., Path], command: str) -> None:
    root = project(customers=CUSTOMERS, orders=ORDERS.replace("customers.customer_id", "customers.segment"))
    result = run(root, command)
    assert result.exit_code == 2
    assert (f"{located(root, 'orders', 'customer_id')} column 'customer_id' must reference the primary key of "
            "'customers' (a single column with `primary_key: true`): its primary key is (customer_id)") in result.output


def test_reference_to_a_table_without_primary_key(project: Callable[..., Path]) -> None:
    root = project(stores=STORES.replace("{type: id, primary_key: true}", "{type: categorical}"), shipments=SHIPMENTS)
    result = run(root, "validate")
    assert result.exit_code == 2
    assert "must reference the primary key of 'stores' (a single column with `primary_key: true`): it declares no primary_key" in result.output


def test_reference_to_one_part_of_a_composite_primary_key(project: Callable[..., Path]) -> None:
    returns = spec("returns", """
        return_id: {type: id, primary_key: true}
        order_id:  {type: id, references: order_items.order_id}
        """)
    root = project(customers=CUSTOMERS, products=PRODUCTS, orders=ORDERS, order_items=ORDER_ITEMS, returns=returns)
    result = run(root, "validate")
    assert result.exit_code == 2
    assert f"{located(root, 'returns', 'order_id')} column 'order_id' must reference the primary key of 'order_items'" in result.output
    assert "its primary key is (order_id, line_no)" in result.output


@pytest.mark.parametrize("command", ["validate", "apply"])
def test_two_table_cycle(project: Callable[..., Path], command: str) -> None:
    a = spec("a", """
        a_id: {type: id, primary_key: true}
        b_id: {type: id, references: b.b_id}
        """)
    b = spec("b", """
        b_id: {type: id, primary_key: true}
        a_id: {type: id, references: a.a_id}
        """)
    root = project(a=a, b=b)
    result = run(root, command)
    assert result.exit_code == 2
    lines = [x for x in result.output.splitlines() if "reference cycle" in x]
    assert len(lines) == 2, result.output
    assert lines[0].startswith(located(root, "a", "b_id")) and lines[1].startswith(located(root, "b", "a_id"))
    for line in lines:
        assert "a.b_id -> b.b_id" in line and "b.a_id -> a.a_id" in line


@pytest.mark.parametrize("command", ["validate", "apply"])
def test_three_table_cycle(project: Callable[..., Path], command: str) -> None:
    a = spec("a", """
        a_id: {type: id, primary_key: true}
        c_id: {type: id, references: c.c_id}
        """)
    b = spec("b", """
        b_id: {type: id, primary_key: true}
        a_id: {type: id, references: a.a_id}
        """)
    c = spec("c", """
        c_id: {type: id, primary_key: true}
        b_id: {type: id, references: b.b_id}
        x:    {type: numerical}
        """)
    root = project(a=a, b=b, c=c)
    result = run(root, command)
    assert result.exit_code == 2
    lines = [x for x in result.output.splitlines() if "reference cycle" in x]
    assert [x.split(" ", 1)[0] for x in lines] == [located(root, "a", "c_id"), located(root, "b", "a_id"), located(root, "c", "b_id")]
    for line in lines:
        assert all(edge in line for edge in ("a.c_id -> c.c_id", "b.a_id -> a.a_id", "c.b_id -> b.b_id"))
    graph = Graph(load_project(root, lint=False).specs)
    (cycle,) = graph.cycles()  # found once, not once per table
    assert {r.table for r in cycle} == {"a", "b", "c"}


def test_cycle_through_a_self_reference_is_only_the_real_cycle(project: Callable[..., Path]) -> None:
    a = spec("a", """
        a_id:   {type: id, primary_key: true}
        parent: {type: id, references: a.a_id}
        b_id:   {type: id, references: b.b_id}
        """)
    b = spec("b", """
        b_id: {type: id, primary_key: true}
        a_id: {type: id, references: a.a_id}
        """)
    root = project(a=a, b=b)
    cycles = Graph(load_project(root, lint=False).specs).cycles()
    assert len(cycles) == 1 and all(not r.self_reference for r in cycles[0])


DP_CUSTOMERS = spec("customers", """
    customer_id: {type: id, primary_key: true}
    segment:     {type: categorical, values: [a, b], domain: public}
    """, """
    model: {type: dp_bayes}
    privacy: {epsilon: 1.0}
    """)


@pytest.mark.parametrize("command", ["validate", "apply"])
def test_differentially_private_parent_is_refused(project: Callable[..., Path], command: str) -> None:
    root = project(customers=DP_CUSTOMERS, orders=ORDERS)
    result = run(root, command)
    assert result.exit_code == 2
    line = next(x for x in result.output.splitlines() if "linked by references" in x)
    text = (root / "specs" / "customers.yml").read_text().splitlines()
    number = next(i for i, x in enumerate(text, start=1) if x.startswith("privacy:"))
    assert line.startswith(f"specs/customers.yml:{number}:{text[number - 1].index('epsilon') + 1}:")
    assert "table 'customers' is linked by references" in line and "differentially private" in line


def test_differentially_private_child_is_refused(project: Callable[..., Path]) -> None:
    # The foreign key is dropped so the per-spec DP domain rules have nothing to say.
    orders = spec("orders", """
        order_id:    {type: id, primary_key: true}
        customer_id: {type: id, references: customers.customer_id, pii: drop}
        status:      {type: categorical, values: [paid, sent], domain: public}
        """, """
        model: {type: dp_bayes}
        privacy: {epsilon: 1.0}
        """)
    root = project(customers=CUSTOMERS, orders=orders)
    result = run(root, "validate")
    assert result.exit_code == 2
    assert "specs/orders.yml" in result.output and "table 'orders' is linked by references" in result.output


def test_differentially_private_child_gets_the_references_message(project: Callable[..., Path]) -> None:
    orders = spec("orders", """
        order_id:    {type: id, primary_key: true}
        customer_id: {type: id, references: customers.customer_id}
        status:      {type: categorical, values: [paid, sent], domain: public}
        """, """
        model: {type: dp_bayes}
        privacy: {epsilon: 1.0}
        """)
    root = project(customers=CUSTOMERS, orders=orders)
    result = run(root, "validate")
    assert result.exit_code == 2
    assert "table 'orders' is linked by references" in result.output
    assert "needs a declared public domain" not in result.output


def test_linked_tables_with_the_default_auto_model_validate(project: Callable[..., Path]) -> None:
    customers = spec("customers", """
        customer_id: {type: id, primary_key: true}
        segment:     {type: categorical}
        """)
    orders = spec("orders", """
        order_id:    {type: id, primary_key: true}
        customer_id: {type: id, references: customers.customer_id}
        """)
    # Regression: the DP refusal looked 'auto' (the default model type) up in the registry and
    # crashed with KeyError (exit 3, "internal error") on every linked table using it.
    root = project(customers=customers, orders=orders)
    (root / "synthspec.yml").write_text(textwrap.dedent(PROJECT).replace("type: cart", "type: auto"))
    result = run(root, "validate")
    assert result.exit_code == 0, result.output
    public = customers.replace("segment:     {type: categorical}", "segment:     {type: categorical, values: [a, b], domain: public}")
    (root / "specs" / "customers.yml").write_text(public + "privacy: {epsilon: 1.0}\n")
    result = run(root, "validate")
    assert result.exit_code == 2 and "table 'customers' is linked by references" in result.output


@pytest.mark.parametrize("command", ["validate", "apply"])
def test_child_foreign_key_with_another_pii_policy_than_the_parent_key(project: Callable[..., Path], command: str,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHSPEC_SECRET", SECRET)
    customers = CUSTOMERS.replace("customer_id: {type: id, primary_key: true}", "customer_id: {type: id, primary_key: true, pii: hash}")
    orders = ORDERS.replace("references: customers.customer_id}", "references: customers.customer_id, pii: fake, faker: email}")
    root = project(customers=customers, orders=orders)
    result = run(root, command)
    assert result.exit_code == 2
    assert (f"{located(root, 'orders', 'customer_id', 'pii')} column 'customer_id' takes its values from "
            "customers.customer_id, so it follows that column's pii policy (hash); remove 'pii: fake' or set the same "
            "policy on both") in result.output


def test_child_foreign_key_with_a_policy_on_an_unprotected_parent_key(project: Callable[..., Path],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHSPEC_SECRET", SECRET)
    root = project(customers=CUSTOMERS, orders=ORDERS.replace("references: customers.customer_id}", "references: customers.customer_id, pii: hash}"))
    result = run(root, "validate")
    assert result.exit_code == 2
    assert "follows that column's pii policy (none); remove 'pii: hash'" in result.output


def test_child_foreign_key_with_the_parent_policy_or_none_is_fine(project: Callable[..., Path],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHSPEC_SECRET", SECRET)
    customers = CUSTOMERS.replace("customer_id: {type: id, primary_key: true}", "customer_id: {type: id, primary_key: true, pii: hash}")
    same = ORDERS.replace("references: customers.customer_id}", "references: customers.customer_id, pii: hash}")
    assert run(project(customers=customers, orders=same), "validate").exit_code == 0
    assert run(project(customers=customers, orders=ORDERS), "validate").exit_code == 0


def test_every_reference_problem_is_reported_at_once(project: Callable[..., Path]) -> None:
    orders = spec("orders", """
        order_id:    {type: id, primary_key: true}
        customer_id: {type: id, references: customer.customer_id}
        product_id:  {type: id, references: products.price}
        """)
    root = project(customers=CUSTOMERS, products=PRODUCTS, orders=orders)
    result = run(root, "validate")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(located(root, "orders", "customer_id")) and lines[1].startswith(located(root, "orders", "product_id"))
