"""`synthspec init`: draft a project file and one spec per table from column profiles.

Drafts contain inferred semantic types only, never values from the data: specs are reviewed
and committed, so they must not carry real cells (not even extremes, nor the first row of a
CSV file without a header taken for column names). Every draft passes `validate`: names that
are not plain identifiers, or that YAML would read as something else than a string (`on`,
`null`, `yes`...), are written as double-quoted YAML strings."""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthspec.engine.columns import (
    is_datetime_type,
    is_integer_type,
    is_numeric_type,
    is_text_type,
)
from synthspec.errors import SynthspecError, UsageError
from synthspec.io.profile import ColumnProfile, RelationProfile, profile_duckdb, profile_paths
from synthspec.io.warehouse import unsupported_type
from synthspec.privacy.detection import detect_pii
from synthspec.privacy.providers import draft_fakes
from synthspec.spec.project import PROJECT_FILE

_ID_NAME = re.compile(r"(?i:^id$|_id$|^id_|uuid|guid|^key$|_key$)|[a-z0-9](Id|ID)$")
#: Words of a column name that make a dense integer sequence a time axis, not a serial key: a
#: table of yearly rates (1936 to 1972, one row a year) keeps its years as values the other
#: columns follow; drafted as a key, they were generated and the trend was lost.
_TIME_WORDS = frozenset({"year", "yr", "month", "day", "week", "quarter", "hour", "minute", "time", "period", "date",
                         "age", "season", "decade"})

#: The policy `init` drafts for each detected entity that `privacy.providers.draft_fakes` does
#: not fake (which picks the Faker provider from the column name too): hash for national ids
#: (often join keys), year truncation for dates of birth.
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


#: Names that say a column holds codes (postal codes, classification codes): categories, even
#: when stored as numbers, so no code is invented between two real ones.
_CODE_NAME = re.compile(r"(?i:zip|postal|postcode|post_code|fips|naics|isbn|sic_?code|area_?code)|(?i:(^|[_\s])(code|cd)$)|[a-z]Code$")
#: A self-reference names the role of the row pointed at.
_SELF_REFERENCE = re.compile(r"(?i)parent|manager|reports_?to|boss|supervisor|referred|referrer|mentor|head|superior|lead")
#: A numeric column with at most this many distinct values, each held on average by at least
#: ``DISCRETE_MIN_ROWS`` rows, is drafted as categorical (class labels, counts like floors).
DISCRETE_MAX = 50
DISCRETE_MIN_ROWS = 10
#: A text column whose values are (almost) all different names or identifies its rows.
UNIQUE_SHARE = 0.9


@dataclass(frozen=True)
class Draft:
    """The drafted entry of one column and the one-line reason a reviewer reads."""

    type: str
    reason: str
    parts: tuple[str, ...] = ()


def primary_key(profile: RelationProfile) -> str | None:
    """The column `init` drafts as primary key: the first unique, non-null column that is a
    UUID, named like a key, or (the first column) a dense integer sequence."""
    for i, column in enumerate(profile.columns):
        if _is_key(column, profile.rows, first=i == 0):
            return column.name
    return None


def _is_key(column: ColumnProfile, rows: int, *, first: bool) -> bool:
    t = column.duckdb_type.upper()
    if rows < 1 or column.nulls or column.distinct != rows or unsupported_type(t):
        return False
    if t == "UUID":
        return True
    keyish = (is_integer_type(t) or is_text_type(t)) and bool(_ID_NAME.search(column.name))
    return keyish or bool(first and column.shape is not None and column.shape.sequence and not _time_named(column.name))


def _time_named(name: str) -> bool:
    """Whether a column name holds a time word (``year``, ``Months``, ``time_index``, ``dayOfStudy``)."""
    words = [w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", name)]
    # (not "times": a count, as in times_called)
    return any(w in _TIME_WORDS or (w.endswith("s") and w != "times" and w[:-1] in _TIME_WORDS) for w in words)


def reference_name_matches(column: str, table: str, key: str, same_table: bool) -> bool:
    """Whether ``column`` is named like a reference to ``table.key`` (the containment query
    confirms it): the key's own name, or the table's singular name plus id/key/code
    (``customer_id``, ``CustomerID`` -> ``customers.id``), or, within one table, a role name
    (``manager_id``, ``reports_to``, ``parent``)."""
    c, k = _norm(column), _norm(key)
    if same_table:
        return c != k and bool(_SELF_REFERENCE.search(column))
    # the table's name, and its last word (`raw_orders`, `stg_Orders`, `dimOrder` -> order)
    words = [w for w in re.split(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])", table) if w]
    names = {_singular(_norm(table))} | ({_singular(_norm(words[-1]))} if words else set())
    return (c == k or any(c in (t + "id", t + "key", t + "code", t + "no") for t in names)
            or (len(k) >= 4 and c.endswith(k) and k.endswith(("id", "key", "code"))))


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ses", "xes")):
        return word[:-2]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def infer(column: ColumnProfile, profile: RelationProfile, key: str | None) -> Draft:
    """The drafted type of one column, from its DuckDB type, counts and value shape."""
    t = column.duckdb_type.upper()
    shape = column.shape
    present = column.rows - column.nulls
    if unsupported_type(t):
        return Draft("text", f"{column.duckdb_type} is not modelled: published as NULLs of that type", ("pii: drop",))
    if column.name == key:
        why = ("a UUID" if t == "UUID" else "named like a key" if _ID_NAME.search(column.name) else "a dense integer sequence")
        return Draft("id", f"primary key: unique, non-null and {why}; generated in the source's format (review)", ("primary_key: true",))
    if column.name in profile.references:
        parent, parent_key = profile.references[column.name]
        table = _table_name(parent)
        if _PLAIN_KEY.fullmatch(parent_key):
            named = "named like a role of another row" if parent == profile.name else "named like it"
            return Draft("id", f"references {table}.{parent_key}: {named}, and every value is found there (review)",
                         (f"references: {table}.{parent_key}",))
    unique = present > 1 and column.distinct >= UNIQUE_SHARE * present
    if t == "UUID" or (unique and column.nulls == 0 and column.distinct == present and _ID_NAME.search(column.name)
                       and (is_integer_type(t) or is_text_type(t))):
        return Draft("id", "a unique identifier that is not the key: not published (NULLs)", ("pii: drop",))
    if t == "BOOLEAN":
        return Draft("boolean", "BOOLEAN")
    if is_datetime_type(t):
        return Draft("datetime", f"{column.duckdb_type}: modelled as a point in time, published within the real range")
    if is_numeric_type(t):
        return _numeric(column, present, stored="")
    if shape is None:
        return Draft("categorical", f"{column.distinct} distinct values")
    if shape.date_format is not None:
        return Draft("datetime", f"dates stored as text: every value reads as {shape.date_format}; published as text in that format",
                     (f"format: {_quoted(shape.date_format)}",))
    if shape.boolean and shape.boolean_format is not None:
        return Draft("boolean", "a boolean stored as text: published in its two spellings",
                     (f"format: {_quoted(shape.boolean_format)}",))
    if shape.numbers and (shape.leading_zeros or _CODE_NAME.search(column.name)):
        if unique:
            return Draft("text", "codes unique per row (leading zeros or named like a code): an identifier, generated, never copied")
        return Draft("categorical", f"codes stored as text ({'leading zeros' if shape.leading_zeros else 'named like a code'}): "
                                    f"{column.distinct} categories, never an invented code")
    if shape.numbers:
        return _numeric(column, present, stored=" stored as text")
    if unique and present >= 2:
        return Draft("text", "a different value on (almost) every row: a name or identifier, generated, never copied")
    if shape.avg_length > 40 and shape.spaces > 0.5:
        return Draft("text", "free text: generated in the same shape, never copied")
    if column.distinct > 100 and column.distinct > 0.5 * present:
        return Draft("text", f"high-cardinality text ({column.distinct} distinct values): generated, never copied")
    return Draft("categorical", f"{column.distinct} distinct values")


def _numeric(column: ColumnProfile, present: int, *, stored: str) -> Draft:
    shape = column.shape
    whole = shape is not None and shape.whole
    if shape is not None and shape.boolean and not stored and is_integer_type(column.duckdb_type):
        return Draft("boolean", "a 0/1 flag: published as 0/1")
    if shape is not None and shape.boolean:
        return Draft("categorical", f"a 0/1 flag{stored}: two categories")
    if whole and _CODE_NAME.search(column.name):
        return Draft("categorical", f"named like a code{stored}: {column.distinct} categories, never an invented code")
    if column.distinct <= DISCRETE_MAX and column.distinct * DISCRETE_MIN_ROWS <= present:
        return Draft("categorical", f"numbers{stored} with {column.distinct} distinct values, each held by "
                                    f"~{present // max(column.distinct, 1)} rows on average: categories (only real values published)")
    kind = "whole numbers" if whole else "numbers"
    return Draft("numerical", f"{kind}{stored}, {column.distinct} distinct values" + (": published as text" if stored else ""))


def draft_columns(profile: RelationProfile, findings: dict[str, dict] | None = None) -> list[tuple[str, Draft]]:
    """Every column's draft: its inferred type, then a PII policy where detection found one."""
    findings = findings or {}
    key = primary_key(profile)
    fakes = draft_fakes([(c.name, c.duckdb_type) for c in profile.columns], findings, profile.sample)
    out = []
    for column in profile.columns:
        draft = infer(column, profile, key)
        finding = findings.get(column.name)
        modelled_or_text = draft.type not in ("id",) and "pii: drop" not in draft.parts
        if modelled_or_text and column.name in fakes:
            fake = fakes[column.name]
            draft = Draft(draft.type, f"{draft.reason}; {fake.comment}", (*draft.parts, fake.policy(_scalar)))
        elif finding is not None and modelled_or_text:
            policy = DRAFT_POLICY.get(finding["entity"], "pii: drop")
            if "generalize" in policy and draft.type != "datetime":
                policy = "pii: drop"
            what = f"detected {finding['entity']} (confidence {finding['confidence']:.2f}): {finding['evidence']}"
            draft = Draft(draft.type, f"{draft.reason}; {what}", (*draft.parts, policy))
        out.append((column.name, draft))
    return out


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
    for name, draft in draft_columns(profile, findings):
        parts = ", ".join([f"type: {draft.type}", *draft.parts])
        lines.append(f"  {_key(name)}: {{{parts}}}  # {_comment(draft.reason)}")
    return "\n".join(lines) + "\n"


def _comment(text: str) -> str:
    """One line of a YAML comment (evidence never holds values, but a newline would end it)."""
    return " ".join(text.split())


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
    #: per drafted spec: (column, type, reason) for every column, as `init` prints them
    explanations: dict[Path, list[tuple[str, str, str]]] = field(default_factory=dict)
    #: informational lines for the user (e.g. what was added to `.gitignore`)
    notes: list[str] = field(default_factory=list)


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
        profiles = profile_duckdb(db, schema, key_of=primary_key, matches=reference_name_matches)
        relative = os.path.relpath(db.resolve(), root.resolve())
        source_db, target_db = relative, relative
    else:
        profiles = profile_paths(from_path or "", root, header_check=header_looks_like_data, key_of=primary_key,
                                 matches=reference_name_matches)
        source_db, target_db = None, "synth.duckdb"  # not named like the schema: `synthetic.t` must be unambiguous
    detected = {p.name: {f.column: f.to_dict() for f in detect_pii(p.sample)} for p in profiles}
    drafts = {p.name: draft_spec(p, detected[p.name]) for p in profiles if p.rows}
    needs_secret = any("pii: hash" in text or "pii: fake" in text for text in drafts.values())
    project_text = draft_project(root.resolve().name, source_db, target_db, needs_secret=needs_secret)
    spec_dir = root / "specs"
    spec_dir.mkdir(exist_ok=True)
    written, explanations = [], {}
    empty = [p for p in profiles if p.rows == 0]
    for profile in profiles:
        if profile.rows == 0:
            continue  # nothing to learn from, nothing to publish: drafted once it has rows
        path = spec_dir / f"{profile.name}.yml"
        if path.exists():
            raise UsageError(f"{path} already exists; remove it to draft a new spec")
        path.write_text(drafts[profile.name])
        explanations[path] = [(name, d.type, d.reason) for name, d in draft_columns(profile, detected[profile.name])]
        written.append(path)
    from synthspec.spec.schema import render, table_spec_schema

    (spec_dir / "table_spec.schema.json").write_text(render(table_spec_schema()))
    project_file.write_text(project_text)
    notes, warnings = [], []
    try:
        added = ignore_generated(root)
    except OSError as exc:  # a read-only checkout still gets its drafts
        warnings.append(f"could not update .gitignore ({exc.__class__.__name__}): add {', '.join(GITIGNORE_ENTRIES)} yourself")
    else:
        if added:
            written.append(root / ".gitignore")
            notes.append(f"added {', '.join(added)} to {root / '.gitignore'} (state and reports are never committed)")
    _seed_scan(root, profiles, detected)
    warnings += [f"{p.source['path']}: " + " ".join(_headerless_note(p)) for p in profiles if p.headerless]
    warnings += [f"{_source_name(p)}: no rows, so no spec was drafted (run `init` in another directory once it has rows, "
                 "and copy the spec)" for p in empty]
    warnings += [f"{_source_name(p)}: one row; `apply` needs at least two (one to learn from, one to check against): "
                 "its spec is drafted, but `apply --exclude` it until it has more" for p in profiles if p.rows == 1]
    return InitResult([project_file, *written], warnings, explanations, notes)


def _seed_scan(root: Path, profiles: list[RelationProfile], detected: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Keep this detection as the drafted tables' PII scan (see :func:`scan.seed`): the first
    `apply` then skips reading and scanning the same sample again. Only a cache: when the
    drafts cannot be loaded or the source cannot be read here, `apply` scans as usual."""
    from synthspec.engine.scan import seed
    from synthspec.spec.project import load_project

    by_table = {_table_name(p.name): ([(c.name, c.duckdb_type) for c in p.columns], list(detected[p.name].values()))
                for p in profiles if p.rows}
    with contextlib.suppress(SynthspecError, OSError):
        seed(load_project(root, lint=False), by_table)


# --------------------------------------------------------------------------- .gitignore

#: What a project generates and must never commit: the state directory (model cache, salt,
#: ledger copy) and the reports of the last run. `init` drafts the default locations.
GITIGNORE_ENTRIES = (".synthspec/", "target/")


def _ignore_key(line: str) -> str:
    """The directory a .gitignore line names, so `/target`, `target/` and `target` match."""
    return line.strip().strip("/")


def ignore_generated(root: Path, entries: tuple[str, ...] = GITIGNORE_ENTRIES) -> list[str]:
    """Append the missing entries of GITIGNORE_ENTRIES to `root/.gitignore` (created when
    missing) and return those added. Existing lines are kept as they are and an entry already
    present in any spelling (`/target`, `target`) is not repeated, so running `init` in a
    repository with its own ignore rules only adds what is needed."""
    path = root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    present = {_ignore_key(line) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")}
    missing = [entry for entry in entries if _ignore_key(entry) not in present]
    if not missing:
        return []
    prefix = "" if not text or text.endswith("\n") else "\n"
    what = "model cache, salt and run reports" if entries == GITIGNORE_ENTRIES else "uploaded real rows"
    block = f"# synthspec: {what} (never committed)\n" + "".join(f"{e}\n" for e in missing)
    path.write_text(text + prefix + block, encoding="utf-8")
    return missing


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


def _source_name(profile: RelationProfile) -> str:
    return str(profile.source.get("table") or profile.source.get("path") or profile.name)


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
