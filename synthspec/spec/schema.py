"""JSON Schema of the spec format, for editors (yaml-language-server) and review tools."""

from __future__ import annotations

import json
from typing import Any

from synthspec.spec.models import ProjectConfig, TableSpec


def table_spec_schema() -> dict[str, Any]:
    schema = TableSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "synthspec table spec"
    return schema


def project_schema() -> dict[str, Any]:
    schema = ProjectConfig.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "synthspec project file"
    return schema


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
