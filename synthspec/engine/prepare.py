"""Everything `plan` and `apply` decide before touching a model: the source's schema checked
against the spec, the fingerprints, and what must happen to each table and why."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from synthspec.engine import rare
from synthspec.engine.columns import ColumnPlan, decimal_places, type_mismatch, width_decimals
from synthspec.engine.fingerprint import Fingerprints, data_fingerprint_part, fingerprints
from synthspec.engine.scan import gate, scan
from synthspec.engine.secrets import policy_secrets
from synthspec.engine.tiny import is_tiny, tiny_checks
from synthspec.engine.weakening import privacy_snapshot, weakenings
from synthspec.errors import ExitCode, Problem, SpecError, SynthspecError
from synthspec.io import history, warehouse
from synthspec.io.warehouse import Connections
from synthspec.models.registry import choose_model
from synthspec.spec.models import CheckSpec
from synthspec.spec.project import LoadedSpec, Project
from synthspec.spec.relations import Graph, Reference, primary_key, references_of

#: Checks every table gets unless its spec (or the project defaults) says otherwise.
#: quality_score is relative: real data itself scores ~0.78 on 100 rows and ~0.99 on 30 000
#: (UCI Adult, real vs real), so no absolute floor suits every size.
BUILTIN_CHECKS: dict[str, dict[str, Any]] = {"quality_score": {"min_relative": 0.9}, "dcr_share": {"max": 0.6}}


@dataclass
class Prepared:
    loaded: LoadedSpec
    plans: list[ColumnPlan]
    source_columns: list[tuple[str, str]]
    row_count: int
    data_hash: str
    model: str
    rows: int
    checks: dict[str, CheckSpec]
    fps: Fingerprints
    published: history.PublishedVersion | None
    action: str = "train"  # train | resample | recheck | none
    reasons: list[str] = field(default_factory=list)
    privacy: dict[str, Any] = field(default_factory=dict)  # snapshot stored with the run
    weakenings: list[str] = field(default_factory=list)  # vs the last published spec
    findings: list[dict[str, Any]] = field(default_factory=list)  # PII detected in the source
    refs: list[Reference] = field(default_factory=list)  # this table's references, column order
    rare_rules: dict[str, rare.RareRule] = field(default_factory=dict)  # rare-value protection per column
    #: Where each check's threshold came from (see ``threshold_sources``), for the report.
    threshold_sources: dict[str, str] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return self.loaded.table


def effective_checks(loaded: LoadedSpec, project: Project) -> dict[str, CheckSpec]:
    """Built-in defaults < project defaults and spec (already merged) < guardrails, which are
    floors applied on top: the tighter bound wins whoever set the other, with severity error,
    and they block when they cannot be evaluated unless the guardrail itself allows it. Checks
    the table cannot compute (known from the spec: e.g. no modelled column, no
    quasi-identifiers) are left out instead of being `not_evaluated` on every run; `validate`
    refuses such a check when the spec names it, and `plan` names the guardrails left out."""
    from synthspec.metrics.registry import unmet

    spec = loaded.spec
    checks = {name: CheckSpec(**value) for name, value in BUILTIN_CHECKS.items()}
    if references_of(loaded) and not (spec.rows or spec.scale):
        # Children per parent as in the real data (an explicit row count changes them on purpose).
        checks["cardinality"] = CheckSpec(min=0.9)
    checks.update(dict(spec.checks.items()))
    for name, floor in project.config.guardrails.checks.items():
        checks[name] = checks.get(name, floor).under(floor)
    # Not negotiable: published keys are unique and published foreign keys resolve.
    if primary_key(loaded):
        checks["key_uniqueness"] = CheckSpec(min=1.0)
    if references_of(loaded):
        checks["referential_integrity"] = CheckSpec(min=1.0)
    gate = project.config.gate
    return {name: check.model_copy(update={"not_evaluated": check.not_evaluated or gate.not_evaluated,
                                           "decide": check.decide or gate.decide})
            for name, check in checks.items() if unmet(name, spec, check.target) is None}


def threshold_sources(loaded: LoadedSpec, project: Project, checks: dict[str, CheckSpec]) -> dict[str, str]:
    """Per effective check, who set its threshold: ``guardrail`` when a project guardrail's
    bound is the one in force, else ``spec`` (the table's own spec file), ``project default``
    (``defaults.checks`` of the project file), ``built-in default`` or ``built-in rule`` (key
    uniqueness, referential integrity, cardinality, the tiny-table replacement). A reviewer
    reads it next to the value: a loose threshold in a spec is a review point, a guardrail is not."""
    own = loaded.doc.data.get("checks") if isinstance(loaded.doc.data, dict) else None
    defaults = project.config.defaults.checks or {}
    rails = dict(project.config.guardrails.checks.items())
    sources = {}
    for name, check in checks.items():
        floor = rails.get(name)
        if floor is not None and any(bound is not None and bound == getattr(check, side)
                                     for side, bound in (("min", floor.min), ("max", floor.max), ("min_relative", floor.min_relative))):
            sources[name] = "guardrail"
        elif isinstance(own, dict) and name in own:
            sources[name] = "spec"
        elif name in defaults:
            sources[name] = "project default"
        else:
            sources[name] = "built-in default" if name in BUILTIN_CHECKS else "built-in rule"
    return sources


def verify_columns(loaded: LoadedSpec, source_columns: list[tuple[str, str]]) -> list[ColumnPlan]:
    """The strictness rules: every source column declared, every declared column present,
    types supported and compatible. Violations are spec errors located in the spec."""
    spec = loaded.spec
    problems: list[Problem] = []

    def at(path: tuple[Any, ...], message: str) -> None:
        loc = loaded.doc.locate(path, prefer_key=True)
        problems.append(Problem(loc.file, loc.line, loc.col, message))

    types = dict(source_columns)
    for name, duckdb_type in source_columns:
        if name not in spec.columns:
            hint = difflib.get_close_matches(name, [c for c in spec.columns if c not in types], n=1)
            at(("columns",), f"source column '{name}' ({duckdb_type}) is not declared in the spec" + (f"; is '{hint[0]}' a misspelling?" if hint else ""))
    for name, column in spec.columns.items():
        if name not in types:
            hint = difflib.get_close_matches(name, list(types), n=1)
            at(("columns", name), f"column '{name}' is declared but missing from the source" + (f"; did you mean '{hint[0]}'?" if hint else ""))
            continue
        if column.pii == "drop":
            continue  # published as NULLs of the source type: any type will do
        if warehouse.unsupported_type(types[name]):
            at(("columns", name), f"column '{name}': source type {types[name]} is not supported yet (declare it `pii: drop` to publish it as NULLs)")
        elif why := type_mismatch(column, types[name]):
            at(("columns", name, "type"), f"column '{name}': {why}")
        elif column.pii == "generalize" and column.width is not None and (why := _width_unpublishable(column.width, types[name])):
            at(("columns", name, "width"), f"column '{name}': {why}")
    if problems:
        raise SpecError(problems)
    return [ColumnPlan(name, duckdb_type, spec.columns[name]) for name, duckdb_type in source_columns]


def _width_unpublishable(width: float, duckdb_type: str) -> str | None:
    """Why bins of ``width`` cannot be published in ``duckdb_type``, or None: an edge with more
    decimals than the type holds would be rounded off its bin when CAST back (width 0.125 on a
    DECIMAL(10,2) publishes 1.125 as 1.13, width 2.5 on an INTEGER 2.5 as 3)."""
    places, needed = decimal_places(duckdb_type), width_decimals(width)
    if places is None or needed <= places:
        return None

    def places_text(n: int) -> str:
        return f"{n} decimal place{'s' if n > 1 else ''}"

    holds, wanted = ("whole numbers", "a whole-number width") if places == 0 else (places_text(places), f"a width of at most {places_text(places)}")
    return (f"generalize width {width!r} has bin edges of {places_text(needed)}, but the source type {duckdb_type} "
            f"holds {holds}: the published edges would be rounded off their bins; use {wanted}")


def prepare(cons: Connections, project: Project, loaded: LoadedSpec, salt: bytes, *, force: bool,
            upstream: dict[str, dict[str, str | None]] | None = None) -> Prepared:
    spec = loaded.spec
    source_columns = warehouse.describe(cons, loaded, project)
    plans = verify_columns(loaded, source_columns)
    rare_rules = rare.rules(spec, plans, project.config.guardrails.rare_min_count)
    if problems := rare.rule_problems(loaded, plans, rare_rules):
        raise SpecError(problems)
    row_count, data_hash = warehouse.data_fingerprint(cons, loaded, project, [c for c, _ in source_columns])
    data_fp = data_fingerprint_part(salt, row_count, data_hash, source_columns)
    findings = scan(cons, project, loaded, [c for c, _ in source_columns], data_fp)
    gate(loaded, project, findings)
    model = choose_model(spec.model.type, differentially_private=spec.privacy.epsilon is not None)
    rows = spec.rows or (max(1, round(spec.scale * row_count)) if spec.scale else row_count)
    checks = effective_checks(loaded, project)
    tiny_table = project.config.gate.tiny_tables == "replace" and is_tiny(row_count, spec.holdout)
    if tiny_table:
        checks = tiny_checks(checks, dict(project.config.guardrails.checks.items()), modelled=any(p.role == "model" for p in plans))
    fps = fingerprints(
        salt=salt, spec=spec, model=model, columns=source_columns, row_count=row_count, data_hash=data_hash,
        rows=rows, checks={k: v.model_dump() for k, v in sorted(checks.items())},
        secrets=policy_secrets(loaded, project), upstream=upstream, rare=rare.fingerprint_part(rare_rules), tiny=tiny_table,
    )
    published = history.current(cons.target, spec.table)
    prepared = Prepared(loaded, plans, source_columns, row_count, data_hash, model, rows, checks, fps, published)
    prepared.threshold_sources = threshold_sources(loaded, project, checks)
    prepared.findings = findings
    prepared.refs = references_of(loaded)
    prepared.rare_rules = rare_rules
    prepared.privacy = privacy_snapshot(spec, {k: v.model_dump() for k, v in checks.items()})
    prepared.privacy["rare_min_count"] = {name: rule.min_count for name, rule in sorted(rare_rules.items())}
    prepared.weakenings = weakenings(published.privacy if published else None, prepared.privacy)
    missing = history.missing_publication(cons.target, project.config.target.schema_, published) if published else None
    _decide(prepared, force, missing, lost_history=published is None and history.history_missing(cons.target, spec.table))
    return prepared


def _decide(p: Prepared, force: bool, missing: tuple[str, str] | None = None, *, lost_history: bool = False) -> None:
    """What must happen. "Up to date" needs more than matching fingerprints: the published
    data table and the view over it must be there (in the current target schema)."""
    last = p.published
    if force:
        p.action, p.reasons = "train", ["--force"]
    elif last is None:
        p.action, p.reasons = "train", ["the run history (_synthspec.runs) is missing although published versions exist"
                                        if lost_history else "never published"]
    elif last.training_fp != p.fps.training:
        p.action, p.reasons = "train", _training_reasons(p, last)
    elif last.sampling_fp != p.fps.sampling:
        p.action, p.reasons = "resample", ["row count, seed or constraints changed"]
    elif missing is not None and missing[0] == "data":
        p.action, p.reasons = "resample", [missing[1]]
    elif missing is not None:
        p.action, p.reasons = "recheck", [missing[1]]
    elif last.checks_fp != p.fps.checks:
        p.action, p.reasons = "recheck", ["check thresholds changed"]
    else:
        p.action, p.reasons = "none", ["up to date"]


def _training_reasons(p: Prepared, last: history.PublishedVersion) -> list[str]:
    parts = last.parts or {}
    reasons = []
    if parts.get("data") != p.fps.parts.get("data"):
        reasons.append("source data changed")
    if parts.get("spec") != p.fps.parts.get("spec"):
        reasons.append("model-relevant spec keys changed")
    if parts.get("versions") != p.fps.parts.get("versions"):
        reasons.append("synthspec or library versions changed")
    if parts.get("upstream") != p.fps.parts.get("upstream"):
        reasons.append("a referenced table's data or spec changed")
    if parts.get("subsample") != p.fps.parts.get("subsample") and not reasons:
        reasons.append("the training subsample changed (model.max_training_rows, see docs/scale.md)")
    return reasons or ["training fingerprint changed"]


class UpstreamError(SynthspecError):
    """A table cannot run because a table it references could not be prepared or run."""

    def __init__(self, message: str, exit_code: ExitCode) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class RunPlan:
    """Which tables a run touches and what each must do, in dependency order.

    ``tables``: the selected tables plus everything that references them (a resampled parent
    resamples its children); ``prepared`` also holds the tables they reference (read, never
    run: children are drawn against their published synthetic rows)."""

    graph: Graph
    tables: list[str]
    prepared: dict[str, Prepared | SynthspecError]

    def groups(self) -> list[list[str]]:
        return self.graph.groups(self.tables)


def prepare_run(cons: Connections, project: Project, selected: list[LoadedSpec], salt: bytes, *, force: bool) -> RunPlan:
    graph = Graph(project.specs)
    chosen = {s.table for s in selected}
    in_run = chosen | graph.descendants(chosen)
    needed = set(in_run)
    for table in in_run:
        needed |= graph.ancestors(table)
    prepared: dict[str, Prepared | SynthspecError] = {}
    for table in graph.order(needed):
        try:
            upstream = _upstream(graph, table, prepared, in_run)
            # --force retrains the selected tables; the tables referencing them are resampled.
            p = prepare(cons, project, graph.specs[table], salt, force=force and table in chosen, upstream=upstream)
            _propagate(graph, p, prepared, in_run)
            prepared[table] = p
        except SynthspecError as exc:
            prepared[table] = exc
    return RunPlan(graph, graph.order(in_run), prepared)


def _upstream(graph: Graph, table: str, prepared: dict[str, Prepared | SynthspecError], in_run: set[str]) -> dict[str, dict[str, str | None]]:
    out: dict[str, dict[str, str | None]] = {}
    for parent in graph.parents(table):
        p = prepared[parent]
        if isinstance(p, SynthspecError):
            raise UpstreamError(f"not run: referenced table '{parent}' has errors", p.exit_code)
        used = p.fps.sampling if parent in in_run else (p.published.sampling_fp if p.published else None)
        out[parent] = {"training": p.fps.training, "sampling": used}
    return out


def _propagate(graph: Graph, p: Prepared, prepared: dict[str, Prepared | SynthspecError], in_run: set[str]) -> None:
    """A child of a parent that is (re)sampled in this run is resampled too: its foreign keys
    and parent-conditioned columns must follow the parent's new rows."""
    moved = [t for t in graph.parents(p.table) if t in in_run and getattr(prepared.get(t), "action", None) in ("train", "resample")]
    if not moved:
        return
    because = [f"referenced table '{t}' is {'retrained' if getattr(prepared[t], 'action', None) == 'train' else 'resampled'}" for t in moved]
    if p.action == "train":
        if p.reasons != ["never published"]:
            p.reasons = [*p.reasons, *because]
    else:
        p.action, p.reasons = "resample", because
