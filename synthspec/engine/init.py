"""`synthspec init`: draft a project file and one spec per table from column profiles.

Drafts contain inferred semantic types only, never values from the data: specs are reviewed
and committed, so they must not carry real cells (not even extremes)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from synthspec.engine.columns import is_datetime_type, is_integer_type, is_numeric_type
from synthspec.errors import UsageError
from synthspec.io.profile import ColumnProfile, RelationProfile, profile_duckdb, profile_paths
from synthspec.io.warehouse import unsupported_type
from synthspec.privacy.detection import detect_pii
from synthspec.spec.project import PROJECT_FILE

_ID_NAME = re.compile(r"(?i:^id$|_id$|^id_|uuid|guid|^key$|_key$)|[a-z]Id$")

#: The policy `init` drafts for each detected entity: fake where Faker has a provider, hash for
#: national ids (often join keys), year truncation for dates of birth.
DRAFT_POLICY: dict[str, str] = {
    "PERSON": "pii: fake, faker: name",
    "EMAIL_ADDRESS": "pii: fake, faker: email",
    "PHONE_NUMBER": "pii: fake, faker: phone_number",
    "CREDIT_CARD": "pii: fake, faker: credit_card_number",
    "IBAN_CODE": "pii: fake, faker: iban",
    "IP_ADDRESS": "pii: fake, faker: ipv4",
    "URL": "pii: fake, faker: url",
    "US_SSN": "pii: fake, faker: ssn",
    "LOCATION": "pii: fake, faker: street_address",
    "TR_NATIONAL_ID": "pii: hash",
    "DATE_OF_BIRTH": "pii: generalize, truncate: year",
}
_SCHEMA_COMMENT = "# yaml-language-server: $schema=table_spec.schema.json"


def infer_type(column: ColumnProfile, rows: int, *, first_key: bool) -> tuple[str, bool, str | None]:
    """(semantic type, primary key?, comment) from the DuckDB type and counts."""
    t = column.duckdb_type.upper()
    unique = rows > 0 and column.nulls == 0 and column.distinct >= 0.98 * rows
    if unsupported_type(t):
        return "text", False, f"source type {column.duckdb_type} is not supported yet: published as NULLs"
    if t == "UUID" or (unique and _ID_NAME.search(column.name) and (is_integer_type(t) or t == "VARCHAR")):
        return "id", first_key, None
    if t == "BOOLEAN":
        return "boolean", False, None
    if is_datetime_type(t):
        return "datetime", False, None
    if is_numeric_type(t):
        return "numerical", False, None
    if column.distinct > 100 and column.distinct > 0.5 * (rows - column.nulls):
        return "text", False, "high-cardinality text: check for PII before publishing"
    return "categorical", False, None


def draft_spec(profile: RelationProfile, findings: dict[str, dict] | None = None) -> str:
    lines = [
        _SCHEMA_COMMENT,
        f"# Drafted by `synthspec init` ({profile.rows} source rows). Review every column before committing.",
        "version: 1",
        f"table: {profile.name}",
        "source:",
        *[f"  {k}: {_scalar(v)}" for k, v in profile.source.items()],
        "columns:",
    ]
    have_key = False
    findings = findings or {}
    for column in profile.columns:
        semantic, key, comment = infer_type(column, profile.rows, first_key=not have_key)
        parts = [f"type: {semantic}"]
        finding = findings.get(column.name)
        if semantic == "id" and key:
            parts.append("primary_key: true")
            have_key = True
        elif semantic == "id" or comment and "not supported" in comment:
            parts.append("pii: drop")
        elif finding is not None:
            policy = DRAFT_POLICY.get(finding["entity"], "pii: drop")
            if "generalize" in policy and semantic != "datetime":
                policy = "pii: drop"
            parts.append(policy)
            comment = f"detected {finding['entity']} (confidence {finding['confidence']:.2f}): {finding['evidence']}"
        entry = f"  {_key(column.name)}: {{{', '.join(parts)}}}"
        lines.append(entry + (f"  # {comment}" if comment else ""))
    return "\n".join(lines) + "\n"


def draft_project(name: str, source_db: str | None, target_db: str, *, needs_secret: bool = False) -> str:
    lines = [f"name: {name}"]
    if needs_secret:
        lines = ["# pii: hash/fake policies read their secret key from $SYNTHSPEC_SECRET (16+ characters).", *lines]
    if source_db:
        lines.append(f"source: {{duckdb: {_scalar(source_db)}}}")
    lines += [
        f"target: {{duckdb: {_scalar(target_db)}, schema: synthetic}}",
        "specs: specs/",
        "defaults:",
        "  model: {type: auto, seed: 42}",
        "  checks:",
        "    quality_score: {min: 0.85}",
        "    dcr_share: {max: 0.55}",
        "",
    ]
    return "\n".join(lines)


def init_project(root: Path, *, from_duckdb: str | None, schema: str, from_path: str | None) -> list[Path]:
    if bool(from_duckdb) == bool(from_path):
        raise UsageError("init needs exactly one of --from-duckdb FILE or --from-path GLOB")
    root.mkdir(parents=True, exist_ok=True)
    project_file = root / PROJECT_FILE
    if project_file.exists():
        raise UsageError(f"{PROJECT_FILE} already exists in '{root}'; remove it to draft a new project")
    if from_duckdb:
        db = Path(from_duckdb)
        db = db if db.is_absolute() else Path.cwd() / db
        profiles = profile_duckdb(db, schema)
        relative = os.path.relpath(db.resolve(), root.resolve())
        source_db, target_db = relative, relative
    else:
        profiles = profile_paths(from_path or "", root)
        source_db, target_db = None, "synthetic.duckdb"
    detected = {p.name: {f.column: f.to_dict() for f in detect_pii(p.sample)} for p in profiles}
    needs_secret = any("hash" in DRAFT_POLICY.get(f["entity"], "") or "fake" in DRAFT_POLICY.get(f["entity"], "")
                       for found in detected.values() for f in found.values())
    project_text = draft_project(root.resolve().name, source_db, target_db, needs_secret=needs_secret)
    spec_dir = root / "specs"
    spec_dir.mkdir(exist_ok=True)
    written = []
    for profile in profiles:
        path = spec_dir / f"{profile.name}.yml"
        if path.exists():
            raise UsageError(f"{path} already exists; remove it to draft a new spec")
        path.write_text(draft_spec(profile, detected[profile.name]))
        written.append(path)
    from synthspec.spec.schema import render, table_spec_schema

    (spec_dir / "table_spec.schema.json").write_text(render(table_spec_schema()))
    project_file.write_text(project_text)
    return [project_file, *written]


def _key(name: str) -> str:
    return name if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name) else _scalar(name)


def _scalar(text: str) -> str:
    return text if re.match(r"^[A-Za-z0-9_./-]+$", text) else "'" + text.replace("'", "''") + "'"
