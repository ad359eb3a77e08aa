"""`synthspec serve` as a real server process on a loopback port: the API flow upload →
findings → drafted spec → run with live events → report → published rows, bad uploads and specs
as located 4xx errors, tokens, cancellation and a killed server that publishes nothing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed: pip install 'synthspec[serve]'")
httpx = pytest.importorskip("httpx")
psutil = pytest.importorskip("psutil")

from tests.helpers import query_db  # noqa: E402
from tests.server import SECRET, Server, free_port  # noqa: E402, F401

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TITANIC = ROOT / "tests" / "fixtures" / "titanic.csv"


@pytest.fixture
def server(adult_project: Path) -> Iterator[Server]:
    s = Server(adult_project)
    yield s
    s.stop()


def upload(server: Server, path: Path, name: str | None = None, content: bytes | None = None):  # noqa: ANN201
    files = {"file": (path.name, content if content is not None else path.read_bytes(), "text/csv")}
    return server.client.post("/api/uploads", files=files, data={"name": name} if name else None)


def test_upload_findings_spec_run_events_report_and_rows(server: Server) -> None:
    assert server.client.get("/api/health").json()["status"] == "ok"
    tables = server.client.get("/api/tables").json()["tables"]
    assert [t["table"] for t in tables] == ["adult"] and tables[0]["published_version"] is None
    assert server.client.get("/openapi.json").json()["info"]["title"] == "synthspec"
    assert server.wait(server.client.post("/api/runs", json={"select": ["adult"]}).json()["id"])["state"] == "passed"

    # Upload: profile, the PII finding for the name column, a drafted spec with a fake policy.
    response = upload(server, TITANIC)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["table"] == "titanic" and body["rows"] == 891
    assert {f["column"]: f["entity"] for f in body["findings"]}["Name"] == "PERSON"
    assert not any("Braund" in json.dumps(f) for f in body["findings"])  # evidence, never values
    assert "Name: {type: text, pii: fake, faker: name, gender: Sex}" in body["spec"]
    assert (server.project / "uploads" / "titanic.csv").is_file()
    assert "uploads/" in (server.project / ".gitignore").read_text()
    assert server.client.get("/api/specs/titanic").status_code == 404  # drafted, not saved

    saved = server.client.put("/api/specs/titanic", json={"text": body["spec"]})
    assert saved.status_code == 200, saved.text
    assert server.client.get("/api/specs/titanic").json()["text"] == body["spec"]
    assert (server.project / "specs" / "titanic.yml").read_text() == body["spec"]
    planned = server.client.get("/api/specs/titanic/plan").json()
    assert planned["action"] == "train" and planned["table"] == "titanic"

    # Run: 202, live events (state, stages with progress, end), passed.
    started = server.client.post("/api/runs", json={"select": ["titanic"]})
    assert started.status_code == 202, started.text
    run_id = started.json()["id"]
    events = server.events(run_id)
    states = [e["state"] for e in events if e["type"] == "state"]
    assert states[-1] == "passed" and set(states) <= {"queued", "running", "passed"}
    stages = [e["stage"] for e in events if e["type"] == "stage"]
    assert stages[0] == "read" and "fit" in stages and stages[-1] == "publish"
    assert any(e.get("total") for e in events if e["type"] == "stage")  # progress within a stage
    end = events[-1]
    assert end["type"] == "end" and end["state"] == "passed" and end["exit_code"] == 0
    (titanic,) = end["tables"]
    assert titanic["published"] and {c["metric"] for c in titanic["checks"]} >= {"quality_score", "dcr_share"}
    run = server.client.get(f"/api/runs/{run_id}").json()
    assert run["state"] == "passed" and run["progress"]["titanic"]["stage"] == "publish"

    report = server.client.get(f"/api/runs/{run_id}/report")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html") and "titanic" in report.text

    # Rows: published synthetic rows only, as CSV, JSON and Parquet.
    csv = server.client.get("/api/tables/titanic/rows", params={"format": "csv", "limit": 100000})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("PassengerId,") and len(lines) == 892
    real_names = {n for (n,) in query_db(server.project, f"SELECT Name FROM read_csv('{TITANIC}')")}
    assert not real_names & {line.split(",")[3].strip('"') for line in lines[1:]}
    assert len(server.client.get("/api/tables/titanic/rows", params={"limit": 5}).json()) == 5
    parquet = server.client.get("/api/tables/titanic/rows", params={"format": "parquet", "limit": 10})
    assert parquet.status_code == 200 and parquet.content[:4] == b"PAR1"
    listed = {t["table"]: t for t in server.client.get("/api/tables").json()["tables"]}
    assert listed["titanic"]["published_version"] == 1 and listed["titanic"]["last_run"]["status"] == "passed"
    # adult's last run is still the one that published it, though target/ now holds titanic's run.
    assert listed["adult"]["last_run"]["status"] == "passed" and listed["adult"]["published_version"] == 1
    # Real rows are never served: a spec'd table's rows are its published synthetic view only.
    assert server.client.get("/api/tables/raw.adult/rows").status_code == 404
    # Removing the spec (and its upload) takes the table off the list; its published view stays.
    removed = server.client.delete("/api/specs/titanic", params={"upload": True})
    assert removed.status_code == 200 and removed.json()["removed"] == ["specs/titanic.yml", "uploads/titanic.csv"]
    assert not (server.project / "uploads" / "titanic.csv").exists()
    assert [t["table"] for t in server.client.get("/api/tables").json()["tables"]] == ["adult"]
    assert server.client.delete("/api/specs/titanic").status_code == 404
    assert query_db(server.project, "SELECT count(*) FROM synthetic.titanic") == [(891,)]


def test_bad_uploads_are_clear_4xx_and_leave_nothing(tmp_path: Path, adult_project: Path) -> None:
    server = Server(adult_project, "--max-upload-mb", "1")
    try:
        cases = [
            (upload(server, Path("a.csv"), content=b""), 422, "empty"),
            (upload(server, Path("b.csv"), content=b"name,city\n" + "Zoë,Köln\n".encode("latin-1") * 5), 422, "not UTF-8"),
            (upload(server, Path("c.csv"), content=b"\x00\x01\x02\x03binary" * 100), 415, "neither CSV"),
            (upload(server, Path("d.parquet"), content=b"a,b\n1,2\n"), 415, "not a Parquet"),
            (upload(server, Path("e.csv"), content=b"a,b\n" + b"1,2\n" * 600_000), 413, "larger than"),
            (upload(server, Path("f.csv"), content=b"a,b\n"), 422, "no rows"),
            (upload(server, TITANIC, name="adult"), 409, "already has a spec"),
            (upload(server, TITANIC, name="9 lives!"), 422, "cannot be a table name"),
            (upload(server, Path("日本語.csv"), content=b"a,b\n1,2\n"), 422, "send a `name`"),
            (upload(server, Path(".hidden.csv"), content=b"a,b\n1,2\n"), 422, "send a `name`"),
            (upload(server, Path("x.csv"), content=b"\x89PNG\r\n\x1a\nrest"), 415, "PNG"),
            (server.client.post("/api/uploads"), 422, "file"),
        ]
        for response, status, words in cases:
            assert response.status_code == status, (words, response.text)
            body = response.json()
            assert words in (body["error"] or "") + (body["location"] or ""), body
            assert "Traceback" not in response.text
        left = sorted(p.name for p in (adult_project / "uploads").iterdir())
        assert left == [], left  # rejected files are not kept
        # An upload is never replaced, not even by a rejected file of the same name.
        assert upload(server, Path("Order Lines.csv"), content=b"id,qty\n1,2\n2,3\n3,4\n").status_code == 201
        kept = (adult_project / "uploads" / "order_lines.csv").read_bytes()
        again = upload(server, Path("h.csv"), name="order_lines", content=b"id,qty\n")
        assert again.status_code == 409 and "already exists" in again.json()["error"]
        assert (adult_project / "uploads" / "order_lines.csv").read_bytes() == kept
        # The size limit holds before the body is read.
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(b"POST /api/uploads HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=x\r\n"
                         + f"Content-Length: {50 << 20}\r\n\r\n--x\r\n".encode())
            answer = sock.recv(4096).decode(errors="replace")
        assert answer.startswith("HTTP/1.1 413"), answer  # answered without the 50 MB body being sent
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
            sock.sendall(b"POST /api/uploads HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            answer = sock.recv(4096).decode(errors="replace")
            while "}" not in answer:  # headers and body may come in separate reads
                answer += sock.recv(4096).decode(errors="replace")
        assert answer.startswith("HTTP/1.1 411") and "needs a Content-Length" in answer, answer
    finally:
        server.stop()


def test_a_bad_spec_is_located_and_not_written(server: Server) -> None:
    before = (server.project / "specs" / "adult.yml").read_text()
    broken = before.replace("  type: cart", "  type: carts")
    response = server.client.put("/api/specs/adult", json={"text": broken})
    assert response.status_code == 422
    body = response.json()
    assert body["location"].startswith("specs/adult.yml:") and body["location"].count(":") == 2
    assert "carts" in body["error"] or "model" in body["error"]
    yaml_error = server.client.put("/api/specs/adult", json={"text": "version: 1\ntable: [adult\n"})
    assert yaml_error.status_code == 422 and yaml_error.json()["location"].startswith("specs/adult.yml:")
    renamed = server.client.put("/api/specs/adult", json={"text": before.replace("table: adult", "table: other")})
    assert renamed.status_code == 422 and "table: adult" in renamed.json()["error"]
    assert (server.project / "specs" / "adult.yml").read_text() == before
    # Valid, but not what the source holds: saved, and its plan says why apply would refuse it.
    missing = before.replace("  age: {type: numerical}\n", "")
    assert server.client.put("/api/specs/adult", json={"text": missing}).status_code == 200
    planned = server.client.get("/api/specs/adult/plan").json()
    assert planned["action"] == "error" and any("source column 'age'" in r for r in planned["reasons"]), planned
    assert server.client.put("/api/specs/adult", json={"text": before}).status_code == 200
    assert server.client.get("/api/specs/nope/plan").status_code == 404
    # A new table's spec never overwrites a file holding another table's spec.
    (server.project / "specs" / "other.yml").write_text(before)
    clash = server.client.put("/api/specs/other", json={"text": before.replace("table: adult", "table: other")})
    assert clash.status_code in (409, 422) and (server.project / "specs" / "other.yml").read_text() == before
    (server.project / "specs" / "other.yml").unlink()
    # A project broken on disk still serves the broken spec, and saving the fix repairs it.
    unparseable = before.replace("columns:", "columns: [")
    (server.project / "specs" / "adult.yml").write_text(unparseable)
    broken_tables = server.client.get("/api/tables")
    assert broken_tables.status_code == 422 and broken_tables.json()["location"].startswith("specs/adult.yml:")
    assert server.client.get("/api/tables/adult/rows").status_code == 422
    assert server.client.get("/api/specs/adult").json()["text"] == unparseable
    assert server.client.put("/api/specs/adult", json={"text": before}).status_code == 200
    assert server.client.get("/api/tables").status_code == 200
    assert server.client.post("/api/runs", json={"select": ["nope"]}).status_code == 422
    assert server.client.get("/api/runs/nope").status_code == 404
    assert server.client.get("/api/tables/nope/rows").status_code == 404
    assert server.client.get("/api/tables/adult/rows", params={"format": "xml"}).status_code == 422


def test_token_is_enforced(adult_project: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "synthspec.cli.main", "serve", "--project-dir", str(adult_project),
                          "--host", "0.0.0.0", "--port", str(free_port())],
                         env={k: v for k, v in os.environ.items() if k != "SYNTHSPEC_SERVE_TOKEN"} | {"PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "SYNTHSPEC_SERVE_TOKEN" in out.stderr and "Traceback" not in out.stderr
    for weak in ("short", " " * 20):
        refused = subprocess.run([sys.executable, "-m", "synthspec.cli.main", "serve", "--project-dir", str(adult_project),
                                  "--port", str(free_port())], capture_output=True, text=True, timeout=120,
                                 env={**os.environ, "PYTHONPATH": str(ROOT), "SYNTHSPEC_SERVE_TOKEN": weak})
        assert refused.returncode == 2 and "at least 16 characters" in refused.stderr, refused.stderr
    token = "t" * 40
    server = Server(adult_project, token=token, host="0.0.0.0")
    try:
        anonymous = httpx.get(server.url + "/api/tables")
        assert anonymous.status_code == 401 and anonymous.json()["location"] == "header.authorization"
        assert httpx.get(server.url + "/api/tables", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert server.client.get("/api/tables").status_code == 200
        assert httpx.get(server.url + "/").status_code == 200  # the page itself holds no data
    finally:
        server.stop()


def test_without_the_serve_extra_the_command_is_one_line_and_exit_3(adult_project: Path) -> None:
    probe = ("import sys; sys.modules['fastapi'] = None; sys.argv = ['synthspec', 'serve', '--project-dir', sys.argv[1]]\n"
             "from synthspec.cli.main import main; main()")
    out = subprocess.run([sys.executable, "-c", probe, str(adult_project)], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 3, out.stderr
    assert "pip install 'synthspec[serve]'" in out.stderr and "Traceback" not in out.stderr


def _big(server: Server, rows: int) -> None:
    """Make adult's sampling slow enough to stop mid-run: many rows to draw."""
    spec = server.project / "specs" / "adult.yml"
    spec.write_text(spec.read_text().replace("table: adult\n", f"table: adult\nrows: {rows}\n"))


def _published(project: Path) -> list:
    return query_db(project, "SELECT * FROM synthetic.adult ORDER BY ALL")


def _wait_stage(server: Server, run_id: str, stage: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while server.client.get(f"/api/runs/{run_id}").json()["progress"].get("adult", {}).get("stage") != stage:
        assert time.monotonic() < deadline, server.client.get(f"/api/runs/{run_id}").json()
        time.sleep(0.1)


def test_cancel_publishes_nothing_and_keeps_the_previous_view(server: Server) -> None:
    first = server.client.post("/api/runs").json()  # no body: every table
    assert server.wait(first["id"])["state"] == "passed"
    assert server.client.delete(f"/api/runs/{first['id']}").status_code == 409  # ended: nothing to cancel
    assert server.client.post("/api/runs", json={"force": "yes"}).status_code == 422
    # A second server on the same project refuses to start (it would run apply beside this one).
    second = subprocess.run([sys.executable, "-m", "synthspec.cli.main", "serve", "--project-dir", str(server.project),
                             "--port", str(free_port())], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert second.returncode == 3 and "another `synthspec serve`" in second.stderr
    before = _published(server.project)
    _big(server, 3_000_000)
    run_id = server.client.post("/api/runs", json={"select": ["adult"]}).json()["id"]
    _wait_stage(server, run_id, "sample")
    cancelled = server.client.delete(f"/api/runs/{run_id}")
    assert cancelled.status_code == 200
    run = server.wait(run_id)
    assert run["state"] == "cancelled" and "nothing was published" in run["reason"], run
    assert _published(server.project) == before
    assert server.client.get("/api/tables").json()["tables"][0]["published_version"] == 1
    # A queued run cancels at once.
    spec = server.project / "specs" / "adult.yml"
    spec.write_text("".join(line for line in spec.read_text().splitlines(keepends=True) if not line.startswith("rows:")))
    a = server.client.post("/api/runs", json={"force": True}).json()["id"]
    b = server.client.post("/api/runs", json={"force": True}).json()["id"]
    assert server.client.delete(f"/api/runs/{b}").json()["state"] == "cancelled"
    assert server.wait(a)["state"] in ("passed", "failed")


def test_a_killed_server_publishes_nothing_and_reports_the_run_failed_on_restart(adult_project: Path) -> None:
    server = Server(adult_project)
    try:
        assert server.wait(server.client.post("/api/runs", json={}).json()["id"])["state"] == "passed"
        before = _published(adult_project)
        _big(server, 3_000_000)
        run_id = server.client.post("/api/runs", json={"select": ["adult"], "force": True}).json()["id"]
        _wait_stage(server, run_id, "sample")
        children = psutil.Process(server.process.pid).children(recursive=True)
        assert children, "apply runs in a child process"
        server.process.kill()  # SIGKILL: no shutdown handler runs
        server.process.wait()
        gone, alive = psutil.wait_procs(children, timeout=60)
        assert not alive, "the run's process dies with the server"
    finally:
        server.stop()
    assert _published(adult_project) == before
    restarted = Server(adult_project)
    try:
        run = restarted.client.get(f"/api/runs/{run_id}").json()
        assert run["state"] == "error" and "server stopped while this run was running" in run["reason"], run
        assert restarted.client.get("/api/tables").json()["tables"][0]["published_version"] == 1
    finally:
        restarted.stop()


def test_concurrent_requests_are_safe(server: Server) -> None:
    def call(i: int) -> int:
        if i % 10 == 0:
            return server.client.post("/api/runs", json={"select": ["adult"]}).status_code
        if i % 3 == 0:
            return server.client.get("/api/tables/adult/rows", params={"limit": 3}).status_code
        return server.client.get("/api/tables" if i % 2 else "/api/runs").status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(call, range(60)))
    assert all(code < 500 for code in codes), codes
    assert codes.count(202) == 6
    runs = server.client.get("/api/runs").json()["runs"]
    assert len(runs) == 6
    states = [server.wait(r["id"])["state"] for r in runs]
    assert states.count("passed") == 6, states  # one at a time: the first trains, the rest are up to date
