"""Check a documented `synthspec ...` command line against the real click commands, without
running it: every flag must exist on the command it is given to, values must parse and
required arguments must be there. Used by the `--help` examples test and the docs test."""

from __future__ import annotations

import re
import shlex

import click

#: Shell operators that end one command of a line.
_SEPARATORS = {"&&", "||", ";", "|", "&"}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def synthspec_invocations(line: str) -> list[list[str]]:
    """The arguments of every `synthspec` command on one shell line. Accepts `synthspec`,
    `.venv/bin/synthspec` and `$(BIN)/synthspec`, environment prefixes
    (`SYNTHSPEC_SECRET=... synthspec apply`), `cd x && synthspec ...`, and a trailing comment
    or redirection (`> file`)."""
    words = shlex.split(line, comments=True)
    commands: list[list[str]] = [[]]
    for word in words:
        if word in _SEPARATORS:
            commands.append([])
        else:
            commands[-1].append(word)
    found = []
    for command in commands:
        while command and _ASSIGNMENT.match(command[0]):
            command = command[1:]
        if command and (command[0] == "synthspec" or command[0].endswith("/synthspec")):
            args = command[1:]
            cut = next((i for i, w in enumerate(args) if w.startswith(">") or w.startswith("2>")), len(args))
            found.append(args[:cut])
    return found


def check_invocation(argv: list[str]) -> str:
    """Parse `synthspec <argv>` as click would and return the command's name; raise
    click.UsageError (with click's own message) when a flag or value is not accepted."""
    from synthspec.cli.main import cli

    try:
        ctx = cli.make_context("synthspec", list(argv))
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        if not rest:
            return "synthspec"
        name, command, args = cli.resolve_command(ctx, rest)
        assert command is not None and name is not None
        command.make_context(name, args, parent=ctx)
        return name
    except click.exceptions.Exit as done:  # --help or --version: accepted when it exits 0
        if done.exit_code != 0:
            raise
        return argv[0] if argv and not argv[0].startswith("-") else "synthspec"
