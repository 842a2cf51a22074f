"""Checkpoints that are never half-written: temp file, fsync, rename, fsync the folder."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from easytrain.errors import RunFailed

if TYPE_CHECKING:  # write_atomic serves torch-free commands too (report's plots, JSON files)
    import torch


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


class _Recording(io.BufferedWriter):
    """The temp file, remembering the OSError of a write: torch.save swallows it (a full disk then
    surfaces as a RuntimeError 'unexpected pos …' from its zip writer)."""

    error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return super().write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        try:
            super().flush()
        except OSError as exc:
            self.error = exc
            raise


def write_temp(path: Path, write: Any) -> tuple[str, int]:
    """Call write(file) on a new temp file beside path; its name and its still open descriptor,
    for `publish`. On failure nothing is left behind and the previous file at path is untouched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    file = None
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a run's files are as readable as any
        with _Recording(io.FileIO(fd, "wb", closefd=False)) as file:
            write(file)
            file.flush()
    except BaseException as exc:
        discard(tmp, fd)
        error = exc if isinstance(exc, OSError) else file and file.error
        if error:
            raise _cannot_write(path, error) from exc
        if isinstance(exc, Exception) and not isinstance(exc, RunFailed):
            raise RunFailed(f"cannot write {path}: {exc}") from exc  # e.g. nothing torch can save
        raise
    return tmp, fd


def publish(tmp: str, fd: int, path: Path) -> None:
    """Make a temp file of `write_temp` durable (fsync) and move it into place in one step."""
    try:
        os.fsync(fd)
        os.close(fd)
        fd = -1
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except OSError as exc:
        discard(tmp, fd)
        raise _cannot_write(path, exc) from exc


def write_atomic(path: Path, write: Any) -> None:
    """Call write(file) on a temp file beside path, then move it into place in one step."""
    publish(*write_temp(path, write), path)


def discard(tmp: str, fd: int) -> None:
    """A temp file that must not land: closed and removed."""
    if fd >= 0:
        os.close(fd)
    Path(tmp).unlink(missing_ok=True)


def _cannot_write(path: Path, error: OSError) -> RunFailed:
    return RunFailed(
        f"cannot write {path}: {error.strerror or error}; the previous {path.name} is untouched"
    )


def save(state: dict[str, Any], path: Path) -> None:
    """Write a checkpoint; while training (engine/writer.py), its fsync and move are left to the
    background."""
    import torch

    from easytrain.engine import writer

    def write(file: Any) -> None:
        torch.save(state, file)

    background = writer.active()
    if background is None:
        write_atomic(path, write)
    else:
        background.write(path, write)


def load(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load with weights_only=True: a checkpoint from elsewhere cannot run code."""
    import torch

    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise RunFailed(f"no checkpoint at {path}") from None
    except Exception as exc:
        raise RunFailed(
            f"{path} is not a checkpoint easytrain can load safely: {_why(exc)}"
        ) from None


def _why(exc: Exception) -> str:
    """torch's refusal in a line: which Python object a weights_only load would not create."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if lines and lines[0].startswith("Weights only load failed"):
        detail = next((line for line in lines[1:] if "GLOBAL" in line or "nsupported" in line), "")
        detail = detail.removeprefix("Trying to load ")
        return "it holds Python objects, not only tensors" + (f" ({detail})" if detail else "")
    return lines[0] if lines else type(exc).__name__
