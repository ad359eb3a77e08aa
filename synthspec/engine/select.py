"""`--select` / `--exclude`: table names and `tag:x`."""

from __future__ import annotations

import difflib

from synthspec.errors import UsageError
from synthspec.spec.project import LoadedSpec


def _matches(loaded: LoadedSpec, selector: str) -> bool:
    if selector.startswith("tag:"):
        return selector[4:] in loaded.spec.tags
    return loaded.table == selector


def select_specs(specs: list[LoadedSpec], select: tuple[str, ...], exclude: tuple[str, ...]) -> list[LoadedSpec]:
    tables = [s.table for s in specs]
    for selector in (*select, *exclude):
        if not selector.startswith("tag:") and selector not in tables:
            hint = difflib.get_close_matches(selector, tables, n=1)
            raise UsageError(f"no spec for table '{selector}'" + (f"; did you mean '{hint[0]}'?" if hint else ""))
    chosen = [s for s in specs if not select or any(_matches(s, sel) for sel in select)]
    return [s for s in chosen if not any(_matches(s, sel) for sel in exclude)]
