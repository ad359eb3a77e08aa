"""One error hierarchy; the CLI maps each class to an exit code and a one-line message.

Messages never contain raw cell values or resolved ``${ENV}`` values: they name files, keys,
tables and columns only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    CHECK_FAILED = 1  # the gate: a check failed or the privacy budget is exhausted
    INVALID = 2  # invalid spec, project or usage
    ENVIRONMENT = 3  # source missing, database locked, unwritable target...
    CHANGES_PENDING = 4  # only from `plan --detailed-exitcode`
    INTERRUPTED = 130  # Ctrl-C or SIGTERM (128 + SIGINT, the shell's convention)


@dataclass(frozen=True)
class Problem:
    """One spec problem at a location (line/col are 1-based; 0 when unknown)."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.col}: {self.message}"
        return f"{self.file}: {self.message}"


class SynthspecError(Exception):
    exit_code: ExitCode = ExitCode.ENVIRONMENT

    def lines(self) -> list[str]:
        return [str(self)]


class SpecError(SynthspecError):
    """Every problem found in the project and its specs, reported together."""

    exit_code = ExitCode.INVALID

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.col))
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class UsageError(SynthspecError):
    exit_code = ExitCode.INVALID


class EnvironmentError_(SynthspecError):  # noqa: N801 - avoid shadowing the builtin
    """The world is not as the spec expects: missing source, locked or unwritable database."""

    exit_code = ExitCode.ENVIRONMENT


class EnvironmentProblems(EnvironmentError_):
    """Environment problems located in a spec (e.g. a secret the spec's policy needs is not
    set): one line each, like a SpecError, but exit 3: the spec is valid, the environment of
    the command that needs the value is not."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.col))
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]
