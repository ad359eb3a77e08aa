"""Secrets of the hash and fake policies, read from the environment.

A spec names an environment variable (``secret_env``, default the project's
``privacy.secret_env``), never a secret. A missing or short secret is an environment error
(exit 3) of the commands that read it (plan, apply, sample: the pseudonyms and the training
fingerprint depend on it), located at the column's ``pii`` key; ``validate`` never reads it,
so a pull-request job without secrets can lint specs. There is no default key, since a known
key would let anyone rebuild the pseudonyms from a dictionary.
Every secret read is remembered by ``synthspec.redact``, so no output ever shows it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from synthspec import redact
from synthspec.errors import EnvironmentProblems, Problem
from synthspec.spec.models import ColumnSpec

MIN_SECRET_LENGTH = 16


def secret_env(column: ColumnSpec, project_default: str) -> str:
    return column.secret_env or project_default


def secret_problem(column: ColumnSpec, project_default: str, environ: Mapping[str, str] | None = None) -> str | None:
    environ = os.environ if environ is None else environ
    name = secret_env(column, project_default)
    value = environ.get(name)
    if not value:
        return f"'pii: {column.pii}' needs a secret key in the environment variable '{name}', which is not set"
    if len(value) < MIN_SECRET_LENGTH:
        return f"the secret in environment variable '{name}' is shorter than {MIN_SECRET_LENGTH} characters"
    redact.remember(name, value, secret=True)
    return None


def policy_secrets(loaded, project) -> dict[str, bytes]:  # noqa: ANN001
    """Secret bytes per hash/fake column; every column whose secret is missing or too short
    is one located line of an exit-3 error naming the variable."""
    default = project.config.privacy.secret_env
    problems = []
    for name, column in loaded.spec.columns.items():
        if column.pii in ("hash", "fake") and (why := secret_problem(column, default)):
            loc = loaded.doc.locate(("columns", name, "pii"), prefer_key=True)
            problems.append(Problem(loc.file, loc.line, loc.col, f"column '{name}': {why}"))
    if problems:
        raise EnvironmentProblems(problems)
    secrets: dict[str, bytes] = {}
    for name, column in loaded.spec.columns.items():
        if column.pii in ("hash", "fake"):
            env = secret_env(column, default)
            secrets[name] = redact.remember(env, os.environ[env], secret=True).encode("utf-8")
    return secrets


__all__ = ["MIN_SECRET_LENGTH", "Problem", "policy_secrets", "secret_problem"]
