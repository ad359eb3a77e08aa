"""Synthesizers: the registry, the interface and one module per model."""
