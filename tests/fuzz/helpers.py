"""Shared pieces of the fuzz suite: a small project, snapshots of everything a run must not
change, and every channel a run can write to."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, settings

#: Deterministic in CI (the same examples every run), no per-example deadline (a run trains a
#: model), and fixtures are set up inside each example.
FUZZ = settings(derandomize=True, deadline=None, database=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

PROJECT = """\
name: fuzz
source: {duckdb: wh.duckdb}
target: {duckdb: wh.duckdb, schema: synthetic}
defaults:
  checks: {quality_score: {min: 0.0}, dcr_share: {max: 1.0}}
guardrails:
  checks: {dcr_share: {max: 1.0}}
spec_variables: [FUZZ_SECRET]
"""

SECRET = "fuzz-secret-value-0123456789"  # the value of $SYNTHSPEC_SECRET in these tests
SECRET_VAR_VALUE = "hunter2-do-not-print-me"  # the value of $FUZZ_SECRET, interpolated in specs


@contextmanager
def project_dir() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="synthspec-fuzz-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def execute(database: Path, *statements: str) -> None:
    con = duckdb.connect(str(database))
    try:
        for sql in statements:
            con.execute(sql)
    finally:
        con.close()


@dataclass(frozen=True)
class Snapshot:
    """What no run may change: every source table's rows, the files of the project outside
    the directories synthspec owns, and the rows behind every published view."""

    sources: dict[str, str]
    files: frozenset[str]
    views: dict[str, str]


def _digest(rows: list[tuple]) -> str:
    return hashlib.sha256(repr(sorted(map(repr, rows))).encode()).hexdigest()


def snapshot(root: Path, database: str = "wh.duckdb") -> Snapshot:
    con = duckdb.connect(str(root / database), read_only=True)
    try:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name NOT IN ('_synthspec')").fetchall()
        sources = {f"{s}.{t}": _digest(con.execute(f'SELECT * FROM "{s}"."{t}"').fetchall()) for s, t in tables}
        views = con.execute("SELECT schema_name, view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        published = {f"{s}.{v}": _digest(con.execute(f'SELECT * FROM "{s}"."{v}"').fetchall()) for s, v in views}
    finally:
        con.close()
    owned = {".synthspec", "target"}
    files = frozenset(str(p.relative_to(root)) for p in root.rglob("*")
                      if p.is_file() and not owned & set(p.relative_to(root).parts) and not p.name.endswith(".wal"))
    return Snapshot(sources, files, published)


def channels(root: Path, output: str, database: str = "wh.duckdb") -> str:
    """Everything a run wrote where a person can read it: the command's output, every file under
    target/, and the messages of the run history."""
    texts = [output]
    target = root / "target"
    if target.is_dir():
        texts += [p.read_text(errors="replace") for p in target.rglob("*") if p.is_file()]
    try:
        con = duckdb.connect(str(root / database), read_only=True)
    except duckdb.Error:
        return "\n".join(texts)
    try:
        if con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = '_synthspec' AND table_name = 'runs'").fetchone()[0]:
            texts += [str(r) for r in con.execute("SELECT message, metrics FROM _synthspec.runs").fetchall()]
    finally:
        con.close()
    return "\n".join(texts)


__all__ = ["FUZZ", "PROJECT", "SECRET", "SECRET_VAR_VALUE", "Snapshot", "channels", "execute", "project_dir", "snapshot"]
