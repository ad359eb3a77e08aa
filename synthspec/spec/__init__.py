"""Spec language: pydantic models, YAML loading with locations, JSON Schema."""
