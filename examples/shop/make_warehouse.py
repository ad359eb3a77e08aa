"""Generate the example shop warehouse: a small, deterministic DuckDB file with schema `raw`.

    python examples/shop/make_warehouse.py [--out PATH]

Tables (two levels of foreign keys, plus a nullable self-reference):

    raw.customers    customer_id PK, referred_by -> customers (nullable), PII: name, email,
                     phone, birth date
    raw.products     product_id PK ('P-00012')
    raw.orders       order_id PK, customer_id -> customers (skewed: many customers have none)
    raw.order_items  order_item_id PK, order_id -> orders, product_id -> products

Every value comes from a seeded numpy Generator and seeded Faker instances, and "now" is a
fixed date, so the same Faker/numpy versions give the same file on every run. The output is
overwritten (idempotent). The file is not committed: this script is the source.

Note: synthspec publishes its synthetic views into the same file (schema `synthetic`) and dbt
builds into `analytics`/`dev_analytics`; regenerating the warehouse removes them, so run
`synthspec apply` again afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
import unicodedata
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from faker import Faker

SEED = 20240601
N_CUSTOMERS = 600
N_PRODUCTS = 160
# The "today" of the warehouse: nothing happens after it, and recent orders are still open.
AS_OF = dt.datetime(2025, 6, 30, 23, 59, 59)
FIRST_SIGNUP = dt.date(2021, 1, 1)

DEFAULT_OUT = Path(__file__).resolve().parent / "warehouse.duckdb"

SEGMENTS = ["consumer", "small_business", "enterprise"]
SEGMENT_P = [0.72, 0.21, 0.07]
STATUSES = ["pending", "shipped", "delivered", "cancelled", "returned"]

# Real cities, weighted roughly by population (a realistic categorical, unlike Faker's
# invented US city names).
CITIES = {
    "en_US": (["New York", "Los Angeles", "Chicago", "Houston", "Phoenix", "Philadelphia",
               "San Antonio", "San Diego", "Dallas", "Seattle", "Denver", "Boston"],
              [18, 12, 9, 7, 5, 5, 4, 4, 4, 3, 3, 3]),
    "tr_TR": (["İstanbul", "Ankara", "İzmir", "Bursa", "Antalya", "Konya", "Adana",
               "Gaziantep", "Eskişehir", "Trabzon"],
              [40, 16, 11, 7, 6, 5, 5, 4, 3, 3]),
}
EMAIL_DOMAINS = {
    "en_US": (["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com"],
              [45, 15, 20, 10, 10]),
    "tr_TR": (["gmail.com", "hotmail.com", "yandex.com.tr", "outlook.com"],
              [55, 25, 10, 10]),
}

# Product catalogue: category -> (nouns, median price, lognormal sigma).
CATALOGUE = {
    "electronics": (["Headphones", "Bluetooth Speaker", "USB-C Charger", "Smartwatch",
                     "Webcam", "Mechanical Keyboard", "Wireless Mouse", "Power Bank",
                     "E-Reader", "Monitor Stand"], 79.0, 0.7),
    "home": (["Coffee Grinder", "Tea Kettle", "Cutting Board", "Throw Blanket",
              "Table Lamp", "Knife Set", "Cast Iron Pan", "Storage Basket",
              "French Press", "Scented Candle"], 39.0, 0.6),
    "apparel": (["Hoodie", "Rain Jacket", "Wool Socks", "Denim Jeans", "Linen Shirt",
                 "Running Cap", "Leather Belt", "Scarf"], 45.0, 0.5),
    "books": (["Cookbook", "Travel Guide", "Sci-Fi Novel", "Notebook", "Sketchbook",
               "Poetry Collection", "History Atlas"], 18.0, 0.4),
    "sports": (["Yoga Mat", "Water Bottle", "Resistance Bands", "Jump Rope",
                "Dumbbell Pair", "Cycling Gloves", "Trail Backpack"], 35.0, 0.6),
    "beauty": (["Face Serum", "Hand Cream", "Shampoo Bar", "Lip Balm", "Sunscreen",
                "Beard Oil"], 22.0, 0.45),
}
CATEGORY_P = {"electronics": 0.22, "home": 0.22, "apparel": 0.18, "books": 0.12,
              "sports": 0.14, "beauty": 0.12}
ADJECTIVES = ["Classic", "Compact", "Deluxe", "Eco", "Everyday", "Essential", "Nordic",
              "Pro", "Urban", "Vintage", "Lightweight", "Premium", "Studio", "Travel"]

_ASCII = str.maketrans({"ı": "i", "İ": "I", "ş": "s", "Ş": "S", "ğ": "g", "Ğ": "G",
                        "ç": "c", "Ç": "C", "ö": "o", "Ö": "O", "ü": "u", "Ü": "U"})


def _ascii(text: str) -> str:
    text = text.translate(_ASCII)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in text.lower() if ch.isalnum() or ch in " .-")


US_AREA_CODES = {"New York": [212, 718, 917], "Los Angeles": [213, 310, 323], "Chicago": [312, 773],
                 "Houston": [713, 832], "Phoenix": [602, 480], "Philadelphia": [215, 267],
                 "San Antonio": [210], "San Diego": [619, 858], "Dallas": [214, 469],
                 "Seattle": [206], "Denver": [303, 720], "Boston": [617, 857]}


def _phone(rng: np.random.Generator, locale: str, city: str) -> str | None:
    """A plausible phone number in one of the formats people type; ~4% missing."""
    if rng.random() < 0.04:
        return None
    if locale == "tr_TR":  # mobile numbers: 05xx xxx xx xx
        op = int(rng.choice([530, 531, 532, 533, 535, 536, 541, 542, 543, 544, 505, 506, 507, 551, 552, 553, 555]))
        a, b, c = int(rng.integers(200, 1000)), int(rng.integers(0, 100)), int(rng.integers(0, 100))
        fmt = rng.choice(["+90 {op} {a} {b:02d} {c:02d}", "0{op} {a} {b:02d} {c:02d}", "0{op}{a}{b:02d}{c:02d}"], p=[0.5, 0.35, 0.15])
        return str(fmt).format(op=op, a=a, b=b, c=c)
    area = int(rng.choice(US_AREA_CODES[city]))
    ex, line = int(rng.integers(201, 1000)), int(rng.integers(0, 10000))
    if ex % 100 == 11:  # N11 codes are not valid exchanges
        ex += 1
    fmt = rng.choice(["({area}) {ex}-{line:04d}", "{area}-{ex}-{line:04d}", "+1 {area} {ex} {line:04d}"], p=[0.5, 0.3, 0.2])
    return str(fmt).format(area=area, ex=ex, line=line)


def _pick(rng: np.random.Generator, choices: tuple[list[str], list[float]]) -> str:
    values, weights = choices
    p = np.asarray(weights, dtype=float)
    return values[rng.choice(len(values), p=p / p.sum())]


def make_customers(rng: np.random.Generator) -> pd.DataFrame:
    fakers = {loc: Faker(loc) for loc in ("en_US", "tr_TR")}
    for i, f in enumerate(fakers.values()):
        f.seed_instance(SEED + i)
    rows = []
    emails: set[str] = set()
    span = (AS_OF.date() - dt.timedelta(days=14) - FIRST_SIGNUP).days
    # Signups accelerate over time (a growing shop): sqrt of a uniform skews to later dates.
    offsets = np.sort((np.sqrt(rng.random(N_CUSTOMERS)) * span).astype(int))
    for i in range(N_CUSTOMERS):
        locale = "tr_TR" if rng.random() < 0.35 else "en_US"
        fake = fakers[locale]
        first, last = fake.first_name(), fake.last_name()
        full_name = f"{first} {last}"
        # e-mail derived from the name, like real sign-ups: jane.doe87@gmail.com
        stem = rng.choice([f"{first}.{last}", f"{first}{last}", f"{first[0]}{last}", f"{first}_{last}"])
        stem = _ascii(stem).replace(" ", "").replace("-", "")
        if rng.random() < 0.45:
            stem += str(rng.integers(1, 99))
        email = f"{stem}@{_pick(rng, EMAIL_DOMAINS[locale])}"
        while email in emails:
            email = f"{stem}{rng.integers(100, 999)}@{_pick(rng, EMAIL_DOMAINS[locale])}"
        emails.add(email)
        signup = FIRST_SIGNUP + dt.timedelta(days=int(offsets[i]))
        age_at_signup = int(np.clip(rng.normal(38, 12), 18, 85))
        birth = signup - dt.timedelta(days=age_at_signup * 365 + int(rng.integers(0, 365)))
        city = _pick(rng, CITIES[locale])
        # referred_by: an earlier customer, for ~18% of customers after the first 20
        referred_by = None
        if i >= 20 and rng.random() < 0.18:
            referred_by = int(rng.integers(1, i + 1))  # customer_id of an earlier sign-up
        rows.append({
            "customer_id": i + 1,
            "full_name": full_name,
            "email": email,
            "phone": _phone(rng, locale, city),
            "city": city,
            "segment": SEGMENTS[rng.choice(3, p=SEGMENT_P)],
            "signup_date": signup,
            "birth_date": birth,
            "referred_by": referred_by,
        })
    df = pd.DataFrame(rows)
    df["referred_by"] = df["referred_by"].astype("Int64")
    return df


def make_products(rng: np.random.Generator) -> pd.DataFrame:
    cats = list(CATEGORY_P)
    p = np.array([CATEGORY_P[c] for c in cats])
    rows, names = [], set()
    for i in range(N_PRODUCTS):
        cat = cats[rng.choice(len(cats), p=p)]
        nouns, median, sigma = CATALOGUE[cat]
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(nouns)}"
        while name in names:
            name = f"{rng.choice(ADJECTIVES)} {rng.choice(nouns)}"
        names.add(name)
        price = float(np.clip(rng.lognormal(np.log(median), sigma), 3, 900))
        price = np.floor(price) + rng.choice([0.99, 0.49, 0.0, 0.95], p=[0.6, 0.15, 0.15, 0.1])
        rows.append({"product_id": f"P-{i + 1:05d}", "name": name, "category": cat,
                     "unit_price": round(float(price), 2)})
    return pd.DataFrame(rows)


def make_orders(rng: np.random.Generator, customers: pd.DataFrame,
                products: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    # Orders per customer: zero-inflated negative binomial -> skewed, ~25% with no order.
    segment_rate = {"consumer": 1.0, "small_business": 1.8, "enterprise": 2.6}
    popularity = rng.zipf(1.6, N_PRODUCTS).astype(float)
    popularity = np.minimum(popularity, 50) / np.minimum(popularity, 50).sum()
    prices = products["unit_price"].to_numpy()
    product_ids = products["product_id"].to_numpy()

    orders, items = [], []
    for cust in customers.itertuples(index=False):
        if rng.random() < 0.22:
            continue
        active_days = (AS_OF.date() - cust.signup_date).days
        mean = segment_rate[cust.segment] * (1 + active_days / 365)
        n = 1 + int(rng.negative_binomial(1.2, 1.2 / (1.2 + mean)))
        for _ in range(n):
            day = cust.signup_date + dt.timedelta(days=int(rng.integers(0, active_days + 1)))
            hour = int(rng.choice(24, p=_HOUR_P))
            stamp = dt.datetime.combine(day, dt.time(hour, int(rng.integers(0, 60)), int(rng.integers(0, 60))))
            stamp = min(stamp, AS_OF)
            orders.append({"customer_id": cust.customer_id, "ordered_at": stamp})
    orders_df = pd.DataFrame(orders).sort_values(["ordered_at", "customer_id"], kind="stable")
    orders_df.insert(0, "order_id", np.arange(1001, 1001 + len(orders_df), dtype=np.int32))

    statuses, fees = [], []
    for order in orders_df.itertuples(index=False):
        age = (AS_OF - order.ordered_at).days
        if age <= 2:
            status = rng.choice(["pending", "shipped"], p=[0.7, 0.3])
        elif age <= 7:
            status = rng.choice(["pending", "shipped", "delivered", "cancelled"], p=[0.1, 0.55, 0.3, 0.05])
        else:
            status = rng.choice(["delivered", "cancelled", "returned"], p=[0.86, 0.07, 0.07])
        statuses.append(str(status))
        n_items = 1 + int(rng.poisson(1.1))
        chosen = rng.choice(N_PRODUCTS, size=min(n_items, N_PRODUCTS), replace=False, p=popularity)
        subtotal = 0.0
        for k in chosen:
            qty = int(rng.geometric(0.65))  # 1 mostly, sometimes 2-4
            price = prices[k]
            if rng.random() < 0.12:  # promotion
                price = round(price * (1 - rng.choice([0.1, 0.15, 0.2, 0.25])), 2)
            subtotal += qty * price
            items.append({"order_id": order.order_id, "product_id": product_ids[k],
                          "quantity": qty, "unit_price": round(float(price), 2)})
        if subtotal >= 100:
            fee = 0.0
        else:
            fee = float(rng.choice([4.99, 6.99, 9.99, 14.99], p=[0.5, 0.25, 0.2, 0.05]))
        fees.append(fee)
    orders_df["status"] = statuses
    orders_df["shipping_fee"] = fees
    items_df = pd.DataFrame(items)
    items_df.insert(0, "order_item_id", np.arange(1, len(items_df) + 1, dtype=np.int64) + 500_000)
    return orders_df, items_df


# Orders by hour of day: quiet at night, peaks at lunch and in the evening.
_HOUR_W = np.array([1, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.5, 3, 3.2, 3.5,
                    4, 3.6, 3.2, 3, 3.2, 3.6, 4.2, 4.8, 5, 4.4, 3, 1.8])
_HOUR_P = _HOUR_W / _HOUR_W.sum()

DDL = """
create schema raw;
create table raw.customers (
    customer_id integer primary key,
    full_name   varchar not null,
    email       varchar not null,
    phone       varchar,
    city        varchar,
    segment     varchar not null,
    signup_date date not null,
    birth_date  date,
    referred_by integer references raw.customers (customer_id)
);
create table raw.products (
    product_id varchar primary key,
    name       varchar not null,
    category   varchar not null,
    unit_price decimal(10, 2) not null
);
create table raw.orders (
    order_id     integer primary key,
    customer_id  integer not null references raw.customers (customer_id),
    ordered_at   timestamp not null,
    status       varchar not null,
    shipping_fee decimal(8, 2) not null
);
create table raw.order_items (
    order_item_id bigint primary key,
    order_id      integer not null references raw.orders (order_id),
    product_id    varchar not null references raw.products (product_id),
    quantity      integer not null,
    unit_price    decimal(10, 2) not null
);
"""


def build(out: Path) -> dict[str, int]:
    rng = np.random.default_rng(SEED)
    customers = make_customers(rng)
    products = make_products(rng)
    orders, items = make_orders(rng, customers, products)

    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in (out, out.with_name(out.name + ".wal")):
        stale.unlink(missing_ok=True)
    con = duckdb.connect(str(out))
    try:
        con.execute(DDL)
        # DuckDB checks the self-reference against rows already in the table, not rows of the
        # same statement: insert customers in "generations" (a referrer before its referrals).
        batches = []
        inserted: set[int] = set()
        pending = customers
        while len(pending):
            ready = pending["referred_by"].isna() | pending["referred_by"].isin(inserted)
            batches.append(("customers", pending[ready]))
            inserted.update(pending.loc[ready, "customer_id"].tolist())
            pending = pending[~ready]
        batches += [("products", products), ("orders", orders), ("order_items", items)]
        for name, df in batches:
            con.register("df", df)
            cols = ", ".join(df.columns)
            con.execute(f"insert into raw.{name} ({cols}) select {cols} from df order by 1")
            con.unregister("df")
        counts = {name: con.execute(f"select count(*) from raw.{name}").fetchone()[0]
                  for name in ("customers", "products", "orders", "order_items")}
        con.execute("checkpoint")
    finally:
        con.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"DuckDB file to (over)write (default: {DEFAULT_OUT.name} next to this script)")
    args = parser.parse_args()
    started = time.perf_counter()
    counts = build(args.out)
    elapsed = time.perf_counter() - started
    summary = ", ".join(f"raw.{k}: {v}" for k, v in counts.items())
    print(f"wrote {args.out} ({summary}) in {elapsed:.1f}s")


if __name__ == "__main__":
    main()
