"""Synthesizers by name. Built-in models are described in ``params.py`` and their modules are
imported only when a model is trained or loaded, so commands that never train (``validate``,
``plan``, an up-to-date ``apply``) do not pay for scikit-learn, SDV or torch imports. Plugins
register a class with ``@register("name")``."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from synthspec.models.base import ModelParams, Synthesizer
from synthspec.models.params import BUILTIN_MODELS

_REGISTRY: dict[str, type[Synthesizer]] = {}


def register(name: str) -> Callable[[type[Synthesizer]], type[Synthesizer]]:
    def decorator(cls: type[Synthesizer]) -> type[Synthesizer]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorator


def model_names() -> list[str]:
    return sorted(set(BUILTIN_MODELS) | set(_REGISTRY))


def get_model(name: str) -> type[Synthesizer]:
    if name not in _REGISTRY and name in BUILTIN_MODELS:
        importlib.import_module(BUILTIN_MODELS[name].module)
    if name not in _REGISTRY:
        raise KeyError(name)
    return _REGISTRY[name]


def _capabilities(name: str) -> tuple[type[ModelParams], int, bool]:
    if name in _REGISTRY:
        cls = _REGISTRY[name]
        return cls.Params, cls.cost, cls.differentially_private
    info = BUILTIN_MODELS[name]
    return info.params, info.cost, info.differentially_private


def model_params(name: str) -> type[ModelParams]:
    return _capabilities(name)[0]


def is_differentially_private(name: str) -> bool:
    return _capabilities(name)[2]


def choose_model(requested: str, *, differentially_private: bool = False) -> str:
    """Resolve ``auto``: the cheapest model with the required capabilities."""
    if requested != "auto":
        return requested
    candidates = [(cost, name) for name in model_names() for _, cost, dp in [_capabilities(name)] if dp == differentially_private]
    if not candidates:
        raise KeyError("no registered model has the required capabilities")
    return min(candidates)[1]
