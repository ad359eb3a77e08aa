"""Markdown reference of the spec format, generated from the JSON Schema.

The pydantic models' ``Field(description=...)`` texts are the single source of truth: they
become the JSON Schema (editor tooltips) and, through this module, ``docs/spec-reference.md``.
A test regenerates the page and compares it with the committed file, so the reference can
never drift from the code. Regenerate with::

    python -m synthspec.spec.docgen --out docs/spec-reference.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from synthspec.spec.schema import project_schema, table_spec_schema

REGENERATE = "python -m synthspec.spec.docgen --out docs/spec-reference.md"

_HEADER = f"""\
<!-- Generated from the JSON Schema by `{REGENERATE}`: do not edit by hand
     (edit the pydantic models' descriptions in synthspec/spec/models.py instead). -->
# Spec reference

Every key of a table spec (`specs/<table>.yml`) and of the project file (`synthspec.yml`),
generated from the JSON Schema that `synthspec schema` and `synthspec schema --project` print
(editors with yaml-language-server read the same schema for completion). What the keys *do*
is explained in the [concept pages](README.md); this page is the exact list.

A key marked **required** must be present; every other key may be left out (its default
applies). Unknown keys are errors (exit 2, located at the key).
"""


def _anchor(name: str) -> str:
    """The GitHub-style anchor of a heading made of a single word."""
    return name.lower()


def _escape(text: str) -> str:
    """One table cell: no line breaks, no bare pipes."""
    return " ".join(text.split()).replace("|", "\\|")


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _bounds(node: dict[str, Any]) -> list[str]:
    """Numeric and length bounds, written as a reader would (`> 0`, `≤ 2`)."""
    marks = {"minimum": "≥", "exclusiveMinimum": ">", "maximum": "≤", "exclusiveMaximum": "<"}
    bounds = [f"{mark} {node[key]}" for key, mark in marks.items() if key in node]
    if "minLength" in node or "maxLength" in node:
        bounds.append(f"{node.get('minLength', 0)}–{node.get('maxLength', '…')} characters")
    return bounds


def type_text(node: dict[str, Any]) -> str:
    """A schema node as short Markdown: a link for a `$ref`, alternatives joined by "or"."""
    if "$ref" in node:
        name = _ref_name(node["$ref"])
        return f"[{name}](#{_anchor(name)})"
    if "const" in node:
        return f"`{node['const']}`"
    if "enum" in node:
        return " \\| ".join(f"`{value}`" for value in node["enum"])
    if "anyOf" in node:
        options = [option for option in node["anyOf"] if option.get("type") != "null"]
        return " or ".join(type_text(option) for option in options)
    kind = node.get("type", "any")
    if kind == "array":
        return f"list of {type_text(node.get('items', {}))}"
    if kind == "object":
        extra = node.get("additionalProperties")
        if isinstance(extra, dict):
            return f"mapping of name → {type_text(extra)}"
        return "mapping"
    text = {"number": "number", "integer": "integer", "string": "string", "boolean": "boolean"}.get(kind, kind)
    bounds = _bounds(node)
    if "pattern" in node:
        bounds.append("an identifier" if node["pattern"].startswith("^[A-Za-z_]") else f"matching `{node['pattern']}`")
    return f"{text} ({', '.join(bounds)})" if bounds else text


def _default_text(node: dict[str, Any], required: bool) -> str:
    if required:
        return "**required**"
    if "default" not in node or node["default"] is None or node["default"] in ([], {}):
        return ""
    value = node["default"]
    if isinstance(value, bool):
        value = str(value).lower()
    return f"`{value}`"


def _description(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    """A key's description; pydantic leaves it out of a `$ref` key when it repeats the
    referenced model's docstring, so that docstring is used instead."""
    if prop.get("description"):
        return str(prop["description"])
    if "$ref" in prop:
        return str(defs.get(_ref_name(prop["$ref"]), {}).get("description", ""))
    return ""


def object_section(name: str, node: dict[str, Any], level: int = 3, defs: dict[str, Any] | None = None) -> list[str]:
    """One object of the schema: its description, then a table of its keys."""
    lines = [f"{'#' * level} {name}", ""]
    if node.get("description"):
        lines += [" ".join(node["description"].split()), ""]
    required = set(node.get("required", []))
    lines += ["| key | type | default | description |", "|---|---|---|---|"]
    for key, prop in node.get("properties", {}).items():
        description = _escape(_description(prop, defs or {}))
        lines.append(f"| `{key}` | {type_text(prop)} | {_default_text(prop, key in required)} | {description} |")
    return [*lines, ""]


def document_section(title: str, command: str, schema: dict[str, Any]) -> list[str]:
    """A whole schema: the top-level object, then every definition it refers to, by name."""
    lines = [f"## {title}", "", f"JSON Schema: `{command}`.", ""]
    top = {key: value for key, value in schema.items() if key != "$defs"}
    defs = schema.get("$defs", {})
    lines += object_section(schema["title"].replace("synthspec ", "").capitalize(), top, level=3, defs=defs)[2:]
    for name, definition in sorted(defs.items()):
        lines += object_section(name, definition, defs=defs)
    return lines


def render_reference() -> str:
    """The whole page. Definitions shared by both schemas (CheckSpec, Checks) appear under the
    table spec only: their anchors are the same, so links from the project file resolve."""
    table = table_spec_schema()
    project = project_schema()
    shared = set(table.get("$defs", {}))
    project = {**project, "$defs": {k: v for k, v in project.get("$defs", {}).items() if k not in shared}}
    lines = [
        _HEADER,
        *document_section("Table spec (`specs/<table>.yml`)", "synthspec schema", table),
        *document_section("Project file (`synthspec.yml`)", "synthspec schema --project", project),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m synthspec.spec.docgen", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="write the page here (default: stdout)")
    parser.add_argument("--check", action="store_true", help="exit 1 when --out differs from the generated page")
    args = parser.parse_args(argv)
    page = render_reference()
    if args.out is None:
        sys.stdout.write(page)
        return 0
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != page:
            print(f"{args.out} is out of date; regenerate it with `{REGENERATE}`", file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
