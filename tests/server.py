"""`synthspec serve` in a child process on a free loopback port, for the server's tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.browser import _free_port as free_port

ROOT = Path(__file__).resolve().parents[1]
SECRET = "a-test-secret-of-32-characters!!"




class Server:
    """`synthspec serve` in a child process, on a free loopback port."""

    def __init__(self, project: Path, *args: str, token: str | None = None, host: str = "127.0.0.1") -> None:
        self.project, self.port, self.token = project, free_port(), token
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SYNTHSPEC_SECRET": SECRET}
        env.pop("SYNTHSPEC_SERVE_TOKEN", None)
        if token:
            env["SYNTHSPEC_SERVE_TOKEN"] = token
        self.process = subprocess.Popen(
            [sys.executable, "-m", "synthspec.cli.main", "serve", "--project-dir", str(project), "--host", host,
             "--port", str(self.port), "-q", *args],
            env=env, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.client = httpx.Client(base_url=self.url, timeout=120,
                                   headers={"Authorization": f"Bearer {token}"} if token else {})
        deadline = time.monotonic() + 90
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"serve exited {self.process.returncode}: {self.process.stderr.read().decode()}")
            try:
                if httpx.get(self.url + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the server did not answer within 90 s")
            time.sleep(0.2)

    def stop(self) -> None:
        self.client.close()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def events(self, run_id: str) -> list[dict]:
        """Every server-sent event of a run, to its end."""
        out = []
        with self.client.stream("GET", f"/api/runs/{run_id}/events") as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            for line in response.iter_lines():
                if line.startswith("data: "):
                    out.append(json.loads(line[6:]))
        return out

    def wait(self, run_id: str, timeout: float = 600) -> dict:
        deadline = time.monotonic() + timeout
        while (run := self.client.get(f"/api/runs/{run_id}").json())["state"] in ("queued", "running"):
            assert time.monotonic() < deadline, run
            time.sleep(0.3)
        return run
