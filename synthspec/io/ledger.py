"""The privacy-budget ledger: epsilon and delta spent per source relation.

Budget is charged to the relations a source reads, named however the spec spells them: for a
DuckDB source, every table DuckDB's binder resolves the source to (case, catalog
qualification, views and CTEs traced to the tables underneath), as ``duckdb:schema.table``;
for files, every file the path matches, resolved (``..``, ``//``, symbolic links) and made
relative to the project (``file:data/adult.csv``). A query over two tables spends on both.

Entries are written to three stores and read back as their union (by run and relation), so
losing any of them cannot give budget back:

* the target database (``_synthspec.budget_ledger``),
* the state directory (``.synthspec/budget_ledger.json``),
* the machine ledger, an append-only JSON-lines file outside the project
  (``privacy.ledger`` in the project file, else ``$SYNTHSPEC_LEDGER``, else
  ``$XDG_STATE_HOME/synthspec/budget_ledger.jsonl``), where entries also carry the resolved
  location of the data, so a new target file plus a deleted state directory still finds them.

A reservation is written before fitting and stays spent if the run fails. Entries that are not
finite, non-negative numbers make the ledger corrupt: synthspec refuses to guess what was spent.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

from synthspec.errors import EnvironmentError_, Problem, SpecError
from synthspec.io.history import META, ensure_meta

if TYPE_CHECKING:
    import duckdb

    from synthspec.io.warehouse import Connections
    from synthspec.spec.models import TableSpec
    from synthspec.spec.project import LoadedSpec, Project

_FILE = "budget_ledger.json"
MACHINE_ENV = "SYNTHSPEC_LEDGER"


@dataclass(frozen=True)
class Spend:
    run_id: str
    source: str  # the relation: duckdb:schema.table | file:path
    table: str
    epsilon: float
    delta: float
    at: str  # ISO 8601, UTC
    location: str = ""  # resolved path of the database or file (what the machine ledger matches)


@dataclass(frozen=True)
class Relation:
    """One relation a source reads: its ledger key and where its data lives on this machine."""

    key: str
    location: str


@dataclass(frozen=True)
class Balance:
    source: str
    epsilon: float
    delta: float
    runs: int
    last_at: str | None


def relations(cons: Connections, loaded: LoadedSpec, project: Project) -> list[Relation]:
    """Every relation the spec's source reads (at least one)."""
    from synthspec.io import warehouse
    from synthspec.spec.sources import matched_files

    source = loaded.spec.source
    if source.path is not None:
        root = project.root.resolve()
        out = []
        for file in matched_files(source.path, project):
            path = Path(file)
            name = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()
            out.append(Relation(f"file:{name}", file))
        return out
    database = str(project.path(project.config.source.duckdb).resolve()) if project.config.source else ""
    tables = warehouse.base_relations(cons, loaded, project)
    if not tables:
        # Budget must be charged to the data read. A source DuckDB names no table for either
        # reads none (then there is nothing to protect) or hides what it reads (a function that
        # runs serialised SQL): refused, never keyed by its text, which any edit would renew.
        loc = loaded.doc.locate(("source",), prefer_key=True)
        raise SpecError([Problem(loc.file, loc.line, loc.col,
                                 "a differentially private table must read tables DuckDB can name (its privacy budget is "
                                 "charged to them); DuckDB finds none in this source")])
    return [Relation(f"duckdb:{t.lower()}", database) for t in tables]


def total_cap(spec: TableSpec, project: Project) -> float | None:
    """The cap on a relation's total epsilon: the spec's, under the project guardrail (a spec
    author cannot raise it by writing a new spec with a higher cap over the same source)."""
    caps = [c for c in (spec.privacy.max_total_epsilon, project.config.guardrails.max_total_epsilon) if c is not None]
    return min(caps) if caps else None


def machine_ledger_path(project: Project) -> Path:
    configured = getattr(project.config.privacy, "ledger", None)
    if configured:
        return project.path(configured)
    if os.environ.get(MACHINE_ENV):
        return Path(os.environ[MACHINE_ENV])
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "synthspec" / "budget_ledger.jsonl"


_DDL = f"""
CREATE TABLE IF NOT EXISTS {META}.budget_ledger (
    run_id VARCHAR, source VARCHAR, table_name VARCHAR, epsilon DOUBLE, delta DOUBLE, spent_at VARCHAR);
ALTER TABLE {META}.budget_ledger ADD COLUMN IF NOT EXISTS location VARCHAR;
"""


def _spend(values: dict, where: str) -> Spend:
    """A validated entry: a finite, non-negative spend, or the ledger is corrupt."""
    try:
        spend = Spend(**{f.name: values[f.name] for f in fields(Spend) if f.name in values or f.name != "location"})
        ok = all(isinstance(getattr(spend, k), (int, float)) and not isinstance(getattr(spend, k), bool)
                 and math.isfinite(getattr(spend, k)) and getattr(spend, k) >= 0 for k in ("epsilon", "delta"))
        ok = ok and isinstance(spend.source, str) and isinstance(spend.run_id, str)
    except (KeyError, TypeError):
        ok = False
    if not ok:
        raise EnvironmentError_(f"the budget ledger {where} is corrupt (an entry is not a finite, non-negative spend); "
                                "refusing to guess what was spent")
    return Spend(**{**asdict(spend), "source": _current_key(spend.source), "location": spend.location or ""})


def _current_key(key: str) -> str:
    """Keys written by earlier versions (``duckdb:<file>#schema.table``, ``path:<path>``) in
    today's form, so an upgrade gives no budget back."""
    if key.startswith("duckdb:") and "#" in key:
        return "duckdb:" + key.split("#", 1)[1].lower()
    if key.startswith("path:"):
        return "file:" + os.path.normpath(key[5:]).replace(os.sep, "/")
    return key


def _read_file(state_dir: Path) -> list[Spend]:
    path = state_dir / _FILE
    if not path.exists():
        return []
    where = f"'{path.name}' in the state directory"
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise EnvironmentError_(f"the budget ledger {where} is corrupt; refusing to guess what was spent") from exc
    if not isinstance(entries, list):
        raise EnvironmentError_(f"the budget ledger {where} is corrupt; refusing to guess what was spent")
    return [_spend(e if isinstance(e, dict) else {}, where) for e in entries]


def _read_machine(path: Path) -> list[Spend]:
    if not path.exists():
        return []
    where = f"'{path}'"
    try:
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        return [_spend(json.loads(line), where) for line in lines]
    except (OSError, ValueError) as exc:
        raise EnvironmentError_(f"the budget ledger {where} is corrupt; refusing to guess what was spent") from exc


def _read_db(con: duckdb.DuckDBPyConnection | None) -> list[Spend]:
    if con is None:
        return []
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = 'budget_ledger'", [META]).fetchone()[0]
    if not exists:
        return []
    has_location = con.execute("SELECT count(*) FROM duckdb_columns() WHERE schema_name = ? AND table_name = 'budget_ledger' "
                               "AND column_name = 'location'", [META]).fetchone()[0]
    location = "location" if has_location else "NULL"
    rows = con.execute(f"SELECT run_id, source, table_name, epsilon, delta, spent_at, {location} FROM {META}.budget_ledger").fetchall()
    names = [f.name for f in fields(Spend)]
    return [_spend(dict(zip(names, row, strict=True)), f"table {META}.budget_ledger") for row in rows]


def entries(state_dir: Path, con: duckdb.DuckDBPyConnection | None, machine: Path | None = None,
            relation: Relation | None = None) -> list[Spend]:
    """Union of the stores by (run, relation): losing a store never returns budget. Entries of
    the machine ledger count when they match ``relation``'s key and location."""
    merged: dict[tuple[str, str], Spend] = {}
    local = [*_read_file(state_dir), *_read_db(con)]
    shared = [s for s in _read_machine(machine) if relation is None or s.location == relation.location] if machine else []
    for spend in [*local, *shared]:
        previous = merged.get((spend.run_id, spend.source))
        if previous is None or spend.epsilon > previous.epsilon:
            merged[(spend.run_id, spend.source)] = spend
    return sorted(merged.values(), key=lambda s: (s.at, s.run_id))


def balance(state_dir: Path, con: duckdb.DuckDBPyConnection | None, source: str | Relation,
            machine: Path | None = None) -> Balance:
    relation = source if isinstance(source, Relation) else Relation(source, "")
    spends = [s for s in entries(state_dir, con, machine, relation) if s.source == relation.key]
    return Balance(relation.key, sum(s.epsilon for s in spends), sum(s.delta for s in spends), len(spends),
                   spends[-1].at if spends else None)


def reserve(state_dir: Path, con: duckdb.DuckDBPyConnection, spends: Spend | list[Spend], machine: Path | None = None) -> None:
    """Record the spends in every store before any noisy query runs."""
    spends = [spends] if isinstance(spends, Spend) else spends
    ensure_meta(con)
    con.execute(_DDL)
    for spend in spends:
        con.execute(f"INSERT INTO {META}.budget_ledger (run_id, source, table_name, epsilon, delta, spent_at, location) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", list(asdict(spend).values()))
    current = _read_file(state_dir)
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = state_dir / f".{_FILE}.tmp"
        tmp.write_text(json.dumps([asdict(s) for s in [*current, *spends]], indent=1))
        os.chmod(tmp, 0o600)
        os.replace(tmp, state_dir / _FILE)
    except OSError as exc:
        raise EnvironmentError_(f"cannot write the budget ledger in '{state_dir.name}': {exc.strerror}") from exc
    if machine is not None:
        _append_machine(machine, spends)


@contextmanager
def exclusive(machine: Path) -> Iterator[None]:
    """Hold the machine ledger's lock from the balance check to the reservation: two runs over
    the same data (two projects, two CI jobs on one runner) must not both see the budget left."""
    import fcntl

    lock = machine.with_name(machine.name + ".lock")
    try:
        lock.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise EnvironmentError_(f"cannot lock the machine budget ledger '{machine}': {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _append_machine(path: Path, spends: list[Spend]) -> None:
    """Append-only, one JSON object per line, flushed to disk before fitting starts."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as handle:
            for spend in spends:
                handle.write(json.dumps(asdict(spend), sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        raise EnvironmentError_(f"cannot write the machine budget ledger '{path}': {exc.strerror} "
                                f"(set privacy.ledger in synthspec.yml or ${MACHINE_ENV} to a writable, durable file)") from exc
