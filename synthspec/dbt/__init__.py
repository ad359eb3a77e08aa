"""dbt integration: the `sources:` YAML that points a dbt project at the published views."""

from __future__ import annotations

from synthspec.dbt.sources import SourcesFile, SourcesOptions, build_sources, write_sources

__all__ = ["SourcesFile", "SourcesOptions", "build_sources", "write_sources"]
