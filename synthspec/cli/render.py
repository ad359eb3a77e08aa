"""Text and JSON rendering of plans and run results."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from synthspec.engine.plan import TablePlan
    from synthspec.engine.results import RunResult

_COLOUR = {"passed": "green", "up_to_date": "green", "failed": "red", "error": "red", "warn": "yellow", "held": "yellow",
           "skipped": "yellow", "not_run": "yellow", "no_tables": "yellow"}


def _problems(table: str, lines: list[str]) -> None:
    """An errored table in the listing (stdout): its name, then one line per problem. The
    problems also go to stderr, where every command writes its errors (CI log scanners)."""
    click.echo(f"{table}: " + click.style("error", fg="red"))
    for line in lines:
        click.echo(f"  {line}")
        click.secho(line, fg="red", err=True)


def render_plan(plans: list[TablePlan], fmt: str) -> None:
    from synthspec.engine.plan import ACTION_TEXT

    if fmt == "json":
        click.echo(json.dumps({"tables": [p.to_dict() for p in plans]}, indent=2))
        return
    if fmt == "markdown":
        click.echo(plan_markdown(plans), nl=False)
        return
    for p in plans:
        if p.action == "error":
            _problems(p.table, p.reasons)
            continue
        why = "" if p.action == "none" else f" ({'; '.join(p.reasons)})"
        colour = "green" if p.action == "none" else "yellow"
        click.echo(f"{p.table}: " + click.style(ACTION_TEXT[p.action], fg=colour) + f"{why} [model {p.model}, {p.rows} rows]")
        if p.budget:
            b = p.budget
            left = "no cap" if b["max_total_epsilon"] is None else f"ε={b['epsilon_left']:g} left of max_total_epsilon={b['max_total_epsilon']:g}"
            click.echo(f"  privacy budget of {b['source']}: ε={b['epsilon_spent']:g} spent in {b['runs']} run(s), {left}; a training run spends ε={b['epsilon_per_run']:g}")
        for change in p.weakenings:
            click.secho(f"  privacy weakened: {change}", fg="red")
        for note in p.notes:
            click.secho(f"  note: {note}", fg="yellow")
    pending = sum(p.action not in ("none", "error") for p in plans)
    errored = sum(p.action == "error" for p in plans)
    click.echo(f"{pending} of {len(plans)} table(s) with changes pending" + (f", {errored} with errors" if errored else ""))


def plan_markdown(plans: list[TablePlan]) -> str:
    """The plan as GitHub-flavoured markdown, for a pull-request comment or a CI job summary.

    A reviewer reads it top-down, so what needs a decision comes first: privacy-weakening
    changes (even when a guardrail still applies), then errored tables (one line per problem),
    then every table with what `apply` would do and why. It holds what the text format holds
    (names, fingerprint reasons, thresholds), never a cell value."""
    pending = sum(p.action not in ("none", "error") for p in plans)
    errored = [p for p in plans if p.action == "error"]
    weakened = [p for p in plans if p.weakenings]
    head = f"## synthspec plan: {pending} of {len(plans)} table(s) with changes pending"
    if errored:
        head += f", {len(errored)} with errors"
    lines = [head, ""]
    if weakened:
        lines += ["### Privacy-weakening changes", ""]
        lines += [f"- **{_md(p.table)}**: {_md(change)}" for p in weakened for change in p.weakenings]
        lines.append("")
    if errored:
        lines += ["### Errors", ""]
        lines += [f"- **{_md(p.table)}**: {_md(line)}" for p in errored for line in p.reasons]
        lines.append("")
    lines += _plan_table(plans)
    notes = [(p.table, note) for p in plans for note in [*_budget_notes(p), *p.notes]]
    if notes:
        lines += ["", "### Notes", ""]
        lines += [f"- **{_md(table)}**: {_md(note)}" for table, note in notes]
    return "\n".join(lines) + "\n"


#: Row order of the markdown plan: weakened tables, errors, pending work, then up to date.
_PLAN_ORDER = {"error": 1, "train": 2, "resample": 2, "recheck": 2, "none": 3}


def _plan_table(plans: list[TablePlan]) -> list[str]:
    from synthspec.engine.plan import ACTION_TEXT

    if not plans:
        return ["No table selected."]
    rows = ["| table | action | why | model | rows |", "| --- | --- | --- | --- | ---: |"]
    for p in sorted(plans, key=lambda p: (0 if p.weakenings else _PLAN_ORDER.get(p.action, 3), p.table)):
        action = "error" if p.action == "error" else ACTION_TEXT[p.action]
        why = "see Errors" if p.action == "error" else "; ".join(p.reasons) if p.action != "none" else ""
        if p.weakenings:
            action += " (privacy weakened)"
        rows.append(f"| {_md(p.table)} | {action} | {_md(why)} | {_md(p.model or '')} | "
                    f"{'' if p.rows is None else p.rows} |")
    return rows


def _budget_notes(p: TablePlan) -> list[str]:
    if not p.budget:
        return []
    b = p.budget
    left = "no cap" if b["max_total_epsilon"] is None else f"ε={b['epsilon_left']:g} left of max_total_epsilon={b['max_total_epsilon']:g}"
    return [f"privacy budget of {b['source']}: ε={b['epsilon_spent']:g} spent in {b['runs']} run(s), {left}; "
            f"a training run spends ε={b['epsilon_per_run']:g}"]


def _md(text: str) -> str:
    """Text safe inside a markdown table cell or list item: pipes, backslashes and newlines
    would break the table; HTML-looking text would render."""
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\n", " "))


def render_run(result: RunResult, fmt: str, *, quiet: bool, run_errors: bool = True) -> None:
    """The run per table on stdout, errored ones included; ``run_errors=False`` when the
    caller reports the run's own error (the CLI's error handler, on stderr)."""
    from synthspec.engine.results import NO_TABLES, no_tables_message, since_text

    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    for t in result.tables:
        if t.status == "error":  # each line names the table (see engine.results.table_lines)
            _problems(t.table, [e.message for e in t.errors] or [t.message or "error"])
            continue
        if quiet and t.status in ("passed", "up_to_date"):
            continue
        total = sum(t.stage_seconds.values())
        line = f"{t.table}: " + click.style(t.status, fg=_COLOUR.get(t.status, "white"))
        if t.status == "up_to_date" and t.up_to_date_since:
            line += f" ({since_text(t.up_to_date_since)})"
        elif t.status == "not_run":
            line += f" ({t.message})"
        elif t.status != "up_to_date":
            line += f" ({t.action}, model {t.model}, {t.rows if t.rows is not None else '—'} rows, {total:.1f}s)"
        click.echo(line)
        for c in t.checks:
            value = "n/a" if c.value is None else f"{c.value:.4f}"
            if c.interval is not None:  # the interval the gate decided on, and the ratio to real data
                value += f" [{c.interval.low:.3f}, {c.interval.high:.3f}]"
            if (ratio := c.details.get("relative")) is not None:
                value += f" ({ratio:.2f} of real)"
            bounds = " ".join(f"{k} {v}" for k, v in (("min", c.min), ("max", c.max), ("min_relative", c.min_relative))
                              if v is not None)
            outcome = click.style(c.outcome.value, fg="red" if c.blocks else _COLOUR.get(c.outcome.value, "white"))
            if c.outcome.value == "not_evaluated":  # say whether it stopped publishing, and why
                outcome += f" ({'blocks' if c.blocks else 'allowed'}: {c.message})"
            elif noise := c.details.get("within_noise"):
                outcome += f" (within noise: {noise})"
            click.echo(f"  {c.metric:<22} {value:>8}  {bounds:<16} " + outcome)
        if t.message and t.status in ("failed", "held", "skipped"):
            click.secho(f"  {t.message}", fg="red")
    if run_errors:
        for error in result.errors:
            click.secho(f"error: {error.message}", fg="red", err=True)
        if result.status == NO_TABLES:
            click.secho(f"error: {no_tables_message()}", fg="red", err=True)
    if not quiet:
        click.echo(f"status: {result.status}")


def render_scan(findings: list[dict], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps({"findings": findings}, indent=2))
        return
    if not findings:
        click.echo("no PII detected")
        return
    for f in findings:
        policy = f["policy"] or click.style("no policy", fg="red")
        click.echo(f"{f['table']}.{f['column']}: {f['entity']} (confidence {f['confidence']:.2f}, {f['share']:.0%} of sampled values) "
                   f"[{policy}] — {f['evidence']}")
