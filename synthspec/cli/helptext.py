"""The "Examples" and "Exit codes" parts of every command's `--help`.

Kept apart from the command bodies so the help text can be read (and reviewed) in one place;
`cli/main.py` only passes ``epilog=epilog("apply")``. Each example is one command line a user
can paste: a test parses every one with the real click commands, so an example can never use
a flag the command does not accept. Exit codes come from ``synthspec.errors.ExitCode`` (130,
an interrupted run, is the shell's convention for SIGINT and is set by the CLI itself).
"""

from __future__ import annotations

from synthspec.errors import ExitCode

#: Exit code 130: the run was interrupted (Ctrl-C, or SIGTERM from a cancelled CI job).
INTERRUPTED = 130

_MEANING: dict[int, str] = {
    ExitCode.OK: "success",
    ExitCode.CHECK_FAILED: "a check failed (the gate) or the privacy budget is exhausted",
    ExitCode.INVALID: "invalid spec, project or usage: one file:line:col line per problem",
    ExitCode.ENVIRONMENT: "environment: source missing, database locked, a pii secret not set, model failure...",
    ExitCode.CHANGES_PENDING: "changes pending (plan --detailed-exitcode only)",
    INTERRUPTED: "interrupted (Ctrl-C, or SIGTERM from a cancelled CI job)",
}

#: Per command: example lines (command and a short comment) and the exit codes it can return.
_HELP: dict[str, tuple[list[tuple[str, str]], list[int]]] = {
    "synthspec": (
        [("synthspec init --from-duckdb warehouse.duckdb --schema raw", "draft a project from a DuckDB file"),
         ("synthspec validate", "offline: parse and lint every spec"),
         ("synthspec plan --detailed-exitcode", "what apply would do; exit 4 when changes are pending"),
         ("synthspec apply --project-dir examples/shop -q", "train, sample, check, publish"),
         ("synthspec apply --help", "every command has its own examples")],
        [0, 1, 2, 3, 4, INTERRUPTED],
    ),
    "validate": (
        [("synthspec validate", "every spec of the project in the current directory"),
         ("synthspec validate --project-dir examples/shop --format json", "machine-readable, for CI")],
        [0, 2, 3],
    ),
    "plan": (
        [("synthspec plan", "per table: up to date / will train / resample / re-check, and why"),
         ("synthspec plan --detailed-exitcode", "in CI: exit 4 when apply would change something"),
         ("synthspec plan -s customers --format json", "one table, machine-readable"),
         ("synthspec plan --format markdown", "for a pull-request comment or CI job summary")],
        [0, 2, 3, 4],
    ),
    "scan": (
        [("synthspec scan", "PII findings per source column"),
         ("synthspec scan -s tag:raw --format json", "tables tagged raw, machine-readable")],
        [0, 2, 3],
    ),
    "apply": (
        [("synthspec apply", "everything that changed, reusing cached models"),
         ("synthspec apply -s customers --force", "retrain one table (and resample its children)"),
         ("synthspec apply --jobs 2 --fail-fast -q", "two workers, stop at the first failure, no progress bars"),
         ("synthspec apply --executor ray --ray-address 10.0.0.5:6379", "one Ray task per table on a Ray cluster")],
        [0, 1, 2, 3, INTERRUPTED],
    ),
    "sample": (
        [("synthspec sample customers --rows 100000 --out big.parquet", "more rows from the cached model"),
         ("synthspec sample customers -n 10 --seed 7", "CSV on stdout; the same seed gives the same rows")],
        [0, 2, 3],
    ),
    "report": (
        [("synthspec report", "re-render target/ from target/run_results.json"),
         ("synthspec report --run 20261130T164726Z-420981", "rebuild a past run's reports from the run history"),
         ("synthspec report --project-dir examples/shop --format json", "list the files written")],
        [0, 2, 3],
    ),
    "history": (
        [("synthspec history", "the newest runs: id, finish time, each table's status"),
         ("synthspec history --limit 3 --format json", "machine-readable, e.g. to pick an id for report --run")],
        [0, 2, 3],
    ),
    "init": (
        [("synthspec init --from-duckdb warehouse.duckdb --schema raw", "one draft spec per table of schema raw"),
         ("synthspec init --from-path 'lake/*.parquet' --project-dir new", "one draft spec per file, in ./new")],
        [0, 2, 3],
    ),
    "dbt-sources": (
        [("synthspec dbt-sources --out models/sources.yml", "dbt sources for the synthetic views"),
         ("synthspec dbt-sources --real-target prod --schema-var shop_schema --out models/sources.yml",
          "dbt target prod reads the real tables")],
        [0, 2, 3],
    ),
    "serve": (
        [("synthspec serve", "the web app and API on http://127.0.0.1:8000"),
         ("synthspec serve --host 0.0.0.0 --port 8080",
          "off loopback: needs SYNTHSPEC_SERVE_TOKEN set (clients send Authorization: Bearer <token>)")],
        [0, 2, 3],
    ),
    "schema": (
        [("synthspec schema > specs/table_spec.schema.json", "the table spec's JSON Schema, for editors"),
         ("synthspec schema --project", "the project file's")],
        [0],
    ),
}


def documented_commands() -> list[str]:
    """The commands (and `synthspec`, the group) whose help this module writes."""
    return sorted(_HELP)


def examples(command: str) -> list[str]:
    """The example command lines of a command (`synthspec` for the group), without comments."""
    return [line for line, _ in _HELP[command][0]]


def exit_codes(command: str) -> list[int]:
    return list(_HELP[command][1])


def epilog(command: str) -> str:
    r"""The epilog click prints after the options. Each part starts with ``\b`` so click keeps
    its line breaks instead of rewrapping the lines into one paragraph."""
    lines, codes = _HELP[command]
    example_part = "\n".join(f"  # {comment}\n  {line}" for line, comment in lines)
    code_part = "\n".join(f"  {code:>3}  {_MEANING[code]}" for code in codes)
    return f"\b\nExamples:\n{example_part}\n\n\b\nExit codes:\n{code_part}\n"
