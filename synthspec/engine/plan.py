"""`synthspec plan`: what `apply` would do per table, and why, without training anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from synthspec.engine.prepare import Prepared, prepare_run
from synthspec.engine.results import error_class, table_lines
from synthspec.engine.weakening import weakenings
from synthspec.errors import ExitCode, SynthspecError
from synthspec.io import state, warehouse
from synthspec.metrics.registry import unmet
from synthspec.spec.project import LoadedSpec, Project

ACTION_TEXT = {"train": "will train", "resample": "will resample", "recheck": "will re-check", "none": "up to date"}


@dataclass
class TablePlan:
    table: str
    action: str  # train | resample | recheck | none | error
    reasons: list[str] = field(default_factory=list)
    model: str | None = None
    rows: int | None = None
    weakenings: list[str] = field(default_factory=list)
    budget: dict[str, Any] | None = None  # DP tables: epsilon spent on the source, cap, left
    notes: list[str] = field(default_factory=list)  # e.g. guardrails this table cannot compute
    exit_code: ExitCode = ExitCode.OK
    error_class: str | None = None  # action error: what kind (see engine.results.error_class)

    def to_dict(self) -> dict[str, Any]:
        data = {"table": self.table, "action": self.action, "reasons": self.reasons, "model": self.model,
                "rows": self.rows, "privacy_weakenings": self.weakenings, "budget": self.budget, "notes": self.notes}
        if self.action == "error":  # one entry per problem line, as run_results.json has them
            data["errors"] = [{"class": self.error_class, "message": line} for line in self.reasons]
            data["exit_code"] = int(self.exit_code)
        return data


def _budget(cons: warehouse.Connections, project: Project, loaded: LoadedSpec) -> dict[str, Any] | None:
    privacy = loaded.spec.privacy
    if privacy.epsilon is None:
        return None
    from synthspec.io import ledger

    machine = ledger.machine_ledger_path(project)
    balances = [ledger.balance(project.state_dir, cons.target, r, machine) for r in ledger.relations(cons, loaded, project)]
    most = max(balances, key=lambda b: b.epsilon)
    cap = ledger.total_cap(loaded.spec, project)
    return {"source": most.source, "sources": [b.source for b in balances], "epsilon_spent": most.epsilon,
            "delta_spent": most.delta, "runs": most.runs, "max_total_epsilon": cap,
            "epsilon_left": None if cap is None else max(cap - most.epsilon, 0.0), "epsilon_per_run": privacy.epsilon}


def plan(project: Project, specs: list[LoadedSpec]) -> list[TablePlan]:
    salt = state.salt(project.state_dir)
    plans: list[TablePlan] = []
    with warehouse.open_project(project, write=False) as cons:
        run = prepare_run(cons, project, specs, salt, force=False)
        for table in run.tables:
            p = run.prepared[table]
            try:
                if isinstance(p, SynthspecError):
                    raise p
                plans.append(TablePlan(p.table, p.action, p.reasons, p.model, p.rows, _weakenings(project, p),
                                       _budget(cons, project, p.loaded), _guardrail_notes(project, p.loaded)))
            except SynthspecError as exc:
                spec_file = next((s.file for s in project.specs if s.table == table), None)
                plans.append(TablePlan(table, "error", table_lines(table, spec_file, exc.lines()), exit_code=exc.exit_code,
                                       error_class=error_class(exc)))
    return plans


def _weakenings(project: Project, p: Prepared) -> list[str]:
    """As `prepare` found them, but naming the guardrails that still apply to a relaxed check."""
    guardrails = dict(project.config.guardrails.checks.items())
    return weakenings(p.published.privacy if p.published else None, p.privacy, guardrails)


def _guardrail_notes(project: Project, loaded: LoadedSpec) -> list[str]:
    """Guardrails left out of this table because it cannot compute their metric (they would be
    `not_evaluated` on every run): said here so a reviewer sees what the table is not held to."""
    notes = []
    for metric, floor in project.config.guardrails.checks.items():
        if why := unmet(metric, loaded.spec, (getattr(loaded.spec.checks, metric, None) or floor).target):
            notes.append(f"guardrail {metric} does not apply to this table: the metric {why}")
    return notes
