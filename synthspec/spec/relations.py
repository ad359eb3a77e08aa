"""The reference graph between specs: `references: table.column` edges, their validation
(unknown tables and columns, non-key targets, cycles), dependency order and publishing groups.

Kept free of numpy/pandas: `validate` and `plan` use it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from synthspec.errors import Problem

if TYPE_CHECKING:
    from synthspec.spec.project import LoadedSpec, Project


@dataclass(frozen=True)
class Reference:
    """``table.column`` holds values of ``parent.parent_column`` (the parent's primary key)."""

    table: str
    column: str
    parent: str
    parent_column: str

    @property
    def self_reference(self) -> bool:
        return self.table == self.parent

    def __str__(self) -> str:
        return f"{self.table}.{self.column} -> {self.parent}.{self.parent_column}"


def references_of(loaded: LoadedSpec) -> list[Reference]:
    """The spec's references in column order."""
    out = []
    for name, column in loaded.spec.columns.items():
        if column.references is not None:
            parent, parent_column = column.references.split(".", 1)
            out.append(Reference(loaded.table, name, parent, parent_column))
    return out


def primary_key(loaded: LoadedSpec) -> list[str]:
    return [name for name, c in loaded.spec.columns.items() if c.primary_key]


class Graph:
    """Tables as nodes, references (to tables with a spec) as edges from parent to child."""

    def __init__(self, specs: Iterable[LoadedSpec]) -> None:
        self.specs = {s.table: s for s in specs}
        self._rank = {t: i for i, t in enumerate(self.specs)}
        self.refs = {t: [r for r in references_of(s) if r.parent in self.specs] for t, s in self.specs.items()}

    def parents(self, table: str) -> list[str]:
        """Other tables ``table`` references, once each, in column order."""
        return list(dict.fromkeys(r.parent for r in self.refs[table] if not r.self_reference))

    def children(self, table: str) -> list[str]:
        return [t for t in self.specs if t != table and table in self.parents(t)]

    def descendants(self, tables: Iterable[str]) -> set[str]:
        seen: set[str] = set()
        stack = list(tables)
        while stack:
            for child in self.children(stack.pop()):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen

    def ancestors(self, table: str) -> set[str]:
        seen: set[str] = set()
        stack = [table]
        while stack:
            for parent in self.parents(stack.pop()):
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return seen

    def order(self, tables: Iterable[str]) -> list[str]:
        """``tables`` with every parent before its children (Kahn's algorithm; ties keep spec
        order). Assumes no cycle: `validate` reports cycles before anything runs."""
        wanted = set(tables)
        done: list[str] = []
        placed: set[str] = set()
        pending = sorted(wanted, key=self._rank.__getitem__)
        while pending:
            ready = [t for t in pending if not (set(self.parents(t)) & wanted) - placed]
            if not ready:  # a cycle slipped through: keep spec order rather than loop forever
                ready = pending[:1]
            for t in ready:
                done.append(t)
                placed.add(t)
            pending = [t for t in pending if t not in placed]
        return done

    def groups(self, tables: Iterable[str]) -> list[list[str]]:
        """Connected components of ``tables`` (through references among them), each in
        dependency order; the groups in order of their first table."""
        ordered = self.order(tables)
        root = {t: t for t in ordered}

        def find(t: str) -> str:
            while root[t] != t:
                t = root[t]
            return t

        for t in ordered:
            for parent in self.parents(t):
                if parent in root:
                    root[find(t)] = find(parent)
        members: dict[str, list[str]] = {}
        for t in ordered:
            members.setdefault(find(t), []).append(t)
        return sorted(members.values(), key=lambda g: ordered.index(g[0]))

    def cycles(self) -> list[list[Reference]]:
        """Each reference cycle once (self-references are allowed and excluded)."""
        found: list[list[Reference]] = []
        seen_sets: set[frozenset[str]] = set()
        for start in self.specs:
            stack: list[tuple[str, list[Reference]]] = [(start, [])]
            while stack:
                table, path = stack.pop()
                for ref in self.refs[table]:
                    if ref.self_reference:
                        continue
                    # edges point child -> parent here: follow what ``table`` references
                    if ref.parent == start:
                        cycle = [*path, ref]
                        key = frozenset(r.table for r in cycle)
                        if key not in seen_sets:
                            seen_sets.add(key)
                            found.append(cycle)
                    elif ref.parent not in {r.table for r in path} and ref.parent != table and len(path) < len(self.specs):
                        stack.append((ref.parent, [*path, ref]))
        return found


def lint_references(project: Project) -> list[Problem]:
    """Every reference names a spec'd table's single-column primary key; no cycles; policies
    and models that cannot follow a reference are refused."""
    from synthspec.models.registry import is_differentially_private, model_names

    specs = {s.table: s for s in project.specs}
    problems: list[Problem] = []

    def at(loaded: LoadedSpec, path: tuple[Any, ...], message: str) -> None:
        loc = loaded.doc.locate(path, prefer_key=True)
        problems.append(Problem(loc.file, loc.line, loc.col, message))

    linked: set[str] = set()
    for loaded in project.specs:
        for ref in references_of(loaded):
            where = ("columns", ref.column, "references")
            parent = specs.get(ref.parent)
            if parent is None:
                hint = difflib.get_close_matches(ref.parent, sorted(specs), n=1)
                at(loaded, where, f"column '{ref.column}' references table '{ref.parent}', which has no spec"
                   + (f"; did you mean '{hint[0]}'?" if hint else f" (tables: {', '.join(sorted(specs))})"))
                continue
            keys = primary_key(parent)
            if ref.parent_column not in parent.spec.columns:
                hint = difflib.get_close_matches(ref.parent_column, list(parent.spec.columns), n=1)
                at(loaded, where, f"column '{ref.column}' references '{ref.parent}.{ref.parent_column}', but table '{ref.parent}' "
                   f"has no column '{ref.parent_column}'" + (f"; did you mean '{hint[0]}'?" if hint else ""))
                continue
            if keys != [ref.parent_column]:
                why = (f"its primary key is ({', '.join(keys)})" if keys else "it declares no primary_key")
                at(loaded, where, f"column '{ref.column}' must reference the primary key of '{ref.parent}' "
                   f"(a single column with `primary_key: true`): {why}")
                continue
            child_pii, parent_pii = loaded.spec.columns[ref.column].pii, parent.spec.columns[ref.parent_column].pii
            if child_pii is not None and child_pii != "drop" and child_pii != parent_pii:
                at(loaded, ("columns", ref.column, "pii"),
                   f"column '{ref.column}' takes its values from {ref.parent}.{ref.parent_column}, so it follows that column's "
                   f"pii policy ({parent_pii or 'none'}); remove 'pii: {child_pii}' or set the same policy on both")
            if not ref.self_reference:
                linked.update((loaded.table, ref.parent))
    for table in sorted(linked):
        loaded = specs[table]
        model_type = loaded.spec.model.type
        dp_model = model_type != "auto" and model_type in model_names() and is_differentially_private(model_type)
        if dp_model or loaded.spec.privacy.epsilon is not None:
            at(loaded, ("privacy", "epsilon") if loaded.spec.privacy.epsilon is not None else ("model", "type"),
               f"table '{table}' is linked by references, and children-per-parent counts are not differentially "
               "private yet: a differentially private table cannot be a parent or a child in this version")
    for loaded in project.specs:
        problems += _constraint_problems(loaded, specs)
    graph = Graph(project.specs)
    for cycle in graph.cycles():
        text = ", ".join(str(r) for r in cycle)
        for ref in cycle:
            at(specs[ref.table], ("columns", ref.column, "references"),
               f"reference cycle: {text}; a cycle has no table to synthesise first (keep one side as a plain column "
               "without `references`, or `pii: drop` it)")
    return problems


def _constraint_problems(loaded: LoadedSpec, specs: dict[str, LoadedSpec]) -> list[Problem]:
    """`<fk>.<column>` constraint sides: a foreign key of this table to another table, and a
    numerical or datetime column of that table; the other side a column of this table."""
    problems: list[Problem] = []
    columns = loaded.spec.columns
    for i, constraint in enumerate(loaded.spec.constraints):
        sides = {"low": constraint.low, "high": constraint.high}
        for side, name in sides.items():
            if "." not in name:
                continue
            loc = loaded.doc.locate(("constraints", i, side), prefer_key=True)

            def bad(message: str, loc: Any = loc) -> None:
                problems.append(Problem(loc.file, loc.line, loc.col, message))

            fk, _, column = name.partition(".")
            other = sides["high" if side == "low" else "low"]
            ref = columns.get(fk).references if fk in columns else None
            if ref is None:
                bad(f"constraint column '{name}': '{fk}' is not a column with `references` in this table")
                continue
            parent = specs.get(ref.split(".", 1)[0])
            if parent is None:
                continue  # reported at the reference
            if parent.table == loaded.table:
                bad(f"constraint column '{name}': constraints through a self-reference are not supported")
            elif column not in parent.spec.columns or parent.spec.columns[column].type not in ("numerical", "datetime"):
                hint = difflib.get_close_matches(column, [c for c, s in parent.spec.columns.items() if s.type in ("numerical", "datetime")], n=1)
                bad(f"constraint column '{name}': '{parent.table}' has no numerical or datetime column '{column}'"
                    + (f"; did you mean '{hint[0]}'?" if hint else ""))
            elif "." in other:
                bad("an inequality needs a column of this table on one side")
    return problems


__all__ = ["Graph", "Reference", "lint_references", "primary_key", "references_of"]
