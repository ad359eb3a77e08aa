"""Run results and the report files: run_results.json, junit.xml, summary.md (what CI reads)
and report.html (for people: self-contained, no script, no external resource).

No report carries a raw cell value: checks and metrics are numbers, messages name columns, and
the plots are drawn from the privacy-safe profiles of ``synthspec.metrics.profile`` (bin edges
on a coarse grid around the real 1st–99th percentiles, never at the real minimum or maximum;
category labels only when at least 10 real rows hold them). Every report goes through
``synthspec.redact`` before it is written: no resolved ``${VAR}`` value or secret appears."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from synthspec import __version__, redact
from synthspec.errors import EnvironmentError_, ExitCode, SpecError, SynthspecError, UsageError
from synthspec.metrics.checks import CheckResult, Outcome
from synthspec.metrics.insights import TableInsights
from synthspec.metrics.intervals import LEVEL, Interval
from synthspec.metrics.profile import ColumnProfile


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def error_class(exc: BaseException) -> str:
    """A stable name for what went wrong, for CI to branch on (never the message): the exit
    code's family, not the Python class of the day."""
    if isinstance(exc, KeyboardInterrupt):
        return "KeyboardInterrupt"
    if isinstance(exc, SpecError):
        return "SpecError"
    if isinstance(exc, UsageError):
        return "UsageError"
    if isinstance(exc, EnvironmentError_):
        return "EnvironmentError"
    if isinstance(exc, MemoryError):
        return "MemoryError"
    if isinstance(exc, SynthspecError):  # e.g. a table stopped by one it references
        return {ExitCode.INVALID: "SpecError", ExitCode.CHECK_FAILED: "CheckFailed"}.get(exc.exit_code, "EnvironmentError")
    return "InternalError"


#: The exit code of each error class (a stored result has no exception to ask).
CLASS_EXIT = {"SpecError": ExitCode.INVALID, "UsageError": ExitCode.INVALID, "CheckFailed": ExitCode.CHECK_FAILED,
              "KeyboardInterrupt": ExitCode.INTERRUPTED}


@dataclass(frozen=True)
class RunError:
    """One problem (one line), of the run itself or of one table."""

    cls: str
    message: str
    table: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"class": self.cls, "message": self.message, **({"table": self.table} if self.table else {})}

    @classmethod
    def from_dict(cls, data: Any) -> RunError:
        """Also reads the plain strings older run_results.json files hold."""
        if isinstance(data, str):
            return cls("Error", data)
        return cls(str(data.get("class", "Error")), str(data.get("message", "")), data.get("table"))


@dataclass
class TableResult:
    table: str
    #: passed | failed | error | up_to_date | held (passed, but a linked table did not) |
    #: skipped (a table it references failed)
    status: str = "passed"
    action: str = "train"  # train | resample | recheck | none
    model: str | None = None
    rows: int | None = None
    fingerprint: str | None = None
    published: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    metrics: dict[str, float | None] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)
    message: str | None = None
    exit_code: ExitCode = ExitCode.OK
    #: Real vs synthetic shares per modelled column, for the report's plots (privacy-safe by
    #: construction, see ``synthspec.metrics.profile``); None when not computed.
    profile: list[ColumnProfile] | None = None
    #: Rare-value protection per protected column (see ``synthspec.engine.rare``): column,
    #: min_count, replace and how many distinct values and rows were protected; counts only.
    #: None when the source was not read (up to date, or an error before).
    rare: list[dict[str, Any]] | None = None
    #: The report's other charts and summaries (privacy-safe, see ``synthspec.metrics.insights``).
    insights: TableInsights | None = None
    #: status error: one entry per problem (class and one line of message)
    errors: list[RunError] = field(default_factory=list)
    #: An up-to-date table shows the checks, metrics and plots of the run that published (or
    #: last re-checked) its current version: ``{"run_id", "finished_at"}`` of that run.
    up_to_date_since: dict[str, str | None] | None = None

    @property
    def stage_seconds(self) -> dict[str, float]:
        """The `<stage>_s` durations of ``timings``: it also holds `<stage>_peak_mb` (peak RSS so far)."""
        return {k: v for k, v in self.timings.items() if k.endswith("_s")}

    def to_dict(self) -> dict[str, Any]:
        data = {
            "table": self.table, "status": self.status, "action": self.action, "model": self.model,
            "rows": self.rows, "fingerprint": self.fingerprint, "published": self.published,
            "exit_code": int(self.exit_code),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "metrics": {k: (round(v, 6) if isinstance(v, float) else v) for k, v in self.metrics.items()},
            "checks": [c.to_dict() for c in self.checks], "message": self.message,
        }
        if self.errors:
            data["errors"] = [{"class": e.cls, "message": e.message} for e in self.errors]
        if self.up_to_date_since is not None:
            data["up_to_date_since"] = dict(self.up_to_date_since)
        if self.rare is not None:
            data["rare_values"] = list(self.rare)
        if self.profile is not None:
            data["profile"] = [p.to_dict() for p in self.profile]
        if self.insights is not None:
            data["insights"] = self.insights.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableResult:
        """Back from a ``run_results.json`` entry (the exit code is not stored: it is derived)."""
        status = str(data.get("status", "error"))
        checks = [CheckResult(metric=str(c["metric"]), outcome=Outcome(c["outcome"]), value=c.get("value"),
                              min=c.get("min"), max=c.get("max"), severity=c.get("severity", "error"),
                              message=c.get("message"), details=dict(c.get("details") or {}),
                              not_evaluated=c.get("not_evaluated", "block"), interval=_interval(c.get("interval")),
                              min_relative=c.get("min_relative"))
                  for c in data.get("checks", [])]
        profile = data.get("profile")
        derived = {"failed": ExitCode.CHECK_FAILED, "error": ExitCode.ENVIRONMENT}.get(status, ExitCode.OK)
        return cls(
            table=str(data["table"]), status=status, action=str(data.get("action", "train")), model=data.get("model"),
            rows=data.get("rows"), fingerprint=data.get("fingerprint"), published=bool(data.get("published")),
            timings={k: float(v) for k, v in (data.get("timings") or {}).items()},
            metrics=dict(data.get("metrics") or {}), checks=checks, message=data.get("message"),
            exit_code=ExitCode(int(data["exit_code"])) if data.get("exit_code") is not None else derived,
            profile=[ColumnProfile.from_dict(p) for p in profile] if profile is not None else None,
            rare=[dict(r) for r in data["rare_values"]] if data.get("rare_values") is not None else None,
            insights=TableInsights.from_dict(data["insights"]) if data.get("insights") else None,
            errors=[RunError.from_dict(e) for e in data.get("errors") or []],
            up_to_date_since=dict(data["up_to_date_since"]) if data.get("up_to_date_since") else None,
        )

    def carried(self, since: dict[str, str | None]) -> TableResult:
        """This (published) result shown again by a run that found the table up to date: its
        checks, metrics and plots, marked with the run they come from; no time of its own."""
        return TableResult(table=self.table, status="up_to_date", action="none", model=self.model, rows=self.rows,
                           fingerprint=self.fingerprint, published=True, metrics=dict(self.metrics),
                           checks=list(self.checks), profile=self.profile, rare=self.rare, insights=self.insights,
                           up_to_date_since=dict(since))


def new_run_id(started: datetime) -> str:
    """Sortable by time and unique: ``20261130T164455Z-3f9a1c``."""
    import uuid

    return f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


#: The run status when no table was processed: never green (see README "Outputs").
NO_TABLES = "no_tables"


@dataclass
class RunResult:
    started_at: datetime = field(default_factory=utc_now)
    finished_at: datetime | None = None
    tables: list[TableResult] = field(default_factory=list)
    #: errors of the run itself (e.g. a locked database, an interrupt, reports that could not
    #: be written), not of one table
    errors: list[RunError] = field(default_factory=list)
    run_id: str = ""
    #: The synthspec version that produced the run (a re-rendered report keeps the original's).
    version: str = __version__

    def __post_init__(self) -> None:
        self.run_id = self.run_id or new_run_id(self.started_at)

    @property
    def status(self) -> str:
        statuses = {t.status for t in self.tables}
        if "error" in statuses or self.errors:
            return "error"
        if not self.tables:
            return NO_TABLES
        return "failed" if "failed" in statuses else "passed"

    @property
    def exit_code(self) -> ExitCode:
        run = [CLASS_EXIT.get(e.cls, ExitCode.ENVIRONMENT) for e in self.errors]
        if not self.tables and not self.errors:
            run.append(ExitCode.INVALID)
        return max([*(t.exit_code for t in self.tables), *run], default=ExitCode.OK)

    def all_errors(self) -> list[RunError]:
        """The run's errors, then each table's, named by table."""
        return [*self.errors, *(RunError(e.cls, e.message, t.table) for t in self.tables for e in t.errors)]

    def to_dict(self) -> dict[str, Any]:
        errors = self.all_errors()
        return {
            "synthspec_version": self.version, "run_id": self.run_id, "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at), "status": self.status, "exit_code": int(self.exit_code),
            "error_class": errors[0].cls if errors else None,
            "tables": [t.to_dict() for t in self.tables], "errors": [e.to_dict() for e in errors],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        errors = [RunError.from_dict(e) for e in data.get("errors", [])]
        return cls(started_at=_parse_iso(data.get("started_at")) or utc_now(), finished_at=_parse_iso(data.get("finished_at")),
                   tables=[TableResult.from_dict(t) for t in data.get("tables", [])],
                   errors=[e for e in errors if e.table is None],  # a table's own are in its entry
                   run_id=str(data.get("run_id") or ""), version=str(data.get("synthspec_version") or __version__))


def no_tables_message() -> str:
    return "no table was processed: the selection matched no spec (check --select/--exclude and the specs directory)"


def table_lines(table: str, spec_file: str | None, lines: list[str]) -> list[str]:
    """A table's error lines, each naming the table: a line located in its spec
    (``specs/t.yml:3:5: ...``) as it is, any other with ``table: `` in front (in place of the
    bare spec file name: ``specs/t.yml: cannot read...`` becomes ``t: cannot read...``)."""
    named = []
    for line in lines:
        if spec_file and re.match(re.escape(spec_file) + r":\d+:\d+: ", line):
            named.append(line)
        elif spec_file and line.startswith(f"{spec_file}: "):
            named.append(f"{table}: {line[len(spec_file) + 2:]}")
        else:
            named.append(line if line.startswith(f"{table}: ") else f"{table}: {line}")
    return named


def _interval(data: Any) -> Interval | None:
    """An interval back from ``run_results.json`` (older files have none)."""
    if not isinstance(data, dict):
        return None
    return Interval(float(data["low"]), float(data["high"]), str(data.get("method", "")), float(data.get("level", LEVEL)))


def _parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


RESULTS_FILE = "run_results.json"
#: The files rendered from the results (``synthspec report`` re-renders exactly these).
RENDERED_FILES = ("junit.xml", "summary.md", "report.html")


def clear_reports(target_dir: Path) -> None:
    """Remove the last run's reports (a run about to start must not leave them claiming it),
    report.pdf included (`synthspec report --pdf` writes it on request only)."""
    try:
        for name in (RESULTS_FILE, *RENDERED_FILES, "report.pdf"):
            (target_dir / name).unlink(missing_ok=True)
    except OSError as exc:
        raise EnvironmentError_(f"cannot write reports to '{target_dir.name}/': {exc.strerror}") from exc


def write_reports(result: RunResult, target_dir: Path) -> None:
    """The rendered files first, run_results.json last: whoever sees run_results.json (CI, a
    process watching for it) finds the other files of the same state next to it, even when the
    process is killed right after."""
    render_reports(result, target_dir)
    try:
        text = json.dumps(redact.data(result.to_dict()), indent=2) + "\n"
        (target_dir / RESULTS_FILE).write_text(redact.text(text))
    except OSError as exc:
        raise EnvironmentError_(f"cannot write reports to '{target_dir.name}/': {exc.strerror}") from exc


def render_reports(result: RunResult, target_dir: Path) -> list[Path]:
    """junit.xml, summary.md and report.html from ``result``; the paths written. The result
    is redacted before rendering (escaping would hide a value from a later text pass) and the
    rendered text again (in case a template ever adds one)."""
    result = RunResult.from_dict(redact.data(result.to_dict()))
    rendered = {name: redact.text(text) for name, text in
                (("junit.xml", junit(result)), ("summary.md", summary_markdown(result)), ("report.html", report_html(result)))}
    written = []
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        for name in RENDERED_FILES:
            (target_dir / name).write_text(rendered[name], encoding="utf-8")
            written.append(target_dir / name)
    except OSError as exc:
        raise EnvironmentError_(f"cannot write reports to '{target_dir.name}/': {exc.strerror}") from exc
    return written


def load_results(target_dir: Path) -> RunResult:
    """The last run's results, from ``target/run_results.json``."""
    from synthspec.errors import UsageError

    path = target_dir / RESULTS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no '{target_dir.name}/{RESULTS_FILE}' to render: run `synthspec apply` first") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read '{target_dir.name}/{RESULTS_FILE}': {exc.__class__.__name__}; run `synthspec apply` again") from exc
    try:
        return RunResult.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise UsageError(f"'{target_dir.name}/{RESULTS_FILE}' is not a synthspec run result ({exc.__class__.__name__}); "
                         "run `synthspec apply` again") from exc


def load_run(project: Any, run_id: str) -> RunResult:
    """A past run, rebuilt from the target database's run history (opened read-only): every
    table's stored result. Errors of the run itself (a locked database, an interrupt) were
    never stored there: only its tables' outcomes come back."""
    from synthspec.errors import UsageError
    from synthspec.io import history, warehouse

    target = project.path(project.config.target.duckdb)
    if not target.exists():
        raise UsageError(f"no target database '{project.config.target.duckdb}': no run history to rebuild from")
    with warehouse.open_project(project, write=False, need_source=False) as cons:
        started, finished, tables = history.run_results(cons.target, run_id)
        if not tables:
            known = [r for r, _, _ in history.recent_runs(cons.target)]
            raise UsageError(f"unknown run id '{run_id}'; the most recent: {', '.join(known) or 'none recorded'} "
                             "(`synthspec history` lists them)")
    return RunResult(started_at=as_utc(started), finished_at=as_utc(finished),
                     tables=[TableResult.from_dict(t) for t in tables], run_id=run_id)


def as_utc(moment: Any) -> datetime:
    """A TIMESTAMPTZ from DuckDB (local zone) as UTC."""
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def junit(result: RunResult) -> str:
    """One test suite per table, one test case per check (plus one for a table error). A check
    that blocked publishing is a failure (a metric that raised: an error), whatever its outcome:
    a blocking `not_evaluated` is not a skip."""
    suites = ET.Element("testsuites", name="synthspec")
    for table in result.tables:
        cases = list(table.checks)
        failures = sum(c.blocks and c.outcome != Outcome.ERROR for c in cases)
        errors = int(table.status == "error") + sum(c.outcome == Outcome.ERROR for c in cases)
        suite = ET.SubElement(suites, "testsuite", name=table.table, tests=str(max(len(cases), 1)),
                              failures=str(failures), errors=str(errors),
                              time=f"{_total_seconds(table):.3f}")
        if table.status == "error":
            case = ET.SubElement(suite, "testcase", classname=f"synthspec.{table.table}", name="apply")
            _error_element(case, table.errors or [RunError("Error", table.message or table.status)])
        elif table.status == "not_run":  # the run's own error is the suite "synthspec" below
            case = ET.SubElement(suite, "testcase", classname=f"synthspec.{table.table}", name="apply")
            ET.SubElement(case, "skipped", message=table.message or "not run")
        for check in cases:
            case = ET.SubElement(suite, "testcase", classname=f"synthspec.{table.table}", name=check.metric)
            if check.outcome == Outcome.ERROR:
                ET.SubElement(case, "error", message=check.message or "error")
            elif check.blocks:
                prefix = "not evaluated: " if check.outcome == Outcome.NOT_EVALUATED else ""
                ET.SubElement(case, "failure", message=prefix + (check.message or "failed"))
            elif check.outcome in (Outcome.WARN, Outcome.NOT_EVALUATED):
                ET.SubElement(case, "skipped", message=check.message or check.outcome.value)
        if table.status == "up_to_date" and not cases:
            ET.SubElement(suite, "testcase", classname=f"synthspec.{table.table}", name="up_to_date")
    if result.errors:  # the run itself failed (interrupted, reports or publication): never a green suite
        suite = ET.SubElement(suites, "testsuite", name="synthspec", tests="1", failures="0", errors="1", time="0.000")
        _error_element(ET.SubElement(suite, "testcase", classname="synthspec", name="run"), result.errors)
    elif result.status == NO_TABLES:  # nothing was checked: a failure, not an empty green suite
        suite = ET.SubElement(suites, "testsuite", name="synthspec", tests="1", failures="1", errors="0", time="0.000")
        ET.SubElement(ET.SubElement(suite, "testcase", classname="synthspec", name="run"), "failure",
                      message=no_tables_message())
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _error_element(case: ET.Element, errors: list[RunError]) -> None:
    """One <error>: typed by the first problem's class, its message the first line, every
    problem one line of its text."""
    error = ET.SubElement(case, "error", message=errors[0].message, type=errors[0].cls)
    error.text = "\n".join(f"{e.cls}: {e.message}" for e in errors)


def _total_seconds(table: TableResult) -> float:
    """Summed as stored in run_results.json (3 decimals), so a re-rendered report is identical."""
    return sum(round(v, 3) for v in table.stage_seconds.values())


_ICON = {"passed": "✅", "failed": "❌", "error": "💥", "up_to_date": "⏸️", "warn": "⚠️", "not_evaluated": "➖",
         "held": "✋", "skipped": "⏭️", "not_run": "⏹️", "no_tables": "⚠️"}


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def summary_markdown(result: RunResult) -> str:
    lines = [f"## synthspec: {result.status}", "", f"run `{result.run_id}`", "",
             "| table | status | model | rows | published | checks |", "|---|---|---|---|---|---|"]
    for t in result.tables:
        checks = ", ".join(f"{_ICON['failed'] if c.blocks else _ICON.get(c.outcome.value, '')} {c.metric} {c.value_text()}"
                           for c in t.checks) or "—"
        status = f"{_ICON.get(t.status, '')} {t.status}" + (f" ({since_text(t.up_to_date_since)})" if t.up_to_date_since else "")
        lines.append(f"| {t.table} | {status} | {t.model or '—'} | {t.rows if t.rows is not None else '—'} | {'yes' if t.published else 'no'} | {checks} |")
    if result.status == NO_TABLES:
        lines += ["", f"**{no_tables_message()}**"]
    protected = [(t.table, r) for t in result.tables for r in (t.rare or []) if r.get("values")]
    if protected:
        lines += ["", "### Rare values protected", "", "| table | column | min_count | values | rows | replaced by |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {table} | {r['column']} | {r['min_count']} | {r['values']} | {r['rows']} | {r['replace']} |" for table, r in protected]
    problems = [*((e.table or "run", f"{e.cls}: {e.message}") for e in result.all_errors()),
                *((t.table, t.message) for t in result.tables if t.message and not t.errors)]
    if problems:
        lines += ["", "### Messages", ""] + [f"- **{name}**: {message}" for name, message in problems]
    return "\n".join(lines) + "\n"


def since_text(since: dict[str, str | None] | None) -> str:
    """``up to date since run <id> (<finished_at>)``: where a carried result comes from."""
    if not since:
        return ""
    return f"up to date since run {since.get('run_id')} ({since.get('finished_at') or '—'})"


def report_html(result: RunResult) -> str:
    """The run as one self-contained HTML page (see ``synthspec.report.html``)."""
    from synthspec.report.html import render

    return render(result)
