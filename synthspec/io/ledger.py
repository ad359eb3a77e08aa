"""The privacy-budget ledger: epsilon and delta spent per source relation.

Budget is keyed by what was read (a table, the tables a query reads, a file path), not by
the spec's name, so renaming or duplicating a spec cannot reset it. Entries are written to
two places, the state directory and the target database, and read back as their union
(by run id): deleting one of them — as a fresh CI clone does with `.synthspec/` — cannot
give budget back. A reservation is written before fitting and stays spent if the run fails.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from synthspec.errors import EnvironmentError_
from synthspec.io.history import META, ensure_meta
from synthspec.io.warehouse import sql_string

if TYPE_CHECKING:
    import duckdb

    from synthspec.spec.project import LoadedSpec, Project

_FILE = "budget_ledger.json"


@dataclass(frozen=True)
class Spend:
    run_id: str
    source: str
    table: str
    epsilon: float
    delta: float
    at: str  # ISO 8601, UTC


@dataclass(frozen=True)
class Balance:
    source: str
    epsilon: float
    delta: float
    runs: int
    last_at: str | None


def source_key(con: duckdb.DuckDBPyConnection | None, loaded: LoadedSpec, project: Project) -> str:
    """A stable name for the relation a spec reads (relative paths, so it survives clones)."""
    source = loaded.spec.source
    database = project.config.source.duckdb if project.config.source else "-"
    if source.table is not None:
        name = source.table if "." in source.table else f"main.{source.table}"
        return f"duckdb:{database}#{name}"
    if source.path is not None:
        return f"path:{source.path}"
    return f"duckdb:{database}#" + ",".join(_tables_read(con, source.query or ""))


def _tables_read(con: duckdb.DuckDBPyConnection | None, query: str) -> list[str]:
    """The base tables (and table functions) a query reads, from DuckDB's own parser."""
    import duckdb

    try:
        text = (con or duckdb.connect()).execute(f"SELECT json_serialize_sql({sql_string(query)})").fetchone()[0]
        tree = json.loads(text)
    except (duckdb.Error, ValueError):
        return ["query:" + query.strip()]
    if tree.get("error"):
        return ["query:" + query.strip()]
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "BASE_TABLE":
                found.add(f"{node.get('schema_name') or 'main'}.{node.get('table_name')}")
            elif node.get("type") == "TABLE_FUNCTION":
                found.add("function:" + json.dumps(node.get("function"), sort_keys=True))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tree)
    return sorted(found) or ["query:" + query.strip()]


_DDL = f"""
CREATE TABLE IF NOT EXISTS {META}.budget_ledger (
    run_id VARCHAR, source VARCHAR, table_name VARCHAR, epsilon DOUBLE, delta DOUBLE, spent_at VARCHAR);
"""


def _read_file(state_dir: Path) -> list[Spend]:
    path = state_dir / _FILE
    if not path.exists():
        return []
    try:
        return [Spend(**entry) for entry in json.loads(path.read_text())]
    except (ValueError, TypeError) as exc:
        raise EnvironmentError_(f"the budget ledger '{path.name}' in the state directory is corrupt; refusing to guess what was spent") from exc


def _read_db(con: duckdb.DuckDBPyConnection | None) -> list[Spend]:
    if con is None:
        return []
    exists = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = 'budget_ledger'", [META]).fetchone()[0]
    if not exists:
        return []
    rows = con.execute(f"SELECT run_id, source, table_name, epsilon, delta, spent_at FROM {META}.budget_ledger").fetchall()
    return [Spend(*row) for row in rows]


def entries(state_dir: Path, con: duckdb.DuckDBPyConnection | None) -> list[Spend]:
    """Union of both stores by run id: losing one store never returns budget."""
    merged = {spend.run_id: spend for spend in _read_file(state_dir)}
    for spend in _read_db(con):
        previous = merged.get(spend.run_id)
        if previous is None or spend.epsilon > previous.epsilon:
            merged[spend.run_id] = spend
    return sorted(merged.values(), key=lambda s: (s.at, s.run_id))


def balance(state_dir: Path, con: duckdb.DuckDBPyConnection | None, source: str) -> Balance:
    spends = [s for s in entries(state_dir, con) if s.source == source]
    return Balance(source, sum(s.epsilon for s in spends), sum(s.delta for s in spends), len(spends), spends[-1].at if spends else None)


def reserve(state_dir: Path, con: duckdb.DuckDBPyConnection, spend: Spend) -> None:
    """Record a spend in both stores before any noisy query runs."""
    ensure_meta(con)
    con.execute(_DDL)
    con.execute(f"INSERT INTO {META}.budget_ledger VALUES (?, ?, ?, ?, ?, ?)", list(asdict(spend).values()))
    current = _read_file(state_dir)
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = state_dir / f".{_FILE}.tmp"
        tmp.write_text(json.dumps([asdict(s) for s in [*current, spend]], indent=1))
        os.chmod(tmp, 0o600)
        os.replace(tmp, state_dir / _FILE)
    except OSError as exc:
        raise EnvironmentError_(f"cannot write the budget ledger in '{state_dir.name}': {exc.strerror}") from exc
