"""docs/spec-reference.md is generated from the JSON Schema and kept in sync with it."""

from __future__ import annotations

from pathlib import Path

from synthspec.spec.docgen import REGENERATE, main, render_reference, type_text
from synthspec.spec.models import ProjectConfig, TableSpec

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "spec-reference.md"


def test_committed_reference_matches_the_schema():
    assert REFERENCE.read_text(encoding="utf-8") == render_reference(), (
        f"docs/spec-reference.md is out of date with the spec models; regenerate it with `{REGENERATE}`"
    )


def test_every_key_of_both_formats_is_documented():
    page = render_reference()
    for model in (TableSpec, ProjectConfig):
        schema = model.model_json_schema(by_alias=True)
        objects = [schema, *schema.get("$defs", {}).values()]
        for node in objects:
            for key in node.get("properties", {}):
                assert f"| `{key}` |" in page, key
        for name in schema.get("$defs", {}):
            assert f"### {name}\n" in page, name


def test_type_text_reads_like_prose():
    assert type_text({"$ref": "#/$defs/CheckSpec"}) == "[CheckSpec](#checkspec)"
    assert type_text({"anyOf": [{"type": "string"}, {"type": "null"}]}) == "string"
    assert type_text({"enum": ["a", "b"]}) == "`a` \\| `b`"
    assert type_text({"type": "number", "exclusiveMinimum": 0, "maximum": 2}) == "number (> 0, ≤ 2)"
    assert type_text({"type": "array", "items": {"type": "string"}}) == "list of string"


def test_check_mode_names_the_command(tmp_path, capsys):
    stale = tmp_path / "spec-reference.md"
    stale.write_text("old\n")
    assert main(["--out", str(stale), "--check"]) == 1
    assert REGENERATE in capsys.readouterr().err
    assert main(["--out", str(stale)]) == 0
    assert main(["--out", str(stale), "--check"]) == 0
