"""`synthspec` console script. Each command parses, calls one library function, renders the
result and maps it to an exit code; errors become one line each, tracebacks need --debug.

Everything a command prints goes through ``synthspec.redact`` (stdout and stderr are wrapped
for the whole invocation), so no resolved ``${VAR}`` value or secret reaches a terminal."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from synthspec import __version__, redact
from synthspec.cli.helptext import epilog
from synthspec.errors import ExitCode, SynthspecError, UsageError


class Settings:
    def __init__(self) -> None:
        self.project_dir: Path = Path(os.environ.get("SYNTHSPEC_PROJECT_DIR", "."))
        self.select: tuple[str, ...] = ()
        self.exclude: tuple[str, ...] = ()
        self.format: str = "text"
        self.quiet: bool = False
        self.debug: bool = False


def _merge(ctx: click.Context, **given: Any) -> Settings:
    settings: Settings = ctx.ensure_object(Settings)
    for key, value in given.items():
        if value not in (None, ()):
            setattr(settings, key, Path(value) if key == "project_dir" else value)
    return settings


def common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The global options, accepted both before and after the command name."""

    @click.option("--project-dir", type=click.Path(file_okay=False), default=None, help="Project directory (default: cwd; env SYNTHSPEC_PROJECT_DIR).")
    @click.option("-s", "--select", multiple=True, help="Only these tables (name or tag:x); repeatable.")
    @click.option("--exclude", multiple=True, help="Skip these tables (name or tag:x); repeatable.")
    @click.option("--format", "format_", type=click.Choice(["text", "json", "markdown"]), default=None,
                  help="Output format (markdown: `plan` only, for a pull-request comment).")
    @click.option("-q", "--quiet", is_flag=True, default=None, help="No progress bars or informational output.")
    @click.option("--debug", is_flag=True, default=None, help="Show tracebacks.")
    @functools.wraps(func)
    def wrapper(*args: Any, project_dir: Any, select: Any, exclude: Any, format_: Any, quiet: Any, debug: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        settings = _merge(ctx, project_dir=project_dir, select=select, exclude=exclude, format=format_, quiet=quiet, debug=debug)
        _check_format(ctx, settings.format)
        return func(*args, **kwargs)

    return wrapper


#: Formats beyond text and json, by the commands that render them.
_EXTRA_FORMATS = {"plan": ("markdown",)}


def _check_format(ctx: click.Context, fmt: str) -> None:
    """`--format` is global (accepted before the command name too), so the choice is checked
    once the command is known: a format a command cannot render is a usage error (exit 2)."""
    if isinstance(ctx.command, click.Group) or fmt in ("text", "json", *_EXTRA_FORMATS.get(ctx.info_name or "", ())):
        return
    raise click.UsageError(f"--format {fmt} is not available for `{ctx.info_name}`: use text or json", ctx)


def _echo_written(settings: Settings, written: list[Any]) -> int:
    """The files a command wrote: a JSON list, or one line each (none with -q)."""
    if settings.format == "json":
        click.echo(json.dumps({"status": "ok", "written": [str(p) for p in written]}, indent=2))
    elif not settings.quiet:
        for path in written:
            click.echo(f"wrote {path}")
    return ExitCode.OK


def error_handler(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        settings: Settings = click.get_current_context().ensure_object(Settings)
        try:
            code = func(*args, **kwargs)
        except SynthspecError as exc:
            if settings.debug:
                _print_traceback(exc)
            else:
                _report_error(settings, exc.lines())
            sys.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            _report_error(settings, ["interrupted; nothing was published by the interrupted table"])
            sys.exit(130)
        except Exception as exc:  # the last resort: never a traceback without --debug
            if settings.debug:
                _print_traceback(exc)
            else:
                _report_error(settings, [f"internal error: {exc.__class__.__name__} (run with --debug for details)"])
            sys.exit(int(ExitCode.ENVIRONMENT))
        sys.exit(int(code or 0))

    return wrapper


def _print_traceback(exc: BaseException) -> None:
    """--debug: the stack, code lines, exception classes and chained causes, with library
    messages redacted like any error (they may quote cells); SYNTHSPEC_DEBUG_UNREDACTED=1
    shows them raw, for local debugging only."""
    click.echo(redact.format_traceback(exc, trusted=SynthspecError), err=True, nl=False)


def _report_error(settings: Settings, lines: list[str]) -> None:
    if settings.format == "json":
        click.echo(json.dumps({"status": "error", "errors": lines}, indent=2))
        return
    for line in lines:
        click.secho(f"error: {line}" if ":" not in line.split(" ")[0] else line, fg="red", err=True)


def _project_databases(project) -> list[Path]:  # noqa: ANN001
    """The DuckDB files the project reads and publishes into."""
    config = project.config
    return [project.path(config.target.duckdb), *([project.path(config.source.duckdb)] if config.source else [])]


def _project(settings: Settings, *, lint: bool = True):  # noqa: ANN202
    """The project; its declared names are what library errors may quote (see redact.error)."""
    from synthspec.spec.project import load_project

    project = load_project(settings.project_dir, lint=lint)
    redact.know(redact.spec_names(project.specs))
    return project


def _load(settings: Settings, *, lint: bool = True):  # noqa: ANN202
    from synthspec.engine.select import select_specs

    project = _project(settings, lint=lint)
    return project, select_specs(project.specs, settings.select, settings.exclude)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=epilog("synthspec"))
@click.version_option(__version__, prog_name="synthspec")
@common_options
def cli() -> None:
    """synthspec: synthetic data as code."""
    click.get_current_context().with_resource(redact.redacting_streams())


@cli.command(epilog=epilog("validate"))
@common_options
@error_handler
def validate() -> int:
    """Parse and lint every spec, offline (no database access)."""
    settings = click.get_current_context().ensure_object(Settings)
    project, specs = _load(settings)
    if settings.format == "json":
        click.echo(json.dumps({"status": "ok", "tables": [s.table for s in specs]}, indent=2))
    elif not settings.quiet:
        click.echo(f"{len(specs)} spec(s) valid: {', '.join(s.table for s in specs) or 'none'}")
    return ExitCode.OK


@cli.command(epilog=epilog("plan"))
@common_options
@click.option("--detailed-exitcode", is_flag=True, help="Exit 4 when changes are pending.")
@error_handler
def plan(detailed_exitcode: bool) -> int:
    """What apply would do per table, and why."""
    from synthspec.cli.render import render_plan
    from synthspec.engine.plan import plan as make_plan

    settings = click.get_current_context().ensure_object(Settings)
    project, specs = _load(settings)
    if not specs:  # as for apply: a plan of nothing is not a green "no changes"
        from synthspec.engine.results import no_tables_message

        raise UsageError(no_tables_message())
    plans = make_plan(project, specs)
    render_plan(plans, settings.format)
    code = max((p.exit_code for p in plans), default=ExitCode.OK)
    if code == ExitCode.OK and detailed_exitcode and any(p.action != "none" for p in plans):
        return ExitCode.CHANGES_PENDING
    return code


@cli.command(epilog=epilog("scan"))
@common_options
@error_handler
def scan() -> int:
    """PII detection over source columns: entity, evidence, confidence (never a value)."""
    from synthspec.cli.render import render_scan
    from synthspec.engine.scan import scan_project

    settings = click.get_current_context().ensure_object(Settings)
    project, specs = _load(settings, lint=False)
    render_scan(scan_project(project, specs), settings.format)
    return ExitCode.OK


@cli.command(epilog=epilog("apply"))
@common_options
@click.option("--force", is_flag=True, help="Retrain every selected table, ignoring the cache.")
@click.option("--fail-fast", is_flag=True, help="Stop at the first table that fails or errors.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Train and sample independent tables in this many local worker processes (each gets cores/N threads).")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="Where each table trains and samples: local (inline, or --jobs worker processes) or ray (one Ray "
                   "task per table; needs `pip install 'synthspec[ray]'`). This process still reads sources and writes DuckDB.")
@click.option("--ray-address", default=None, metavar="ADDR",
              help="Ray cluster to run on (--executor ray), e.g. 10.0.0.5:6379 (default: the RAY_ADDRESS environment "
                   "variable; without either, a local Ray cluster is started for the run and stopped after it).")
@error_handler
def apply(force: bool, fail_fast: bool, jobs: int, executor: str, ray_address: str | None) -> int:
    """Train (reusing cached models), sample, check and publish."""
    from synthspec.cli.render import render_run
    from synthspec.engine.apply import ApplyOptions
    from synthspec.engine.apply import apply as run_apply
    from synthspec.engine.results import RunResult

    settings = click.get_current_context().ensure_object(Settings)
    if ray_address is not None and executor != "ray":
        raise UsageError("--ray-address needs --executor ray")
    if executor == "ray" and jobs > 1:
        raise UsageError("--jobs sets local worker processes: with --executor ray, the Ray cluster's CPUs set how many tables run at once")
    try:
        project, specs = _load(settings)
        if executor == "ray":  # before any work: no Ray, no run (exit 3, one line)
            from synthspec.engine.ray_executor import import_ray

            import_ray()
    except SynthspecError as exc:  # the reports must not keep saying the last run passed
        _error_reports(settings, exc)
        raise
    _terminate_as_interrupt()
    result = RunResult()
    try:
        run_apply(project, specs, ApplyOptions(force=force, fail_fast=fail_fast, show_progress=not settings.quiet,
                                               debug=settings.debug, jobs=jobs, executor=executor,
                                               ray_address=ray_address), result)
    except (SynthspecError, KeyboardInterrupt):
        if settings.debug:
            raise
        if settings.format == "json":  # one JSON document: the run, with its errors
            render_run(result, settings.format, quiet=settings.quiet)
            return result.exit_code
        render_run(result, settings.format, quiet=settings.quiet, run_errors=False)
        raise  # its lines on stderr and its exit code, as every command
    render_run(result, settings.format, quiet=settings.quiet)
    return result.exit_code


def _error_reports(settings: Settings, exc: SynthspecError) -> None:
    """target/ of a run that stopped before it started (a spec error, an unknown --select):
    run_results.json, junit.xml and summary.md say error, with the problems. Skipped when
    even the project file cannot be read (where target/ is is then unknown)."""
    from synthspec.engine.apply import run_errors
    from synthspec.engine.results import RunResult, utc_now, write_reports
    from synthspec.spec.project import project_target_dir

    target = project_target_dir(settings.project_dir)
    if target is None:
        return
    result = RunResult(errors=run_errors(exc))
    result.finished_at = utc_now()
    with contextlib.suppress(SynthspecError):  # the error itself is what the user sees
        write_reports(result, target)


def _terminate_as_interrupt() -> None:
    """SIGTERM (what CI sends when a job is cancelled) stops `apply` like Ctrl-C, at the next
    safe point: before the next table starts and before anything is published, so the running
    table publishes nothing and the reports say the run was interrupted. (Raising from the
    handler, as Ctrl-C does, can land inside a native library and abort the process.)"""
    import signal
    import threading

    from synthspec.engine.apply import STOP

    if threading.current_thread() is threading.main_thread():
        def stop(signum: int, frame: object) -> None:
            STOP.set()

        def interrupt(signum: int, frame: object) -> None:
            STOP.set()
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, interrupt)


@cli.command(epilog=epilog("sample"))
@common_options
@click.argument("table")
@click.option("--rows", "-n", type=int, required=True, help="How many rows to draw (at least 1).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Write to this .parquet or .csv file, or to a table named after TABLE in this .duckdb file "
                   "(created if missing; the table is replaced in one transaction). Default: CSV on stdout. Rows are "
                   "drawn and written in shards of 250,000, so memory does not grow with --rows.")
@click.option("--seed", type=int, default=None, help="Random seed (default: the spec's model seed); the same seed gives the same rows.")
@error_handler
def sample(table: str, rows: int, out: str | None, seed: int | None) -> int:
    """Draw more rows of TABLE from its cached model, without retraining.

    Uses the model `apply` cached for the table's current training fingerprint (hash-verified;
    run `apply` first if there is none), decodes rows as `apply` does (PII policies, keys in the
    source format, the source's column types) and publishes nothing. Sampling more rows from a
    differentially private model is post-processing: it spends no privacy budget. Tables with
    `references` are not supported (their keys must resolve against the parent's rows).
    """
    from synthspec.engine.sample import export, output_format, sample_table

    settings = click.get_current_context().ensure_object(Settings)
    if rows < 1:
        raise UsageError("--rows must be at least 1")
    path = Path(out) if out is not None else None
    output_format(path)  # a bad extension fails before any work
    project = _project(settings)
    if path is not None and any(path.resolve() == db.resolve() for db in _project_databases(project)):
        raise UsageError(f"--out '{out}' is one of the project's databases: `sample` writes only its own files "
                         "(`apply` publishes into the target)")
    result = sample_table(project, table, rows, seed, show_progress=not settings.quiet)
    if path is None:  # synthetic rows are data, not a message: written as they are, shard by shard
        stdout = redact.unwrapped(sys.stdout)
        stdout.flush()
        export(result, None, sink=stdout.buffer)
        stdout.buffer.flush()
        return ExitCode.OK
    export(result, path)
    if settings.format == "json":
        click.echo(json.dumps({"status": "ok", "table": table, "rows": result.rows, "seed": result.seed, "written": out}, indent=2))
    elif not settings.quiet:
        click.echo(f"wrote {out} ({result.rows} rows of {table}, model {result.model}, seed {result.seed})")
    return ExitCode.OK


@cli.command(epilog=epilog("report"))
@common_options
@click.option("--run", "run_id", default=None, help="Rebuild this past run's reports from the run history (see `synthspec history`).")
@click.option("--pdf", "pdf", is_flag=True, help="Also write target/report.pdf (the report's sections on A4 pages; no browser needed).")
@error_handler
def report(run_id: str | None, pdf: bool) -> int:
    """Re-render target/junit.xml, summary.md and report.html from target/run_results.json (no
    data is read); with --run, rebuild all four files of a past run from the target database's
    run history; with --pdf also target/report.pdf."""
    from synthspec.engine.results import load_results, load_run, render_reports, write_reports

    settings = click.get_current_context().ensure_object(Settings)
    project = _project(settings, lint=False)
    if run_id is None:
        results = load_results(project.target_dir)
        written = render_reports(results, project.target_dir)
    else:
        results = load_run(project, run_id)
        write_reports(results, project.target_dir)
        written = [project.target_dir / name for name in ("run_results.json", "junit.xml", "summary.md", "report.html")]
    if pdf:
        from synthspec.report.pdf import write_report_pdf

        written.append(write_report_pdf(results, project.target_dir))
    return _echo_written(settings, written)


@cli.command(epilog=epilog("history"))
@common_options
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True, help="How many runs, newest first.")
@error_handler
def history(limit: int) -> int:
    """The newest runs in the target database's run history: id, finish time, table statuses."""
    from synthspec.engine.results import as_utc, iso
    from synthspec.io import history as run_history
    from synthspec.io import warehouse

    settings = click.get_current_context().ensure_object(Settings)
    project = _project(settings, lint=False)
    with warehouse.open_project(project, write=False, need_source=False) as cons:
        runs = run_history.recent_runs(cons.target, limit)
    if settings.format == "json":
        click.echo(json.dumps({"runs": [{"run_id": r, "finished_at": iso(as_utc(at)), "tables": dict(t.rsplit(":", 1) for t in tables)}
                                        for r, at, tables in runs]}, indent=2))
    elif not runs:
        click.echo("no run recorded with its results yet: run `synthspec apply`")
    else:
        for run_id, at, tables in runs:
            click.echo(f"{run_id}  {iso(as_utc(at))}  {', '.join(tables)}")
    return ExitCode.OK


@cli.command(epilog=epilog("init"))
@common_options
@click.option("--from-duckdb", "from_duckdb", type=click.Path(dir_okay=False), help="Draft specs for the tables of this DuckDB file.")
@click.option("--schema", "schema_name", default="main", show_default=True, help="Schema to read with --from-duckdb.")
@click.option("--from-path", "from_path", help="Draft one spec per Parquet/CSV file matching this glob.")
@error_handler
def init(from_duckdb: str | None, schema_name: str, from_path: str | None) -> int:
    """Scaffold a project: project file, one draft spec per table, .gitignore entries."""
    from synthspec.engine.init import init_project

    settings = click.get_current_context().ensure_object(Settings)
    result = init_project(settings.project_dir, from_duckdb=from_duckdb, schema=schema_name, from_path=from_path)
    for warning in result.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    if not settings.quiet and settings.format != "json":
        for path, columns in result.explanations.items():
            click.echo(f"{path}: drafted types (review before committing)")
            width = max((len(name) for name, _, _ in columns), default=0)
            for name, semantic, reason in columns:
                click.echo(f"  {name:<{width}}  {semantic:<11}  {reason}")
        for note in result.notes:
            click.echo(note)
    return _echo_written(settings, result.written)


@cli.command("dbt-sources", epilog=epilog("dbt-sources"))
@common_options
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None, help="Write the YAML to this file (default: stdout).")
@click.option("--source-name", default=None, help="Name of the dbt source (default: the project name).")
@click.option("--database", default=None, help="Catalog alias under which the dbt profile attaches the target file.")
@click.option("--real-target", default=None, help="dbt target (e.g. prod) that reads the real tables of the specs' source.table instead.")
@click.option("--schema-var", default=None, help="dbt var that overrides the schema at run time.")
@click.option("--published-only", is_flag=True, help="Only tables the target database has published (opens it read-only).")
@error_handler
def dbt_sources(out: str | None, source_name: str | None, database: str | None, real_target: str | None, schema_var: str | None, published_only: bool) -> int:
    """Write a dbt `sources:` YAML for the spec'd tables, from the specs alone."""
    from synthspec.dbt.sources import SourcesOptions, build_sources, write_sources

    settings = click.get_current_context().ensure_object(Settings)
    project, specs = _load(settings, lint=False)
    given = [("--source-name", source_name), ("--database", database), ("--real-target", real_target), ("--schema-var", schema_var)]
    flags = [*(f"-s {s}" for s in settings.select), *(f"--exclude {s}" for s in settings.exclude),
             *(f"{flag} {value}" for flag, value in given if value), *(["--published-only"] if published_only else []),
             *([f"--out {out}"] if out else [])]
    options = SourcesOptions(source_name=source_name, database=database, real_target=real_target, schema_var=schema_var,
                             published_only=published_only, command=" ".join(["synthspec dbt-sources", *flags]))
    sources = build_sources(project, specs, options)
    if out is None:
        click.echo(sources.render(), nl=False)
        return ExitCode.OK
    write_sources(sources.render(), Path(out))
    if settings.format == "json":
        click.echo(json.dumps({"status": "ok", "written": out, "tables": sources.tables}, indent=2))
    elif not settings.quiet:
        click.echo(f"wrote {out} ({len(sources.tables)} table(s): {', '.join(sources.tables)})")
    return ExitCode.OK


@cli.command(epilog=epilog("serve"))
@common_options
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Any address other than loopback needs SYNTHSPEC_SERVE_TOKEN.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--max-upload-mb", type=click.IntRange(min=1), default=200, show_default=True, help="Largest file accepted by uploads.")
@error_handler
def serve(host: str, port: int, max_upload_mb: int) -> int:
    """The web app and REST API over this project (needs `pip install 'synthspec[serve]'`)."""
    from synthspec.errors import EnvironmentError_

    settings = click.get_current_context().ensure_object(Settings)
    token = os.environ.get("SYNTHSPEC_SERVE_TOKEN") or None
    if not _loopback(host) and token is None:
        raise UsageError(f"--host {host} is not loopback: set SYNTHSPEC_SERVE_TOKEN (clients send `Authorization: Bearer <token>`)")
    if token is not None and (len(token.strip()) < 16 or token != token.strip()):
        raise UsageError("SYNTHSPEC_SERVE_TOKEN must be at least 16 characters, without spaces around it")
    try:
        import uvicorn

        from synthspec.server.app import create_app
    except ImportError as exc:
        raise EnvironmentError_(f"`synthspec serve` needs the serve extra ({exc.name} is missing): pip install 'synthspec[serve]'") from None
    _project(settings)  # spec errors are located and exit 2 before the server starts
    from synthspec.server.runs import ServerBusy

    try:
        app = create_app(settings.project_dir, token=token, max_upload_mb=max_upload_mb)
    except ServerBusy as exc:
        raise EnvironmentError_(str(exc)) from None
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    if not settings.quiet:
        shown = f"[{host}]" if ":" in host else host
        click.echo(f"synthspec serve: {settings.project_dir.resolve()} on http://{shown}:{port}"
                   + (" (token required)" if token else "") + " — Ctrl-C stops", err=True)
    server.run()
    return ExitCode.OK


def _loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@cli.command(epilog=epilog("schema"))
@click.option("--project", "which", flag_value="project", help="The project file's schema instead of the table spec's.")
@click.option("--table", "which", flag_value="table", default=True, hidden=True)
def schema(which: str) -> None:
    """Print the JSON Schema of the spec format (for editor autocompletion)."""
    from synthspec.spec.schema import project_schema, render, table_spec_schema

    click.echo(render(project_schema() if which == "project" else table_spec_schema()), nl=False)


def main() -> None:
    try:
        cli(prog_name="synthspec")
    except SystemExit as done:
        _exit(done.code)


def _exit(code: object) -> None:
    """End the process with ``code`` (as ``sys.exit`` reads it) without the interpreter's
    teardown when nothing else is running: freeing every module and frame one object at a time
    costs ~0.4 s after an Adult apply, for memory the operating system reclaims at once. The
    atexit functions still run (temporary directories, logging, Ray) and both streams are
    flushed; with another thread alive, the ordinary exit waits for it as usual."""
    import atexit
    import threading

    if threading.active_count() > 1:
        sys.exit(code)
    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): printed, status 1
        print(code, file=sys.stderr)
        status = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)


if __name__ == "__main__":
    main()
