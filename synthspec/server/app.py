"""The FastAPI application of `synthspec serve` (docs/serve.md).

A thin layer: specs stay files in the project (what the UI saves is a spec a reviewer diffs and
commits), runs are `synthspec apply` processes (``synthspec.server.runs``), uploads are drafted
as `init` drafts (``synthspec.server.uploads``). Errors are ``{"error": ..., "location": ...}``
with a 4xx status, never a traceback. Real rows are never served: ``/rows`` reads only the
published synthetic view of a spec'd table."""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, File, Form, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field, StrictBool
from starlette.exceptions import HTTPException as StarletteHTTPException

from synthspec import __version__, redact
from synthspec.errors import SpecError, SynthspecError
from synthspec.server.runs import RunManager
from synthspec.server.uploads import UploadError, save

STATIC = Path(__file__).with_name("static")
ROW_FORMATS = ("csv", "json", "parquet")


class ApiError(Exception):
    def __init__(self, status: int, message: str, location: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.location, self.extra = status, message, location, extra


class RunRequest(BaseModel):
    select: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=1000, description="Tables (name or tag:x); empty: every table.")
    force: StrictBool = Field(False, description="Retrain, ignoring cached models.")


class SpecText(BaseModel):
    text: str = Field(..., max_length=1_000_000, description="The spec's YAML text.")


def _error(status: int, message: str, location: str | None = None, **extra: Any) -> JSONResponse:
    headers = {"Retry-After": "5"} if status in (409, 503) and extra.pop("retry", False) else None
    return JSONResponse({"error": redact.text(message), "location": location, **extra}, status_code=status, headers=headers)


def create_app(project_dir: Path, *, token: str | None = None, max_upload_mb: int = 200,
               env: dict[str, str] | None = None) -> FastAPI:
    from synthspec.spec.project import load_project

    project_dir = project_dir.resolve()
    environ = dict(os.environ if env is None else env)
    first = load_project(project_dir, environ, lint=False)
    runs = RunManager(project_dir, first.state_dir, first.target_dir, environ)
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        runs.shutdown()  # the running apply stops at its next safe point: nothing more is published

    app = FastAPI(title="synthspec", version=__version__, lifespan=lifespan,
                  description="Synthetic data as code: specs, uploads, runs and published synthetic rows of one project.")
    app.state.runs = runs

    def project() -> Any:
        """The project as it is on disk now; a project with errors is a located 422."""
        try:
            return load_project(project_dir, environ, lint=False)
        except SpecError as exc:
            first = exc.problems[0] if exc.problems else None
            raise ApiError(422, exc.lines()[0], f"{first.file}:{first.line}:{first.col}" if first else None,
                           problems=exc.lines()) from None

    # ------------------------------------------------------------------ errors and auth

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.message, exc.location, **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), None)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first_error = exc.errors()[0] if exc.errors() else {"msg": "invalid request", "loc": ()}
        location = ".".join(str(p) for p in first_error.get("loc", ()))
        return _error(422, str(first_error.get("msg", "invalid request")), location or None)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        return _error(500, f"internal error: {type(exc).__name__}", None)

    @app.middleware("http")
    async def limit_uploads(request: Request, call_next: Any) -> Response:
        """An upload's size is known from its Content-Length before its body is read: refuse
        it there (a multipart body is otherwise received whole before the endpoint runs)."""
        if request.method == "POST" and request.url.path == "/api/uploads":
            length = request.headers.get("content-length", "")
            if not length.isdigit():
                return _error(411, "an upload needs a Content-Length header", "header.content-length")
            if int(length) > (max_upload_mb << 20) + (1 << 16):
                return _error(413, f"the file is larger than the server's limit of {max_upload_mb} MB", "file")
        return await call_next(request)

    @app.middleware("http")
    async def authenticate(request: Request, call_next: Any) -> Response:
        if token and request.url.path.startswith("/api/") and request.url.path != "/api/health":
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if not (scheme.lower() == "bearer" and secrets.compare_digest(given.strip().encode(), token.encode())):
                return _error(401, "missing or wrong token: send `Authorization: Bearer <SYNTHSPEC_SERVE_TOKEN>`", "header.authorization")
        return await call_next(request)

    # ------------------------------------------------------------------ UI

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> FileResponse:
        path = STATIC / name
        if "/" in name or name.startswith(".") or not path.is_file():
            raise ApiError(404, f"no static file '{name}'", "path.name")
        return FileResponse(path)

    # ------------------------------------------------------------------ API

    @app.get("/api/health", summary="Liveness and version")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "auth": bool(token)}

    @app.get("/api/tables", summary="Every spec'd table with its last run and published version")
    def tables() -> dict[str, Any]:
        p = project()
        versions, busy, published_results = _published_versions(p, runs)
        last = {**published_results, **_last_results(p.target_dir)}  # the newest run's tables win
        out = []
        for loaded in p.specs:
            spec = loaded.spec
            out.append({
                "table": spec.table, "file": loaded.file, "description": spec.description, "tags": list(spec.tags or []),
                "model": spec.model.type, "source": spec.source.model_dump(exclude_none=True),
                "last_run": last.get(spec.table), "published_version": versions.get(spec.table),
            })
        return {"tables": out, "database_busy": busy}

    @app.post("/api/uploads", status_code=201, summary="Upload a CSV or Parquet file: profile, PII findings and a drafted spec")
    def upload(request: Request, file: Annotated[UploadFile, File(description="A CSV or Parquet file.")],
               name: Annotated[str | None, Form(description="The table name (default: from the file name).")] = None) -> dict[str, Any]:
        try:
            existing = {s.table for s in project().specs}
        except ApiError:  # a project with errors: the tables its spec files declare
            specs_dir = _specs_dir(project_dir)
            existing = {t for f in [*specs_dir.glob("*.yml"), *specs_dir.glob("*.yaml")] if (t := _declared_table(f))}
            existing |= {f.stem for f in specs_dir.glob("*.yml")}
        try:
            return save(project_dir, file.file, file.filename or "", name, max_upload_mb << 20, existing).to_dict()
        except UploadError as exc:
            raise ApiError(exc.status, exc.message, exc.location) from None

    @app.get("/api/specs/{table}", summary="A table's spec (YAML text)")
    def get_spec(table: str) -> dict[str, Any]:
        path = _spec_path(project_dir, table)
        if path is None or not path.is_file():
            raise ApiError(404, f"no spec for table '{table}'", "path.table")
        return {"table": table, "file": path.relative_to(project_dir).as_posix(), "text": path.read_text(encoding="utf-8")}

    @app.put("/api/specs/{table}", summary="Write a table's spec after the checks of `synthspec validate`")
    def put_spec(table: str, body: SpecText) -> dict[str, Any]:
        path = _spec_path(project_dir, table, create=True)
        if path is None:
            raise ApiError(422, f"'{table}' cannot be a table name", "path.table")
        problems = _validate(project_dir, path, body.text, table, environ)
        if problems:
            first_problem = problems[0]
            raise ApiError(422, first_problem["message"], first_problem["location"], problems=problems)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(body.text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
        return {"table": table, "file": path.relative_to(project_dir).as_posix(), "written": True}

    @app.delete("/api/specs/{table}", summary="Remove a table's spec file (and, with upload=true, the upload it reads)")
    def delete_spec(table: str, upload: Annotated[bool, Query(description="Also remove its file under uploads/.")] = False) -> dict[str, Any]:
        from synthspec.server.uploads import UPLOAD_DIR

        path = _spec_path(project_dir, table)
        if path is None or not path.is_file():
            raise ApiError(404, f"no spec for table '{table}'", "path.table")
        removed = [path.relative_to(project_dir).as_posix()]
        source = _declared_source_path(path)
        path.unlink()
        if upload and source is not None:
            file = (project_dir / source).resolve()
            if file.parent == (project_dir / UPLOAD_DIR).resolve() and file.is_file():
                file.unlink()
                removed.append(f"{UPLOAD_DIR}/{file.name}")
        # Published views stay: `apply` never unpublishes (drop them in the database if needed).
        return {"table": table, "removed": removed}

    @app.get("/api/specs/{table}/plan", summary="What apply would do for the table, and why (`synthspec plan`): reads the source")
    def plan_spec(table: str) -> dict[str, Any]:
        p = project()
        chosen = [s for s in p.specs if s.spec.table == table]
        if not chosen:
            raise ApiError(404, f"no spec for table '{table}'", "path.table")
        if runs.busy:
            raise ApiError(409, "a run is writing into the database: retry when it finishes", None, retry=True)
        from synthspec.engine.plan import plan as make_plan

        try:
            (planned,) = make_plan(p, chosen)
        except SynthspecError as exc:
            raise ApiError(409 if exc.exit_code == 3 else 422, exc.lines()[0], None, problems=exc.lines()) from None
        return planned.to_dict()

    @app.post("/api/runs", status_code=202, summary="Queue an apply of the selected tables")
    def post_run(body: RunRequest | None = None) -> dict[str, Any]:
        body = body or RunRequest()
        p = project()
        from synthspec.engine.select import select_specs

        try:
            chosen = select_specs(p.specs, tuple(body.select), ())
        except SynthspecError as exc:
            raise ApiError(422, exc.lines()[0], "body.select") from None
        if not chosen:
            raise ApiError(422, "the selection matches no table", "body.select")
        return runs.submit(body.select, body.force).public()

    @app.get("/api/runs", summary="Every run, newest first")
    def list_runs() -> dict[str, Any]:
        return {"runs": [r.public() for r in runs.all()]}

    @app.get("/api/runs/{run_id}", summary="A run: state, per-table stage and progress, results")
    def get_run(run_id: str) -> dict[str, Any]:
        run = _run(runs, run_id)
        return {**run.public(), "progress": runs.progress(run_id)}

    @app.delete("/api/runs/{run_id}", summary="Cancel a run (nothing is published by it; previous views stay)")
    def cancel_run(run_id: str) -> dict[str, Any]:
        if (ended := _run(runs, run_id)).state in ("passed", "failed", "error", "cancelled"):
            raise ApiError(409, f"run {run_id} has already ended ({ended.state}): nothing to cancel", "path.run_id")
        run = runs.cancel(run_id)
        run = runs.wait(run_id, 30) or run
        return run.public()  # type: ignore[union-attr]

    @app.get("/api/runs/{run_id}/events", summary="Server-sent events: state changes, stages and progress, then the end")
    async def run_events(run_id: str) -> StreamingResponse:
        _run(runs, run_id)

        async def stream() -> Any:
            async for event in runs.follow(run_id):
                yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @app.get("/api/runs/{run_id}/report", response_class=HTMLResponse, summary="The run's HTML report")
    def run_report(run_id: str) -> HTMLResponse:
        run = _run(runs, run_id)
        path = runs.report(run_id)
        if path is None:
            raise ApiError(404, f"run {run_id} has no report ({run.state})", "path.run_id")
        return HTMLResponse(path.read_text(encoding="utf-8"))

    @app.get("/api/tables/{table}/rows", summary="Published synthetic rows of a table (never real rows)")
    def rows(table: str, limit: Annotated[int, Query(ge=1, le=1_000_000)] = 1000,
             format: Annotated[Literal["csv", "json", "parquet"], Query()] = "json") -> Response:  # noqa: A002
        p = project()
        if table not in {s.table for s in p.specs}:
            raise ApiError(404, f"no spec for table '{table}'", "path.table")
        if runs.busy:
            raise ApiError(409, "a run is writing into the database: retry when it finishes", None, retry=True)
        frame = _published_rows(p, table, limit)
        if frame is None:
            raise ApiError(404, f"table '{table}' has no published synthetic rows yet: run it first", "path.table")
        if format == "csv":
            return Response(frame.to_csv(index=False), media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="{table}.csv"'})
        if format == "parquet":
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            return Response(buffer.getvalue(), media_type="application/vnd.apache.parquet",
                            headers={"Content-Disposition": f'attachment; filename="{table}.parquet"'})
        return Response(frame.to_json(orient="records", date_format="iso"), media_type="application/json")

    return app


def _run(runs: RunManager, run_id: str) -> Any:
    run = runs.get(run_id)
    if run is None:
        raise ApiError(404, f"no run '{run_id}'", "path.run_id")
    return run


def _spec_path(project_dir: Path, table: str, *, create: bool = False) -> Path | None:
    """The file of ``table``'s spec: the existing one, or (``create``) ``<specs>/<table>.yml``."""
    from synthspec.server.uploads import _NAME
    from synthspec.spec.project import load_project

    try:
        p = load_project(project_dir, lint=False)
    except SpecError:
        p = None
    if p is not None:
        for loaded in p.specs:
            if loaded.spec.table == table:
                return p.root / loaded.file
        specs_dir = p.path(p.config.specs)
    else:  # a project with errors: find the file by its `table:` key, so it can be fixed here
        specs_dir = _specs_dir(project_dir)
        for path in sorted([*specs_dir.glob("*.yml"), *specs_dir.glob("*.yaml")]):
            if _declared_table(path) == table:
                return path
        named = specs_dir / f"{table}.yml"
        if named.is_file() and _declared_table(named) is None:  # unparseable: its name says whose it is
            return named
    if not create or not _NAME.match(table):
        return None
    path = specs_dir / f"{table}.yml"
    if path.exists():  # a file named after this table that holds another table's spec (or none)
        raise ApiError(409, f"{path.relative_to(project_dir).as_posix()} exists and is not table '{table}''s spec; "
                            "rename that file first", "path.table")
    return path


def _specs_dir(project_dir: Path) -> Path:
    """The project file's `specs` directory, read without validating the project."""
    import yaml

    from synthspec.spec.project import PROJECT_FILE

    try:
        data = yaml.safe_load((project_dir / PROJECT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        data = None
    given = data.get("specs") if isinstance(data, dict) else None
    return project_dir / (given if isinstance(given, str) and given.strip() else "specs")


def _declared_source_path(path: Path) -> str | None:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return None
    source = data.get("source") if isinstance(data, dict) else None
    value = source.get("path") if isinstance(source, dict) else None
    return value if isinstance(value, str) else None


def _declared_table(path: Path) -> str | None:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        return None
    return data.get("table") if isinstance(data, dict) else None


def _validate(project_dir: Path, path: Path, text: str, table: str, environ: dict[str, str]) -> list[dict[str, Any]]:
    """The problems `synthspec validate` would report with ``text`` at ``path``, each with its
    ``file:line:col`` location; a spec must also name ``table``."""
    from synthspec.spec.project import PROJECT_FILE, load_project

    with tempfile.TemporaryDirectory(prefix="synthspec-validate-") as tmp:
        root = Path(tmp)
        shutil.copyfile(project_dir / PROJECT_FILE, root / PROJECT_FILE)
        specs_dir = _specs_dir(project_dir)
        relative_specs = specs_dir.relative_to(project_dir)
        if specs_dir.is_dir():
            shutil.copytree(specs_dir, root / relative_specs, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.tmp", ".*"))
        (root / path.relative_to(project_dir)).parent.mkdir(parents=True, exist_ok=True)
        (root / path.relative_to(project_dir)).write_text(text, encoding="utf-8")
        try:
            checked = load_project(root, environ)
        except SpecError as exc:
            return [{"message": p.message, "location": f"{p.file}:{p.line}:{p.col}"} for p in exc.problems]
        file = path.relative_to(project_dir).as_posix()
        named = [s for s in checked.specs if s.file == file]
        if not named or named[0].spec.table != table:
            where = named[0].doc.locate(("table",)) if named else None
            location = f"{file}:{where.line}:{where.col}" if where else f"{file}:1:1"
            return [{"message": f"the spec must declare `table: {table}` (it is saved as {table}'s spec)", "location": location}]
    return []


def _last_results(target_dir: Path) -> dict[str, dict[str, Any]]:
    from synthspec.server.runs import _table_summary

    try:
        doc = json.loads((target_dir / "run_results.json").read_text())
    except (OSError, ValueError):
        return {}
    return {t["table"]: {**_table_summary(t), "run_id": doc.get("run_id"), "finished_at": doc.get("finished_at")}
            for t in doc.get("tables", []) if "table" in t}


def _published_versions(p: Any, runs: RunManager) -> tuple[dict[str, int], bool, dict[str, dict[str, Any]]]:
    """Each table's published version and the result of the run that published it (read-only,
    from the target database's history); nothing while a run holds the database (``busy``)."""
    from synthspec.server.runs import _table_summary

    if runs.busy:
        return {}, True, {}
    from synthspec.io import history, warehouse

    path = p.path(p.config.target.duckdb)
    if not path.exists():
        return {}, False, {}
    try:
        con = warehouse.connect(path, read_only=True, display=p.config.target.duckdb)
    except SynthspecError:
        return {}, True, {}
    try:
        versions, results = {}, {}
        for loaded in p.specs:
            table = loaded.spec.table
            current = history.current(con, table)
            if current is None:
                continue
            versions[table] = current.version
            if (last := history.last_result(con, table, current.version)) is not None:
                run_id, finished, result = last
                results[table] = {**_table_summary(result), "run_id": run_id,
                                  "finished_at": finished.isoformat() if hasattr(finished, "isoformat") else finished}
        return versions, False, results
    finally:
        con.close()


def _published_rows(p: Any, table: str, limit: int) -> Any:
    from synthspec.io import history, warehouse

    path = p.path(p.config.target.duckdb)
    if not path.exists():
        return None
    try:
        con = warehouse.connect(path, read_only=True, display=p.config.target.duckdb)
    except SynthspecError as exc:
        raise ApiError(409, f"the database is busy: {exc}", None, retry=True) from None
    try:
        if history.current(con, table) is None:
            return None
        schema = p.config.target.schema_
        return con.execute(f'SELECT * FROM "{schema}"."{table}" LIMIT {int(limit)}').df()
    finally:
        con.close()
