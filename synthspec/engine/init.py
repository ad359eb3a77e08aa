"""`synthspec init`: draft a project file and one spec per table from column profiles.

Drafts contain inferred semantic types only, never values from the data: specs are reviewed
and committed, so they must not carry real cells (not even extremes, nor the first row of a
CSV file without a header taken for column names). Every draft passes `validate`: names that
are not plain identifiers, or that YAML would read as something else than a string (`on`,
`null`, `yes`...), are written as double-quoted YAML strings."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
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
        *(f"# {line}" for line in _headerless_note(profile)),
        "version: 1",
        f"table: {_scalar(_table_name(profile.name))}",
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
    lines = [f"name: {_scalar(name)}"]
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
        "    quality_score: {min_relative: 0.9}  # >= 90% of what real data scores at the same size",
        "    dcr_share: {max: 0.55}",
        "",
    ]
    return "\n".join(lines)


@dataclass
class InitResult:
    written: list[Path]
    warnings: list[str] = field(default_factory=list)


def init_project(root: Path, *, from_duckdb: str | None, schema: str, from_path: str | None) -> InitResult:
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
        profiles = profile_paths(from_path or "", root, header_check=header_looks_like_data)
        source_db, target_db = None, "synth.duckdb"  # not named like the schema: `synthetic.t` must be unambiguous
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
    warnings = [f"{p.source['path']}: " + " ".join(_headerless_note(p)) for p in profiles if p.headerless]
    return InitResult([project_file, *written], warnings)


# --------------------------------------------------------------------------- CSV without a header

#: Characters that are rare in column names and common in values (names, addresses, prose).
_UNUSUAL_IN_HEADER = re.compile(r"[@,;\"'\\<>{}|^`=\t\r\n]|://|\s{2,}")
_NUMBER = re.compile(r"[-+]?(?:\d[\d,_ ]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?%?")
_DATE_OR_TIME = re.compile(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(?:[ T].*)?|\d{1,2}:\d{2}(?::\d{2})?.*")
_BOOLEAN = {"true", "false", "yes", "no"}
MAX_HEADER_LENGTH = 64


def header_looks_like_data(cells: list[str], repeats: list[int]) -> str | None:
    """Why a CSV file's first row looks like a data row rather than a header (None: a header).
    Evidence names a column position and a reason, never the cell."""
    from synthspec.privacy.detection import detect_value_entities

    for i, (cell, repeated) in enumerate(zip(cells, repeats, strict=True)):
        text = cell.strip()
        where = f"its cell in column {i + 1}"
        if repeated:
            return f"{where} also occurs as a value in that column"
        if not text:
            continue
        if _NUMBER.fullmatch(text) or _DATE_OR_TIME.fullmatch(text) or text.lower() in _BOOLEAN:
            return f"{where} is a number, date, time or boolean"
        if _UNUSUAL_IN_HEADER.search(cell) or len(text) > MAX_HEADER_LENGTH:
            return f"{where} has characters or a length unusual in a column name"
    for i, entity in enumerate(detect_value_entities(cells)):
        if entity is not None:
            return f"its cell in column {i + 1} looks like {entity}"
    return None


def _headerless_note(profile: RelationProfile) -> list[str]:
    if not profile.headerless:
        return []
    return [f"The first row of this file looks like data, not a header: {profile.headerless}.",
            "It was read as data (`header: false` below); the columns are named as DuckDB names them",
            "without a header: rename them here and in your models if the file gets a header row."]


# --------------------------------------------------------------------------- YAML quoting

#: Plain scalars YAML 1.1 (PyYAML) or 1.2 reads as booleans or null, in any case.
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", ""}
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PLAIN_VALUE = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")


def _key(name: str) -> str:
    return name if _PLAIN_KEY.fullmatch(name) and name.lower() not in _RESERVED else _quoted(name)


def _scalar(text: str | bool) -> str:
    if isinstance(text, bool):
        return "true" if text else "false"
    return text if _PLAIN_VALUE.fullmatch(text) and text.lower() not in _RESERVED else _quoted(text)


def _quoted(text: str) -> str:
    """A double-quoted YAML scalar that reads back as exactly ``text``: JSON escapes (a subset
    of YAML's), plus escapes for what YAML would not take raw (C1 controls, line separators)."""
    escaped = json.dumps(text, ensure_ascii=False)
    return "".join(ch if _yaml_printable(ch) else f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}"
                   for ch in escaped)


def _yaml_printable(ch: str) -> bool:
    code = ord(ch)
    if ch in "\x85\u2028\u2029\ufeff":
        return False
    return code == 0x09 or 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or code >= 0x10000


def _table_name(name: str) -> str:
    """A published table name (a plain identifier) for a source table named otherwise."""
    if _PLAIN_KEY.fullmatch(name):
        return name
    cleaned = "".join(ch if ch.isascii() and (ch.isalnum() or ch == "_") else "_" for ch in name).strip("_").lower() or "table"
    return cleaned if not cleaned[0].isdigit() else f"t_{cleaned}"
