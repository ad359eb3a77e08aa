"""`--help` of every command shows examples and the exit codes (issue 10), and every example
is a command line the real CLI accepts."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from synthspec.cli.helptext import documented_commands, examples, exit_codes
from synthspec.cli.main import cli
from synthspec.errors import ExitCode
from tests.commandline import check_invocation, synthspec_invocations

COMMANDS = sorted(cli.commands)


def _help(*args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_every_command_has_help_text():
    assert set(COMMANDS) >= {"validate", "plan", "scan", "apply", "sample", "report", "init", "dbt-sources", "schema"}
    undocumented = set(COMMANDS) - set(documented_commands())
    assert not undocumented, f"add examples and exit codes for {sorted(undocumented)} in synthspec/cli/helptext.py"


@pytest.mark.parametrize("command", ["synthspec", *COMMANDS])
def test_help_shows_examples_and_exit_codes(command):
    text = _help() if command == "synthspec" else _help(command)
    assert "Examples:" in text and "Exit codes:" in text
    examples_part = text.split("Examples:", 1)[1].split("Exit codes:", 1)[0]
    for line in examples(command):
        assert f"  {line}\n" in examples_part, f"example kept on its own line: {line}"
    codes_part = text.split("Exit codes:", 1)[1]
    for code in exit_codes(command):
        assert f" {code}  " in codes_part
    assert 0 in exit_codes(command)


@pytest.mark.parametrize("command", ["synthspec", *COMMANDS])
def test_every_example_is_accepted_by_the_cli(command):
    for line in examples(command):
        (argv,) = synthspec_invocations(line)
        name = check_invocation(argv)
        assert command == "synthspec" or name == command, line


def test_documented_exit_codes_are_the_real_ones():
    documented = {code for command in ["synthspec", *COMMANDS] for code in exit_codes(command)}
    assert documented == {*(int(c) for c in ExitCode), 130}
    assert ExitCode.CHANGES_PENDING in exit_codes("plan") and ExitCode.CHANGES_PENDING not in exit_codes("apply")


def test_the_checker_rejects_what_click_rejects():
    with pytest.raises(click.UsageError, match="No such option"):
        check_invocation(["apply", "--no-such-flag"])
    with pytest.raises(click.UsageError):
        check_invocation(["sample", "customers"])  # --rows is required
    with pytest.raises(click.UsageError):
        check_invocation(["apply", "--jobs", "0"])
    assert synthspec_invocations("SYNTHSPEC_SECRET=x .venv/bin/synthspec apply -q  # note") == [["apply", "-q"]]
    assert synthspec_invocations("synthspec schema > specs/x.json") == [["schema"]]
    assert synthspec_invocations("make demo") == []
