"""Children that look like their parents: the shop example's cross-table statistics, real vs
synthetic, for cart and for SDV's Gaussian copula.

The shop example (examples/shop: customers <- orders <- order_items -> products) is generated
by its own script and applied in a fresh CLI process, once with its specs as they are (cart)
and once with every table's model set to `gaussian_copula` (children drawn given their parents
by matching a pool of the copula's joint draws, see synthspec/models/matching.py; its quality
gate lowered from 0.85 to 0.5, which the copula's orders miss). Measured on
the published views and on raw.* with the same SQL:

* line vs list price: correlation of an order line's unit price with its product's list price;
* orders vs segment: the correlation ratio (eta) of a customer's number of orders on its
  segment, and the mean number of orders per customer of each segment;
* amount vs orders: correlation of a customer's total spent (quantity x unit price over its
  orders' lines) with its number of orders (customers with an order);
* first order vs signup: correlation of a customer's first order date with its signup date
  (epoch days, customers with an order), and the median days between the two.

"Within 0.05" compares each correlation with the real one (the issue's bar). The example has
no holdout: the synthetic tables are compared with all the real rows they were trained on.

Usage: python tests/benchmarks/bench_relational.py [--out BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[2]
MARKER = "<!-- bench_relational -->"
SHOP = REPO / "examples" / "shop"
SECRET = "synthspec-example-demo-secret"
sys.path[:0] = [str(Path(__file__).resolve().parent), str(REPO)]

from bench_scale import emit  # noqa: E402

#: name -> (SQL over schema {s}, higher-is-a-correlation)
STATS = {
    "line vs list price": """SELECT corr(i.unit_price, p.unit_price) FROM {s}.order_items i
                             JOIN {s}.products p USING (product_id)""",
    "orders vs segment (eta)": """
        WITH per AS (SELECT c.customer_id, c.segment, count(o.order_id) AS n FROM {s}.customers c
                     LEFT JOIN {s}.orders o USING (customer_id) GROUP BY 1, 2),
             grand AS (SELECT avg(n) AS m, var_pop(n) AS v, count(*) AS k FROM per),
             seg AS (SELECT segment, count(*) AS k, avg(n) AS m FROM per GROUP BY 1)
        SELECT sqrt(sum(seg.k * (seg.m - g.m) ^ 2) / any_value(g.k * g.v)) FROM seg CROSS JOIN grand g""",
    "amount vs orders": """
        WITH spent AS (SELECT o.customer_id, count(DISTINCT o.order_id) AS n, sum(i.quantity * i.unit_price) AS total
                       FROM {s}.orders o JOIN {s}.order_items i USING (order_id)
                       WHERE o.customer_id IS NOT NULL GROUP BY 1)
        SELECT corr(total, n) FROM spent""",
    "first order vs signup": """
        WITH first AS (SELECT customer_id, min(ordered_at) AS t FROM {s}.orders WHERE customer_id IS NOT NULL GROUP BY 1)
        SELECT corr(epoch(f.t) / 86400, epoch(c.signup_date) / 86400) FROM first f JOIN {s}.customers c USING (customer_id)""",
}
EXTRA = {
    "orders per customer by segment": """
        SELECT string_agg(segment || ' ' || printf('%.2f', m), ', ' ORDER BY segment) FROM (
            SELECT c.segment, avg(n) AS m FROM (SELECT c.customer_id, any_value(c.segment) AS segment,
                   count(o.order_id) AS n FROM {s}.customers c LEFT JOIN {s}.orders o USING (customer_id) GROUP BY 1) c
            GROUP BY 1)""",
    "median days signup to first order": """
        WITH first AS (SELECT customer_id, min(ordered_at) AS t FROM {s}.orders WHERE customer_id IS NOT NULL GROUP BY 1)
        SELECT median((epoch(f.t) - epoch(c.signup_date)) / 86400) FROM first f JOIN {s}.customers c USING (customer_id)""",
}


def shop_project(root: Path, model: str | None) -> float:
    """A fresh copy of the shop example with its warehouse; ``model``: what replaces every
    spec's ``type: <model>`` (e.g. ``gaussian_copula, params: {...}``). Returns the wall time
    of `synthspec apply`."""
    shutil.copytree(SHOP, root, ignore=shutil.ignore_patterns("dbt", "*.duckdb", "*.wal", ".synthspec", "target"))
    subprocess.run([sys.executable, str(root / "make_warehouse.py"), "--out", str(root / "warehouse.duckdb")],
                   check=True, capture_output=True)
    if model is not None:  # the quality gate lowered to 0.5: a copula's orders score ~0.79 < 0.85
        for path in [*(root / "specs").glob("*.yml"), root / "synthspec.yml"]:
            text = re.sub(r"model: \{type: \w+", f"model: {{type: {model}", path.read_text())
            path.write_text(text.replace("quality_score: {min: 0.85}", "quality_score: {min: 0.5}"))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "synthspec.cli.main", "apply", "-q", "--project-dir", str(root)],
                          capture_output=True, text=True, env={**os.environ, "SYNTHSPEC_SECRET": SECRET})
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"shop apply ({model or 'as specified'}) failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return wall


def measure(database: Path, schema: str) -> dict[str, object]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return {name: con.execute(sql.format(s=schema)).fetchone()[0] for name, sql in {**STATS, **EXTRA}.items()}
    finally:
        con.close()


def copula_ceiling(database: Path) -> tuple[float, float, float]:
    """What the copula itself gets of line vs list price: SDV's GaussianCopula (synthspec's
    plugin) fit on the real order lines joined to their product (list price, category,
    quantity, unit price); the correlation of its own joint draws without lines (`linear:
    false`), with them (the default), and of the default's draws matched to the real list
    prices (models/matching.py, as `apply` does)."""
    import numpy as np

    from synthspec.models.base import ModelColumn
    from synthspec.models.params import GaussianCopulaParams
    from synthspec.models.sdv_models import GaussianCopula

    con = duckdb.connect(str(database), read_only=True)
    try:
        lines = con.execute("""SELECT p.unit_price::DOUBLE AS list_price, p.category, i.quantity::DOUBLE AS quantity,
                                      i.unit_price::DOUBLE AS unit_price
                               FROM raw.order_items i JOIN raw.products p USING (product_id)""").df()
    finally:
        con.close()
    lines["category"] = lines["category"].astype(object)
    columns = [ModelColumn("list_price", "numerical"), ModelColumn("category", "categorical"),
               ModelColumn("quantity", "numerical"), ModelColumn("unit_price", "numerical")]
    out = []
    for linear in (False, True):
        model = GaussianCopula(columns, GaussianCopulaParams(linear=linear), 42)
        model.fit(lines)
        joint = model.sample(len(lines), 1)
        out.append(float(np.corrcoef(joint["list_price"], joint["unit_price"])[0, 1]))
    matched = model.sample(len(lines), 2, given=lines[["list_price", "category"]])
    return out[0], out[1], float(np.corrcoef(matched["list_price"], matched["unit_price"])[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="Markdown file whose bench_relational section is replaced")
    args = parser.parse_args()
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="bench-relational-"))
    try:
        runs = []
        variants = (("cart (the example's specs)", None),
                    ("gaussian_copula (every table, defaults)", "gaussian_copula"))
        # (`default_distribution: gaussian_kde` was tried: line vs list price 0.838, amount vs
        # orders 0.796, and 8 minutes of sampling.)
        for i, (label, model) in enumerate(variants):
            root = tmp / f"run{i}"
            wall = shop_project(root, model)
            runs.append((label, measure(root / "warehouse.duckdb", "synthetic"), wall))
        real = measure(tmp / "run0" / "warehouse.duckdb", "raw")
        plain, joint, matched = copula_ceiling(tmp / "run0" / "warehouse.duckdb")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    names = list(STATS)
    head = "| rows | " + " | ".join(f"{n}" for n in names) + " | orders per customer by segment | median days signup → first order | apply |"
    lines = [MARKER, "## Related tables: children that look like their parents (shop example)", "",
             f"Generated by `python tests/benchmarks/bench_relational.py --out BENCHMARKS.md` on {dt.date.today()} "
             f"in {(time.perf_counter() - started) / 60:.1f} min (`make bench-relational`). The shop example "
             "(examples/shop) generated by its script and applied in a fresh CLI process; the same SQL on raw.* and on "
             "the published synthetic.* views. Correlations; in brackets the difference from the real one (the bar: "
             "within 0.05). No holdout: the example's tables are compared with the real rows they were trained on.", "",
             head, "|" + "---|" * (len(names) + 4)]

    def cells(values: dict[str, object], reference: dict[str, object] | None) -> str:
        out = []
        for name in names:
            value = values[name]
            if value is None:
                out.append("–")
            elif reference is None or reference[name] is None:
                out.append(f"{value:.3f}")
            else:
                out.append(f"{value:.3f} ({value - reference[name]:+.3f})")
        days = values["median days signup to first order"]
        out += [str(values["orders per customer by segment"]), "–" if days is None else f"{days:.0f}"]
        return " | ".join(out)

    lines.append(f"| real | {cells(real, None)} | – |")
    within = {}
    for label, values, wall in runs:
        lines.append(f"| synthspec, {label} | {cells(values, real)} | {wall:.1f} s |")
        within[label] = all(values[n] is not None and real[n] is not None and abs(values[n] - real[n]) <= 0.05 for n in names)
    lines += ["", *(f"- **Every correlation within 0.05 of the real one, {label}: {'PASS' if ok else 'FAIL'}.**"
                    for label, ok in within.items()),
              "- eta: the correlation ratio of the number of orders on the segment (0: the segment says nothing of "
              "how many orders a customer places).",
              f"- gaussian_copula's line vs list price: a Gaussian copula alone cannot hold r = 0.997. Fit on the four "
              f"columns alone (list price, category, quantity, unit price of the real lines) with `linear: false`, its "
              f"own draws correlate {plain:.3f} (its marginals are `beta` fits: the few expensive products are what "
              f"Pearson's r weighs most). With lines (the default for every SDV model: a numerical column nearly "
              f"linear in earlier ones is drawn as its residual and the line added back), {joint:.3f}, and matched to "
              f"the real list prices from a pool of them {matched:.3f}: the line is added at the given list price.",
              MARKER]
    emit(lines, MARKER, args.out)


if __name__ == "__main__":
    main()
