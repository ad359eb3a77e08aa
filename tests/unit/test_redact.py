"""synthspec.redact: resolved ${VAR} values, secrets and quoted cells never leave synthspec."""

from __future__ import annotations

import html
import io
import json
import sys
from collections.abc import Iterator

import duckdb
import pandas as pd
import pytest

from synthspec import redact
from synthspec.spec.loader import interpolate

NAME = "Braund, Mr. Owen Harris"


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    redact.reset()
    yield
    redact.reset()


def duckdb_error(sql: str) -> duckdb.Error:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT * FROM (VALUES ({redact_sql(NAME)}, 'x')) v(name, other)")
    try:
        con.execute(sql).fetchall()
    except duckdb.Error as exc:
        return exc
    finally:
        con.close()
    raise AssertionError(f"no error from {sql}")


def redact_sql(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@pytest.mark.parametrize("sql", [
    "SELECT CAST(name AS INTEGER) FROM t",  # single quotes
    "SELECT CAST(name AS DECIMAL(10, 2)) FROM t",  # double quotes
    "SELECT CAST(name AS DATE) FROM t",  # double quotes after "format:"
    "SELECT CAST(name AS TIMESTAMP) FROM t",
    "SELECT strptime(name, '%Y') FROM t",
    "SELECT CAST(name AS INTEGER[]) FROM t",  # "with value '...'"
    "SELECT CAST(name AS JSON) FROM t",  # "Input: "..."
    f"SELECT CAST({redact_sql(NAME)} AS INTEGER)",  # constant: the SQL is echoed on later lines
])
def test_duckdb_errors_lose_the_cell_whatever_the_quoting(sql):
    exc = duckdb_error(sql)
    assert "Owen" in str(exc)  # DuckDB does quote it
    message = redact.error(exc)
    assert "Owen" not in message and "Braund" not in message and "\n" not in message
    assert message.startswith(("Conversion Error", "Invalid Input Error")) and "…" in message


def test_unquoted_numbers_and_values_after_value_words():
    exc = duckdb_error("SELECT CAST(300 + length(name) AS TINYINT) FROM t")
    assert "323" in str(exc) and "323" not in redact.error(exc)
    assert redact.error("Out of bounds nanosecond timestamp: 3000-01-01 00:00:00, at position 0") == \
        "Out of bounds nanosecond timestamp: …, at position 0"
    assert redact.error("invalid value Owen Harris for column age") == "invalid value … for column age"
    assert redact.error("could not convert string to float: 'Owen'") == "could not convert string to float: '…'"


def test_nested_and_unbalanced_quotes_never_leak():
    cases = {
        "Could not convert string 'O'Brien' to INT32": "O'Brien",
        "Could not convert string 'Mr' Smith' to INT32 when casting from source column 'name'": "Smith",
        "Could not convert string \"Owen's\" to INT32": "Owen",
        "Could not convert string 'Braund, \"Mr\" Owen' to INT32": "Owen",
        "string \"a\" and stuff\" to INT": "stuff",
        "Could not convert string `Owen Harris` to INT": "Owen",
        "Unterminated 'Owen Harris": "Owen",
    }
    for message, secret in cases.items():
        assert secret not in redact.error(message), message


def test_known_identifiers_and_types_stay_readable():
    redact.know(["name", "Sex"])
    exc = duckdb_error("SELECT CAST(name AS INTEGER) FROM t")
    assert redact.error(exc) == "Conversion Error: Could not convert string '…' to INT32 when casting from source column name"
    message = 'Error when converting column "Sex". Could not convert string "Owen" to \'BIGINT\''
    assert redact.error(message) == 'Error when converting column "Sex". Could not convert string "…"'
    assert redact.error('Binder Error: Referenced column "agee" not found') == 'Binder Error: Referenced column "…" not found'
    assert redact.error("CSV Error on Line: 30002") == "CSV Error on Line: 30002"  # a position, not a value
    assert len(redact.error("x" * 1000)) == redact.MAX_ERROR_LENGTH


def test_spec_names_are_the_declared_names_and_source_words(tmp_path):
    from synthspec.spec.project import load_project

    (tmp_path / "synthspec.yml").write_text("name: p\nsource: {duckdb: wh.duckdb}\ntarget: {duckdb: wh.duckdb}\n")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "t.yml").write_text(
        "version: 1\ntable: t\nsource: {query: \"SELECT a, b FROM raw.x WHERE c = 'yes'\"}\ncolumns:\n  a: {type: numerical}\n  b: {type: categorical}\n")
    names = redact.spec_names(load_project(tmp_path).specs)
    assert {"t", "a", "b", "raw.x", "c", "yes"} <= names


def test_interpolated_values_are_replaced_by_their_reference():
    text, _ = interpolate("token ${API_TOKEN} in ${SCHEMA}.t with ${FLAG:-defaultvalue}", {"API_TOKEN": "s3cr3t-t0ken-value", "SCHEMA": "raw"})
    assert text == "token s3cr3t-t0ken-value in raw.t with defaultvalue"
    assert redact.text(text) == "token ${API_TOKEN} in raw.t with defaultvalue"  # short values and defaults stay
    value = 'pa"ss<wörd>&\'x'
    redact.remember("PASSWORD", value)
    for encoded in (json.dumps(value), json.dumps(value, ensure_ascii=False), html.escape(value), repr(value)):
        assert "${PASSWORD}" in redact.text(f"before {encoded} after") and value not in redact.text(encoded)
    assert redact.data({"k": [value, 1, {value: None}]}) == {"k": ["${PASSWORD}", 1, {"${PASSWORD}": None}]}


def test_secrets_are_always_redacted():
    from synthspec.engine.secrets import secret_problem
    from synthspec.spec.models import ColumnSpec

    column = ColumnSpec(type="text", pii="hash")
    assert secret_problem(column, "MY_KEY", {"MY_KEY": "k" * 16}) is None
    assert redact.text("key kkkkkkkkkkkkkkkk used") == "key ${MY_KEY} used"
    redact.remember("TINY", "ab", secret=True)  # a secret is redacted whatever its length
    assert redact.text("about") == "${TINY}out" and redact.variable("ab") == "TINY"


def test_streams_redact_everything_written():
    redact.remember("API_TOKEN", "s3cr3t-t0ken-value")
    out = io.StringIO()
    with pytest.raises(AttributeError):
        redact.RedactingStream(out).buffer  # noqa: B018 - bytes there would bypass the redaction
    saved = sys.stdout
    sys.stdout = out
    try:
        with redact.redacting_streams():
            print("token", "s3cr3t-t0ken-value")
            redact.unwrapped(sys.stdout).write("data s3cr3t-t0ken-value\n")  # rows are data: as they are
    finally:
        sys.stdout = saved
    assert out.getvalue() == "token ${API_TOKEN}\ndata s3cr3t-t0ken-value\n"


def test_tracebacks_keep_the_stack_and_redact_the_messages(monkeypatch):
    monkeypatch.delenv(redact.DEBUG_UNREDACTED_ENV, raising=False)

    def read() -> None:
        try:
            pd.Series([NAME]).astype("int64")
        except ValueError as exc:
            raise RuntimeError("reading failed") from exc

    try:
        read()
    except RuntimeError as exc:
        text = redact.format_traceback(exc)
        monkeypatch.setenv(redact.DEBUG_UNREDACTED_ENV, "1")
        raw = redact.format_traceback(exc)
    assert "Traceback (most recent call last)" in text and "in read" in text and "astype" in text
    assert "ValueError: " in text and "RuntimeError: reading failed" in text and "direct cause" in text
    assert "Owen" not in text and "Owen" in raw


@pytest.mark.parametrize("sql", [
    "SELECT error(name) FROM t",  # SQL chooses the whole message
    "SELECT error(upper(name)) FROM t",
    "SELECT regexp_matches(name, '(' || name) FROM t",  # a pattern error quotes the pattern, unquoted
    "SELECT regexp_extract(name, name || ')') FROM t",
    "SELECT unhex(name) FROM t",  # one character of the cell
])
def test_free_text_invalid_input_errors_are_withheld(sql):
    line = redact.error(duckdb_error(sql))
    assert line == "Invalid Input Error: … (its text can quote data: withheld)"


def test_known_invalid_input_messages_keep_their_text():
    line = redact.error(duckdb_error("SELECT strptime(name, '%Y') FROM t"))
    assert line == 'Invalid Input Error: Could not parse string "…"'


@pytest.mark.parametrize("sql", [
    # A cell wrapped in quotes of its own pairs them with the message's: "'x' Braund, Mr. Owen 'y'".
    "SELECT CAST('x'' ' || name || ' ''y' AS INTEGER) FROM t",
    "SELECT CAST('a\" ' || name || ' \"b' AS DATE) FROM t",
    "SELECT strptime('\" ' || name || ' \"', '%Y') FROM t",
    "SELECT from_base64('\" ' || name || ' \"') FROM t",
    "SELECT CAST('x'' ' || translate(name, '0123456789', 'abcdefghij') || ' ''y' AS INTEGER) FROM t",
])
def test_a_cell_wrapped_in_its_own_quotes_stays_hidden(sql):
    line = redact.error(duckdb_error(sql))
    assert "Braund" not in line and "Owen" not in line and "Harris" not in line, line
