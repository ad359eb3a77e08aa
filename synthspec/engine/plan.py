"""`synthspec plan`: what `apply` would do per table, and why, without training anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from synthspec.engine.prepare import prepare_run
from synthspec.engine.results import table_lines
from synthspec.errors import ExitCode, SynthspecError
from synthspec.io import state, warehouse
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
    exit_code: ExitCode = ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "action": self.action, "reasons": self.reasons, "model": self.model,
                "rows": self.rows, "privacy_weakenings": self.weakenings, "budget": self.budget}


def _budget(cons: warehouse.Connections, project: Project, loaded: LoadedSpec) -> dict[str, Any] | None:
    privacy = loaded.spec.privacy
    if privacy.epsilon is None:
        return None
    from synthspec.io import ledger

    machine = ledger.machine_ledger_path(project)
    balances = [ledger.balance(project.state_dir, cons.target, r, machine) for r in ledger.relations(cons, loaded, project)]
    most = max(balances, key=lambda b: b.epsilon)
    cap = privacy.max_total_epsilon
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
            if isinstance(p, SynthspecError):
                spec_file = next((s.file for s in project.specs if s.table == table), None)
                plans.append(TablePlan(table, "error", table_lines(table, spec_file, p.lines()), exit_code=p.exit_code))
                continue
            plans.append(TablePlan(p.table, p.action, p.reasons, p.model, p.rows, p.weakenings, _budget(cons, project, p.loaded)))
    return plans
