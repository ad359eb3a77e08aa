"""Load a project: the project file plus every table spec, all problems collected at once."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from synthspec.errors import Problem, SpecError
from synthspec.spec.loader import LoadedDocument, Location, deep_merge, load_yaml
from synthspec.spec.models import Checks, ColumnSpec, ProjectConfig, TableSpec

PROJECT_FILE = "synthspec.yml"


@dataclass
class LoadedSpec:
    """A validated table spec and where it came from (for messages)."""

    spec: TableSpec
    file: str
    doc: LoadedDocument
    raw: dict[str, Any]

    @property
    def table(self) -> str:
        return self.spec.table

    def where(self, *path: Any) -> str:
        loc = self.doc.locate(path, prefer_key=True)
        return f"{loc.file}:{loc.line}:{loc.col}"


@dataclass
class Project:
    root: Path
    config: ProjectConfig
    specs: list[LoadedSpec] = field(default_factory=list)

    def path(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else self.root / p

    @property
    def state_dir(self) -> Path:
        return self.path(self.config.state_dir)

    @property
    def target_dir(self) -> Path:
        return self.path(self.config.target_dir)


def project_target_dir(root: Path) -> Path | None:
    """Where the reports go, from the project file alone (a broken spec must not hide it, so
    `apply` can still say error there); None when the project file itself is invalid."""
    root = root.resolve()
    if not (root / PROJECT_FILE).exists():
        return None
    doc, found = load_yaml(root / PROJECT_FILE, PROJECT_FILE, None)
    config = _validate(ProjectConfig, doc.data, doc, []) if not found else None
    return Project(root=root, config=config).target_dir if config is not None else None


def load_project(root: Path, environ: Mapping[str, str] | None = None, *, lint: bool = True) -> Project:
    """Parse and validate the project; raise one SpecError listing every problem.

    ``lint=False`` skips the cross-field rules (for `scan`, which must work on drafts that do
    not pass the gate yet, e.g. before secrets exist)."""
    root = root.resolve()
    problems: list[Problem] = []
    project_path = root / PROJECT_FILE
    if not project_path.exists():
        raise SpecError([Problem(PROJECT_FILE, 0, 0, f"no {PROJECT_FILE} in {root} (run `synthspec init` or pass --project-dir)")])
    doc, found = load_yaml(project_path, PROJECT_FILE, environ)
    problems += found
    config = _validate(ProjectConfig, doc.data, doc, problems) if not found else None
    if config is None:
        raise SpecError(problems)
    project = Project(root=root, config=config)

    spec_dir = project.path(config.specs)
    if not spec_dir.is_dir():
        raise SpecError([*problems, _at(doc, ("specs",), f"specs directory '{config.specs}' does not exist")])
    files = sorted([*spec_dir.glob("*.yml"), *spec_dir.glob("*.yaml")])
    defaults = config.defaults.model_dump(exclude_none=True)
    seen: dict[str, str] = {}
    for path in files:
        display = _display(path, root)
        spec_doc, found = load_yaml(path, display, environ, allowed=config.spec_variables)
        problems += found
        if found:
            continue
        if not isinstance(spec_doc.data, dict):
            problems.append(Problem(display, 1, 1, "a spec must be a mapping"))
            continue
        merged = deep_merge(_defaults_for(defaults, spec_doc.data), spec_doc.data)
        # Values inherited from the project file are reported at their place in the project file.
        for key, value in defaults.items():
            if key not in spec_doc.data:
                _inherit_locations(spec_doc, doc, ("defaults", key), (key,), value)
        spec = _validate(TableSpec, merged, spec_doc, problems)
        if spec is None:
            continue
        loaded = LoadedSpec(spec=spec, file=display, doc=spec_doc, raw=merged)
        if lint:
            problems += _lint(loaded, project)
        if spec.table in seen:
            problems.append(_at(spec_doc, ("table",), f"table '{spec.table}' is also defined in {seen[spec.table]}"))
        seen[spec.table] = display
        project.specs.append(loaded)
    secrets = {config.privacy.secret_env, *config.privacy.secret_envs}
    secrets |= {c.secret_env for s in project.specs for c in s.spec.columns.values() if c.secret_env}
    for name in sorted(secrets & set(config.spec_variables)):
        problems.append(_at(doc, ("spec_variables",), f"spec_variables: '{name}' holds the secret key of pii: hash/fake; "
                                                      "specs may never interpolate it"))
    if lint and not problems:
        from synthspec.spec.relations import lint_references

        problems += lint_references(project)
    if problems:
        raise SpecError(problems)
    return project


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _inherit_locations(target: LoadedDocument, source: LoadedDocument, src: tuple[Any, ...], dst: tuple[Any, ...], value: Any) -> None:
    if src in source.values:
        target.values[dst] = source.values[src]
    if src in source.keys:
        target.keys[dst] = source.keys[src]
    if isinstance(value, dict):
        for k, v in value.items():
            _inherit_locations(target, source, src + (k,), dst + (k,), v)


def _at(doc: LoadedDocument, path: tuple[Any, ...], message: str, *, key: bool = True) -> Problem:
    loc: Location = doc.locate(path, prefer_key=key)
    return Problem(loc.file, loc.line, loc.col, message)


def _validate(model: type[BaseModel], data: Any, doc: LoadedDocument, problems: list[Problem]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems += [_problem_from_error(error, model, doc) for error in exc.errors()]
        return None


def _problem_from_error(error: Mapping[str, Any], model: type[BaseModel], doc: LoadedDocument) -> Problem:
    """Turn one pydantic error into a located message that never echoes the input value."""
    loc = _document_path(error["loc"], doc)
    kind = error["type"]
    dotted = ".".join(str(p) for p in loc) or "(top level)"
    if kind == "extra_forbidden":
        allowed = _fields_at(model, loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]).lower(), allowed, n=1, cutoff=0.6)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else (f"; allowed: {', '.join(allowed)}" if allowed else "")
        return _at(doc, loc, f"unknown key '{dotted}'{suggestion}")
    if kind == "missing":
        return _at(doc, loc[:-1], f"missing required key '{dotted}'")
    message = error["msg"].removeprefix("Value error, ")
    if kind in ("value_error", "assertion_error") and loc:
        return _at(doc, loc, f"{dotted}: {message}", key=True)
    if not loc:
        return _at(doc, (), message)
    return _at(doc, loc, f"{dotted}: {message}", key=False)


_LABELS = frozenset({"str", "int", "float", "bool", "list", "dict", "none"})


def _document_path(loc: tuple[Any, ...], doc: LoadedDocument) -> tuple[Any, ...]:
    """pydantic's error location without its labels for union members (a model's class name,
    `float`, `function-after[...]`): a part that is a key of the document is always kept, so a
    user's key named like a label (`DCR_SHARE`, a column named `float`) is reported as written."""
    path: tuple[Any, ...] = ()
    for part in loc:
        is_key = path + (part,) in doc.keys or path + (part,) in doc.values
        label = isinstance(part, str) and (part[:1].isupper() or part in _LABELS or "[" in part)
        if is_key or not label:
            path += (part,)
    return path


def _fields_at(model: type[BaseModel], path: tuple[Any, ...]) -> list[str]:
    """Key names allowed at ``path`` inside ``model`` (for "did you mean")."""
    annotation: Any = model
    for part in path:
        annotation = _unwrap_optional(annotation)
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            fields = {f.alias or name: f for name, f in annotation.model_fields.items()}
            if part not in fields:
                return []
            annotation = fields[part].annotation
        elif origin is dict and args:
            annotation = args[1]
        elif origin is list and args:
            annotation = args[0]
        else:
            return []
    annotation = _unwrap_optional(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [f.alias or name for name, f in annotation.model_fields.items()]
    return []


def _unwrap_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        models = [a for a in options if isinstance(a, type) and issubclass(a, BaseModel)]
        if models:
            return models[0]
        if len(options) == 1:
            return options[0]
    return annotation


def _lint(loaded: LoadedSpec, project: Project) -> list[Problem]:
    """Cross-field rules that need more than one model: model params, column names, support."""
    from synthspec.spec.rules import lint_spec
    from synthspec.spec.sources import source_problems

    return lint_spec(loaded, project) + source_problems(loaded, project)


def _defaults_for(defaults: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """The project defaults merged under ``spec``: all of them, except the default model's
    ``params`` under a spec that names another model type (parameters differ per model: a
    cart leaf size means nothing to a Gaussian copula)."""
    default_model, spec_model = defaults.get("model"), spec.get("model")
    if (isinstance(default_model, dict) and isinstance(spec_model, dict) and "params" in default_model
            and default_model.get("type") not in (None, "auto")
            and spec_model.get("type") not in (None, default_model.get("type"))):
        return {**defaults, "model": {k: v for k, v in default_model.items() if k != "params"}}
    return defaults


__all__ = ["PROJECT_FILE", "Checks", "ColumnSpec", "LoadedSpec", "Project", "load_project"]
