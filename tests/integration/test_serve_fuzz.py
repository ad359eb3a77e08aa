"""The OpenAPI schema of `synthspec serve`, fuzzed by schemathesis against a real server process:
no request it generates (coverage, fuzzing and stateful phases) gets a 5xx answer."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed: pip install 'synthspec[serve]'")
pytest.importorskip("schemathesis", reason="schemathesis (the dev extra) fuzzes the API")

from tests.server import Server  # noqa: E402

pytestmark = pytest.mark.integration


def test_no_generated_request_gets_a_server_error(tmp_path: Path) -> None:
    # A project without specs: a generated run selects nothing (422), so fuzzing trains nothing.
    (tmp_path / "specs").mkdir()
    (tmp_path / "synthspec.yml").write_text("name: fuzz\ntarget: {duckdb: target.duckdb, schema: synthetic}\nspecs: specs/\n")
    server = Server(tmp_path)
    try:
        cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
        out = subprocess.run([cli, "run", f"{server.url}/openapi.json", "--checks", "not_a_server_error",
                              "--max-examples", "25", "--seed", "1", "--request-timeout", "60"],
                             capture_output=True, text=True, timeout=900, cwd=tmp_path)
        assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
        assert " passed" in out.stdout and "failed" not in out.stdout.split("Test cases:")[-1].split("\n")[1]
    finally:
        server.stop()
