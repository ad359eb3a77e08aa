"""Uploads of `synthspec serve`: a CSV or Parquet file becomes a source of the project, with its
profile, the PII the detector finds in it and a drafted spec, exactly as `synthspec init
--from-path` drafts one.

The file is kept as uploaded in the project's ``uploads/`` directory (added to .gitignore: it
holds real rows), and the drafted spec reads it with ``source: {path: uploads/<name>.<ext>}``.
Nothing is written into the user's warehouse. The draft is returned, not saved: it becomes the
table's spec when it is saved through ``PUT /api/specs/{table}``, after validation."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO

UPLOAD_DIR = "uploads"
_CHUNK = 1 << 20
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


#: Files people upload by mistake, by their magic numbers.
_NOT_TABLES = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
               (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive (an Excel workbook is one: export it as CSV)"),
               (b"\x1f\x8b", "gzip-compressed (upload the CSV itself)"), (b"SQLite format 3", "a SQLite database"),
               (b"\xd0\xcf\x11\xe0", "an old Office document (export it as CSV)"))


class UploadError(Exception):
    """A bad upload: ``status`` is the HTTP status the API answers with."""

    def __init__(self, status: int, message: str, location: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.location = status, message, location


@dataclass
class Upload:
    table: str
    path: str  # relative to the project
    rows: int
    columns: list[dict[str, Any]]
    findings: list[dict[str, Any]]
    spec: str  # the drafted spec's YAML text

    def to_dict(self) -> dict[str, Any]:
        return {"table": self.table, "source": {"path": self.path}, "rows": self.rows, "columns": self.columns,
                "findings": self.findings, "spec": self.spec}


def table_name(filename: str, given: str | None) -> str:
    from synthspec.engine.init import _table_name

    if given:  # a name the user typed is taken as it is, or refused: never silently changed
        if not _NAME.match(given):
            raise UploadError(422, f"'{given}' cannot be a table name: use lower-case letters, digits and _ "
                                   "(not first), at most 63", "name")
        return given
    stem = Path(filename or "").name.split(".")[0]
    derived = _table_name(stem) if stem.strip() else ""
    # Only a file name that reads as a name (letters, digits, spaces, - and _) gives one; anything
    # else would be mangled (`日本語.csv` -> `table`), so the user names the table instead.
    if not stem.isascii() or not _NAME.match(derived) or not re.fullmatch(r"[A-Za-z0-9 _-]+", stem):
        raise UploadError(422, f"cannot take a table name from the file name '{filename}': send a `name` "
                               "(lower-case letters, digits and _, at most 63)", "name")
    return derived


def kind_of(filename: str, head: bytes) -> str:
    """``csv`` or ``parquet``, from the content (Parquet's magic number), else from the name."""
    if head[:4] == b"PAR1":
        return "parquet"
    for magic, what in _NOT_TABLES:
        if head.startswith(magic):
            raise UploadError(415, f"the file is {what}, not CSV or Parquet", "file")
    lower = (filename or "").lower()
    if lower.endswith(".parquet"):
        raise UploadError(415, "the file is named .parquet but is not a Parquet file", "file")
    if b"\x00" in head[:4096]:
        raise UploadError(415, "the file is neither CSV text nor Parquet (it holds binary data)", "file")
    return "csv"


def save(project_dir: Path, stream: BinaryIO, filename: str, name: str | None, max_bytes: int,
         existing_tables: set[str]) -> Upload:
    """Store, check, profile and draft one uploaded file (see the module docstring)."""
    table = table_name(filename, name)
    if table in existing_tables:
        raise UploadError(409, f"table '{table}' already has a spec; choose another name", "name")
    directory = project_dir / UPLOAD_DIR
    directory.mkdir(exist_ok=True, mode=0o700)
    if taken := sorted(p.name for p in directory.glob(f"{table}.*") if not p.name.startswith(".")):
        # An earlier upload (maybe a saved spec's source): never replaced by another file.
        raise UploadError(409, f"{UPLOAD_DIR}/{taken[0]} already exists; choose another name (or remove that file)", "name")
    _ignore(project_dir)
    handle, name_of_partial = tempfile.mkstemp(prefix=f".{table}.", suffix=".partial", dir=directory)
    partial = Path(name_of_partial)
    size, head = 0, b""
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadError(413, f"the file is larger than the server's limit of {max_bytes // (1 << 20)} MB", "file")
                head = head or chunk[:8192]
                out.write(chunk)
        if size == 0:
            raise UploadError(422, "the file is empty", "file")
        kind = kind_of(filename, head)
        if kind == "csv":
            _check_utf8(partial)
        final = directory / f"{table}.{kind}"
        try:
            os.link(partial, final)  # never over a file: a concurrent upload of the name loses
        except FileExistsError:
            raise UploadError(409, f"{UPLOAD_DIR}/{final.name} already exists; choose another name", "name") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    try:
        return _draft(project_dir, final, table)
    except UploadError:
        final.unlink(missing_ok=True)
        raise


def _check_utf8(path: Path) -> None:
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                raise UploadError(422, f"the file is not UTF-8 text (byte {offset + exc.start}): save it as UTF-8 CSV",
                                  "file") from None
            offset += len(chunk)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise UploadError(422, "the file is not UTF-8 text (it ends inside a character): save it as UTF-8 CSV", "file") from None


def _draft(project_dir: Path, path: Path, table: str) -> Upload:
    from synthspec.engine.init import (
        draft_columns,
        draft_spec,
        header_looks_like_data,
        primary_key,
        reference_name_matches,
    )
    from synthspec.errors import SynthspecError
    from synthspec.io.profile import profile_paths
    from synthspec.privacy.detection import detect_pii

    relative = path.relative_to(project_dir).as_posix()
    try:
        (profile,) = profile_paths(relative, project_dir, header_check=header_looks_like_data, key_of=primary_key,
                                   matches=reference_name_matches)
    except SynthspecError as exc:
        raise UploadError(422, f"the file cannot be read as {path.suffix.lstrip('.').upper()}: {exc}", "file") from None
    if profile.rows == 0:
        raise UploadError(422, "the file has a header but no rows: there is nothing to learn from", "file")
    if not profile.columns:
        raise UploadError(422, "the file has no columns", "file")
    profile = replace(profile, name=table)
    findings = {f.column: f.to_dict() for f in detect_pii(profile.sample)}
    drafts = dict(draft_columns(profile, findings))
    columns = [{"name": c.name, "type": c.duckdb_type, "distinct": c.distinct, "nulls": c.nulls,
                "drafted_as": drafts[c.name].type if c.name in drafts else None} for c in profile.columns]
    return Upload(table, relative, profile.rows, columns, list(findings.values()), draft_spec(profile, findings))


def _ignore(project_dir: Path) -> None:
    """``uploads/`` holds real rows: never committed."""
    from synthspec.engine.init import ignore_generated

    with contextlib.suppress(OSError):
        ignore_generated(project_dir, (f"{UPLOAD_DIR}/",))
