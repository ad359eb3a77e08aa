"""Synthesizers by name. Built-in models live in modules imported lazily, so that commands
which never train (``validate``, ``schema``) do not pay for SDV or torch imports."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from synthspec.models.base import Synthesizer

_REGISTRY: dict[str, type[Synthesizer]] = {}

# name -> module that registers it. Keeping names here (not imports) keeps start-up fast.
BUILTIN_MODELS: dict[str, str] = {
    "cart": "synthspec.models.cart",
    "gaussian_copula": "synthspec.models.sdv_models",
    "ctgan": "synthspec.models.sdv_models",
    "tvae": "synthspec.models.sdv_models",
    "copulagan": "synthspec.models.sdv_models",
}


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
        importlib.import_module(BUILTIN_MODELS[name])
    if name not in _REGISTRY:
        raise KeyError(name)
    return _REGISTRY[name]


def choose_model(requested: str, *, differentially_private: bool = False) -> str:
    """Resolve ``auto``: the cheapest registered model with the required capabilities."""
    if requested != "auto":
        return requested
    candidates = []
    for name in model_names():
        cls = get_model(name)
        if cls.differentially_private == differentially_private:
            candidates.append((cls.cost, name))
    if not candidates:
        raise KeyError("no registered model has the required capabilities")
    return min(candidates)[1]
