"""Rules that span fields: model parameters, column names used elsewhere, guardrails, and
features the spec language accepts but this version cannot run yet (a clear error, never a
silent no-op)."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from synthspec.engine.columns import ColumnPlan
from synthspec.engine.rare import protectable
from synthspec.errors import Problem
from synthspec.metrics.checks import METRIC_NAMES
from synthspec.metrics.registry import METRICS, ROLE_TEXT, unmet
from synthspec.models.registry import (
    choose_model,
    is_differentially_private,
    model_names,
    model_params,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from synthspec.spec.models import ColumnSpec
    from synthspec.spec.project import LoadedSpec, Project

#: Metrics the engine computes today; the rest of Checks' fields are accepted by the schema.
IMPLEMENTED_CHECKS = frozenset(METRIC_NAMES)
IMPLEMENTED_PII = frozenset({"keep", "drop", "hash", "fake", "mask", "generalize"})


def lint_spec(loaded: LoadedSpec, project: Project) -> list[Problem]:
    spec = loaded.spec
    problems: list[Problem] = []

    def at(path: tuple[Any, ...], message: str) -> None:
        loc = loaded.doc.locate(path, prefer_key=True)
        problems.append(Problem(loc.file, loc.line, loc.col, message))

    declared = set(spec.columns)

    def column_ref(path: tuple[Any, ...], name: str, what: str) -> None:
        if name not in declared:
            hint = difflib.get_close_matches(name, sorted(declared), n=1)
            at(path, f"{what} '{name}' is not a declared column" + (f"; did you mean '{hint[0]}'?" if hint else ""))

    # model
    model_type = spec.model.type
    if model_type != "auto" and model_type not in model_names():
        hint = difflib.get_close_matches(model_type, model_names(), n=1)
        at(("model", "type"), f"unknown model '{model_type}'" + (f"; did you mean '{hint[0]}'?" if hint else f"; available: auto, {', '.join(model_names())}"))
    elif model_type != "auto":
        params_schema = model_params(model_type)
        try:
            params_schema.model_validate(spec.model.params)
        except ValidationError as exc:
            for err in exc.errors():
                path = ("model", "params", *err["loc"])
                name = ".".join(str(p) for p in err["loc"])
                if err["type"] == "extra_forbidden":
                    allowed = list(params_schema.model_fields)
                    hint = difflib.get_close_matches(str(err["loc"][-1]), allowed, n=1)
                    at(path, f"unknown parameter '{name}' for model '{model_type}'" + (f"; did you mean '{hint[0]}'?" if hint else f"; allowed: {', '.join(allowed) or 'none'}"))
                else:
                    at(path, f"model.params.{name}: {err['msg']}")
        else:  # parameters that name modelled columns (cart's visit_sequence, dp_bayes's target)
            params = spec.model.params
            named = [(("model", "params", "visit_sequence", i), str(name), "model.params.visit_sequence column")
                     for i, name in enumerate(params.get("visit_sequence") or [])]
            if params.get("target") is not None:
                named.append((("model", "params", "target"), str(params["target"]), "model.params.target"))
            for path, name, what in named:
                if name not in declared:
                    column_ref(path, name, what)
                elif (role := ColumnPlan(name, "", spec.columns[name]).role) != "model":
                    at(path, f"{what} '{name}' is not a modelled column: it is {ROLE_TEXT[role]}")
        if spec.privacy.epsilon is not None and not is_differentially_private(model_type):
            at(("privacy", "epsilon"), f"privacy.epsilon needs a differentially private model; '{model_type}' is not one")
        if spec.privacy.epsilon is None and is_differentially_private(model_type):
            at(("model", "type"), f"model '{model_type}' is differentially private and needs privacy.epsilon (and privacy.delta)")
    if model_type == "auto" and spec.model.params:
        at(("model", "params"), "model.params needs an explicit model.type (params differ per model)")
    dp = spec.privacy.epsilon is not None
    if dp and model_type == "auto":
        try:
            choose_model("auto", differentially_private=True)
        except KeyError:
            at(("privacy", "epsilon"), "privacy.epsilon needs a differentially private model and none is registered")
    if dp:
        problems += _public_domain_problems(loaded)

    # columns
    for name, column in spec.columns.items():
        if column.pii is not None and column.pii not in IMPLEMENTED_PII:
            at(("columns", name, "pii"), f"column '{name}': pii policy '{column.pii}' is not yet supported by this version (supported: keep, drop)")
        allowed = {project.config.privacy.secret_env, *project.config.privacy.secret_envs}
        if column.secret_env is not None and column.secret_env not in allowed:
            # Checked before the variable is read: a spec must not probe the environment, nor
            # key its pseudonyms with a variable whose value is public (PATH, a commit hash).
            at(("columns", name, "secret_env"), f"column '{name}': secret_env '{column.secret_env}' is not one of the "
                                                "project's secrets (privacy.secret_env, privacy.secret_envs in synthspec.yml)")
        if column.type == "id" and not column.primary_key and column.pii != "drop" and column.references is None:
            at(("columns", name, "type"), f"column '{name}': an id column that is not the primary key needs 'references' or 'pii: drop'")
        if column.primary_key and column.pii not in (None, "hash", "fake", "drop") and column.references is None:
            at(("columns", name, "pii"), f"column '{name}': a primary key is generated, never learnt; 'pii: {column.pii}' does not apply to it (hash and fake do)")
        if column.rare is not None and not protectable(ColumnPlan(name, "", column)):
            at(("columns", name, "rare"), f"column '{name}': 'rare' applies to modelled categorical columns (type categorical, "
                                          "or text with pii keep or mask), not to this one")
    _row_context_problems(spec.columns, at, column_ref)
    for i, constraint in enumerate(spec.constraints):
        # `<fk>.<column>` sides are checked with the references, once every spec is loaded.
        for side in ("low", "high"):
            if "." not in getattr(constraint, side):
                column_ref(("constraints", i, side), getattr(constraint, side), "constraint column")
    for i, name in enumerate(spec.privacy.quasi_identifiers):
        column_ref(("privacy", "quasi_identifiers", i), name, "quasi-identifier")
    if spec.sequence is not None:
        _sequence_problems(loaded, at, column_ref)

    # checks: a check the spec names must be computable on this table (known from the spec
    # alone), else it would be `not_evaluated` on every run. Checks inherited from the project
    # defaults are instead left out of tables that cannot compute them (see effective_checks).
    raw_checks = loaded.doc.data.get("checks") if isinstance(loaded.doc.data, dict) else None
    explicit = set(raw_checks) if isinstance(raw_checks, dict) else set()
    for metric, check in spec.checks.items():
        if metric not in IMPLEMENTED_CHECKS:
            at(("checks", metric), f"check '{metric}' is not yet supported by this version (supported: {', '.join(sorted(IMPLEMENTED_CHECKS))})")
        elif check.target is not None and metric != "ml_efficacy":
            at(("checks", metric, "target"), f"checks.{metric}: 'target' is only valid for ml_efficacy")
        elif metric == "ml_efficacy" and metric in explicit:
            _target_problem(check.target, spec.columns, lambda message: at(("checks", "ml_efficacy", "target"), message))
        elif metric in explicit and (why := unmet(metric, spec, check.target)):
            at(("checks", metric), f"checks.{metric} {why}")

    problems += _guardrail_problems(loaded, project)
    return problems


def _sequence_problems(loaded: LoadedSpec, at: Callable[[tuple[Any, ...], str], None],
                       column_ref: Callable[[tuple[Any, ...], str, str], None]) -> None:
    """`sequence:` orders a child's rows per parent by a modelled datetime or number, and is
    drawn by a model that conditions on the parent (engine/sequence.py)."""
    from synthspec.models.registry import get_model

    spec = loaded.spec
    assert spec.sequence is not None
    name = spec.sequence.order_by
    column = spec.columns.get(name)
    column_ref(("sequence", "order_by"), name, "sequence.order_by")
    if column is not None and (column.type not in ("datetime", "numerical") or column.pii not in (None, "keep")):
        at(("sequence", "order_by"), f"sequence.order_by '{name}' must be a datetime or numerical column the model learns "
                                     f"(this one is {column.type}{'' if column.pii in (None, 'keep') else ', pii: ' + column.pii})")
    if not any(c.references and c.references.split(".", 1)[0] != spec.table for c in spec.columns.values()):
        at(("sequence",), "a sequence orders each parent's rows: the table needs a column that references another table")
    model_type = spec.model.type
    model_class = get_model(model_type) if model_type != "auto" and model_type in model_names() else None
    if model_class is not None and (not model_class.supports_given or model_class.matches_given):
        at(("sequence",), f"model '{model_type}' cannot draw rows given their parent's and the previous event; "
                          "a sequence needs one that can (cart)")


def _row_context_problems(columns: dict[str, ColumnSpec], at: Callable[[tuple[Any, ...], str], None],
                          column_ref: Callable[[tuple[Any, ...], str, str], None]) -> None:
    """`gender`, `locale_from` and `name_from` name declared columns whose published values
    mean something in the row (not dropped, hashed or masked), and form no cycle."""
    from synthspec.privacy.consistency import NAME_PART_PROVIDERS, context_cycle

    for name, column in columns.items():
        refs: list[tuple[tuple[Any, ...], str, str]] = [
            (("columns", name, key), ref, key) for key in ("gender", "locale_from") if (ref := getattr(column, key)) is not None]
        many = isinstance(column.name_from, list)
        refs += [(("columns", name, "name_from", *((i,) if many else ())), ref, "name_from")
                 for i, ref in enumerate(column.name_from_columns)]
        for path, ref, key in refs:
            target = columns.get(ref)
            if target is None:
                column_ref(path, ref, f"column '{name}': {key} column")
            elif ref == name:
                at(path, f"column '{name}': {key} names the column itself")
            elif key == "name_from" and not (target.pii == "fake" and target.faker in NAME_PART_PROVIDERS):
                at(path, f"column '{name}': name_from column '{ref}' must be faked with a name provider "
                         "(first_name, last_name, name...), so that the value is built from a fake name")
            elif target.pii in ("drop", "hash", "mask"):
                at(path, f"column '{name}': {key} column '{ref}' is published with 'pii: {target.pii}', so its "
                         "values say nothing about the row")
        if all(ref in columns and ref != name for _, ref, _ in refs) and (cycle := context_cycle(name, columns)):
            at(("columns", name), f"column '{name}': gender/locale_from/name_from form a cycle ({' -> '.join(cycle)})")


def _target_problem(target: str | None, columns: dict[str, ColumnSpec], at: Callable[[str], None]) -> None:
    """ml_efficacy's target must be a column the model learns (the metric compares models
    trained on the modelled columns; a dropped, generated or key column has nothing to learn)."""
    if target is None:
        at("checks.ml_efficacy needs 'target', the column the models learn to predict")
    elif target not in columns:
        hint = difflib.get_close_matches(target, sorted(columns), n=1)
        at(f"checks.ml_efficacy.target '{target}' is not a declared column" + (f"; did you mean '{hint[0]}'?" if hint else ""))
    elif (role := ColumnPlan(target, "", columns[target]).role) != "model":
        at(f"checks.ml_efficacy.target '{target}' is not a modelled column: it is {ROLE_TEXT[role]}")


def _public_domain_problems(loaded: LoadedSpec) -> list[Problem]:
    """A DP model may only use domains a reviewer declared public: domains drafted from the data
    (`domain: data`) or missing would leak through the discretisation itself."""
    problems: list[Problem] = []
    for name, column in loaded.spec.columns.items():
        if column.pii == "drop" or column.primary_key or column.references is not None or column.type == "boolean":
            continue  # not modelled: dropped, generated, or copied from a parent's keys
        loc = loaded.doc.locate(("columns", name), prefer_key=True)
        needs = "min and max" if column.type in ("numerical", "datetime") else "values"
        declared = (column.min is not None and column.max is not None) if needs == "min and max" else column.values is not None
        if not declared:
            message = f"column '{name}': a differentially private model needs a declared public domain ({needs} with `domain: public`)"
        elif column.domain != "public":
            origin = "was drafted from the data (`domain: data`)" if column.domain == "data" else "is not declared public"
            message = f"column '{name}': its domain {origin}; review it and set `domain: public` to use it with a differentially private model"
        else:
            continue
        problems.append(Problem(loc.file, loc.line, loc.col, message))
    return problems


def _declaration_dodge(metric: str, loaded: LoadedSpec, at: Callable[[tuple[Any, ...], str], None]) -> None:
    """A guardrail over the quasi-identifiers applies to every table that has something to
    protect: naming no quasi-identifier would skip it, so that is an error, not a skip (guardrails
    whose prerequisite is a fact of the table, like a primary key, are skipped where it is absent)."""
    if "quasi_identifiers" not in METRICS[metric].needs or unmet("quality_score", loaded.spec) is not None:
        return  # not a quasi-identifier metric, or no modelled column: nothing an attacker could link
    if (why := unmet(metric, loaded.spec)) is not None:
        at(("privacy",), f"the project guardrail {metric} {why}: declare the columns an attacker may know under "
                         "privacy.quasi_identifiers (a guardrail cannot be skipped by naming none)")


def _guardrail_problems(loaded: LoadedSpec, project: Project) -> list[Problem]:
    """A spec may tighten a guardrail, never loosen it. (The engine applies guardrails on top of
    every threshold anyway; this makes a loosening attempt a review error, not a silent no-op.)"""
    rails = project.config.guardrails
    spec = loaded.spec
    problems: list[Problem] = []

    def at(path: tuple[Any, ...], message: str) -> None:
        loc = loaded.doc.locate(path, prefer_key=True)
        problems.append(Problem(loc.file, loc.line, loc.col, message))

    for metric, floor in rails.checks.items():
        check = getattr(spec.checks, metric, None)
        if check is None:
            _declaration_dodge(metric, loaded, at)
            continue
        if floor.max is not None and (check.max is None or check.max > floor.max):
            at(("checks", metric), f"checks.{metric}.max loosens the project guardrail (max {floor.max})")
        if floor.min is not None and (check.min is None or check.min < floor.min):
            at(("checks", metric), f"checks.{metric}.min loosens the project guardrail (min {floor.min})")
        if floor.min_relative is not None and (check.min_relative is None or check.min_relative < floor.min_relative):
            at(("checks", metric), f"checks.{metric}.min_relative loosens the project guardrail (min_relative {floor.min_relative})")
        if floor.decide == "value" and check.decide == "interval":
            at(("checks", metric, "decide"), f"checks.{metric}.decide 'interval' loosens the project guardrail (value)")
        if floor.severity == "error" and check.severity == "warn":
            at(("checks", metric, "severity"), f"checks.{metric}.severity 'warn' loosens the project guardrail (error)")
        if floor.not_evaluated != "allow" and check.not_evaluated == "allow":
            at(("checks", metric, "not_evaluated"), f"checks.{metric}.not_evaluated 'allow' loosens the project guardrail "
                                                    "(a guarded check that cannot be evaluated blocks publishing)")
    if rails.max_epsilon is not None and spec.privacy.epsilon is not None and spec.privacy.epsilon > rails.max_epsilon:
        at(("privacy", "epsilon"), f"privacy.epsilon exceeds the project guardrail max_epsilon {rails.max_epsilon}")
    total = spec.privacy.max_total_epsilon
    if rails.max_total_epsilon is not None and total is not None and total > rails.max_total_epsilon:
        at(("privacy", "max_total_epsilon"), f"privacy.max_total_epsilon exceeds the project guardrail max_total_epsilon {rails.max_total_epsilon}")
    if rails.rare_min_count is not None:
        floor = rails.rare_min_count
        if spec.rare.min_count is not None and spec.rare.min_count < floor:
            at(("rare", "min_count"), f"rare.min_count {spec.rare.min_count} loosens the project guardrail (rare_min_count {floor})")
        for name, column in spec.columns.items():
            if column.rare is not None and column.rare.min_count is not None and column.rare.min_count < floor:
                at(("columns", name, "rare", "min_count"), f"column '{name}': rare.min_count {column.rare.min_count} loosens "
                                                           f"the project guardrail (rare_min_count {floor})")
    if rails.allowed_policies is not None:
        for name, column in spec.columns.items():
            if column.pii is not None and column.pii not in rails.allowed_policies:
                at(("columns", name, "pii"), f"column '{name}': pii policy '{column.pii}' is not allowed by the project guardrails")
    return problems
