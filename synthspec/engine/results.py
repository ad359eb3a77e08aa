"""Run results and the three report files CI reads: run_results.json, junit.xml, summary.md."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from synthspec import __version__
from synthspec.errors import EnvironmentError_, ExitCode
from synthspec.metrics.checks import CheckResult, Outcome


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table, "status": self.status, "action": self.action, "model": self.model,
            "rows": self.rows, "fingerprint": self.fingerprint, "published": self.published,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "metrics": {k: (round(v, 6) if isinstance(v, float) else v) for k, v in self.metrics.items()},
            "checks": [c.to_dict() for c in self.checks], "message": self.message,
        }


@dataclass
class RunResult:
    started_at: datetime = field(default_factory=utc_now)
    finished_at: datetime | None = None
    tables: list[TableResult] = field(default_factory=list)

    @property
    def status(self) -> str:
        statuses = {t.status for t in self.tables}
        if "error" in statuses:
            return "error"
        return "failed" if "failed" in statuses else "passed"

    @property
    def exit_code(self) -> ExitCode:
        return max((t.exit_code for t in self.tables), default=ExitCode.OK)

    def to_dict(self) -> dict[str, Any]:
        return {
            "synthspec_version": __version__, "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at), "status": self.status,
            "tables": [t.to_dict() for t in self.tables],
        }


def write_reports(result: RunResult, target_dir: Path) -> None:
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        (target_dir / "run_results.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
        (target_dir / "junit.xml").write_text(junit(result))
        (target_dir / "summary.md").write_text(summary_markdown(result))
    except OSError as exc:
        raise EnvironmentError_(f"cannot write reports to '{target_dir.name}/': {exc.strerror}") from exc


def junit(result: RunResult) -> str:
    """One test suite per table, one test case per check (plus one for a table error)."""
    suites = ET.Element("testsuites", name="synthspec")
    for table in result.tables:
        cases = list(table.checks)
        failures = sum(c.outcome == Outcome.FAILED for c in cases)
        suite = ET.SubElement(suites, "testsuite", name=table.table, tests=str(max(len(cases), 1)),
                              failures=str(failures), errors=str(int(table.status == "error")),
                              time=f"{sum(table.timings.values()):.3f}")
        if table.status == "error":
            case = ET.SubElement(suite, "testcase", classname=f"synthspec.{table.table}", name="apply")
            ET.SubElement(case, "error", message=table.message or "error")
        for check in cases:
            case = ET.SubElement(suite, "testcase", classname=f"synthspec.{table.table}", name=check.metric)
            if check.outcome == Outcome.FAILED:
                ET.SubElement(case, "failure", message=check.message or "failed")
            elif check.outcome in (Outcome.WARN, Outcome.NOT_EVALUATED):
                ET.SubElement(case, "skipped", message=check.message or check.outcome.value)
        if table.status == "up_to_date" and not cases:
            ET.SubElement(suite, "testcase", classname=f"synthspec.{table.table}", name="up_to_date")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


_ICON = {"passed": "✅", "failed": "❌", "error": "💥", "up_to_date": "⏸️", "warn": "⚠️", "not_evaluated": "➖",
         "held": "✋", "skipped": "⏭️"}


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def summary_markdown(result: RunResult) -> str:
    lines = [f"## synthspec: {result.status}", "", "| table | status | model | rows | published | checks |", "|---|---|---|---|---|---|"]
    for t in result.tables:
        checks = ", ".join(f"{_ICON.get(c.outcome.value, '')} {c.metric} {_fmt(c.value)}" for c in t.checks) or "—"
        lines.append(f"| {t.table} | {_ICON.get(t.status, '')} {t.status} | {t.model or '—'} | {t.rows if t.rows is not None else '—'} | {'yes' if t.published else 'no'} | {checks} |")
    problems = [(t.table, t.message) for t in result.tables if t.message]
    if problems:
        lines += ["", "### Messages", ""] + [f"- **{name}**: {message}" for name, message in problems]
    return "\n".join(lines) + "\n"
