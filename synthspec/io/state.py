"""The state directory: the per-project salt and the model cache.

Model artifacts are plain files (mode 0600) under ``models/<table>/<training fingerprint>/``.
Their combined SHA-256 is recorded in the target database at training time and checked
before a cached model is loaded, so a swapped or corrupted file is never deserialised.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from synthspec.errors import EnvironmentError_


def _private_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


def salt(state_dir: Path) -> bytes:
    """A random per-project salt, so fingerprints cannot confirm a guessed dataset."""
    path = state_dir / "salt"
    if path.exists():
        return _read_salt(path)
    try:
        _private_dir(state_dir)
        value = secrets.token_bytes(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value.hex())
        return value
    except FileExistsError:
        return _read_salt(path)
    except OSError as exc:
        raise EnvironmentError_(f"cannot write state directory '{state_dir.name}': {exc.strerror}") from exc


def _read_salt(path: Path) -> bytes:
    """The salt, or an environment error: an empty or corrupt salt is never used (an empty
    one would leave every fingerprint unsalted)."""
    try:
        value = bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError, UnicodeDecodeError):
        value = b""
    if len(value) < 16:
        raise EnvironmentError_(f"the salt in '{path.parent.name}/{path.name}' is empty or corrupt; restore it, or delete it "
                                "to start a new one (every table then reads as changed and retrains)")
    return value


def ensure_writable(directory: Path, what: str) -> None:
    """Fail before any work when ``directory`` cannot take a new file (missing parent, a file
    in its place, a read-only mount...), rather than after publishing."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".synthspec-probe-", dir=directory)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise EnvironmentError_(f"cannot write the {what} directory '{directory.name}/': {exc.strerror or exc.__class__.__name__}; "
                                "nothing was trained or published") from exc


def model_dir(state_dir: Path, table: str, training_fp: str) -> Path:
    return state_dir / "models" / table / training_fp.removeprefix("sha256:")[:32]


def artifact_hash(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return "sha256:" + digest.hexdigest()


def store_model(state_dir: Path, table: str, training_fp: str, write) -> tuple[Path, str]:  # noqa: ANN001
    """Write a model through ``write(directory)`` into a temporary directory, then move it in
    place, so a killed process never leaves a half-written artifact under the final name."""
    final = model_dir(state_dir, table, training_fp)
    try:
        _private_dir(final.parent)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
        write(tmp)
        for path in tmp.rglob("*"):
            os.chmod(path, 0o600 if path.is_file() else 0o700)
        digest = artifact_hash(tmp)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except OSError as exc:
        raise EnvironmentError_(f"cannot write the model cache under '{state_dir.name}': {exc.strerror}") from exc
    return final, digest


def verified_model_dir(state_dir: Path, table: str, training_fp: str, expected: str | None) -> Path | None:
    """The cached model directory if present and matching ``expected``; None if absent."""
    directory = model_dir(state_dir, table, training_fp)
    if not directory.is_dir() or expected is None:
        return None
    actual = artifact_hash(directory)
    if actual != expected:
        raise EnvironmentError_(
            f"cached model for '{table}' does not match the hash recorded at training; "
            f"refusing to load it (delete {directory.relative_to(state_dir.parent)} or run `apply --force`)"
        )
    return directory
