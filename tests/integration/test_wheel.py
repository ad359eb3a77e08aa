"""`pip install synthspec` from a built wheel works outside the repository: the wheel builds
without deprecation warnings from our own metadata, carries every data file the package has,
and, installed in a fresh virtualenv, runs `synthspec --version` and the demo end to end.

No network: the wheel builds with the setuptools already installed (--no-build-isolation) and
the fresh venv takes the dependencies from this venv's site-packages through a .pth file,
after its own, so the wheel's synthspec (never this checkout's) is the one imported."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration

#: What a wheel build needs from the repository (pyproject's readme and license-files included).
SOURCES = ["pyproject.toml", "README.md", "LICENSE", "synthspec"]


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel, built from a copy of the sources (the build writes build/ and *.egg-info
    next to pyproject.toml, which must not land in the checkout); and the build's output."""
    root = tmp_path_factory.mktemp("build")
    source = root / "src"
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy(REPO / name, source / name)
    out = root / "dist"
    build = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-v",
                  "-w", str(out), str(source)], cwd=root)
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    wheels = list(out.glob("synthspec-*.whl"))
    assert len(wheels) == 1
    return wheels[0], build.stdout + build.stderr


def test_build_has_no_deprecation_warning(wheel: tuple[Path, str]) -> None:
    """setuptools warned three times per install on `license = {text = ...}`."""
    _, output = wheel
    assert "deprecat" not in output.lower(), [line for line in output.splitlines() if "eprecat" in line]


def test_wheel_carries_every_package_file(wheel: tuple[Path, str]) -> None:
    path, _ = wheel
    names = set(zipfile.ZipFile(path).namelist())
    package_files = {p.relative_to(REPO).as_posix() for p in (REPO / "synthspec").rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert package_files <= names, sorted(package_files - names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(path).read(metadata).decode()
    assert "License-Expression: Apache-2.0" in text
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    entry_points = zipfile.ZipFile(path).read(metadata.replace("METADATA", "entry_points.txt")).decode()
    assert "synthspec = synthspec.cli.main:main" in entry_points


@pytest.fixture(scope="module")
def venv(wheel: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the repository with the wheel installed and the dependencies
    borrowed from this venv (read-only, after the fresh venv's own site-packages)."""
    root = tmp_path_factory.mktemp("venv") / "venv"
    assert _run([sys.executable, "-m", "venv", str(root)], cwd=root.parent).returncode == 0
    python = root / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=root).stdout.strip())
    install = _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", str(wheel[0])], cwd=root.parent, env=_env())
    assert install.returncode == 0, install.stderr
    # After the install: pip would otherwise find this checkout's editable synthspec there and skip.
    (site / "zz_borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return root


def _env() -> dict[str, str]:
    """This process's environment without anything that points at the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SYNTHSPEC_PROJECT_DIR", "VIRTUAL_ENV")}
    return {**env, "PYTHONNOUSERSITE": "1"}


def test_installed_synthspec_is_the_wheels(venv: Path) -> None:
    where = _run([str(venv / "bin" / "python"), "-c", "import synthspec; print(synthspec.__file__)"], cwd=venv.parent, env=_env())
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    version = _run([str(venv / "bin" / "synthspec"), "--version"], cwd=venv.parent, env=_env())
    assert version.returncode == 0 and version.stdout == "synthspec, version 0.1.0\n"


def test_wheel_runs_the_demo_outside_the_repository(venv: Path, tmp_path: Path) -> None:
    """`make demo` without the repository: validate and apply the demo project, then the view."""
    demo = tmp_path / "demo"
    demo.mkdir()
    shutil.copy(REPO / "synthspec.yml", demo)
    shutil.copytree(REPO / "specs", demo / "specs")
    shutil.copytree(REPO / "data", demo / "data")
    synthspec = str(venv / "bin" / "synthspec")
    validate = _run([synthspec, "validate"], cwd=demo, env=_env())
    assert validate.returncode == 0 and validate.stdout == "1 spec(s) valid: adult\n", validate.stderr
    apply = _run([synthspec, "apply", "-q"], cwd=demo, env=_env())
    assert apply.returncode == 0, apply.stdout + apply.stderr
    con = duckdb.connect(str(demo / "demo.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from synthetic.adult").fetchone()[0] == 32561
    finally:
        con.close()
    assert (demo / "target" / "run_results.json").is_file()
