"""`apply --executor ray` on a real two-node local Ray cluster: the same published rows and
metrics as `--jobs 1`; a worker killed mid-run is retried, and a table whose every attempt is
killed is a clean error (exit 3) that publishes nothing of its group; without Ray, exit 3.

The cluster is two `ray start --block` processes (a head and a second node, one CPU each) in a
private temp dir with their own ports; the finalizer stops the two processes this module started
(by their pid: `ray stop --force` would also stop any other Ray cluster on the machine)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.helpers import accounts_project, make_warehouse, project_file

pytest.importorskip("ray", reason="Ray is not installed: pip install 'synthspec[ray]' (or the dev extra) to run these tests")
psutil = pytest.importorskip("psutil", reason="psutil (a Ray dependency) finds the Ray worker to kill")

SYNTHSPEC = [sys.executable, "-m", "synthspec.cli.main"]
RAY = str(Path(sys.executable).with_name("ray"))
ROOT = Path(__file__).resolve().parents[2]
TABLES = ("accounts", "adult", "payments")


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


#: The test cluster's own token (Ray's token authentication): the nodes and every driver of
#: this module carry it, so nothing depends on a token file of the machine's user.
TOKEN = secrets.token_hex(32)


def _env() -> dict[str, str]:
    """This checkout first on the path of the driver and of every Ray worker."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
            "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": TOKEN}


class Cluster:
    """A head and a second node, each a `ray start --block` child process of the test."""

    def __init__(self) -> None:
        # A short path: Ray's Unix sockets live under it (108-byte limit).
        self.temp = tempfile.mkdtemp(prefix="ssray", dir="/tmp")
        port, *_ = ports = _free_ports(7)
        self.address = f"127.0.0.1:{port}"
        self.nodes: list[subprocess.Popen[bytes]] = []
        self._commands = self._command_lines(ports)

    def _command_lines(self, ports: list[int]) -> list[list[str]]:
        common = ["--block", "--num-cpus=1", "--object-store-memory=200000000", "--disable-usage-stats"]
        head = [RAY, "start", "--head", f"--port={ports[0]}", "--include-dashboard=false", f"--temp-dir={self.temp}",
                f"--dashboard-agent-listen-port={ports[2]}",
                f"--metrics-export-port={ports[3]}", *common]
        second = [RAY, "start", f"--address={self.address}", f"--dashboard-agent-listen-port={ports[4]}",
                  f"--metrics-export-port={ports[5]}", *common]
        return [head, second]

    def start(self) -> None:
        """The head, then the second node, each waited for (the driver sees it alive)."""
        for count, command in enumerate(self._commands, start=1):
            self.nodes.append(subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                               start_new_session=True))
            self._wait_for(count)

    def _wait_for(self, nodes: int, timeout: float = 240.0) -> None:
        probe = (f"import ray; ray.init(address='{self.address}', logging_level='ERROR'); "
                 "print(sum(1 for n in ray.nodes() if n['Alive']))")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(n.poll() is not None for n in self.nodes):
                raise RuntimeError("a `ray start` process exited while the test cluster started")
            try:  # a busy machine can take a while to bring the head's services up: ask again
                out = subprocess.run([sys.executable, "-c", probe], env=_env(), capture_output=True, text=True,
                                     timeout=max(1.0, min(60.0, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                continue
            if out.returncode == 0 and out.stdout.strip().splitlines()[-1:] == [str(nodes)]:
                return
            time.sleep(1)
        raise RuntimeError(f"the test Ray cluster did not reach {nodes} node(s) in {timeout:.0f} s")

    def workers(self, table: str) -> list[psutil.Process]:
        """The Ray worker processes of this cluster running `table`'s task (Ray names the
        process after the task: `ray::synthspec:<table>`)."""
        found = []
        for proc in psutil.process_iter(["pid", "cmdline"]):
            try:
                cmd = " ".join(proc.info["cmdline"] or [])
                if cmd.startswith(f"ray::synthspec:{table}") and any(self.temp in " ".join(a.cmdline()) for a in proc.parents()):
                    found.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return found

    def stop(self) -> None:
        """SIGTERM to each `ray start --block` stops its node's processes; SIGKILL after 30 s."""
        for node in reversed(self.nodes):
            if node.poll() is None:
                node.send_signal(signal.SIGTERM)
        for node in self.nodes:
            try:
                node.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(node.pid, signal.SIGKILL)
                node.wait()
        shutil.rmtree(self.temp, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    c = Cluster()
    try:
        c.start()
        yield c
    finally:
        c.stop()


@pytest.fixture
def project(tmp_path: Path, adult: pd.DataFrame, write) -> Path:  # noqa: ANN001
    """Two groups: an Adult sample alone, and accounts with their payments (publish together)."""
    return accounts_project(tmp_path, adult, write, name="ray", payments_per=(10, 30))


def apply(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SYNTHSPEC, "apply", "-q", *args], cwd=root, capture_output=True, text=True, env=env or _env())


def start_apply(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*SYNTHSPEC, "apply", "-q", *args], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=_env())


def published(root: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(root / "wh.duckdb"), read_only=True) as con:
        views = {r[0] for r in con.sql("SELECT view_name FROM duckdb_views() WHERE schema_name = 'synthetic'").fetchall()}
        return {t: con.sql(f"SELECT * FROM synthetic.{t} ORDER BY ALL").df() for t in TABLES if t in views}


def report(root: Path) -> dict[str, dict]:
    return {t["table"]: t for t in json.loads((root / "target" / "run_results.json").read_text())["tables"]}


def kill_attempts(cluster: Cluster, run: subprocess.Popen[str], table: str, times: int) -> int:
    """SIGKILL the worker running `table`'s task, up to `times` attempts (each retry runs in a
    new worker); returns how many were killed."""
    killed: set[int] = set()
    while run.poll() is None and len(killed) < times:
        for proc in cluster.workers(table):
            if proc.pid not in killed:
                proc.kill()
                killed.add(proc.pid)
        time.sleep(0.02)
    return len(killed)


def test_ray_publishes_the_same_rows_and_metrics_as_one_job(cluster: Cluster, project: Path) -> None:
    local = apply(project, "--jobs", "1")
    assert local.returncode == 0, local.stderr
    one, report_one = published(project), report(project)
    remote = apply(project, "--force", "--executor", "ray", "--ray-address", cluster.address)
    assert remote.returncode == 0, remote.stderr
    two, report_two = published(project), report(project)
    assert set(one) == set(two) == set(TABLES)
    for table in TABLES:
        pd.testing.assert_frame_equal(one[table], two[table])
        a, b = report_one[table], report_two[table]
        assert a["metrics"] == b["metrics"] and a.get("profile") == b.get("profile")
        assert b["status"] == "passed" and b["published"] and b["action"] == "train"


def test_a_killed_worker_is_retried_and_gives_the_same_rows(cluster: Cluster, project: Path) -> None:
    assert apply(project, "--jobs", "1").returncode == 0
    expected = published(project)["payments"]
    run = start_apply(project, "--force", "--executor", "ray", "--ray-address", cluster.address)
    assert kill_attempts(cluster, run, "payments", times=1) == 1
    _, err = run.communicate(timeout=600)
    assert run.returncode == 0, err
    assert report(project)["payments"]["status"] == "passed"
    pd.testing.assert_frame_equal(published(project)["payments"], expected)  # the retry is deterministic


def test_a_table_whose_every_attempt_dies_is_an_error_and_its_group_publishes_nothing(cluster: Cluster, project: Path) -> None:
    from synthspec.engine.ray_executor import MAX_RETRIES

    assert apply(project, "--jobs", "1").returncode == 0
    before = published(project)
    run = start_apply(project, "--force", "--executor", "ray", "--ray-address", cluster.address)
    assert kill_attempts(cluster, run, "payments", times=MAX_RETRIES + 1) == MAX_RETRIES + 1
    out, err = run.communicate(timeout=600)
    assert run.returncode == 3, err
    assert "Traceback" not in err
    tables = report(project)
    assert tables["payments"]["status"] == "error"
    assert "did not finish on Ray: its Ray worker process died" in tables["payments"]["message"]
    assert "did not finish on Ray" in out + err
    assert tables["accounts"]["status"] == "held" and not tables["accounts"]["published"]  # its group
    assert tables["adult"]["status"] == "passed" and tables["adult"]["published"]  # another group
    after = published(project)
    for table in ("accounts", "payments"):  # the previous versions, untouched
        pd.testing.assert_frame_equal(before[table], after[table])


def test_without_ray_the_executor_is_one_line_and_exit_3(project: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "no_ray"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text("import sys\nsys.modules['ray'] = None  # `import ray` raises ImportError\n")
    env = _env()
    env["PYTHONPATH"] = os.pathsep.join([str(blocker), env["PYTHONPATH"]])
    result = apply(project, "--executor", "ray", env=env)
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "--executor ray needs Ray" in line and "synthspec[ray]" in line
    assert published(project) == {}


def test_ray_options_that_do_not_fit_together_are_usage_errors(project: Path) -> None:
    assert apply(project, "--ray-address", "127.0.0.1:1").returncode == 2
    assert apply(project, "--executor", "ray", "--jobs", "2").returncode == 2


def test_an_unreachable_cluster_is_an_environment_error(project: Path) -> None:
    (port,) = _free_ports(1)
    result = apply(project, "--executor", "ray", "--ray-address", f"127.0.0.1:{port}")
    assert result.returncode == 3
    assert f"cannot reach the Ray cluster at 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
    assert published(project) == {}


@pytest.fixture
def big_project(tmp_path: Path, write) -> Path:  # noqa: ANN001
    """One table asked for 600,000 rows: three shards (250,000, 250,000 and 100,000 rows)."""
    rng = np.random.default_rng(8)
    n = 3000
    frame = pd.DataFrame({"id": np.arange(1, n + 1), "x": rng.normal(size=n).round(4),
                          "c": rng.choice(["a", "b", "c", "d"], n), "k": rng.integers(0, 50, n)})
    make_warehouse(tmp_path / "wh.duckdb", {"big": frame})
    write("synthspec.yml", project_file("ray-big"))
    write("specs/big.yml", """
        version: 1
        table: big
        rows: 600000
        source: {table: raw.big}
        columns:
          id: {type: id, primary_key: true}
          x: {type: numerical}
          c: {type: categorical}
          k: {type: numerical}
        """)
    return tmp_path


def test_the_shards_of_a_big_table_run_as_ray_tasks_with_the_local_rows(cluster: Cluster, big_project: Path) -> None:
    def digest() -> tuple:
        with duckdb.connect(str(big_project / "wh.duckdb"), read_only=True) as con:
            return con.sql("SELECT count(*), count(DISTINCT id), min(id), max(id), sum(hash(id, x, c, k)) "
                           "FROM synthetic.big").fetchall()[0]

    local = apply(big_project, "--jobs", "1")
    assert local.returncode == 0, local.stderr
    expected, metrics = digest(), report(big_project)["big"]["metrics"]
    assert expected[:4] == (600_000, 600_000, 1, 600_000)
    run = start_apply(big_project, "--force", "--executor", "ray", "--ray-address", cluster.address)
    killed = kill_attempts(cluster, run, "big:shard1", times=1)  # a shard's worker dies: Ray retries it
    _, err = run.communicate(timeout=900)
    assert run.returncode == 0, err
    assert killed == 1
    assert digest() == expected  # the same rows as one local process draws
    assert report(big_project)["big"]["metrics"] == metrics
    assert not (big_project / ".synthspec" / "parts").exists()
