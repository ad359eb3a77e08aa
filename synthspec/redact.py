"""What leaves synthspec is redacted here: resolved ``${VAR}`` values, secrets, and the cell
values that library error messages quote.

Two kinds of redaction, each one function used at every output boundary (CLI streams, report
files, run history, dbt sources):

* ``text``/``data``: every value ``${VAR}`` interpolation took from the environment, and every
  policy secret, is replaced by its reference ``${VAR}``. Values shorter than
  ``MIN_VALUE_LENGTH`` characters are not replaced inside other text (a schema ``raw``, a flag
  ``on`` or a count ``100`` would mangle every message and hide nothing worth hiding); secrets
  are always replaced. Values given as ``${VAR:-default}`` defaults are written in the spec and
  are not secret. The escaped forms a value takes in JSON, HTML/XML and YAML are replaced too.
* ``error``: an exception message from DuckDB, pandas or a model, reduced to something safe to
  print: its first line, every quoted segment (single, double or back quotes, however nested)
  replaced by ``…`` unless it is a known identifier (a declared table or column, a word of the
  spec's source, a SQL type), numbers and dates replaced, an unquoted word after ``string``/
  ``value``/``input``... replaced, and the length capped.

The registries are per process: specs are loaded, and secrets read, in the process that prints.
"""

from __future__ import annotations

import html
import json
import os
import re
import sys
import traceback as _traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synthspec.spec.project import LoadedSpec

#: Shorter values read from the environment are not redacted inside other text (see above).
MIN_VALUE_LENGTH = 6
#: Longest error message kept (after redaction).
MAX_ERROR_LENGTH = 200
#: Operator opt-in: `--debug` tracebacks show exception messages unredacted (local debugging only).
DEBUG_UNREDACTED_ENV = "SYNTHSPEC_DEBUG_UNREDACTED"
HIDDEN = "…"

_values: dict[str, str] = {}  # a value or one of its escaped forms -> "${NAME}"
_pattern: re.Pattern[str] | None = None
_known: set[str] = set()  # identifiers an error message may quote


def remember(name: str, value: str, *, secret: bool = False) -> str:
    """Record that ``value`` came from environment variable ``name``; return ``value``."""
    global _pattern
    if value and (secret or len(value) >= MIN_VALUE_LENGTH):
        reference = "${" + name + "}"
        for form in _escaped_forms(value):
            if form and form not in _values:
                _values[form] = reference
                _pattern = None
    return value


def _escaped_forms(value: str) -> list[str]:
    """The value as it appears after the encodings outputs use (JSON, HTML/XML, YAML, repr)."""
    forms = [value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1], html.escape(value),
             html.escape(value, quote=False), value.replace("'", "''"), repr(value)[1:-1]]
    xml = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    forms += [xml, xml.replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#09;")]
    return forms


def text(message: str) -> str:
    """``message`` with every remembered value replaced by its ``${NAME}`` reference."""
    global _pattern
    if not _values or not message:
        return message
    if _pattern is None:
        _pattern = re.compile("|".join(re.escape(v) for v in sorted(_values, key=len, reverse=True)))
    return _pattern.sub(lambda m: _values[m.group(0)], message)


def data(value: Any) -> Any:
    """``text`` applied to every string (keys included) of a JSON-like structure; subclasses of
    str and list keep their type (a YAML dumper may represent them specially)."""
    if isinstance(value, str):
        redacted = text(value)
        return value if redacted == value else type(value)(redacted)
    if isinstance(value, dict):
        return {data(k): data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(data(v) for v in value)
    return value


def variable(value: str) -> str | None:
    """The environment variable ``value`` was read from, when it is exactly a remembered value."""
    reference = _values.get(value)
    return reference[2:-1] if reference else None


def reset() -> None:
    """Forget every remembered value and identifier (tests)."""
    global _pattern
    _values.clear()
    _known.clear()
    _pattern = None


# --------------------------------------------------------------------------- error messages


def know(names: Iterable[str]) -> None:
    """Identifiers an error message may quote as they are (declared tables and columns...)."""
    _known.update(n for n in names if n)


def spec_names(specs: Iterable[LoadedSpec]) -> set[str]:
    """The names a spec declares and the words of its source: what a DuckDB error about that
    spec may quote without quoting data (a cell equal to one of them is spec text anyway)."""
    names: set[str] = set()
    for loaded in specs:
        spec = loaded.spec
        names.add(spec.table)
        names.update(spec.columns)
        for source in (spec.source.table, spec.source.query, spec.source.path):
            if source:
                names.add(source)
                names.update(re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", source))
                names.update(m[1] for m in re.findall(r"""(['"`])(.*?)\1""", source))
    return names


_TYPE = re.compile(
    r"(?:U?(?:TINY|SMALL|BIG|HUGE)?INT(?:EGER|8|16|32|64|128)?|UINT(?:8|16|32|64|128)?|DOUBLE|FLOAT[48]?|REAL|"
    r"DECIMAL|NUMERIC|VARCHAR|TEXT|STRING|BOOL(?:EAN)?|DATE|TIME(?:STAMP)?(?:_S|_MS|_NS|TZ| WITH TIME ZONE)?|"
    r"INTERVAL|UUID|BLOB|JSON|BIT|LIST|STRUCT|MAP|ENUM|NULL)(?:\(\d+(?:,\s*\d+)?\))?(?:\[\d*\])*")
_QUOTES = "'\"`"
_NUMBER = re.compile(r"(?<![\w.])(?<![A-Za-z]-)[-+]?\d[\d_]*(?:[.,:/\-T ]\d+)*(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])")
# Numbers after these words are positions in the input, not values.
_POSITION = re.compile(r"(?i)\b(?:line|lines|position|pos|byte|offset|row|index|column|col|char|character)\s*:?\s*$")
_VALUE_WORD = re.compile(r"(?i)\b(?:string|value|values|literal|input|data|token)\s+(?=\S)")
_STOP = {"to", "of", "is", "are", "was", "were", "be", "for", "in", "at", "from", "with", "as", "and", "or", "not", "too",
         "out", "type", "types", "must", "should", "cannot", "can't", "could", "does", "doesn't", "has", "have",
         "contains", "when", "that", "this", "the", "a", "an", "into", "on", "than", "error", "format"}
_VALUE_END = re.compile(r"[^\s,;]+(?:\s+[^\s,;]+)*?(?=\s+(?:" + "|".join(map(re.escape, sorted(_STOP))) + r")\b|[,;]|$)", re.I)
#: Longest line looked at (a longer one is cut first: a cut quote hides the rest).
_MAX_SCAN = 4000


def error(exc: BaseException | str, *, limit: int | None = MAX_ERROR_LENGTH) -> str:
    """A library's exception message made safe to print (see the module's rules)."""
    raw = exc if isinstance(exc, str) else str(exc)
    line = next((ln.strip() for ln in raw.splitlines() if ln.strip()), "")
    if not line:
        return exc.__class__.__name__ if not isinstance(exc, str) else ""
    line = _quoted_span(_withhold_free_text(text(line).replace("\x00", " ")[:_MAX_SCAN]))
    kept: list[str] = []

    def keep(segment: str) -> str:
        kept.append(segment)
        return f"\x00{len(kept) - 1}\x00"

    line = re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}", lambda m: keep(m.group(0)), line)
    line = re.sub(r"\b[A-Z][A-Z0-9_]*\(\d+(?:,\s*\d+)?\)", lambda m: keep(m.group(0)), line)  # DECIMAL(10,2)
    line = _quoted(line, keep)
    line = _numbers(line)
    line = _value_words(line)
    line = re.sub(r"\x00(\d+)\x00", lambda m: kept[int(m.group(1))], line)
    line = "".join(ch if ch.isprintable() else " " for ch in line)
    if limit is not None and len(line) > limit:
        line = line[: limit - 1] + HIDDEN
    return line


#: DuckDB's "Invalid Input Error" carries free text that SQL can choose: `error(x)` raises
#: with ``x`` itself, regular-expression errors quote their pattern unquoted. Its detail is kept
#: only when it is one of these known messages (their quoted parts are then redacted as usual).
_INVALID_INPUT = "Invalid Input Error: "
_KNOWN_INVALID_INPUT = re.compile(
    r"Cannot execute statement of type \"\w+\" on database \"[^\"]*\" which is attached in read-only mode!$"
    r"|Could not parse string \".*\" according to format specifier \".*\"$"
    r"|Malformed JSON at byte \d+ of input: [a-z ]+\.\s+Input: \".*\"$"
    r"|Invalid type specifier \".*\" for formatting a value of type \w+$"
    r"|Cannot (?:change|enable|set) [\w\s\"]+(?:configuration|external access|while)[^:]*$")


#: Errors raised before any row is read (about names, syntax, permissions): their quoted parts
#: are names from the spec, kept when known. Every other error may quote a cell.
_BEFORE_DATA = ("Parser Error:", "Binder Error:", "Catalog Error:", "Permission Error:", "TransactionContext Error:",
                "Dependency Error:", "Syntax Error:")


def _quoted_span(line: str) -> str:
    """In an error that may quote a cell, everything from the quote that opens the value to the
    last quote of any kind in the line (what follows it is the message's own, e.g. ``to
    INT32``; a type quoted after the value is lost with it): a cell can hold quotes of its own and pair them up with
    the message's (``'x' Braund, Mr. Owen 'y'``), so quoted segments inside that span cannot be
    told from the cell. The value opens at the first quote after a word like ``string`` (else
    at the first quote): nothing of a cell comes before its opening quote, so the text before it
    (``column "Sex".``) is the message's own and keeps its names."""
    if line.startswith(_BEFORE_DATA):
        return line
    quotes = [i for i, ch in enumerate(line) if ch in _QUOTES]
    if not quotes:
        return line
    opening = _VALUE_QUOTE.search(line)
    first = opening.end() - 1 if opening else quotes[0]
    last = quotes[-1]
    return line[: first + 1] + HIDDEN + line[first] + (line[last + 1:] if last > first else "")


_VALUE_QUOTE = re.compile(r"(?i)\b(?:string|value|input|literal)\s*:?\s*['\"`]")


def _withhold_free_text(line: str) -> str:
    if not line.startswith(_INVALID_INPUT) or _KNOWN_INVALID_INPUT.match(line[len(_INVALID_INPUT):]):
        return line
    return _INVALID_INPUT + HIDDEN + " (its text can quote data: withheld)"


def _boundary(ch: str) -> bool:
    return not (ch.isalnum() or ch == "_")


def _is_quote(line: str, j: int) -> bool:
    """Not an apostrophe inside a word (can't)."""
    inside = 0 < j < len(line) - 1 and not _boundary(line[j - 1]) and not _boundary(line[j + 1])
    return not (line[j] == "'" and inside)


def _quoted(line: str, keep: Any) -> str:
    """Quoted segments: kept when a known identifier or a SQL type, else hidden. Values may
    contain quotes, so a segment ends at the first closing quote after which the line's quotes
    of that kind pair up again (else at the last one); with no closing quote, at the line's end."""
    out: list[str] = []
    i = 0
    while i < len(line):
        ch = line[i]
        if ch not in _QUOTES or (ch == "'" and i > 0 and not _boundary(line[i - 1])):
            out.append(ch)
            i += 1
            continue
        quotes = [j for j in range(i + 1, len(line)) if line[j] == ch and _is_quote(line, j)]
        closers = [j for j in quotes if j + 1 == len(line) or _boundary(line[j + 1])]
        if not closers:
            out.append(ch + HIDDEN)
            break
        after = {j: len(quotes) - k - 1 for k, j in enumerate(quotes)}  # quotes of this kind after j
        end = next((j for j in closers if after[j] % 2 == 0), closers[-1])
        inner = line[i + 1: end]
        known = inner in _known or _TYPE.fullmatch(inner) or re.fullmatch("\x00\\d+\x00", inner)
        out.append(keep(ch + inner + ch) if known else ch + HIDDEN + ch)
        i = end + 1
    return "".join(out)


def _numbers(line: str) -> str:
    def replace(m: re.Match[str]) -> str:
        return m.group(0) if _POSITION.search(line[: m.start()]) else HIDDEN

    parts = re.split(r"(\x00\d+\x00)", line)
    return "".join(p if p.startswith("\x00") else _NUMBER.sub(replace, p) for p in parts)


def _value_words(line: str) -> str:
    """An unquoted value after `string`, `value`...: hidden up to the next stop word."""
    out, i = [], 0
    for m in _VALUE_WORD.finditer(line):
        if m.start() < i:
            continue
        rest = line[m.end():]
        words = _VALUE_END.match(rest)
        first = rest.split(None, 1)[0] if rest.split() else ""
        if not words or first.lower().rstrip(":,.;!") in _STOP or first.startswith(("\x00", HIDDEN)) or first[0] in _QUOTES:
            continue
        out.append(line[i: m.end()] + HIDDEN)
        i = m.end() + words.end()
    out.append(line[i:])
    return "".join(out)


# --------------------------------------------------------------------------- tracebacks


def format_traceback(exc: BaseException, *, trusted: type[BaseException] | tuple[type[BaseException], ...] = ()) -> str:
    """The stack of ``exc`` and its chained causes, as Python prints it, with every exception
    message redacted: ``error`` for library exceptions, ``text`` for ``trusted`` ones (whose
    messages synthspec wrote). ``SYNTHSPEC_DEBUG_UNREDACTED=1`` shows them raw."""
    if os.environ.get(DEBUG_UNREDACTED_ENV) == "1":
        return "".join(_traceback.format_exception(type(exc), exc, exc.__traceback__))
    return "".join(_format(exc, trusted, set()))


def _format(exc: BaseException, trusted: Any, seen: set[int]) -> list[str]:
    seen.add(id(exc))
    lines: list[str] = []
    if exc.__cause__ is not None and id(exc.__cause__) not in seen:
        lines += _format(exc.__cause__, trusted, seen)
        lines.append("\nThe above exception was the direct cause of the following exception:\n\n")
    elif exc.__context__ is not None and not exc.__suppress_context__ and id(exc.__context__) not in seen:
        lines += _format(exc.__context__, trusted, seen)
        lines.append("\nDuring handling of the above exception, another exception occurred:\n\n")
    if exc.__traceback__ is not None:
        lines += ["Traceback (most recent call last):\n", *_traceback.format_tb(exc.__traceback__)]
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ in ("builtins", "__main__") else f"{kind.__module__}.{kind.__qualname__}"
    message = text(str(exc)) if isinstance(exc, trusted) else error(exc, limit=None)
    lines.append(f"{name}: {message}\n" if message else f"{name}\n")
    if not isinstance(exc, trusted) and message != str(exc):
        lines.append(f"  (message redacted; {DEBUG_UNREDACTED_ENV}=1 shows it whole)\n")
    return lines


# --------------------------------------------------------------------------- streams


class RedactingStream:
    """A text stream that redacts (``text``) everything written through it."""

    def __init__(self, stream: IO[str]) -> None:
        self.raw = stream

    def write(self, s: str) -> int:
        if not isinstance(s, str):
            raise TypeError("RedactingStream writes text only")
        self.raw.write(text(s))
        return len(s)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        if name in ("buffer", "detach"):  # bytes written there would bypass the redaction
            raise AttributeError(name)
        return getattr(self.raw, name)


def unwrapped(stream: IO[str]) -> IO[str]:
    """The stream under a ``RedactingStream`` (for data, e.g. synthetic rows, never messages)."""
    return stream.raw if isinstance(stream, RedactingStream) else stream


@contextmanager
def redacting_streams() -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` redacted for the duration (the CLI's one boundary)."""
    saved = sys.stdout, sys.stderr
    sys.stdout = RedactingStream(saved[0]) if not isinstance(saved[0], RedactingStream) else saved[0]  # type: ignore[assignment]
    sys.stderr = RedactingStream(saved[1]) if not isinstance(saved[1], RedactingStream) else saved[1]  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


__all__ = ["DEBUG_UNREDACTED_ENV", "MIN_VALUE_LENGTH", "RedactingStream", "data", "error", "know", "remember", "reset",
           "spec_names", "text", "format_traceback", "unwrapped", "variable"]
