"""Three fingerprints per table, so that each kind of change redoes only what it must.

* training: the source data (independent of row order), the model-relevant spec keys and the
  versions of synthspec and the libraries that shape a model;
* sampling: the training fingerprint plus row count, seed and constraints;
* checks: the sampling fingerprint plus the thresholds.

All are salted with a per-project secret, so a published fingerprint cannot be used to test
whether a guessed dataset is the real one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from typing import Any

from synthspec import __version__
from synthspec.spec.models import TableSpec

_LIBRARIES = ("duckdb", "numpy", "pandas", "scikit-learn", "sdv", "torch", "faker", "diffprivlib")


def model_revision(model: str) -> int:
    """The built-in model's algorithm revision (1 for models from plugins)."""
    from synthspec.models.params import BUILTIN_MODELS

    builtin = BUILTIN_MODELS.get(model)
    return builtin.revision if builtin is not None else 1


@cache
def library_versions() -> dict[str, str]:
    versions = {"synthspec": __version__}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def _digest(salt: bytes, payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(salt + text.encode()).hexdigest()


def data_fingerprint_part(salt: bytes, row_count: int, data_hash: str, columns: list[tuple[str, str]]) -> str:
    return _digest(salt, {"rows": row_count, "hash": data_hash, "columns": columns})


def _subsample_part(spec: TableSpec, model: str, row_count: int) -> str | None:
    """The cap on the rows the model is fitted on, when the source has more rows than it (the
    default cap too, so a change of the default retrains big tables and only them)."""
    from synthspec.engine.subsample import subsample_applies, training_cap
    from synthspec.models.registry import is_differentially_private

    try:
        private = is_differentially_private(model)
    except KeyError:  # an unknown model is reported elsewhere; no subsample to describe
        return None
    cap = training_cap(spec.model.max_training_rows, private=private)
    return f"fitted on at most {cap} training rows" if cap is not None and subsample_applies(cap, row_count) else None


@dataclass(frozen=True)
class Fingerprints:
    training: str
    sampling: str
    checks: str
    #: The training fingerprint's components, so `plan` can say *what* changed.
    parts: dict[str, str]


def fingerprints(
    *,
    salt: bytes,
    spec: TableSpec,
    model: str,
    columns: list[tuple[str, str]],
    row_count: int,
    data_hash: str,
    rows: int,
    checks: dict[str, Any],
    secrets: dict[str, bytes] | None = None,
    upstream: dict[str, dict[str, str | None]] | None = None,
    rare: dict[str, Any] | None = None,
    tiny: bool = False,
) -> Fingerprints:
    """``upstream``: per referenced table, the training fingerprint of its current spec and
    data (a child learns from them) and the sampling fingerprint of the synthetic rows this
    child is drawn against. ``rare``: the effective rare-value rules (they shape the training
    frame, and come partly from the project file)."""
    upstream = upstream or {}
    parts = {
        "data": data_fingerprint_part(salt, row_count, data_hash, columns),
        "spec": _digest(salt, {
            "source": spec.source.model_dump(exclude_none=True),
            "columns": {name: c.model_dump(exclude={"description"}, exclude_none=True) for name, c in spec.columns.items()},
            "model": {"type": model, "seed": spec.model.seed, "params": spec.model.params,
                      # only when set, so specs without it keep their fingerprints
                      **({"max_training_rows": spec.model.max_training_rows} if spec.model.max_training_rows is not None else {}),
                      **({"revision": revision} if (revision := model_revision(model)) > 1 else {})},
            "holdout": spec.holdout,
            "privacy": spec.privacy.model_dump(exclude_none=True),
            "rare": rare or {},
            **({"sequence": spec.sequence.model_dump()} if spec.sequence is not None else {}),
        }),
        "versions": _digest(salt, library_versions()),
    }
    if upstream:
        parts["upstream"] = _digest(salt, {t: u["training"] for t, u in sorted(upstream.items())})
    if (subsample := _subsample_part(spec, model, row_count)) is not None:
        parts["subsample"] = subsample
    if tiny:  # trained on every row, not on a split (only then, so other tables keep their fingerprints)
        parts["split"] = "all rows: tiny table"
    training = _digest(salt, parts)
    sampling = _digest(salt, {
        "training": training,
        "rows": rows,
        "seed": spec.model.seed,
        "constraints": [c.model_dump() for c in spec.constraints],
        # hash/fake outputs depend on their secrets: a rotated secret resamples. Only a salted
        # digest enters the fingerprint, never the secret.
        "secrets": {name: hashlib.sha256(salt + value).hexdigest() for name, value in sorted((secrets or {}).items())},
        **({"upstream": {t: u["sampling"] for t, u in sorted(upstream.items())}} if upstream else {}),
    })
    checks_fp = _digest(salt, {"sampling": sampling, "checks": checks})
    return Fingerprints(training, sampling, checks_fp, parts)
