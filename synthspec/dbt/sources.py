"""The dbt `sources:` file for a project's synthetic views, derived from the specs alone.

Nothing here reads rows: descriptions come from the specs' `description:` keys and the tests
from what a spec declares (keys, references, categories), so the file can be reviewed in the
same pull request as the specs and is byte-identical on every machine. The optional target
switch lets one file serve dev (synthetic views) and prod (the real tables the specs read).
No resolved ``${VAR}`` value is written: a Jinja literal read from the environment becomes
``env_var('VAR')`` (dbt reads the same variable), any other occurrence its reference ``${VAR}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from synthspec import redact
from synthspec.errors import EnvironmentError_, Problem, SpecError, UsageError
from synthspec.spec.models import IDENT
from synthspec.spec.project import LoadedSpec, Project

_NAME = re.compile(IDENT)


@dataclass(frozen=True)
class SourcesOptions:
    """How the generated source is named and where dbt finds the views."""

    source_name: str | None = None  # default: the project name (the target schema if not an identifier)
    database: str | None = None  # the alias under which dbt attaches the target file
    real_target: str | None = None  # dbt target that reads the real tables instead
    schema_var: str | None = None  # dbt var that overrides the schema at run time
    published_only: bool = False  # keep only tables the target database has published
    command: str = "synthspec dbt-sources"  # how to regenerate, for the header comment


@dataclass(frozen=True)
class _RealRelation:
    """Where prod finds a table: the spec's `source.table`, split."""

    database: str | None
    schema: str
    table: str


@dataclass
class SourcesFile:
    header: list[str]
    document: dict[str, Any] = field(default_factory=dict)

    @property
    def tables(self) -> list[str]:
        return [table["name"] for source in self.document.get("sources", []) for table in source["tables"]]

    def render(self) -> str:
        document = redact.data(self.document)
        body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=10_000, default_flow_style=False)
        return redact.text("".join(f"# {redact.text(line)}".rstrip() + "\n" for line in self.header) + body)


class _Jinja(str):
    """A dbt Jinja expression: dumped double-quoted, so its braces and quotes stay readable."""


class _Flow(list):  # type: ignore[type-arg]
    """A short list of scalars, dumped on one line like `[a, b, c]`."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent list items under their key, as dbt's documentation (and people) write them.
        super().increase_indent(flow, False)


_Dumper.add_representer(_Jinja, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style='"'))
_Dumper.add_representer(_Flow, lambda dumper, value: dumper.represent_sequence("tag:yaml.org,2002:seq", list(value), flow_style=True))


def build_sources(project: Project, specs: list[LoadedSpec], options: SourcesOptions) -> SourcesFile:
    """The `sources:` file for ``specs`` (already filtered by --select/--exclude)."""
    _check_names(options)
    specs = _published(project, specs) if options.published_only else specs
    if not specs:
        raise UsageError("no table selected: nothing to write (check --select/--exclude)")
    _check_references(project, specs)
    config = project.config
    name = options.source_name or (config.name if _NAME.match(config.name) else config.target.schema_)
    real = _real_relations(specs) if options.real_target else {}
    source: dict[str, Any] = {"name": name, "description": _source_description(project, options)}
    database = _database(options, real)
    if database is not None:
        source["database"] = database
    source["schema"] = _schema(config.target.schema_, options, real)
    emitted = {s.table for s in specs}
    source["tables"] = [_table(s, name, emitted, options, real.get(s.table)) for s in specs]
    return SourcesFile(header=_header(project, options, real), document={"version": 2, "sources": [source]})


def write_sources(text: str, path: Path) -> None:
    """Write the file; an unwritable place is an environment problem, not a traceback."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise EnvironmentError_(f"cannot write '{path}': {exc.strerror or exc.__class__.__name__}") from exc


# --------------------------------------------------------------------------- validation


def _check_names(options: SourcesOptions) -> None:
    """Names end up inside Jinja string literals and SQL: only plain identifiers are safe."""
    for flag, value in (("--source-name", options.source_name), ("--database", options.database),
                        ("--real-target", options.real_target), ("--schema-var", options.schema_var)):
        if value is not None and not _NAME.match(value):
            raise UsageError(f"{flag} '{value}' is not a plain identifier (letters, digits, underscore)")


def _published(project: Project, specs: list[LoadedSpec]) -> list[LoadedSpec]:
    from synthspec.io.history import published_tables
    from synthspec.io.warehouse import open_project

    with open_project(project, write=False, need_source=False) as cons:
        published = set(published_tables(cons.target))
    if not published:
        raise EnvironmentError_(f"no table is published in '{project.config.target.duckdb}' yet (run `synthspec apply` first)")
    return [s for s in specs if s.table in published]


def _check_references(project: Project, specs: list[LoadedSpec]) -> None:
    """A `references` whose parent has no spec (or no such column) cannot become a test."""
    columns = {s.table: set(s.spec.columns) for s in project.specs}
    problems: list[Problem] = []
    for loaded in specs:
        for name, column in loaded.spec.columns.items():
            if column.references is None:
                continue
            parent, parent_column = column.references.split(".")
            if parent not in columns:
                problems.append(_problem(loaded, ("columns", name, "references"), f"column '{name}' references table '{parent}', which has no spec"))
            elif parent_column not in columns[parent]:
                problems.append(_problem(loaded, ("columns", name, "references"), f"column '{name}' references '{column.references}', but the spec of '{parent}' declares no column '{parent_column}'"))
    if problems:
        raise SpecError(problems)


def _real_relations(specs: list[LoadedSpec]) -> dict[str, _RealRelation]:
    """Each table's real relation; one dbt source has one schema, so they must share it."""
    problems: list[Problem] = []
    relations: dict[str, _RealRelation] = {}
    for loaded in specs:
        table = loaded.spec.source.table
        if table is None:
            kind = "query" if loaded.spec.source.query is not None else "path"
            problems.append(_problem(loaded, ("source", kind), f"--real-target needs 'source.table' (a relation prod can read); '{loaded.table}' reads a {kind}"))
            continue
        parts = table.split(".")
        if len(parts) > 3 or not all(parts):
            problems.append(_problem(loaded, ("source", "table"), f"--real-target cannot split 'source.table' of '{loaded.table}' into [database.]schema.table"))
            continue
        database = parts[0] if len(parts) == 3 else None
        relations[loaded.table] = _RealRelation(database, parts[-2] if len(parts) >= 2 else "main", parts[-1])
    if problems:
        raise SpecError(problems)
    _same("schema", {t: r.schema for t, r in relations.items()})
    _same("database", {t: r.database or "(default)" for t, r in relations.items()})
    return relations


def _same(what: str, by_table: dict[str, str]) -> None:
    groups: dict[str, list[str]] = {}
    for table, value in by_table.items():
        groups.setdefault(value, []).append(table)
    if len(groups) > 1:
        listed = "; ".join(f"{value}: {', '.join(tables)}" for value, tables in sorted(groups.items()))
        raise UsageError(f"--real-target needs every selected spec's source.table in one {what}, found {listed}; "
                         f"generate one file per {what} with --select")


def _problem(loaded: LoadedSpec, path: tuple[Any, ...], message: str) -> Problem:
    loc = loaded.doc.locate(path, prefer_key=True)
    return Problem(loc.file, loc.line, loc.col, message)


# --------------------------------------------------------------------------- rendering


def _literal(text: str) -> str:
    """A Jinja string literal; a value read from the environment is read there by dbt too."""
    variable = redact.variable(text)
    if variable is not None:
        return f"env_var({_literal(variable)})"
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _switch(real_target: str, prod: str, dev: str) -> str:
    return f"{prod} if target.name == {_literal(real_target)} else {dev}"


def _schema(target_schema: str, options: SourcesOptions, real: dict[str, _RealRelation]) -> str:
    expression = _literal(target_schema)
    if options.real_target:
        expression = _switch(options.real_target, _literal(next(iter(real.values())).schema), expression)
    if options.schema_var:
        expression = f"var({_literal(options.schema_var)}, {expression})"
    plain = expression == _literal(target_schema) and redact.variable(target_schema) is None
    return target_schema if plain else _Jinja("{{ " + expression + " }}")


def _database(options: SourcesOptions, real: dict[str, _RealRelation]) -> str | None:
    """dbt's database is DuckDB's catalog: the alias the profile attaches the target file
    under, and on prod the catalog named in `source.table` (default: the profile's own)."""
    dev = options.database
    if not options.real_target:
        return dev
    prod = next(iter(real.values())).database
    if prod == dev:
        return dev
    return _Jinja("{{ " + _switch(options.real_target, _catalog(prod), _catalog(dev)) + " }}")


_JINJA_OPEN = re.compile(r"\{(?=[{%#])")


def _plain(text: str) -> str:
    """Text from a spec, made inert for dbt, which renders Jinja in descriptions and test
    arguments: `{{ env_var('SECRET') }}` in a description would otherwise be evaluated by dbt
    and land in its manifest and docs. Each brace that opens a Jinja tag becomes an expression
    printing a brace, so dbt shows the text exactly as written."""
    return _JINJA_OPEN.sub("{{ '{' }}", text)


def _catalog(name: str | None) -> str:
    """A catalog as a Jinja expression; none named means the profile's own database."""
    return _literal(name) if name else "target.database"


def _source_description(project: Project, options: SourcesOptions) -> str:
    name = project.config.name
    if options.real_target:
        return f"The tables of synthspec project {name}, real on the dbt target {options.real_target} and synthetic (the views synthspec publishes) on every other target."
    return f"The synthetic views synthspec publishes for project {name}."


def _header(project: Project, options: SourcesOptions, real: dict[str, _RealRelation]) -> list[str]:
    schema = project.config.target.schema_
    lines = [
        f"Generated by `synthspec dbt-sources` from the specs of project '{project.config.name}'.",
        f"Do not edit: change the specs and regenerate (from the project directory) with `{options.command}`.",
    ]
    if options.real_target:
        lines.append(f"dbt target '{options.real_target}' reads the real tables in '{next(iter(real.values())).schema}'; "
                     f"every other target reads the synthetic views in '{schema}'.")
    else:
        lines.append(f"Every dbt target reads the synthetic views synthspec publishes in '{schema}'.")
    if options.schema_var:
        lines.append(f"`--vars '{{{options.schema_var}: <schema>}}'` overrides the schema at run time.")
    return lines


def _table(loaded: LoadedSpec, source: str, emitted: set[str], options: SourcesOptions, real: _RealRelation | None) -> dict[str, Any]:
    spec = loaded.spec
    entry: dict[str, Any] = {"name": spec.table}
    if spec.description:
        entry["description"] = _plain(spec.description)
    if real is not None and options.real_target and real.table != spec.table:
        # Same schema, different table names: the switch moves to each table's identifier.
        entry["identifier"] = _Jinja("{{ " + _switch(options.real_target, _literal(real.table), _literal(spec.table)) + " }}")
    entry["columns"] = [_column(name, loaded, source, emitted) for name in spec.columns]
    return entry


def _column(name: str, loaded: LoadedSpec, source: str, emitted: set[str]) -> dict[str, Any]:
    column = loaded.spec.columns[name]
    entry: dict[str, Any] = {"name": name}
    if column.description:
        entry["description"] = _plain(column.description)
    tests = list(_tests(name, loaded, source, emitted))
    if tests:
        entry["data_tests"] = tests
    return entry


def _tests(name: str, loaded: LoadedSpec, source: str, emitted: set[str]) -> Iterable[Any]:
    """Tests that hold on the real table and, by the spec's contract, on the synthetic one."""
    column = loaded.spec.columns[name]
    if column.pii == "drop":  # all NULL in the view: value tests would say nothing
        return
    if column.primary_key:
        yield "unique"
        yield "not_null"
    if column.references is not None:
        parent, parent_column = column.references.split(".")
        # A parent outside this file (--select) has no source() to point at: dbt would refuse
        # to parse the whole project, so the test is left to the file that holds both.
        if parent in emitted:
            yield {"relationships": {"arguments": {"to": f"source({_literal(source)}, {_literal(parent)})", "field": parent_column}}}
    if column.type == "categorical" and column.values is not None:
        # As published: the engine models non-text categories as their text.
        yield {"accepted_values": {"arguments": {"values": _Flow(_plain(str(v)) for v in column.values)}}}
