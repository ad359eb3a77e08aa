"""Run the corpus: per entry, `synthspec init` + `apply` with the defaults, then audit the
published views in DuckDB and write CORPUS.md.

    python tests/corpus/run_corpus.py [--only NAME ...] [--out CORPUS.md] [--jobs N]

Per entry, in a fresh temporary project: materialise the data in its raw form (a DuckDB file,
or CSV/Parquet files), run the real CLI in a subprocess (`init`, then `apply` with
``SYNTHSPEC_SECRET`` set to a test value and a private budget ledger), patch nothing but the
keys and references the manifest declares, and read ``target/run_results.json``. The audits
are computed independently of synthspec, in DuckDB, from the source and the published views:

* discrete columns (boolean, or text/integer with at most :data:`DISCRETE_MAX` distinct real
  values, and at most half of its real values distinct) get no value the real column does not hold;
* date and timestamp columns, typed or text that parses as dates in every real row, get only
  values that parse (in the real column's format) and lie within the real range;
* every table's synthetic row count is within 1% of the source's.

One entry that crashes is recorded as an error and the run goes on. Same spec, data and seed
give the same rows, so two runs on the same code give the same numbers (times aside).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

if __package__ in (None, ""):  # run as a script: make `tests.corpus` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from synthspec.spec.models import DEFAULT_RARE_TOKEN as RARE_TOKEN  # noqa: E402
from tests.corpus.manifest import BY_NAME, ENTRIES, Entry  # noqa: E402

#: A text or integer column with at most this many distinct real values is audited as discrete.
DISCRETE_MAX = 50
#: ... and at most this share of its non-null real values distinct (45 counts in 50 rows, or 50
#: state names in 50 rows, are measures and names, not codes: an unseen value there is fine).
DISCRETE_SHARE = 0.5
#: Row counts must be within this share of the source's.
ROW_TOLERANCE = 0.01
#: Text date formats tried on a real text column (DuckDB strptime), first full match wins.
DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%m/%d/%Y", "%d/%m/%Y", "%Y/%m/%d",
                "%d.%m.%Y", "%Y%m%dT%H%M%S", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M")
#: The secret of pii: hash/fake policies in corpus runs (a test value, never a real key).
TEST_SECRET = "synthspec-corpus-test-secret-0001"
#: Per-entry wall-clock limit for `apply` (a hung entry is an error, the run goes on).
APPLY_TIMEOUT = 1800
REPO = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- results


@dataclass
class Audit:
    """The independent acceptance audits of one published table."""

    source_rows: int | None = None
    synthetic_rows: int | None = None
    #: column -> number of synthetic cells whose value no real cell holds
    unseen: dict[str, int] = field(default_factory=dict)
    #: column -> number of synthetic cells that do not parse or lie outside the real range
    bad_dates: dict[str, int] = field(default_factory=dict)
    discrete_columns: list[str] = field(default_factory=list)
    date_columns: list[str] = field(default_factory=list)
    #: Audited on what the gate held back (`synthspec sample` from the cached model with the
    #: spec's seed: the rows apply would have published), not on a published view.
    gated_sample: bool = False

    @property
    def rows_ok(self) -> bool | None:
        if self.source_rows is None or self.synthetic_rows is None:
            return None
        return abs(self.synthetic_rows - self.source_rows) <= ROW_TOLERANCE * max(self.source_rows, 1)


@dataclass
class TableReport:
    entry: str
    table: str
    form: str
    source_rows: int | None = None
    #: column -> drafted type (with the pii policy when init drafted one)
    drafted: dict[str, str] = field(default_factory=dict)
    status: str = "error"
    published: bool = False
    checks: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    reasons: list[str] = field(default_factory=list)
    audit: Audit | None = None

    @property
    def verdict(self) -> str:
        if self.published:
            return "published"
        return "error" if self.status == "error" else "gated"


# --------------------------------------------------------------------------- materialise


def materialise(entry: Entry, project: Path) -> dict[str, int]:
    """Write the entry's tables in their raw form under ``project``; rows per table."""
    frames = entry.load()
    if entry.form == "duckdb":
        import duckdb

        con = duckdb.connect(str(project / "warehouse.duckdb"))
        try:
            con.execute("CREATE SCHEMA raw")
            for name, frame in frames.items():
                con.register("frame", frame)
                con.execute(f'CREATE TABLE raw."{name}" AS SELECT * FROM frame')
                con.unregister("frame")
        finally:
            con.close()
    else:
        folder = project / "data"
        folder.mkdir()
        for name, frame in frames.items():
            if entry.form == "csv":
                frame.to_csv(folder / f"{name}.csv", index=False)
            else:
                frame.to_parquet(folder / f"{name}.parquet", index=False)
    return {name: len(frame) for name, frame in frames.items()}


def _cli(project: Path, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """The real `synthspec` CLI in a subprocess (this checkout first on the path)."""
    env = {**os.environ, "SYNTHSPEC_SECRET": TEST_SECRET, "SYNTHSPEC_LEDGER": str(project / "budget_ledger.jsonl"),
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    env.pop("SYNTHSPEC_PROJECT_DIR", None)
    return subprocess.run([sys.executable, "-m", "synthspec.cli.main", *args, "--project-dir", str(project)],
                          cwd=project, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def init(entry: Entry, project: Path) -> subprocess.CompletedProcess[str]:
    if entry.form == "duckdb":
        return _cli(project, "init", "--from-duckdb", "warehouse.duckdb", "--schema", "raw")
    return _cli(project, "init", "--from-path", f"data/*.{entry.form}")


def patch_specs(entry: Entry, project: Path) -> None:
    """Set the manifest's keys and references on the drafted columns (nothing else changes)."""
    for table, columns in entry.patches.items():
        path = project / "specs" / f"{table}.yml"
        spec = yaml.safe_load(path.read_text())
        for column, keys in columns.items():
            drafted = dict(spec["columns"].get(column) or {})
            drafted.pop("pii", None)  # a key column is not a PII policy column
            drafted.pop("primary_key", None)
            spec["columns"][column] = {**drafted, **keys}
        path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))


def _set_project_checks(project: Path, checks: dict[str, dict[str, float]]) -> None:
    path = project / "synthspec.yml"
    config = yaml.safe_load(path.read_text())
    config.setdefault("defaults", {})["checks"] = checks
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def drafted_types(project: Path) -> dict[str, dict[str, str]]:
    """Spec file stem -> column -> drafted type (``type`` or ``type/pii``)."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted((project / "specs").glob("*.yml")):
        spec = yaml.safe_load(path.read_text()) or {}
        out[str(spec.get("table", path.stem))] = {
            str(name): str(col.get("type")) + (f"/{col['pii']}" if col.get("pii") else "") + ("/pk" if col.get("primary_key") else "")
            for name, col in (spec.get("columns") or {}).items()}
    return out


def spec_sources(project: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted((project / "specs").glob("*.yml")):
        spec = yaml.safe_load(path.read_text()) or {}
        out[str(spec.get("table", path.stem))] = dict(spec.get("source") or {})
    return out


# --------------------------------------------------------------------------- audits


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _source_relation(source: dict[str, Any], project: Path) -> str:
    if "table" in source:
        return ".".join(_quote(part) for part in str(source["table"]).split("."))
    path = (project / str(source["path"])).as_posix().replace("'", "''")
    if path.endswith(".parquet"):
        return f"read_parquet('{path}')"
    header = ", header = false" if source.get("header") is False else ""
    return f"read_csv('{path}'{header})"


def _text_date_format(con: Any, relation: str, column: str) -> str | None:
    """The first of DATE_FORMATS in which every non-null real value of a text column parses."""
    col = _quote(column)
    total = con.execute(f"SELECT count({col}) FROM {relation}").fetchone()[0]
    if not total:
        return None
    for fmt in DATE_FORMATS:
        parsed = con.execute(f"SELECT count(try_strptime({col}, '{fmt}')) FROM {relation}").fetchone()[0]
        if parsed == total:
            return fmt
    return None


def audit_table(project: Path, target_db: Path, table: str, source: dict[str, Any], types: dict[str, str],
                sample: Path | None = None) -> Audit:
    """The acceptance audits of ``synthetic.<table>`` against its source, in DuckDB; of the
    rows in ``sample`` (a Parquet file) instead when given (then the row count is not audited:
    the sample has the rows it was asked for)."""
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        if "table" in source or sample is None:
            con.execute(f"ATTACH '{target_db.as_posix()}' AS tgt (READ_ONLY)")
        real = ("tgt." if "table" in source else "") + _source_relation(source, project)
        synth = f"tgt.synthetic.{_quote(table)}" if sample is None else f"read_parquet('{sample.as_posix()}')"
        audit = Audit(source_rows=con.execute(f"SELECT count(*) FROM {real}").fetchone()[0],
                      synthetic_rows=None if sample else con.execute(f"SELECT count(*) FROM {synth}").fetchone()[0],
                      gated_sample=sample is not None)
        described = con.execute(f"DESCRIBE SELECT * FROM {real}").fetchall()
        for name, duck_type, *_ in described:
            semantic = types.get(name, "")
            if semantic.startswith("id") or "/" in semantic:  # keys and PII policies publish no real value
                continue
            _audit_column(con, audit, real, synth, name, str(duck_type).upper(), free_text=semantic == "text")
        return audit
    finally:
        con.close()


def _audit_column(con: Any, audit: Audit, real: str, synth: str, name: str, duck_type: str, *,
                  free_text: bool = False) -> None:
    """Audit one column: as a date when it is one (typed, or text that parses as dates, whatever
    type init drafted: text dates drafted as free text must still publish dates), else as
    discrete unless drafted as free text."""
    col = _quote(name)
    if duck_type.startswith(("DATE", "TIMESTAMP")):
        audit.date_columns.append(name)
        bad = con.execute(
            f"SELECT count(*) FROM {synth} WHERE {col} IS NOT NULL AND ({col} < (SELECT min({col}) FROM {real}) "
            f"OR {col} > (SELECT max({col}) FROM {real}))").fetchone()[0]
        if bad:
            audit.bad_dates[name] = int(bad)
        return
    if duck_type == "VARCHAR" and (fmt := _text_date_format(con, real, name)) is not None:
        audit.date_columns.append(name)
        parsed = f"try_strptime({col}, '{fmt}')"
        bad = con.execute(
            f"SELECT count(*) FROM {synth} WHERE {col} IS NOT NULL AND ({parsed} IS NULL "
            f"OR {parsed} < (SELECT min({parsed}) FROM {real}) OR {parsed} > (SELECT max({parsed}) FROM {real}))"
        ).fetchone()[0]
        if bad:
            audit.bad_dates[name] = int(bad)
        return
    if free_text:
        return
    discrete_type = duck_type in ("BOOLEAN", "VARCHAR") or duck_type.endswith("INT") or duck_type in (
        "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
    if not discrete_type:
        return
    distinct, present = con.execute(f"SELECT count(DISTINCT {col}), count({col}) FROM {real}").fetchone()
    if duck_type != "BOOLEAN" and (distinct > DISCRETE_MAX or distinct > DISCRETE_SHARE * present):
        return
    audit.discrete_columns.append(name)
    # The rare-value token is by design not a real value (it replaces values too rare to publish).
    unseen = con.execute(
        f"SELECT count(*) FROM {synth} WHERE {col} IS NOT NULL AND CAST({col} AS VARCHAR) <> {RARE_TOKEN!r} "
        f"AND CAST({col} AS VARCHAR) NOT IN "
        f"(SELECT DISTINCT CAST({col} AS VARCHAR) FROM {real} WHERE {col} IS NOT NULL)").fetchone()[0]
    if unseen:
        audit.unseen[name] = int(unseen)


# --------------------------------------------------------------------------- one entry


def run_entry(entry: Entry, workdir: Path | None = None, keep: bool = False,
              project_checks: dict[str, dict[str, float]] | None = None) -> list[TableReport]:
    """init + apply + audits for one entry; never raises (an error is a report).

    ``project_checks`` replaces the drafted project defaults' thresholds: for tests of the
    runner only (the audits need published tables whatever today's gate decides); the corpus
    itself always runs with the drafts as they are."""
    project = Path(tempfile.mkdtemp(prefix=f"corpus-{entry.name}-", dir=workdir))
    try:
        return _run_entry(entry, project, project_checks)
    except Exception as exc:  # noqa: BLE001 - one entry must never stop the corpus
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return [TableReport(entry.name, entry.name, entry.form, reasons=[f"runner: {last}"])]
    finally:
        if not keep:
            shutil.rmtree(project, ignore_errors=True)


def _run_entry(entry: Entry, project: Path, project_checks: dict[str, dict[str, float]] | None) -> list[TableReport]:
    rows = materialise(entry, project)
    reports = {name: TableReport(entry.name, name, entry.form, source_rows=count) for name, count in rows.items()}
    started = time.perf_counter()
    done = init(entry, project)
    if done.returncode != 0:
        for report in reports.values():
            report.reasons.append(f"init exit {done.returncode}: {_last_lines(done.stderr or done.stdout)}")
        return list(reports.values())
    patch_specs(entry, project)
    if project_checks is not None:
        _set_project_checks(project, project_checks)
    types = drafted_types(project)
    for name, report in reports.items():
        report.drafted = types.get(name, {})
    try:
        applied = _cli(project, "apply", "-q", timeout=APPLY_TIMEOUT)
    except subprocess.TimeoutExpired:
        for report in reports.values():
            report.reasons.append(f"apply did not finish within {APPLY_TIMEOUT} s")
        return list(reports.values())
    elapsed = time.perf_counter() - started
    results = _load_results(project)
    if results is None:
        for report in reports.values():
            report.seconds = elapsed
            report.reasons.append(f"apply exit {applied.returncode}, no run_results.json: "
                                  f"{_last_lines(applied.stderr or applied.stdout)}")
        return list(reports.values())
    _fill_from_results(reports, results, applied, elapsed)
    target_db = project / ("warehouse.duckdb" if entry.form == "duckdb" else "synth.duckdb")
    sources = spec_sources(project)
    for name, report in reports.items():
        children = {t for t, columns in entry.patches.items() if any("references" in c for c in columns.values())}
        sample = None if report.published or name in children else _gated_sample(project, report)
        if not report.published and sample is None:
            continue
        try:
            report.audit = audit_table(project, target_db, name, sources[name], report.drafted, sample)
        except Exception as exc:  # noqa: BLE001
            report.reasons.append(f"audit failed: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    return list(reports.values())


def _gated_sample(project: Path, report: TableReport) -> Path | None:
    """The rows the gate held back, drawn again from the cached model (`synthspec sample`, the
    spec's seed and the source's row count), so the audits also say what a gated table would
    have published; None for tables it cannot draw (never trained, errors; the caller leaves
    out tables with references, which `sample` refuses)."""
    if report.status != "failed" or report.source_rows is None:
        return None
    out = project / "target" / f"gated_{report.table}.parquet"
    done = _cli(project, "sample", report.table, "--rows", str(report.source_rows), "--out", str(out), "-q",
                timeout=APPLY_TIMEOUT)
    return out if done.returncode == 0 and out.exists() else None


def _load_results(project: Path) -> dict[str, Any] | None:
    path = project / "target" / "run_results.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _fill_from_results(reports: dict[str, TableReport], results: dict[str, Any],
                       applied: subprocess.CompletedProcess[str], elapsed: float) -> None:
    by_table = {str(t["table"]): t for t in results.get("tables", [])}
    for name, report in reports.items():
        result = by_table.get(name)
        if result is None:
            report.seconds = elapsed
            report.reasons.append(f"not in run_results.json (apply exit {applied.returncode}): "
                                  f"{_last_lines(applied.stderr or applied.stdout)}")
            continue
        report.status = str(result.get("status"))
        report.published = bool(result.get("published"))
        report.seconds = sum(float(v) for k, v in (result.get("timings") or {}).items() if k.endswith("_s"))  # not the _peak_mb marks
        report.checks = [_check_summary(c) for c in result.get("checks", [])]
        report.reasons.extend(_reasons(result))
    for error in results.get("errors", []):
        for report in reports.values():
            if not report.published:
                report.reasons.append(f"run: {error['message'] if isinstance(error, dict) else error}")


def _check_summary(check: dict[str, Any]) -> dict[str, Any]:
    details = check.get("details") or {}
    interval = check.get("interval") or details.get("interval")
    if isinstance(interval, dict):
        interval = [interval.get("low"), interval.get("high")]
    if interval is None and "ci_low" in details and "ci_high" in details:
        interval = [details["ci_low"], details["ci_high"]]
    relative = details.get("relative")
    return {"metric": check.get("metric"), "outcome": check.get("outcome"), "value": check.get("value"),
            "min": check.get("min"), "max": check.get("max"), "interval": interval,
            "min_relative": check.get("min_relative"), "relative": relative,
            "n": [details.get("n_train"), details.get("n_holdout"), details.get("n_synthetic")] if "n_train" in details else None,
            "blocks": check.get("outcome") in ("failed", "error") or (
                check.get("outcome") == "not_evaluated" and check.get("severity", "error") == "error"
                and check.get("not_evaluated", "block") == "block"),
            "message": check.get("message")}


def _reasons(result: dict[str, Any]) -> list[str]:
    """Why a table did not publish: its message and every blocking check's message."""
    reasons = []
    if result.get("message") and not result.get("published"):
        reasons.append(str(result["message"]))
    for check in result.get("checks", []):
        summary = _check_summary(check)
        if summary["blocks"]:
            reasons.append(f"{summary['metric']}: {summary['outcome']}: {summary['message'] or ''}".rstrip(": "))
    return reasons


def _last_lines(text: str, count: int = 3) -> str:
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return " | ".join(lines[-count:]) or "(no output)"


# --------------------------------------------------------------------------- CORPUS.md


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (int, float)):
        return f"{value:.3f}" if isinstance(value, float) and not float(value).is_integer() else f"{value:g}"
    return str(value)


def _check_cell(check: dict[str, Any]) -> str:
    bound = (f"≥{_num(check['min'])}" if check["min"] is not None else "") + (
        f"≤{_num(check['max'])}" if check["max"] is not None else "") + (
        f"≥{_num(check['min_relative'])}× real" if check.get("min_relative") is not None else "")
    interval = check["interval"]
    shown = f"[{_num(interval[0])}, {_num(interval[1])}]" if isinstance(interval, (list, tuple)) and len(interval) == 2 else "—"
    relative = f" = {_num(check['relative'])}× real" if check.get("relative") is not None else ""
    sizes = f" n={'/'.join(str(v) for v in check['n'])}" if check.get("n") else ""
    mark = "❌" if check["blocks"] else ""
    return f"{mark}{check['metric']} {_num(check['value'])} {shown}{relative} ({bound}){sizes}"


def _type_counts(drafted: dict[str, str]) -> str:
    counts: dict[str, int] = {}
    for value in drafted.values():
        base = value.split("/")[0]
        counts[base] = counts.get(base, 0) + 1
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "—"


def _audit_cell(report: TableReport) -> str:
    audit = report.audit
    if audit is None:
        return "—"
    parts = []
    if audit.rows_ok is False:
        delta = (audit.synthetic_rows - audit.source_rows) / max(audit.source_rows, 1)
        parts.append(f"rows {audit.source_rows}→{audit.synthetic_rows} ({delta:+.1%})")
    if audit.unseen:
        parts.append("unseen " + ", ".join(f"{c} {n}" for c, n in audit.unseen.items()))
    if audit.bad_dates:
        parts.append("bad dates " + ", ".join(f"{c} {n}" for c, n in audit.bad_dates.items()))
    checked = f"{len(audit.discrete_columns)} discrete, {len(audit.date_columns)} date" + (
        "; of the gated sample" if audit.gated_sample else "")
    return ("❌ " + "; ".join(parts) if parts else "✅") + f" ({checked})"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _blockers(reports: list[TableReport]) -> list[str]:
    """Tables not published, counted by what blocked them (a table may count under several)."""
    counts: dict[str, list[str]] = {}
    for r in reports:
        if r.published:
            continue
        blocking = [f"{c['metric']} {c['outcome']}" for c in r.checks if c["blocks"]]
        if not blocking:
            first = r.reasons[0] if r.reasons else "unknown"
            blocking = ["held or not run (a linked table failed)" if first.startswith("not run") or r.status in (
                "held", "skipped") else f"{r.verdict}: {first[:80]}"]
        for key in blocking:
            counts.setdefault(key, []).append(r.table)
    if not counts:
        return ["Nothing: every table published."]
    return [f"- **{key}** ({len(tables)}): {', '.join(tables)}"
            for key, tables in sorted(counts.items(), key=lambda kv: (-len(kv[1]), kv[0]))]


def render(reports: list[TableReport], seconds: float, jobs: int, pending: list[Entry] | None = None) -> str:
    published = sum(r.published for r in reports)
    def clean(rs: list[TableReport]) -> int:
        return sum(r.audit.rows_ok is not False and not r.audit.unseen and not r.audit.bad_dates for r in rs)

    audited = [r for r in reports if r.audit is not None and not r.audit.gated_sample]
    samples = [r for r in reports if r.audit is not None and r.audit.gated_sample]
    lines = [
        "# synthspec corpus",
        "",
        "Generated by `tests/corpus/run_corpus.py` (`make corpus`): every table through `synthspec init` +",
        "`synthspec apply` with the defaults and zero edits (keys and references declared where the manifest",
        "says). Audits are computed in DuckDB on the published views, independently of synthspec: discrete",
        f"columns (boolean, or text/integer with ≤ {DISCRETE_MAX} distinct real values, at most half of its values)",
        "get no unseen value; date columns",
        "(typed, or text that parses as dates in every real row) parse and lie within the real range;",
        f"row counts within {ROW_TOLERANCE:.0%} of the source. Counts and exact checks have no interval (\"—\").",
        "",
        f"**Published {published}/{len(reports)} = {published / max(len(reports), 1):.0%}** of tables; "
        f"audits clean on {clean(audited)}/{len(audited)} published tables and on {clean(samples)}/{len(samples)} "
        f"gated single tables (their held-back rows drawn again with `synthspec sample`); "
        f"total {seconds / 60:.1f} min with --jobs {jobs}.",
        "",
        *([f"**Run not finished**: {len(pending)} entries still to run ({', '.join(e.name for e in pending)}).", ""]
          if pending else []),
        "| entry | table | form | rows | drafted types | checks: value [90% interval] (threshold) n=train/holdout/synthetic | time s | verdict | audits | reasons |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        rows = f"{_num(r.source_rows)}→{_num(r.audit.synthetic_rows) if r.audit else '—'}"
        checks = "<br>".join(_check_cell(c) for c in r.checks) or "—"
        reasons = "<br>".join(_md(x) for x in r.reasons) or "—"
        lines.append(f"| {r.entry} | {r.table} | {r.form} | {rows} | {_type_counts(r.drafted)} | {checks} | "
                     f"{r.seconds:.1f} | {r.verdict} | {_md(_audit_cell(r))} | {reasons} |")
    lines += ["", "## What blocked publishing", "", *_blockers(reports), "", "## Drafted types per column", ""]
    for r in reports:
        columns = ", ".join(f"`{c}` {t}" for c, t in r.drafted.items()) or "—"
        lines.append(f"- **{r.table}**: {_md(columns)}")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main


def run(entries: list[Entry], jobs: int = 1, workdir: Path | None = None,
        progress: Callable[[list[TableReport], list[Entry]], None] | None = None) -> list[TableReport]:
    """Every entry, ``jobs`` at a time; reports in manifest order. ``progress`` gets the
    reports so far and the entries still to run after each entry (to write CORPUS.md as the
    run goes: a stopped run still leaves its results)."""
    done: dict[str, list[TableReport]] = {}

    def finished(entry: Entry, reports: list[TableReport]) -> None:
        done[entry.name] = reports
        if progress is not None:
            progress([r for e in entries if e.name in done for r in done[e.name]],
                     [e for e in entries if e.name not in done])

    if jobs <= 1:
        for entry in entries:
            finished(entry, _run_and_say(entry.name, workdir))
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:  # entries go by name: loaders are not picklable
            futures = {pool.submit(_run_and_say, entry.name, workdir): entry for entry in entries}
            for future in as_completed(futures):
                finished(futures[future], _collect(futures[future], future))
    return [r for entry in entries for r in done[entry.name]]


def _collect(entry: Entry, future: Any) -> list[TableReport]:
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - a worker that died is that entry's error
        return [TableReport(entry.name, entry.name, entry.form, reasons=[f"runner: {type(exc).__name__}: {exc}"])]


def _run_and_say(name: str, workdir: Path | None) -> list[TableReport]:
    reports = run_entry(BY_NAME[name], workdir)
    for r in reports:
        print(f"{r.entry}/{r.table}: {r.verdict} ({r.seconds:.1f} s) {'; '.join(r.reasons)[:300]}", flush=True)
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="Only these entries (see manifest.py).")
    parser.add_argument("--out", type=Path, default=REPO / "CORPUS.md", help="Markdown report (default: CORPUS.md).")
    parser.add_argument("--json", type=Path, default=None, help="Also write the raw reports as JSON.")
    parser.add_argument("--jobs", type=int, default=1, help="Entries run at once (each apply runs with --jobs 1).")
    args = parser.parse_args(argv)
    unknown = [name for name in args.only or [] if name not in BY_NAME]
    if unknown:
        parser.error(f"unknown entries: {', '.join(unknown)} (known: {', '.join(BY_NAME)})")
    entries = [BY_NAME[name] for name in args.only] if args.only else list(ENTRIES)
    if args.jobs > 1:  # share the cores between the entries running at once
        threads = str(max(1, (os.cpu_count() or 1) // args.jobs))
        for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ.setdefault(variable, threads)
    started = time.perf_counter()

    def write(reports: list[TableReport], pending: list[Entry]) -> None:
        args.out.write_text(render(reports, time.perf_counter() - started, args.jobs, pending))

    reports = run(entries, args.jobs, progress=write)
    elapsed = time.perf_counter() - started
    write(reports, [])
    if args.json:
        args.json.write_text(json.dumps([asdict(r) | {"verdict": r.verdict} for r in reports], indent=2, default=str))
    published = sum(r.published for r in reports)
    print(f"published {published}/{len(reports)}; wrote {args.out} in {elapsed / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
