"""PII detection over a spec's source, cached by the data fingerprint, and the strict gate:
a column that looks like PII needs a `pii:` policy before `plan` or `apply` goes on."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthspec import __version__
from synthspec.errors import Problem, SpecError
from synthspec.io import warehouse

if TYPE_CHECKING:
    from synthspec.io.warehouse import Connections
    from synthspec.spec.project import LoadedSpec, Project

SAMPLE_ROWS = 2000


def _cache_path(project: Project, table: str, data_fp: str) -> Path:
    digest = data_fp.removeprefix("sha256:")[:24]
    return project.state_dir / "scan" / f"{table}-{digest}.json"


def scan(cons: Connections, project: Project, loaded: LoadedSpec, columns: list[str], data_fp: str) -> list[dict[str, Any]]:
    """Findings (entity, confidence, share, evidence: never a value) per flagged column.

    Cached under the state directory by the salted data fingerprint, so an unchanged source
    is never read again for detection."""
    path = _cache_path(project, loaded.table, data_fp)
    if path.exists():
        cached = json.loads(path.read_text())
        if cached.get("version") == __version__ and cached.get("columns") == columns:
            return cached["findings"]
    from synthspec.privacy.detection import detect_pii

    sample = warehouse.read_sample(cons, loaded, project, columns, SAMPLE_ROWS)
    findings = [f.to_dict() for f in detect_pii(sample)]
    _store(path, columns, findings)
    return findings


def _store(path: Path, columns: list[str], findings: list[dict[str, Any]]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": __version__, "columns": columns, "findings": findings}))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError:
        pass  # a cache that cannot be written only costs time


def seed(project: Project, detected: dict[str, tuple[list[tuple[str, str]], list[dict[str, Any]]]]) -> list[str]:
    """Store what `init` detected as the scan of each drafted table, so the first `apply` does
    not read and detect the same sample again. Returns the tables seeded.

    `init` detects on the first :data:`SAMPLE_ROWS` rows in row-hash order of every column of
    the table, in the forms :func:`warehouse.sample_expression` gives them: exactly the sample
    :func:`scan` reads, when the spec's source describes the same columns with the same types.
    ``detected`` maps a spec's table to those (column, type) pairs and the findings; a table
    whose source describes anything else is left to :func:`scan`. The cache key is the same
    salted data fingerprint `apply` computes, so changed data is scanned again."""
    from synthspec.engine.fingerprint import data_fingerprint_part
    from synthspec.io import state

    seeded = []
    salt = state.salt(project.state_dir)
    with warehouse.open_project(project, write=False) as cons:
        for loaded in project.specs:
            if loaded.table not in detected:
                continue
            profiled, findings = detected[loaded.table]
            columns = warehouse.describe(cons, loaded, project)
            if [(c, t) for c, t in columns] != [(c, t) for c, t in profiled]:
                continue
            count, data_hash = warehouse.data_fingerprint(cons, loaded, project, [c for c, _ in columns])
            path = _cache_path(project, loaded.table, data_fingerprint_part(salt, count, data_hash, columns))
            _store(path, [c for c, _ in columns], findings)
            seeded.append(loaded.table)
    return seeded


def gate(loaded: LoadedSpec, project: Project, findings: list[dict[str, Any]]) -> None:
    """Detected PII needs a policy; `keep` is refused for entities the guardrails forbid."""
    problems: list[Problem] = []
    forbidden = set(project.config.guardrails.forbid_keep)
    for finding in findings:
        name = finding["column"]
        column = loaded.spec.columns.get(name)
        if column is None or column.primary_key or column.references is not None:
            continue  # generated keys, or copies of a parent's generated keys: never real values
        where = loaded.doc.locate(("columns", name), prefer_key=True)
        what = f"detected {finding['entity']} (confidence {finding['confidence']:.2f}; {finding['evidence']})"
        if column.pii is None:
            problems.append(Problem(where.file, where.line, where.col,
                                    f"column '{name}': {what} but it has no `pii:` policy; add one (fake, hash, drop, mask, generalize) or `pii: keep` with a reason"))
        elif column.pii == "keep" and finding["entity"] in forbidden:
            problems.append(Problem(where.file, where.line, where.col,
                                    f"column '{name}': {what}; `pii: keep` is forbidden for {finding['entity']} by the project guardrails"))
    if problems:
        raise SpecError(problems)


def scan_project(project: Project, specs: list[LoadedSpec]) -> list[dict[str, Any]]:
    """`synthspec scan`: findings for every selected spec's source, with the policy each
    flagged column has now (the gate is not applied: scan reports)."""
    from synthspec.engine.fingerprint import data_fingerprint_part
    from synthspec.io import state

    salt = state.salt(project.state_dir)
    out = []
    with warehouse.open_project(project, write=False) as cons:
        for loaded in specs:
            columns = warehouse.describe(cons, loaded, project)
            count, data_hash = warehouse.data_fingerprint(cons, loaded, project, [c for c, _ in columns])
            findings = scan(cons, project, loaded, [c for c, _ in columns], data_fingerprint_part(salt, count, data_hash, columns))
            for finding in findings:
                column = loaded.spec.columns.get(finding["column"])
                finding = {**finding, "table": loaded.table, "policy": column.pii if column else None}
                out.append(finding)
    return out
